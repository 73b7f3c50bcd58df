/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * plan.h - a batch migration plan (`imgtool migrate PLAN`): the VMs to move, what
 * to do with each, and the limits on how hard sources and targets are hit.  The
 * plan is YAML or JSON (one parser: JSON is YAML's flow style), documented in
 * docs/migrate-plan.md.
 *
 * Loading checks everything that can be checked without opening a disk and
 * reports every problem at once as "PLAN:LINE:COLUMN: message" (unknown key,
 * wrong type, a duplicate name, two VMs writing the same output, a local source
 * that cannot be read), so a plan for 200 VMs is fixed in one pass.
 *
 * Files: yaml_doc.c (the document with positions), plan.c (keys, types,
 * defaults), plan_source.c (the disks a .vmx or an OVA names), plan_check.c (the
 * checks across VMs, the output names).
 */
#ifndef IMGTOOL_MIGRATE_PLAN_H
#define IMGTOOL_MIGRATE_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "common/strbuf.h"
#include "guest/customize.h"

#define MIG_MAX_VMS    100000
#define MIG_MAX_DISKS  26       /* sda..sdz, as imgtool v2v names them */

enum mig_mode { MIG_MODE_COPY, MIG_MODE_V2V, MIG_MODE_CLONE };

struct mig_pos {
	int line, column;         /* 1-based, of the node in the plan file */
};

/* One disk of one VM.  A source named by several VMs is copied once: the first
 * VM (in plan order) naming it owns it, the others wait for it. */
struct mig_disk {
	char *source;             /* what imgtool opens: a path or URL */
	char *format;             /* NULL: probed */
	char *output;             /* OUTPUT_DIR/OWNER-sdX.FMT (or rbd:pool/OWNER-sdX) */
	int owner;                /* index of the VM that copies it */
	char *source_host;        /* "localhost" for local files */
	char *target;             /* where it is written: host or pool (per_target) */
	uint64_t offset, length;  /* length > 0: a window of source (a disk in an OVA) */
	struct mig_pos pos;
};

struct mig_vm {
	char *name;
	struct mig_pos pos;
	enum mig_mode mode;
	char *input;              /* disk | vmx | ova */
	char *source;             /* -i vmx / ova: the .vmx, .ova or .ovf */
	char *source_format;      /* -i disk: the disks' format (NULL: probed) */
	struct mig_disk *disks;   /* -i disk: from the plan; vmx/ova: at run time */
	int nb_disks;
	char *output;             /* local | libvirt | qemu */
	char *output_dir;
	char *output_format;
	char *libvirt_uri;        /* -o libvirt: -oc */
	char *virtio_win;
	struct cust_op *customize;/* imgtool customize's operations, in order */
	int nb_customize;
	char *sysprep;            /* imgtool sysprep --operations list, or NULL */
	char **tags;
	int nb_tags;
	/* mode clone (clone/clone.h): VMs stamped out of a template into output_dir */
	char *template_image;
	char *clone_kind;         /* linked | full; NULL: linked for a qcow2 template */
	int count;                /* 0: one clone named like the VM */
	char *name_pattern;       /* with count: 'web%02d' */
	char *xml;                /* the template's domain XML, or NULL */
	bool force;               /* clone a template that still holds identity */
	/* warm migration (migrate/warm.c): a first copy while the source runs,
	 * sync passes every sync_interval seconds, and at the cutover (requested
	 * with --cutover, or at cutover_at) stop_command, a final sync, the
	 * verification */
	bool warm;
	bool warm_set;            /* warm: given (for defaults) */
	char *stop_command;       /* run by /bin/sh with IMGTOOL_VM set */
	char *remote_imgtool;     /* imgtool on ssh:// sources' hosts: digests made there */
	long sync_interval;       /* seconds; 0: MIG_SYNC_INTERVAL */
	double cutover_at;        /* seconds since the epoch; 0: none */
	char *cutover_at_text;    /* as written (defaults carry it to the VMs) */
};

#define MIG_SYNC_INTERVAL 60

struct mig_limits {
	int jobs;                 /* transfers at once (default: 4) */
	int per_source_host;      /* transfers reading from one host (0: no limit) */
	int per_target;           /* transfers writing to one target (0: no limit) */
	uint64_t bandwidth;       /* bytes per second over all transfers (0: none) */
};

struct mig_plan {
	char *path;
	struct mig_limits limits;
	struct mig_vm *vms;
	int nb_vms;
};

/* Load and check the plan at path.  0, or -EINVAL with every problem appended to
 * errors (one "path:line:col: message" line each); other negative errnos (the
 * file cannot be read) have the message set with err_set. */
int mig_plan_load(const char *path, bool check_sources, struct mig_plan *plan,
		  struct strbuf *errors);
void mig_plan_free(struct mig_plan *plan);
/* The index of the VM named name, or -1. */
int mig_plan_find(const struct mig_plan *plan, const char *name);

/* ---- plan_check.c ---- */
/* Names each disk's output, owner, source host and target; reports clashes and
 * (check_sources) unreadable local sources.  Called by mig_plan_load. */
void mig_plan_check(struct mig_plan *plan, bool check_sources, struct strbuf *errors);
/* ---- plan_source.c ---- */
/* A vmx/ova VM's disks, read from its source (check_sources: else left to run
 * time, as --status needs).  Called by mig_plan_load before mig_plan_check. */
void mig_plan_sources(struct mig_plan *plan, bool check_sources, struct strbuf *errors);

/* The host part of a source or target ("localhost" for local paths); malloc'd. */
char *mig_url_host(const char *name);

#endif
