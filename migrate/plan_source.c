/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * plan_source.c - the disks of a VM whose plan names a .vmx or an OVA instead of
 * its disks (input vmx / ova, mode v2v), read from that source when the plan is
 * loaded, so that they are scheduled, limited, copied, verified and resumed as
 * listed disks are.  A disk stored inside an OVA's tar is read in place: it is
 * named ARCHIVE@OFFSET (the key of its record in the state) and keeps the window
 * (offset, length) that mig_disk_open() reads through.
 */
#include "migrate/plan.h"
#include "common/err.h"
#include "v2v/input/input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int take_disk(struct mig_disk *md, const struct v2v_disk *d)
{
	int r;

	if (d->offset || d->length)
		r = asprintf(&md->source, "%s@%llu", d->path, (unsigned long long)d->offset);
	else
		r = (md->source = strdup(d->path)) ? 0 : -1;
	md->format = d->format ? strdup(d->format) : NULL;
	md->offset = d->offset;
	md->length = d->length;
	return r < 0 ? -1 : 0;
}

static void read_vm_source(const struct mig_plan *plan, struct mig_vm *vm, struct strbuf *errors)
{
	const struct v2v_input_ops *in = v2v_input_find(vm->input);
	struct v2v_source s = { 0 };

	if (!in || in->open(vm->source, NULL, &s)) {
		strbuf_printf(errors, "%s:%d:%d: VM '%s': %s\n", plan->path, vm->pos.line,
			      vm->pos.column, vm->name, err_get());
		err_clear();
		return;
	}
	if (s.nb_disks < 1 || s.nb_disks > MIG_MAX_DISKS) {
		strbuf_printf(errors, "%s:%d:%d: VM '%s': %s has %d disks (1 to %d are "
			      "converted)\n", plan->path, vm->pos.line, vm->pos.column, vm->name,
			      vm->source, s.nb_disks, MIG_MAX_DISKS);
	} else if ((vm->disks = calloc((size_t)s.nb_disks, sizeof(*vm->disks)))) {
		for (int i = 0; i < s.nb_disks; i++) {
			vm->disks[i].pos = vm->pos;
			vm->nb_disks++;
			take_disk(&vm->disks[i], &s.disks[i]);
		}
	}
	v2v_source_free(&s);
}

void mig_plan_sources(struct mig_plan *plan, bool check_sources, struct strbuf *errors)
{
	for (int v = 0; check_sources && v < plan->nb_vms; v++) {
		struct mig_vm *vm = &plan->vms[v];

		if (vm->name && vm->input && strcmp(vm->input, "disk") && vm->source &&
		    !vm->nb_disks && access(vm->source, R_OK) == 0)
			read_vm_source(plan, vm, errors);
	}
}
