/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd_read.c - reading a VHD and reporting block status.
 *
 * Fixed disks are raw bytes.  Dynamic disks map each block through the BAT; an
 * unallocated block reads as zeros.  Like qemu we ignore the sector bitmap of a
 * dynamic disk (every writer fills the data area), but a differencing disk's bitmap
 * decides sector by sector: a clear bit means the parent holds the sector.
 */
#include "vhd.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool bitmap_bit(const uint8_t *bm, uint64_t k)
{
	return (bm[k / 8] >> (7 - k % 8)) & 1;   /* MSB first */
}

/* Read the part of a block's bitmap covering sectors [k0, k1] into a buffer
 * indexed from sector k0 & ~7. */
static int read_bitmap(struct image *img, struct vhd_state *s, uint64_t bm_off,
		       uint64_t k0, uint64_t k1, uint8_t **out)
{
	uint64_t b0 = k0 / 8, b1 = k1 / 8;
	size_t n = (size_t)(b1 - b0 + 1);
	uint8_t *bm = malloc(n);
	int ret;

	if (!bm)
		return err_set(-ENOMEM, img->filename, "out of memory");
	ret = backend_pread(img->be, bm, n, bm_off + b0);
	if (ret < 0) {
		free(bm);
		return ret;
	}
	*out = bm;
	return 0;
}

/* Sectors of one allocated block of a differencing disk: runs of set bits come
 * from this file, runs of clear bits from the parent. */
static int read_diff_block(struct image *img, struct vhd_state *s, uint8_t *buf,
			   uint64_t off, size_t n, uint64_t bm_off)
{
	uint64_t bstart = off - off % s->block_size;
	uint64_t k0 = (off - bstart) / VHD_SECTOR;
	uint64_t k1 = (off + n - 1 - bstart) / VHD_SECTOR;
	uint64_t base = k0 & ~7ULL;
	uint64_t pos = off, end = off + n;
	uint8_t *bm;
	int ret = read_bitmap(img, s, bm_off, k0, k1, &bm);

	if (ret < 0)
		return ret;
	while (pos < end && ret == 0) {
		uint64_t k = (pos - bstart) / VHD_SECTOR;
		bool set = bitmap_bit(bm, k - base);
		uint64_t run_end;

		while (k + 1 <= k1 && bitmap_bit(bm, k + 1 - base) == set)
			k++;
		run_end = MIN(end, bstart + (k + 1) * VHD_SECTOR);
		if (set)
			ret = backend_pread(img->be, buf + (pos - off), (size_t)(run_end - pos),
					    bm_off + s->bitmap_size + (pos - bstart));
		else
			ret = image_read_backing(img, buf + (pos - off), pos,
						 (size_t)(run_end - pos));
		pos = run_end;
	}
	free(bm);
	return ret;
}

int vhd_read(struct image *img, void *buf, uint64_t off, size_t len)
{
	struct vhd_state *s = img->priv;
	uint8_t *p = buf;
	int ret = 0;

	if (s->type == VHD_TYPE_FIXED)
		return backend_pread(img->be, buf, len, off);
	while (len && ret == 0) {
		uint32_t idx = (uint32_t)(off / s->block_size);
		uint64_t in = off % s->block_size;
		size_t n = (size_t)MIN((uint64_t)len, s->block_size - in);
		uint32_t e = vhd_bat_get(s, idx);
		uint64_t bm_off = (uint64_t)e * VHD_SECTOR;

		if (e == VHD_BAT_UNUSED) {
			if (s->type == VHD_TYPE_DIFF)
				ret = image_read_backing(img, p, off, n);
			else
				memset(p, 0, n);
		} else if (s->type == VHD_TYPE_DIFF) {
			ret = read_diff_block(img, s, p, off, n, bm_off);
		} else {
			ret = backend_pread(img->be, p, n, bm_off + s->bitmap_size + in);
		}
		p += n;
		off += n;
		len -= n;
	}
	return ret;
}

static int fixed_block_status(struct image *img, uint64_t off, uint64_t len,
			      struct block_status *bs)
{
	bool data;
	uint64_t run;
	int ret = backend_extent(img->be, off, len, &data, &run);

	if (ret < 0)
		return ret;
	bs->length = run;
	/* as qemu: the format maps every byte to the file (data); the file's
	 * holes add "reads as zeros" */
	bs->flags = BS_ALLOCATED | BS_OFFSET_VALID | BS_DATA | (data ? 0 : BS_ZERO);
	bs->host_offset = off;
	return 0;
}

/* Status inside one allocated block of a differencing disk. */
static int diff_block_status(struct image *img, struct vhd_state *s, uint64_t off,
			     uint64_t n, uint64_t bm_off, struct block_status *bs)
{
	uint64_t bstart = off - off % s->block_size;
	uint64_t k0 = (off - bstart) / VHD_SECTOR;
	uint64_t k1 = (off + n - 1 - bstart) / VHD_SECTOR;
	uint64_t base = k0 & ~7ULL, k = k0;
	uint8_t *bm;
	bool set;
	int ret = read_bitmap(img, s, bm_off, k0, k1, &bm);

	if (ret < 0)
		return ret;
	set = bitmap_bit(bm, k0 - base);
	while (k + 1 <= k1 && bitmap_bit(bm, k + 1 - base) == set)
		k++;
	free(bm);
	bs->length = MIN(off + n, bstart + (k + 1) * VHD_SECTOR) - off;
	if (set) {
		bs->flags = BS_DATA | BS_ALLOCATED | BS_OFFSET_VALID;
		bs->host_offset = bm_off + s->bitmap_size + (off - bstart);
	} else {
		bs->flags = 0;
	}
	return 0;
}

int vhd_block_status(struct image *img, uint64_t off, uint64_t len,
		     struct block_status *bs)
{
	struct vhd_state *s = img->priv;
	uint32_t idx, e;
	uint64_t in, n;

	if (s->type == VHD_TYPE_FIXED)
		return fixed_block_status(img, off, len, bs);
	idx = (uint32_t)(off / s->block_size);
	in = off % s->block_size;
	n = MIN(len, s->block_size - in);
	e = vhd_bat_get(s, idx);
	if (e != VHD_BAT_UNUSED) {
		uint64_t bm_off = (uint64_t)e * VHD_SECTOR;

		if (s->type == VHD_TYPE_DIFF)
			return diff_block_status(img, s, off, n, bm_off, bs);
		bs->length = n;
		bs->flags = BS_DATA | BS_ALLOCATED | BS_OFFSET_VALID;
		bs->host_offset = bm_off + s->bitmap_size + in;
		return 0;
	}
	/* a run of unallocated blocks */
	while (n < len && vhd_bat_get(s, ++idx) == VHD_BAT_UNUSED)
		n = MIN(len, n + s->block_size);
	bs->length = n;
	/* qemu reports a dynamic disk's holes as zeros it owns; a differencing
	 * disk's holes fall through to the parent */
	bs->flags = s->type == VHD_TYPE_DIFF ? 0 : (BS_ZERO | BS_ALLOCATED);
	return 0;
}
