/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * status.c - `imgtool migrate --status PLAN`: where the plan stands, from the
 * state alone (no disk is opened), merged over every shard's database in the
 * state folder, during a run or after it.  The table has one line per VM; the
 * report files are written too when --report is given.
 */
#include "migrate/migrate.h"
#include "common/err.h"

#include <glob.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *get_str(struct json_object *o, const char *key)
{
	struct json_object *x;

	return json_object_object_get_ex(o, key, &x) && x ? json_object_get_string(x) : "";
}

/* The step a VM is in, or its last one. */
static const char *current_step(struct json_object *vm)
{
	struct json_object *steps, *last = NULL;

	json_object_object_get_ex(vm, "steps", &steps);
	for (size_t i = 0; steps && i < json_object_array_length(steps); i++) {
		struct json_object *s = json_object_array_get_idx(steps, i);

		if (!strcmp(get_str(s, "status"), "running"))
			return get_str(s, "name");
		last = s;
	}
	return last ? get_str(last, "name") : "-";
}

static void print_table(struct json_object *rep)
{
	struct json_object *vms, *t;

	json_object_object_get_ex(rep, "vms", &vms);
	printf("%-24s %-8s %-10s %-14s %s\n", "VM", "MODE", "STATUS", "STEP", "ERROR");
	for (size_t i = 0; i < json_object_array_length(vms); i++) {
		struct json_object *vm = json_object_array_get_idx(vms, i);

		printf("%-24s %-8s %-10s %-14s %s\n", get_str(vm, "name"), get_str(vm, "mode"),
		       get_str(vm, "status"), current_step(vm), get_str(vm, "error"));
	}
	json_object_object_get_ex(rep, "totals", &t);
	printf("%s VMs: %s done, %s failed, %s running, %s pending\n", get_str(t, "vms"),
	       get_str(t, "done"), get_str(t, "failed"), get_str(t, "running"),
	       get_str(t, "pending"));
}

int mig_status(const struct mig_plan *plan, const struct mig_options *o)
{
	struct mig_state *states[1024];
	char pattern[4096];
	bool *selected = calloc((size_t)plan->nb_vms + 1, sizeof(bool));
	struct json_object *rep;
	int n = 0, rc = MIG_EXIT_OK;
	glob_t g;

	snprintf(pattern, sizeof(pattern), "%s/%s*.db", mig_state_dir(plan, o), MIG_STATE_FILE);
	if (!selected || mig_select(plan, o, selected) ||
	    glob(pattern, 0, NULL, &g) != 0) {
		if (selected && !err_get()[0])
			fprintf(stderr, "imgtool: migrate: %s: no state (the plan has not run)\n",
				mig_state_dir(plan, o));
		else
			fprintf(stderr, "imgtool: migrate: %s\n", err_get());
		free(selected);
		return MIG_EXIT_NOSTART;
	}
	for (size_t i = 0; i < g.gl_pathc && n < 1024; i++) {
		const char *dir = mig_state_dir(plan, o), *file = g.gl_pathv[i] + strlen(dir) + 1;
		int shard = 0, nshards = 0;

		if (sscanf(file, MIG_STATE_FILE "-%d-of-%d.db", &shard, &nshards) != 2)
			nshards = 0;
		if (mig_state_open(dir, shard, nshards, true, &states[n]) == 0)
			n++;
	}
	globfree(&g);
	rep = n ? mig_report_json(plan, o->nshards ? selected : NULL, states, n) : NULL;
	if (rep) {
		print_table(rep);
		if (mig_report_write(o, rep)) {
			fprintf(stderr, "imgtool: migrate: %s\n", err_get());
			rc = MIG_EXIT_NOSTART;
		}
	} else {
		fprintf(stderr, "imgtool: migrate: %s: cannot read the state\n",
			mig_state_dir(plan, o));
		rc = MIG_EXIT_NOSTART;
	}
	json_object_put(rep);
	for (int i = 0; i < n; i++)
		mig_state_close(states[i]);
	free(selected);
	return rc;
}
