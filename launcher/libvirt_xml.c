/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvirt_xml.c - the same launch as a libvirt domain XML, for hosts that run their
 * guests through libvirt: `virsh define FILE` takes it and virt-xml-validate
 * accepts it.  It carries what the qemu command line carries: the disk with its
 * explicit format, cache and io modes and bus, the NIC, a serial console, VNC.
 * imgtool v2v uses it too, for a guest with several disks and NICs (the NICs then
 * pinned to PCI slots, so that the interface names v2v configured hold).
 */
#include "launch.h"
#include "../common/err.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Text with the five XML specials escaped (for element text and attributes). */
static void put_esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

static void put_esc_n(FILE *f, const char *s, size_t n)
{
	char *c = strndup(s, n);

	if (c)
		put_esc(f, c);
	free(c);
}

/* libvirt wants the emulator's absolute path. */
static void emulator_path(const char *qemu, char *buf, size_t len)
{
	const char *path = getenv("PATH");

	if (strchr(qemu, '/')) {
		if (!realpath(qemu, buf))
			snprintf(buf, len, "%s", qemu);
		return;
	}
	while (path && *path) {
		const char *end = strchrnul(path, ':');

		snprintf(buf, len, "%.*s/%s", (int)(end - path), path, qemu);
		if (!access(buf, X_OK))
			return;
		path = *end ? end + 1 : NULL;
	}
	snprintf(buf, len, "/usr/bin/%s", qemu);
}

/* "proto://host[:port]/name" -> the <source protocol=...> form. */
static int put_network_source(FILE *f, const char *url)
{
	const char *proto_end = strstr(url, "://");
	const char *host, *host_end, *name, *colon;

	if (!strncmp(url, "rbd:", 4)) {
		const char *n = url + 4;

		fputs("      <source protocol='rbd' name='", f);
		put_esc_n(f, n, strcspn(n, ":"));   /* pool/image; ":opts" dropped */
		fputs("'/>\n", f);
		return 0;
	}
	if (!proto_end)
		return err_set(-EINVAL, url, "cannot express this image URL in libvirt XML");
	host = proto_end + 3;
	host_end = host + strcspn(host, "/");
	name = *host_end ? host_end + 1 : host_end;
	colon = memchr(host, ':', (size_t)(host_end - host));
	fputs("      <source protocol='", f);
	put_esc_n(f, url, (size_t)(proto_end - url));
	fputs("' name='", f);
	/* libvirt's NFS source name is the absolute path on the server */
	if (!strncmp(url, "nfs://", 6))
		fputc('/', f);
	put_esc(f, name);
	fputs("'>\n        <host name='", f);
	put_esc_n(f, host, (size_t)((colon ? colon : host_end) - host));
	if (colon) {
		fputs("' port='", f);
		put_esc_n(f, colon + 1, (size_t)(host_end - colon - 1));
	}
	fputs("'/>\n", f);
	/* libvirt's schema wants the NFS identity element (user/group are optional) */
	if (!strncmp(url, "nfs://", 6))
		fputs("        <identity/>\n", f);
	fputs("      </source>\n", f);
	return 0;
}

/* Disk number idx (0 = the boot disk) of the guest on cfg's bus. */
static int put_disk(FILE *f, const struct launch_config *cfg, const char *image,
		    const char *format, int idx)
{
	static const char *const prefix[] = {
		[LAUNCH_BUS_VIRTIO] = "vd", [LAUNCH_BUS_VIRTIO_SCSI] = "sd",
		[LAUNCH_BUS_SATA] = "sd", [LAUNCH_BUS_IDE] = "hd",
	};
	static const char *const bus[] = {
		[LAUNCH_BUS_VIRTIO] = "virtio", [LAUNCH_BUS_VIRTIO_SCSI] = "scsi",
		[LAUNCH_BUS_SATA] = "sata", [LAUNCH_BUS_IDE] = "ide",
	};
	bool net = launch_is_url(image);
	int r = 0;

	if (idx >= 26)
		return err_set(-EINVAL, image, "more than 26 disks");
	fprintf(f, "    <disk type='%s' device='disk'>\n", net ? "network" : "file");
	fputs("      <driver name='qemu' type='", f);
	put_esc(f, format);
	fprintf(f, "' cache='%s'", cfg->cache);
	if (cfg->aio)
		fprintf(f, " io='%s'", cfg->aio);
	fputs("/>\n", f);
	if (net) {
		r = put_network_source(f, image);
	} else {
		char abs[PATH_MAX];

		if (!realpath(image, abs))
			return err_set(-errno, image, "%s", strerror(errno));
		fputs("      <source file='", f);
		put_esc(f, abs);
		fputs("'/>\n", f);
	}
	fprintf(f, "      <target dev='%s%c' bus='%s'/>\n", prefix[cfg->bus], 'a' + idx, bus[cfg->bus]);
	if (cfg->transient)
		fputs("      <transient/>\n", f);
	if (idx == 0)
		fputs("      <boot order='1'/>\n", f);
	fputs("    </disk>\n", f);
	return r;
}

static int put_disks(FILE *f, const struct launch_config *cfg)
{
	int r = put_disk(f, cfg, cfg->image, cfg->format, 0);

	for (int i = 0; !r && i < cfg->nb_extra; i++)
		r = put_disk(f, cfg, cfg->extra_images[i], cfg->extra_formats[i], i + 1);
	if (r)
		return r;
	if (cfg->bus == LAUNCH_BUS_VIRTIO_SCSI)
		fputs("    <controller type='scsi' index='0' model='virtio-scsi'/>\n", f);
	if (cfg->bus == LAUNCH_BUS_SATA)
		fputs("    <controller type='sata' index='0'/>\n", f);
	return 0;
}

static void put_one_nic(FILE *f, const struct launch_config *cfg, int i)
{
	const char *model = cfg->bus == LAUNCH_BUS_VIRTIO || cfg->bus == LAUNCH_BUS_VIRTIO_SCSI ?
			    "virtio" : "e1000";
	const char *mac = cfg->nic_macs ? cfg->nic_macs[i] : NULL;

	switch (cfg->net) {
	case LAUNCH_NET_NONE:
		return;
	case LAUNCH_NET_USER:
		fputs("    <interface type='user'>\n", f);
		break;
	case LAUNCH_NET_BRIDGE:
		fputs("    <interface type='bridge'>\n      <source bridge='", f);
		put_esc(f, cfg->net_name);
		fputs("'/>\n", f);
		break;
	case LAUNCH_NET_TAP:
		fputs("    <interface type='ethernet'>\n      <target dev='", f);
		put_esc(f, cfg->net_name);
		fputs("' managed='no'/>\n", f);
		break;
	}
	if (mac) {
		fputs("      <mac address='", f);
		put_esc(f, mac);
		fputs("'/>\n", f);
	}
	fprintf(f, "      <model type='%s'/>\n", model);
	if (cfg->nic_first_slot > 0)
		fprintf(f, "      <address type='pci' domain='0x0000' bus='0x00' slot='0x%02x' "
			"function='0x0'/>\n", cfg->nic_first_slot + i);
	fputs("    </interface>\n", f);
}

static void put_net(FILE *f, const struct launch_config *cfg)
{
	int n = cfg->nb_nics > 0 ? cfg->nb_nics : 1;

	for (int i = 0; i < n; i++)
		put_one_nic(f, cfg, i);
}

int launch_put_libvirt_xml(FILE *f, const struct launch_config *cfg)
{
	char emu[PATH_MAX];
	int r;

	fprintf(f, "<domain type='%s'>\n  <name>", cfg->accel == LAUNCH_ACCEL_KVM ? "kvm" : "qemu");
	put_esc(f, cfg->name);
	fprintf(f, "</name>\n"
		"  <memory unit='MiB'>%llu</memory>\n"
		"  <vcpu>%d</vcpu>\n"
		"  <os%s>\n"
		"    <type arch='x86_64' machine='pc'>hvm</type>\n"
		"  </os>\n"
		"  <features>\n    <acpi/>\n    <apic/>\n  </features>\n",
		(unsigned long long)cfg->memory_mib, cfg->cpus,
		cfg->firmware == LAUNCH_FW_UEFI ? " firmware='efi'" : "");
	if (cfg->accel == LAUNCH_ACCEL_KVM)
		fputs("  <cpu mode='host-passthrough'/>\n", f);
	fprintf(f, "  <clock offset='%s'/>\n", cfg->rtc_localtime ? "localtime" : "utc");
	fputs("  <on_poweroff>destroy</on_poweroff>\n"
	      "  <on_reboot>restart</on_reboot>\n"
	      "  <on_crash>destroy</on_crash>\n"
	      "  <devices>\n    <emulator>", f);
	emulator_path(cfg->qemu, emu, sizeof(emu));
	put_esc(f, emu);
	fputs("</emulator>\n", f);
	r = put_disks(f, cfg);
	if (r)
		return r;
	put_net(f, cfg);
	fputs("    <serial type='pty'>\n      <target port='0'/>\n    </serial>\n"
	      "    <console type='pty'>\n      <target type='serial' port='0'/>\n    </console>\n",
	      f);
	if (cfg->vnc_display >= 0)
		fprintf(f, "    <graphics type='vnc' port='%d' autoport='no'/>\n"
			"    <video>\n      <model type='vga'/>\n    </video>\n",
			5900 + cfg->vnc_display);
	fputs("  </devices>\n</domain>\n", f);
	return 0;
}

int launch_write_libvirt_xml(const struct launch_config *cfg, const char *path)
{
	bool to_stdout = !strcmp(path, "-");
	FILE *f = to_stdout ? stdout : fopen(path, "w");
	int r;

	if (!f)
		return err_set(-errno, path, "%s", strerror(errno));
	r = launch_put_libvirt_xml(f, cfg);
	if (to_stdout) {
		fflush(f);
		return r;
	}
	if (fclose(f) && !r)
		r = err_set(-errno, path, "%s", strerror(errno));
	if (r)
		unlink(path);
	return r;
}
