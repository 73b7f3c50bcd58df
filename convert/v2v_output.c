/*
 * v2v_output.c - what a conversion leaves behind besides the disks: the libvirt
 * domain XML (-o local, -o libvirt, which then runs `virsh define`) and a shell
 * script booting the guest with `imgtool launch` (-o qemu).  Both carry the
 * source VM's memory, vCPUs, firmware and NICs where the input knew them, and put
 * the first NIC at PCI slot 3: that is where `imgtool launch` puts its NIC
 * (-nodefaults: host bridge 0, PIIX 1, disk 2, NIC 3), so the guest sees the
 * interface name "ens3" that v2v_linux.c configured under either.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/err.h"
#include "../launcher/launch.h"
#include "v2v.h"

#define DEFAULT_MEMORY_MIB 1024
#define NIC_SLOT 3

static uint64_t memory_of(const struct v2v_target *t)
{
	return t->memory_mib ? t->memory_mib : DEFAULT_MEMORY_MIB;
}

static int cpus_of(const struct v2v_target *t)
{
	return t->vcpus > 0 ? t->vcpus : 1;
}

static int write_xml(const struct v2v_target *t, const char *path)
{
	const struct v2v_source *s = t->src;
	const char **fmts = NULL, **macs = NULL;
	char why[256];
	struct launch_config cfg = {
		.qemu = LAUNCH_DEFAULT_QEMU,
		.name = t->name,
		.image = t->disks[0],
		.format = t->format,
		.memory_mib = memory_of(t),
		.cpus = cpus_of(t),
		.bus = t->bus == V2V_BUS_VIRTIO ? LAUNCH_BUS_VIRTIO : LAUNCH_BUS_VIRTIO_SCSI,
		.cache = "writeback",
		.net = LAUNCH_NET_USER,
		.vnc_display = -1,
		.firmware = t->uefi ? LAUNCH_FW_UEFI : LAUNCH_FW_BIOS,
		.nb_nics = s && s->nb_nics > 0 ? s->nb_nics : 1,
		.nic_first_slot = NIC_SLOT,
	};
	int r;

	/* a domain type='kvm' only where KVM really runs guests (the launcher's probe) */
	cfg.accel = accel_probe_kvm(cfg.qemu, why, sizeof(why)) == 1 ? LAUNCH_ACCEL_KVM
								     : LAUNCH_ACCEL_TCG;
	err_clear();
	fmts = calloc((size_t)t->nb_disks + 1, sizeof(*fmts));
	macs = calloc((size_t)cfg.nb_nics + 1, sizeof(*macs));
	if (!fmts || !macs) {
		free(fmts);
		free(macs);
		return -ENOMEM;
	}
	for (int i = 0; i < t->nb_disks; i++)
		fmts[i] = t->format;
	for (int i = 0; s && i < s->nb_nics; i++)
		macs[i] = s->nics[i].mac;
	cfg.extra_images = (const char *const *)t->disks + 1;
	cfg.extra_formats = fmts + 1;
	cfg.nb_extra = t->nb_disks - 1;
	cfg.nic_macs = macs;
	r = launch_write_libvirt_xml(&cfg, path);
	free(fmts);
	free(macs);
	return r;
}

static void put_quoted(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++)
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	fputc('\'', f);
}

/* The imgtool that runs now, so the script boots with the same build. */
static void self_path(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);

	if (n <= 0)
		snprintf(buf, len, "imgtool");
	else
		buf[n] = '\0';
}

static void put_launch_words(FILE *f, const struct v2v_target *t, const char *self)
{
	put_quoted(f, self);
	fprintf(f, " launch -f %s --bus %s --memory %llu --cpus %d%s", t->format,
		t->bus == V2V_BUS_VIRTIO ? "virtio" : "virtio-scsi",
		(unsigned long long)memory_of(t), cpus_of(t),
		t->uefi ? " --firmware uefi" : "");
}

static int write_script(const struct v2v_target *t, const char *path)
{
	char self[PATH_MAX], abs[PATH_MAX];
	FILE *f = fopen(path, "w");
	int r = 0;

	if (!f)
		return err_set(-errno, path, "%s", strerror(errno));
	self_path(self, sizeof(self));
	fprintf(f, "#!/bin/sh\n# %s: converted by imgtool v2v; boots it under imgtool launch.\n"
		"# Extra options (--wait-for TEXT, --timeout S, --snapshot, --accel ...) are\n"
		"# passed on.  The NIC is at PCI slot 3 (interface ens3) with the default\n"
		"# serial console.\nset -e\n", t->name);
	if (!realpath(t->disks[0], abs))
		snprintf(abs, sizeof(abs), "%s", t->disks[0]);
	if (t->nb_disks == 1) {
		fputs("exec ", f);
		put_launch_words(f, t, self);
		fputs(" \"$@\" ", f);
		put_quoted(f, abs);
		fputc('\n', f);
	} else {
		/* imgtool launch boots one disk: take its command line, add the others */
		fputs("cmd=$(", f);
		put_launch_words(f, t, self);
		fputs(" --print-cmdline \"$@\" ", f);
		put_quoted(f, abs);
		fputs(")\neval \"exec $cmd", f);
		for (int i = 1; i < t->nb_disks; i++) {
			if (!realpath(t->disks[i], abs))
				snprintf(abs, sizeof(abs), "%s", t->disks[i]);
			fprintf(f, " -drive file=%s,format=%s,if=none,id=disk%d -device %s,drive=disk%d",
				abs, t->format, i,
				t->bus == V2V_BUS_VIRTIO ? "virtio-blk-pci" : "scsi-hd,bus=scsi0.0", i);
		}
		fputs("\"\n", f);
	}
	if (fclose(f))
		r = err_set(-errno, path, "%s", strerror(errno));
	if (!r && chmod(path, 0755))
		r = err_set(-errno, path, "chmod: %s", strerror(errno));
	return r;
}

/* virsh define, with its own message when libvirtd does not answer. */
static int virsh_define(const char *xml)
{
	char cmd[PATH_MAX + 64], out[1024] = "";
	size_t n = 0;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "virsh -q define '%s' 2>&1", xml);
	p = popen(cmd, "r");
	if (!p)
		return err_set(-errno, xml, "cannot run virsh: %s", strerror(errno));
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	st = pclose(p);
	if (st != 0) {
		out[strcspn(out, "\n")] = '\0';
		return err_set(-EIO, xml, "virsh define failed (is libvirtd running?): %s; "
			       "the converted disks and the XML are written", *out ? out : "no output");
	}
	return 0;
}

int v2v_write_outputs(const struct v2v_target *t, enum v2v_output out, struct v2v_report *r)
{
	char path[PATH_MAX];
	int ret;

	if (out == V2V_OUT_QEMU) {
		snprintf(path, sizeof(path), "%s/%s.sh", t->dir, t->name);
		ret = write_script(t, path);
	} else {
		snprintf(path, sizeof(path), "%s/%s.xml", t->dir, t->name);
		ret = write_xml(t, path);
		if (!ret && out == V2V_OUT_LIBVIRT)
			ret = virsh_define(path);
	}
	if (!ret)
		v2v_change(r, path, out == V2V_OUT_QEMU ? "launch script written" :
			   out == V2V_OUT_LIBVIRT ? "libvirt domain defined" : "libvirt XML written",
			   NULL, path);
	return ret;
}
