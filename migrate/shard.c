/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * shard.c - which VMs this process runs: the I-th of N disjoint parts of the plan
 * (--shard I/N, for a Slurm job array or a Kubernetes Indexed Job), then --only
 * and --skip.
 *
 * VMs that share a source disk must run in one shard (the disk is copied once,
 * by its owner), so the plan is cut into groups joined by shared disks, and the
 * groups are dealt round-robin in plan order.  Every shard computes the same
 * answer from the same plan: no coordination is needed.
 */
#include "migrate/migrate.h"
#include "common/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int find(int *parent, int v)
{
	while (parent[v] != v) {
		parent[v] = parent[parent[v]];
		v = parent[v];
	}
	return v;
}

/* Union-find over "shares a disk with": every VM joins its disks' owners; the
 * root kept is the lowest VM, so a group is named by its first VM. */
static void join_groups(const struct mig_plan *plan, int *parent)
{
	for (int v = 0; v < plan->nb_vms; v++)
		parent[v] = v;
	for (int v = 0; v < plan->nb_vms; v++)
		for (int i = 0; i < plan->vms[v].nb_disks; i++) {
			int a = find(parent, v), b = find(parent, plan->vms[v].disks[i].owner);

			if (a != b)
				parent[a > b ? a : b] = a < b ? a : b;
		}
}

int mig_shard_map(const struct mig_plan *plan, int n, int *shard_of)
{
	int *parent = calloc((size_t)plan->nb_vms + 1, sizeof(int));
	int *rank = calloc((size_t)plan->nb_vms + 1, sizeof(int)), next = 0;

	if (!parent || !rank) {
		free(parent);
		free(rank);
		return err_set(-ENOMEM, plan->path, "out of memory");
	}
	join_groups(plan, parent);
	/* a group's rank is the number of groups whose first VM comes before its */
	for (int v = 0; v < plan->nb_vms; v++) {
		int g = find(parent, v);

		rank[v] = g == v ? next++ : rank[g];
		shard_of[v] = n > 1 ? rank[v] % n : 0;
	}
	free(parent);
	free(rank);
	return 0;
}

bool mig_name_in_list(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p && *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
		if (strcspn(p, ",") == n && !strncmp(p, name, n))
			return true;
	}
	return false;
}

int mig_check_names(const struct mig_plan *plan, const char *list, const char *opt)
{
	char name[256];

	for (const char *p = list; p && *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(p, ","), p);
		if (*name && mig_plan_find(plan, name) < 0)
			return err_set(-EINVAL, plan->path, "%s: no VM named '%s' in the plan", opt,
				       name);
	}
	return 0;
}

int mig_select(const struct mig_plan *plan, const struct mig_options *o, bool *selected)
{
	int ret = mig_check_names(plan, o->only, "--only");

	if (!ret)
		ret = mig_check_names(plan, o->skip, "--skip");
	if (ret)
		return ret;
	int *shard = calloc((size_t)plan->nb_vms + 1, sizeof(int));

	if (!shard)
		return err_set(-ENOMEM, plan->path, "out of memory");
	ret = mig_shard_map(plan, o->nshards, shard);
	for (int v = 0; !ret && v < plan->nb_vms; v++)
		selected[v] = (o->nshards <= 1 || shard[v] == o->shard) &&
			      (!o->only || mig_name_in_list(o->only, plan->vms[v].name)) &&
			      !(o->skip && mig_name_in_list(o->skip, plan->vms[v].name));
	free(shard);
	return ret;
}

const char *mig_state_dir(const struct mig_plan *plan, const struct mig_options *o)
{
	return o->state_dir ? o->state_dir : plan->vms[0].output_dir;
}
