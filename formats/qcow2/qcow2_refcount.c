/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2_refcount.c - refcounts: the refcount table, reading and updating refcount
 * blocks (any refcount_bits 1..64) through the refcount cache, cluster allocation
 * (first fit from s->free_cluster_index), byte-granular allocation for compressed
 * clusters, creating refcount blocks and growing the refcount table.
 *
 * Everything here runs with s->lock held.  Ordering: a new refcount block is on disk
 * before the refcount table entry that points to it; a new refcount table (with all
 * its new blocks) is on disk before the header points to it; the old table is freed
 * only afterwards.  So a crash leaves at worst leaked clusters.
 */
#include "qcow2.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Host offsets must fit the 56-bit offset fields of L1/L2 entries. */
#define QCOW2_MAX_HOST_OFFSET (1ULL << 56)

/* How deep refcount-block creation may recurse (a block describing another's
 * cluster); a sane image needs at most 2. */
#define MAX_REFBLOCK_DEPTH 4

static int ensure_refblock(struct qcow2_state *s, uint64_t rb_index, int depth);

static uint64_t rb_entry_get(const struct qcow2_state *s, const void *table, uint64_t i)
{
	const uint8_t *p = table;
	uint32_t bits = s->refcount_bits;
	uint64_t bit;

	switch (bits) {
	case 64:
		return load_be64(p + i * 8);
	case 32:
		return load_be32(p + i * 4);
	case 16:
		return load_be16(p + i * 2);
	case 8:
		return p[i];
	default:
		/* sub-byte widths: bit 0 of a byte holds the lowest entry */
		bit = i * bits;
		return (p[bit / 8] >> (bit % 8)) & ((1u << bits) - 1);
	}
}

static void rb_entry_set(const struct qcow2_state *s, void *table, uint64_t i, uint64_t v)
{
	uint8_t *p = table;
	uint32_t bits = s->refcount_bits;
	uint64_t bit;
	uint8_t mask;

	switch (bits) {
	case 64:
		store_be64(p + i * 8, v);
		return;
	case 32:
		store_be32(p + i * 4, (uint32_t)v);
		return;
	case 16:
		store_be16(p + i * 2, (uint16_t)v);
		return;
	case 8:
		p[i] = (uint8_t)v;
		return;
	default:
		bit = i * bits;
		mask = (uint8_t)(((1u << bits) - 1) << (bit % 8));
		p[bit / 8] = (uint8_t)((p[bit / 8] & ~mask) | ((v << (bit % 8)) & mask));
		return;
	}
}

static uint64_t refcount_max(const struct qcow2_state *s)
{
	if (s->refcount_bits >= 64)
		return UINT64_MAX;
	return (1ULL << s->refcount_bits) - 1;
}

int qcow2_refcount_init(struct qcow2_state *s)
{
	const char *fn = s->img->filename;
	uint64_t off = s->h.refcount_table_offset;
	uint64_t bytes = (uint64_t)s->h.refcount_table_clusters << s->cluster_bits;
	uint8_t *buf;
	int ret;

	if (!is_aligned(off, s->cluster_size) || off == 0)
		return err_set(-EINVAL, fn, "refcount table offset %#" PRIx64
			       " invalid (not cluster aligned)", off);
	if (s->h.refcount_table_clusters == 0)
		return err_set(-EINVAL, fn, "refcount table is empty");
	if (bytes > QCOW2_MAX_REFTABLE_BYTES)
		return err_set(-EFBIG, fn, "refcount table too large (%" PRIu64 " bytes)",
			       bytes);
	/* past EOF reads as zeros (no refcount blocks): check -r can still repair */
	if (off >= QCOW2_MAX_HOST_OFFSET)
		return err_set(-EINVAL, fn, "refcount table offset %#" PRIx64 " invalid", off);
	buf = malloc(bytes);
	if (!buf)
		return err_set(-ENOMEM, fn, "out of memory");
	ret = backend_pread(s->img->be, buf, bytes, off);
	if (ret < 0) {
		free(buf);
		return ret;
	}
	free(s->reftable);
	s->reftable_size = bytes / 8;
	s->reftable = (uint64_t *)buf;
	/* convert in place to host order */
	for (uint64_t i = 0; i < s->reftable_size; i++)
		s->reftable[i] = load_be64(buf + i * 8);
	s->free_cluster_index = 0;
	return 0;
}

/* Offset of refcount block rb_index, 0 if none; -EIO for a corrupt entry. */
static int refblock_offset(struct qcow2_state *s, uint64_t rb_index, uint64_t *off)
{
	uint64_t e;

	*off = 0;
	if (rb_index >= s->reftable_size)
		return 0;
	e = s->reftable[rb_index];
	if (e & REFT_RESERVED_MASK)
		return err_set(-EIO, s->img->filename,
			       "refcount table entry %" PRIu64 " has reserved bits set", rb_index);
	e &= REFT_OFFSET_MASK;
	if (e && (!is_aligned(e, s->cluster_size) || e >= QCOW2_MAX_HOST_OFFSET))
		return err_set(-EIO, s->img->filename,
			       "refcount block %" PRIu64 " at %#" PRIx64 " is not cluster aligned",
			       rb_index, e);
	*off = e;
	return 0;
}

int qcow2_refcount_get(struct qcow2_state *s, uint64_t cluster_index, uint64_t *refcount)
{
	uint64_t rb_off;
	void *t;
	int ret;

	*refcount = 0;
	ret = refblock_offset(s, cluster_index / s->refblock_entries, &rb_off);
	if (ret < 0 || !rb_off)
		return ret;
	ret = qcow2_cache_get(s->refcount_cache, rb_off, &t);
	if (ret < 0)
		return ret;
	*refcount = rb_entry_get(s, t, cluster_index % s->refblock_entries);
	qcow2_cache_put(s->refcount_cache, &t);
	return 0;
}

static void note_file_end(struct qcow2_state *s, uint64_t end)
{
	if (end > s->file_size)
		s->file_size = end;
}

/*
 * Find the first run of n clusters with refcount 0 at or after the hint.  Clusters
 * without a refcount block (or beyond the table) are free.
 */
static int find_free_run(struct qcow2_state *s, uint64_t n, uint64_t *start_out)
{
	uint64_t rbe = s->refblock_entries;
	uint64_t idx = s->free_cluster_index;
	uint64_t max_idx = QCOW2_MAX_HOST_OFFSET >> s->cluster_bits;
	uint64_t start = idx, run = 0;
	int ret;

	while (run < n) {
		uint64_t rb_off;
		void *t;

		if (idx >= max_idx)
			return err_set(-ENOSPC, s->img->filename,
				       "no free cluster below the 64 PiB limit of qcow2");
		ret = refblock_offset(s, idx / rbe, &rb_off);
		if (ret < 0)
			return ret;
		if (!rb_off) {
			uint64_t left = rbe - idx % rbe;
			if (run == 0)
				start = idx;
			run += left;
			idx += left;
			continue;
		}
		ret = qcow2_cache_get(s->refcount_cache, rb_off, &t);
		if (ret < 0)
			return ret;
		for (uint64_t j = idx % rbe; j < rbe && run < n; j++, idx++) {
			if (rb_entry_get(s, t, j)) {
				run = 0;
				continue;
			}
			if (run == 0)
				start = idx;
			run++;
		}
		qcow2_cache_put(s->refcount_cache, &t);
	}
	*start_out = start;
	return 0;
}

/* Write one reftable entry to disk and to memory. */
static int reftable_set(struct qcow2_state *s, uint64_t rb_index, uint64_t off)
{
	uint8_t be[8];
	int ret;

	store_be64(be, off);
	ret = backend_pwrite(s->img->be, be, 8, s->h.refcount_table_offset + rb_index * 8);
	if (ret < 0)
		return ret;
	s->reftable[rb_index] = off;
	return 0;
}

/* Add delta to the refcounts of clusters [first, first+n); no allocation of
 * refcount blocks (they must exist for increments).  On failure nothing changed. */
static int update_clusters(struct qcow2_state *s, uint64_t first, uint64_t n, int64_t delta)
{
	uint64_t rbe = s->refblock_entries;
	uint64_t max = refcount_max(s);
	uint64_t done = 0;
	int ret = 0;

	while (done < n) {
		uint64_t idx = first + done;
		uint64_t rb_off, j, cnt;
		void *t;

		ret = refblock_offset(s, idx / rbe, &rb_off);
		if (ret < 0)
			break;
		if (!rb_off) {
			ret = err_set(-EIO, s->img->filename,
				      "refcount of cluster %" PRIu64 " would %s (no refcount block)",
				      idx, delta < 0 ? "underflow" : "change without a block");
			break;
		}
		ret = qcow2_cache_get(s->refcount_cache, rb_off, &t);
		if (ret < 0)
			break;
		j = idx % rbe;
		cnt = MIN(n - done, rbe - j);
		/* validate first so that a block is changed all or nothing */
		for (uint64_t k = 0; k < cnt; k++) {
			uint64_t v = rb_entry_get(s, t, j + k);
			if ((delta < 0 && v < (uint64_t)-delta) ||
			    (delta > 0 && max - v < (uint64_t)delta)) {
				qcow2_cache_put(s->refcount_cache, &t);
				ret = err_set(-EIO, s->img->filename,
					      "refcount of cluster %" PRIu64 " would %s (%" PRIu64
					      " %+" PRId64 ")", idx + k,
					      delta < 0 ? "underflow" : "overflow", v, delta);
				goto revert;
			}
		}
		for (uint64_t k = 0; k < cnt; k++) {
			uint64_t v = rb_entry_get(s, t, j + k) + (uint64_t)delta;
			rb_entry_set(s, t, j + k, v);
			if (v == 0) {
				uint64_t off = (idx + k) << s->cluster_bits;
				/* a freed table must not be written back later */
				qcow2_cache_discard(s->l2_cache, off);
				if (off != rb_off)
					qcow2_cache_discard(s->refcount_cache, off);
				if (idx + k < s->free_cluster_index)
					s->free_cluster_index = idx + k;
			}
		}
		qcow2_cache_mark_dirty(s->refcount_cache, t);
		qcow2_cache_put(s->refcount_cache, &t);
		done += cnt;
	}
	return ret;
revert:
	if (done)
		update_clusters(s, first, done, -delta);
	return ret;
}

/*
 * Grow the refcount table to at least min_entries.  The new table and the refcount
 * blocks that describe it go at the end of the file; they are written completely,
 * then the header is switched, then the old table is freed.
 */
static int grow_reftable(struct qcow2_state *s, uint64_t min_entries)
{
	const char *fn = s->img->filename;
	uint64_t cs = s->cluster_size, rbe = s->refblock_entries;
	uint64_t start = div_round_up(s->file_size, cs);
	uint64_t entries, tclusters = 0, nrb = 0, prev;
	uint64_t old_off = s->h.refcount_table_offset;
	uint64_t old_clusters = s->h.refcount_table_clusters;
	uint64_t *newtab = NULL;
	uint8_t *buf = NULL, hdr[12];
	int ret;

	entries = MAX(min_entries, s->reftable_size + s->reftable_size / 2);
	/* fixed point: the table and its new blocks must be covered by the table */
	do {
		uint64_t end, first_rb, last_rb;

		prev = tclusters + nrb;
		tclusters = div_round_up(entries * 8, cs);
		end = start + tclusters + nrb;
		first_rb = start / rbe;
		last_rb = (end - 1) / rbe;
		if (last_rb + 1 > entries) {
			entries = last_rb + 1;
			tclusters = div_round_up(entries * 8, cs);
		}
		nrb = 0;
		for (uint64_t i = first_rb; i <= last_rb; i++)
			if (i >= s->reftable_size || !s->reftable[i])
				nrb++;
	} while (tclusters + nrb != prev);
	entries = tclusters * cs / 8;
	if (tclusters * cs > QCOW2_MAX_REFTABLE_BYTES)
		return err_set(-EFBIG, fn, "refcount table would exceed %llu MiB",
			       QCOW2_MAX_REFTABLE_BYTES / (1024 * 1024));

	newtab = calloc(entries, sizeof(uint64_t));
	buf = calloc(1, cs);
	if (!newtab || !buf) {
		ret = err_set(-ENOMEM, fn, "out of memory");
		goto out;
	}
	memcpy(newtab, s->reftable, s->reftable_size * sizeof(uint64_t));

	/* new refcount blocks, right after the table */
	uint64_t area_end = start + tclusters + nrb;
	uint64_t rb_cluster = start + tclusters;
	for (uint64_t i = start / rbe; i <= (area_end - 1) / rbe; i++) {
		if (i < s->reftable_size && s->reftable[i])
			continue;
		memset(buf, 0, cs);
		for (uint64_t c = MAX(start, i * rbe); c < MIN(area_end, (i + 1) * rbe); c++)
			rb_entry_set(s, buf, c % rbe, 1);
		ret = backend_pwrite(s->img->be, buf, cs, rb_cluster * cs);
		if (ret < 0)
			goto out;
		newtab[i] = rb_cluster * cs;
		rb_cluster++;
	}
	/* clusters of the new area described by blocks that already exist */
	for (uint64_t i = start / rbe; i <= (area_end - 1) / rbe; i++) {
		uint64_t a, b;

		if (!(i < s->reftable_size && s->reftable[i]))
			continue;
		a = MAX(start, i * rbe);
		b = MIN(area_end, (i + 1) * rbe);
		ret = update_clusters(s, a, b - a, 1);
		if (ret < 0)
			goto out;
	}
	ret = qcow2_cache_flush(s->refcount_cache);
	if (ret < 0)
		goto out;

	/* the table itself (cluster-sized buffer reused per cluster) */
	for (uint64_t c = 0; c < tclusters; c++) {
		for (uint64_t k = 0; k < cs / 8; k++)
			store_be64(buf + k * 8, newtab[c * (cs / 8) + k]);
		ret = backend_pwrite(s->img->be, buf, cs, (start + c) * cs);
		if (ret < 0)
			goto out;
	}
	note_file_end(s, area_end * cs);
	ret = backend_flush(s->img->be);
	if (ret < 0)
		goto out;

	/* switch: offset (8 bytes at 48) and clusters (4 bytes at 56) together */
	store_be64(hdr, start * cs);
	store_be32(hdr + 8, (uint32_t)tclusters);
	ret = backend_pwrite(s->img->be, hdr, 12, 48);
	if (ret < 0)
		goto out;
	ret = backend_flush(s->img->be);
	if (ret < 0)
		goto out;
	free(s->reftable);
	s->reftable = newtab;
	newtab = NULL;
	s->reftable_size = entries;
	s->h.refcount_table_offset = start * cs;
	s->h.refcount_table_clusters = (uint32_t)tclusters;

	/* the old table is garbage now; a failure here only leaks it */
	ret = qcow2_free_clusters(s, old_off, old_clusters * cs);
	if (ret < 0)
		err_clear();
	ret = 0;
out:
	free(newtab);
	free(buf);
	return ret;
}

/* Make sure refcount block rb_index exists (creating and hooking it up). */
static int ensure_refblock(struct qcow2_state *s, uint64_t rb_index, int depth)
{
	uint64_t rbe = s->refblock_entries, cs = s->cluster_size;
	uint64_t rb_off, c;
	uint8_t *buf;
	int ret;

	if (depth > MAX_REFBLOCK_DEPTH)
		return err_set(-EIO, s->img->filename,
			       "internal error: refcount block allocation does not converge");
	if (rb_index >= s->reftable_size) {
		ret = grow_reftable(s, rb_index + 1);
		if (ret < 0)
			return ret;
	}
	ret = refblock_offset(s, rb_index, &rb_off);
	if (ret < 0 || rb_off)
		return ret;

	ret = find_free_run(s, 1, &c);
	if (ret < 0)
		return ret;
	if (c / rbe != rb_index) {
		/* the block lives in a range another block describes */
		ret = ensure_refblock(s, c / rbe, depth + 1);
		if (ret < 0)
			return ret;
		/* that may have used cluster c or changed the table; look again */
		ret = refblock_offset(s, rb_index, &rb_off);
		if (ret < 0 || rb_off)
			return ret;
		ret = find_free_run(s, 1, &c);
		if (ret < 0)
			return ret;
	}

	buf = calloc(1, cs);
	if (!buf)
		return err_set(-ENOMEM, s->img->filename, "out of memory");
	if (c / rbe == rb_index) {
		/* the block describes itself */
		rb_entry_set(s, buf, c % rbe, 1);
	} else {
		ret = update_clusters(s, c, 1, 1);
		if (ret == 0)
			ret = qcow2_cache_flush(s->refcount_cache);
		if (ret < 0)
			goto out;
	}
	s->free_cluster_index = MAX(s->free_cluster_index, c + 1);
	/* no stale cached copy may shadow the new block */
	qcow2_cache_discard(s->refcount_cache, c * cs);
	qcow2_cache_discard(s->l2_cache, c * cs);
	ret = backend_pwrite(s->img->be, buf, cs, c * cs);
	if (ret < 0)
		goto out;
	note_file_end(s, (c + 1) * cs);
	if (!s->lazy_refcounts) {
		ret = backend_flush(s->img->be);
		if (ret < 0)
			goto out;
	}
	ret = reftable_set(s, rb_index, c * cs);
out:
	free(buf);
	return ret;
}

/* Create every missing refcount block for clusters [first, first+n).  Sets
 * *created when it allocated anything (the free run may have been used). */
static int ensure_refblocks(struct qcow2_state *s, uint64_t first, uint64_t n, bool *created)
{
	uint64_t rbe = s->refblock_entries;
	int ret;

	*created = false;
	for (uint64_t i = first / rbe; i <= (first + n - 1) / rbe; i++) {
		uint64_t rb_off;

		ret = refblock_offset(s, i, &rb_off);
		if (ret < 0)
			return ret;
		if (rb_off)
			continue;
		ret = ensure_refblock(s, i, 0);
		if (ret < 0)
			return ret;
		*created = true;
	}
	return 0;
}

int qcow2_refcount_update(struct qcow2_state *s, uint64_t offset, uint64_t len,
			  int64_t delta)
{
	uint64_t first, last, end;
	bool created;
	int ret;

	if (len == 0 || delta == 0)
		return 0;
	if (!add_ok(offset, len, &end) || end > QCOW2_MAX_HOST_OFFSET)
		return err_set(-EIO, s->img->filename,
			       "refcount update for %#" PRIx64 "+%#" PRIx64 " out of range",
			       offset, len);
	first = offset >> s->cluster_bits;
	last = (end - 1) >> s->cluster_bits;
	if (delta > 0) {
		ret = ensure_refblocks(s, first, last - first + 1, &created);
		if (ret < 0)
			return ret;
	}
	return update_clusters(s, first, last - first + 1, delta);
}

int qcow2_alloc_clusters(struct qcow2_state *s, uint64_t n, uint64_t *offset)
{
	uint64_t start;
	bool created;
	int ret;

	if (n == 0)
		return err_set(-EINVAL, s->img->filename, "internal error: allocating 0 clusters");
	for (int tries = 0; tries < 16; tries++) {
		ret = find_free_run(s, n, &start);
		if (ret < 0)
			return ret;
		ret = ensure_refblocks(s, start, n, &created);
		if (ret < 0)
			return ret;
		if (created)
			continue;   /* new blocks may sit inside the run: search again */
		ret = update_clusters(s, start, n, 1);
		if (ret < 0)
			return ret;
		s->free_cluster_index = start + n;
		*offset = start << s->cluster_bits;
		note_file_end(s, (start + n) << s->cluster_bits);
		return 0;
	}
	return err_set(-EIO, s->img->filename,
		       "internal error: cluster allocation does not converge");
}

/* Take cluster index c if it is free (for compressed data spilling over). */
static int try_alloc_cluster_at(struct qcow2_state *s, uint64_t c, bool *got)
{
	uint64_t rc;
	bool created;
	int ret;

	*got = false;
	ret = ensure_refblocks(s, c, 1, &created);
	if (ret < 0)
		return ret;
	ret = qcow2_refcount_get(s, c, &rc);
	if (ret < 0 || rc)
		return ret;
	ret = update_clusters(s, c, 1, 1);
	if (ret < 0)
		return ret;
	note_file_end(s, (c + 1) << s->cluster_bits);
	*got = true;
	return 0;
}

int qcow2_alloc_bytes(struct qcow2_state *s, uint64_t len, uint64_t *offset)
{
	uint64_t cs = s->cluster_size;
	uint64_t off = s->free_byte_offset;
	uint64_t rc;
	int ret;

	if (len == 0 || len > cs)
		return err_set(-EINVAL, s->img->filename,
			       "internal error: byte allocation of %" PRIu64 " bytes", len);
	if (off) {
		/* the partly used cluster may have been freed or be saturated */
		ret = qcow2_refcount_get(s, off >> s->cluster_bits, &rc);
		if (ret < 0)
			return ret;
		if (rc == 0 || rc >= refcount_max(s))
			off = 0;
	}
	if (off && cs - (off & (cs - 1)) < len) {
		/* spill into the next cluster only if it is free */
		bool got;
		uint64_t next = (off >> s->cluster_bits) + 1;

		ret = try_alloc_cluster_at(s, next, &got);
		if (ret < 0)
			return ret;
		if (got) {
			ret = update_clusters(s, off >> s->cluster_bits, 1, 1);
			if (ret < 0)
				return ret;
			goto done;
		}
		off = 0;
	}
	if (!off) {
		ret = qcow2_alloc_clusters(s, 1, &off);
		if (ret < 0)
			return ret;
	} else {
		ret = update_clusters(s, off >> s->cluster_bits, 1, 1);
		if (ret < 0)
			return ret;
	}
done:
	*offset = off;
	s->free_byte_offset = off + len;
	if (is_aligned(s->free_byte_offset, cs))
		s->free_byte_offset = 0;
	return 0;
}

int qcow2_free_clusters(struct qcow2_state *s, uint64_t offset, uint64_t len)
{
	uint64_t end;

	if (len == 0)
		return 0;
	if (!add_ok(offset, len, &end))
		return err_set(-EIO, s->img->filename, "freeing an invalid range");
	return qcow2_refcount_update(s, offset, len, -1);
}
