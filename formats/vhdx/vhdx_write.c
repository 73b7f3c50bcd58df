/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhdx_write.c - writing a fixed or dynamic VHDX: block allocation and zeroing.
 *
 * Before the first write of a session both headers get new file and data write
 * GUIDs (the spec's rule: a child made against the old data must notice).
 * Allocating a payload block (the lock held, so allocations are serialised): the
 * block goes at the 1 MiB-aligned end of the file and the file is extended over
 * it, so its unwritten part reads as zeros; then, without the lock, the data; and
 * last, with the lock, the BAT entry (fully present).  A kill at any point leaves
 * at worst an unreferenced block at the end of the file.  While a block is being
 * allocated it is marked pending, so a second writer of the same block waits
 * instead of allocating it twice; readers see zeros until the entry is published.
 * BAT updates go straight to the BAT rather than through the log: the ordering
 * above already makes every intermediate state consistent.
 */
#include "vhdx.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool pending_test(struct vhdx_state *s, uint64_t blk)
{
	return s->pending[blk / 8] & (1u << (blk % 8));
}

static void pending_set(struct vhdx_state *s, uint64_t blk, bool on)
{
	if (on)
		s->pending[blk / 8] |= (uint8_t)(1u << (blk % 8));
	else
		s->pending[blk / 8] &= (uint8_t)~(1u << (blk % 8));
}

/* New write GUIDs in both headers, once per session (lock held). */
static int begin_session(struct image *img, struct vhdx_state *s)
{
	int ret = 0;

	if (__atomic_load_n(&s->headers_updated, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&s->lock);
	if (!s->headers_updated) {
		vhdx_guid_random(&s->hdr.file_write_guid);
		vhdx_guid_random(&s->hdr.data_write_guid);
		ret = vhdx_write_headers(img, s);
		if (ret == 0)
			__atomic_store_n(&s->headers_updated, true, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int reserve_block(struct image *img, struct vhdx_state *s, uint64_t *off)
{
	uint64_t start = s->free_off, end = start + s->block_size;
	int ret;

	if (end > 2 * VHDX_MAX_SIZE)
		return err_set(-EFBIG, img->filename, "VHDX file would grow past 128 TiB");
	if (end > s->file_size) {
		ret = backend_truncate(img->be, end);
		if (ret < 0 && ret != -ENOTSUP)
			return ret;
		err_clear();
		s->file_size = end;
	}
	s->free_off = end;
	*off = start;
	return 0;
}

static int publish_block(struct image *img, struct vhdx_state *s, uint64_t blk,
			 uint64_t off)
{
	uint64_t idx = vhdx_payload_index(s, blk);
	uint64_t e = off | VHDX_PAYLOAD_FULLY_PRESENT;
	uint8_t le[8];
	int ret;

	store_le64(le, e);
	ret = backend_pwrite(img->be, le, sizeof(le), s->bat_off + 8 * idx);
	if (ret == 0)
		__atomic_store_n(&s->bat[idx], e, __ATOMIC_RELEASE);
	return ret;
}

/* Write n bytes at off, all inside payload block blk, allocating it if needed. */
static int write_in_block(struct image *img, struct vhdx_state *s, const uint8_t *buf,
			  uint64_t off, size_t n)
{
	uint64_t blk = off / s->block_size, in = off % s->block_size;
	uint64_t idx = vhdx_payload_index(s, blk), boff = 0;
	uint64_t e = vhdx_bat_get(s, idx);
	int ret;

	if ((e & VHDX_BAT_STATE_MASK) == VHDX_PAYLOAD_FULLY_PRESENT)
		goto write_data;
	pthread_mutex_lock(&s->lock);
	while (pending_test(s, blk))
		pthread_cond_wait(&s->alloc_done, &s->lock);
	e = vhdx_bat_get(s, idx);
	if ((e & VHDX_BAT_STATE_MASK) == VHDX_PAYLOAD_FULLY_PRESENT) {
		pthread_mutex_unlock(&s->lock);
		goto write_data;
	}
	ret = reserve_block(img, s, &boff);
	if (ret == 0)
		pending_set(s, blk, true);
	pthread_mutex_unlock(&s->lock);
	if (ret < 0)
		return ret;

	ret = backend_pwrite(img->be, buf, n, boff + in);
	pthread_mutex_lock(&s->lock);
	if (ret == 0)
		ret = publish_block(img, s, blk, boff);
	pending_set(s, blk, false);
	pthread_cond_broadcast(&s->alloc_done);
	pthread_mutex_unlock(&s->lock);
	return ret;

write_data:
	return backend_pwrite(img->be, buf, n,
			      (e >> VHDX_BAT_OFFSET_SHIFT << VHDX_BAT_OFFSET_SHIFT) + in);
}

int vhdx_write(struct image *img, const void *buf, uint64_t off, size_t len)
{
	struct vhdx_state *s = img->priv;
	const uint8_t *p = buf;
	int ret;

	if (s->has_parent)
		return err_set(-ENOTSUP, img->filename,
			       "writing differencing VHDX images is not supported");
	ret = begin_session(img, s);
	while (len && ret == 0) {
		size_t n = (size_t)MIN((uint64_t)len, s->block_size - off % s->block_size);

		ret = write_in_block(img, s, p, off, n);
		p += n;
		off += n;
		len -= n;
	}
	return ret;
}

/* Zero host bytes unless they are already a hole in the file (a fresh fixed
 * image is all holes: converting into it must not punch them one by one). */
static int zero_present(struct image *img, uint64_t hoff, uint64_t n, int be_flags)
{
	bool data = true;
	uint64_t run = 0;

	if (backend_extent(img->be, hoff, n, &data, &run) == 0 && !data && run >= n)
		return 0;
	err_clear();
	return backend_write_zeroes(img->be, hoff, n, be_flags);
}

/* Blocks that are not present already read as zeros; present ones get their
 * range zeroed (punched when allowed). */
int vhdx_write_zeroes(struct image *img, uint64_t off, uint64_t len, int flags)
{
	struct vhdx_state *s = img->priv;
	int be_flags = (flags & IMG_ZERO_MAY_UNMAP) ? BE_ZERO_MAY_UNMAP : 0;
	int ret;

	if (s->has_parent)
		return err_set(-ENOTSUP, img->filename,
			       "writing differencing VHDX images is not supported");
	ret = begin_session(img, s);
	while (len && ret == 0) {
		uint64_t blk = off / s->block_size, in = off % s->block_size;
		uint64_t n = MIN(len, s->block_size - in);
		uint64_t idx = vhdx_payload_index(s, blk);
		uint64_t e = vhdx_bat_get(s, idx);

		if ((e & VHDX_BAT_STATE_MASK) != VHDX_PAYLOAD_FULLY_PRESENT) {
			/* an allocation in flight may still land here: wait for it */
			pthread_mutex_lock(&s->lock);
			while (pending_test(s, blk))
				pthread_cond_wait(&s->alloc_done, &s->lock);
			pthread_mutex_unlock(&s->lock);
			e = vhdx_bat_get(s, idx);
		}
		if ((e & VHDX_BAT_STATE_MASK) == VHDX_PAYLOAD_FULLY_PRESENT)
			ret = zero_present(img, (e >> VHDX_BAT_OFFSET_SHIFT <<
						 VHDX_BAT_OFFSET_SHIFT) + in, n, be_flags);
		off += n;
		len -= n;
	}
	return ret;
}

int vhdx_flush(struct image *img)
{
	return backend_flush(img->be);
}
