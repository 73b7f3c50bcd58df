/*
 * v2v_output.c - what a conversion leaves behind besides the disks: the libvirt
 * domain XML (-o local, -o libvirt, which v2v.c then gives to `virsh define` at the
 * -oc URI: v2v_libvirt_check asks that libvirt before any copy, so that an
 * unreachable URI or a name already defined fails in a second, not after the
 * conversion) and a shell
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
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"
#include "launcher/launch.h"
#include "v2v/v2v.h"

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
		.rtc_localtime = t->rtc_localtime,
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
	if (t->rtc_localtime)
		fputs(" --rtc localtime", f);
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

/* Keep virsh's last line: on failure it prints what it tried ("error: Failed to
 * define domain from X", "error: failed to connect to the hypervisor") and then
 * the cause, which is what the one-line message needs. */
static void last_line(char *out)
{
	size_t n = strlen(out);
	char *start;

	while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = '\0';
	start = strrchr(out, '\n');
	start = start ? start + 1 : out;
	if (!strncmp(start, "error: ", 7))
		start += 7;
	memmove(out, start, strlen(start) + 1);
}

/* Run `virsh -q [-c URI] ARGS...` (no shell: paths and names go as they are); -c
 * wins over virsh's environment (VIRSH_DEFAULT_CONNECT_URI, LIBVIRT_DEFAULT_URI),
 * which applies when uri is NULL.  Its last output line goes to out. */
static int run_virsh(const char *uri, const char *const *args, char *out, size_t len)
{
	const char *argv[10] = { "virsh", "-q" };
	int fds[2], st, n = 2;
	size_t got = 0;
	ssize_t k;
	pid_t pid;

	if (uri) {
		argv[n++] = "-c";
		argv[n++] = uri;
	}
	for (; *args && n < 9; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	if (pipe(fds))
		return -errno;
	pid = fork();
	if (pid < 0) {
		st = -errno;
		close(fds[0]);
		close(fds[1]);
		return st;
	}
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		execvp("virsh", (char *const *)argv);
		dprintf(2, "cannot run virsh: %s\n", strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	while ((k = read(fds[0], out + got, len - 1 - got)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			break;
		got += (size_t)k;
		if (got == len - 1) {   /* the rest is not needed: drain it */
			char sink[512];
			while (read(fds[0], sink, sizeof(sink)) > 0)
				;
			break;
		}
	}
	out[got] = '\0';
	close(fds[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	last_line(out);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

static const char *uri_shown(const char *uri)
{
	return uri ? uri : "virsh's default URI";
}

int v2v_libvirt_check(const char *uri, const char *name)
{
	char out[1024];
	const char *uri_args[] = { "uri", NULL };
	const char *dom_args[] = { "domuuid", "--domain", name, NULL };

	if (run_virsh(uri, uri_args, out, sizeof(out)))
		return err_set(-EHOSTUNREACH, uri_shown(uri), "cannot connect to libvirt (-oc URI): %s; "
			       "nothing was converted", *out ? out : "no output");
	if (name && !run_virsh(uri, dom_args, out, sizeof(out)))
		return err_set(-EEXIST, uri_shown(uri), "a domain named '%s' is already defined there "
			       "(uuid %s): choose another -on NAME or undefine it; nothing was "
			       "converted", name, out);
	return 0;
}

static void output_path(const struct v2v_target *t, enum v2v_output out, char *path, size_t len)
{
	snprintf(path, len, "%s/%s.%s", t->dir, t->name, out == V2V_OUT_QEMU ? "sh" : "xml");
}

/* On failure the disks and the XML stay (v2v.c keeps them when this step fails),
 * so that the guest can be defined by hand once libvirt is fixed. */
int v2v_libvirt_define(const struct v2v_target *t, const char *uri, struct v2v_report *r)
{
	char xml[PATH_MAX], out[1024], what[PATH_MAX];
	const char *args[] = { "define", "--file", xml, NULL };

	output_path(t, V2V_OUT_LIBVIRT, xml, sizeof(xml));
	if (run_virsh(uri, args, out, sizeof(out)))
		return err_set(-EIO, xml, "virsh define failed at %s: %s; the converted disks "
			       "and this XML are kept (virsh define it by hand)", uri_shown(uri),
			       *out ? out : "no output");
	snprintf(what, sizeof(what), "libvirt domain defined at %s", uri_shown(uri));
	v2v_change(r, xml, what, NULL, xml);
	return 0;
}

int v2v_write_outputs(const struct v2v_target *t, enum v2v_output out, struct v2v_report *r)
{
	char path[PATH_MAX];
	int ret;

	output_path(t, out, path, sizeof(path));
	ret = out == V2V_OUT_QEMU ? write_script(t, path) : write_xml(t, path);
	if (!ret)
		v2v_change(r, path, out == V2V_OUT_QEMU ? "launch script written" :
			   "libvirt XML written", NULL, path);
	return ret;
}
