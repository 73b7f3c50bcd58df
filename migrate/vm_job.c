/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vm_job.c - what a VM needs once its disks are copied and verified.  Mode copy:
 * nothing more (the VM is done, each disk shared with another VM named in the
 * steps), or for a warm VM its sync passes and cutover (warm.c).  Mode v2v: the
 * guest conversion of the verified copies (v2v_job.c).  Mode clone: the clones of
 * a template (clone_job.c); such a VM has no disks.
 */
#include "migrate/migrate.h"
#include "common/err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Steps for the disks this VM shares with the VM that copied them. */
static void record_shared(struct mig_run *r, const struct mig_vm *vm, int v)
{
	for (int i = 0; i < vm->nb_disks; i++) {
		char step[32], detail[512];

		if (vm->disks[i].owner == v)
			continue;
		snprintf(step, sizeof(step), "copy sd%c", 'a' + i);
		snprintf(detail, sizeof(detail), "%s, copied once by %s", vm->disks[i].output,
			 r->plan->vms[vm->disks[i].owner].name);
		mig_state_step(r->state, vm->name, step, "running", detail, 0, 0);
		mig_state_step(r->state, vm->name, step, "done", detail, 0, 0);
	}
}

int mig_vm_job(struct mig_run *r, struct mig_job *j)
{
	const struct mig_vm *vm = &r->plan->vms[j->vm];
	int ret;

	record_shared(r, vm, j->vm);
	if (vm->warm) {
		ret = mig_warm_job(r, j);
		if (ret)
			return ret;
	}
	if (vm->mode == MIG_MODE_V2V && (ret = mig_v2v_job(r, j)))
		return ret;
	if (vm->mode == MIG_MODE_CLONE && (ret = mig_clone_job(r, j)))
		return ret;
	ret = mig_state_vm_set(r->state, vm->name, "done", NULL);
	mig_view_event(r, vm->name, "done");
	return ret;
}
