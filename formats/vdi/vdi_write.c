/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vdi_write.c - writing a VDI: block allocation, write, write_zeroes, flush.
 *
 * A new block goes to the next free index of the data area and is written whole
 * (the guest bytes and zeros around them), then, as qemu orders it, the header
 * (blocks allocated) and last the block map entry: a kill at any instant leaves at
 * worst a block nothing points to.  The index is reserved under the lock and the
 * block marked pending, so a second writer of the same block waits instead of
 * allocating it twice; the data I/O runs outside the lock.
 */
#include "vdi.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool pending_test(struct vdi_state *s, uint32_t idx)
{
	return s->pending[idx / 8] & (1u << (idx % 8));
}

static void pending_set(struct vdi_state *s, uint32_t idx, bool on)
{
	if (on)
		s->pending[idx / 8] |= (uint8_t)(1u << (idx % 8));
	else
		s->pending[idx / 8] &= (uint8_t)~(1u << (idx % 8));
}

/* Wait (lock held) until no allocation of block idx is in flight. */
static void wait_pending(struct vdi_state *s, uint32_t idx)
{
	while (pending_test(s, idx))
		pthread_cond_wait(&s->alloc_done, &s->lock);
}

/* Lock held: header, then the map entry; then readers may see the block. */
static int publish_block(struct image *img, struct vdi_state *s, uint32_t idx,
			 uint32_t entry)
{
	uint8_t le[4];
	int ret;

	store_le32(s->header_buf + VDI_OFF_ALLOCATED, s->next_block);
	ret = backend_pwrite(img->be, s->header_buf, VDI_HEADER_BYTES, 0);
	store_le32(le, entry);
	if (ret == 0)
		ret = backend_pwrite(img->be, le, sizeof(le), s->h.offset_bmap + 4ULL * idx);
	if (ret == 0)
		__atomic_store_n(&s->bmap[idx], entry, __ATOMIC_RELEASE);
	return ret;
}

/* The whole new block: the guest bytes where they go, zeros elsewhere. */
static int write_new_block(struct image *img, struct vdi_state *s, uint32_t entry,
			   const uint8_t *buf, uint64_t in, size_t n)
{
	uint8_t *blk;
	int ret;

	if (in == 0 && n == s->h.block_size)
		return backend_pwrite(img->be, buf, n, vdi_block_offset(s, entry));
	blk = calloc(1, s->h.block_size);
	if (!blk)
		return err_set(-ENOMEM, img->filename, "out of memory");
	memcpy(blk + in, buf, n);
	ret = backend_pwrite(img->be, blk, s->h.block_size, vdi_block_offset(s, entry));
	free(blk);
	return ret;
}

/* Write n bytes at off, all inside guest block idx, allocating it if needed. */
static int write_in_block(struct image *img, struct vdi_state *s, const uint8_t *buf,
			  uint64_t off, size_t n)
{
	uint32_t idx = (uint32_t)(off / s->h.block_size);
	uint64_t in = off % s->h.block_size;
	uint32_t e = vdi_bmap_get(s, idx);
	int ret;

	if (VDI_IS_ALLOCATED(e))
		return backend_pwrite(img->be, buf, n, vdi_block_offset(s, e) + in);
	pthread_mutex_lock(&s->lock);
	wait_pending(s, idx);
	e = vdi_bmap_get(s, idx);
	if (VDI_IS_ALLOCATED(e)) {
		pthread_mutex_unlock(&s->lock);
		return backend_pwrite(img->be, buf, n, vdi_block_offset(s, e) + in);
	}
	if (s->next_block >= s->h.blocks) {
		pthread_mutex_unlock(&s->lock);
		return err_set(-ENOSPC, img->filename,
			       "no free data block left in the VDI image (run check)");
	}
	e = s->next_block++;
	pending_set(s, idx, true);
	pthread_mutex_unlock(&s->lock);

	ret = write_new_block(img, s, e, buf, in, n);
	pthread_mutex_lock(&s->lock);
	if (ret == 0)
		ret = publish_block(img, s, idx, e);
	pending_set(s, idx, false);
	pthread_cond_broadcast(&s->alloc_done);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int vdi_write(struct image *img, const void *buf, uint64_t off, size_t len)
{
	struct vdi_state *s = img->priv;
	const uint8_t *p = buf;
	int ret = 0;

	while (len && ret == 0) {
		size_t n = (size_t)MIN((uint64_t)len, s->h.block_size - off % s->h.block_size);

		ret = write_in_block(img, s, p, off, n);
		p += n;
		off += n;
		len -= n;
	}
	return ret;
}

/* Unallocated blocks already read as zeros; allocated ones are zeroed in place. */
int vdi_write_zeroes(struct image *img, uint64_t off, uint64_t len, int flags)
{
	struct vdi_state *s = img->priv;
	int be_flags = (flags & IMG_ZERO_MAY_UNMAP) ? BE_ZERO_MAY_UNMAP : 0;
	int ret = 0;

	while (len && ret == 0) {
		uint32_t idx = (uint32_t)(off / s->h.block_size);
		uint64_t in = off % s->h.block_size;
		uint64_t n = MIN(len, s->h.block_size - in);
		uint32_t e = vdi_bmap_get(s, idx);

		if (!VDI_IS_ALLOCATED(e)) {
			pthread_mutex_lock(&s->lock);
			wait_pending(s, idx);
			pthread_mutex_unlock(&s->lock);
			e = vdi_bmap_get(s, idx);
		}
		if (VDI_IS_ALLOCATED(e))
			ret = backend_write_zeroes(img->be, vdi_block_offset(s, e) + in, n,
						   be_flags);
		off += n;
		len -= n;
	}
	return ret;
}

int vdi_flush(struct image *img)
{
	return backend_flush(img->be);
}
