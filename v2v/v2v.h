/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * v2v.h - `imgtool v2v`: move a guest from VMware/Hyper-V/VirtualBox (or a physical
 * disk) to KVM.  The source is read by an input (input/input.h: -i disk, vmx, ova),
 * copied with the copy engine into the target format, converted through
 * libguestfs (linux/linux.c: device names, bootloader, initramfs, agents, network;
 * windows/: virtio-win drivers, registry, first boot) and described by an output
 * (output/output.h: -o local, libvirt, qemu).  Every change is recorded with its
 * before and after (report.c) so that nothing is changed silently; any failed step
 * fails the whole conversion, naming the step.
 *
 * Files: v2v.c (the steps in order), choice.c (the message for an unknown -i/-o),
 * report.c, input/, linux/ (linux.c, devname.c: device-name rewriting, pure),
 * windows/, output/.
 */
#ifndef IMGTOOL_V2V_H
#define IMGTOOL_V2V_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "v2v/input/input.h"

struct json_object;
struct guest;
struct cust_op;
struct v2v_output_ops;

enum v2v_bus { V2V_BUS_VIRTIO, V2V_BUS_VIRTIO_SCSI };

struct v2v_params {
	const struct v2v_input_ops *input;    /* -i (v2v_input_find) */
	const char *src;
	const char *src_format;   /* -f; NULL: probed */
	const struct v2v_output_ops *output;  /* -o (v2v_output_find) */
	const char *out_format;   /* -of, default qcow2 */
	const char *out_dir;      /* -os */
	const char *out_name;     /* -on; NULL: the source's name */
	enum v2v_bus bus;
	bool in_place;
	bool source_freeze;       /* --source-freeze: the ssh:// sources' filesystems frozen during the copy */
	const char *virtio_win;   /* --virtio-win DIR; NULL: none */
	const char *libvirt_uri;  /* -oc, for -o libvirt; NULL: virsh's default */
	bool quiet;               /* no per-step lines */
	bool json;                /* steps are not printed (the report goes to stdout) */
	/* applied after the conversion on the same appliance (a plan's VM): sysprep's
	 * enabled operations (sysprep_nops entries, NULL: none), then customize's */
	const bool *sysprep;
	const struct cust_op *customize;
	size_t nb_customize;
};

/* ---- report.c: the record of what was done ---- */
struct v2v_report;

struct v2v_report *v2v_report_new(void);
void v2v_report_free(struct v2v_report *r);
/* Start / end a named step; v2v_step_end prints one line unless quiet. */
void v2v_step_begin(struct v2v_report *r, const char *name);
void v2v_step_end(struct v2v_report *r, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* One change made: in file, what, with the text before and after (NULL: none). */
void v2v_change(struct v2v_report *r, const char *file, const char *what,
		const char *before, const char *after);
void v2v_warn(struct v2v_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Free-form facts (guest OS, outputs...). */
void v2v_report_set(struct v2v_report *r, const char *key, struct json_object *value);
void v2v_report_set_quiet(struct v2v_report *r, bool quiet);
size_t v2v_report_nb_changes(const struct v2v_report *r);
/* The report as JSON (with "result": ok or the error message). */
int v2v_report_write(struct v2v_report *r, const char *path, int ret);
void v2v_report_print_json(struct v2v_report *r, int ret);

/* ---- source_freeze.c: --source-freeze (a live P2V over ssh://) ---- */
struct v2v_source;
struct v2v_freeze;
/* Freeze every filesystem mounted from each source disk on its host (ssh://
 * disks only; others are refused).  detail: what was frozen.  Every filesystem
 * thaws by itself if imgtool dies or the link drops. */
int v2v_freeze_begin(const struct v2v_source *src, struct v2v_freeze **out, char *detail,
		     size_t dlen);
/* Thaw and free; call it after a successful begin whatever the copy did. */
int v2v_freeze_end(struct v2v_freeze *fz, char *detail, size_t dlen);

/* ---- linux/devname.c: device names (pure, unit-testable) ---- */
/* Map a guest device name ("/dev/sda1", "/dev/xvdb", "/dev/hda2") to the index of
 * its disk (0 = a) and its partition (0 = whole disk); -1 when not such a name. */
int v2v_devname_parse(const char *name, int *disk, int *part);
/* Rewrite every old-style device name in text with map(disk, part) (which returns a
 * malloc'd replacement or NULL to keep the name).  *out is malloc'd; *count is the
 * number of names replaced. */
int v2v_devname_rewrite(const char *text, char *(*map)(void *arg, const char *name, int disk, int part),
			void *arg, char **out, int *count);

/* ---- linux/linux.c ---- */
struct v2v_linux_opts {
	enum v2v_bus bus;
	int nb_nics;              /* NICs the target gets (>= 1) */
	int nb_disks;             /* disks attached, in the guest's order */
};
int v2v_convert_linux(struct guest *gu, const struct v2v_linux_opts *o, struct v2v_report *r);

/* ---- windows/windows.c (windows/windows.h: the files it is split into) ---- */
struct v2v_windows_opts {
	enum v2v_bus bus;         /* viostor (virtio) or vioscsi (virtio-scsi) */
	const char *virtio_win;   /* the virtio-win tree (a directory) */
};
/* Everything needed is checked before the guest is changed (a refusal names what is
 * missing); *rtc_localtime: the guest keeps the RTC in local time (no
 * RealTimeIsUniversal), so its domain wants <clock offset='localtime'/>. */
int v2v_convert_windows(struct guest *gu, const struct v2v_windows_opts *o,
			struct v2v_report *r, bool *rtc_localtime);

/* ---- what the outputs (output/output.h) describe ---- */
struct v2v_target {
	char **disks;             /* the converted disks (paths) */
	int nb_disks;
	const char *format;
	const char *name;
	const char *dir;
	enum v2v_bus bus;
	uint64_t memory_mib;      /* 0: unknown (the outputs' default) */
	int vcpus;                /* 0: unknown (one) */
	bool uefi;
	bool rtc_localtime;       /* Windows: the RTC keeps local time */
	const struct v2v_source *src;
};

/* ---- choice.c ---- */
/* -EINVAL with "OPTION must be A, B or C, not 'GIVEN'": the n names from name_at. */
int v2v_unknown_choice(const char *option, const char *given,
		       const char *(*name_at)(size_t i), size_t n);

/* ---- v2v.c ---- */
int v2v_run(const struct v2v_params *p, struct v2v_report *r);
/* Before v2v_run: the output's precheck (-o libvirt: libvirt answers, the name is
 * free) with the name v2v_run will give the guest, where that is known without
 * reading the disks (-on, or an input that names_quickly; an OVA's name is then
 * checked only when the output finishes). */
int v2v_precheck(const struct v2v_params *p);

/* ---- v2v.c, for disks copied by someone else (a plan, migrate/v2v_job.c) ---- */
struct v2v_prepared {
	const struct v2v_source *src;  /* what the input read; its disks are not opened */
	char **work;              /* the disks converted (overlays), src->nb_disks */
	const char *work_format;
	char **disks;             /* the disks the output describes (under the overlays) */
	const char *format;
};
/* Convert the guest on work (the steps inspect, convert, sysprep, customize,
 * close), then write the output's file describing disks (p->out_name names it).
 * The output's finish (-o libvirt's define) is v2v_finish_prepared's, once the
 * work is in the disks. */
int v2v_convert_prepared(const struct v2v_params *p, const struct v2v_prepared *d,
			 struct v2v_report *r);
int v2v_finish_prepared(const struct v2v_params *p, const struct v2v_prepared *d,
			struct v2v_report *r);

#endif
