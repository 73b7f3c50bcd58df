/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * disk.c - a clone's disk: a qcow2 overlay naming the template (by its absolute
 * path, so that the clone works from any folder) as its backing file, or a full
 * copy through the copy engine.  The template is only ever opened read-only.
 */
#include "clone/clone_int.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/opts.h"
#include "convert/copy.h"

int clone_disk_linked(struct image *tpl, const char *path)
{
	char abs[PATH_MAX];
	struct opts o = { 0 };
	int r;

	if (!realpath(tpl->filename, abs))
		return err_set(-errno, tpl->filename, "%s", strerror(errno));
	if ((r = opts_set(&o, "backing_file", abs)) < 0 ||
	    (r = opts_set(&o, "backing_fmt", tpl->ops->name)) < 0) {
		opts_free(&o);
		return r;
	}
	r = image_create(path, "qcow2", tpl->size, &o);
	opts_free(&o);
	return r;
}

int clone_disk_full(struct image *tpl, const char *format, const char *path)
{
	struct copy_params cp = { 0 };
	struct image *dst;
	int r = image_create(path, format, tpl->size, NULL);

	if (r)
		return r;
	if ((r = image_open(path, format, IMG_RDWR, &dst)))
		return r;
	cp.src = &tpl;
	cp.nb_src = 1;
	cp.dst = dst;
	cp.min_sparse = COPY_DEFAULT_SPARSE;
	cp.target_zeroed = dst->zero_init;
	r = copy_run(&cp);
	image_close(dst);
	return r;
}
