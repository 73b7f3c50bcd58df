/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * clone_job.c - mode clone in a plan: a VM entry that stamps out one clone (named
 * like the entry) or `count` clones (named by name_pattern) of a template into
 * output_dir, through clone_run (clone/clone.h), as `imgtool clone` does.  It is
 * one step, "clone", in the state and the report; the plan's `jobs` bounds how
 * many clone entries run at once.
 *
 * clone_run never writes over a file and removes what it made when it fails.  A
 * run killed in the middle leaves files only the state knows are ours (the step
 * was recorded as running): the next run removes exactly the files this entry
 * would make, then clones again.
 */
#include "migrate/migrate.h"
#include "clone/clone.h"
#include "common/err.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct clone_params params_of(const struct mig_vm *vm, char *target, size_t len)
{
	struct clone_params p = {
		.template_image = vm->template_image, .template_format = vm->source_format,
		.kind = !vm->clone_kind ? CLONE_AUTO
		      : !strcmp(vm->clone_kind, "full") ? CLONE_FULL : CLONE_LINKED,
		.format = vm->output_format, .count = vm->count,
		.name_pattern = vm->name_pattern, .xml = vm->xml,
		.ops = vm->customize, .nops = (size_t)vm->nb_customize,
		.network = customize_wants_network(vm->customize, (size_t)vm->nb_customize),
		.force = vm->force,
	};

	if (vm->count) {
		snprintf(target, len, "%s", vm->output_dir);
	} else {
		/* the clone's file as clone_run names a folder's clones */
		const char *fmt = vm->output_format ? vm->output_format : "qcow2";

		snprintf(target, len, "%s/%s.%s", vm->output_dir, vm->name,
			 !strcmp(fmt, "raw") ? "img" : fmt);
		p.name = vm->name;
	}
	p.target = target;
	return p;
}

/* Remove what a killed run of this entry left: its clones' disks and XMLs. */
static void remove_leftovers(const struct mig_vm *vm, const char *target)
{
	for (int i = 1; i <= (vm->count ? vm->count : 1); i++) {
		char name[64], path[2 * PATH_MAX];
		const char *dot;

		if (!vm->count) {
			snprintf(path, sizeof(path), "%s", target);
		} else if (clone_name_format(vm->name_pattern, i, name, sizeof(name)) == 0) {
			const char *fmt = vm->output_format ? vm->output_format : "qcow2";

			snprintf(path, sizeof(path), "%s/%s.%s", target, name,
				 !strcmp(fmt, "raw") ? "img" : fmt);
		} else {
			err_clear();
			continue;
		}
		unlink(path);
		dot = strrchr(path, '.');
		if (dot && snprintf(path + (dot - path), sizeof(path) - (size_t)(dot - path),
				    ".xml") > 0)
			unlink(path);
	}
}

int mig_clone_job(struct mig_run *r, struct mig_job *j)
{
	const struct mig_vm *vm = &r->plan->vms[j->vm];
	char target[PATH_MAX], st[16], detail[PATH_MAX + 64];
	struct clone_params p = params_of(vm, target, sizeof(target));
	int ret = mig_state_step_get(r->state, vm->name, "clone", st);

	if (ret)
		return ret;
	if (strcmp(st, "none") && strcmp(st, "done"))
		remove_leftovers(vm, target);
	pthread_mutex_lock(&r->lock);
	snprintf(j->step, sizeof(j->step), "clone");
	pthread_mutex_unlock(&r->lock);
	mig_state_step(r->state, vm->name, "clone", "running", vm->template_image, 0, 0);
	ret = clone_run(&p);
	snprintf(detail, sizeof(detail), "%d clone%s of %s in %s", vm->count ? vm->count : 1,
		 vm->count > 1 ? "s" : "", vm->template_image, vm->output_dir);
	mig_state_step(r->state, vm->name, "clone", ret ? "failed" : "done",
		       ret ? err_get() : detail, 0, 0);
	return ret;
}
