/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rebase_image.c - the rebase operation (qemu-img rebase): open the image
 * read-write, then either rewrite only the backing pointer (-u: the user vouches
 * that the new backing file has the same contents) or first copy in, with
 * rebase_run() (rebase.c), every cluster the image does not allocate where the
 * old and the new chains read differently.  The pointer is rewritten last, after
 * all copied data is durable; a backing name "" makes the image standalone.
 */
#include "open_probed.h"
#include "rebase.h"
#include "../common/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Open the new backing chain (path relative to the image's folder); refuse one
 * that contains the image itself. */
static int open_new_backing(const struct rebase_request *rq, struct image *img, int flags,
			    struct image **nb)
{
	char *path = image_resolve_backing(img->filename, rq->backing);
	int ret;

	if (!path)
		return err_set(-ENOMEM, rq->file, "out of memory");
	ret = image_open(path, rq->backing_fmt, flags, nb);
	if (ret < 0) {
		char msg[ERR_MSG_MAX];

		struct image *probe = NULL;

		snprintf(msg, sizeof(msg), "%s", err_is_set() ? err_get() : strerror(-ret));
		err_clear();
		/* -F that does not match the file: say so */
		if (rq->backing_fmt && image_open(path, NULL, IMG_NO_BACKING, &probe) == 0 &&
		    strcmp(probe->ops->name, rq->backing_fmt))
			snprintf(msg, sizeof(msg), "Image is not in %s format (it looks like %s)",
				 rq->backing_fmt, probe->ops->name);
		image_close(probe);
		err_clear();
		err_set(ret, rq->file, "Could not open new backing file '%s': %s", path, msg);
	} else if (rebase_in_chain(*nb, img->filename)) {
		ret = err_set(-ELOOP, rq->file,
			      "Could not rebase onto '%s': the backing chain would loop back to this image",
			      path);
		image_close(*nb);
		*nb = NULL;
	}
	free(path);
	return ret;
}

/* The format to record: -F, else the new backing file's (probed) format. */
static const char *backing_format(const struct rebase_request *rq, struct image *nb)
{
	if (rq->backing_fmt)
		return rq->backing_fmt;
	return nb ? nb->ops->name : NULL;
}

static int do_unsafe(const struct rebase_request *rq, struct image *img, int src_flags)
{
	struct image *nb = NULL;
	const char *fmt = rq->backing_fmt;
	int ret;

	if (!*rq->backing)
		return image_set_backing(img, NULL, NULL);
	if (!fmt) {
		/* only to learn the format; the chain below need not be complete */
		ret = open_new_backing(rq, img, src_flags | IMG_NO_BACKING, &nb);
		if (ret < 0)
			return err_set(ret, rq->file,
				       "%s (give its format with -F to rebase onto it anyway)",
				       err_get());
		fmt = nb->ops->name;
	}
	ret = image_set_backing(img, rq->backing, fmt);
	image_close(nb);
	return ret;
}

static int do_safe(const struct rebase_request *rq, struct image *img, int src_flags)
{
	struct rebase_params rp = { .img = img };
	int ret;

	if (*rq->backing) {
		ret = open_new_backing(rq, img, src_flags, &rp.new_backing);
		if (ret < 0)
			return ret;
	}
	if (rq->progress != PROGRESS_NONE)
		rp.progress = progress_new(rq->progress, img->size);
	ret = rebase_run(&rp);
	progress_finish(rp.progress);
	progress_free(rp.progress);
	if (ret == 0)
		ret = image_set_backing(img, *rq->backing ? rq->backing : NULL,
					backing_format(rq, rp.new_backing));
	image_close(rp.new_backing);
	return ret;
}

int rebase_image(const struct rebase_request *rq)
{
	struct image *img = NULL;
	int ret = image_open_probed_rw(rq->file, rq->fmt,
				       rq->flags | (rq->unsafe ? IMG_NO_BACKING : 0), &img);

	if (ret == 0 && !img->ops->set_backing)
		ret = err_set(-ENOTSUP, rq->file, "format '%s' does not support backing files",
			      img->ops->name);
	if (ret == 0)
		ret = rq->unsafe ? do_unsafe(rq, img, rq->src_flags) : do_safe(rq, img, rq->src_flags);
	if (ret == 0)
		ret = image_flush(img);
	image_close(img);
	return ret;
}
