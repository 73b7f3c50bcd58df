/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vdi_read.c - reading a VDI and reporting block status.
 *
 * An unallocated or discarded block reads as zeros (VDI has no backing file here:
 * differencing images are refused at open).  Block status follows qemu's: an
 * unallocated block is zeros the image owns; an allocated one is data at its host
 * offset.  In a static image (all holes until written) qemu also asks the file
 * (BDRV_BLOCK_RECURSE) and its holes read as zeros, so they are never read; a
 * dynamic image's blocks are written whole, and qemu does not ask.
 */
#include "vdi.h"
#include "../../common/util.h"

#include <string.h>

int vdi_read(struct image *img, void *buf, uint64_t off, size_t len)
{
	struct vdi_state *s = img->priv;
	uint8_t *p = buf;
	int ret = 0;

	while (len && ret == 0) {
		uint32_t idx = (uint32_t)(off / s->h.block_size);
		uint64_t in = off % s->h.block_size;
		size_t n = (size_t)MIN((uint64_t)len, s->h.block_size - in);
		uint32_t e = vdi_bmap_get(s, idx);

		if (VDI_IS_ALLOCATED(e))
			ret = backend_pread(img->be, p, n, vdi_block_offset(s, e) + in);
		else
			memset(p, 0, n);
		p += n;
		off += n;
		len -= n;
	}
	return ret;
}

int vdi_block_status(struct image *img, uint64_t off, uint64_t len,
		     struct block_status *bs)
{
	struct vdi_state *s = img->priv;
	uint32_t idx = (uint32_t)(off / s->h.block_size);
	uint64_t in = off % s->h.block_size;
	uint64_t n = MIN(len, s->h.block_size - in);
	uint32_t e = vdi_bmap_get(s, idx);

	if (VDI_IS_ALLOCATED(e)) {
		uint64_t host = vdi_block_offset(s, e) + in, run = n;
		bool data = true;
		int ret = 0;

		if (s->h.type == VDI_TYPE_STATIC)
			ret = backend_extent(img->be, host, n, &data, &run);
		if (ret < 0)
			return ret;
		bs->length = MIN(run, n);
		bs->flags = BS_DATA | BS_ALLOCATED | BS_OFFSET_VALID | (data ? 0 : BS_ZERO);
		bs->host_offset = host;
		return 0;
	}
	while (n < len && !VDI_IS_ALLOCATED(vdi_bmap_get(s, ++idx)))
		n = MIN(len, n + s->h.block_size);
	bs->length = n;
	bs->flags = BS_ZERO | BS_ALLOCATED;
	return 0;
}
