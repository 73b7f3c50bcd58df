/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qemu_cmdline.c - the qemu-system-x86_64 command line for a resolved launch, and
 * the option-name parsers it shares with the CLI and the libvirt writer.
 *
 * Rules the command line always follows: the disk format is explicit (qemu never
 * probes: a probed qcow2 can be used as raw), the default bus and NIC are virtio,
 * -nodefaults so that nothing else is attached, the serial console on stdio (the
 * launcher watches it; the BIOS writes there too), and -cpu host only with KVM
 * (which accel_probe.c proved).
 */
#include "launch.h"
#include "../common/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int strv_add(struct strv *s, const char *fmt, ...)
{
	va_list ap;
	char *str;
	int r;

	if (s->n + 2 > s->cap) {
		int cap = s->cap ? s->cap * 2 : 32;
		char **v = realloc(s->v, (size_t)cap * sizeof(*v));

		if (!v)
			return err_set(-ENOMEM, NULL, "out of memory");
		s->v = v;
		s->cap = cap;
	}
	va_start(ap, fmt);
	r = vasprintf(&str, fmt, ap);
	va_end(ap);
	if (r < 0)
		return err_set(-ENOMEM, NULL, "out of memory");
	s->v[s->n++] = str;
	s->v[s->n] = NULL;
	return 0;
}

void strv_free(struct strv *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

static bool shell_safe(const char *w)
{
	if (!*w)
		return false;
	for (; *w; w++) {
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789-_./=:,+@%", *w))
			return false;
	}
	return true;
}

char *strv_join_shell(const struct strv *s)
{
	size_t len = 1;
	char *out, *p;

	for (int i = 0; i < s->n; i++)
		len += strlen(s->v[i]) * 4 + 3;
	out = malloc(len);
	if (!out)
		return NULL;
	p = out;
	for (int i = 0; i < s->n; i++) {
		const char *w = s->v[i];

		if (i)
			*p++ = ' ';
		if (shell_safe(w)) {
			p = stpcpy(p, w);
			continue;
		}
		/* single quotes; a quote inside becomes '\'' */
		*p++ = '\'';
		for (; *w; w++) {
			if (*w == '\'')
				p = stpcpy(p, "'\\''");
			else
				*p++ = *w;
		}
		*p++ = '\'';
	}
	*p = '\0';
	return out;
}

int launch_parse_bus(const char *s, enum launch_bus *out)
{
	static const char *const names[] = { "virtio", "virtio-scsi", "sata", "ide" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i])) {
			*out = (enum launch_bus)i;
			return 0;
		}
	}
	return err_set(-EINVAL, NULL, "invalid bus '%s' (virtio, virtio-scsi, sata, ide)", s);
}

const char *launch_bus_name(enum launch_bus b)
{
	switch (b) {
	case LAUNCH_BUS_VIRTIO: return "virtio";
	case LAUNCH_BUS_VIRTIO_SCSI: return "virtio-scsi";
	case LAUNCH_BUS_SATA: return "sata";
	case LAUNCH_BUS_IDE: return "ide";
	}
	return "?";
}

/* A bridge or tap name: what Linux takes for an interface name. */
static bool ifname_ok(const char *n)
{
	size_t len = strlen(n);

	if (len == 0 || len > 15)
		return false;
	for (; *n; n++) {
		if (*n == '/' || *n == ',' || *n == ' ' || *n == '\'' || *n == '"' ||
		    *n == '<' || *n == '>' || *n == '&' || (unsigned char)*n < 0x21)
			return false;
	}
	return true;
}

int launch_parse_net(const char *s, enum launch_net *out, const char **name)
{
	*name = NULL;
	if (!strcmp(s, "user")) {
		*out = LAUNCH_NET_USER;
		return 0;
	}
	if (!strcmp(s, "none")) {
		*out = LAUNCH_NET_NONE;
		return 0;
	}
	if (!strncmp(s, "bridge=", 7) || !strncmp(s, "tap=", 4)) {
		bool bridge = s[0] == 'b';
		const char *n = s + (bridge ? 7 : 4);

		if (!ifname_ok(n))
			return err_set(-EINVAL, NULL, "invalid interface name '%s'", n);
		*out = bridge ? LAUNCH_NET_BRIDGE : LAUNCH_NET_TAP;
		*name = n;
		return 0;
	}
	return err_set(-EINVAL, NULL,
		       "invalid network '%s' (user, none, bridge=NAME, tap=NAME)", s);
}

int launch_parse_accel(const char *s, enum launch_accel *out)
{
	if (!strcmp(s, "auto"))
		*out = LAUNCH_ACCEL_AUTO;
	else if (!strcmp(s, "kvm"))
		*out = LAUNCH_ACCEL_KVM;
	else if (!strcmp(s, "tcg"))
		*out = LAUNCH_ACCEL_TCG;
	else
		return err_set(-EINVAL, NULL, "invalid accelerator '%s' (auto, kvm, tcg)", s);
	return 0;
}

int launch_parse_firmware(const char *s, enum launch_firmware *out)
{
	if (!strcmp(s, "bios"))
		*out = LAUNCH_FW_BIOS;
	else if (!strcmp(s, "uefi"))
		*out = LAUNCH_FW_UEFI;
	else
		return err_set(-EINVAL, NULL, "invalid firmware '%s' (bios, uefi)", s);
	return 0;
}

int launch_parse_rtc(const char *s, bool *localtime)
{
	if (!strcmp(s, "utc"))
		*localtime = false;
	else if (!strcmp(s, "localtime"))
		*localtime = true;
	else
		return err_set(-EINVAL, NULL, "invalid rtc '%s' (utc, localtime)", s);
	return 0;
}

int launch_parse_console(const char *s, int *vnc_display)
{
	char *end;
	long n;

	if (!strcmp(s, "serial")) {
		*vnc_display = -1;
		return 0;
	}
	if (strncmp(s, "vnc=:", 5))
		return err_set(-EINVAL, NULL, "invalid console '%s' (serial, vnc=:N)", s);
	errno = 0;
	n = strtol(s + 5, &end, 10);
	if (errno || end == s + 5 || *end || n < 0 || n > 59635)
		return err_set(-EINVAL, NULL, "invalid VNC display in '%s'", s);
	*vnc_display = (int)n;
	return 0;
}

static bool cache_direct(const char *cache)
{
	return !strcmp(cache, "none") || !strcmp(cache, "directsync");
}

int launch_check_cache_aio(const char *cache, const char *aio)
{
	static const char *const caches[] = {
		"none", "writeback", "writethrough", "directsync", "unsafe",
	};
	bool ok = false;

	for (size_t i = 0; i < sizeof(caches) / sizeof(caches[0]); i++)
		ok |= !strcmp(cache, caches[i]);
	if (!ok)
		return err_set(-EINVAL, NULL, "invalid cache mode '%s' "
			       "(none, writeback, writethrough, directsync, unsafe)", cache);
	if (!aio)
		return 0;
	if (strcmp(aio, "native") && strcmp(aio, "threads") && strcmp(aio, "io_uring"))
		return err_set(-EINVAL, NULL, "invalid aio mode '%s' (native, threads, io_uring)",
			       aio);
	/* Linux native AIO is only asynchronous on O_DIRECT files; qemu refuses it too */
	if (!strcmp(aio, "native") && !cache_direct(cache))
		return err_set(-EINVAL, NULL, "aio=native needs cache=none or cache=directsync "
			       "(O_DIRECT), not cache=%s", cache);
	return 0;
}

bool launch_is_url(const char *image)
{
	static const char *const prefixes[] = {
		"nfs://", "iscsi://", "iscsis://", "rbd:", "nbd:", "nbd://", "nbd+unix://",
		"ssh://", "http://", "https://",
	};

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		if (!strncmp(image, prefixes[i], strlen(prefixes[i])))
			return true;
	}
	return false;
}

char *launch_qemu_escape(const char *s)
{
	size_t n = 0;
	char *out, *p;

	for (const char *q = s; *q; q++)
		n += *q == ',' ? 2 : 1;
	out = malloc(n + 1);
	if (!out)
		return NULL;
	p = out;
	for (; *s; s++) {
		*p++ = *s;
		if (*s == ',')
			*p++ = ',';
	}
	*p = '\0';
	return out;
}

static int add_disk(const struct launch_config *cfg, struct strv *a)
{
	char *file = launch_qemu_escape(cfg->image);
	int r;

	if (!file)
		return err_set(-ENOMEM, NULL, "out of memory");
	r = strv_add(a, "-drive");
	if (!r)
		r = strv_add(a, "file=%s,format=%s,if=none,id=disk0,cache=%s%s%s", file,
			     cfg->format, cfg->cache, cfg->aio ? ",aio=" : "",
			     cfg->aio ? cfg->aio : "");
	free(file);
	if (r)
		return r;
	switch (cfg->bus) {
	case LAUNCH_BUS_VIRTIO:
		return strv_add(a, "-device") ?:
		       strv_add(a, "virtio-blk-pci,drive=disk0,bootindex=1");
	case LAUNCH_BUS_VIRTIO_SCSI:
		return strv_add(a, "-device") ?: strv_add(a, "virtio-scsi-pci,id=scsi0") ?:
		       strv_add(a, "-device") ?:
		       strv_add(a, "scsi-hd,drive=disk0,bus=scsi0.0,bootindex=1");
	case LAUNCH_BUS_SATA:
		return strv_add(a, "-device") ?: strv_add(a, "ahci,id=ahci0") ?:
		       strv_add(a, "-device") ?:
		       strv_add(a, "ide-hd,drive=disk0,bus=ahci0.0,bootindex=1");
	case LAUNCH_BUS_IDE:
		return strv_add(a, "-device") ?:
		       strv_add(a, "ide-hd,drive=disk0,bus=ide.0,unit=0,bootindex=1");
	}
	return err_set(-EINVAL, NULL, "unknown bus");
}

/* A guest booted on virtio has virtio drivers; one on SATA/IDE (an unconverted
 * VMware or physical guest) may not, so it gets an e1000 it surely drives. */
static const char *nic_model(const struct launch_config *cfg)
{
	return cfg->bus == LAUNCH_BUS_VIRTIO || cfg->bus == LAUNCH_BUS_VIRTIO_SCSI ?
	       "virtio-net-pci" : "e1000";
}

static int add_net(const struct launch_config *cfg, struct strv *a)
{
	int r;

	switch (cfg->net) {
	case LAUNCH_NET_NONE:
		return 0;
	case LAUNCH_NET_USER:
		r = strv_add(a, "-netdev") ?: strv_add(a, "user,id=net0");
		break;
	case LAUNCH_NET_BRIDGE:
		r = strv_add(a, "-netdev") ?: strv_add(a, "bridge,id=net0,br=%s", cfg->net_name);
		break;
	case LAUNCH_NET_TAP:
		r = strv_add(a, "-netdev") ?:
		    strv_add(a, "tap,id=net0,ifname=%s,script=no,downscript=no", cfg->net_name);
		break;
	default:
		return err_set(-EINVAL, NULL, "unknown network");
	}
	return r ?: strv_add(a, "-device") ?: strv_add(a, "%s,netdev=net0", nic_model(cfg));
}

int launch_build_argv(const struct launch_config *cfg, struct strv *a)
{
	int r;

	if (cfg->accel == LAUNCH_ACCEL_AUTO)
		return err_set(-EINVAL, NULL, "internal: accelerator not resolved");
	r = strv_add(a, "%s", cfg->qemu) ?:
	    strv_add(a, "-name") ?: strv_add(a, "%s", cfg->name) ?:
	    strv_add(a, "-machine") ?:
	    /* graphics=off: SeaBIOS then prints on the serial port too, so a disk that
	     * does not boot says so on the console the launcher watches */
	    strv_add(a, "%s", cfg->vnc_display >= 0 ? "pc" : "pc,graphics=off") ?:
	    strv_add(a, "-accel") ?:
	    strv_add(a, "%s", cfg->accel == LAUNCH_ACCEL_KVM ? "kvm" : "tcg");
	if (!r && cfg->accel == LAUNCH_ACCEL_KVM)
		r = strv_add(a, "-cpu") ?: strv_add(a, "host");
	r = r ?: strv_add(a, "-m") ?: strv_add(a, "%llu", (unsigned long long)cfg->memory_mib) ?:
	    strv_add(a, "-smp") ?: strv_add(a, "%d", cfg->cpus) ?:
	    strv_add(a, "-nodefaults");
	if (!r && cfg->firmware == LAUNCH_FW_UEFI)
		r = strv_add(a, "-bios") ?: strv_add(a, "%s", LAUNCH_OVMF_PATH);
	if (!r && cfg->rtc_localtime)
		r = strv_add(a, "-rtc") ?: strv_add(a, "base=localtime");
	r = r ?: add_disk(cfg, a) ?: add_net(cfg, a);
	if (r)
		return r;
	if (cfg->vnc_display >= 0)
		r = strv_add(a, "-vga") ?: strv_add(a, "std") ?:
		    strv_add(a, "-vnc") ?: strv_add(a, ":%d", cfg->vnc_display);
	else
		r = strv_add(a, "-display") ?: strv_add(a, "none");
	/* the serial console on stdio, muxed with the monitor (Ctrl-A x quits) */
	return r ?: strv_add(a, "-serial") ?: strv_add(a, "mon:stdio");
}
