/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * run.c - the scheduler of `imgtool migrate` (see migrate.h).
 *
 * `jobs` worker threads take the first runnable job in plan order: a disk job
 * when its source host and its target are under their limits, a VM job when all
 * its disks are verified.  A VM whose disk failed fails without running; nothing
 * else is affected.  Every transition is written to the state before it is acted
 * on, so a run killed at any instant resumes where it stood: VMs already done are
 * not touched, disks continue from their checkpoints.
 */
#include "migrate/migrate.h"
#include "common/err.h"
#include "convert/copy.h"
#include "convert/ratelimit.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

struct host_count {
	const char *key;
	int n;
};

struct sched {
	struct mig_run *r;
	int *deps;                /* VM job j: deps[j * MIG_MAX_DISKS + i] disk jobs */
	int *nb_deps;
	struct host_count *sources, *targets;
	int nb_sources, nb_targets;
	bool *vm_started;
};

static double now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static const struct mig_disk *job_disk(const struct mig_run *r, const struct mig_job *j)
{
	return &r->plan->vms[j->vm].disks[j->disk];
}

/* ---- building the jobs ---- */

static int find_disk_job(const struct mig_run *r, const char *output)
{
	for (int k = 0; k < r->nb_jobs; k++)
		if (r->jobs[k].kind == JOB_DISK && !strcmp(job_disk(r, &r->jobs[k])->output, output))
			return k;
	return -1;
}

/* The owner's index of a disk shared with VM v (the owner's own disk record). */
static int owner_disk_index(const struct mig_plan *plan, const struct mig_disk *d)
{
	const struct mig_vm *o = &plan->vms[d->owner];

	for (int i = 0; i < o->nb_disks; i++)
		if (!strcmp(o->disks[i].output, d->output))
			return i;
	return -1;
}

static int add_vm_jobs(struct sched *s, int v)
{
	struct mig_run *r = s->r;
	const struct mig_vm *vm = &r->plan->vms[v];
	int deps[MIG_MAX_DISKS], vj;

	for (int i = 0; i < vm->nb_disks; i++) {
		const struct mig_disk *d = &vm->disks[i];
		int k = find_disk_job(r, d->output);

		if (k < 0) {
			k = r->nb_jobs++;
			r->jobs[k] = (struct mig_job){ .kind = JOB_DISK, .vm = d->owner,
						       .disk = owner_disk_index(r->plan, d) };
		}
		deps[i] = k;
	}
	vj = r->nb_jobs++;
	r->jobs[vj] = (struct mig_job){ .kind = JOB_VM, .vm = v };
	for (int i = 0; i < vm->nb_disks; i++)
		s->deps[vj * MIG_MAX_DISKS + i] = deps[i];
	s->nb_deps[vj] = vm->nb_disks;
	return 0;
}

static int build_jobs(struct sched *s)
{
	struct mig_run *r = s->r;
	int cap = 0;

	for (int v = 0; v < r->plan->nb_vms; v++)
		if (r->selected[v])
			cap += r->plan->vms[v].nb_disks + 1;
	r->jobs = calloc((size_t)cap + 1, sizeof(*r->jobs));
	s->deps = calloc(((size_t)cap + 1) * MIG_MAX_DISKS, sizeof(int));
	s->nb_deps = calloc((size_t)cap + 1, sizeof(int));
	s->sources = calloc((size_t)cap + 1, sizeof(*s->sources));
	s->targets = calloc((size_t)cap + 1, sizeof(*s->targets));
	s->vm_started = calloc((size_t)r->plan->nb_vms + 1, sizeof(bool));
	if (!r->jobs || !s->deps || !s->nb_deps || !s->sources || !s->targets || !s->vm_started)
		return err_set(-ENOMEM, r->plan->path, "out of memory");
	for (int v = 0; v < r->plan->nb_vms; v++) {
		struct mig_vm_state vs;
		int ret;

		if (!r->selected[v])
			continue;
		ret = mig_state_vm_get(r->state, r->plan->vms[v].name, &vs);
		if (ret)
			return ret;
		if (!strcmp(vs.status, "done")) {
			/* a disk it owns may still run for a VM sharing it: that must
			 * not mark this VM running again (its VM job is not run) */
			s->vm_started[v] = true;
			mig_view_event(r, r->plan->vms[v].name, "done in an earlier run");
			continue;
		}
		add_vm_jobs(s, v);
	}
	return 0;
}

/* ---- limits ---- */

static struct host_count *counter(struct host_count *c, int *n, const char *key)
{
	for (int i = 0; i < *n; i++)
		if (!strcmp(c[i].key, key))
			return &c[i];
	c[*n] = (struct host_count){ key, 0 };
	return &c[(*n)++];
}

static bool under_limits(struct sched *s, const struct mig_job *j)
{
	const struct mig_limits *l = &s->r->plan->limits;
	const struct mig_disk *d = job_disk(s->r, j);

	if (l->per_source_host &&
	    counter(s->sources, &s->nb_sources, d->source_host)->n >= l->per_source_host)
		return false;
	if (l->per_target && counter(s->targets, &s->nb_targets, d->target)->n >= l->per_target)
		return false;
	return true;
}

static void count_transfer(struct sched *s, const struct mig_job *j, int delta)
{
	const struct mig_disk *d = job_disk(s->r, j);

	counter(s->sources, &s->nb_sources, d->source_host)->n += delta;
	counter(s->targets, &s->nb_targets, d->target)->n += delta;
}

/* ---- picking a job (lock held) ---- */

static void vm_fail(struct sched *s, struct mig_job *j, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void vm_fail(struct sched *s, struct mig_job *j, const char *fmt, ...)
{
	const char *name = s->r->plan->vms[j->vm].name;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->error, sizeof(j->error), fmt, ap);
	va_end(ap);
	j->state = JOB_FAILED;
	mig_state_vm_set(s->r->state, name, "failed", j->error);
	mig_view_event(s->r, name, "failed: %s", j->error);
}

/* A VM job is ready when its disks are verified; a failed disk fails it. */
static bool vm_ready(struct sched *s, int k)
{
	struct mig_job *j = &s->r->jobs[k];

	for (int i = 0; i < s->nb_deps[k]; i++) {
		const struct mig_job *d = &s->r->jobs[s->deps[k * MIG_MAX_DISKS + i]];

		if (d->state == JOB_FAILED) {
			vm_fail(s, j, "disk sd%c (%s): %s", 'a' + i, job_disk(s->r, d)->source,
				d->error);
			return false;
		}
		if (d->state != JOB_DONE)
			return false;
	}
	return true;
}

static struct mig_job *next_job(struct sched *s, bool *left)
{
	struct mig_run *r = s->r;

	*left = false;
	for (int k = 0; k < r->nb_jobs; k++) {
		struct mig_job *j = &r->jobs[k];

		if (j->state != JOB_PENDING)
			continue;
		if (j->kind == JOB_VM ? !vm_ready(s, k) : !under_limits(s, j)) {
			*left |= j->state == JOB_PENDING;
			continue;
		}
		return j;
	}
	return NULL;
}

static void mark_vm_started(struct sched *s, const struct mig_job *j)
{
	if (s->vm_started[j->vm])
		return;
	s->vm_started[j->vm] = true;
	mig_state_vm_set(s->r->state, s->r->plan->vms[j->vm].name, "running", NULL);
}

static int run_job(struct sched *s, struct mig_job *j)
{
	int ret = j->kind == JOB_DISK ? mig_disk_job(s->r, j) : mig_vm_job(s->r, j);

	if (ret)
		snprintf(j->error, sizeof(j->error), "%s", err_get());
	err_clear();
	return ret;
}

static void *worker(void *opaque)
{
	struct sched *s = opaque;
	struct mig_run *r = s->r;
	bool left;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		struct mig_job *j = next_job(s, &left);
		int ret;

		if (!j) {
			if (!left && !r->running)
				break;
			pthread_cond_wait(&r->cond, &r->lock);
			continue;
		}
		j->state = JOB_RUNNING;
		r->running++;
		mark_vm_started(s, j);
		if (j->kind == JOB_DISK)
			count_transfer(s, j, +1);
		pthread_mutex_unlock(&r->lock);
		ret = run_job(s, j);
		pthread_mutex_lock(&r->lock);
		if (j->kind == JOB_DISK)
			count_transfer(s, j, -1);
		r->running--;
		j->state = ret ? JOB_FAILED : JOB_DONE;
		if (ret && j->kind == JOB_VM) {
			char msg[sizeof(j->error)];

			/* vm_fail writes j->error: not from itself */
			snprintf(msg, sizeof(msg), "%s", j->error);
			vm_fail(s, j, "%s", msg);
		}
		pthread_cond_broadcast(&r->cond);
	}
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

uint64_t mig_bytes_written(const struct mig_run *r)
{
	uint64_t n = r->bytes_written;

	for (int k = 0; k < r->nb_jobs; k++)
		if (r->jobs[k].stats)
			n += r->jobs[k].stats->bytes_written;
	return n;
}

/* ---- the run ---- */

static int count_failed(const struct mig_run *r, bool print)
{
	int failed = 0;

	for (int k = 0; k < r->nb_jobs; k++) {
		const struct mig_job *j = &r->jobs[k];

		if (j->kind != JOB_VM || j->state != JOB_FAILED)
			continue;
		failed++;
		if (print)
			fprintf(stderr, "imgtool: migrate: VM %s failed: %s\n",
				r->plan->vms[j->vm].name, j->error);
	}
	return failed;
}

static int write_reports(struct mig_run *r)
{
	struct json_object *rep;
	int ret;

	if (!r->opts->report_json && !r->opts->report_html)
		return 0;
	rep = mig_report_json(r->plan, r->selected, &r->state, 1);
	ret = rep ? mig_report_write(r->opts, rep) : -ENOMEM;
	json_object_put(rep);
	return ret;
}

static void free_sched(struct sched *s)
{
	free(s->deps);
	free(s->nb_deps);
	free(s->sources);
	free(s->targets);
	free(s->vm_started);
}

static int start(struct mig_run *r, const struct mig_plan *plan, const struct mig_options *o)
{
	r->plan = plan;
	r->opts = o;
	r->started = now();
	r->selected = calloc((size_t)plan->nb_vms + 1, sizeof(bool));
	if (!r->selected)
		return err_set(-ENOMEM, plan->path, "out of memory");
	if (mig_select(plan, o, r->selected))
		return -EINVAL;
	if (plan->limits.bandwidth && !(r->ratelimit = ratelimit_new(plan->limits.bandwidth)))
		return err_set(-ENOMEM, plan->path, "out of memory");
	return mig_state_open(mig_state_dir(plan, o), o->shard, o->nshards, false, &r->state);
}

int mig_run(const struct mig_plan *plan, const struct mig_options *o)
{
	struct mig_run r = { 0 };
	struct sched s = { .r = &r };
	pthread_t tids[256], view;
	int n = 0, failed, rc;
	bool viewing;

	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cond, NULL);
	if (start(&r, plan, o) || build_jobs(&s)) {
		fprintf(stderr, "imgtool: migrate: %s\n", err_get());
		rc = MIG_EXIT_NOSTART;
		goto out;
	}
	viewing = !pthread_create(&view, NULL, mig_view_thread, &r);
	for (int i = 1; i < plan->limits.jobs && i < 256; i++)
		if (!pthread_create(&tids[n], NULL, worker, &s))
			n++;
	worker(&s);
	for (int i = 0; i < n; i++)
		pthread_join(tids[i], NULL);
	pthread_mutex_lock(&r.lock);
	r.finished = true;
	pthread_cond_broadcast(&r.cond);
	pthread_mutex_unlock(&r.lock);
	if (viewing)
		pthread_join(view, NULL);
	failed = count_failed(&r, true);
	if (write_reports(&r))
		fprintf(stderr, "imgtool: migrate: %s\n", err_get());
	rc = failed ? MIG_EXIT_FAILED : MIG_EXIT_OK;
out:
	mig_state_close(r.state);
	ratelimit_free(r.ratelimit);
	free_sched(&s);
	free(r.jobs);
	free(r.selected);
	pthread_cond_destroy(&r.cond);
	pthread_mutex_destroy(&r.lock);
	return rc;
}

int mig_dry_run(const struct mig_plan *plan, const struct mig_options *o)
{
	bool *selected = calloc((size_t)plan->nb_vms + 1, sizeof(bool));
	int *shard = calloc((size_t)plan->nb_vms + 1, sizeof(int)), count = 0;

	if (!selected || !shard || mig_select(plan, o, selected) ||
	    mig_shard_map(plan, o->nshards, shard)) {
		fprintf(stderr, "imgtool: migrate: %s\n", err_get());
		free(selected);
		free(shard);
		return MIG_EXIT_NOSTART;
	}
	printf("plan %s: %d VMs, jobs %d, per_source_host %d, per_target %d, bandwidth %llu MiB/s\n",
	       plan->path, plan->nb_vms, plan->limits.jobs, plan->limits.per_source_host,
	       plan->limits.per_target, (unsigned long long)(plan->limits.bandwidth >> 20));
	for (int v = 0; v < plan->nb_vms; v++) {
		const struct mig_vm *vm = &plan->vms[v];

		if (!selected[v])
			continue;
		count++;
		if (vm->mode == MIG_MODE_CLONE)
			printf("%s: mode clone, %d %s clone%s of %s into %s", vm->name,
			       vm->count ? vm->count : 1, vm->clone_kind ? vm->clone_kind : "auto",
			       vm->count > 1 ? "s" : "", vm->template_image, vm->output_dir);
		else
			printf("%s: mode %s, input %s, output %s", vm->name,
			       vm->mode == MIG_MODE_V2V ? "v2v" : "copy", vm->input, vm->output);
		if (o->nshards > 1)
			printf(", shard %d/%d", shard[v], o->nshards);
		printf("\n");
		for (int i = 0; i < vm->nb_disks; i++) {
			const struct mig_disk *d = &vm->disks[i];

			if (d->owner == v)
				printf("  sd%c: copy %s -> %s (verify%s)\n", 'a' + i, d->source, d->output,
				       vm->warm ? " after the cutover" : "");
			else
				printf("  sd%c: %s, copied once by %s\n", 'a' + i, d->output,
				       plan->vms[d->owner].name);
		}
		if (vm->source)
			printf("  source %s: %d disk%s\n", vm->source, vm->nb_disks,
			       vm->nb_disks == 1 ? "" : "s");
		if (vm->warm)
			printf("  warm: sync every %ld s until the cutover (--cutover%s%s), then "
			       "stop_command, final sync\n", vm->sync_interval,
			       vm->cutover_at_text ? " or at " : "",
			       vm->cutover_at_text ? vm->cutover_at_text : "");
		if (vm->mode == MIG_MODE_V2V)
			printf("  convert the guest%s%s, write the %s output\n",
			       vm->nb_customize ? ", customize" : "", vm->sysprep ? ", sysprep" : "",
			       vm->output);
	}
	printf("%d VM%s selected\n", count, count == 1 ? "" : "s");
	free(selected);
	free(shard);
	return MIG_EXIT_OK;
}
