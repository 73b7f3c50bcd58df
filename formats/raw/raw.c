/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * raw.c - the raw format: the virtual disk is the backend's bytes, one to one.
 *
 * Everything interesting is delegated to the backend: holes come from its extent
 * map (SEEK_HOLE on files), zeroing from its punch/zero-range.  Raw is probed last
 * with the lowest score; image.c refuses to write into a raw guess.
 */
#include "../create_opts.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <string.h>

static int raw_probe(const uint8_t *buf, size_t len, const char *filename)
{
	return 1;
}

static int raw_open(struct image *img, int flags)
{
	int ret = backend_size(img->be, &img->size);

	if (ret < 0)
		return ret;
	img->cluster_size = 1;
	img->zero_init = img->be->zero_init;
	return 0;
}

static void raw_close(struct image *img)
{
}

/* Write the data area according to the preallocation mode. */
static int raw_preallocate(struct backend *be, uint64_t from, uint64_t to,
			   enum prealloc_mode mode)
{
	if (to <= from)
		return 0;
	switch (mode) {
	case PREALLOC_FALLOC:
		return backend_preallocate(be, from, to - from);
	case PREALLOC_FULL:
		/* Real zeros on storage, not a reservation: write_zeroes without unmap
		 * may still use a cheap zero-range, which allocates blocks too. */
		return backend_write_zeroes(be, from, to - from, 0);
	default:
		return 0;
	}
}

static int raw_create(struct backend *be, const char *filename, uint64_t size,
		      struct opts *opts)
{
	enum prealloc_mode mode = PREALLOC_OFF;
	const char *p = opts_get(opts, "preallocation");
	int ret;

	if (p && parse_prealloc(p, &mode) < 0)
		return err_set(-EINVAL, filename, "%s", err_get());
	if (mode == PREALLOC_METADATA)
		return err_set(-EINVAL, filename,
			       "Unsupported preallocation mode 'metadata' for raw (use off, falloc or full)");
	ret = backend_truncate(be, size);
	if (ret < 0)
		return ret;
	return raw_preallocate(be, 0, size, mode);
}

static int raw_read(struct image *img, void *buf, uint64_t off, size_t len)
{
	return backend_pread(img->be, buf, len, off);
}

static int raw_write(struct image *img, const void *buf, uint64_t off, size_t len)
{
	return backend_pwrite(img->be, buf, len, off);
}

static int raw_write_from(struct image *img, uint64_t off, struct backend *src,
			  uint64_t src_off, size_t len)
{
	return backend_copy_range(img->be, off, src, src_off, len);
}

static int raw_write_zeroes(struct image *img, uint64_t off, uint64_t len, int flags)
{
	return backend_write_zeroes(img->be, off, len,
				    (flags & IMG_ZERO_MAY_UNMAP) ? BE_ZERO_MAY_UNMAP : 0);
}

static int raw_block_status(struct image *img, uint64_t off, uint64_t len,
			    struct block_status *bs)
{
	bool data;
	uint64_t run;
	int ret = backend_extent(img->be, off, len, &data, &run);

	if (ret < 0)
		return ret;
	bs->length = run;
	bs->flags = BS_ALLOCATED | BS_OFFSET_VALID | (data ? BS_DATA : BS_ZERO);
	bs->host_offset = off;
	return 0;
}

static int raw_flush(struct image *img)
{
	return backend_flush(img->be);
}

static int raw_resize(struct image *img, uint64_t new_size, enum prealloc_mode prealloc,
		      bool shrink)
{
	uint64_t old = img->size;
	int ret;

	if (prealloc == PREALLOC_METADATA)
		return err_set(-EINVAL, img->filename,
			       "Unsupported preallocation mode 'metadata' for raw");
	ret = backend_truncate(img->be, new_size);
	if (ret < 0)
		return ret;
	ret = raw_preallocate(img->be, old, new_size, prealloc);
	if (ret < 0)
		return ret;
	img->size = new_size;
	return 0;
}

/* A raw image occupies its whole virtual size (qemu-img reports the same:
 * holes are a property of the filesystem, not of the format). */
static int raw_measure(struct opts *opts, uint64_t size, struct image *src,
		       struct measure_result *res)
{
	enum prealloc_mode mode = PREALLOC_OFF;
	const char *p = opts_get(opts, "preallocation");

	if (p && parse_prealloc(p, &mode) < 0)
		return -EINVAL;
	res->required = align_up(size, 512);
	res->fully_allocated = res->required;
	return 0;
}

static const char *const raw_aliases[] = { NULL };

static const struct create_opt raw_create_opts[] = {
	CREATE_OPT_SIZE("Virtual disk size"),
	CREATE_OPT_NOCOW,
	CREATE_OPT_FILE_PREALLOC,
	CREATE_OPT_EXTENT_SIZE_HINT,
	CREATE_OPT_END,
};

const struct format_ops raw_format_ops = {
	.name = "raw",
	.aliases = raw_aliases,
	.create_opts = raw_create_opts,
	.probe = raw_probe,
	.open = raw_open,
	.close = raw_close,
	.create = raw_create,
	.read = raw_read,
	.write = raw_write,
	.write_zeroes = raw_write_zeroes,
	.write_from = raw_write_from,
	.block_status = raw_block_status,
	.flush = raw_flush,
	.resize = raw_resize,
	.measure = raw_measure,
};
