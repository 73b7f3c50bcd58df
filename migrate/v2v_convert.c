/*
 * v2v_convert.c - mode v2v: convert the guest of a VM whose disks are copied and
 * verified.
 */
#include "migrate/migrate.h"
#include "common/err.h"

#include <errno.h>

int mig_v2v_convert(struct mig_run *r, struct mig_job *j)
{
	return err_set(-ENOTSUP, r->plan->vms[j->vm].name, "mode v2v: not wired yet");
}
