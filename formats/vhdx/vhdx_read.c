/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhdx_read.c - reading a VHDX and reporting block status.
 *
 * Each payload block is found through its BAT entry.  Fully present blocks are
 * read from the file.  Blocks that are not present or undefined read as zeros in
 * a dynamic or fixed disk and come from the parent in a differencing disk; zero
 * and unmapped blocks read as zeros in both.  A partially present block (only in
 * differencing disks) is decided sector by sector by its chunk's sector bitmap
 * block: bit n (LSB first) set means logical sector n is in this file.
 */
#include "vhdx.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum blk_kind { BLK_DATA, BLK_ZERO, BLK_PARENT, BLK_PARTIAL };

static enum blk_kind block_kind(struct vhdx_state *s, uint64_t e)
{
	switch (e & VHDX_BAT_STATE_MASK) {
	case VHDX_PAYLOAD_FULLY_PRESENT:
		return BLK_DATA;
	case VHDX_PAYLOAD_PARTIALLY_PRESENT:
		return BLK_PARTIAL;
	case VHDX_PAYLOAD_ZERO:
	case VHDX_PAYLOAD_UNMAPPED:
		return BLK_ZERO;
	default:
		return s->has_parent ? BLK_PARENT : BLK_ZERO;
	}
}

static uint64_t entry_offset(uint64_t e)
{
	return e >> VHDX_BAT_OFFSET_SHIFT << VHDX_BAT_OFFSET_SHIFT;
}

static bool bit_at(const uint8_t *bm, uint64_t k)
{
	return (bm[k / 8] >> (k % 8)) & 1;
}

/* The bitmap bits for logical sectors [s0, s1] of the chunk containing the block,
 * in a buffer indexed from sector s0 & ~7. */
static int read_bitmap(struct image *img, struct vhdx_state *s, uint64_t blk,
		       uint64_t s0, uint64_t s1, uint8_t **out)
{
	uint64_t sb = vhdx_bat_get(s, vhdx_bitmap_index(s, blk));
	size_t n = (size_t)(s1 / 8 - s0 / 8 + 1);
	uint8_t *bm = NULL;
	int ret;

	if ((sb & VHDX_BAT_STATE_MASK) != VHDX_SB_PRESENT)
		return err_set(-EINVAL, img->filename,
			       "block %llu is partially present but its sector bitmap is not",
			       (unsigned long long)blk);
	bm = malloc(n);
	if (!bm)
		return err_set(-ENOMEM, img->filename, "out of memory");
	ret = vhdx_pread(img, s, bm, n, entry_offset(sb) + s0 / 8);
	if (ret < 0) {
		free(bm);
		return ret;
	}
	*out = bm;
	return 0;
}

/* Sector index within its chunk, for byte offset off. */
static uint64_t chunk_sector(struct vhdx_state *s, uint64_t off)
{
	return (off / s->logical_sector) % VHDX_SB_SECTORS;
}

/* Length of the run from off (inside block blk, < end) whose bits equal the first. */
static int partial_run(struct image *img, struct vhdx_state *s, uint64_t blk, uint64_t off,
		       uint64_t end, bool *set, uint64_t *run)
{
	uint64_t s0 = chunk_sector(s, off), s1 = chunk_sector(s, end - 1), k = s0;
	uint64_t base = s0 & ~7ULL;
	uint8_t *bm = NULL;
	int ret = read_bitmap(img, s, blk, s0, s1, &bm);

	if (ret < 0)
		return ret;
	*set = bit_at(bm, s0 - base);
	while (k + 1 <= s1 && bit_at(bm, k + 1 - base) == *set)
		k++;
	free(bm);
	/* sector k ends at: off's sector start + (k - s0 + 1) sectors */
	*run = MIN(end, align_down(off, s->logical_sector) + (k - s0 + 1) * s->logical_sector) -
	       off;
	return 0;
}

static int read_partial(struct image *img, struct vhdx_state *s, uint64_t blk, uint64_t e,
			uint8_t *buf, uint64_t off, size_t n)
{
	uint64_t pos = off, end = off + n;
	int ret = 0;

	while (pos < end && ret == 0) {
		bool set;
		uint64_t run;

		ret = partial_run(img, s, blk, pos, end, &set, &run);
		if (ret < 0)
			break;
		if (set)
			ret = vhdx_pread(img, s, buf + (pos - off), (size_t)run,
					 entry_offset(e) + pos % s->block_size);
		else
			ret = image_read_backing(img, buf + (pos - off), pos, (size_t)run);
		pos += run;
	}
	return ret;
}

int vhdx_read(struct image *img, void *buf, uint64_t off, size_t len)
{
	struct vhdx_state *s = img->priv;
	uint8_t *p = buf;
	int ret = 0;

	while (len && ret == 0) {
		uint64_t blk = off / s->block_size;
		uint64_t in = off % s->block_size;
		size_t n = (size_t)MIN((uint64_t)len, s->block_size - in);
		uint64_t e = vhdx_bat_get(s, vhdx_payload_index(s, blk));

		switch (block_kind(s, e)) {
		case BLK_DATA:
			ret = vhdx_pread(img, s, p, n, entry_offset(e) + in);
			break;
		case BLK_ZERO:
			memset(p, 0, n);
			break;
		case BLK_PARENT:
			ret = image_read_backing(img, p, off, n);
			break;
		case BLK_PARTIAL:
			ret = read_partial(img, s, blk, e, p, off, n);
			break;
		}
		p += n;
		off += n;
		len -= n;
	}
	return ret;
}

int vhdx_block_status(struct image *img, uint64_t off, uint64_t len,
		      struct block_status *bs)
{
	struct vhdx_state *s = img->priv;
	uint64_t blk = off / s->block_size;
	uint64_t in = off % s->block_size;
	uint64_t n = MIN(len, s->block_size - in);
	uint64_t e = vhdx_bat_get(s, vhdx_payload_index(s, blk));
	enum blk_kind k = block_kind(s, e);
	/* with a replayed log in memory the file's bytes are not the image's */
	unsigned valid = s->log.n ? 0 : BS_OFFSET_VALID;
	int ret;

	bs->host_offset = 0;
	if (k == BLK_PARTIAL) {
		bool set;

		ret = partial_run(img, s, blk, off, off + n, &set, &bs->length);
		if (ret < 0)
			return ret;
		bs->flags = set ? BS_DATA | BS_ALLOCATED | valid : 0;
		bs->host_offset = entry_offset(e) + in;
		return 0;
	}
	if (k == BLK_DATA) {
		bs->length = n;
		bs->flags = BS_DATA | BS_ALLOCATED | valid;
		bs->host_offset = entry_offset(e) + in;
		return 0;
	}
	/* merge following blocks of the same kind */
	while (n < len && block_kind(s, vhdx_bat_get(s, vhdx_payload_index(s, ++blk))) == k)
		n = MIN(len, n + s->block_size);
	bs->length = n;
	bs->flags = k == BLK_ZERO ? (BS_ZERO | BS_ALLOCATED) : 0;
	return 0;
}
