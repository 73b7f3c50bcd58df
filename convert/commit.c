/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * commit.c - merge an overlay down its backing chain (see commit.h).
 *
 * The copy engine does the work: the source is the overlay read through its
 * chain, the target the base, and above_depth limits the copy to the ranges
 * that a layer above the base allocates.  Zeros an upper layer allocates are
 * written as zeros, since the base may hold data there.
 */
#include "commit.h"
#include "copy.h"
#include "../common/err.h"
#include "../common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	return !strcmp(a, b);
}

int commit_find_base(struct image *top, const char *name, struct image **layer,
		     int *depth)
{
	char *rel = image_resolve_backing(top->filename, name);
	int d = 1;

	if (!rel)
		return err_set(-ENOMEM, top->filename, "out of memory");
	for (struct image *l = top->backing; l; l = l->backing, d++) {
		if (same_file(l->filename, name) || same_file(l->filename, rel)) {
			*layer = l;
			*depth = d;
			free(rel);
			return 0;
		}
	}
	free(rel);
	return err_set(-ENOENT, top->filename,
		       "Did not find '%s' in the backing chain of '%s'", name, top->filename);
}

int commit_run(const struct commit_params *p)
{
	struct copy_params cp = { 0 };
	struct image *src[1] = { p->top };
	int ret;

	if (p->base_depth < 1)
		return err_set(-EINVAL, p->top->filename, "internal error: bad commit base");
	if (p->base->size < p->top->size) {
		/* qemu-img commit grows the base to hold the overlay's data */
		ret = image_resize(p->base, p->top->size, PREALLOC_OFF, false);
		if (ret < 0)
			return err_set_default(ret, p->base->filename,
					       "could not grow the base image to %llu bytes",
					       (unsigned long long)p->top->size);
	}
	cp.src = src;
	cp.nb_src = 1;
	cp.dst = p->base;
	cp.min_sparse = COPY_DEFAULT_SPARSE;
	cp.target_zeroed = false;
	cp.workers = p->workers;
	cp.progress = p->progress;
	cp.above_depth = p->base_depth;
	return copy_run(&cp);
}
