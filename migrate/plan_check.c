/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * plan_check.c - the checks across VMs, and where each disk goes.
 *
 * A disk's output is OUTPUT_DIR/NAME-sdX.FMT, as `imgtool v2v` names it (for an
 * rbd: output_dir, rbd:POOL/NAME-sdX: an RBD image has no extension).  A source
 * named by several VMs (a shared data disk) is copied once, by the first VM that
 * names it; the others point at the same output.  Sources and targets are grouped
 * by host for the per-host limits.
 */
#include "migrate/plan.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool is_url(const char *s)
{
	return strstr(s, "://") || !strncmp(s, "rbd:", 4);
}

char *mig_url_host(const char *name)
{
	const char *p = strstr(name, "://"), *end;

	if (!strncmp(name, "rbd:", 4) && !p) {
		/* rbd:POOL/IMAGE[:options]: the cluster, named by its pool */
		end = name + 4 + strcspn(name + 4, "/:");
		return strndup(name, (size_t)(end - name));
	}
	if (!p)
		return strdup("localhost");
	p += 3;
	if (strchr(p, '@') && strchr(p, '@') < p + strcspn(p, "/"))
		p = strchr(p, '@') + 1;   /* ssh://user@host */
	end = p + strcspn(p, "/?");
	return strndup(p, (size_t)(end - p));
}

/* The same source however it is spelled: a local path through realpath. */
static char *source_key(const char *source)
{
	char buf[PATH_MAX];

	if (!is_url(source) && realpath(source, buf))
		return strdup(buf);
	return strdup(source);
}

static char *output_name(const struct mig_vm *vm, int i)
{
	const char *dir = vm->output_dir;
	size_t n = strlen(dir);
	char *out = NULL;
	int r;

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (!strncmp(dir, "rbd:", 4) && !strstr(dir, "://"))
		r = asprintf(&out, "%.*s/%s-sd%c", (int)n, dir, vm->name, 'a' + i);
	else
		r = asprintf(&out, "%.*s/%s-sd%c.%s", (int)n, dir, vm->name, 'a' + i,
			     vm->output_format);
	return r < 0 ? NULL : out;
}

static void check_readable(const struct mig_plan *plan, const char *source, struct mig_pos pos,
			   struct strbuf *errors)
{
	if (is_url(source) || access(source, R_OK) == 0)
		return;
	strbuf_printf(errors, "%s:%d:%d: cannot read source '%s': %m\n", plan->path, pos.line,
		      pos.column, source);
}

/* Every disk of the plan, for sorting by a name. */
struct disk_ref {
	const char *name;         /* the source key or the output */
	int order;                /* plan order: VM * MIG_MAX_DISKS + disk */
};

static int cmp_ref(const void *a, const void *b)
{
	const struct disk_ref *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->order > y->order) - (x->order < y->order);
}

static struct mig_disk *disk_at(struct mig_plan *plan, int order)
{
	return &plan->vms[order / MIG_MAX_DISKS].disks[order % MIG_MAX_DISKS];
}

static struct disk_ref *all_disks(const struct mig_plan *plan, int *n)
{
	struct disk_ref *r;
	int total = 0;

	for (int v = 0; v < plan->nb_vms; v++)
		total += plan->vms[v].nb_disks;
	r = calloc((size_t)total + 1, sizeof(*r));
	*n = 0;
	for (int v = 0; r && v < plan->nb_vms; v++)
		for (int i = 0; i < plan->vms[v].nb_disks; i++)
			r[(*n)++].order = v * MIG_MAX_DISKS + i;
	return r;
}

static bool vm_converts(const struct mig_plan *plan, int order)
{
	return plan->vms[order / MIG_MAX_DISKS].mode == MIG_MODE_V2V;
}

static bool vm_warm(const struct mig_plan *plan, int order)
{
	return plan->vms[order / MIG_MAX_DISKS].warm;
}

/* Name every disk; a source named again is owned by the first VM naming it (the
 * sort puts it first in its group). */
static void assign_outputs(struct mig_plan *plan, bool check_sources, struct strbuf *errors)
{
	char **keys;
	int n;
	struct disk_ref *r = all_disks(plan, &n);

	keys = calloc((size_t)n + 1, sizeof(*keys));
	for (int i = 0; r && keys && i < n; i++) {
		struct mig_vm *vm = &plan->vms[r[i].order / MIG_MAX_DISKS];
		struct mig_disk *d = disk_at(plan, r[i].order);

		keys[i] = source_key(d->source);
		r[i].name = keys[i] ? keys[i] : d->source;
		if (check_sources && !d->length)
			check_readable(plan, d->source, d->pos, errors);
		if (!d->format)
			d->format = vm->source_format ? strdup(vm->source_format) : NULL;
		d->source_host = mig_url_host(d->source);
		d->target = mig_url_host(vm->output_dir ? vm->output_dir : "");
	}
	if (r && keys)
		qsort(r, (size_t)n, sizeof(*r), cmp_ref);
	for (int i = 0, first = 0; r && keys && i < n; i++) {
		struct mig_disk *d = disk_at(plan, r[i].order);

		if (i == 0 || strcmp(r[i].name, r[first].name)) {
			const struct mig_vm *o;

			first = i;
			d->owner = r[i].order / MIG_MAX_DISKS;
			o = &plan->vms[d->owner];
			/* a VM with errors of its own (no name, no output_dir) gets no output */
			if (o->name && o->output_dir && o->output_format)
				d->output = output_name(o, r[i].order % MIG_MAX_DISKS);
			continue;
		}
		d->owner = r[first].order / MIG_MAX_DISKS;
		if (vm_converts(plan, r[i].order) || vm_converts(plan, r[first].order))
			strbuf_printf(errors, "%s:%d:%d: VM '%s' and VM '%s' share %s: a disk "
				      "converted by mode v2v cannot be shared\n", plan->path,
				      d->pos.line, d->pos.column, plan->vms[d->owner].name,
				      plan->vms[r[i].order / MIG_MAX_DISKS].name, d->source);
		/* a warm VM stops its source at its own cutover: a disk another VM
		 * also reads would change under it, or be stopped for it */
		else if (vm_warm(plan, r[i].order) || plan->vms[d->owner].warm)
			strbuf_printf(errors, "%s:%d:%d: %s is shared by VM '%s' and VM '%s'; a warm "
				      "VM's disks cannot be shared\n", plan->path, d->pos.line,
				      d->pos.column, d->source, plan->vms[d->owner].name,
				      plan->vms[r[i].order / MIG_MAX_DISKS].name);
		d->output = disk_at(plan, r[first].order)->output
			? strdup(disk_at(plan, r[first].order)->output) : NULL;
	}
	for (int i = 0; keys && i < n; i++)
		free(keys[i]);
	free(keys);
	free(r);
}

static int cmp_name(const void *key, const void *elem)
{
	return strcmp(key, ((const struct disk_ref *)elem)->name);
}

/* Two disks (not one shared source) writing one output, or a VM reading what
 * another VM writes. */
static void check_clashes(struct mig_plan *plan, bool check_sources, struct strbuf *errors)
{
	int n, m = 0;
	struct disk_ref *r = all_disks(plan, &n);

	for (int i = 0; r && i < n; i++) {
		struct mig_disk *d = disk_at(plan, r[i].order);

		if (d->output && d->owner == r[i].order / MIG_MAX_DISKS)
			r[m++] = (struct disk_ref){ d->output, r[i].order };
	}
	if (r)
		qsort(r, (size_t)m, sizeof(*r), cmp_ref);
	for (int i = 1; r && i < m; i++)
		if (!strcmp(r[i].name, r[i - 1].name)) {
			const struct mig_vm *a = &plan->vms[r[i - 1].order / MIG_MAX_DISKS];
			const struct mig_vm *b = &plan->vms[r[i].order / MIG_MAX_DISKS];

			strbuf_printf(errors, "%s:%d:%d: VM '%s' and VM '%s' both write %s\n",
				      plan->path, b->pos.line, b->pos.column, a->name, b->name,
				      r[i].name);
		}
	for (int v = 0; r && v < plan->nb_vms; v++) {
		const struct mig_vm *vm = &plan->vms[v];

		for (int i = 0; i < vm->nb_disks; i++) {
			const struct disk_ref *w = bsearch(vm->disks[i].source, r, (size_t)m,
							   sizeof(*r), cmp_name);

			if (w)
				strbuf_printf(errors, "%s:%d:%d: VM '%s' reads %s, which VM '%s' "
					      "writes\n", plan->path, vm->disks[i].pos.line,
					      vm->disks[i].pos.column, vm->name, vm->disks[i].source,
					      plan->vms[w->order / MIG_MAX_DISKS].name);
		}
		if (vm->source && check_sources)
			check_readable(plan, vm->source, vm->pos, errors);
		if (vm->template_image && check_sources)
			check_readable(plan, vm->template_image, vm->pos, errors);
		if (vm->xml && check_sources)
			check_readable(plan, vm->xml, vm->pos, errors);
	}
	free(r);
}

void mig_plan_check(struct mig_plan *plan, bool check_sources, struct strbuf *errors)
{
	assign_outputs(plan, check_sources, errors);
	check_clashes(plan, check_sources, errors);
}
