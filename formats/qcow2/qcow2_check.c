/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2_check.c - `check` for qcow2 images, and the repair run on opening a dirty
 * (lazy refcounts) image.
 *
 * The approach is the one qemu-img check takes, so that counts, messages and exit
 * codes match it: walk every reference in the image (header, active and snapshot
 * L1/L2 tables and the data clusters they map, the snapshot table, the refcount
 * table and blocks, bitmaps, the LUKS header) and count them in an in-memory
 * refcount table ("IMRT"); then compare with the refcounts on disk:
 *   on disk > counted   leaked cluster (fixed by -r leaks)
 *   on disk < counted   refcount error = corruption (fixed by -r all); this is also
 *                       how overlapping metadata shows up (a cluster counted twice)
 *   on disk 0, counted  the refcount structure is broken: -r all rebuilds it
 * and finally check the COPIED flags of the active tables against the refcounts.
 *
 * The IMRT is kept in the on-disk refcount block format (refcount_order bits per
 * entry, big-endian), so a rebuild can write slices of it as refcount blocks.
 *
 * Everything runs under s->lock with both metadata caches flushed; tables are read
 * and written directly on the backend, and the caches are emptied afterwards so
 * nothing stale survives a repair.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bswap.h"
#include "common/err.h"
#include "common/util.h"
#include "qcow2.h"

/* An IMRT larger than this is refused: 1 GiB covers a 256 GiB file even with
 * 512-byte clusters and 16-bit refcounts. */
#define IMRT_MAX_BYTES (1ULL << 30)
#define MAX_CHECK_CLUSTERS 0x7fffffffULL   /* as qemu: cluster numbers fit an int */

#define BME_OFFSET_MASK 0x00fffffffffffe00ULL

struct chk {
	struct qcow2_state *s;
	struct backend *be;
	const char *fn;
	struct check_result *res;
	bool quiet;                 /* no per-cluster messages (re-check, dirty repair) */

	uint64_t cs;                /* cluster size */
	uint32_t cb;                /* cluster bits */
	uint32_t order;             /* refcount_order */
	uint64_t rc_max;
	uint64_t rb_entries;        /* refcounts per refcount block */
	uint64_t file_size;
	bool data_file;             /* external data file: data clusters not refcounted */

	/* in-memory refcount table, on-disk refblock format */
	uint8_t *imrt;
	uint64_t imrt_cap;          /* clusters covered by the allocation */
	uint64_t nb_clusters;       /* clusters of interest (file size, grown by refs) */
	bool rebuild;

	uint8_t *buf;               /* one cluster: L2 tables */

	/* one on-disk refcount block, read (and patched) through */
	uint8_t *rb;
	uint64_t rb_idx;            /* refcount table index held, UINT64_MAX: none */
	int rb_state;               /* RB_* */
	uint64_t rb_off;
	bool rb_dirty;
};

enum { RB_NONE, RB_PRESENT, RB_BAD };

static void report(struct chk *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void report(struct chk *c, const char *fmt, ...)
{
	va_list ap;

	if (c->quiet)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

/* ---- refcount arrays in on-disk format ---- */

static uint64_t rc_get(const uint8_t *tbl, uint64_t i, uint32_t order)
{
	unsigned bits;
	uint64_t bit;

	switch (order) {
	case 0: case 1: case 2:
		bits = 1u << order;
		bit = i * bits;
		return (tbl[bit / 8] >> (bit % 8)) & ((1u << bits) - 1);
	case 3:
		return tbl[i];
	case 4:
		return load_be16(tbl + 2 * i);
	case 5:
		return load_be32(tbl + 4 * i);
	default:
		return load_be64(tbl + 8 * i);
	}
}

static void rc_set(uint8_t *tbl, uint64_t i, uint32_t order, uint64_t v)
{
	unsigned bits, mask;
	uint64_t bit;

	switch (order) {
	case 0: case 1: case 2:
		bits = 1u << order;
		mask = (1u << bits) - 1;
		bit = i * bits;
		tbl[bit / 8] = (uint8_t)((tbl[bit / 8] & ~(mask << (bit % 8))) |
					 ((v & mask) << (bit % 8)));
		break;
	case 3:
		tbl[i] = (uint8_t)v;
		break;
	case 4:
		store_be16(tbl + 2 * i, (uint16_t)v);
		break;
	case 5:
		store_be32(tbl + 4 * i, (uint32_t)v);
		break;
	default:
		store_be64(tbl + 8 * i, v);
	}
}

static uint64_t imrt_get(struct chk *c, uint64_t k)
{
	return k < c->imrt_cap ? rc_get(c->imrt, k, c->order) : 0;
}

/* Make the IMRT cover cluster k (capacity only; nb_clusters is the caller's). */
static int imrt_reserve(struct chk *c, uint64_t k)
{
	uint64_t cap, bytes, old_bytes;
	uint8_t *p;

	if (k < c->imrt_cap)
		return 0;
	if (k >= MAX_CHECK_CLUSTERS + c->rb_entries)
		goto too_big;
	cap = MAX(k + 1, c->imrt_cap + c->imrt_cap / 4);
	cap = align_up(cap, c->rb_entries);
	bytes = cap / c->rb_entries * c->cs;
	if (bytes > IMRT_MAX_BYTES) {
		cap = align_up(k + 1, c->rb_entries);
		bytes = cap / c->rb_entries * c->cs;
		if (bytes > IMRT_MAX_BYTES)
			goto too_big;
	}
	old_bytes = c->imrt_cap / c->rb_entries * c->cs;
	p = realloc(c->imrt, bytes);
	if (!p) {
		c->res->check_errors++;
		return err_set(-ENOMEM, c->fn, "Out of memory for the refcount check");
	}
	memset(p + old_bytes, 0, bytes - old_bytes);
	c->imrt = p;
	c->imrt_cap = cap;
	return 0;

too_big:
	c->res->check_errors++;
	return err_set(-EFBIG, c->fn, "Image too large to check (cluster %" PRIu64
		       " would need more than %llu MiB of memory)", k,
		       IMRT_MAX_BYTES / MiB);
}

/* Count one more reference to every cluster touching [offset, offset + size). */
static int inc_refs(struct chk *c, uint64_t offset, uint64_t size)
{
	uint64_t end, k, last, rc;
	int ret;

	if (!size)
		return 0;
	/* The last cluster may be partly allocated: a reference up to one cluster
	 * past the end of the file is fine, beyond that it is corruption. */
	if (!add_ok(offset, size, &end) || end >= c->file_size + c->cs) {
		report(c, "ERROR: counting reference for region exceeding the end of "
		       "the file by one cluster or more: offset 0x%" PRIx64
		       " size 0x%" PRIx64 "\n", offset, size);
		c->res->corruptions++;
		return 0;
	}
	last = (end - 1) >> c->cb;
	for (k = offset >> c->cb; k <= last; k++) {
		if (k >= c->nb_clusters) {
			ret = imrt_reserve(c, k);
			if (ret < 0)
				return ret;
			c->nb_clusters = k + 1;
		}
		rc = rc_get(c->imrt, k, c->order);
		if (rc == c->rc_max) {
			report(c, "ERROR: overflow cluster offset=0x%" PRIx64 "\n",
			       k << c->cb);
			c->res->corruptions++;
			continue;
		}
		rc_set(c->imrt, k, c->order, rc + 1);
	}
	return 0;
}

/* ---- on-disk refcounts, one refcount block at a time ---- */

static int rb_writeback(struct chk *c)
{
	int ret;

	if (!c->rb_dirty)
		return 0;
	ret = backend_pwrite(c->be, c->rb, c->cs, c->rb_off);
	if (ret < 0) {
		c->res->check_errors++;
		return ret;
	}
	c->rb_dirty = false;
	return 0;
}

static void rb_forget(struct chk *c)
{
	c->rb_idx = UINT64_MAX;
	c->rb_dirty = false;
}

static int rb_load(struct chk *c, uint64_t ti)
{
	struct qcow2_state *s = c->s;
	uint64_t off;
	int ret;

	if (ti == c->rb_idx)
		return 0;
	ret = rb_writeback(c);
	if (ret < 0)
		return ret;
	c->rb_idx = ti;
	c->rb_state = RB_NONE;
	if (ti >= s->reftable_size)
		return 0;
	off = s->reftable[ti] & REFT_OFFSET_MASK;
	if (!off)
		return 0;
	if (off & (c->cs - 1)) {
		c->rb_state = RB_BAD;
		return 0;
	}
	c->rb_off = off;
	if (off >= c->file_size) {
		/* past the end: reads as zeros, like the backend would */
		memset(c->rb, 0, c->cs);
	} else {
		ret = backend_pread(c->be, c->rb, c->cs, off);
		if (ret < 0) {
			c->rb_idx = UINT64_MAX;
			return ret;
		}
	}
	c->rb_state = RB_PRESENT;
	return 0;
}

/* The refcount of cluster k as stored on disk. */
static int disk_rc_get(struct chk *c, uint64_t k, uint64_t *rc)
{
	int ret = rb_load(c, k / c->rb_entries);

	*rc = 0;
	if (ret < 0)
		return ret;
	if (c->rb_state == RB_BAD)
		return -EIO;
	if (c->rb_state == RB_PRESENT)
		*rc = rc_get(c->rb, k % c->rb_entries, c->order);
	return 0;
}

/* Change the on-disk refcount of k (its refcount block exists: rc was > 0). */
static int disk_rc_set(struct chk *c, uint64_t k, uint64_t rc)
{
	int ret = rb_load(c, k / c->rb_entries);

	if (ret < 0)
		return ret;
	if (c->rb_state != RB_PRESENT)
		return -EIO;
	rc_set(c->rb, k % c->rb_entries, c->order, rc);
	c->rb_dirty = true;
	return 0;
}

/* ---- walking the mapping tables ---- */

static enum qcow2_cluster_type l2_type(struct chk *c, uint64_t e)
{
	if (e & QCOW2_OFLAG_COMPRESSED)
		return QCOW2_CLUSTER_COMPRESSED;
	if ((e & QCOW2_OFLAG_ZERO) && !c->s->extended_l2)
		return (e & L2E_OFFSET_MASK) ? QCOW2_CLUSTER_ZERO_ALLOC
					     : QCOW2_CLUSTER_ZERO_PLAIN;
	if (!(e & L2E_OFFSET_MASK))
		return (c->data_file && (e & QCOW2_OFLAG_COPIED)) ? QCOW2_CLUSTER_NORMAL
								 : QCOW2_CLUSTER_UNALLOCATED;
	return QCOW2_CLUSTER_NORMAL;
}

static uint64_t l2e_get(struct chk *c, const uint8_t *t, uint64_t i)
{
	return load_be64(t + i * c->s->l2_entry_size);
}

static uint64_t l2b_get(struct chk *c, const uint8_t *t, uint64_t i)
{
	return c->s->extended_l2 ? load_be64(t + i * c->s->l2_entry_size + 8) : 0;
}

/* Read one cluster-sized table; the part past the end of the file reads as zeros. */
static int read_table(struct chk *c, uint64_t off, uint8_t *buf, const char *what)
{
	int ret;

	if (off >= c->file_size) {
		memset(buf, 0, c->cs);
		return 0;
	}
	ret = backend_pread(c->be, buf, c->cs, off);
	if (ret < 0) {
		report(c, "ERROR: I/O error reading %s at 0x%" PRIx64 "\n", what, off);
		c->res->check_errors++;
	}
	return ret;
}

/* A preallocated zero cluster with a misaligned offset: make it a plain zero
 * cluster (nothing is lost, it reads as zeros either way). */
static int fix_l2_entry_by_zero(struct chk *c, uint64_t l2_off, uint64_t i)
{
	struct qcow2_state *s = c->s;
	uint8_t *e = c->buf + i * s->l2_entry_size;
	int ret;

	if (s->extended_l2) {
		store_be64(e, 0);
		store_be64(e + 8, 0xffffffffULL << 32);   /* all subclusters read as zero */
	} else {
		store_be64(e, QCOW2_OFLAG_ZERO);
	}
	ret = backend_pwrite(c->be, e, s->l2_entry_size, l2_off + i * s->l2_entry_size);
	if (ret < 0) {
		report(c, "ERROR: Failed to overwrite L2 table entry: %s\n", strerror(-ret));
		c->res->check_errors++;
		return ret;
	}
	c->res->corruptions--;
	c->res->corruptions_fixed++;
	return 0;
}

static int check_l2(struct chk *c, uint64_t l2_off, bool frag, int fix)
{
	struct qcow2_state *s = c->s;
	struct check_result *res = c->res;
	uint64_t next_contig = 0;
	uint64_t i;
	int ret;

	ret = read_table(c, l2_off, c->buf, "L2 table");
	if (ret < 0)
		return ret;

	for (i = 0; i < s->l2_entries; i++) {
		uint64_t e = l2e_get(c, c->buf, i);
		uint64_t bmp = l2b_get(c, c->buf, i);
		enum qcow2_cluster_type type = l2_type(c, e);

		if (type != QCOW2_CLUSTER_COMPRESSED && (e & L2E_STD_RESERVED_MASK)) {
			report(c, "ERROR found l2 entry with reserved bits set: %" PRIx64 "\n", e);
			res->corruptions++;
		}

		switch (type) {
		case QCOW2_CLUSTER_COMPRESSED: {
			uint64_t coff, nsect, csize;

			if (e & QCOW2_OFLAG_COPIED) {
				report(c, "ERROR: coffset=0x%" PRIx64 ": copied flag must never "
				       "be set for compressed clusters\n",
				       e & s->cluster_offset_mask);
				e &= ~QCOW2_OFLAG_COPIED;
				res->corruptions++;
			}
			if (c->data_file) {
				report(c, "ERROR compressed cluster %" PRIu64 " with data file, "
				       "entry=0x%" PRIx64 "\n", i, e);
				res->corruptions++;
				break;
			}
			if (bmp) {
				report(c, "ERROR compressed cluster %" PRIu64 " with non-zero "
				       "subcluster allocation bitmap, entry=0x%" PRIx64 "\n", i, e);
				res->corruptions++;
				break;
			}
			coff = e & s->cluster_offset_mask;
			nsect = ((e >> s->csize_shift) & s->csize_mask) + 1;
			csize = nsect * 512 - (coff & 511);
			ret = inc_refs(c, coff, csize);
			if (ret < 0)
				return ret;
			if (frag) {
				res->allocated_clusters++;
				res->compressed_clusters++;
				/* compressed clusters are fragmented by nature */
				res->fragmented_clusters++;
			}
			break;
		}
		case QCOW2_CLUSTER_ZERO_ALLOC:
		case QCOW2_CLUSTER_NORMAL: {
			uint64_t off = e & L2E_OFFSET_MASK;

			if ((bmp >> 32) & bmp) {
				res->corruptions++;
				report(c, "ERROR offset=%" PRIx64 ": Allocated cluster has "
				       "corrupted subcluster allocation bitmap\n", off);
			}
			if (off & (c->cs - 1)) {
				bool has_data = s->extended_l2 ? (bmp & 0xffffffffULL) != 0
							       : !(e & QCOW2_OFLAG_ZERO);

				res->corruptions++;
				if (has_data) {
					report(c, "ERROR offset=%" PRIx64 ": Data cluster is not "
					       "properly aligned; L2 entry corrupted.\n", off);
				} else {
					report(c, "%s offset=%" PRIx64 ": Preallocated cluster is "
					       "not properly aligned; L2 entry corrupted.\n",
					       (fix & CHECK_FIX_ERRORS) ? "Repairing" : "ERROR", off);
					if (fix & CHECK_FIX_ERRORS) {
						ret = fix_l2_entry_by_zero(c, l2_off, i);
						if (ret < 0)
							return ret;
						continue;
					}
				}
			}
			if (frag) {
				res->allocated_clusters++;
				if (next_contig && off != next_contig)
					res->fragmented_clusters++;
				next_contig = off + c->cs;
			}
			if (!c->data_file) {
				ret = inc_refs(c, off, c->cs);
				if (ret < 0)
					return ret;
			}
			break;
		}
		case QCOW2_CLUSTER_ZERO_PLAIN:
			break;
		case QCOW2_CLUSTER_UNALLOCATED:
			if (bmp & 0xffffffffULL) {
				res->corruptions++;
				report(c, "ERROR: Unallocated cluster has non-zero subcluster "
				       "allocation map\n");
			}
			break;
		}
	}
	return 0;
}

/* Walk one L1 table: mem is the active table in host order, or NULL to read it
 * (a snapshot's) from disk. */
static int check_l1(struct chk *c, uint64_t l1_off, uint32_t l1_size,
		    const uint64_t *mem, bool active, int fix)
{
	uint64_t *l1 = NULL;
	uint64_t bytes = (uint64_t)l1_size * 8;
	uint32_t i;
	int ret;

	if (!l1_size)
		return 0;
	ret = inc_refs(c, l1_off, bytes);
	if (ret < 0)
		return ret;

	if (!mem) {
		if (bytes > QCOW2_MAX_L1_BYTES)
			return 0;  /* caller reported it */
		l1 = calloc(l1_size, 8);
		if (!l1) {
			c->res->check_errors++;
			return err_set(-ENOMEM, c->fn, "Out of memory reading an L1 table");
		}
		if (l1_off < c->file_size) {
			ret = backend_pread(c->be, l1, MIN(bytes, c->file_size - l1_off), l1_off);
			if (ret < 0) {
				report(c, "ERROR: I/O error in check_refcounts_l1\n");
				c->res->check_errors++;
				goto out;
			}
		}
		for (i = 0; i < l1_size; i++)
			l1[i] = load_be64(&l1[i]);
		mem = l1;
	}

	for (i = 0; i < l1_size; i++) {
		uint64_t e = mem[i], l2_off;

		if (!e)
			continue;
		if (e & L1E_RESERVED_MASK) {
			report(c, "ERROR found L1 entry with reserved bits set: %" PRIx64 "\n", e);
			c->res->corruptions++;
		}
		l2_off = e & L1E_OFFSET_MASK;
		ret = inc_refs(c, l2_off, c->cs);
		if (ret < 0)
			goto out;
		if (l2_off & (c->cs - 1)) {
			report(c, "ERROR l2_offset=%" PRIx64 ": Table is not cluster aligned; "
			       "L1 entry corrupted\n", l2_off);
			c->res->corruptions++;
		}
		/* offset 0 would be the header; it was counted twice above already */
		if (!l2_off)
			continue;
		ret = check_l2(c, l2_off, active, fix);
		if (ret < 0)
			goto out;
	}
	ret = 0;
out:
	free(l1);
	return ret;
}

/* ---- other metadata ---- */

/* Byte size of the snapshot table as qemu computes it (no padding after the
 * last entry). */
static uint64_t snapshot_table_size(struct qcow2_state *s)
{
	uint64_t off = 0;
	int i;

	for (i = 0; i < s->nb_snapshots; i++) {
		struct qcow2_snapshot *sn = &s->snapshots[i];

		off = align_up(off, 8);
		off += 40 + sn->extra_data_size;
		off += sn->id_str ? strlen(sn->id_str) : 0;
		off += sn->name ? strlen(sn->name) : 0;
	}
	return off;
}

/* Bitmap directory and tables, and the LUKS header, as described by header
 * extensions; read from cluster 0 here so that this does not depend on which
 * extensions the header parser keeps. */
static int check_bitmaps(struct chk *c, uint64_t dir_off, uint64_t dir_size,
			 uint32_t nb_bitmaps)
{
	uint8_t *dir = NULL, *p;
	uint64_t pos = 0, *tbl = NULL;
	uint32_t n;
	int ret;

	ret = inc_refs(c, dir_off, dir_size);
	if (ret < 0)
		return ret;
	/* qemu limits the directory to 64 MiB; a bad one is the header's problem */
	if (!dir_size || dir_size > 64 * MiB || dir_off >= c->file_size ||
	    dir_size > c->file_size - dir_off)
		return 0;
	dir = malloc(dir_size);
	if (!dir) {
		c->res->check_errors++;
		return err_set(-ENOMEM, c->fn, "Out of memory reading the bitmap directory");
	}
	ret = backend_pread(c->be, dir, dir_size, dir_off);
	if (ret < 0) {
		c->res->check_errors++;
		goto out;
	}
	for (n = 0; n < nb_bitmaps && pos + 24 <= dir_size; n++) {
		uint64_t toff, tsize, i;
		uint32_t extra;
		uint16_t name_size;

		p = dir + pos;
		toff = load_be64(p);
		tsize = load_be32(p + 8);
		name_size = load_be16(p + 18);
		extra = load_be32(p + 20);
		pos = align_up(pos + 24 + (uint64_t)extra + name_size, 8);

		ret = inc_refs(c, toff, tsize * 8);
		if (ret < 0)
			goto out;
		if (!tsize || tsize * 8 > 64 * MiB || toff >= c->file_size ||
		    tsize * 8 > c->file_size - toff)
			continue;
		tbl = malloc(tsize * 8);
		if (!tbl) {
			ret = err_set(-ENOMEM, c->fn, "Out of memory reading a bitmap table");
			c->res->check_errors++;
			goto out;
		}
		ret = backend_pread(c->be, tbl, tsize * 8, toff);
		if (ret < 0) {
			c->res->check_errors++;
			goto out;
		}
		for (i = 0; i < tsize; i++) {
			uint64_t off = load_be64(&tbl[i]) & BME_OFFSET_MASK;

			if (off) {
				ret = inc_refs(c, off, c->cs);
				if (ret < 0)
					goto out;
			}
		}
		free(tbl);
		tbl = NULL;
	}
	ret = 0;
out:
	free(tbl);
	free(dir);
	return ret;
}

static int check_header_extensions(struct chk *c)
{
	struct qcow2_state *s = c->s;
	uint64_t pos, end = MIN(c->cs, c->file_size);
	int ret = 0;

	if (s->h.version < 3)
		return 0;  /* no extensions that reference clusters */
	pos = s->h.header_length;
	if (s->h.backing_file_offset && s->h.backing_file_offset < end)
		end = s->h.backing_file_offset;
	if (pos >= end)
		return 0;
	ret = backend_pread(c->be, c->buf, end, 0);
	if (ret < 0) {
		c->res->check_errors++;
		return ret;
	}
	while (pos + 8 <= end) {
		uint32_t type = load_be32(c->buf + pos);
		uint32_t len = load_be32(c->buf + pos + 4);
		const uint8_t *d = c->buf + pos + 8;

		if (type == QCOW2_EXT_END || len > end - pos - 8)
			break;
		if (type == QCOW2_EXT_CRYPTO && len >= 16) {
			ret = inc_refs(c, load_be64(d), load_be64(d + 8));
		} else if (type == QCOW2_EXT_BITMAPS && len >= 24 &&
			   (s->h.autoclear_features & QCOW2_AUTOCLEAR_BITMAPS)) {
			/* without the autoclear bit the bitmaps are stale and their
			 * clusters count as leaks, as in qemu */
			uint32_t nb = load_be32(d);
			uint64_t dsize = load_be64(d + 8), doff = load_be64(d + 16);

			ret = check_bitmaps(c, doff, dsize, nb);
		}
		if (ret < 0)
			return ret;
		pos += 8 + align_up(len, 8);
	}
	return 0;
}

static int check_refblocks(struct chk *c, int fix)
{
	struct qcow2_state *s = c->s;
	struct check_result *res = c->res;
	uint64_t i;
	int ret;

	for (i = 0; i < s->reftable_size; i++) {
		uint64_t e = s->reftable[i];
		uint64_t off = e & REFT_OFFSET_MASK;
		uint64_t k = off >> c->cb;

		if (e & REFT_RESERVED_MASK) {
			report(c, "ERROR refcount table entry %" PRIu64 " has reserved bits set\n", i);
			res->corruptions++;
			c->rebuild = true;
			continue;
		}
		if (off & (c->cs - 1)) {
			report(c, "ERROR refcount block %" PRIu64 " is not cluster aligned; "
			       "refcount table entry corrupted\n", i);
			res->corruptions++;
			c->rebuild = true;
			continue;
		}
		if (k >= c->nb_clusters) {
			res->corruptions++;
			report(c, "%s refcount block %" PRIu64 " is outside image\n",
			       (fix & CHECK_FIX_ERRORS) ? "Repairing" : "ERROR", i);
			if (!(fix & CHECK_FIX_ERRORS))
				continue;
			/* grow the file to hold it (it reads as zeros: the compare
			 * then asks for a rebuild if clusters it covers are used) */
			if (k >= MAX_CHECK_CLUSTERS ||
			    (ret = backend_truncate(c->be, off + c->cs)) < 0) {
				report(c, "ERROR could not resize image: %s\n",
				       strerror(k >= MAX_CHECK_CLUSTERS ? EINVAL : -ret));
				c->rebuild = true;
				continue;
			}
			c->file_size = off + c->cs;
			if (c->file_size > s->file_size)
				s->file_size = c->file_size;
			ret = imrt_reserve(c, k);
			if (ret < 0)
				return ret;
			c->nb_clusters = k + 1;
			res->corruptions--;
			res->corruptions_fixed++;
			ret = inc_refs(c, off, c->cs);
			if (ret < 0)
				return ret;
			continue;
		}
		if (off) {
			ret = inc_refs(c, off, c->cs);
			if (ret < 0)
				return ret;
			if (imrt_get(c, k) != 1) {
				report(c, "ERROR refcount block %" PRIu64 " refcount=%" PRIu64 "\n",
				       i, imrt_get(c, k));
				res->corruptions++;
				c->rebuild = true;
			}
		}
	}
	return 0;
}

/* Fill the IMRT with every reference in the image. */
static int calculate_refcounts(struct chk *c, int fix)
{
	struct qcow2_state *s = c->s;
	int i, ret;

	ret = inc_refs(c, 0, c->cs);   /* header */
	if (ret < 0)
		return ret;
	ret = check_l1(c, s->h.l1_table_offset, s->h.l1_size, s->l1, true, fix);
	if (ret < 0)
		return ret;

	if (c->data_file && s->nb_snapshots) {
		report(c, "ERROR %d snapshots in image with data file\n", s->nb_snapshots);
		c->res->corruptions++;
	}
	for (i = 0; i < s->nb_snapshots; i++) {
		struct qcow2_snapshot *sn = &s->snapshots[i];
		const char *id = sn->id_str ? sn->id_str : "";
		const char *name = sn->name ? sn->name : "";

		if (sn->l1_table_offset & (c->cs - 1)) {
			report(c, "ERROR snapshot %s (%s) l1_offset=%#" PRIx64 ": L1 table is "
			       "not cluster aligned; snapshot table entry corrupted\n",
			       id, name, sn->l1_table_offset);
			c->res->corruptions++;
			continue;
		}
		if ((uint64_t)sn->l1_size * 8 > QCOW2_MAX_L1_BYTES) {
			report(c, "ERROR snapshot %s (%s) l1_size=%#" PRIx32 ": L1 table is "
			       "too large; snapshot table entry corrupted\n", id, name,
			       sn->l1_size);
			c->res->corruptions++;
			continue;
		}
		ret = check_l1(c, sn->l1_table_offset, sn->l1_size, NULL, false, fix);
		if (ret < 0)
			return ret;
	}
	ret = inc_refs(c, s->h.snapshots_offset, snapshot_table_size(s));
	if (ret < 0)
		return ret;
	ret = inc_refs(c, s->h.refcount_table_offset,
		       (uint64_t)s->h.refcount_table_clusters << c->cb);
	if (ret < 0)
		return ret;
	ret = check_header_extensions(c);
	if (ret < 0)
		return ret;
	return check_refblocks(c, fix);
}

/* Compare the IMRT with the refcounts on disk; with fix, correct them. */
static int compare_refcounts(struct chk *c, int fix, uint64_t *highest)
{
	struct check_result *res = c->res;
	uint64_t i, rc1, rc2;
	int ret;

	*highest = 0;
	for (i = 0; i < c->nb_clusters; i++) {
		int *num_fixed = NULL;

		ret = disk_rc_get(c, i, &rc1);
		if (ret < 0) {
			report(c, "Can't get refcount for cluster %" PRIu64 ": %s\n",
			       i, strerror(-ret));
			res->check_errors++;
			continue;
		}
		rc2 = imrt_get(c, i);
		if (rc1 || rc2)
			*highest = i;
		if (rc1 == rc2)
			continue;

		if (rc1 == 0)
			c->rebuild = true;
		else if (rc1 > rc2 && (fix & CHECK_FIX_LEAKS))
			num_fixed = &res->leaks_fixed;
		else if (rc1 < rc2 && (fix & CHECK_FIX_ERRORS))
			num_fixed = &res->corruptions_fixed;

		report(c, "%s cluster %" PRIu64 " refcount=%" PRIu64 " reference=%" PRIu64 "\n",
		       num_fixed ? "Repairing" : rc1 < rc2 ? "ERROR" : "Leaked", i, rc1, rc2);
		if (num_fixed && disk_rc_set(c, i, rc2) == 0) {
			(*num_fixed)++;
			continue;
		}
		if (rc1 < rc2)
			res->corruptions++;
		else
			res->leaks++;
	}
	return rb_writeback(c);
}

/* ---- rebuilding the refcount structure from the IMRT ---- */

/* Find count free clusters in the IMRT from *first_free on (growing it past the
 * end of the image if needed), mark them used and return their offset. */
static int alloc_clusters_imrt(struct chk *c, uint64_t count, uint64_t *first_free,
			       uint64_t *offset)
{
	uint64_t k = *first_free, run = 0;
	bool first_gap = true;
	int ret;

	for (; k < c->nb_clusters && run < count; k++) {
		if (!imrt_get(c, k)) {
			run++;
			if (first_gap) {
				*first_free = k;
				first_gap = false;
			}
		} else {
			run = 0;
		}
	}
	if (run < count) {
		/* the free run [k - run, k) reaches the end: extend it */
		uint64_t need = k + count - run;

		ret = imrt_reserve(c, need - 1);
		if (ret < 0)
			return ret;
		if (need > c->nb_clusters)
			c->nb_clusters = need;
		k = need;
		run = count;
	}
	k -= run;
	for (uint64_t j = 0; j < count; j++)
		rc_set(c->imrt, k + j, c->order, 1);
	*offset = k << c->cb;
	return 0;
}

/* Write every refcount block covering [first, end) clusters that holds a non-zero
 * refcount, allocating blocks (in the IMRT) where the new reftable has none.
 * Returns 1 if the reftable had to grow, 0 if not, or a negative errno. */
static int write_refblocks(struct chk *c, uint64_t first, uint64_t end,
			   uint64_t **reftable, uint64_t *entries)
{
	uint64_t k, first_free = 0;
	int grown = 0, ret;

	for (k = first; k < end; k++) {
		uint64_t ri, start, rb_off;

		if (!imrt_get(c, k))
			continue;
		ri = k / c->rb_entries;
		start = ri * c->rb_entries;
		if (ri < *entries && (*reftable)[ri]) {
			rb_off = (*reftable)[ri];
		} else {
			uint64_t *p, n;

			/* never put a block into a range already written */
			if (first_free < start)
				first_free = start;
			ret = alloc_clusters_imrt(c, 1, &first_free, &rb_off);
			if (ret < 0)
				return ret;
			if ((rb_off >> c->cb) >= end)
				end = (rb_off >> c->cb) + 1;
			if (ri >= *entries) {
				n = align_up((ri + 1) * 8, c->cs) / 8;
				if (n * 8 > QCOW2_MAX_REFTABLE_BYTES)
					return err_set(-EFBIG, c->fn, "Rebuilt refcount table "
						       "would be too large");
				p = realloc(*reftable, n * 8);
				if (!p)
					return err_set(-ENOMEM, c->fn, "Out of memory for the "
						       "refcount table");
				memset(p + *entries, 0, (n - *entries) * 8);
				*reftable = p;
				*entries = n;
				grown = 1;
			}
			(*reftable)[ri] = rb_off;
		}
		/* the block is a slice of the IMRT (allocated in whole blocks) */
		ret = backend_pwrite(c->be, c->imrt + ri * c->cs, c->cs, rb_off);
		if (ret < 0)
			return ret;
		k = start + c->rb_entries - 1;
	}
	return grown;
}

static int rebuild_refcount_structure(struct chk *c)
{
	struct qcow2_state *s = c->s;
	uint64_t *reftable = NULL, entries = 0, rt_off = 0, rt_clusters = 0, i;
	uint8_t hdr[12], *disk = NULL;
	int changed, ret;

	changed = write_refblocks(c, 0, c->nb_clusters, &reftable, &entries);
	if (changed < 0) {
		ret = changed;
		goto fail;
	}
	/* a reftable that does not describe itself must be placed again */
	while (changed) {
		uint64_t first_free = 0;

		rt_clusters = div_round_up(entries * 8, c->cs);
		ret = alloc_clusters_imrt(c, rt_clusters, &first_free, &rt_off);
		if (ret < 0)
			goto fail;
		changed = write_refblocks(c, rt_off >> c->cb, (rt_off >> c->cb) + rt_clusters,
					  &reftable, &entries);
		if (changed < 0) {
			ret = changed;
			goto fail;
		}
	}
	if (!entries) {
		ret = err_set(-EIO, c->fn, "Rebuilt refcount table is empty");
		goto fail;
	}

	disk = calloc(rt_clusters, c->cs);
	if (!disk) {
		ret = err_set(-ENOMEM, c->fn, "Out of memory for the refcount table");
		goto fail;
	}
	for (i = 0; i < entries; i++)
		store_be64(disk + 8 * i, reftable[i]);
	ret = backend_pwrite(c->be, disk, rt_clusters * c->cs, rt_off);
	if (ret < 0)
		goto fail;
	ret = backend_flush(c->be);
	if (ret < 0)
		goto fail;
	/* switch the header to the new table: refcount_table_offset and
	 * refcount_table_clusters are adjacent (offsets 48 and 56) */
	store_be64(hdr, rt_off);
	store_be32(hdr + 8, (uint32_t)rt_clusters);
	ret = backend_pwrite(c->be, hdr, sizeof(hdr), 48);
	if (ret < 0)
		goto fail;
	ret = backend_flush(c->be);
	if (ret < 0)
		goto fail;

	free(s->reftable);
	s->reftable = reftable;
	s->reftable_size = entries;
	s->h.refcount_table_offset = rt_off;
	s->h.refcount_table_clusters = (uint32_t)rt_clusters;
	s->free_cluster_index = 0;
	rb_forget(c);
	free(disk);
	return 0;

fail:
	if (!err_is_set())
		err_set(ret, c->fn, "Could not rebuild the refcount structure: %s",
			strerror(-ret));
	report(c, "%s\n", err_get());
	c->res->check_errors++;
	free(reftable);
	free(disk);
	return ret;
}

/* ---- COPIED flags ---- */

static int check_oflag_copied(struct chk *c, int fix)
{
	struct qcow2_state *s = c->s;
	struct check_result *res = c->res;
	bool repair;
	uint64_t i, j, rc;
	int ret;

	if (fix & CHECK_FIX_ERRORS)
		repair = true;
	else if (fix & CHECK_FIX_LEAKS)
		/* refcounts were just fixed: trust them only if that worked */
		repair = !res->check_errors && !res->corruptions && !res->leaks;
	else
		repair = false;

	for (i = 0; i < s->h.l1_size; i++) {
		uint64_t e = s->l1[i], l2_off = e & L1E_OFFSET_MASK;
		int dirty = 0;

		if (!l2_off)
			continue;
		if (disk_rc_get(c, l2_off >> c->cb, &rc) < 0)
			continue;
		if ((rc == 1) != !!(e & QCOW2_OFLAG_COPIED)) {
			res->corruptions++;
			report(c, "%s OFLAG_COPIED L2 cluster: l1_index=%" PRIu64
			       " l1_entry=%" PRIx64 " refcount=%" PRIu64 "\n",
			       repair ? "Repairing" : "ERROR", i, e, rc);
			if (repair) {
				uint8_t be[8];

				e = rc == 1 ? e | QCOW2_OFLAG_COPIED : e & ~QCOW2_OFLAG_COPIED;
				store_be64(be, e);
				ret = backend_pwrite(c->be, be, 8, s->h.l1_table_offset + 8 * i);
				if (ret < 0) {
					res->check_errors++;
					return ret;
				}
				s->l1[i] = e;
				res->corruptions--;
				res->corruptions_fixed++;
			}
		}
		if ((l2_off & (c->cs - 1)) || l2_off >= c->file_size)
			continue;   /* reported by the walk */
		ret = read_table(c, l2_off, c->buf, "L2 table");
		if (ret < 0)
			return ret;
		for (j = 0; j < s->l2_entries; j++) {
			uint64_t l2e = l2e_get(c, c->buf, j);
			enum qcow2_cluster_type t = l2_type(c, l2e);

			if (t != QCOW2_CLUSTER_NORMAL && t != QCOW2_CLUSTER_ZERO_ALLOC)
				continue;
			if (c->data_file)
				rc = 1;
			else if (disk_rc_get(c, (l2e & L2E_OFFSET_MASK) >> c->cb, &rc) < 0)
				continue;
			if ((rc == 1) == !!(l2e & QCOW2_OFLAG_COPIED))
				continue;
			res->corruptions++;
			report(c, "%s OFLAG_COPIED data cluster: l2_entry=%" PRIx64
			       " refcount=%" PRIu64 "\n", repair ? "Repairing" : "ERROR", l2e, rc);
			if (repair) {
				l2e = rc == 1 ? l2e | QCOW2_OFLAG_COPIED : l2e & ~QCOW2_OFLAG_COPIED;
				store_be64(c->buf + j * s->l2_entry_size, l2e);
				dirty++;
			}
		}
		if (dirty) {
			ret = backend_pwrite(c->be, c->buf, c->cs, l2_off);
			if (ret < 0) {
				report(c, "ERROR: Could not write L2 table: %s\n", strerror(-ret));
				res->check_errors++;
				return ret;
			}
			res->corruptions -= dirty;
			res->corruptions_fixed += dirty;
		}
	}
	return 0;
}

/* ---- the whole check ---- */

static void imrt_clear(struct chk *c)
{
	if (c->imrt)
		memset(c->imrt, 0, c->imrt_cap / c->rb_entries * c->cs);
}

static int refresh_file_size(struct chk *c)
{
	int ret = backend_size(c->be, &c->file_size);

	if (ret < 0)
		c->res->check_errors++;
	return ret;
}

/* One pass of qemu's qcow2_check_refcounts. */
static int check_refcounts(struct chk *c, int fix)
{
	struct check_result *res = c->res, pre;
	uint64_t highest = 0;
	int ret;

	c->rebuild = false;
	ret = calculate_refcounts(c, fix);
	if (ret < 0)
		return ret;

	/* without a rebuild the compare is run again with fix */
	pre = *res;
	ret = compare_refcounts(c, 0, &highest);
	if (ret < 0)
		return ret;

	if (c->rebuild && (fix & CHECK_FIX_ERRORS)) {
		struct check_result old = *res, saved;
		int fresh_leaks = 0;

		report(c, "Rebuilding refcount structure\n");
		ret = rebuild_refcount_structure(c);
		if (ret < 0)
			return ret;
		res->corruptions = 0;
		res->leaks = 0;

		/* the old structure is gone: count again from scratch */
		ret = refresh_file_size(c);
		if (ret < 0)
			return ret;
		c->rebuild = false;
		imrt_clear(c);
		ret = calculate_refcounts(c, 0);
		if (ret < 0)
			return ret;

		if (fix & CHECK_FIX_LEAKS) {
			/* the old refcount structure is now leaked: reclaim it; leaks
			 * left after that were made by the rebuild itself */
			saved = *res;
			memset(res, 0, sizeof(*res));
			ret = compare_refcounts(c, CHECK_FIX_LEAKS, &highest);
			if (ret < 0)
				return ret;
			if (c->rebuild)
				report(c, "ERROR rebuilt refcount structure is still broken\n");
			fresh_leaks = res->leaks;
			*res = saved;
		}
		if (res->corruptions < old.corruptions)
			res->corruptions_fixed += old.corruptions - res->corruptions;
		if (res->leaks < old.leaks)
			res->leaks_fixed += old.leaks - res->leaks;
		res->leaks += fresh_leaks;
	} else if (fix) {
		if (c->rebuild) {
			report(c, "ERROR need to rebuild refcount structures\n");
			res->check_errors++;
			/* the line above is the message (qemu-img prints no other) */
			return -EIO;
		}
		if (res->leaks || res->corruptions) {
			*res = pre;
			ret = compare_refcounts(c, fix, &highest);
			if (ret < 0)
				return ret;
		}
	}

	ret = check_oflag_copied(c, fix);
	if (ret < 0)
		return ret;
	res->image_end_offset = (highest + 1) << c->cb;
	return 0;
}

/* Clear the dirty and corrupt bits once the image is known to be consistent. */
static int mark_clean(struct chk *c)
{
	struct qcow2_state *s = c->s;
	uint64_t bits = QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT;
	int ret;

	if (!(s->h.incompatible_features & bits))
		return 0;
	ret = backend_flush(c->be);
	if (ret < 0)
		return ret;
	s->h.incompatible_features &= ~bits;
	ret = qcow2_header_write_incompat(s);
	if (ret < 0)
		return ret;
	s->dirty_set = false;
	return backend_flush(c->be);
}

static int check_pass(struct chk *c, int fix)
{
	struct qcow2_state *s = c->s;
	uint64_t max_clusters;
	int ret;

	memset(c->res, 0, sizeof(*c->res));
	rb_forget(c);
	imrt_clear(c);
	ret = refresh_file_size(c);
	if (ret < 0)
		return ret;

	max_clusters = div_round_up(c->file_size, c->cs);
	if (max_clusters > MAX_CHECK_CLUSTERS) {
		c->res->check_errors++;
		return err_set(-EFBIG, c->fn, "Image too large to check (%" PRIu64
			       " clusters)", max_clusters);
	}
	c->nb_clusters = max_clusters;
	if (max_clusters) {
		ret = imrt_reserve(c, max_clusters - 1);
		if (ret < 0)
			return ret;
	}
	c->res->total_clusters = div_round_up(s->img->size, c->cs);
	c->res->has_cluster_stats = true;

	ret = check_refcounts(c, fix);
	if (ret < 0)
		return ret;
	if (fix && !c->res->check_errors && !c->res->corruptions)
		ret = mark_clean(c);
	return ret;
}

static int chk_init(struct chk *c, struct qcow2_state *s, struct check_result *res)
{
	memset(c, 0, sizeof(*c));
	c->s = s;
	c->be = s->img->be;
	c->fn = s->img->filename;
	c->res = res;
	c->cb = s->cluster_bits;
	c->cs = 1ULL << c->cb;
	c->order = s->h.refcount_order;
	if (c->cb < QCOW2_MIN_CLUSTER_BITS || c->cb > QCOW2_MAX_CLUSTER_BITS || c->order > 6)
		return err_set(-EINVAL, c->fn, "Invalid image geometry for check");
	c->rc_max = c->order == 6 ? UINT64_MAX : (1ULL << (1u << c->order)) - 1;
	c->rb_entries = (c->cs * 8) >> c->order;
	c->data_file = s->h.incompatible_features & QCOW2_INCOMPAT_DATA_FILE;
	c->rb_idx = UINT64_MAX;
	c->buf = malloc(c->cs);
	c->rb = malloc(c->cs);
	if (!c->buf || !c->rb)
		return err_set(-ENOMEM, c->fn, "Out of memory for check");
	return 0;
}

static void chk_free(struct chk *c)
{
	free(c->imrt);
	free(c->buf);
	free(c->rb);
}

/* Flush the caches so the disk holds everything, before reading it directly. */
static int flush_caches(struct qcow2_state *s)
{
	int ret = 0;

	if (s->l2_cache)
		ret = qcow2_cache_flush(s->l2_cache);
	if (ret == 0 && s->refcount_cache)
		ret = qcow2_cache_flush(s->refcount_cache);
	return ret;
}

/* Tables may have been rewritten on disk: drop what the caches hold. */
static void empty_caches(struct qcow2_state *s)
{
	if (s->l2_cache)
		qcow2_cache_empty(s->l2_cache);
	if (s->refcount_cache)
		qcow2_cache_empty(s->refcount_cache);
}

/* With s->lock held. */
static int check_locked(struct qcow2_state *s, int fix, struct check_result *res,
			bool quiet)
{
	struct chk c;
	int ret;

	memset(res, 0, sizeof(*res));
	if (fix && s->read_only)
		return err_set(-EROFS, s->img->filename,
			       "Cannot repair an image opened read-only");
	ret = chk_init(&c, s, res);
	if (ret < 0)
		goto out;
	c.quiet = quiet;
	ret = flush_caches(s);
	if (ret < 0) {
		res->check_errors++;
		goto out;
	}

	ret = check_pass(&c, fix);
	if (fix) {
		uint64_t size;

		empty_caches(s);
		/* a rebuild or a grown refcount block may have extended the file */
		if (backend_size(c.be, &size) == 0 && size > s->file_size)
			s->file_size = size;
	}
	if (ret == 0 && fix && (res->leaks_fixed || res->corruptions_fixed)) {
		/* report the state after the repair, as qemu-img does, keeping what
		 * was fixed */
		struct check_result first = *res;

		c.quiet = true;
		ret = check_pass(&c, 0);
		res->leaks_fixed = first.leaks_fixed;
		res->corruptions_fixed = first.corruptions_fixed;
	}
out:
	chk_free(&c);
	return ret;
}

int qcow2_check(struct image *img, int fix, struct check_result *res)
{
	struct qcow2_state *s = qcow2_state(img);
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = check_locked(s, fix, res, false);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* Called at open (without s->lock held) for a dirty image opened read-write. */
int qcow2_repair_dirty(struct qcow2_state *s)
{
	struct check_result res;
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = check_locked(s, CHECK_FIX_LEAKS | CHECK_FIX_ERRORS, &res, true);
	/* as qemu: only a failed check stops the open; remaining corruption
	 * leaves the dirty bit set */
	if (ret == 0 && res.check_errors)
		ret = -EIO;
	pthread_mutex_unlock(&s->lock);
	if (ret < 0)
		return err_set(ret, s->img->filename, "Could not repair dirty image: %s",
			       strerror(-ret));
	return 0;
}
