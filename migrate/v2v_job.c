/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * v2v_job.c - mode v2v in a plan: the guest conversion of a VM whose disks were
 * copied and verified by its disk jobs (disk_job.c).
 *
 * The conversion never works on the verified copies themselves: each copy gets a
 * qcow2 overlay (OUTPUT.convert.qcow2), the guest is converted on the overlays
 * (v2v_convert_prepared: inspect, convert, the VM's sysprep and customize, the
 * output's file naming the copies), and only when that succeeded are the
 * overlays committed into the copies.  So a failed or killed conversion leaves
 * the verified copies as they were, and the next run throws the overlays away
 * and converts again without copying anything again.
 *
 * Steps in the state: "convert" (running -> done: the overlays are whole, the
 * output's file written), "commit" (the overlays into the copies, then the
 * converted digests; a kill in the middle commits the same overlays again: they
 * are removed only once the step is done), and the output's finish step
 * (-o libvirt's "define").  The conversion's own report (every change, before
 * and after) is written beside the output as NAME.v2v.json.
 */
#include "migrate/migrate.h"
#include "clone/clone_int.h"
#include "common/err.h"
#include "convert/checksum.h"
#include "convert/commit.h"
#include "guest/sysprep.h"
#include "v2v/output/output.h"
#include "v2v/v2v.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct conv {
	struct mig_run *r;
	struct mig_job *j;
	const struct mig_vm *vm;
	struct v2v_source src;    /* the source's facts (memory, NICs...) */
	struct v2v_params p;
	bool *sysprep;            /* the VM's sysprep operations, or NULL */
	char *work[MIG_MAX_DISKS];
	char *disks[MIG_MAX_DISKS];
	char out_file[PATH_MAX];  /* the output's DIR/NAME.SUFFIX */
	char report[PATH_MAX];    /* DIR/NAME.v2v.json */
};

static void set_step(struct conv *c, const char *what)
{
	pthread_mutex_lock(&c->r->lock);
	snprintf(c->j->step, sizeof(c->j->step), "%s", what);
	pthread_mutex_unlock(&c->r->lock);
}

/* -i disk: the plan's disks are the source; vmx/ova: the input read again for
 * the facts the output describes (its disks were resolved at load). */
static int read_facts(struct conv *c)
{
	const struct mig_vm *vm = c->vm;
	const struct v2v_input_ops *in = v2v_input_find(vm->input);

	if (!in)
		return -EINVAL;
	if (strcmp(vm->input, "disk"))
		return in->open(vm->source, NULL, &c->src);
	c->src.disks = calloc((size_t)vm->nb_disks, sizeof(*c->src.disks));
	if (!c->src.disks)
		return err_set(-ENOMEM, vm->name, "out of memory");
	for (int i = 0; i < vm->nb_disks; i++)
		if (!(c->src.disks[c->src.nb_disks++].path = strdup(vm->disks[i].source)))
			return err_set(-ENOMEM, vm->name, "out of memory");
	return 0;
}

static int setup(struct conv *c)
{
	const struct mig_vm *vm = c->vm;
	int ret;

	if (vm->nb_disks < 1)
		return err_set(-EINVAL, vm->source ? vm->source : vm->name,
			       "VM '%s': no disks to convert", vm->name);
	for (int i = 0; i < vm->nb_disks; i++) {
		c->disks[i] = vm->disks[i].output;
		if (asprintf(&c->work[i], "%s.convert.qcow2", vm->disks[i].output) < 0)
			return err_set(-ENOMEM, vm->name, "out of memory");
	}
	ret = read_facts(c);
	if (ret)
		return ret;
	if (c->src.nb_disks != vm->nb_disks)
		return err_set(-EINVAL, vm->source, "names %d disks now, %d when the plan was "
			       "loaded", c->src.nb_disks, vm->nb_disks);
	if (vm->sysprep) {
		c->sysprep = calloc(sysprep_nops + 1, sizeof(bool));
		if (!c->sysprep)
			return err_set(-ENOMEM, vm->name, "out of memory");
		ret = sysprep_parse_operations(vm->sysprep, c->sysprep);
		if (ret)
			return ret;
	}
	c->p = (struct v2v_params){
		.input = v2v_input_find(vm->input),
		.src = vm->source ? vm->source : vm->disks[0].source,
		.output = v2v_output_find(vm->output),
		.out_format = vm->output_format, .out_dir = vm->output_dir, .out_name = vm->name,
		.bus = V2V_BUS_VIRTIO, .virtio_win = vm->virtio_win,
		.libvirt_uri = vm->libvirt_uri, .quiet = true,
		.sysprep = c->sysprep, .customize = vm->customize,
		.nb_customize = (size_t)vm->nb_customize,
	};
	if (!c->p.output)
		return -EINVAL;
	v2v_output_path(c->p.output, vm->output_dir, vm->name, c->out_file, sizeof(c->out_file));
	snprintf(c->report, sizeof(c->report), "%s/%s.v2v.json", vm->output_dir, vm->name);
	return 0;
}

static void remove_work(struct conv *c)
{
	for (int i = 0; i < c->vm->nb_disks; i++)
		if (unlink(c->work[i]) < 0 && errno != ENOENT)
			fprintf(stderr, "imgtool: migrate: %s: cannot remove: %s\n", c->work[i],
				strerror(errno));
}

static int make_overlays(struct conv *c)
{
	for (int i = 0; i < c->vm->nb_disks; i++) {
		struct image *copy;
		int ret = image_open(c->disks[i], c->vm->output_format, 0, &copy);

		if (ret)
			return ret;
		ret = clone_disk_linked(copy, c->work[i]);
		image_close(copy);
		if (ret)
			return ret;
	}
	return 0;
}

static int convert(struct conv *c, const char *before)
{
	const struct v2v_prepared d = { .src = &c->src, .work = c->work, .work_format = "qcow2",
					.disks = c->disks, .format = c->vm->output_format };
	struct v2v_report *rep;
	char detail[2 * PATH_MAX + 64];
	int ret;

	/* what a killed try left is thrown away: its output's file is ours (the
	 * try began only when no such file existed), never a stranger's */
	if (!strcmp(before, "running"))
		unlink(c->out_file);
	else if (!access(c->out_file, F_OK))
		return err_set(-EEXIST, c->out_file, "already exists and this plan's state did "
			       "not write it: remove it or change output_dir");
	rep = v2v_report_new();
	if (!rep)
		return err_set(-ENOMEM, c->vm->name, "out of memory");
	v2v_report_set_quiet(rep, true);
	remove_work(c);
	set_step(c, "convert");
	mig_state_step(c->r->state, c->vm->name, "convert", "running",
		       "on overlays over the verified copies", 0, 0);
	mig_view_event(c->r, c->vm->name, "converting the guest");
	ret = make_overlays(c);
	if (!ret)
		ret = v2v_convert_prepared(&c->p, &d, rep);
	if (ret)
		remove_work(c);
	if (v2v_report_write(rep, c->report, ret) && !ret)
		ret = -EIO;
	snprintf(detail, sizeof(detail), "%zu changes (%s), %s written",
		 v2v_report_nb_changes(rep), c->report, c->out_file);
	mig_state_step(c->r->state, c->vm->name, "convert", ret ? "failed" : "done",
		       ret ? err_get() : detail, 0, 0);
	v2v_report_free(rep);
	return ret;
}

/* The converted disk's digest, recorded beside the copy's. */
static int record_converted(struct conv *c, int i)
{
	const struct mig_disk *md = &c->vm->disks[i];
	struct mig_disk_state ds;
	struct image *img;
	int ret = mig_state_disk_get(c->r->state, md->source, &ds);

	if (!ret)
		ret = image_open(md->output, c->vm->output_format, 0, &img);
	if (ret)
		return ret;
	ret = checksum_run(&(struct checksum_params){ .img = img }, ds.converted_sum);
	image_close(img);
	return ret ? ret : mig_state_disk_put(c->r->state, md->source, c->vm->name, md->output,
					      &ds);
}

static int commit(struct conv *c)
{
	int ret = 0;

	set_step(c, "commit");
	mig_state_step(c->r->state, c->vm->name, "commit", "running",
		       "the converted overlays into the copies", 0, 0);
	for (int i = 0; !ret && i < c->vm->nb_disks; i++)
		ret = commit_image(&(struct commit_request){ .file = c->work[i], .fmt = "qcow2",
							     .keep = true,
							     .progress = PROGRESS_NONE });
	for (int i = 0; !ret && i < c->vm->nb_disks; i++)
		ret = record_converted(c, i);
	mig_state_step(c->r->state, c->vm->name, "commit", ret ? "failed" : "done",
		       ret ? err_get() : "converted digests recorded", 0, 0);
	if (!ret)
		remove_work(c);
	return ret;
}

static int finish(struct conv *c)
{
	const struct v2v_prepared d = { .src = &c->src, .disks = c->disks,
					.format = c->vm->output_format };
	const char *step = c->p.output->finish_step;
	struct v2v_report *rep = v2v_report_new();
	int ret;

	if (!rep)
		return err_set(-ENOMEM, c->vm->name, "out of memory");
	v2v_report_set_quiet(rep, true);
	set_step(c, step);
	mig_state_step(c->r->state, c->vm->name, step, "running", c->out_file, 0, 0);
	ret = v2v_finish_prepared(&c->p, &d, rep);
	mig_state_step(c->r->state, c->vm->name, step, ret ? "failed" : "done",
		       ret ? err_get() : c->out_file, 0, 0);
	v2v_report_free(rep);
	return ret;
}

int mig_v2v_job(struct mig_run *r, struct mig_job *j)
{
	struct conv c = { .r = r, .j = j, .vm = &r->plan->vms[j->vm] };
	char st[16];
	int ret = setup(&c);

	if (!ret)
		ret = mig_state_step_get(r->state, c.vm->name, "convert", st);
	if (!ret && strcmp(st, "done"))
		ret = convert(&c, st);
	if (!ret)
		ret = mig_state_step_get(r->state, c.vm->name, "commit", st);
	if (!ret && strcmp(st, "done"))
		ret = commit(&c);
	else if (!ret)
		remove_work(&c);   /* a kill between the step's record and the removal */
	if (!ret && c.p.output->finish)
		ret = mig_state_step_get(r->state, c.vm->name, c.p.output->finish_step, st);
	if (!ret && c.p.output->finish && strcmp(st, "done"))
		ret = finish(&c);
	for (int i = 0; i < MIG_MAX_DISKS; i++)
		free(c.work[i]);
	free(c.sysprep);
	v2v_source_free(&c.src);
	return ret;
}
