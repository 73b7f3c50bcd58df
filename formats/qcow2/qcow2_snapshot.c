/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2_snapshot.c - internal snapshots: create, list, apply (revert), delete, and
 * a read-only view of a snapshot's contents (convert -l).
 *
 * Every change is one transaction over shadow metadata: the refcounts of the
 * whole file are loaded into memory, the operation applies its deltas there (+1
 * for every L2 table and data cluster a new L1 reaches, -1 for what a dropped L1
 * reached), and everything the new state needs is written to clusters that are
 * free both before and after it - new L1 tables, copies of the active L2 tables
 * whose COPIED flags change, a new snapshot table, and a complete new set of
 * refcount blocks with a new refcount table.  Only then is the header switched
 * in ONE write of bytes 24..72 (size, L1, refcount table and snapshot table
 * fields, all in the first sector).  A kill before that write leaves the old
 * image untouched (the new clusters were free in it); after it, the new image is
 * complete.  So qemu-img check never sees a refcount that disagrees with a
 * COPIED flag, which an in-place update (qemu's way) cannot avoid mid-way.
 *
 * The shadow copy costs one refcount entry per cluster in memory (capped) and a
 * rewrite of the refcount blocks (one 64 KiB block per 2 GiB with the defaults).
 * COPIED flags follow the spec: set on an active L1/L2 entry exactly when the
 * table/cluster it points to has refcount 1.  Active L2 tables that must change
 * flags are copied rather than edited, because the old state (or a snapshot)
 * still points to them.
 */
#include "qcow2.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>

/* Refcounts kept in memory during a transaction: 8 bytes per cluster. */
#define TXN_MAX_CLUSTERS (1ULL << 25)

struct txn {
	struct qcow2_state *s;
	uint64_t *rc;          /* refcounts after the transaction */
	uint8_t *old_used;     /* 1: cluster in use before it (never overwritten) */
	uint64_t n;            /* clusters covered */
	uint64_t cap;
	uint64_t hint;         /* first-fit search start */
	uint8_t *tbuf;         /* one cluster, for L2 tables */
};

/* ---- refcount block entries (any refcount width) ---- */

static uint64_t rb_get(const struct qcow2_state *s, const uint8_t *p, uint64_t i)
{
	uint32_t bits = s->refcount_bits;
	uint64_t bit;

	switch (bits) {
	case 64: return load_be64(p + i * 8);
	case 32: return load_be32(p + i * 4);
	case 16: return load_be16(p + i * 2);
	case 8: return p[i];
	default:
		bit = i * bits;
		return (p[bit / 8] >> (bit % 8)) & ((1u << bits) - 1);
	}
}

static void rb_set(const struct qcow2_state *s, uint8_t *p, uint64_t i, uint64_t v)
{
	uint32_t bits = s->refcount_bits;
	uint64_t bit;

	switch (bits) {
	case 64: store_be64(p + i * 8, v); return;
	case 32: store_be32(p + i * 4, (uint32_t)v); return;
	case 16: store_be16(p + i * 2, (uint16_t)v); return;
	case 8: p[i] = (uint8_t)v; return;
	default:
		bit = i * bits;
		p[bit / 8] |= (uint8_t)(v << (bit % 8));   /* buffer starts zeroed */
		return;
	}
}

/* ---- the transaction ---- */

static void txn_free(struct txn *t)
{
	free(t->rc);
	free(t->old_used);
	free(t->tbuf);
	memset(t, 0, sizeof(*t));
}

static int txn_grow(struct txn *t, uint64_t n)
{
	uint64_t cap = t->cap;
	uint64_t *rc;
	uint8_t *used;

	if (n <= t->cap)
		goto done;
	if (n > TXN_MAX_CLUSTERS)
		return err_set(-EFBIG, t->s->img->filename, "image too large for snapshot "
			       "operations (%" PRIu64 " clusters)", n);
	cap = MAX(n, cap + cap / 2 + 64);
	cap = MIN(cap, TXN_MAX_CLUSTERS);
	rc = realloc(t->rc, cap * sizeof(*rc));
	if (!rc)
		return err_set(-ENOMEM, t->s->img->filename, "out of memory");
	t->rc = rc;
	used = realloc(t->old_used, cap);
	if (!used)
		return err_set(-ENOMEM, t->s->img->filename, "out of memory");
	t->old_used = used;
	memset(t->rc + t->cap, 0, (cap - t->cap) * sizeof(*rc));
	memset(t->old_used + t->cap, 0, cap - t->cap);
	t->cap = cap;
done:
	if (n > t->n)
		t->n = n;
	return 0;
}

static int txn_load_refblock(struct txn *t, uint64_t rb_index, uint8_t *buf, uint64_t fsize)
{
	struct qcow2_state *s = t->s;
	uint64_t off = s->reftable[rb_index] & REFT_OFFSET_MASK;
	uint64_t first = rb_index * s->refblock_entries;
	uint64_t n;
	int ret;

	if (!off || first >= t->n)
		return 0;
	if (!is_aligned(off, s->cluster_size) || off + s->cluster_size > fsize)
		return err_set(-EIO, s->img->filename, "refcount block %" PRIu64 " at %#"
			       PRIx64 " is invalid; run 'check -r all'", rb_index, off);
	ret = backend_pread(s->img->be, buf, s->cluster_size, off);
	if (ret < 0)
		return ret;
	n = MIN(s->refblock_entries, t->n - first);
	for (uint64_t j = 0; j < n; j++)
		t->rc[first + j] = rb_get(s, buf, j);
	return 0;
}

/* Write back every cached table and load all refcounts of the file. */
static int txn_begin(struct qcow2_state *s, struct txn *t)
{
	uint64_t fsize;
	int ret;

	memset(t, 0, sizeof(*t));
	t->s = s;
	ret = qcow2_cache_flush(s->l2_cache);
	if (ret == 0)
		ret = qcow2_cache_flush(s->refcount_cache);
	if (ret == 0)
		ret = backend_flush(s->img->be);
	if (ret == 0)
		ret = backend_size(s->img->be, &fsize);
	if (ret < 0)
		return ret;
	fsize = MAX(fsize, s->file_size);
	t->tbuf = backend_buf_alloc(s->cluster_size);
	if (!t->tbuf)
		return err_set(-ENOMEM, s->img->filename, "out of memory");
	ret = txn_grow(t, div_round_up(fsize, s->cluster_size));
	for (uint64_t i = 0; ret == 0 && i < s->reftable_size; i++)
		ret = txn_load_refblock(t, i, t->tbuf, fsize);
	if (ret < 0) {
		txn_free(t);
		return ret;
	}
	for (uint64_t c = 0; c < t->n; c++)
		t->old_used[c] = t->rc[c] != 0;
	return 0;
}

/* Add delta to every cluster touching [off, off+len). */
static int txn_ref(struct txn *t, uint64_t off, uint64_t len, int64_t delta)
{
	struct qcow2_state *s = t->s;
	uint64_t first, last;

	if (!len)
		return 0;
	first = off >> s->cluster_bits;
	last = (off + len - 1) >> s->cluster_bits;
	if (off + len < off || last >= t->n)
		return err_set(-EIO, s->img->filename, "metadata references host offset %#"
			       PRIx64 " past the end of the file; run 'check -r all'", off);
	for (uint64_t c = first; c <= last; c++) {
		if (delta < 0 && t->rc[c] < (uint64_t)-delta)
			return err_set(-EIO, s->img->filename, "refcount of cluster %#" PRIx64
				       " would drop below zero; run 'check -r all'",
				       c << s->cluster_bits);
		if (delta > 0 && t->rc[c] > s->refcount_max - (uint64_t)delta)
			return err_set(-ERANGE, s->img->filename, "refcount of cluster %#"
				       PRIx64 " would overflow (too many snapshots for "
				       "refcount_bits=%u)", c << s->cluster_bits,
				       s->refcount_bits);
		t->rc[c] += (uint64_t)delta;
	}
	return 0;
}

/* k contiguous clusters free before and after the transaction (refcount 1). */
static int txn_alloc(struct txn *t, uint64_t k, uint64_t *off)
{
	uint64_t run = 0, c;
	int ret;

	for (c = t->hint; c < t->n && run < k; c++)
		run = (t->rc[c] == 0 && !t->old_used[c]) ? run + 1 : 0;
	if (run < k) {
		/* extend at the end of the file (a trailing free run counts) */
		c = t->n - run;
		ret = txn_grow(t, c + k);
		if (ret < 0)
			return ret;
	} else {
		c -= k;
	}
	for (uint64_t i = c; i < c + k; i++)
		t->rc[i] = 1;
	*off = c << t->s->cluster_bits;
	return 0;
}

/* Allocate and write len bytes (padded with zeros to whole clusters). */
static int txn_write_new(struct txn *t, const void *data, uint64_t len, uint64_t *off)
{
	struct qcow2_state *s = t->s;
	uint64_t bytes = align_up(len, s->cluster_size);
	uint8_t *buf;
	int ret;

	*off = 0;
	if (!len)
		return 0;
	ret = txn_alloc(t, bytes >> s->cluster_bits, off);
	if (ret < 0)
		return ret;
	buf = backend_buf_alloc(bytes);
	if (!buf)
		return err_set(-ENOMEM, s->img->filename, "out of memory");
	memset(buf + len, 0, bytes - len);
	memcpy(buf, data, len);
	ret = backend_pwrite(s->img->be, buf, bytes, *off);
	free(buf);
	return ret;
}

static int read_l2(struct txn *t, uint64_t l2_off, uint64_t l1i)
{
	struct qcow2_state *s = t->s;

	if (!is_aligned(l2_off, s->cluster_size) || (l2_off >> s->cluster_bits) >= t->n)
		return err_set(-EIO, s->img->filename, "L1 entry %" PRIu64 " points to an "
			       "invalid L2 table offset %#" PRIx64 "; run 'check -r all'",
			       l1i, l2_off);
	return backend_pread(s->img->be, t->tbuf, s->cluster_size, l2_off);
}

/* The references one L2 entry holds: compressed data by every host cluster
 * its bytes touch, anything else by its host cluster (if any). */
static int ref_l2_entry(struct txn *t, uint64_t e, int64_t delta)
{
	struct qcow2_state *s = t->s;
	uint64_t host, nbytes;

	if (e & QCOW2_OFLAG_COMPRESSED) {
		qcow2_compressed_extent(s, e, &host, &nbytes);
		return txn_ref(t, host, nbytes, delta);
	}
	host = e & L2E_OFFSET_MASK;
	if (!host)
		return 0;
	if (!is_aligned(host, s->cluster_size))
		return err_set(-EIO, s->img->filename, "L2 entry %#" PRIx64 " points to an "
			       "unaligned cluster; run 'check -r all'", e);
	return txn_ref(t, host, s->cluster_size, delta);
}

/* delta on every L2 table of an L1 table and on every cluster they map. */
static int txn_walk_l1(struct txn *t, const uint64_t *l1, uint64_t l1_size, int64_t delta)
{
	struct qcow2_state *s = t->s;
	int ret;

	for (uint64_t i = 0; i < l1_size; i++) {
		uint64_t l2_off = l1[i] & L1E_OFFSET_MASK;

		if (!l2_off)
			continue;
		ret = read_l2(t, l2_off, i);
		if (ret == 0)
			ret = txn_ref(t, l2_off, s->cluster_size, delta);
		for (uint64_t j = 0; ret == 0 && j < s->l2_entries; j++)
			ret = ref_l2_entry(t, qcow2_l2_entry_get(s, t->tbuf, j), delta);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Set the COPIED flags of the (new) active tables from the final refcounts.
 * An L2 table whose entries change is written to a new cluster. */
static int txn_fix_copied(struct txn *t, uint64_t *l1, uint64_t l1_size)
{
	struct qcow2_state *s = t->s;
	int ret;

	for (uint64_t i = 0; i < l1_size; i++) {
		uint64_t l2_off = l1[i] & L1E_OFFSET_MASK;
		bool changed = false;

		if (!l2_off) {
			l1[i] = 0;
			continue;
		}
		ret = read_l2(t, l2_off, i);
		if (ret < 0)
			return ret;
		for (uint64_t j = 0; j < s->l2_entries; j++) {
			uint64_t e = qcow2_l2_entry_get(s, t->tbuf, j), ne = e;
			uint64_t host = e & L2E_OFFSET_MASK;

			if (e & QCOW2_OFLAG_COMPRESSED)
				ne = e & ~QCOW2_OFLAG_COPIED;
			else if (host)
				ne = (e & ~QCOW2_OFLAG_COPIED) |
				     (t->rc[host >> s->cluster_bits] == 1 ? QCOW2_OFLAG_COPIED : 0);
			if (ne != e) {
				qcow2_l2_entry_set(s, t->tbuf, j, ne);
				changed = true;
			}
		}
		if (changed) {
			uint64_t new_off;

			ret = txn_write_new(t, t->tbuf, s->cluster_size, &new_off);
			if (ret == 0)
				ret = txn_ref(t, l2_off, s->cluster_size, -1);
			if (ret < 0)
				return ret;
			l2_off = new_off;
		}
		l1[i] = l2_off | (t->rc[l2_off >> s->cluster_bits] == 1 ? QCOW2_OFLAG_COPIED : 0);
	}
	return 0;
}

/* Write an L1 table (host order in, big-endian out) to new clusters. */
static int txn_write_l1(struct txn *t, const uint64_t *l1, uint64_t size, uint64_t *off)
{
	uint8_t *buf;
	int ret;

	*off = 0;
	if (!size)
		return 0;
	buf = malloc(size * 8);
	if (!buf)
		return err_set(-ENOMEM, t->s->img->filename, "out of memory");
	for (uint64_t i = 0; i < size; i++)
		store_be64(buf + i * 8, l1[i]);
	ret = txn_write_new(t, buf, size * 8, off);
	free(buf);
	return ret;
}

/* The new state a transaction ends in. */
struct txn_target {
	uint64_t size;                 /* virtual size */
	uint64_t *l1;                  /* active L1 (host order) */
	uint64_t l1_size;
	uint64_t l1_offset;            /* where it is (old offset if unchanged) */
	struct qcow2_snapshot *snapshots;
	int nb_snapshots;
	uint64_t snapshots_offset;
};

/* Drop the old refcount structure and write a complete new one in free space. */
static int txn_write_refcounts(struct txn *t, uint64_t *rt_off, uint32_t *rt_clusters)
{
	struct qcow2_state *s = t->s;
	uint64_t cs = s->cluster_size, E = s->refblock_entries;
	uint64_t nrb = 0, nrt = 0, extra = 0, first, rt_entries;
	uint8_t *blocks = NULL, *rt = NULL;
	int ret;

	ret = txn_ref(t, s->h.refcount_table_offset,
		      (uint64_t)s->h.refcount_table_clusters * cs, -1);
	for (uint64_t i = 0; ret == 0 && i < s->reftable_size; i++)
		if (s->reftable[i] & REFT_OFFSET_MASK)
			ret = txn_ref(t, s->reftable[i] & REFT_OFFSET_MASK, cs, -1);
	if (ret < 0)
		return ret;
	/* Blocks then table in one run of clusters free before and after (a hole
	 * left by an earlier transaction, else the end of the file: then the file
	 * grows, and the blocks must also cover themselves - retry until they do).
	 * Reusing holes keeps the file from growing by a refcount structure per
	 * operation, and overwriting is cheaper to make durable than appending. */
	for (;;) {
		nrb = div_round_up(t->n, E);
		nrt = div_round_up(nrb * 8, cs);
		if (nrt > UINT32_MAX || nrt * cs > QCOW2_MAX_REFTABLE_BYTES)
			return err_set(-EFBIG, s->img->filename, "refcount table too large");
		extra = nrb + nrt;
		ret = txn_alloc(t, extra, &first);
		if (ret < 0)
			return ret;
		first >>= s->cluster_bits;
		if (div_round_up(t->n, E) <= nrb)
			break;
		for (uint64_t c = first; c < first + extra; c++)
			t->rc[c] = 0;      /* free before and after: simply not taken */
	}
	blocks = backend_buf_alloc(nrb * cs);
	rt = backend_buf_alloc(nrt * cs);
	if (!blocks || !rt) {
		ret = err_set(-ENOMEM, s->img->filename, "out of memory");
		goto out;
	}
	memset(blocks, 0, nrb * cs);
	memset(rt, 0, nrt * cs);
	for (uint64_t c = 0; c < t->n; c++) {
		if (t->rc[c] > s->refcount_max) {
			ret = err_set(-ERANGE, s->img->filename, "refcount overflow");
			goto out;
		}
		if (t->rc[c])
			rb_set(s, blocks + (c / E) * cs, c % E, t->rc[c]);
	}
	rt_entries = nrt * cs / 8;
	for (uint64_t i = 0; i < nrb && i < rt_entries; i++)
		store_be64(rt + i * 8, (first + i) * cs);
	ret = backend_pwrite(s->img->be, blocks, nrb * cs, first * cs);
	if (ret == 0)
		ret = backend_pwrite(s->img->be, rt, nrt * cs, (first + nrb) * cs);
	*rt_off = (first + nrb) * cs;
	*rt_clusters = (uint32_t)nrt;
out:
	free(blocks);
	free(rt);
	return ret;
}

/* Make the new state current: one header write, then the in-memory state. */
static int txn_commit(struct txn *t, struct txn_target *tg)
{
	struct qcow2_state *s = t->s;
	uint64_t rt_off = 0;
	uint32_t rt_clusters = 0;
	uint8_t hdr[48];
	uint64_t *l1;
	int ret;

	ret = txn_write_refcounts(t, &rt_off, &rt_clusters);
	if (ret == 0)
		ret = backend_flush(s->img->be);
	if (ret < 0)
		return ret;
	store_be64(hdr, tg->size);
	store_be32(hdr + 8, s->h.crypt_method);
	store_be32(hdr + 12, (uint32_t)tg->l1_size);
	store_be64(hdr + 16, tg->l1_offset);
	store_be64(hdr + 24, rt_off);
	store_be32(hdr + 32, rt_clusters);
	store_be32(hdr + 36, (uint32_t)tg->nb_snapshots);
	store_be64(hdr + 40, tg->snapshots_offset);
	ret = backend_pwrite(s->img->be, hdr, sizeof(hdr), 24);
	if (ret == 0)
		ret = backend_flush(s->img->be);
	if (ret < 0)
		return ret;

	/* on disk now; the memory follows (failures below cannot undo it) */
	l1 = calloc(MAX(tg->l1_size, 1), 8);
	if (l1) {
		memcpy(l1, tg->l1, tg->l1_size * 8);
		free(s->l1);
		s->l1 = l1;
		s->l1_alloc = MAX(tg->l1_size, 1);
	}
	s->h.size = tg->size;
	s->img->size = tg->size;
	s->h.l1_size = (uint32_t)tg->l1_size;
	s->h.l1_table_offset = tg->l1_offset;
	s->h.refcount_table_offset = rt_off;
	s->h.refcount_table_clusters = rt_clusters;
	s->h.nb_snapshots = (uint32_t)tg->nb_snapshots;
	s->h.snapshots_offset = tg->snapshots_offset;
	s->file_size = MAX(s->file_size, t->n << s->cluster_bits);
	s->free_byte_offset = 0;
	qcow2_cache_empty(s->l2_cache);
	qcow2_cache_empty(s->refcount_cache);
	if (!l1)
		return err_set(-ENOMEM, s->img->filename, "out of memory");
	return qcow2_refcount_init(s);
}

/* ---- lookups ---- */

static int find_by_id(struct qcow2_state *s, const char *id)
{
	for (int i = 0; id && i < s->nb_snapshots; i++)
		if (!strcmp(s->snapshots[i].id_str, id))
			return i;
	return -1;
}

static int find_by_name(struct qcow2_state *s, const char *name)
{
	for (int i = 0; name && i < s->nb_snapshots; i++)
		if (!strcmp(s->snapshots[i].name, name))
			return i;
	return -1;
}

static int find_id_or_name(struct qcow2_state *s, const char *id_or_name)
{
	int i = find_by_id(s, id_or_name);

	return i >= 0 ? i : find_by_name(s, id_or_name);
}

/* Read (and check) a snapshot's L1 table into a host-order array of at least
 * min_size entries (zero padded). */
static int load_snapshot_l1(struct qcow2_state *s, const struct qcow2_snapshot *sn,
			    uint64_t min_size, uint64_t **out)
{
	const char *fn = s->img->filename;
	uint64_t n = MAX((uint64_t)sn->l1_size, min_size);
	uint64_t bytes = (uint64_t)sn->l1_size * 8;
	uint64_t *l1;
	int ret;

	if (bytes > QCOW2_MAX_L1_BYTES || n > QCOW2_MAX_L1_BYTES / 8)
		return err_set(-EFBIG, fn, "Snapshot L1 table too large");
	if (sn->l1_size && (!is_aligned(sn->l1_table_offset, s->cluster_size) ||
			    sn->l1_table_offset + bytes > s->file_size))
		return err_set(-EIO, fn, "Snapshot L1 table offset invalid");
	l1 = calloc(MAX(n, 1), 8);
	if (!l1)
		return err_set(-ENOMEM, fn, "out of memory");
	if (bytes) {
		ret = backend_pread(s->img->be, l1, bytes, sn->l1_table_offset);
		if (ret < 0) {
			free(l1);
			return ret;
		}
		for (uint64_t i = 0; i < sn->l1_size; i++)
			l1[i] = load_be64((uint8_t *)&l1[i]);
	}
	*out = l1;
	return 0;
}

static uint64_t *copy_active_l1(struct qcow2_state *s, uint64_t size)
{
	uint64_t *l1 = calloc(MAX(size, 1), 8);

	if (l1)
		memcpy(l1, s->l1, MIN(size, (uint64_t)s->h.l1_size) * 8);
	return l1;
}

static uint64_t snapshot_table_bytes(struct qcow2_state *s)
{
	uint8_t *buf;
	uint64_t len = 0;

	/* the clusters the current table occupies, as check counts them */
	if (qcow2_snapshot_table_serialize(s, s->snapshots, s->nb_snapshots, &buf, &len) < 0) {
		err_clear();
		return 0;
	}
	free(buf);
	return len;
}

/* Common tail: new snapshot table, old table released, commit. */
static int finish(struct txn *t, struct txn_target *tg)
{
	struct qcow2_state *s = t->s;
	uint8_t *tbl = NULL;
	uint64_t len;
	int ret;

	if (s->nb_snapshots && s->h.snapshots_offset) {
		ret = txn_ref(t, s->h.snapshots_offset, snapshot_table_bytes(s), -1);
		if (ret < 0)
			return ret;
	}
	ret = qcow2_snapshot_table_serialize(s, tg->snapshots, tg->nb_snapshots, &tbl, &len);
	if (ret == 0)
		ret = txn_write_new(t, tbl, len, &tg->snapshots_offset);
	free(tbl);
	if (ret == 0)
		ret = txn_commit(t, tg);
	return ret;
}

/* If the active L1 changed, write it anew and release the old one. */
static int place_active_l1(struct txn *t, struct txn_target *tg)
{
	struct qcow2_state *s = t->s;
	int ret;

	if (tg->l1_size == s->h.l1_size &&
	    !memcmp(tg->l1, s->l1, tg->l1_size * 8)) {
		tg->l1_offset = s->h.l1_table_offset;
		return 0;
	}
	ret = txn_write_l1(t, tg->l1, tg->l1_size, &tg->l1_offset);
	if (ret == 0 && s->h.l1_size)
		ret = txn_ref(t, s->h.l1_table_offset, (uint64_t)s->h.l1_size * 8, -1);
	return ret;
}

static int check_rw(struct qcow2_state *s)
{
	if (s->read_only)
		return err_set(-EBADF, s->img->filename, "image opened read-only");
	return 0;
}

/* ---- create ---- */

static char *new_id(struct qcow2_state *s)
{
	unsigned long max = 0;
	char buf[32];

	for (int i = 0; i < s->nb_snapshots; i++) {
		unsigned long v = strtoul(s->snapshots[i].id_str, NULL, 10);
		if (v > max)
			max = v;
	}
	snprintf(buf, sizeof(buf), "%lu", max + 1);
	return strdup(buf);
}

static int do_create(struct qcow2_state *s, const char *name)
{
	struct txn t;
	struct txn_target tg = { 0 };
	struct qcow2_snapshot *list = NULL, *sn;
	uint64_t *sn_l1 = NULL;
	struct timespec now;
	int ret;

	/* Like qemu-img, a name may repeat (scripts take "daily" every day); ids
	 * stay unique and -a/-d match the id first. */
	if (s->nb_snapshots >= QCOW2_MAX_SNAPSHOTS)
		return err_set(-EFBIG, s->img->filename, "Too many snapshots");
	ret = txn_begin(s, &t);
	if (ret < 0)
		return ret;
	list = calloc((size_t)s->nb_snapshots + 1, sizeof(*list));
	sn_l1 = copy_active_l1(s, s->h.l1_size);
	tg.l1_size = s->h.l1_size;
	tg.l1 = copy_active_l1(s, tg.l1_size);
	if (!list || !sn_l1 || !tg.l1) {
		ret = err_set(-ENOMEM, s->img->filename, "out of memory");
		goto out;
	}
	if (s->nb_snapshots)
		memcpy(list, s->snapshots, (size_t)s->nb_snapshots * sizeof(*list));
	sn = &list[s->nb_snapshots];
	clock_gettime(CLOCK_REALTIME, &now);
	sn->id_str = new_id(s);
	sn->name = strdup(name);
	sn->extra_data_size = 24;
	sn->extra_data = calloc(1, 24);
	if (!sn->id_str || !sn->name || !sn->extra_data) {
		ret = err_set(-ENOMEM, s->img->filename, "out of memory");
		goto out;
	}
	sn->date_sec = (uint32_t)now.tv_sec;
	sn->date_nsec = (uint32_t)(now.tv_nsec / 1000 * 1000);  /* qemu: microseconds */
	sn->disk_size = s->h.size;
	sn->icount = 0;          /* what qemu-img writes */
	sn->l1_size = s->h.l1_size;
	/* the snapshot's L1: same tables, flags meaningless there */
	for (uint64_t i = 0; i < tg.l1_size; i++)
		sn_l1[i] &= L1E_OFFSET_MASK;
	ret = txn_walk_l1(&t, sn_l1, sn->l1_size, 1);
	if (ret == 0)
		ret = txn_write_l1(&t, sn_l1, sn->l1_size, &sn->l1_table_offset);
	if (ret == 0)
		ret = txn_fix_copied(&t, tg.l1, tg.l1_size);
	if (ret == 0)
		ret = place_active_l1(&t, &tg);
	if (ret < 0)
		goto out;
	tg.size = s->h.size;
	tg.snapshots = list;
	tg.nb_snapshots = s->nb_snapshots + 1;
	ret = finish(&t, &tg);
	if (ret == 0) {
		free(s->snapshots);
		s->snapshots = list;
		s->nb_snapshots++;
		list = NULL;
	}
out:
	if (list) {
		free(list[s->nb_snapshots].id_str);
		free(list[s->nb_snapshots].name);
		free(list[s->nb_snapshots].extra_data);
		free(list);
	}
	free(sn_l1);
	free(tg.l1);
	txn_free(&t);
	return ret;
}

int qcow2_snapshot_create(struct image *img, const char *name)
{
	struct qcow2_state *s = qcow2_state(img);
	int ret = check_rw(s);

	if (ret < 0)
		return ret;
	if (!name || !*name)
		return err_set(-EINVAL, img->filename, "snapshot name must not be empty");
	if (strlen(name) > UINT16_MAX)
		return err_set(-EINVAL, img->filename, "snapshot name too long");
	pthread_mutex_lock(&s->lock);
	ret = do_create(s, name);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* ---- apply ---- */

static int do_apply(struct qcow2_state *s, int idx)
{
	const struct qcow2_snapshot *sn = &s->snapshots[idx];
	struct txn t;
	struct txn_target tg = { 0 };
	uint64_t *old = NULL;
	int ret;

	tg.size = sn->disk_size;
	tg.l1_size = MAX((uint64_t)sn->l1_size, qcow2_l1_entries_for(s, sn->disk_size));
	if (tg.l1_size > QCOW2_MAX_L1_BYTES / 8)
		return err_set(-EFBIG, s->img->filename, "Snapshot L1 table too large");
	ret = load_snapshot_l1(s, sn, tg.l1_size, &tg.l1);
	if (ret < 0)
		return ret;
	ret = txn_begin(s, &t);
	if (ret < 0) {
		free(tg.l1);
		return ret;
	}
	old = copy_active_l1(s, s->h.l1_size);
	if (!old) {
		ret = err_set(-ENOMEM, s->img->filename, "out of memory");
		goto out;
	}
	for (uint64_t i = 0; i < tg.l1_size; i++)
		tg.l1[i] &= L1E_OFFSET_MASK;
	ret = txn_walk_l1(&t, tg.l1, tg.l1_size, 1);
	if (ret == 0)
		ret = txn_walk_l1(&t, old, s->h.l1_size, -1);
	if (ret == 0)
		ret = txn_fix_copied(&t, tg.l1, tg.l1_size);
	if (ret == 0)
		ret = place_active_l1(&t, &tg);
	if (ret < 0)
		goto out;
	tg.snapshots = s->snapshots;
	tg.nb_snapshots = s->nb_snapshots;
	ret = finish(&t, &tg);
out:
	free(old);
	free(tg.l1);
	txn_free(&t);
	return ret;
}

int qcow2_snapshot_apply(struct image *img, const char *id_or_name)
{
	struct qcow2_state *s = qcow2_state(img);
	int ret = check_rw(s), idx;

	if (ret < 0)
		return ret;
	/* the whole disk may change: every enabled bitmap says so first */
	ret = qcow2_bitmaps_mark(s, 0, s->h.size);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&s->lock);
	idx = find_id_or_name(s, id_or_name);
	if (idx < 0)
		ret = err_set(-ENOENT, img->filename, "Failed to load snapshot: %s",
			      strerror(ENOENT));
	else if (s->nb_bitmaps && s->snapshots[idx].disk_size != s->h.size)
		ret = err_set(-ENOTSUP, img->filename,
			      "Can't apply a snapshot of another size to an image which has bitmaps");
	else
		ret = do_apply(s, idx);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* ---- delete ---- */

static int do_delete(struct qcow2_state *s, int idx)
{
	const struct qcow2_snapshot *sn = &s->snapshots[idx];
	struct qcow2_snapshot *list = NULL;
	struct txn t;
	struct txn_target tg = { 0 };
	uint64_t *sn_l1 = NULL;
	int ret;

	ret = load_snapshot_l1(s, sn, 0, &sn_l1);
	if (ret < 0)
		return ret;
	ret = txn_begin(s, &t);
	if (ret < 0) {
		free(sn_l1);
		return ret;
	}
	tg.size = s->h.size;
	tg.l1_size = s->h.l1_size;
	tg.l1 = copy_active_l1(s, tg.l1_size);
	list = calloc((size_t)s->nb_snapshots, sizeof(*list));
	if (!tg.l1 || !list) {
		ret = err_set(-ENOMEM, s->img->filename, "out of memory");
		goto out;
	}
	memcpy(list, s->snapshots, (size_t)idx * sizeof(*list));
	memcpy(list + idx, s->snapshots + idx + 1,
	       (size_t)(s->nb_snapshots - idx - 1) * sizeof(*list));
	ret = txn_walk_l1(&t, sn_l1, sn->l1_size, -1);
	if (ret == 0 && sn->l1_size)
		ret = txn_ref(&t, sn->l1_table_offset, (uint64_t)sn->l1_size * 8, -1);
	if (ret == 0)
		ret = txn_fix_copied(&t, tg.l1, tg.l1_size);
	if (ret == 0)
		ret = place_active_l1(&t, &tg);
	if (ret < 0)
		goto out;
	tg.snapshots = list;
	tg.nb_snapshots = s->nb_snapshots - 1;
	ret = finish(&t, &tg);
	if (ret == 0) {
		struct qcow2_snapshot gone = s->snapshots[idx];

		free(gone.id_str);
		free(gone.name);
		free(gone.extra_data);
		free(s->snapshots);
		s->snapshots = list;
		s->nb_snapshots--;
		list = NULL;
	}
out:
	free(list);
	free(sn_l1);
	free(tg.l1);
	txn_free(&t);
	return ret;
}

int qcow2_snapshot_delete(struct image *img, const char *id_or_name)
{
	struct qcow2_state *s = qcow2_state(img);
	int ret = check_rw(s), idx;

	if (ret < 0)
		return ret;
	pthread_mutex_lock(&s->lock);
	idx = find_id_or_name(s, id_or_name);
	if (idx < 0)
		ret = err_set(-ENOENT, img->filename, "snapshot not found");
	else
		ret = do_delete(s, idx);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* ---- list and read-only view ---- */

int qcow2_snapshot_list(struct image *img, struct snapshot_info **out, int *nb)
{
	struct qcow2_state *s = qcow2_state(img);
	struct snapshot_info *v;

	*out = NULL;
	*nb = 0;
	if (!s->nb_snapshots)
		return 0;
	v = calloc((size_t)s->nb_snapshots, sizeof(*v));
	if (!v)
		return err_set(-ENOMEM, img->filename, "out of memory");
	for (int i = 0; i < s->nb_snapshots; i++) {
		const struct qcow2_snapshot *sn = &s->snapshots[i];

		v[i].id = strdup(sn->id_str);
		v[i].name = strdup(sn->name);
		v[i].vm_state_size = sn->vm_state_size;
		v[i].date_sec = sn->date_sec;
		v[i].date_nsec = sn->date_nsec;
		v[i].vm_clock_nsec = sn->vm_clock_nsec;
		v[i].icount = sn->icount;
		v[i].disk_size = sn->disk_size;
		if (!v[i].id || !v[i].name) {
			image_snapshot_list_free(v, i + 1);
			return err_set(-ENOMEM, img->filename, "out of memory");
		}
	}
	*out = v;
	*nb = s->nb_snapshots;
	return 0;
}

int qcow2_snapshot_open(struct image *img, const char *id, const char *name)
{
	struct qcow2_state *s = qcow2_state(img);
	const struct qcow2_snapshot *sn = NULL;
	uint64_t *l1, n;
	int ret;

	if (!s->read_only)
		return err_set(-EINVAL, img->filename, "a snapshot can only be opened read-only");
	for (int i = 0; i < s->nb_snapshots && !sn; i++) {
		if ((!id || !strcmp(s->snapshots[i].id_str, id)) &&
		    (!name || !strcmp(s->snapshots[i].name, name)))
			sn = &s->snapshots[i];
	}
	if (!sn || (!id && !name))
		return err_set(-ENOENT, img->filename, "Can't find snapshot");
	pthread_mutex_lock(&s->lock);
	n = MAX((uint64_t)sn->l1_size, qcow2_l1_entries_for(s, sn->disk_size));
	ret = load_snapshot_l1(s, sn, n, &l1);
	if (ret == 0) {
		free(s->l1);
		s->l1 = l1;
		s->l1_alloc = MAX(n, 1);
		s->h.l1_size = (uint32_t)n;
		s->h.l1_table_offset = sn->l1_table_offset;
		s->h.size = sn->disk_size;
		img->size = sn->disk_size;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}
