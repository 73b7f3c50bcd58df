/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * report.c - the report of a plan, built from the plan and the state: the same
 * object serves `--report FILE.json`, the HTML report and `--status`, during a
 * run or after it, for one shard or merged over all of them (each VM is taken
 * from the shard database that has a record of it).
 *
 * Shape (docs/migrate-plan.md): {plan, generated, totals, vms: [{name, mode,
 * status, error, started, ended, steps: [...], disks: [{source, output, status,
 * size, source_checksum, output_checksum, converted_checksum, bytes_read,
 * bytes_written, resumed_from, ...}], warm: {passes: [...], stopped, ready,
 * downtime, ...} for a warm VM}], samples: [[time, bytes, shard], ...]}.
 */
#include "migrate/migrate.h"
#include "common/err.h"

#include <errno.h>
#include <json-c/json.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

struct totals {
	int vms, done, failed, running, pending;
	uint64_t bytes_read, bytes_written;
	double started, ended;
};

static struct json_object *str(const char *s)
{
	return s && *s ? json_object_new_string(s) : NULL;
}

static struct json_object *num(const char *s)
{
	return s ? json_object_new_int64(strtoll(s, NULL, 10)) : json_object_new_int64(0);
}

static struct json_object *when(const char *s)
{
	return s ? json_object_new_double(atof(s)) : NULL;
}

/* ---- one VM ---- */

static int step_row(void *opaque, int n, char **c)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", str(c[0]));
	json_object_object_add(o, "status", str(c[1]));
	json_object_object_add(o, "detail", str(c[2]));
	json_object_object_add(o, "started", when(c[3]));
	json_object_object_add(o, "ended", when(c[4]));
	json_object_object_add(o, "bytes_read", num(c[5]));
	json_object_object_add(o, "bytes_written", num(c[6]));
	json_object_array_add(opaque, o);
	return 0;
}

static int disk_row(void *opaque, int n, char **c)
{
	struct json_object *o = opaque;

	json_object_object_add(o, "status", str(c[0]));
	json_object_object_add(o, "size", num(c[1]));
	json_object_object_add(o, "source_checksum", str(c[2]));
	json_object_object_add(o, "output_checksum", str(c[3]));
	json_object_object_add(o, "converted_checksum", str(c[4]));
	json_object_object_add(o, "bytes_read", num(c[5]));
	json_object_object_add(o, "bytes_written", num(c[6]));
	json_object_object_add(o, "resumed_from", num(c[7]));
	json_object_object_add(o, "checkpoint", num(c[8]));
	json_object_object_add(o, "started", when(c[9]));
	json_object_object_add(o, "ended", when(c[10]));
	json_object_object_add(o, "error", str(c[11]));
	return 0;
}

struct vm_row {
	char status[16];
	char *error;
	double started, ended;
	bool found;
};

static int vm_row(void *opaque, int n, char **c)
{
	struct vm_row *v = opaque;

	v->found = true;
	snprintf(v->status, sizeof(v->status), "%s", c[0] ? c[0] : "pending");
	v->error = c[1] ? strdup(c[1]) : NULL;
	v->started = c[2] ? atof(c[2]) : 0;
	v->ended = c[3] ? atof(c[3]) : 0;
	return 0;
}

/* The state that knows this VM (the first one with a record), or states[0]. */
static struct mig_state *state_of(struct mig_state **states, int n, const char *name,
				  struct vm_row *v)
{
	char *sql = sqlite3_mprintf("SELECT status, error, started, ended FROM vms WHERE name = %Q",
				    name);

	for (int i = 0; sql && i < n; i++) {
		mig_state_query(states[i], sql, vm_row, v);
		if (v->found) {
			sqlite3_free(sql);
			return states[i];
		}
	}
	sqlite3_free(sql);
	snprintf(v->status, sizeof(v->status), "pending");
	return states[0];
}

static struct json_object *disks_of(struct mig_state *st, const struct mig_vm *vm,
				    struct totals *t, bool owner_only, const struct mig_plan *plan,
				    int v)
{
	struct json_object *a = json_object_new_array();

	for (int i = 0; i < vm->nb_disks; i++) {
		const struct mig_disk *d = &vm->disks[i];
		struct json_object *o = json_object_new_object();
		char *sql = sqlite3_mprintf("SELECT status, size, source_sum, output_sum, converted_sum,"
					    " bytes_read, bytes_written, resumed_from, checkpoint,"
					    " started, ended, error FROM disks WHERE source = %Q",
					    d->source);

		json_object_object_add(o, "source", json_object_new_string(d->source));
		json_object_object_add(o, "output", str(d->output));
		if (d->owner != v)
			json_object_object_add(o, "copied_by", str(plan->vms[d->owner].name));
		if (sql)
			mig_state_query(st, sql, disk_row, o);
		sqlite3_free(sql);
		if (!json_object_object_get_ex(o, "status", NULL))
			json_object_object_add(o, "status", json_object_new_string("pending"));
		if (d->owner == v || !owner_only) {
			struct json_object *x;

			if (json_object_object_get_ex(o, "bytes_read", &x))
				t->bytes_read += (uint64_t)json_object_get_int64(x);
			if (json_object_object_get_ex(o, "bytes_written", &x))
				t->bytes_written += (uint64_t)json_object_get_int64(x);
		}
		json_object_array_add(a, o);
	}
	return a;
}

/* ---- a warm VM's passes and downtime ---- */

static int pass_row(void *opaque, int n, char **c)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "n", num(c[0]));
	json_object_object_add(o, "kind", str(c[1]));
	json_object_object_add(o, "status", str(c[2]));
	json_object_object_add(o, "started", when(c[3]));
	json_object_object_add(o, "ended", when(c[4]));
	json_object_object_add(o, "duration", c[3] && c[4] ? json_object_new_double(atof(c[4]) -
									   atof(c[3])) : NULL);
	json_object_object_add(o, "bytes_read", num(c[5]));
	json_object_object_add(o, "bytes_written", num(c[6]));
	json_object_object_add(o, "bytes_zeroed", num(c[7]));
	json_object_array_add(opaque, o);
	return 0;
}

static int warm_row(void *opaque, int n, char **c)
{
	struct json_object *o = opaque;

	json_object_object_add(o, "cutover_requested", when(c[0]));
	json_object_object_add(o, "stop_started", when(c[1]));
	json_object_object_add(o, "stopped", when(c[2]));
	json_object_object_add(o, "ready", when(c[3]));
	/* the downtime: from the source's stop to the end of the final sync */
	if (c[2] && c[3])
		json_object_object_add(o, "downtime", json_object_new_double(atof(c[3]) - atof(c[2])));
	return 0;
}

static struct json_object *warm_object(struct mig_state *st, const struct mig_vm *vm)
{
	struct json_object *o = json_object_new_object(), *passes = json_object_new_array();
	char *sql = sqlite3_mprintf("SELECT n, kind, status, started, ended, bytes_read,"
				    " bytes_written, bytes_zeroed FROM passes WHERE vm = %Q ORDER BY n",
				    vm->name);

	json_object_object_add(o, "sync_interval", json_object_new_int64(vm->sync_interval));
	json_object_object_add(o, "cutover_at", str(vm->cutover_at_text));
	if (sql)
		mig_state_query(st, sql, pass_row, passes);
	sqlite3_free(sql);
	json_object_object_add(o, "passes", passes);
	sql = sqlite3_mprintf("SELECT cutover_requested, stop_started, stopped, ready FROM warm"
			      " WHERE vm = %Q", vm->name);
	if (sql)
		mig_state_query(st, sql, warm_row, o);
	sqlite3_free(sql);
	return o;
}

static struct json_object *vm_object(const struct mig_plan *plan, int v,
				     struct mig_state **states, int nb, struct totals *t)
{
	const struct mig_vm *vm = &plan->vms[v];
	struct json_object *o = json_object_new_object(), *steps = json_object_new_array();
	struct vm_row row = { 0 };
	struct mig_state *st = state_of(states, nb, vm->name, &row);
	char *sql = sqlite3_mprintf("SELECT step, status, detail, started, ended, bytes_read,"
				    " bytes_written FROM steps WHERE vm = %Q ORDER BY started",
				    vm->name);

	json_object_object_add(o, "name", json_object_new_string(vm->name));
	json_object_object_add(o, "mode", json_object_new_string(vm->mode == MIG_MODE_V2V ? "v2v"
											  : vm->mode == MIG_MODE_CLONE ? "clone"
											  : "copy"));
	json_object_object_add(o, "status", json_object_new_string(row.status));
	json_object_object_add(o, "error", str(row.error));
	json_object_object_add(o, "started", row.started ? json_object_new_double(row.started)
							  : NULL);
	json_object_object_add(o, "ended", row.ended ? json_object_new_double(row.ended) : NULL);
	if (sql)
		mig_state_query(st, sql, step_row, steps);
	sqlite3_free(sql);
	json_object_object_add(o, "steps", steps);
	json_object_object_add(o, "disks", disks_of(st, vm, t, true, plan, v));
	if (vm->warm)
		json_object_object_add(o, "warm", warm_object(st, vm));
	t->vms++;
	t->done += !strcmp(row.status, "done");
	t->failed += !strcmp(row.status, "failed");
	t->running += !strcmp(row.status, "running");
	t->pending += !strcmp(row.status, "pending");
	if (row.started && (!t->started || row.started < t->started))
		t->started = row.started;
	if (row.ended > t->ended)
		t->ended = row.ended;
	free(row.error);
	return o;
}

/* ---- samples and totals ---- */

struct sample_ctx {
	struct json_object *a;
	int shard;
};

static int sample_row(void *opaque, int n, char **c)
{
	struct sample_ctx *s = opaque;
	struct json_object *p = json_object_new_array();

	json_object_array_add(p, when(c[0]));
	json_object_array_add(p, num(c[1]));
	json_object_array_add(p, json_object_new_int(s->shard));
	json_object_array_add(s->a, p);
	return 0;
}

static struct json_object *totals_object(const struct totals *t)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "vms", json_object_new_int(t->vms));
	json_object_object_add(o, "done", json_object_new_int(t->done));
	json_object_object_add(o, "failed", json_object_new_int(t->failed));
	json_object_object_add(o, "running", json_object_new_int(t->running));
	json_object_object_add(o, "pending", json_object_new_int(t->pending));
	json_object_object_add(o, "bytes_read", json_object_new_int64((int64_t)t->bytes_read));
	json_object_object_add(o, "bytes_written", json_object_new_int64((int64_t)t->bytes_written));
	json_object_object_add(o, "started", t->started ? json_object_new_double(t->started) : NULL);
	json_object_object_add(o, "ended", t->ended ? json_object_new_double(t->ended) : NULL);
	return o;
}

struct json_object *mig_report_json(const struct mig_plan *plan, const bool *selected,
				    struct mig_state **states, int nb_states)
{
	struct json_object *rep = json_object_new_object(), *vms = json_object_new_array();
	struct json_object *samples = json_object_new_array(), *paths = json_object_new_array();
	struct totals t = { 0 };
	struct timeval tv;

	gettimeofday(&tv, NULL);
	for (int v = 0; v < plan->nb_vms; v++)
		if (!selected || selected[v])
			json_object_array_add(vms, vm_object(plan, v, states, nb_states, &t));
	for (int i = 0; i < nb_states; i++) {
		struct sample_ctx s = { samples, i };

		mig_state_query(states[i], "SELECT t, bytes FROM samples ORDER BY t", sample_row, &s);
		json_object_array_add(paths, json_object_new_string(mig_state_path(states[i])));
	}
	json_object_object_add(rep, "plan", json_object_new_string(plan->path));
	json_object_object_add(rep, "generated", json_object_new_double((double)tv.tv_sec));
	json_object_object_add(rep, "state", paths);
	json_object_object_add(rep, "totals", totals_object(&t));
	json_object_object_add(rep, "vms", vms);
	json_object_object_add(rep, "samples", samples);
	return rep;
}

/* Write text to path through a temporary file and a rename: a report being read
 * (a browser refreshing it) is never half written. */
static int write_atomic(const char *path, const char *text)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	f = fopen(tmp, "w");
	if (!f)
		return err_set(-errno, path, "cannot write the report: %s", strerror(errno));
	fputs(text, f);
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		int e = errno;

		unlink(tmp);
		return err_set(-e, path, "cannot write the report: %s", strerror(e));
	}
	return 0;
}

int mig_report_write(const struct mig_options *o, struct json_object *report)
{
	int ret = 0;

	if (o->report_json)
		ret = write_atomic(o->report_json,
				   json_object_to_json_string_ext(report, JSON_C_TO_STRING_PRETTY));
	if (!ret && o->report_html)
		ret = mig_report_html(report, o->report_html);
	return ret;
}

int mig_report_html_write(const char *path, const char *html)
{
	return write_atomic(path, html);
}
