/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * image.c - libimgtool's handle: open, create, close, read, write, flush and block
 * status, each a thin checked call into formats/image.c.
 */
#include "handle.h"
#include "../common/err.h"
#include "../common/opts.h"

#include <errno.h>
#include <stdlib.h>

int imgtool_open(const char *filename, const char *format, unsigned flags,
		 imgtool_image **out)
{
	imgtool_image *h;
	int ret, iflags = 0;

	api_begin();
	*out = NULL;
	if (!filename)
		return api_end(-EINVAL, "imgtool_open");
	if (flags & ~(IMGTOOL_OPEN_RDWR | IMGTOOL_OPEN_NO_BACKING))
		return err_set(-EINVAL, filename, "unknown open flags 0x%x", flags);
	if (flags & IMGTOOL_OPEN_RDWR)
		iflags |= IMG_RDWR;
	if (flags & IMGTOOL_OPEN_NO_BACKING)
		iflags |= IMG_NO_BACKING;
	h = calloc(1, sizeof(*h));
	if (!h)
		return api_end(-ENOMEM, filename);
	ret = image_open(filename, format, iflags, &h->img);
	if (ret < 0) {
		free(h);
		return api_end(ret, filename);
	}
	*out = h;
	return 0;
}

void imgtool_close(imgtool_image *h)
{
	if (!h)
		return;
	image_close(h->img);
	free(h);
}

int imgtool_create(const char *filename, const char *format, uint64_t size,
		   const char *options)
{
	struct opts o = { 0 };
	int ret = 0;

	api_begin();
	if (!filename || !format)
		return api_end(-EINVAL, "imgtool_create");
	if (options)
		ret = opts_parse(&o, options);
	if (ret == 0)
		ret = image_create(filename, format, size, &o);
	opts_free(&o);
	return api_end(ret, filename);
}

uint64_t imgtool_get_size(imgtool_image *h)
{
	return h->img->size;
}

const char *imgtool_get_format(imgtool_image *h)
{
	return h->img->ops->name;
}

int imgtool_read(imgtool_image *h, void *buf, uint64_t offset, size_t len)
{
	api_begin();
	return api_end(image_read(h->img, buf, offset, len), h->img->filename);
}

int imgtool_write(imgtool_image *h, const void *buf, uint64_t offset, size_t len)
{
	api_begin();
	return api_end(image_write(h->img, buf, offset, len), h->img->filename);
}

int imgtool_flush(imgtool_image *h)
{
	api_begin();
	return api_end(image_flush(h->img), h->img->filename);
}

int imgtool_block_status(imgtool_image *h, uint64_t offset, uint64_t len,
			 struct imgtool_extent *ext)
{
	struct block_status bs;
	int ret;

	api_begin();
	if (!len || offset >= h->img->size)
		return err_set(-EINVAL, h->img->filename,
			       "block status past the end or of 0 bytes");
	if (len > h->img->size - offset)
		len = h->img->size - offset;
	ret = image_block_status_above(h->img, offset, len, &bs);
	if (ret < 0)
		return api_end(ret, h->img->filename);
	ext->length = bs.length;
	ext->flags = (bs.flags & BS_DATA ? IMGTOOL_STATUS_DATA : 0) |
		     (bs.flags & BS_ZERO ? IMGTOOL_STATUS_ZERO : 0) |
		     (bs.flags & BS_ALLOCATED ? IMGTOOL_STATUS_ALLOCATED : 0);
	ext->depth = bs.depth;
	return 0;
}
