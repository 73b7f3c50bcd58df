/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * state.h - the durable state of a batch migration: one SQLite database per shard
 * (DIR/imgtool-migrate.db, or imgtool-migrate-I-of-N.db for --shard I/N), so the
 * shards of one plan can share a folder on NFS or CephFS without sharing a
 * database file (SQLite's locking is not to be trusted over NFS).  It holds every
 * VM's status and steps, every disk's copy checkpoint and digests, throughput
 * samples for the report, and the holder: the process running the plan.
 *
 * The holder makes a second `imgtool migrate` on the same state refuse, naming
 * the host and pid; a holder that died (its pid gone, or on another host no
 * heartbeat for HOLDER_STALE_SECS) is taken over.
 */
#ifndef IMGTOOL_MIGRATE_STATE_H
#define IMGTOOL_MIGRATE_STATE_H

#include <stdbool.h>
#include <stdint.h>

#define MIG_STATE_FILE       "imgtool-migrate"
#define HOLDER_STALE_SECS    60
#define HOLDER_HEARTBEAT_SECS 10

struct mig_state;

/* A disk's record, keyed by its source. */
struct mig_disk_state {
	char status[16];          /* pending, copying, copied, verified, failed */
	uint64_t size;
	uint64_t checkpoint;      /* bytes of the source known to be in the output */
	uint64_t resumed_from;    /* the checkpoint the last run started from */
	uint64_t bytes_read, bytes_written;
	char source_sum[65], output_sum[65], converted_sum[65];
	double started, ended;
	char error[512];
};

struct mig_vm_state {
	char status[16];          /* pending, running, done, failed */
	double started, ended;
	char error[1024];
};

/* Open (creating) the state of shard I of N (N 0: unsharded) in dir.  readonly
 * opens an existing one without taking the holder (--status). */
int mig_state_open(const char *dir, int shard, int nshards, bool readonly,
		   struct mig_state **out);
/* Release the holder and close. */
void mig_state_close(struct mig_state *st);
/* The path of the database (for messages). */
const char *mig_state_path(const struct mig_state *st);

int mig_state_vm_get(struct mig_state *st, const char *vm, struct mig_vm_state *out);
int mig_state_vm_set(struct mig_state *st, const char *vm, const char *status, const char *error);

/* A step of a VM started (status "running") or ended ("done" / "failed"). */
int mig_state_step(struct mig_state *st, const char *vm, const char *step, const char *status,
		   const char *detail, uint64_t bytes_read, uint64_t bytes_written);

/* A step's status ("running", "done", "failed"; "none" without a record). */
int mig_state_step_get(struct mig_state *st, const char *vm, const char *step, char status[16]);

/* 0 and *out (zeroed, status "pending", when the disk has no record). */
int mig_state_disk_get(struct mig_state *st, const char *source, struct mig_disk_state *out);
int mig_state_disk_put(struct mig_state *st, const char *source, const char *vm,
		       const char *output, const struct mig_disk_state *d);
int mig_state_checkpoint(struct mig_state *st, const char *source, uint64_t done,
			 uint64_t bytes_read, uint64_t bytes_written);

/* Total bytes written by this process so far, sampled for the throughput chart. */
int mig_state_sample(struct mig_state *st, double t, uint64_t bytes);

/* ---- warm migration (migrate/warm.c) ---- */

/* A control connection: reads and writes the state beside the running holder
 * (imgtool migrate --cutover), without taking it. */
int mig_state_open_control(const char *dir, int shard, int nshards, struct mig_state **out);

struct mig_warm_state {
	double cutover_requested; /* --cutover was given (0: not yet) */
	double stop_started;      /* stop_command started (it must be safe to run again) */
	double stopped;           /* stop_command succeeded: the downtime starts */
	double ready;             /* the final sync is done: the downtime ends */
	int next_pass;            /* the number of the next pass (0: the first copy) */
};

enum mig_warm_event { MIG_WARM_CUTOVER, MIG_WARM_STOP_STARTED, MIG_WARM_STOPPED, MIG_WARM_READY };

struct mig_pass_bytes {
	uint64_t read, written, zeroed;
};

int mig_state_warm_get(struct mig_state *st, const char *vm, struct mig_warm_state *out);
int mig_state_warm_mark(struct mig_state *st, const char *vm, enum mig_warm_event what, double t);
/* Pass n of a VM: kind "copy" (the first, full copy), "sync" or "final". */
int mig_state_pass_begin(struct mig_state *st, const char *vm, int n, const char *kind);
int mig_state_pass_end(struct mig_state *st, const char *vm, int n, const char *status,
		       const struct mig_pass_bytes *b);
/* A pass that already happened (the first copy, from its disks' records); kept
 * if it is there already. */
int mig_state_pass_record(struct mig_state *st, const char *vm, int n, const char *kind,
			  double started, double ended, const struct mig_pass_bytes *b);
/* Passes left running by a killed process become "interrupted". */
int mig_state_pass_interrupted(struct mig_state *st, const char *vm);

/* For reports: run sql with each row's columns as strings. */
int mig_state_query(struct mig_state *st, const char *sql,
		    int (*row)(void *opaque, int ncols, char **cols), void *opaque);

#endif
