/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * migrate.h - `imgtool migrate`: run a plan (plan.h) of many VMs in parallel
 * within its limits, durable and resumable (state.h), verified (every copy's
 * digest equals its source's, convert/checksum.h) and reported (report.h).
 *
 * The work is cut into jobs: one per distinct source disk (copy, then verify)
 * and one per VM (what follows its disks).  A VM job waits for its disks; a disk job waits for
 * a free transfer within the per-host limits.  One failing job fails its VM (and
 * the VMs sharing its disk), never the others.
 *
 * Files: run.c (the scheduler and workers), disk_job.c, vm_job.c, v2v_job.c,
 * clone_job.c, warm.c and stop_source.c (warm migration), cutover.c (--cutover),
 * shard.c,
 * view.c (progress on a terminal or as JSON lines), report.c (JSON),
 * report_html.c, status.c.
 */
#ifndef IMGTOOL_MIGRATE_H
#define IMGTOOL_MIGRATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "migrate/plan.h"
#include "migrate/state.h"

struct copy_stats;
struct image;
struct progress;
struct ratelimit;
struct json_object;

enum mig_view { MIG_VIEW_AUTO, MIG_VIEW_JSON, MIG_VIEW_QUIET };

struct mig_options {
	const char *state_dir;    /* NULL: the first VM's output_dir */
	int shard, nshards;       /* nshards 0: the whole plan */
	int retry;                /* retries of a transfer after a network error */
	const char *only, *skip;  /* comma-separated VM names */
	enum mig_view view;
	const char *report_json, *report_html;
	uint64_t checkpoint_bytes;/* 0: every 1 GiB (or 30 s) of a copy */
};

/* Exit codes, as documented. */
#define MIG_EXIT_OK      0
#define MIG_EXIT_NOSTART 1
#define MIG_EXIT_FAILED  2

/* Run the plan (its selected part); prints progress; returns an exit code. */
int mig_run(const struct mig_plan *plan, const struct mig_options *o);
/* --dry-run: the schedule, one line per job, nothing opened or written. */
int mig_dry_run(const struct mig_plan *plan, const struct mig_options *o);
/* --status: what the state says, merged over every shard's database. */
int mig_status(const struct mig_plan *plan, const struct mig_options *o);
/* --cutover NAME,... (names NULL: --all, every selected warm VM): the request is
 * written to each VM's state, where its running migrate (or the next one) finds
 * it.  Returns an exit code. */
int mig_cutover(const struct mig_plan *plan, const struct mig_options *o, const char *names);

/* ---- shard.c ---- */
/* Which shard (0..n-1) each VM falls in: VMs sharing a disk fall together. */
int mig_shard_map(const struct mig_plan *plan, int n, int *shard_of);
/* Is VM v selected by --shard, --only and --skip?  (selected[] has nb_vms
 * entries.)  -EINVAL with the message set for a name that is not in the plan. */
int mig_select(const struct mig_plan *plan, const struct mig_options *o, bool *selected);
/* Is name one of the comma-separated list? */
bool mig_name_in_list(const char *list, const char *name);
/* Every name of the comma-separated list is a VM of the plan; -EINVAL naming
 * the option and the name otherwise. */
int mig_check_names(const struct mig_plan *plan, const char *list, const char *opt);
/* The folder holding the state. */
const char *mig_state_dir(const struct mig_plan *plan, const struct mig_options *o);

/* ---- the run's shared context (run.c) ---- */
enum job_state { JOB_PENDING, JOB_RUNNING, JOB_DONE, JOB_FAILED };
enum job_kind { JOB_DISK, JOB_VM };

struct mig_job {
	enum job_kind kind;
	int vm;                   /* the VM (for a disk: its owner) */
	int disk;                 /* JOB_DISK: the owner's disk index */
	enum job_state state;
	char step[64];            /* what it is doing, for the view */
	struct progress *progress;/* bytes of the current step (may be NULL) */
	const struct copy_stats *stats; /* while copying: bytes read and written so far */
	uint64_t total;           /* its total */
	char error[1024];
};

struct mig_run {
	const struct mig_plan *plan;
	const struct mig_options *opts;
	struct mig_state *state;
	struct ratelimit *ratelimit;
	bool *selected;
	struct mig_job *jobs;
	int nb_jobs;
	pthread_mutex_t lock;     /* guards the jobs' state and the counters below */
	pthread_cond_t cond;
	int *source_busy;         /* per job: transfers from that job's source host */
	int running;
	uint64_t bytes_written, bytes_read; /* by the copies that ended */
	double started;
	bool finished;
};

/* disk_job.c: copy and verify one disk; 0 or a negative errno (message set). */
int mig_disk_job(struct mig_run *r, struct mig_job *j);
/* Open a source disk read-only (a disk inside an OVA through its window). */
int mig_disk_open(const struct mig_disk *d, struct image **out);
/* vm_job.c: what follows a VM's disks. */
int mig_vm_job(struct mig_run *r, struct mig_job *j);
/* v2v_job.c: mode v2v's conversion of a VM's verified copies. */
int mig_v2v_job(struct mig_run *r, struct mig_job *j);
/* clone_job.c: mode clone's clones of a template. */
int mig_clone_job(struct mig_run *r, struct mig_job *j);
/* disk_job.c: verify disk i of VM job j's VM by digest (a warm VM's, after its
 * final sync). */
int mig_disk_verify(struct mig_run *r, struct mig_job *j, int disk);
/* warm.c: a warm VM's passes, cutover, final sync and verification. */
int mig_warm_job(struct mig_run *r, struct mig_job *j);
/* stop_source.c: run the VM's stop_command; 0 when it succeeded. */
int mig_stop_source(const struct mig_vm *vm);
/* Bytes written so far, by ended and running copies (lock held). */
uint64_t mig_bytes_written(const struct mig_run *r);
/* view.c: the progress thread's body and the event lines. */
void *mig_view_thread(void *opaque);
void mig_view_event(struct mig_run *r, const char *vm, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* report.c: the report (and --status) as JSON from the plan and the state. */
struct json_object *mig_report_json(const struct mig_plan *plan, const bool *selected,
				    struct mig_state **states, int nb_states);
int mig_report_write(const struct mig_options *o, struct json_object *report);
/* report_html.c; it writes through report.c's atomic writer */
int mig_report_html(struct json_object *report, const char *path);
int mig_report_html_write(const char *path, const char *html);

#endif
