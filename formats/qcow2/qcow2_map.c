/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2_map.c - guest offset -> L1 -> L2 entry -> cluster type and host offset,
 * and block_status built on it.
 *
 * One lookup answers for a whole run: consecutive (sub)clusters of the same type
 * whose host offsets are contiguous, up to the end of one L2 table, so that
 * reading and block status cost one table visit per run rather than per cluster.
 * Every L1/L2 entry used is validated on the way (reserved bits, alignment, offsets
 * past the end of the file): a damaged image yields a clear error, never a wild
 * read.
 */
#include "qcow2.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* block_status merges lookups across L2 tables up to this many tables. */
#define BS_MAX_TABLES 64

uint64_t qcow2_l2_entry_get(const struct qcow2_state *s, const void *table, uint64_t idx)
{
	return load_be64((const uint8_t *)table + idx * s->l2_entry_size);
}

uint64_t qcow2_l2_bitmap_get(const struct qcow2_state *s, const void *table, uint64_t idx)
{
	if (!s->extended_l2)
		return 0;
	return load_be64((const uint8_t *)table + idx * s->l2_entry_size + 8);
}

void qcow2_l2_entry_set(const struct qcow2_state *s, void *table, uint64_t idx, uint64_t v)
{
	store_be64((uint8_t *)table + idx * s->l2_entry_size, v);
}

void qcow2_l2_bitmap_set(const struct qcow2_state *s, void *table, uint64_t idx, uint64_t v)
{
	if (s->extended_l2)
		store_be64((uint8_t *)table + idx * s->l2_entry_size + 8, v);
}

void qcow2_compressed_extent(const struct qcow2_state *s, uint64_t l2_entry,
			     uint64_t *host_off, uint64_t *nbytes)
{
	uint64_t off = l2_entry & s->cluster_offset_mask;
	uint64_t nsect = ((l2_entry >> s->csize_shift) & s->csize_mask) + 1;

	*host_off = off;
	*nbytes = nsect * 512 - (off & 511);
}

enum qcow2_cluster_type qcow2_classify(const struct qcow2_state *s, uint64_t l2_entry,
				       uint64_t l2_bitmap, unsigned sc)
{
	uint64_t host = l2_entry & L2E_OFFSET_MASK;

	if (l2_entry & QCOW2_OFLAG_COMPRESSED)
		return QCOW2_CLUSTER_COMPRESSED;
	if (s->extended_l2) {
		/* zero wins over allocated; both set is invalid (caught by the
		 * lookup, which validates before classifying).  A subcluster
		 * that is neither falls through to the backing file, even when
		 * the cluster has a host offset. */
		if (l2_bitmap & (1ULL << (32 + sc)))
			return host ? QCOW2_CLUSTER_ZERO_ALLOC : QCOW2_CLUSTER_ZERO_PLAIN;
		if ((l2_bitmap & (1ULL << sc)) && host)
			return QCOW2_CLUSTER_NORMAL;
		return QCOW2_CLUSTER_UNALLOCATED;
	}
	if (l2_entry & QCOW2_OFLAG_ZERO)
		return host ? QCOW2_CLUSTER_ZERO_ALLOC : QCOW2_CLUSTER_ZERO_PLAIN;
	return host ? QCOW2_CLUSTER_NORMAL : QCOW2_CLUSTER_UNALLOCATED;
}

static bool problem(char *msg, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool problem(char *msg, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, n, fmt, ap);
	va_end(ap);
	return true;
}

/* What is wrong with an L2 entry, if anything (msg set, true returned). */
static bool l2_entry_problem(const struct qcow2_state *s, uint64_t e, uint64_t bm,
			     char *msg, size_t n)
{
	uint64_t host = e & L2E_OFFSET_MASK;

	if (e & QCOW2_OFLAG_COMPRESSED) {
		uint64_t coff, clen;

		qcow2_compressed_extent(s, e, &coff, &clen);
		if (coff >> 56)
			return problem(msg, n, "compressed cluster offset %#" PRIx64 " invalid",
				       coff);
		if (coff >= s->file_size)
			return problem(msg, n,
				       "compressed cluster at %#" PRIx64 " beyond end of file", coff);
		return false;
	}
	if (e & L2E_STD_RESERVED_MASK)
		return problem(msg, n, "L2 entry %#" PRIx64 " has reserved bits set", e);
	if (s->extended_l2 && (bm & (bm >> 32) & 0xffffffffULL))
		return problem(msg, n,
			       "invalid subcluster bitmap %#" PRIx64 " (a subcluster both allocated and zero)",
			       bm);
	if (s->extended_l2 && !host && (bm & 0xffffffffULL))
		return problem(msg, n, "subclusters marked allocated without a host cluster");
	if (!host)
		return false;
	if (!is_aligned(host, s->cluster_size))
		return problem(msg, n, "Cluster allocation offset %#" PRIx64 " unaligned", host);
	if (host >= s->file_size)
		return problem(msg, n, "data cluster at %#" PRIx64 " beyond end of file", host);
	return false;
}

/* Validate the L2 entry at idx before it is used; the message is only set
 * when report is true (a look-ahead past the requested cluster stays quiet). */
static int check_l2_entry(struct qcow2_state *s, uint64_t l2_off, uint64_t idx,
			  uint64_t e, uint64_t bm, bool report)
{
	char msg[200];

	if (!l2_entry_problem(s, e, bm, msg, sizeof(msg)))
		return 0;
	if (report)
		err_set(-EIO, s->img->filename,
			"%s (L2 table at %#" PRIx64 ", index %" PRIu64 ")", msg, l2_off, idx);
	return -EIO;
}

static int get_l2_offset(struct qcow2_state *s, uint64_t l1_index, uint64_t *l2_off)
{
	const char *fn = s->img->filename;
	uint64_t l1e, off;

	*l2_off = 0;
	if (l1_index >= s->h.l1_size)
		return 0;
	l1e = s->l1[l1_index];
	if (l1e & L1E_RESERVED_MASK)
		return err_set(-EIO, fn,
			       "L1 entry %#" PRIx64 " (index %" PRIu64 ") has reserved bits set",
			       l1e, l1_index);
	off = l1e & L1E_OFFSET_MASK;
	if (!off)
		return 0;
	if (!is_aligned(off, s->cluster_size))
		return err_set(-EIO, fn,
			       "L2 table offset %#" PRIx64 " unaligned (L1 index %" PRIu64 ")",
			       off, l1_index);
	if (off + s->cluster_size > s->file_size)
		return err_set(-EIO, fn, "L2 table at %#" PRIx64 " beyond end of file", off);
	*l2_off = off;
	return 0;
}

/* Host offset of subcluster sc of an entry, for types that have one. */
static uint64_t sc_host(const struct qcow2_state *s, uint64_t e, unsigned sc)
{
	return (e & L2E_OFFSET_MASK) + (uint64_t)sc * s->subcluster_size;
}

static bool has_host(enum qcow2_cluster_type t)
{
	return t == QCOW2_CLUSTER_NORMAL || t == QCOW2_CLUSTER_ZERO_ALLOC;
}

/* Does subcluster type t of entry e carry a host offset?  Besides data and
 * preallocated zeros, an unallocated subcluster of an allocated extended-L2
 * cluster has one (qemu's map reports it, so ours does too). */
static bool entry_has_host(const struct qcow2_state *s, enum qcow2_cluster_type t, uint64_t e)
{
	if (has_host(t))
		return true;
	return t == QCOW2_CLUSTER_UNALLOCATED && s->extended_l2 &&
	       !(e & QCOW2_OFLAG_COMPRESSED) && (e & L2E_OFFSET_MASK);
}

/*
 * Walk the L2 table from (idx, sc) while the type stays `type` and host offsets
 * stay contiguous; returns the number of subclusters in the run (at least 1),
 * at most max_sc.
 */
static int scan_run(struct qcow2_state *s, const void *table, uint64_t l2_off,
		    uint64_t idx, unsigned sc, uint64_t max_sc,
		    enum qcow2_cluster_type type, bool with_host, uint64_t expect_host,
		    uint64_t *run)
{
	unsigned per = s->extended_l2 ? QCOW2_SUBCLUSTERS : 1;
	uint64_t n = 0;

	while (n < max_sc && idx < s->l2_entries) {
		uint64_t e = qcow2_l2_entry_get(s, table, idx);
		uint64_t bm = qcow2_l2_bitmap_get(s, table, idx);

		/* the first entry was checked by the caller; a bad one further
		 * on just ends the run (its error comes with the next lookup) */
		if (n && check_l2_entry(s, l2_off, idx, e, bm, false) < 0)
			break;
		for (; sc < per && n < max_sc; sc++) {
			enum qcow2_cluster_type t = qcow2_classify(s, e, bm, sc);

			if (t != type || entry_has_host(s, t, e) != with_host)
				goto done;
			if (with_host && sc_host(s, e, sc) != expect_host)
				goto done;
			expect_host += s->subcluster_size;
			n++;
		}
		sc = 0;
		idx++;
		/* a compressed descriptor is returned for the first cluster only,
		 * the run may still cover several compressed clusters */
	}
done:
	*run = n;
	return 0;
}

int qcow2_get_host_offset(struct qcow2_state *s, uint64_t off, uint64_t *bytes,
			  uint64_t *host_off, enum qcow2_cluster_type *type)
{
	uint64_t in_cluster = qcow2_offset_into_cluster(s, off);
	uint64_t l2_index = qcow2_l2_index(s, off);
	uint64_t table_left = (s->l2_entries - l2_index) * s->cluster_size - in_cluster;
	uint64_t want = MIN(*bytes, table_left);
	uint64_t l2_off, e, bm, sc_off, max_sc, run;
	unsigned sc;
	void *table;
	int ret;

	ret = get_l2_offset(s, qcow2_l1_index(s, off), &l2_off);
	if (ret < 0)
		return ret;
	*host_off = 0;
	if (!l2_off) {
		*type = QCOW2_CLUSTER_UNALLOCATED;
		*bytes = want;
		return 0;
	}
	ret = qcow2_cache_get(s->l2_cache, l2_off, &table);
	if (ret < 0)
		return ret;
	e = qcow2_l2_entry_get(s, table, l2_index);
	bm = qcow2_l2_bitmap_get(s, table, l2_index);
	ret = check_l2_entry(s, l2_off, l2_index, e, bm, true);
	if (ret < 0)
		goto out;
	sc = (unsigned)(in_cluster / s->subcluster_size);
	sc_off = in_cluster - (uint64_t)sc * s->subcluster_size;
	*type = qcow2_classify(s, e, bm, sc);
	if (*type == QCOW2_CLUSTER_COMPRESSED)
		*host_off = e;
	else if (entry_has_host(s, *type, e))
		*host_off = sc_host(s, e, sc) + sc_off;
	max_sc = div_round_up(want + sc_off, s->subcluster_size);
	ret = scan_run(s, table, l2_off, l2_index, sc, max_sc, *type,
		       entry_has_host(s, *type, e), sc_host(s, e, sc), &run);
	if (ret < 0)
		goto out;
	*bytes = MIN(want, run * s->subcluster_size - sc_off);
out:
	qcow2_cache_put(s->l2_cache, &table);
	return ret;
}

void qcow2_detect_metadata_prealloc(struct qcow2_state *s)
{
	uint64_t real = 0, real_clusters, threshold;

	/* QEMU's heuristic: the file claims clearly more clusters than it really
	 * occupies, so data clusters may be holes worth reporting as zeros. */
	s->metadata_prealloc = 0;
	if (backend_allocated_size(s->img->be, &real) < 0)
		return;
	real_clusters = real / s->cluster_size;
	threshold = MAX(real_clusters * 10 / 9, real_clusters + 2);
	if (s->file_size / s->cluster_size >= threshold)
		s->metadata_prealloc = 1;
}

static unsigned status_flags(enum qcow2_cluster_type t)
{
	switch (t) {
	case QCOW2_CLUSTER_NORMAL:
		return BS_DATA | BS_ALLOCATED | BS_OFFSET_VALID;
	case QCOW2_CLUSTER_ZERO_PLAIN:
		return BS_ZERO | BS_ALLOCATED;
	case QCOW2_CLUSTER_ZERO_ALLOC:
		return BS_ZERO | BS_ALLOCATED | BS_OFFSET_VALID;
	case QCOW2_CLUSTER_COMPRESSED:
		return BS_DATA | BS_ALLOCATED | BS_COMPRESSED;
	default:
		return 0;
	}
}

/* Data clusters of a metadata-preallocated image: the file says whether the
 * bytes are really there (a hole reads as zeros). */
static int refine_with_backend(struct qcow2_state *s, struct block_status *bs)
{
	bool data = true;
	uint64_t run = bs->length;
	int ret;

	if (bs->host_offset >= s->file_size)
		return 0;
	ret = backend_extent(s->img->be, bs->host_offset,
			     MIN(bs->length, s->file_size - bs->host_offset), &data, &run);
	if (ret < 0 || run == 0)
		return 0;     /* unknown: keep plain data */
	bs->length = MIN(bs->length, run);
	if (!data)
		bs->flags |= BS_ZERO;
	return 0;
}

int qcow2_block_status(struct image *img, uint64_t off, uint64_t len,
		       struct block_status *bs)
{
	struct qcow2_state *s = qcow2_state(img);
	enum qcow2_cluster_type type, t2;
	uint64_t bytes = len, host, h2, b2;
	int ret, tables = 1;

	pthread_mutex_lock(&s->lock);
	ret = qcow2_get_host_offset(s, off, &bytes, &host, &type);
	/* Long runs of one kind (an empty disk, a fully allocated one) span many
	 * tables: merge them here so callers see one extent. */
	while (ret == 0 && bytes < len && tables < BS_MAX_TABLES &&
	       type != QCOW2_CLUSTER_COMPRESSED) {
		b2 = len - bytes;
		ret = qcow2_get_host_offset(s, off + bytes, &b2, &h2, &t2);
		if (ret < 0 || t2 != type || (h2 != 0) != (host != 0) ||
		    (host && h2 != host + bytes)) {
			/* a bad entry further on is reported when it is asked for */
			if (ret < 0)
				err_clear();
			ret = 0;
			break;
		}
		bytes += b2;
		tables++;
	}
	pthread_mutex_unlock(&s->lock);
	if (ret < 0)
		return ret;
	bs->length = bytes;
	bs->flags = status_flags(type);
	bs->host_offset = 0;
	if (type != QCOW2_CLUSTER_COMPRESSED && host) {
		bs->flags |= BS_OFFSET_VALID;
		bs->host_offset = host;
	}
	if (qcow2_encrypted(s)) {
		/* the bytes at host are ciphertext: no caller may use them raw
		 * (qemu-img map shows no offset for them either) */
		bs->flags &= ~BS_OFFSET_VALID;
		bs->host_offset = 0;
		return 0;
	}
	if (type == QCOW2_CLUSTER_NORMAL && s->metadata_prealloc == 1)
		return refine_with_backend(s, bs);
	return 0;
}
