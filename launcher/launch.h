/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * launch.h - the VM launcher: turn an image and a few choices into a
 * qemu-system-x86_64 command line (or a libvirt domain XML), prove that KVM really
 * runs guests before using it, and run the guest while watching its serial console.
 *
 * The pieces are separate so that they can be tested alone: qemu_cmdline.c and
 * libvirt_xml.c are pure (options in, text out), accel_probe.c boots a tiny probe
 * guest, console.c owns the qemu process and its console, overlay.c makes the
 * --snapshot overlay.  launch_run.c resolves the choices (format, cache,
 * accelerator, overlay, NBD) and glues the pieces; imgtool/cmd_launch.c only
 * parses the options and prints the outcome.
 */
#ifndef IMGTOOL_LAUNCH_H
#define IMGTOOL_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum launch_bus { LAUNCH_BUS_VIRTIO, LAUNCH_BUS_VIRTIO_SCSI, LAUNCH_BUS_SATA, LAUNCH_BUS_IDE };
enum launch_net { LAUNCH_NET_USER, LAUNCH_NET_NONE, LAUNCH_NET_BRIDGE, LAUNCH_NET_TAP };
enum launch_accel { LAUNCH_ACCEL_AUTO, LAUNCH_ACCEL_KVM, LAUNCH_ACCEL_TCG };
enum launch_firmware { LAUNCH_FW_BIOS, LAUNCH_FW_UEFI };

#define LAUNCH_DEFAULT_QEMU "qemu-system-x86_64"
#define LAUNCH_OVMF_PATH "/usr/share/ovmf/OVMF.fd"

/* A fully resolved launch: every field is what the guest will get. */
struct launch_config {
	const char *qemu;         /* the emulator binary */
	const char *name;         /* guest name (libvirt domain name, qemu -name) */
	const char *image;        /* the disk qemu opens: a path or a URL */
	const char *format;       /* its format, always explicit */
	uint64_t memory_mib;
	int cpus;
	enum launch_bus bus;
	const char *cache;        /* none, writeback, writethrough, directsync, unsafe */
	const char *aio;          /* native, threads, io_uring; NULL: qemu's default */
	enum launch_net net;
	const char *net_name;     /* bridge or tap name */
	int vnc_display;          /* -1: no graphics, serial console only */
	enum launch_firmware firmware;
	enum launch_accel accel;  /* KVM or TCG (auto is resolved before) */
	bool transient;           /* libvirt: writes go to a throw-away overlay */
	/* the RTC keeps local time, not UTC: what Windows expects unless its registry
	 * says RealTimeIsUniversal (qemu -rtc base=localtime, libvirt <clock>) */
	bool rtc_localtime;
	/* libvirt XML only (imgtool v2v): more disks after the first, on the same bus */
	const char *const *extra_images;
	const char *const *extra_formats;
	int nb_extra;
	/* libvirt XML only: NICs (0: one), their MACs (NULL or NULL entries: libvirt's
	 * choice) and the PCI slot of the first (0: libvirt's choice); pinning keeps
	 * the guest's interface name (ens<slot>) the one v2v configured */
	int nb_nics;
	const char *const *nic_macs;
	int nic_first_slot;
};

/* A growable NULL-terminated argument vector. */
struct strv {
	char **v;
	int n, cap;
};

int strv_add(struct strv *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strv_free(struct strv *s);
/* The vector as one shell command line (each word quoted when needed); malloc'd. */
char *strv_join_shell(const struct strv *s);
/* A value inside a qemu "-drive k=v,..." list: commas doubled; malloc'd. */
char *launch_qemu_escape(const char *s);

/* ---- option names (parse: 0 or -EINVAL with the message set) ---- */
int launch_parse_bus(const char *s, enum launch_bus *out);
int launch_parse_net(const char *s, enum launch_net *out, const char **name);
int launch_parse_accel(const char *s, enum launch_accel *out);
int launch_parse_firmware(const char *s, enum launch_firmware *out);
int launch_parse_rtc(const char *s, bool *localtime);
int launch_parse_console(const char *s, int *vnc_display);
int launch_check_cache_aio(const char *cache, const char *aio);
const char *launch_bus_name(enum launch_bus b);
/* Is this image name a URL qemu opens by itself (nfs://, iscsi://, rbd:, nbd:...)? */
bool launch_is_url(const char *image);
/* Can qemu open this image itself: are its URL scheme's block driver and its format
 * in "qemu-img --help"'s "Supported formats" (read once per process; accel_probe.c)?
 * When not, the launcher serves the image over NBD (serve/nbd_server.h). */
bool launch_qemu_can_open(const char *image, const char *format);

/* ---- qemu_cmdline.c ---- */
/* The qemu argv for cfg (argv[0] is cfg->qemu). */
int launch_build_argv(const struct launch_config *cfg, struct strv *out);

/* ---- libvirt_xml.c ---- */
/* A libvirt domain XML for cfg, written to path ("-": stdout). */
int launch_write_libvirt_xml(const struct launch_config *cfg, const char *path);
/* The same XML written to f (a file the caller opened: v2v creates its own
 * exclusively); the caller closes f. */
int launch_put_libvirt_xml(FILE *f, const struct launch_config *cfg);

/* ---- accel_probe.c ---- */
/* Does KVM really run guests here?  Returns 1 (yes), 0 (no: *why* says why, one
 * line) or a negative errno.  Boots the probe sector with -accel kvm -cpu host under a
 * short timeout; the verdict is cached for this host boot (per qemu binary). */
int accel_probe_kvm(const char *qemu, char *why, size_t why_len);
extern const unsigned char kvm_probe_sector[512];

/* ---- console.c ---- */
struct console_opts {
	const char *wait_for;     /* marker text; NULL: none */
	double timeout;           /* seconds; <= 0: none */
	const char *log_path;     /* copy of the whole console; NULL: none */
	int tail_lines;           /* lines printed on failure */
	bool interactive;         /* the terminal is the console (no capture) */
};

struct console_result {
	bool marker_seen;
	bool timed_out;
	bool interrupted;         /* SIGINT/SIGTERM/SIGHUP reached the launcher */
	bool qemu_exited;         /* qemu ended by itself */
	int qemu_status;          /* its wait status when qemu_exited */
	double seconds;           /* from start to the marker (or to the end) */
};

/* Run argv (qemu) in its own process group, watch its serial console (stdout),
 * stop it (SIGTERM, then SIGKILL) once the marker is seen, on timeout, on a signal
 * or when it exits, and reap it: no process is left behind.  On failure the last
 * console lines go to stderr.  Returns 0 (ran; see res) or a negative errno. */
int console_run(char *const argv[], const struct console_opts *o, struct console_result *res);

/* ---- overlay.c: the --snapshot overlay ---- */
struct launch_overlay {
	char *dir;                /* private folder under $TMPDIR or /var/tmp */
	char *path;               /* dir/overlay.qcow2 */
};
/* A qcow2 over image (format given) in a new private folder; on failure what was
 * made is still in ov for launch_overlay_remove(). */
int launch_overlay_create(const char *image, const char *format, struct launch_overlay *ov);
/* Remove the overlay and its folder, free the names (safe on a zeroed ov). */
void launch_overlay_remove(struct launch_overlay *ov);

/* ---- launch_run.c: one launch ---- */
#define LAUNCH_WAIT_TIMEOUT 600.0 /* seconds, when --wait-for has no --timeout */

/* What the user asked for. */
struct launch_request {
	/* the parsed choices (qemu, name, memory, cpus, bus, net, console, firmware,
	 * rtc, accel); image, format, cache, aio and accel are resolved by the run */
	struct launch_config cfg;
	const char *image;
	const char *format;       /* NULL: probed by imgtool */
	const char *cache;        /* NULL: none (writeback for URLs and NBD) */
	const char *aio;          /* NULL: native with cache=none/directsync */
	const char *wait_for;     /* marker text on the console; NULL: none */
	const char *libvirt_xml;  /* write the domain XML there ("-": stdout) */
	const char *console_log;
	double timeout;           /* seconds; 0: none (LAUNCH_WAIT_TIMEOUT with wait_for) */
	bool snapshot;            /* writes go to a throw-away overlay */
	bool print_cmdline;       /* build the command line, run nothing */
	bool via_nbd;             /* always serve the disk over NBD */
	/* one line of warning (without the program name); NULL: none */
	void (*warn)(const char *msg);
};

/* How it went, for the caller to print. */
struct launch_outcome {
	char *cmdline;            /* print_cmdline: the qemu command (malloc'd) */
	bool ran;                 /* a guest ran; res says how it ended */
	struct console_result res;
	double before;            /* the launcher's seconds before qemu started */
	double timeout;           /* the timeout in effect (seconds; 0: none) */
	enum launch_accel accel;  /* what the guest ran on */
	bool need_format;         /* a URL whose format could not be probed: give -f */
};

/* Resolve, write the XML if asked, run (or only print) the guest, clean up (NBD
 * server stopped, overlay removed).  0 (see out; with libvirt_xml alone nothing
 * ran), or a negative errno with the message set.  rq->cfg is resolved in
 * place; free out->cmdline. */
int launch_run(struct launch_request *rq, struct launch_outcome *out);

#endif
