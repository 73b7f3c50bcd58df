/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * v2v_report.c - the record of a conversion: each step with its duration and
 * outcome, each change made to the guest with its before and after, warnings and
 * facts (guest OS, outputs).  The human output is one line per step as it ends;
 * --report FILE and --output=json write the whole record as JSON, so that an
 * operator can see exactly what was changed.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "v2v/v2v.h"

struct v2v_report {
	struct json_object *steps, *changes, *warnings, *facts;
	const char *step;         /* the step running (a string owned by the caller) */
	char step_name[64];
	double step_t0, t0;
	bool quiet;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct v2v_report *v2v_report_new(void)
{
	struct v2v_report *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->steps = json_object_new_array();
	r->changes = json_object_new_array();
	r->warnings = json_object_new_array();
	r->facts = json_object_new_object();
	r->t0 = now_s();
	return r;
}

void v2v_report_free(struct v2v_report *r)
{
	if (!r)
		return;
	json_object_put(r->steps);
	json_object_put(r->changes);
	json_object_put(r->warnings);
	json_object_put(r->facts);
	free(r);
}

void v2v_report_set_quiet(struct v2v_report *r, bool quiet)
{
	r->quiet = quiet;
}

void v2v_step_begin(struct v2v_report *r, const char *name)
{
	snprintf(r->step_name, sizeof(r->step_name), "%s", name);
	r->step = r->step_name;
	r->step_t0 = now_s();
}

void v2v_step_end(struct v2v_report *r, int ret, const char *fmt, ...)
{
	char detail[512] = "";
	double t = now_s() - r->step_t0;
	struct json_object *s = json_object_new_object();
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	json_object_object_add(s, "step", json_object_new_string(r->step_name));
	json_object_object_add(s, "seconds", json_object_new_double(t));
	json_object_object_add(s, "result", json_object_new_string(ret ? "failed" : "ok"));
	if (ret)
		json_object_object_add(s, "error", json_object_new_string(err_get()));
	if (*detail)
		json_object_object_add(s, "detail", json_object_new_string(detail));
	json_object_array_add(r->steps, s);
	if (!r->quiet)
		printf("[%7.1fs] %-22s %s%s\n", now_s() - r->t0, r->step_name,
		       ret ? "FAILED: " : "", ret ? err_get() : detail);
	fflush(stdout);
	r->step = NULL;
}

void v2v_change(struct v2v_report *r, const char *file, const char *what,
		const char *before, const char *after)
{
	struct json_object *c = json_object_new_object();

	json_object_object_add(c, "step", json_object_new_string(r->step ? r->step : ""));
	json_object_object_add(c, "file", file ? json_object_new_string(file) : NULL);
	json_object_object_add(c, "what", json_object_new_string(what));
	json_object_object_add(c, "before", before ? json_object_new_string(before) : NULL);
	json_object_object_add(c, "after", after ? json_object_new_string(after) : NULL);
	json_object_array_add(r->changes, c);
}

void v2v_warn(struct v2v_report *r, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_array_add(r->warnings, json_object_new_string(msg));
	if (!r->quiet)
		printf("           warning: %s\n", msg);
}

void v2v_report_set(struct v2v_report *r, const char *key, struct json_object *value)
{
	json_object_object_add(r->facts, key, value);
}

size_t v2v_report_nb_changes(const struct v2v_report *r)
{
	return json_object_array_length(r->changes);
}

static struct json_object *build(struct v2v_report *r, int ret)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "result", json_object_new_string(ret ? "failed" : "ok"));
	if (ret)
		json_object_object_add(o, "error", json_object_new_string(err_get()));
	json_object_object_add(o, "seconds", json_object_new_double(now_s() - r->t0));
	json_object_object_foreach(r->facts, k, v)
		json_object_object_add(o, k, json_object_get(v));
	json_object_object_add(o, "steps", json_object_get(r->steps));
	json_object_object_add(o, "changes", json_object_get(r->changes));
	json_object_object_add(o, "warnings", json_object_get(r->warnings));
	return o;
}

int v2v_report_write(struct v2v_report *r, const char *path, int ret)
{
	struct json_object *o = build(r, ret);
	int w = json_object_to_file_ext(path, o, JSON_C_TO_STRING_PRETTY |
					JSON_C_TO_STRING_NOSLASHESCAPE);

	json_object_put(o);
	if (w < 0)
		return err_set(-EIO, path, "cannot write the report: %s", json_util_get_last_err());
	return 0;
}

void v2v_report_print_json(struct v2v_report *r, int ret)
{
	struct json_object *o = build(r, ret);

	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						      JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}
