/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * slice.c - a read-only window of another backend (see slice.h).
 *
 * Reads are shifted by the window's offset and clipped to its length (reads past
 * the end return zeros, as the backend contract wants); data/hole extents are the
 * inner object's, clipped the same way, so the copy engine still skips holes.
 * Every write is refused: a source disk is never modified.
 */
#include "slice.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct slice_priv {
	struct backend *inner;
	uint64_t offset;
	uint64_t length;
};

/* never chosen by URL: slices are made by backend_open_slice() only */
static bool slice_match(const char *url)
{
	return false;
}

static int slice_open(struct backend *be, const char *url, int flags)
{
	return err_set(-ENOTSUP, url, "a slice is opened with backend_open_slice()");
}

static void slice_close(struct backend *be)
{
	struct slice_priv *p = be->priv;

	if (!p)
		return;
	backend_close(p->inner);
	free(p);
	be->priv = NULL;
}

static int slice_pread(struct backend *be, void *buf, size_t len, uint64_t off)
{
	struct slice_priv *p = be->priv;
	size_t n = 0;

	if (off < p->length)
		n = (size_t)MIN((uint64_t)len, p->length - off);
	if (n) {
		int ret = backend_pread(p->inner, buf, n, p->offset + off);
		if (ret < 0)
			return ret;
	}
	memset((char *)buf + n, 0, len - n);
	return 0;
}

static int slice_pwrite(struct backend *be, const void *buf, size_t len, uint64_t off)
{
	return err_set(-EROFS, be->url, "a disk inside an archive is read-only");
}

static int slice_flush(struct backend *be)
{
	return 0;
}

static int slice_get_size(struct backend *be, uint64_t *size)
{
	struct slice_priv *p = be->priv;

	*size = p->length;
	return 0;
}

static int slice_extent(struct backend *be, uint64_t off, uint64_t len, bool *data,
			uint64_t *run)
{
	struct slice_priv *p = be->priv;

	if (off >= p->length) {
		*data = false;
		*run = len;
		return 0;
	}
	len = MIN(len, p->length - off);
	return backend_extent(p->inner, p->offset + off, len, data, run);
}

/* The window's share of the object's storage is not known; its length is the
 * honest upper bound (an OVA member is stored whole). */
static int slice_allocated_size(struct backend *be, uint64_t *size)
{
	struct slice_priv *p = be->priv;

	*size = p->length;
	return 0;
}

static const struct backend_ops slice_backend_ops = {
	.name = "slice",
	.match = slice_match,
	.open = slice_open,
	.close = slice_close,
	.pread = slice_pread,
	.pwrite = slice_pwrite,
	.flush = slice_flush,
	.get_size = slice_get_size,
	.extent = slice_extent,
	.allocated_size = slice_allocated_size,
};

int backend_open_slice(const char *url, uint64_t offset, uint64_t length,
		       const char *name, struct backend **out)
{
	struct backend *inner, *be;
	struct slice_priv *p;
	uint64_t size, end;
	int ret;

	ret = backend_open(url, 0, &inner);
	if (ret < 0)
		return ret;
	ret = backend_size(inner, &size);
	if (ret < 0)
		goto fail;
	if (!add_ok(offset, length, &end) || end > size) {
		ret = err_set(-EINVAL, name, "lies past the end of %s (%llu bytes)", url,
			      (unsigned long long)size);
		goto fail;
	}
	be = calloc(1, sizeof(*be));
	p = calloc(1, sizeof(*p));
	if (be)
		be->url = strdup(name);
	if (!be || !p || !be->url) {
		if (be)
			free(be->url);
		free(be);
		free(p);
		ret = err_set(-ENOMEM, name, "out of memory");
		goto fail;
	}
	p->inner = inner;
	p->offset = offset;
	p->length = length;
	be->ops = &slice_backend_ops;
	be->flags = 0;
	be->align = 1;
	be->priv = p;
	*out = be;
	return 0;
fail:
	backend_close(inner);
	return ret;
}
