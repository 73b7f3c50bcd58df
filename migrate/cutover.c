/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cutover.c - `imgtool migrate --cutover NAME,...|--all PLAN`: ask for the
 * cutover of warm VMs (warm.c).  The request is a time written to the VM's
 * state (its shard's database, opened beside the running holder without taking
 * it), so it reaches the migrate that runs the plan now, or the next one if none
 * does: the command returns at once and the running migrate stops the source,
 * runs the final sync and reports the downtime.
 */
#include "migrate/migrate.h"
#include "common/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>

static double now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* Which VMs: the named ones (each must be warm), or every selected warm VM. */
static int pick(const struct mig_plan *plan, const struct mig_options *o, const char *names,
		bool *picked, int *count)
{
	int ret = names ? mig_check_names(plan, names, "--cutover") : mig_select(plan, o, picked);

	*count = 0;
	for (int v = 0; !ret && v < plan->nb_vms; v++) {
		const struct mig_vm *vm = &plan->vms[v];

		if (names)
			picked[v] = mig_name_in_list(names, vm->name);
		if (picked[v] && !vm->warm && names)
			return err_set(-EINVAL, plan->path, "--cutover: VM '%s' is not warm (no "
				       "warm: true in the plan)", vm->name);
		picked[v] = picked[v] && vm->warm;
		*count += picked[v];
	}
	if (!ret && !*count)
		ret = err_set(-EINVAL, plan->path, "--cutover --all: no warm VM in the plan");
	return ret;
}

/* Write the request of VM v into its shard's state. */
static int request(const struct mig_plan *plan, const struct mig_options *o, int v, int shard)
{
	struct mig_state *st;
	int ret = mig_state_open_control(mig_state_dir(plan, o), shard, o->nshards, &st);

	if (ret)
		return ret;
	ret = mig_state_warm_mark(st, plan->vms[v].name, MIG_WARM_CUTOVER, now());
	mig_state_close(st);
	return ret;
}

int mig_cutover(const struct mig_plan *plan, const struct mig_options *o, const char *names)
{
	bool *picked = calloc((size_t)plan->nb_vms + 1, sizeof(bool));
	int *shard = calloc((size_t)plan->nb_vms + 1, sizeof(int));
	int count = 0, ret;

	ret = picked && shard ? 0 : err_set(-ENOMEM, plan->path, "out of memory");
	if (!ret)
		ret = pick(plan, o, names, picked, &count);
	if (!ret)
		ret = mig_shard_map(plan, o->nshards, shard);
	for (int v = 0; !ret && v < plan->nb_vms; v++) {
		if (!picked[v])
			continue;
		ret = request(plan, o, v, o->nshards > 1 ? shard[v] : 0);
		if (!ret)
			printf("%s: cutover requested\n", plan->vms[v].name);
	}
	free(picked);
	free(shard);
	if (ret) {
		fprintf(stderr, "imgtool: migrate: %s\n", err_get());
		return MIG_EXIT_NOSTART;
	}
	return MIG_EXIT_OK;
}
