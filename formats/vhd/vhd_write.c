/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd_write.c - writing a fixed or dynamic VHD: block allocation and zeroing.
 *
 * Allocating a block (the lock held, so allocations are serialised):
 *   1. write the footer at the new end of the file (the old footer stays valid);
 *   2. write the block's sector bitmap over the old footer position, all ones as
 *      qemu does: the data area beyond the old end reads as zeros, so every
 *      sector of the block is correctly "present";
 * then, without the lock, the data; and last, with the lock, the BAT entry.  A kill
 * at any point leaves at worst an unreferenced block before the footer.  While a
 * block is being allocated, it is marked pending so that a second writer of the
 * same block waits instead of allocating it twice; readers still see it as
 * unallocated (zeros) until the BAT entry is published.
 */
#include "vhd.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool pending_test(struct vhd_state *s, uint32_t idx)
{
	return s->pending[idx / 8] & (1u << (idx % 8));
}

static void pending_set(struct vhd_state *s, uint32_t idx, bool on)
{
	if (on)
		s->pending[idx / 8] |= (uint8_t)(1u << (idx % 8));
	else
		s->pending[idx / 8] &= (uint8_t)~(1u << (idx % 8));
}

/* Steps 1 and 2 (lock held).  *bm_off: where the block starts. */
static int reserve_block(struct image *img, struct vhd_state *s, uint64_t *bm_off)
{
	uint64_t off = s->free_off;
	uint64_t end = off + s->bitmap_size + s->block_size;
	uint8_t *bm;
	int ret;

	if (end / VHD_SECTOR > 0xfffffffeULL)
		return err_set(-EFBIG, img->filename,
			       "VHD file would grow past the 2 TiB a BAT entry can address");
	ret = backend_pwrite(img->be, s->footer_buf, VHD_FOOTER_SIZE, end);
	if (ret < 0)
		return ret;
	bm = malloc(s->bitmap_size);
	if (!bm)
		return err_set(-ENOMEM, img->filename, "out of memory");
	memset(bm, 0xff, s->bitmap_size);
	ret = backend_pwrite(img->be, bm, s->bitmap_size, off);
	free(bm);
	if (ret < 0)
		return ret;
	s->free_off = end;
	*bm_off = off;
	return 0;
}

/* The block's BAT entry: on disk first, then visible to readers. */
static int publish_block(struct image *img, struct vhd_state *s, uint32_t idx,
			 uint64_t bm_off)
{
	uint8_t be[4];
	uint32_t sector = (uint32_t)(bm_off / VHD_SECTOR);
	int ret;

	store_be32(be, sector);
	ret = backend_pwrite(img->be, be, sizeof(be), s->bat_offset + 4ULL * idx);
	if (ret == 0)
		__atomic_store_n(&s->bat[idx], sector, __ATOMIC_RELEASE);
	return ret;
}

static void end_pending(struct vhd_state *s, uint32_t idx)
{
	pending_set(s, idx, false);
	pthread_cond_broadcast(&s->alloc_done);
}

/* Write n bytes at off, all inside block idx, which may need allocating. */
static int write_in_block(struct image *img, struct vhd_state *s, const uint8_t *buf,
			  uint64_t off, size_t n)
{
	uint32_t idx = (uint32_t)(off / s->block_size);
	uint64_t in = off % s->block_size;
	uint64_t bm_off = 0;
	uint32_t e = vhd_bat_get(s, idx);
	int ret;

	if (e != VHD_BAT_UNUSED)
		goto write_data;
	pthread_mutex_lock(&s->lock);
	while (pending_test(s, idx))
		pthread_cond_wait(&s->alloc_done, &s->lock);
	e = vhd_bat_get(s, idx);
	if (e != VHD_BAT_UNUSED) {
		pthread_mutex_unlock(&s->lock);
		goto write_data;
	}
	ret = reserve_block(img, s, &bm_off);
	if (ret == 0)
		pending_set(s, idx, true);
	pthread_mutex_unlock(&s->lock);
	if (ret < 0)
		return ret;

	ret = backend_pwrite(img->be, buf, n, bm_off + s->bitmap_size + in);
	pthread_mutex_lock(&s->lock);
	if (ret == 0)
		ret = publish_block(img, s, idx, bm_off);
	end_pending(s, idx);
	pthread_mutex_unlock(&s->lock);
	return ret;

write_data:
	return backend_pwrite(img->be, buf, n,
			      (uint64_t)e * VHD_SECTOR + s->bitmap_size + in);
}

int vhd_write(struct image *img, const void *buf, uint64_t off, size_t len)
{
	struct vhd_state *s = img->priv;
	const uint8_t *p = buf;
	int ret = 0;

	if (s->type == VHD_TYPE_FIXED)
		return backend_pwrite(img->be, buf, len, off);
	if (s->type != VHD_TYPE_DYNAMIC)
		return err_set(-ENOTSUP, img->filename,
			       "writing differencing VHD images is not supported");
	while (len && ret == 0) {
		size_t n = (size_t)MIN((uint64_t)len, s->block_size - off % s->block_size);

		ret = write_in_block(img, s, p, off, n);
		p += n;
		off += n;
		len -= n;
	}
	return ret;
}

/* Unallocated blocks of a dynamic disk already read as zeros: nothing to do
 * there; allocated ones get their data range zeroed (punched when allowed). */
int vhd_write_zeroes(struct image *img, uint64_t off, uint64_t len, int flags)
{
	struct vhd_state *s = img->priv;
	int be_flags = (flags & IMG_ZERO_MAY_UNMAP) ? BE_ZERO_MAY_UNMAP : 0;
	int ret = 0;

	if (s->type == VHD_TYPE_FIXED)
		return backend_write_zeroes(img->be, off, len, be_flags);
	if (s->type != VHD_TYPE_DYNAMIC)
		return err_set(-ENOTSUP, img->filename,
			       "writing differencing VHD images is not supported");
	while (len && ret == 0) {
		uint32_t idx = (uint32_t)(off / s->block_size);
		uint64_t in = off % s->block_size;
		uint64_t n = MIN(len, s->block_size - in);
		uint32_t e = vhd_bat_get(s, idx);

		if (e == VHD_BAT_UNUSED) {
			/* an allocation in flight may still land here: wait for it */
			pthread_mutex_lock(&s->lock);
			while (pending_test(s, idx))
				pthread_cond_wait(&s->alloc_done, &s->lock);
			pthread_mutex_unlock(&s->lock);
			e = vhd_bat_get(s, idx);
		}
		if (e != VHD_BAT_UNUSED)
			ret = backend_write_zeroes(img->be,
						   (uint64_t)e * VHD_SECTOR + s->bitmap_size + in,
						   n, be_flags);
		off += n;
		len -= n;
	}
	return ret;
}

int vhd_flush(struct image *img)
{
	return backend_flush(img->be);
}
