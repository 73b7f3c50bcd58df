/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * warm.c - a warm VM (plan key `warm: true`) after its first full copy, which
 * disk_job.c made while the source ran: sync passes (convert/sync.h) every
 * `sync_interval` seconds until the cutover, then the cutover itself: the
 * plan's stop_command (stop_source.c), one final sync, the verification by
 * digest, done.  The downtime is from the moment the stop_command succeeded to
 * the end of the final sync: the disks are then ready (the final pass compared
 * every block of the stopped source with the copy and wrote what differed).  The
 * verification by digest follows, outside the downtime, and still fails the VM
 * if the two differ.
 *
 * The cutover comes from `imgtool migrate --cutover NAME|--all PLAN` (a request
 * written to the state, which this job polls while it waits) or from the plan's
 * `cutover_at` time.  Every event is in the state before it is acted on: a run
 * killed in a pass starts a new pass (a sync is idempotent), one killed after
 * the source stopped goes straight to the final sync, one killed while the
 * stop_command ran runs it again.
 */
#include "migrate/migrate.h"
#include "common/err.h"
#include "convert/progress.h"
#include "convert/sync.h"
#include "convert/sync_remote.h"
#include "formats/format.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define POLL_USEC 200000   /* how often a waiting VM looks for a cutover request */

struct warm_ctx {
	struct mig_run *r;
	struct mig_job *j;
	const struct mig_vm *vm;
	int pass;                 /* the next pass's number */
};

static double now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void set_step(struct warm_ctx *c, struct progress *p, uint64_t total, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void set_step(struct warm_ctx *c, struct progress *p, uint64_t total, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&c->r->lock);
	va_start(ap, fmt);
	vsnprintf(c->j->step, sizeof(c->j->step), fmt, ap);
	va_end(ap);
	c->j->progress = p;
	c->j->total = total;
	pthread_mutex_unlock(&c->r->lock);
}

/* Is the cutover due: requested, past cutover_at, or begun by an earlier run? */
static int cutover_due(struct warm_ctx *c, bool *due)
{
	struct mig_warm_state ws;
	int ret = mig_state_warm_get(c->r->state, c->vm->name, &ws);

	*due = ws.cutover_requested || ws.stop_started ||
	       (c->vm->cutover_at && now() >= c->vm->cutover_at);
	return ret;
}

/* Wait until `until` or the cutover, whichever comes first. */
static int wait_for_cutover(struct warm_ctx *c, double until, bool *due)
{
	for (;;) {
		int ret = cutover_due(c, due);

		if (ret || *due || now() >= until)
			return ret;
		usleep(POLL_USEC);
	}
}

/* One disk of one pass: source and copy opened afresh (the source may be a
 * different file by now, a snapshot replaced), synced, closed. */
static int sync_disk(struct warm_ctx *c, int i, const char *kind, struct mig_pass_bytes *b)
{
	const struct mig_disk *d = &c->vm->disks[i];
	struct sync_params p = { .ratelimit = c->r->ratelimit };
	struct sync_stats st = { 0 };
	struct sync_remote *remote = NULL;
	int ret;

	ret = image_open(d->source, d->format, 0, &p.src);
	if (ret == 0)
		ret = image_open(d->output, c->vm->output_format, IMG_RDWR, &p.dst);
	/* remote_imgtool: the digests made on the source's host, only changes cross */
	if (ret == 0 && c->vm->remote_imgtool && !strncmp(d->source, "ssh://", 6) && !d->length)
		ret = sync_remote_open(d->source, c->vm->remote_imgtool, d->format, 0, &remote,
				       &p.digests);
	if (ret == 0) {
		p.progress = progress_new(PROGRESS_NONE, p.src->size);
		p.stats = &st;
		set_step(c, p.progress, p.src->size, "%s sync %d sd%c", kind, c->pass, 'a' + i);
		ret = sync_run(&p);
		set_step(c, NULL, 0, "%s sync %d", kind, c->pass);
		progress_free(p.progress);
	}
	digest_reader_free(p.digests);
	ret = sync_remote_finish(remote, ret);
	image_close(p.dst);
	image_close(p.src);
	b->read += st.src_read;
	b->written += st.written;
	b->zeroed += st.zeroed;
	pthread_mutex_lock(&c->r->lock);
	c->r->bytes_read += st.src_read;
	c->r->bytes_written += st.written;
	pthread_mutex_unlock(&c->r->lock);
	return ret;
}

/* A pass over every disk of the VM, recorded as pass c->pass. */
static int run_pass(struct warm_ctx *c, const char *kind)
{
	struct mig_pass_bytes b = { 0 };
	double t0 = now();
	int ret = mig_state_pass_begin(c->r->state, c->vm->name, c->pass, kind);

	for (int i = 0; !ret && i < c->vm->nb_disks; i++)
		ret = sync_disk(c, i, kind, &b);
	mig_state_pass_end(c->r->state, c->vm->name, c->pass, ret ? "failed" : "done", &b);
	if (!ret)
		mig_view_event(c->r, c->vm->name, "%s pass %d: wrote %llu bytes, zeroed %llu, "
			       "in %.1f s", kind, c->pass, (unsigned long long)b.written,
			       (unsigned long long)b.zeroed, now() - t0);
	c->pass++;
	return ret;
}

/* Pass 0 is the first copy, made by the disk jobs: recorded from their state. */
static int record_first_copy(struct warm_ctx *c)
{
	struct mig_pass_bytes b = { 0 };
	double started = 0, ended = 0;

	for (int i = 0; i < c->vm->nb_disks; i++) {
		struct mig_disk_state ds;
		int ret = mig_state_disk_get(c->r->state, c->vm->disks[i].source, &ds);

		if (ret)
			return ret;
		if (ds.started && (!started || ds.started < started))
			started = ds.started;
		if (ds.ended > ended)
			ended = ds.ended;
		b.read += ds.bytes_read;
		b.written += ds.bytes_written;
	}
	c->pass = 1;
	return mig_state_pass_record(c->r->state, c->vm->name, 0, "copy", started, ended, &b);
}

/* Sync passes until the cutover is due. */
static int passes_until_cutover(struct warm_ctx *c)
{
	double interval = (double)c->vm->sync_interval;
	double last = now();
	bool due = false;
	int ret;

	for (;;) {
		set_step(c, NULL, 0, "warm: pass %d in %.0f s", c->pass, interval);
		ret = wait_for_cutover(c, last + interval, &due);
		if (ret || due)
			return ret;
		ret = run_pass(c, "sync");
		if (ret)
			return ret;
		last = now();
	}
}

/* Stop the source (recorded before and after), unless an earlier run did. */
static int stop_source(struct warm_ctx *c, const struct mig_warm_state *ws)
{
	struct mig_state *st = c->r->state;
	int ret;

	if (ws->stopped)
		return 0;
	ret = mig_state_warm_mark(st, c->vm->name, MIG_WARM_STOP_STARTED, now());
	if (ret)
		return ret;
	set_step(c, NULL, 0, "cutover: stop_command");
	mig_view_event(c->r, c->vm->name, "cutover: running the stop_command");
	mig_state_step(st, c->vm->name, "stop source", "running", c->vm->stop_command, 0, 0);
	ret = mig_stop_source(c->vm);
	mig_state_step(st, c->vm->name, "stop source", ret ? "failed" : "done",
		       ret ? err_get() : c->vm->stop_command, 0, 0);
	if (ret)
		return ret;
	return mig_state_warm_mark(st, c->vm->name, MIG_WARM_STOPPED, now());
}

int mig_warm_job(struct mig_run *r, struct mig_job *j)
{
	struct warm_ctx c = { .r = r, .j = j, .vm = &r->plan->vms[j->vm] };
	struct mig_warm_state ws;
	int ret;

	ret = mig_state_pass_interrupted(r->state, c.vm->name);
	if (!ret)
		ret = mig_state_warm_get(r->state, c.vm->name, &ws);
	if (ret)
		return ret;
	c.pass = ws.next_pass;
	if (c.pass == 0)
		ret = record_first_copy(&c);
	if (!ret && !ws.stop_started && !ws.stopped)
		ret = passes_until_cutover(&c);
	if (!ret)
		ret = mig_state_warm_get(r->state, c.vm->name, &ws);
	if (!ret)
		ret = stop_source(&c, &ws);
	if (!ret && !ws.ready)
		ret = run_pass(&c, "final");
	if (!ret && !ws.ready)
		ret = mig_state_warm_mark(r->state, c.vm->name, MIG_WARM_READY, now());
	if (!ret && !mig_state_warm_get(r->state, c.vm->name, &ws))
		mig_view_event(r, c.vm->name, "cutover: disks ready, downtime %.1f s; verifying",
			       ws.ready - ws.stopped);
	for (int i = 0; !ret && i < c.vm->nb_disks; i++)
		ret = mig_disk_verify(r, j, i);
	return ret;
}
