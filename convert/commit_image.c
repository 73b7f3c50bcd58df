/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * commit_image.c - the commit operation (qemu-img commit): open the overlay
 * read-write, find the base (its backing file, or -b further down), copy with
 * commit_run() (commit.c), then empty the overlay unless asked to keep it -
 * qemu-img 7.2 empties it too; -b implies keeping it, because the images between
 * the overlay and the base no longer describe differences against the base.
 */
#include "commit.h"
#include "open_probed.h"
#include "../common/err.h"

#include <errno.h>

static int commit_into_base(const struct commit_request *rq, struct image *top)
{
	struct commit_params cp = { .top = top };
	struct image *layer = top->backing;
	int ret;

	if (!top->backing)
		return err_set(-EINVAL, rq->file, "Image does not have a backing file");
	cp.base_depth = 1;
	if (rq->base) {
		ret = commit_find_base(top, rq->base, &layer, &cp.base_depth);
		if (ret < 0)
			return ret;
	}
	ret = image_open(layer->filename, layer->ops->name, IMG_RDWR | rq->flags, &cp.base);
	if (ret < 0)
		return err_set_default(ret, layer->filename, "could not open the base for writing");
	if (rq->progress != PROGRESS_NONE)
		cp.progress = progress_new(rq->progress, top->size);
	ret = commit_run(&cp);
	progress_finish(cp.progress);
	progress_free(cp.progress);
	if (ret == 0)
		ret = image_flush(cp.base);
	image_close(cp.base);
	if (ret < 0 || rq->keep)
		return ret;
	ret = image_make_empty(top);
	if (ret == -ENOTSUP) {
		/* formats without it keep their data, which matches the base now */
		err_clear();
		ret = 0;
	}
	return ret;
}

int commit_image(const struct commit_request *rq)
{
	struct image *top = NULL;
	int ret = image_open_probed_rw(rq->file, rq->fmt, rq->flags, &top);

	if (ret == 0)
		ret = commit_into_base(rq, top);
	if (ret == 0)
		ret = image_flush(top);
	image_close(top);
	return ret;
}
