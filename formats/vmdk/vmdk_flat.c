/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmdk_flat.c - flat extents (FLAT, VMFS, VMFSRDM/RAW: the bytes lie one to one in
 * a file, from an offset) and ZERO / NOACCESS extents (no file: read as zeros).
 *
 * Offsets here are relative to the start of the extent.  Holes of a flat file are
 * reported as zeros so that convert never reads them.
 */
#include "vmdk.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <string.h>

static bool no_file(const struct vmdk_extent *e)
{
	return !e->be;
}

int vmdk_flat_read(struct vmdk_extent *e, uint8_t *buf, uint64_t off, uint64_t len)
{
	if (no_file(e)) {
		memset(buf, 0, (size_t)len);
		return 0;
	}
	return backend_pread(e->be, buf, (size_t)len, e->flat_offset + off);
}

static int writable(const struct vmdk_extent *e)
{
	if (e->type == VMDK_EXT_ZERO || e->access != VMDK_RW || no_file(e))
		return err_set(-EACCES, e->path ? e->path : e->name,
			       "extent is %s%s; it cannot be written",
			       vmdk_access_name(e->access),
			       e->type == VMDK_EXT_ZERO ? " ZERO" : "");
	return 0;
}

int vmdk_flat_write(struct vmdk_extent *e, const uint8_t *buf, uint64_t off, uint64_t len)
{
	int ret = writable(e);

	if (ret < 0)
		return ret;
	return backend_pwrite(e->be, buf, (size_t)len, e->flat_offset + off);
}

int vmdk_flat_zero(struct vmdk_extent *e, uint64_t off, uint64_t len, int flags)
{
	int ret = writable(e);

	if (ret < 0)
		return ret;
	return backend_write_zeroes(e->be, e->flat_offset + off, len,
				    (flags & IMG_ZERO_MAY_UNMAP) ? BE_ZERO_MAY_UNMAP : 0);
}

int vmdk_flat_block_status(struct image *img, struct vmdk_extent *e, uint64_t off,
			   uint64_t len, struct block_status *bs)
{
	bool data;
	uint64_t run;
	int ret;

	if (no_file(e)) {
		bs->length = len;
		bs->flags = BS_ZERO | BS_ALLOCATED;
		return 0;
	}
	ret = backend_extent(e->be, e->flat_offset + off, len, &data, &run);
	if (ret < 0)
		return ret;
	bs->length = MAX(MIN(run, len), (uint64_t)1);
	bs->flags = BS_ALLOCATED | (data ? BS_DATA : BS_ZERO);
	if (e->be == img->be) {
		bs->flags |= BS_OFFSET_VALID;
		bs->host_offset = e->flat_offset + off;
	}
	return 0;
}
