/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2_write.c - the qcow2 write path: write (in place, or allocating with
 * copy-on-write of partial clusters and of shared clusters/L2 tables),
 * write_zeroes, write_compressed, flush; L2 table allocation, L1 growth, the
 * lazy-refcounts dirty bit.  Each write first sets its bits in the enabled
 * persistent bitmaps (qcow2_bitmap.c).
 *
 * Concurrency: metadata is changed under s->lock; guest data is written with the
 * lock dropped.  While a thread writes data into freshly allocated clusters, the
 * guest range is registered in s->inflight so that another thread touching the
 * same clusters waits (on s->alloc_cond) instead of allocating them a second time.
 *
 * Crash ordering: data is written before the L2 entries that point to it; new
 * refcounts reach the disk before those L2 entries (L2 cache dependency); a new L2
 * table is on disk before the L1 entry; a new L1 before the header points to it;
 * clusters are freed (refcount decremented) only after the tables no longer point
 * to them are on disk.  With lazy refcounts, the refcount ordering is relaxed and
 * the image carries the dirty bit until a clean close.
 */
#include "qcow2.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define QCOW2_MAX_HOST_OFFSET (1ULL << 56)

struct qcow2_inflight {
	uint64_t start, end;          /* guest bytes, cluster aligned */
	struct qcow2_inflight *next;
};

/* ---- helpers (s->lock held) ---- */

/* Host cluster an L2 entry owns a reference to (0 if none or compressed). */
static uint64_t entry_host(uint64_t e)
{
	return (e & QCOW2_OFLAG_COMPRESSED) ? 0 : (e & L2E_OFFSET_MASK);
}

/* Does the entry hold a reference that must be dropped when it is replaced? */
static bool entry_has_ref(uint64_t e)
{
	return (e & QCOW2_OFLAG_COMPRESSED) || entry_host(e);
}

/* All 32 subclusters reading as zeros (extended L2 bitmap). */
#define EXTL2_ALL_ZERO 0xffffffff00000000ULL
#define EXTL2_ALL_ALLOC 0x00000000ffffffffULL

/* Before the first metadata change of a lazy-refcounts session: mark dirty. */
static int mark_dirty(struct qcow2_state *s)
{
	int ret;

	if (!s->lazy_refcounts || s->dirty_set)
		return 0;
	s->h.incompatible_features |= QCOW2_INCOMPAT_DIRTY;
	ret = qcow2_header_write_incompat(s);
	if (ret == 0)
		ret = backend_flush(s->img->be);
	if (ret < 0) {
		s->h.incompatible_features &= ~QCOW2_INCOMPAT_DIRTY;
		return ret;
	}
	s->dirty_set = true;
	return 0;
}

static bool inflight_overlaps(struct qcow2_state *s, uint64_t start, uint64_t end)
{
	for (struct qcow2_inflight *f = s->inflight; f; f = f->next)
		if (f->start < end && start < f->end)
			return true;
	return false;
}

static void wait_inflight(struct qcow2_state *s, uint64_t start, uint64_t end)
{
	while (inflight_overlaps(s, start, end))
		pthread_cond_wait(&s->alloc_cond, &s->lock);
}

static void inflight_add(struct qcow2_state *s, struct qcow2_inflight *f,
			 uint64_t start, uint64_t end)
{
	f->start = start;
	f->end = end;
	f->next = s->inflight;
	s->inflight = f;
}

static void inflight_remove(struct qcow2_state *s, struct qcow2_inflight *f)
{
	for (struct qcow2_inflight **pp = &s->inflight; *pp; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	}
	pthread_cond_broadcast(&s->alloc_cond);
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return blen && a < b + blen && b < a + alen;
}

/* A data cluster taken from an (untrusted) L2 entry must not be metadata we know
 * of: writing guest data there would destroy the image. */
static int check_host_offset(struct qcow2_state *s, uint64_t host, uint64_t guest)
{
	uint64_t cs = s->cluster_size;
	const char *what = NULL;

	if (!is_aligned(host, cs) || host >= QCOW2_MAX_HOST_OFFSET || host == 0)
		what = "an invalid offset";
	else if (overlaps(host, cs, s->h.l1_table_offset, (uint64_t)s->h.l1_size * 8))
		what = "the active L1 table";
	else if (overlaps(host, cs, s->h.refcount_table_offset,
			  (uint64_t)s->h.refcount_table_clusters * cs))
		what = "the refcount table";
	if (what)
		return err_set(-EIO, s->img->filename,
			       "L2 entry for guest offset %#" PRIx64 " points to host offset %#"
			       PRIx64 ", %s; refusing to write (run 'check -r all')",
			       guest, host, what);
	return 0;
}

/* Drop the reference an L2 entry held (normal, preallocated-zero or compressed). */
static int free_l2_entry_cluster(struct qcow2_state *s, uint64_t e)
{
	uint64_t host, nbytes;

	if (e & QCOW2_OFLAG_COMPRESSED) {
		qcow2_compressed_extent(s, e, &host, &nbytes);
		return qcow2_free_clusters(s, host, nbytes);
	}
	host = entry_host(e);
	return host ? qcow2_free_clusters(s, host, s->cluster_size) : 0;
}

/* Free what a list of replaced L2 entries referenced, once the new entries are on
 * disk (unless refcounts are lazy).  Errors only leak clusters. */
static int free_old_entries(struct qcow2_state *s, const uint64_t *old, uint64_t n)
{
	bool any = false;
	int ret;

	for (uint64_t i = 0; i < n && !any; i++)
		any = entry_has_ref(old[i]);
	if (!any)
		return 0;
	if (!s->lazy_refcounts) {
		ret = qcow2_cache_flush(s->l2_cache);
		if (ret < 0)
			return ret;
	}
	for (uint64_t i = 0; i < n; i++) {
		ret = free_l2_entry_cluster(s, old[i]);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Write one L1 entry to disk and memory. */
static int l1_set(struct qcow2_state *s, uint64_t l1i, uint64_t v)
{
	uint8_t be[8];
	int ret;

	store_be64(be, v);
	ret = backend_pwrite(s->img->be, be, 8, s->h.l1_table_offset + l1i * 8);
	if (ret < 0)
		return ret;
	s->l1[l1i] = v;
	return 0;
}

int qcow2_grow_l1(struct qcow2_state *s, uint64_t min_size)
{
	const char *fn = s->img->filename;
	uint64_t old_off = s->h.l1_table_offset;
	uint64_t old_bytes = (uint64_t)s->h.l1_size * 8;
	uint64_t new_bytes, new_off = 0;
	uint64_t *nl1 = NULL;
	uint8_t *buf = NULL, hdr[12];
	int ret;

	if (min_size <= s->h.l1_size)
		return 0;
	if (min_size > QCOW2_MAX_L1_BYTES / 8 || min_size > UINT32_MAX)
		return err_set(-EFBIG, fn, "L1 table would exceed %llu MiB (image too large "
			       "for this cluster size)", QCOW2_MAX_L1_BYTES / (1024 * 1024));
	new_bytes = align_up(min_size * 8, s->cluster_size);
	nl1 = calloc(1, new_bytes);
	buf = calloc(1, new_bytes);
	if (!nl1 || !buf) {
		ret = err_set(-ENOMEM, fn, "out of memory");
		goto out;
	}
	if (s->h.l1_size)
		memcpy(nl1, s->l1, old_bytes);
	ret = qcow2_alloc_clusters(s, new_bytes >> s->cluster_bits, &new_off);
	if (ret < 0)
		goto out;
	for (uint64_t i = 0; i < min_size; i++)
		store_be64(buf + i * 8, nl1[i]);
	/* the refcount of the new table first, then the table itself */
	ret = qcow2_cache_flush(s->refcount_cache);
	if (ret == 0)
		ret = backend_pwrite(s->img->be, buf, new_bytes, new_off);
	if (ret == 0)
		ret = backend_flush(s->img->be);
	if (ret < 0)
		goto fail_free;
	store_be32(hdr, (uint32_t)min_size);
	store_be64(hdr + 4, new_off);
	ret = backend_pwrite(s->img->be, hdr, 12, 36);
	if (ret == 0)
		ret = backend_flush(s->img->be);
	if (ret < 0)
		goto fail_free;
	free(s->l1);
	s->l1 = nl1;
	nl1 = NULL;
	s->l1_alloc = new_bytes / 8;
	s->h.l1_size = (uint32_t)min_size;
	s->h.l1_table_offset = new_off;
	if (old_bytes && old_off) {
		if (qcow2_free_clusters(s, old_off, align_up(old_bytes, s->cluster_size)) < 0)
			err_clear();   /* only leaks the old table */
	}
	ret = 0;
	goto out;
fail_free:
	qcow2_free_clusters(s, new_off, new_bytes);
out:
	free(nl1);
	free(buf);
	return ret;
}

/*
 * Get the L2 table for guest offset off, ready to be modified: allocated, and not
 * shared with a snapshot (copied if it was).  The caller puts the table.
 */
static int get_l2_for_write(struct qcow2_state *s, uint64_t off, void **table,
			    uint64_t *l2_off_out)
{
	uint64_t l1i = qcow2_l1_index(s, off);
	uint64_t e, old_off, new_off;
	void *t, *old;
	int ret;

	if (l1i >= s->h.l1_size) {
		ret = qcow2_grow_l1(s, l1i + 1);
		if (ret < 0)
			return ret;
	}
	e = s->l1[l1i];
	old_off = e & L1E_OFFSET_MASK;
	if (old_off && !is_aligned(old_off, s->cluster_size))
		return err_set(-EIO, s->img->filename,
			       "L1 entry %" PRIu64 " points to unaligned L2 table %#" PRIx64,
			       l1i, old_off);
	if (old_off && (e & QCOW2_OFLAG_COPIED)) {
		*l2_off_out = old_off;
		return qcow2_cache_get(s->l2_cache, old_off, table);
	}

	ret = qcow2_alloc_clusters(s, 1, &new_off);
	if (ret < 0)
		return ret;
	ret = qcow2_cache_get_empty(s->l2_cache, new_off, &t);
	if (ret < 0)
		goto fail;
	if (old_off) {
		/* copy-on-write of a table shared with a snapshot */
		ret = qcow2_cache_get(s->l2_cache, old_off, &old);
		if (ret < 0) {
			qcow2_cache_put(s->l2_cache, &t);
			goto fail;
		}
		memcpy(t, old, s->cluster_size);
		qcow2_cache_put(s->l2_cache, &old);
	}
	qcow2_cache_mark_dirty(s->l2_cache, t);
	qcow2_cache_put(s->l2_cache, &t);
	/* the table (and the refcounts before it) must be on disk before L1 */
	ret = qcow2_cache_flush(s->l2_cache);
	if (ret == 0)
		ret = backend_flush(s->img->be);
	if (ret == 0)
		ret = l1_set(s, l1i, new_off | QCOW2_OFLAG_COPIED);
	if (ret < 0)
		goto fail;
	if (old_off) {
		/* the new L1 entry on disk before the old table can be reused */
		if (!s->lazy_refcounts && backend_flush(s->img->be) < 0)
			err_clear();
		if (qcow2_free_clusters(s, old_off, s->cluster_size) < 0)
			err_clear();
	}
	*l2_off_out = new_off;
	return qcow2_cache_get(s->l2_cache, new_off, table);
fail:
	qcow2_cache_discard(s->l2_cache, new_off);
	qcow2_free_clusters(s, new_off, s->cluster_size);
	return ret;
}

/* Old content of the cluster at guest offset gc described by entry e. */
static int cow_read(struct qcow2_state *s, uint64_t e, uint64_t gc, uint8_t *dst)
{
	struct image *img = s->img;

	switch (qcow2_classify(s, e, 0, 0)) {
	case QCOW2_CLUSTER_UNALLOCATED:
		return image_read_backing(img, dst, gc, s->cluster_size);
	case QCOW2_CLUSTER_NORMAL:
		return qcow2_data_pread(s, dst, s->cluster_size, e & L2E_OFFSET_MASK, gc);
	case QCOW2_CLUSTER_COMPRESSED:
		return qcow2_decompress_cluster(s, e, dst);
	default:
		memset(dst, 0, s->cluster_size);
		return 0;
	}
}

/* Where a write's guest bytes come from: the caller's buffer, or (copy
 * offloading, qcow2_write_from) bytes stored raw in another backend.  Both
 * hold the guest bytes from guest offset `base` on. */
struct qcow2_data {
	const uint8_t *buf;
	struct backend *src;
	uint64_t src_off;
	uint64_t base;
};

#define OFFLOAD_BOUNCE (2u * 1024 * 1024)

/* Copy through memory what copy_range could not offload (never leaves the new
 * clusters unwritten: their L2 entries follow). */
static int data_copy_bounce(struct qcow2_state *s, const struct qcow2_data *d, uint64_t pos,
			    uint64_t n, uint64_t host)
{
	uint8_t *b = backend_buf_alloc(MIN(n, OFFLOAD_BOUNCE));
	int ret = b ? 0 : err_set(-ENOMEM, s->img->filename, "out of memory");

	while (ret == 0 && n) {
		uint64_t k = MIN(n, OFFLOAD_BOUNCE);

		ret = backend_pread(d->src, b, k, d->src_off + (pos - d->base));
		if (ret == 0)
			ret = backend_pwrite(s->img->be, b, k, host);
		pos += k;
		host += k;
		n -= k;
	}
	free(b);
	return ret;
}

/* Write the n guest bytes at guest offset pos to host. */
static int data_write(struct qcow2_state *s, const struct qcow2_data *d, uint64_t pos,
		      uint64_t n, uint64_t host)
{
	int ret;

	if (d->buf)
		return qcow2_data_pwrite(s, d->buf + (pos - d->base), n, host, pos);
	ret = backend_copy_range(s->img->be, host, d->src, d->src_off + (pos - d->base), n);
	if (ret == -ENOTSUP)
		ret = data_copy_bounce(s, d, pos, n, host);
	return ret;
}

/* The n guest bytes at guest offset pos into memory (partial clusters). */
static int data_read(const struct qcow2_data *d, uint64_t pos, uint8_t *dst, uint64_t n)
{
	if (d->buf) {
		memcpy(dst, d->buf + (pos - d->base), n);
		return 0;
	}
	return backend_pread(d->src, dst, n, d->src_off + (pos - d->base));
}

/* Write [off, off+len) of the guest into k new clusters at host, for guest
 * clusters starting at gc whose old entries are old[]; partial first/last
 * clusters are merged with their old content. */
static int write_new_clusters(struct qcow2_state *s, const struct qcow2_data *d, uint64_t off,
			      uint64_t len, uint64_t gc, uint64_t k, uint64_t host,
			      const uint64_t *old)
{
	uint64_t cs = s->cluster_size;
	uint64_t run_end = gc + k * cs;
	uint64_t end = MIN(off + len, run_end);
	uint64_t pos = off;
	uint8_t *bounce = NULL;
	int ret = 0;

	while (pos < end) {
		uint64_t c = align_down(pos, cs);
		uint64_t ci = (c - gc) / cs;

		if (pos == c && end - pos >= cs) {
			/* whole clusters straight from the caller's buffer */
			uint64_t n = align_down(end - pos, cs);
			ret = data_write(s, d, pos, n, host + ci * cs);
			if (ret < 0)
				break;
			pos += n;
			continue;
		}
		if (!bounce) {
			bounce = backend_buf_alloc(cs);
			if (!bounce) {
				ret = err_set(-ENOMEM, s->img->filename, "out of memory");
				break;
			}
		}
		ret = cow_read(s, old[ci], c, bounce);
		if (ret < 0)
			break;
		uint64_t n = MIN(end, c + cs) - pos;
		ret = data_read(d, pos, bounce + (pos - c), n);
		if (ret < 0)
			break;
		ret = qcow2_data_pwrite(s, bounce, cs, host + ci * cs, c);
		if (ret < 0)
			break;
		pos += n;
	}
	free(bounce);
	return ret;
}

/*
 * Write one piece of [off, off+len) lying in one L2 table.  Returns the number of
 * bytes handled (> 0) or a negative errno.
 */
static int64_t write_piece(struct qcow2_state *s, const struct qcow2_data *d, uint64_t off,
			   uint64_t len)
{
	uint64_t cs = s->cluster_size;
	uint64_t cstart = align_down(off, cs);
	uint64_t nclusters = (align_up(off + len, cs) - cstart) / cs;
	uint64_t idx = qcow2_l2_index(s, off);
	uint64_t e, host, l2_off, k, done = 0;
	uint64_t *old = NULL;
	struct qcow2_inflight f;
	bool reuse;
	void *t;
	int ret;

	pthread_mutex_lock(&s->lock);
	wait_inflight(s, cstart, cstart + nclusters * cs);
	ret = mark_dirty(s);
	if (ret < 0)
		goto unlock;
	ret = get_l2_for_write(s, off, &t, &l2_off);
	if (ret < 0)
		goto unlock;
	e = qcow2_l2_entry_get(s, t, idx);
	if (qcow2_classify(s, e, 0, 0) == QCOW2_CLUSTER_NORMAL && (e & QCOW2_OFLAG_COPIED)) {
		/* in place: a run of contiguous owned clusters */
		host = e & L2E_OFFSET_MASK;
		for (k = 1; k < nclusters; k++) {
			uint64_t e2 = qcow2_l2_entry_get(s, t, idx + k);
			if (qcow2_classify(s, e2, 0, 0) != QCOW2_CLUSTER_NORMAL ||
			    !(e2 & QCOW2_OFLAG_COPIED) ||
			    (e2 & L2E_OFFSET_MASK) != host + k * cs)
				break;
		}
		qcow2_cache_put(s->l2_cache, &t);
		pthread_mutex_unlock(&s->lock);
		ret = check_host_offset(s, host, cstart);
		if (ret < 0)
			return ret;
		done = MIN(len, cstart + k * cs - off);
		ret = data_write(s, d, off, done, host + (off - cstart));
		return ret < 0 ? ret : (int64_t)done;
	}

	/* A preallocated zero cluster we own is reused in place (its zero flag
	 * goes away); anything else needs a new cluster. */
	reuse = qcow2_classify(s, e, 0, 0) == QCOW2_CLUSTER_ZERO_ALLOC &&
		(e & QCOW2_OFLAG_COPIED);
	host = e & L2E_OFFSET_MASK;
	for (k = 1; k < nclusters; k++) {
		uint64_t e2 = qcow2_l2_entry_get(s, t, idx + k);
		enum qcow2_cluster_type t2 = qcow2_classify(s, e2, 0, 0);

		if (reuse && (t2 != QCOW2_CLUSTER_ZERO_ALLOC || !(e2 & QCOW2_OFLAG_COPIED) ||
			      (e2 & L2E_OFFSET_MASK) != host + k * cs))
			break;
		if (!reuse && ((t2 == QCOW2_CLUSTER_NORMAL || t2 == QCOW2_CLUSTER_ZERO_ALLOC) &&
			       (e2 & QCOW2_OFLAG_COPIED)))
			break;
	}
	old = malloc(k * sizeof(*old));
	if (!old) {
		qcow2_cache_put(s->l2_cache, &t);
		ret = err_set(-ENOMEM, s->img->filename, "out of memory");
		goto unlock;
	}
	for (uint64_t i = 0; i < k; i++)
		old[i] = qcow2_l2_entry_get(s, t, idx + i);
	qcow2_cache_put(s->l2_cache, &t);
	if (reuse)
		ret = check_host_offset(s, host, cstart);
	else
		ret = qcow2_alloc_clusters(s, k, &host);
	if (ret < 0)
		goto unlock;
	inflight_add(s, &f, cstart, cstart + k * cs);
	pthread_mutex_unlock(&s->lock);

	done = MIN(len, cstart + k * cs - off);
	ret = write_new_clusters(s, d, off, done, cstart, k, host, old);

	pthread_mutex_lock(&s->lock);
	if (ret == 0)
		ret = get_l2_for_write(s, off, &t, &l2_off);
	if (ret < 0) {
		if (!reuse)
			qcow2_free_clusters(s, host, k * cs);
		inflight_remove(s, &f);
		goto unlock;
	}
	for (uint64_t i = 0; i < k; i++)
		qcow2_l2_entry_set(s, t, idx + i, (host + i * cs) | QCOW2_OFLAG_COPIED);
	qcow2_cache_mark_dirty(s->l2_cache, t);
	qcow2_cache_put(s->l2_cache, &t);
	ret = reuse ? 0 : free_old_entries(s, old, k);
	if (ret < 0)
		err_clear();   /* the new data is in place; at worst clusters leak */
	ret = 0;
	inflight_remove(s, &f);
unlock:
	pthread_mutex_unlock(&s->lock);
	free(old);
	return ret < 0 ? ret : (int64_t)done;
}

/* Fill subcluster sc of the cluster at guest gc (entry e, bitmap bm, host cluster
 * hc holding the allocated subclusters) with its current content. */
static int ext_fill_subcluster(struct qcow2_state *s, uint64_t e, uint64_t bm, uint64_t hc,
			       uint64_t gc, unsigned sc, uint8_t *dst)
{
	uint64_t scs = s->subcluster_size;

	switch (qcow2_classify(s, e, bm, sc)) {
	case QCOW2_CLUSTER_NORMAL:
		return backend_pread(s->img->be, dst, scs, hc + sc * scs);
	case QCOW2_CLUSTER_UNALLOCATED:
		return image_read_backing(s->img, dst, gc + sc * scs, scs);
	default:
		memset(dst, 0, scs);
		return 0;
	}
}

/*
 * Extended L2 (32 subclusters per cluster): write the part of [off, off+len) in
 * one cluster.  Only the touched subclusters become allocated; the others keep
 * their state.  An owned cluster is written in place; a missing, shared or
 * compressed one gets a new cluster (shared/compressed: copied whole).
 */
static int64_t write_piece_ext(struct qcow2_state *s, const uint8_t *buf, uint64_t off,
			       uint64_t len)
{
	uint64_t cs = s->cluster_size, scs = s->subcluster_size;
	uint64_t gc = align_down(off, cs), in = off - gc;
	uint64_t idx = qcow2_l2_index(s, off), l2_off;
	uint64_t e, bm, host, nhost, newbm = 0, touched = 0, wstart, wend;
	unsigned sa, sb;
	bool owned, whole;
	struct qcow2_inflight f;
	uint8_t *cbuf = NULL;
	void *t;
	int ret;

	len = MIN(len, cs - in);
	sa = (unsigned)(in / scs);
	sb = (unsigned)(div_round_up(in + len, scs));
	for (unsigned i = sa; i < sb; i++)
		touched |= 1ULL << i;

	pthread_mutex_lock(&s->lock);
	wait_inflight(s, gc, gc + cs);
	ret = mark_dirty(s);
	if (ret == 0)
		ret = get_l2_for_write(s, off, &t, &l2_off);
	if (ret < 0)
		goto unlock;
	e = qcow2_l2_entry_get(s, t, idx);
	bm = qcow2_l2_bitmap_get(s, t, idx);
	qcow2_cache_put(s->l2_cache, &t);
	host = entry_host(e);
	owned = host && (e & QCOW2_OFLAG_COPIED);
	whole = (e & QCOW2_OFLAG_COMPRESSED) || (host && !owned);
	if (host && (ret = check_host_offset(s, host, gc)) < 0)
		goto unlock;
	nhost = host;
	if (!owned) {
		ret = qcow2_alloc_clusters(s, 1, &nhost);
		if (ret < 0)
			goto unlock;
	}
	inflight_add(s, &f, gc, gc + cs);
	pthread_mutex_unlock(&s->lock);

	cbuf = backend_buf_alloc(cs);
	if (!cbuf) {
		ret = err_set(-ENOMEM, s->img->filename, "out of memory");
		goto relock;
	}
	if (e & QCOW2_OFLAG_COMPRESSED) {
		ret = qcow2_decompress_cluster(s, e, cbuf);
		newbm = EXTL2_ALL_ALLOC;
	} else {
		if (whole)
			ret = backend_pread(s->img->be, cbuf, cs, host);
		/* edge subclusters only partly overwritten keep their content */
		if (ret == 0 && !whole && in % scs)
			ret = ext_fill_subcluster(s, e, bm, host, gc, sa, cbuf + sa * scs);
		if (ret == 0 && !whole && (in + len) % scs && (sb - 1 != sa || !(in % scs)))
			ret = ext_fill_subcluster(s, e, bm, host, gc, sb - 1,
						  cbuf + (sb - 1) * scs);
		if (ret == 0 && whole) {
			/* the copy: touched edges that were not allocated */
			for (unsigned i = sa; i < sb && ret == 0; i++)
				if (qcow2_classify(s, e, bm, i) != QCOW2_CLUSTER_NORMAL)
					ret = ext_fill_subcluster(s, e, bm, host, gc, i,
								  cbuf + i * scs);
		}
		newbm = (bm | touched) & ~(touched << 32);
	}
	if (ret < 0)
		goto relock;
	memcpy(cbuf + in, buf, len);
	whole = whole || (e & QCOW2_OFLAG_COMPRESSED);
	wstart = whole ? 0 : sa * scs;
	wend = whole ? cs : sb * scs;
	ret = backend_pwrite(s->img->be, cbuf + wstart, wend - wstart, nhost + wstart);
relock:
	free(cbuf);
	pthread_mutex_lock(&s->lock);
	if (ret == 0)
		ret = get_l2_for_write(s, off, &t, &l2_off);
	if (ret < 0) {
		if (!owned)
			qcow2_free_clusters(s, nhost, cs);
		inflight_remove(s, &f);
		goto unlock;
	}
	qcow2_l2_entry_set(s, t, idx, nhost | QCOW2_OFLAG_COPIED);
	qcow2_l2_bitmap_set(s, t, idx, newbm);
	qcow2_cache_mark_dirty(s->l2_cache, t);
	qcow2_cache_put(s->l2_cache, &t);
	if (!owned && entry_has_ref(e) && free_old_entries(s, &e, 1) < 0)
		err_clear();
	inflight_remove(s, &f);
unlock:
	pthread_mutex_unlock(&s->lock);
	return ret < 0 ? ret : (int64_t)len;
}

/* Bytes from off to the end of its L2 table's range, capped at len. */
static uint64_t piece_len(struct qcow2_state *s, uint64_t off, uint64_t len)
{
	uint64_t span = s->l2_entries << s->cluster_bits;
	uint64_t left = span - (off % span);

	return MIN(len, left);
}

int qcow2_write(struct image *img, const void *buf, uint64_t off, size_t len)
{
	struct qcow2_state *s = qcow2_state(img);
	const uint8_t *p = buf;
	struct qcow2_data d = { .buf = buf, .base = off };
	int ret;

	if (qcow2_encrypted(s) && s->extended_l2)
		return err_set(-ENOTSUP, img->filename,
			       "writing encrypted images with extended L2 entries is not supported");
	if (qcow2_encrypted(s) && (off % 512 || len % 512))
		return qcow2_crypt_write_unaligned(img, buf, off, len);
	ret = qcow2_bitmaps_mark(s, off, len);
	if (ret < 0)
		return ret;
	while (len) {
		int64_t n = s->extended_l2 ? write_piece_ext(s, p, off, len) :
			    write_piece(s, &d, off, piece_len(s, off, len));
		if (n < 0)
			return (int)n;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* Copy offloading (qemu-img convert -C): the same allocation as a write, the
 * cluster data copied by backend_copy_range() from where the source stores it.
 * Extended L2 (subcluster) writes go through memory. */
int qcow2_write_from(struct image *img, uint64_t off, struct backend *src, uint64_t src_off,
		     size_t len)
{
	struct qcow2_state *s = qcow2_state(img);
	struct qcow2_data d = { .src = src, .src_off = src_off, .base = off };
	int ret;

	/* ciphertext cannot be copied from a plaintext source: the engine copies in memory */
	if (s->extended_l2 || qcow2_encrypted(s) || src->ops != img->be->ops ||
	    !src->ops->copy_range)
		return -ENOTSUP;
	ret = qcow2_bitmaps_mark(s, off, len);
	if (ret < 0)
		return ret;
	while (len) {
		int64_t n = write_piece(s, &d, off, piece_len(s, off, len));

		if (n < 0)
			return (int)n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- write_zeroes ---- */

static int write_zero_bytes(struct image *img, uint64_t off, uint64_t len)
{
	size_t chunk = (size_t)MIN(len, 1 * MiB);
	uint8_t *z = calloc(1, chunk);
	int ret = 0;

	if (!z)
		return err_set(-ENOMEM, img->filename, "out of memory");
	while (len && ret == 0) {
		size_t n = (size_t)MIN((uint64_t)chunk, len);
		ret = qcow2_write(img, z, off, n);
		off += n;
		len -= n;
	}
	free(z);
	return ret;
}

/* Does [off, off+len) already read as zeros without any change? */
static int reads_as_zero(struct qcow2_state *s, uint64_t off, uint64_t len, bool *zero)
{
	uint64_t host, bytes = len;
	enum qcow2_cluster_type t;
	int ret;

	*zero = false;
	pthread_mutex_lock(&s->lock);
	ret = qcow2_get_host_offset(s, off, &bytes, &host, &t);
	pthread_mutex_unlock(&s->lock);
	if (ret < 0)
		return ret;
	if (bytes < len)
		return 0;
	*zero = t == QCOW2_CLUSTER_ZERO_PLAIN || t == QCOW2_CLUSTER_ZERO_ALLOC ||
		(t == QCOW2_CLUSTER_UNALLOCATED &&
		 (!s->img->backing || off >= s->img->backing->size));
	return 0;
}

static int zero_partial(struct image *img, uint64_t off, uint64_t len)
{
	struct qcow2_state *s = qcow2_state(img);
	bool zero;
	int ret;

	if (!len)
		return 0;
	ret = reads_as_zero(s, off, len, &zero);
	if (ret < 0 || zero)
		return ret;
	return write_zero_bytes(img, off, len);
}

/* v3: set the ZERO flag on whole clusters [off, off+len) within one L2 table. */
static int zero_clusters_piece(struct qcow2_state *s, uint64_t off, uint64_t len, int flags)
{
	uint64_t cs = s->cluster_size;
	uint64_t n = len / cs, idx = qcow2_l2_index(s, off), l2_off;
	uint64_t *old = NULL;
	uint64_t nold = 0;
	void *t;
	int ret;

	pthread_mutex_lock(&s->lock);
	wait_inflight(s, off, off + len);
	ret = mark_dirty(s);
	if (ret < 0)
		goto out;
	old = malloc(n * sizeof(*old));
	if (!old) {
		ret = err_set(-ENOMEM, s->img->filename, "out of memory");
		goto out;
	}
	ret = get_l2_for_write(s, off, &t, &l2_off);
	if (ret < 0)
		goto out;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t e = qcow2_l2_entry_get(s, t, idx + i);
		bool unmap = (e & QCOW2_OFLAG_COMPRESSED) ||
			     ((flags & IMG_ZERO_MAY_UNMAP) && entry_host(e));
		uint64_t ne;

		if (s->extended_l2) {
			/* every subcluster reads as zeros; the host cluster may stay */
			ne = unmap ? 0 : e;
			if (unmap)
				old[nold++] = e;
			qcow2_l2_entry_set(s, t, idx + i, ne);
			qcow2_l2_bitmap_set(s, t, idx + i, EXTL2_ALL_ZERO);
			continue;
		}
		if (unmap) {
			ne = QCOW2_OFLAG_ZERO;
			old[nold++] = e;
		} else if (entry_host(e)) {
			ne = e | QCOW2_OFLAG_ZERO;
		} else {
			ne = QCOW2_OFLAG_ZERO;
		}
		if (ne != e)
			qcow2_l2_entry_set(s, t, idx + i, ne);
	}
	qcow2_cache_mark_dirty(s->l2_cache, t);
	qcow2_cache_put(s->l2_cache, &t);
	if (free_old_entries(s, old, nold) < 0)
		err_clear();
out:
	pthread_mutex_unlock(&s->lock);
	free(old);
	return ret;
}

/* v2 (no ZERO flag): leave unallocated clusters without backing alone, write zeros
 * elsewhere. */
static int zero_v2(struct image *img, uint64_t off, uint64_t len)
{
	struct qcow2_state *s = qcow2_state(img);

	while (len) {
		uint64_t bytes = len, host;
		enum qcow2_cluster_type t;
		int ret;

		pthread_mutex_lock(&s->lock);
		ret = qcow2_get_host_offset(s, off, &bytes, &host, &t);
		pthread_mutex_unlock(&s->lock);
		if (ret < 0)
			return ret;
		if (bytes == 0 || bytes > len)
			bytes = len;
		if (!(t == QCOW2_CLUSTER_UNALLOCATED &&
		      (!img->backing || off >= img->backing->size))) {
			ret = write_zero_bytes(img, off, bytes);
			if (ret < 0)
				return ret;
		}
		off += bytes;
		len -= bytes;
	}
	return 0;
}

int qcow2_write_zeroes(struct image *img, uint64_t off, uint64_t len, int flags)
{
	struct qcow2_state *s = qcow2_state(img);
	uint64_t cs = s->cluster_size;
	uint64_t a = align_up(off, cs), b = align_down(off + len, cs);
	int ret = qcow2_bitmaps_mark(s, off, len);

	if (ret < 0)
		return ret;
	if (s->h.version < 3)
		return zero_v2(img, off, len);
	/* the last cluster may be partial at the end of the image: it is whole */
	if (off + len == img->size && !is_aligned(off + len, cs))
		b = align_up(off + len, cs);
	if (a >= b)
		return zero_partial(img, off, len);
	ret = zero_partial(img, off, a - off);
	if (ret < 0)
		return ret;
	for (uint64_t pos = a; pos < b;) {
		uint64_t n = piece_len(s, pos, b - pos);
		ret = zero_clusters_piece(s, pos, n, flags);
		if (ret < 0)
			return ret;
		pos += n;
	}
	if (off + len > b)
		ret = zero_partial(img, b, off + len - b);
	return ret;
}

/* ---- write_compressed ---- */

int qcow2_write_compressed(struct image *img, const void *buf, uint64_t off, size_t len)
{
	struct qcow2_state *s = qcow2_state(img);
	uint64_t cs = s->cluster_size;
	uint64_t idx, host, l2_off, e, nsect;
	struct qcow2_inflight f;
	uint8_t *in = NULL, *out = NULL;
	const uint8_t *src = buf;
	enum qcow2_cluster_type ty;
	void *t;
	int clen, ret;

	if (qcow2_encrypted(s))
		return err_set(-ENOTSUP, img->filename, "Compression not supported with encryption");
	if (!is_aligned(off, cs) || len > cs || len == 0)
		return err_set(-EINVAL, img->filename,
			       "compressed writes must be one whole cluster (offset %#" PRIx64
			       ", %zu bytes)", off, len);
	ret = qcow2_bitmaps_mark(s, off, len);
	if (ret < 0)
		return ret;
	if (len < cs) {
		/* the last cluster of the image: pad with zeros */
		in = calloc(1, cs);
		if (!in)
			return err_set(-ENOMEM, img->filename, "out of memory");
		memcpy(in, buf, len);
		src = in;
	}
	out = malloc(cs);
	if (!out) {
		ret = err_set(-ENOMEM, img->filename, "out of memory");
		goto out;
	}
	clen = qcow2_compress_buffer(s, src, cs, out, cs - 1);
	if (clen == -ENOSPC) {
		err_clear();
		ret = qcow2_write(img, buf, off, len);
		goto out;
	}
	if (clen < 0) {
		ret = clen;
		goto out;
	}

	pthread_mutex_lock(&s->lock);
	wait_inflight(s, off, off + cs);
	ret = mark_dirty(s);
	if (ret == 0)
		ret = get_l2_for_write(s, off, &t, &l2_off);
	if (ret < 0)
		goto unlock;
	idx = qcow2_l2_index(s, off);
	e = qcow2_l2_entry_get(s, t, idx);
	qcow2_cache_put(s->l2_cache, &t);
	ty = qcow2_classify(s, e, 0, 0);
	if (entry_has_ref(e) ||
	    (ty != QCOW2_CLUSTER_UNALLOCATED && ty != QCOW2_CLUSTER_ZERO_PLAIN)) {
		ret = err_set(-EIO, img->filename,
			      "cannot write compressed data over the allocated cluster at "
			      "guest offset %#" PRIx64, off);
		goto unlock;
	}
	ret = qcow2_alloc_bytes(s, (uint64_t)clen, &host);
	if (ret < 0)
		goto unlock;
	if (host & ~s->cluster_offset_mask) {
		qcow2_free_clusters(s, host, (uint64_t)clen);
		ret = err_set(-EFBIG, img->filename,
			      "compressed cluster offset %#" PRIx64 " too large", host);
		goto unlock;
	}
	inflight_add(s, &f, off, off + cs);
	pthread_mutex_unlock(&s->lock);

	ret = backend_pwrite(img->be, out, (size_t)clen, host);

	pthread_mutex_lock(&s->lock);
	if (ret == 0)
		ret = get_l2_for_write(s, off, &t, &l2_off);
	if (ret < 0) {
		qcow2_free_clusters(s, host, (uint64_t)clen);
		inflight_remove(s, &f);
		goto unlock;
	}
	/* additional 512-byte sectors after the one holding the first byte */
	nsect = ((host + (uint64_t)clen - 1) >> 9) - (host >> 9);
	qcow2_l2_entry_set(s, t, idx, QCOW2_OFLAG_COMPRESSED | (nsect << s->csize_shift) | host);
	if (s->extended_l2)
		qcow2_l2_bitmap_set(s, t, idx, 0);   /* no subclusters when compressed */
	qcow2_cache_mark_dirty(s->l2_cache, t);
	qcow2_cache_put(s->l2_cache, &t);
	inflight_remove(s, &f);
unlock:
	pthread_mutex_unlock(&s->lock);
out:
	free(in);
	free(out);
	return ret;
}

/* ---- flush / close ---- */

static int flush_caches(struct qcow2_state *s)
{
	int ret = 0;

	if (s->l2_cache)
		ret = qcow2_cache_flush(s->l2_cache);
	if (ret == 0 && s->refcount_cache)
		ret = qcow2_cache_flush(s->refcount_cache);
	return ret;
}

int qcow2_flush(struct image *img)
{
	struct qcow2_state *s = qcow2_state(img);
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = flush_caches(s);
	pthread_mutex_unlock(&s->lock);
	if (ret < 0)
		return ret;
	return backend_flush(img->be);
}

int qcow2_write_close(struct qcow2_state *s)
{
	int ret;

	if (s->read_only)
		return 0;
	pthread_mutex_lock(&s->lock);
	ret = flush_caches(s);
	if (ret == 0)
		ret = backend_flush(s->img->be);
	if (ret == 0 && s->dirty_set) {
		s->h.incompatible_features &= ~QCOW2_INCOMPAT_DIRTY;
		ret = qcow2_header_write_incompat(s);
		if (ret == 0)
			ret = backend_flush(s->img->be);
		if (ret == 0)
			s->dirty_set = false;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* ---- preallocation (create and resize) ---- */

/* Allocate data clusters (and L2 tables) for every cluster of [off, end) that has
 * none, from the end of the file so that they read as zeros. */
static int prealloc_piece(struct qcow2_state *s, uint64_t off, uint64_t end,
			  enum prealloc_mode mode)
{
	uint64_t cs = s->cluster_size;
	uint64_t idx = qcow2_l2_index(s, off);
	uint64_t n = (end - off) / cs, i = 0;
	uint64_t l2_off, host;
	void *t;
	int ret;

	while (i < n) {
		uint64_t k = 0;

		ret = get_l2_for_write(s, off, &t, &l2_off);
		if (ret < 0)
			return ret;
		/* skip what is allocated, then take a run that is not */
		for (; i < n; i++)
			if (!entry_has_ref(qcow2_l2_entry_get(s, t, idx + i)))
				break;
		for (; i + k < n; k++)
			if (entry_has_ref(qcow2_l2_entry_get(s, t, idx + i + k)))
				break;
		qcow2_cache_put(s->l2_cache, &t);
		if (!k)
			break;
		ret = qcow2_alloc_clusters(s, k, &host);
		if (ret < 0)
			return ret;
		/* reserve or write the data area before the entries point to it */
		if (mode == PREALLOC_FALLOC)
			ret = backend_preallocate(s->img->be, host, k * cs);
		else if (mode == PREALLOC_FULL)
			ret = backend_write_zeroes(s->img->be, host, k * cs, 0);
		if (ret == 0)
			ret = get_l2_for_write(s, off, &t, &l2_off);
		if (ret < 0) {
			qcow2_free_clusters(s, host, k * cs);
			return ret;
		}
		for (uint64_t j = 0; j < k; j++)
			qcow2_l2_entry_set(s, t, idx + i + j, (host + j * cs) | QCOW2_OFLAG_COPIED);
		qcow2_cache_mark_dirty(s->l2_cache, t);
		qcow2_cache_put(s->l2_cache, &t);
		i += k;
	}
	return 0;
}

int qcow2_preallocate(struct qcow2_state *s, uint64_t off, uint64_t end,
		      enum prealloc_mode mode)
{
	struct backend *be = s->img->be;
	uint64_t cs = s->cluster_size;
	uint64_t old_file, cur;
	int ret = 0;

	if (mode == PREALLOC_OFF || off >= end)
		return 0;
	pthread_mutex_lock(&s->lock);
	ret = mark_dirty(s);
	if (ret < 0)
		goto out;
	old_file = s->file_size;
	/* new clusters from the end of the file read as zeros */
	s->free_cluster_index = MAX(s->free_cluster_index, div_round_up(old_file, cs));
	for (uint64_t pos = align_down(off, cs); pos < end && ret == 0;) {
		uint64_t n = piece_len(s, pos, align_up(end, cs) - pos);
		ret = prealloc_piece(s, pos, pos + n, mode);
		pos += n;
	}
	if (ret == 0)
		ret = flush_caches(s);
	if (ret < 0)
		goto out;
	/* the file must contain every allocated cluster */
	ret = backend_size(be, &cur);
	if (ret == 0 && cur < s->file_size)
		ret = backend_truncate(be, s->file_size);
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}
