/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * view.c - what a person (or a program) sees while a plan runs.
 *
 * On a terminal: one line per running job (VM, step, bytes, rate) and a total
 * line with the ETA, redrawn every second in place.  Elsewhere: one line per
 * event ("web01: done").  --progress=json: JSON lines, a "progress" object per
 * running job and a "total" every two seconds, and an "event" object per event.
 * -q: nothing.  The same thread samples the throughput for the report's chart
 * and rewrites the report files every ten seconds, so a report opened during the
 * run shows where it stands.
 */
#include "migrate/migrate.h"
#include "convert/progress.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_RATES 64

static double now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static bool live(const struct mig_run *r)
{
	return r->opts->view == MIG_VIEW_AUTO && isatty(STDOUT_FILENO);
}

void mig_view_event(struct mig_run *r, const char *vm, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (r->opts->view == MIG_VIEW_QUIET)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->opts->view == MIG_VIEW_JSON) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "type", json_object_new_string("event"));
		json_object_object_add(o, "time", json_object_new_double(now()));
		json_object_object_add(o, "vm", json_object_new_string(vm));
		json_object_object_add(o, "message", json_object_new_string(msg));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else if (!live(r)) {
		printf("%s: %s\n", vm, msg);
	}
	fflush(stdout);
}

static void human(double v, char *buf, size_t len)
{
	const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(buf, len, "%.1f %s", v, u[i]);
}

struct totals {
	int vms, done, failed, running;
};

static struct totals count(const struct mig_run *r)
{
	struct totals t = { 0 };

	for (int k = 0; k < r->nb_jobs; k++) {
		const struct mig_job *j = &r->jobs[k];

		if (j->kind != JOB_VM)
			continue;
		t.vms++;
		t.done += j->state == JOB_DONE;
		t.failed += j->state == JOB_FAILED;
	}
	for (int k = 0; k < r->nb_jobs; k++)
		t.running += r->jobs[k].state == JOB_RUNNING;
	return t;
}

/* One running job's line or JSON object (lock held). */
static void draw_job(const struct mig_run *r, const struct mig_job *j, double *last_done,
		     double dt)
{
	uint64_t done = progress_done(j->progress);
	double rate = dt > 0 && done >= *last_done ? (done - *last_done) / dt : 0;
	const char *vm = r->plan->vms[j->vm].name;
	char a[32], b[32], c[32];

	*last_done = (double)done;
	if (r->opts->view == MIG_VIEW_JSON) {
		printf("{\"type\": \"progress\", \"vm\": \"%s\", \"step\": \"%s\", \"done\": %llu, "
		       "\"total\": %llu, \"rate\": %.0f}\n", vm, j->step, (unsigned long long)done,
		       (unsigned long long)j->total, rate);
		return;
	}
	human((double)done, a, sizeof(a));
	human((double)j->total, b, sizeof(b));
	human(rate, c, sizeof(c));
	printf("\033[K%-20.20s %-12s %10s / %-10s %10s/s\n", vm, j->step[0] ? j->step : "convert",
	       a, b, c);
}

static void draw_total(const struct mig_run *r, double elapsed, double rate)
{
	struct totals t = count(r);
	double left = t.vms - t.done - t.failed, per_vm = t.done ? elapsed / t.done : 0;
	char w[32], rt[32];

	human((double)mig_bytes_written(r), w, sizeof(w));
	human(rate, rt, sizeof(rt));
	if (r->opts->view == MIG_VIEW_JSON) {
		printf("{\"type\": \"total\", \"vms\": %d, \"done\": %d, \"failed\": %d, "
		       "\"running\": %d, \"bytes_written\": %llu, \"rate\": %.0f, \"eta\": %.0f}\n",
		       t.vms, t.done, t.failed, t.running, (unsigned long long)mig_bytes_written(r),
		       rate, per_vm * left);
		return;
	}
	printf("\033[Ktotal: %d/%d VMs done, %d failed, %d running; %s written, %s/s",
	       t.done, t.vms, t.failed, t.running, w, rt);
	if (t.done)
		printf(", ETA %02d:%02d:%02d", (int)(per_vm * left) / 3600,
		       (int)(per_vm * left) / 60 % 60, (int)(per_vm * left) % 60);
	printf("\n");
}

/* Redraw (or print) the running jobs and the total; returns the lines drawn. */
static int draw(struct mig_run *r, double *last, double dt, double *last_bytes)
{
	int lines = 1;
	double written = (double)mig_bytes_written(r);
	double rate = dt > 0 ? (written - *last_bytes) / dt : 0;

	*last_bytes = written;
	for (int k = 0, n = 0; k < r->nb_jobs && n < MAX_RATES; k++) {
		if (r->jobs[k].state != JOB_RUNNING)
			continue;
		draw_job(r, &r->jobs[k], &last[k % MAX_RATES], dt);
		lines++;
		n++;
	}
	draw_total(r, now() - r->started, rate);
	fflush(stdout);
	return lines;
}

static void refresh_report(struct mig_run *r)
{
	struct json_object *rep;

	if (!r->opts->report_json && !r->opts->report_html)
		return;
	rep = mig_report_json(r->plan, r->selected, &r->state, 1);
	if (rep)
		mig_report_write(r->opts, rep);
	json_object_put(rep);
}

void *mig_view_thread(void *opaque)
{
	struct mig_run *r = opaque;
	double last[MAX_RATES] = { 0 }, last_bytes = 0, t0 = now(), last_draw = t0;
	double last_sample = 0, last_report = t0;
	int drawn = 0;

	pthread_mutex_lock(&r->lock);
	while (!r->finished) {
		struct timespec ts;
		double t = now();

		if (t - last_sample >= 2 || t - last_report >= 10) {
			uint64_t written = mig_bytes_written(r);

			/* the database work runs without holding up the workers */
			pthread_mutex_unlock(&r->lock);
			if (t - last_sample >= 2) {
				mig_state_sample(r->state, t, written);
				last_sample = t;
			}
			if (t - last_report >= 10) {
				refresh_report(r);
				last_report = t;
			}
			pthread_mutex_lock(&r->lock);
		}
		if ((live(r) && (t - last_draw >= 1 || !drawn)) ||
		    (r->opts->view == MIG_VIEW_JSON && t - last_draw >= 2)) {
			if (drawn && live(r))
				printf("\033[%dA", drawn);
			drawn = draw(r, last, t - last_draw, &last_bytes);
			last_draw = t;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&r->cond, &r->lock, &ts);
	}
	mig_state_sample(r->state, now(), mig_bytes_written(r));
	if (live(r) || r->opts->view == MIG_VIEW_JSON) {
		if (drawn && live(r))
			printf("\033[%dA\033[J", drawn);
		draw(r, last, now() - last_draw, &last_bytes);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}
