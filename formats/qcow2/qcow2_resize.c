/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2_resize.c - change the virtual size (qemu-img resize).
 *
 * Growing enlarges the L1 table if needed (exactly, as qemu does for truncate),
 * writes the new size and preallocates the new area per mode.  Shrinking (only
 * with --shrink, checked by image_resize) drops every cluster past the new end,
 * frees L2 tables that map only the cut-off range, clears their L1 entries (the
 * L1 size field stays, as with qemu 7.2) and trims unused clusters at the file's
 * tail.  As qemu 7.2, v3 images with internal snapshots can be shrunk (and grown):
 * an L2 table shared with a snapshot (L1 entry without COPIED) is never edited -
 * a partly cut table is first copied by zeroing its tail through the write path,
 * a wholly cut one is dropped from L1 before the references it held (the active
 * state's share) are released.
 */
#include "qcow2.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static int write_size(struct qcow2_state *s, uint64_t size)
{
	uint8_t be[8];
	int ret;

	store_be64(be, size);
	ret = backend_pwrite(s->img->be, be, 8, 24);
	if (ret == 0)
		ret = backend_flush(s->img->be);
	if (ret < 0)
		return ret;
	s->h.size = size;
	s->img->size = size;
	return 0;
}

/* Drop the clusters of [off, end) inside one L2 table (off cluster aligned). */
static int discard_piece(struct qcow2_state *s, uint64_t off, uint64_t end)
{
	uint64_t l1i = qcow2_l1_index(s, off), idx = qcow2_l2_index(s, off);
	uint64_t n = div_round_up(end - off, s->cluster_size);
	uint64_t l2_off = s->l1[l1i] & L1E_OFFSET_MASK;
	uint64_t *old;
	void *t;
	int ret;

	if (!l2_off)
		return 0;
	if (!is_aligned(l2_off, s->cluster_size))
		return err_set(-EIO, s->img->filename, "L1 entry %" PRIu64
			       " points to an unaligned L2 table", l1i);
	if (!(s->l1[l1i] & QCOW2_OFLAG_COPIED))
		return 0;   /* shared: whole table, released by shrink_l1() */
	old = malloc(n * sizeof(*old));
	if (!old)
		return err_set(-ENOMEM, s->img->filename, "out of memory");
	ret = qcow2_cache_get(s->l2_cache, l2_off, &t);
	if (ret < 0)
		goto out;
	for (uint64_t i = 0; i < n; i++) {
		old[i] = qcow2_l2_entry_get(s, t, idx + i);
		qcow2_l2_entry_set(s, t, idx + i, 0);
		if (s->extended_l2)
			qcow2_l2_bitmap_set(s, t, idx + i, 0);
	}
	qcow2_cache_mark_dirty(s->l2_cache, t);
	qcow2_cache_put(s->l2_cache, &t);
	/* the cleared entries reach the disk before the clusters are reusable */
	ret = qcow2_cache_flush(s->l2_cache);
	for (uint64_t i = 0; i < n && ret == 0; i++) {
		uint64_t e = old[i], host, nbytes;

		/* by host offset: with extended L2 the bitmap says nothing here */
		if (e & QCOW2_OFLAG_COMPRESSED) {
			qcow2_compressed_extent(s, e, &host, &nbytes);
			ret = qcow2_free_clusters(s, host, nbytes);
		} else if (e & L2E_OFFSET_MASK) {
			ret = qcow2_free_clusters(s, e & L2E_OFFSET_MASK, s->cluster_size);
		}
	}
out:
	free(old);
	return ret;
}

/* The entries of a shared L2 table (its references held for the active state). */
static int read_shared_entries(struct qcow2_state *s, uint64_t l2_off, uint64_t **out)
{
	uint64_t *e = malloc(s->l2_entries * sizeof(*e));
	void *t;
	int ret;

	*out = NULL;
	if (!e)
		return err_set(-ENOMEM, s->img->filename, "out of memory");
	ret = qcow2_cache_get(s->l2_cache, l2_off, &t);
	if (ret < 0) {
		free(e);
		return ret;
	}
	for (uint64_t j = 0; j < s->l2_entries; j++)
		e[j] = qcow2_l2_entry_get(s, t, j);
	qcow2_cache_put(s->l2_cache, &t);
	*out = e;
	return 0;
}

/* Drop the references a shared table's entries held for the active L1. */
static int release_entries(struct qcow2_state *s, const uint64_t *e)
{
	int ret = 0;

	for (uint64_t j = 0; e && j < s->l2_entries && ret == 0; j++) {
		uint64_t host, nbytes;

		if (e[j] & QCOW2_OFLAG_COMPRESSED) {
			qcow2_compressed_extent(s, e[j], &host, &nbytes);
			ret = qcow2_free_clusters(s, host, nbytes);
		} else if (e[j] & L2E_OFFSET_MASK) {
			ret = qcow2_free_clusters(s, e[j] & L2E_OFFSET_MASK, s->cluster_size);
		}
	}
	return ret;
}

/* Free the L2 tables of L1 entries from first on (they map nothing now).  The
 * L1 entry is cleared on disk before any reference it implied is dropped. */
static int shrink_l1(struct qcow2_state *s, uint64_t first)
{
	uint8_t zero[8] = { 0 };
	int ret;

	for (uint64_t i = first; i < s->h.l1_size; i++) {
		uint64_t l2_off = s->l1[i] & L1E_OFFSET_MASK;
		uint64_t *shared = NULL;

		if (!l2_off)
			continue;
		if (!(s->l1[i] & QCOW2_OFLAG_COPIED)) {
			ret = read_shared_entries(s, l2_off, &shared);
			if (ret < 0)
				return ret;
		}
		ret = backend_pwrite(s->img->be, zero, 8, s->h.l1_table_offset + i * 8);
		if (ret == 0)
			ret = backend_flush(s->img->be);
		if (ret == 0) {
			s->l1[i] = 0;
			ret = release_entries(s, shared);
		}
		if (ret == 0)
			ret = qcow2_free_clusters(s, l2_off, s->cluster_size);
		free(shared);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Cut the file after the last cluster still in use (a failure is harmless). */
static void trim_tail(struct qcow2_state *s)
{
	uint64_t fsize, c, rc = 0;

	if (qcow2_cache_flush(s->refcount_cache) < 0 || backend_size(s->img->be, &fsize) < 0) {
		err_clear();
		return;
	}
	for (c = div_round_up(fsize, s->cluster_size); c > 0; c--) {
		if (qcow2_refcount_get(s, c - 1, &rc) < 0) {
			err_clear();
			return;
		}
		if (rc)
			break;
	}
	if (c * s->cluster_size < fsize) {
		if (backend_truncate(s->img->be, c * s->cluster_size) < 0)
			err_clear();
		else
			s->file_size = c * s->cluster_size;
	}
}

static int shrink(struct qcow2_state *s, uint64_t new_size)
{
	uint64_t cs = s->cluster_size;
	uint64_t span = s->l2_entries * cs;
	uint64_t start = align_up(new_size, cs);
	uint64_t old_end = align_up(s->h.size, cs);
	int ret = 0;

	for (uint64_t pos = start; pos < old_end && ret == 0;) {
		uint64_t n = MIN(old_end - pos, span - pos % span);
		if (qcow2_l1_index(s, pos) < s->h.l1_size)
			ret = discard_piece(s, pos, pos + n);
		pos += n;
	}
	if (ret == 0)
		ret = qcow2_cache_flush(s->l2_cache);
	if (ret == 0)
		ret = shrink_l1(s, div_round_up(start, span));
	if (ret == 0)
		ret = write_size(s, new_size);
	if (ret == 0)
		trim_tail(s);
	return ret;
}

/* With snapshots, the L2 table holding the new end may be shared: zeroing the
 * cut part of it through the write path copies it first (and drops what the cut
 * entries held), so that shrink() then only edits a table of its own. */
static int unshare_partial_table(struct image *img, uint64_t new_size)
{
	struct qcow2_state *s = qcow2_state(img);
	uint64_t span = s->l2_entries * s->cluster_size;
	uint64_t start = align_up(new_size, s->cluster_size);
	uint64_t end = MIN(align_up(start, span), s->h.size);

	if (start % span == 0 || start >= end)
		return 0;
	return qcow2_write_zeroes(img, start, end - start, IMG_ZERO_MAY_UNMAP);
}

int qcow2_resize(struct image *img, uint64_t new_size, enum prealloc_mode prealloc,
		 bool do_shrink)
{
	struct qcow2_state *s = qcow2_state(img);
	uint64_t old_size = s->h.size;
	uint64_t l1_needed;
	int ret;

	if (s->nb_snapshots && s->h.version < 3)
		return err_set(-ENOTSUP, img->filename,
			       "Can't resize a v2 image which has snapshots");
	if (new_size == old_size)
		return 0;
	/* each bitmap's table is sized for the disk: not resized yet */
	if (s->nb_bitmaps)
		return err_set(-ENOTSUP, img->filename,
			       "Can't resize an image which has bitmaps (remove them first)");
	if (new_size < old_size) {
		if (!do_shrink)
			return err_set(-EINVAL, img->filename,
				       "Use the --shrink option to perform a shrink operation");
		if (prealloc != PREALLOC_OFF)
			return err_set(-ENOTSUP, img->filename,
				       "Preallocation can't be used for shrinking an image");
		if (s->nb_snapshots) {
			ret = unshare_partial_table(img, new_size);
			if (ret < 0)
				return ret;
		}
		pthread_mutex_lock(&s->lock);
		ret = shrink(s, new_size);
		pthread_mutex_unlock(&s->lock);
		return ret;
	}

	l1_needed = qcow2_l1_entries_for(s, new_size);
	if (l1_needed > QCOW2_MAX_L1_BYTES / 8)
		return err_set(-EFBIG, img->filename, "The image size is too large for file "
			       "format 'qcow2' (try using a larger cluster size)");
	pthread_mutex_lock(&s->lock);
	ret = qcow2_grow_l1(s, l1_needed);
	if (ret == 0)
		ret = write_size(s, new_size);
	pthread_mutex_unlock(&s->lock);
	if (ret < 0)
		return ret;
	return qcow2_preallocate(s, old_size, new_size, prealloc);
}
