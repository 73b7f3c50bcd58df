/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2_bitmap.c - persistent dirty bitmaps: the bitmap operations of format_ops
 * (list, add, remove, clear, enable/disable, read and set bits) and the marking
 * of every enabled bitmap when guest data is written.
 *
 * Bits are written through: a guest write first sets its bits on disk, then
 * writes the data.  So the bitmaps on disk are never behind the data, imgtool
 * never needs QEMU's in-use flag for its own sessions, and a crash leaves at
 * worst bits set for data that never reached the disk (harmless for incremental
 * backup: a superset of the changes).  A bitmap QEMU left in use (it crashed
 * while holding the bits in memory) is inconsistent: it is shown with the
 * in-use flag, never marked, and only removing it is allowed, as in QEMU.
 *
 * Bit i of a bitmap covers guest bytes [i << gran_bits, (i + 1) << gran_bits);
 * bit i lies in byte i / 8 (least significant bit first) of the bitmap data,
 * which is cut into clusters, one bitmap table entry each: 0 all clear, 1 all
 * set, else the offset of the data cluster.  New data clusters follow the
 * driver's crash order: refcount, then data, then the table entry.
 */
#include "qcow2.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define BTE_OFFSET_MASK   0x00fffffffffffe00ULL
#define BTE_ALL_ONES      1ULL
#define BTE_RESERVED_MASK 0xff000000000001feULL

static int bitmap_find(struct qcow2_state *s, const char *name)
{
	for (int i = 0; i < s->nb_bitmaps; i++)
		if (!strcmp(s->bitmaps[i].name, name))
			return i;
	return -1;
}

static int not_found(const char *name)
{
	return err_set(-ENOENT, NULL, "Dirty bitmap '%s' not found", name);
}

static int inconsistent(const char *name)
{
	err_set(-EINVAL, NULL, "Bitmap '%s' is inconsistent and cannot be used", name);
	return err_hint(-EINVAL, "Try block-dirty-bitmap-remove to delete this bitmap from disk");
}

/* The bitmap named name, usable (not left in use by QEMU). */
static int find_usable(struct qcow2_state *s, const char *name, struct qcow2_bitmap **out)
{
	int i = bitmap_find(s, name);

	if (i < 0)
		return not_found(name);
	if (s->bitmaps[i].flags & QCOW2_BME_FLAG_IN_USE)
		return inconsistent(name);
	*out = &s->bitmaps[i];
	return 0;
}

/* Read b's table into memory (once), every entry checked as QEMU checks it.
 * A data cluster past the end of the file reads as zeros, as in QEMU, but
 * writing there would use a cluster nobody owns: refused read-write. */
static int load_table(struct qcow2_state *s, struct qcow2_bitmap *b)
{
	size_t n = b->table_size;
	int ret;

	if (b->table)
		return 0;
	b->table = malloc(n ? n * 8 : 8);
	if (!b->table)
		return err_set(-ENOMEM, s->img->filename, "out of memory");
	ret = n ? backend_pread(s->img->be, b->table, n * 8, b->table_offset) : 0;
	for (size_t i = 0; i < n && ret == 0; i++) {
		uint64_t e = load_be64(&b->table[i]), off = e & BTE_OFFSET_MASK;

		b->table[i] = e;
		if ((e & BTE_RESERVED_MASK) || (off && (e & BTE_ALL_ONES)) ||
		    !is_aligned(off, s->cluster_size) ||
		    (!s->read_only && off + s->cluster_size > s->file_size))
			ret = err_set(-EINVAL, s->img->filename,
				      "bitmap '%s': table entry %zu (%#" PRIx64 ") invalid",
				      b->name, i, e);
	}
	if (ret < 0) {
		free(b->table);
		b->table = NULL;
	}
	return ret;
}

/* Make b->cached hold the data cluster of table entry idx. */
static int get_cluster(struct qcow2_state *s, struct qcow2_bitmap *b, uint64_t idx)
{
	uint64_t e, off;
	int ret;

	if (b->cached_idx == idx)
		return 0;
	if (!b->cached) {
		b->cached = malloc(s->cluster_size);
		if (!b->cached)
			return err_set(-ENOMEM, s->img->filename, "out of memory");
	}
	b->cached_idx = UINT64_MAX;
	e = b->table[idx];
	off = e & BTE_OFFSET_MASK;
	if (off) {
		ret = backend_pread(s->img->be, b->cached, s->cluster_size, off);
		if (ret < 0)
			return ret;
	} else {
		memset(b->cached, (e & BTE_ALL_ONES) ? 0xff : 0, s->cluster_size);
	}
	b->cached_idx = idx;
	return 0;
}

/* Write b->cached back; a cluster that had no storage gets one first. */
static int put_cluster(struct qcow2_state *s, struct qcow2_bitmap *b)
{
	uint64_t idx = b->cached_idx, off = b->table[idx] & BTE_OFFSET_MASK;
	uint8_t be[8];
	int ret;

	if (off)
		return backend_pwrite(s->img->be, b->cached, s->cluster_size, off);
	ret = qcow2_alloc_clusters(s, 1, &off);
	if (ret == 0)
		ret = qcow2_cache_flush(s->refcount_cache);
	if (ret == 0)
		ret = backend_pwrite(s->img->be, b->cached, s->cluster_size, off);
	if (ret == 0)
		ret = backend_flush(s->img->be);
	if (ret < 0)
		return ret;
	store_be64(be, off);
	ret = backend_pwrite(s->img->be, be, 8, b->table_offset + idx * 8);
	if (ret == 0)
		b->table[idx] = off;
	return ret;
}

/* Set bits [first, last] of b. */
static int set_bits(struct qcow2_state *s, struct qcow2_bitmap *b, uint64_t first,
		    uint64_t last)
{
	uint64_t per = s->cluster_size * 8;
	int ret = load_table(s, b);

	while (ret == 0 && first <= last) {
		uint64_t idx = first / per, end = MIN(last, (idx + 1) * per - 1);
		bool changed = false;

		if (idx >= b->table_size)
			break;
		if (b->table[idx] == BTE_ALL_ONES) {
			first = end + 1;
			continue;
		}
		ret = get_cluster(s, b, idx);
		for (uint64_t i = first; ret == 0 && i <= end; i++) {
			uint8_t *p = &b->cached[(i - idx * per) / 8], m = (uint8_t)(1U << (i % 8));

			if (!(*p & m)) {
				*p |= m;
				changed = true;
			}
		}
		if (ret == 0 && changed)
			ret = put_cluster(s, b);
		first = end + 1;
	}
	return ret;
}

/* A change of one usable bitmap, run by on_usable() under s->lock. */
typedef int (*bitmap_change)(struct qcow2_state *s, struct qcow2_bitmap *b, uint64_t off,
			     uint64_t len);

static int mark_range(struct qcow2_state *s, struct qcow2_bitmap *b, uint64_t off,
		      uint64_t len)
{
	if (!len)
		return 0;
	return set_bits(s, b, off >> b->gran_bits, (off + len - 1) >> b->gran_bits);
}

int qcow2_bitmaps_mark(struct qcow2_state *s, uint64_t off, uint64_t len)
{
	int ret = 0;

	if (!s->nb_bitmaps || s->read_only)
		return 0;
	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < s->nb_bitmaps && ret == 0; i++) {
		struct qcow2_bitmap *b = &s->bitmaps[i];

		if ((b->flags & QCOW2_BME_FLAG_AUTO) && !(b->flags & QCOW2_BME_FLAG_IN_USE))
			ret = mark_range(s, b, off, len);
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int qcow2_bitmaps_load_tables(struct qcow2_state *s)
{
	uint64_t total = 0;

	/* entries may share one table: cap the sum, not only each */
	for (int i = 0; i < s->nb_bitmaps; i++)
		total += (uint64_t)s->bitmaps[i].table_size * 8;
	if (total > QCOW2_BITMAP_MAX_TABLES)
		return err_set(-EFBIG, s->img->filename,
			       "bitmap tables too large in total (%" PRIu64 " bytes)", total);
	for (int i = 0; i < s->nb_bitmaps; i++) {
		struct qcow2_bitmap *b = &s->bitmaps[i];

		if (!(b->flags & QCOW2_BME_FLAG_IN_USE)) {
			int ret = load_table(s, b);

			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

/* ---- the format_ops entries (take s->lock) ---- */

bool qcow2_bitmap_supported(struct image *img)
{
	return qcow2_state(img)->h.version >= 3;
}

int qcow2_bitmap_list(struct image *img, struct bitmap_info **out, int *nb)
{
	struct qcow2_state *s = qcow2_state(img);
	struct bitmap_info *l;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	*out = NULL;
	*nb = 0;
	l = calloc((size_t)s->nb_bitmaps + 1, sizeof(*l));
	for (int i = 0; l && i < s->nb_bitmaps; i++) {
		l[i].name = strdup(s->bitmaps[i].name);
		l[i].granularity = 1ULL << s->bitmaps[i].gran_bits;
		l[i].enabled = s->bitmaps[i].flags & QCOW2_BME_FLAG_AUTO;
		l[i].in_use = s->bitmaps[i].flags & QCOW2_BME_FLAG_IN_USE;
		*nb = i + 1;
		if (!l[i].name)
			ret = -ENOMEM;
	}
	pthread_mutex_unlock(&s->lock);
	if (!l || ret < 0) {
		image_bitmap_list_free(l, *nb);
		*nb = 0;
		return err_set(-ENOMEM, img->filename, "out of memory");
	}
	*out = l;
	return 0;
}

static int check_new(struct qcow2_state *s, const char *name, uint64_t granularity)
{
	if (s->h.version < 3)
		return err_set(-ENOTSUP, NULL, "Can't make bitmap '%s' persistent in '%s': "
			       "Cannot store dirty bitmaps in qcow2 v2 files", name,
			       s->img->filename);
	if (!*name || strlen(name) > QCOW2_BITMAP_MAX_NAME)
		return err_set(-EINVAL, NULL, "Bitmap name '%s' is empty or longer than %d bytes",
			       name, QCOW2_BITMAP_MAX_NAME);
	if (bitmap_find(s, name) >= 0)
		return err_set(-EEXIST, NULL, "Bitmap already exists: %s", name);
	if (granularity < (1ULL << QCOW2_BITMAP_MIN_GRAN_BITS) ||
	    granularity > (1ULL << QCOW2_BITMAP_MAX_GRAN_BITS) || !is_power_of_2(granularity))
		return err_set(-EINVAL, NULL, "Granularity must be power of 2 and at least 512");
	if (s->nb_bitmaps >= QCOW2_MAX_BITMAPS)
		return err_set(-ENOSPC, NULL, "Can't make bitmap '%s' persistent in '%s': "
			       "the image has too many bitmaps", name, s->img->filename);
	return 0;
}

static int add_locked(struct qcow2_state *s, const char *name, uint64_t granularity,
		      bool disabled)
{
	unsigned gb = (unsigned)__builtin_ctzll(granularity);
	uint64_t entries, clusters, off;
	struct qcow2_bitmap *v, *b;
	uint8_t *zero;
	int ret = check_new(s, name, granularity);

	if (ret < 0)
		return ret;
	entries = qcow2_bitmap_table_entries(s, s->h.size, gb);
	clusters = div_round_up(MAX(entries, 1) * 8, s->cluster_size);
	v = realloc(s->bitmaps, (size_t)(s->nb_bitmaps + 1) * sizeof(*v));
	if (!v)
		return err_set(-ENOMEM, s->img->filename, "out of memory");
	s->bitmaps = v;
	zero = calloc(clusters, s->cluster_size);
	if (!zero)
		return err_set(-ENOMEM, s->img->filename, "out of memory");
	ret = qcow2_alloc_clusters(s, clusters, &off);
	if (ret == 0)
		ret = qcow2_cache_flush(s->refcount_cache);
	if (ret == 0)
		ret = backend_pwrite(s->img->be, zero, clusters * s->cluster_size, off);
	free(zero);
	if (ret < 0)
		return ret;
	b = &s->bitmaps[s->nb_bitmaps];
	memset(b, 0, sizeof(*b));
	b->name = strdup(name);
	b->extra = malloc(1);
	if (!b->name || !b->extra) {
		free(b->name);
		free(b->extra);
		return err_set(-ENOMEM, s->img->filename, "out of memory");
	}
	b->flags = disabled ? 0 : QCOW2_BME_FLAG_AUTO;
	b->gran_bits = (uint8_t)gb;
	b->table_offset = off;
	b->table_size = (uint32_t)entries;
	b->cached_idx = UINT64_MAX;
	s->nb_bitmaps++;
	ret = qcow2_bitmaps_store_dir(s);
	if (ret < 0) {
		s->nb_bitmaps--;
		free(b->name);
		free(b->extra);
	}
	return ret;
}

/* Drop the table's data clusters (after the table no longer points to them). */
static int free_data(struct qcow2_state *s, const uint64_t *entries, uint64_t n)
{
	int ret = 0;

	for (uint64_t i = 0; i < n && ret == 0; i++)
		if (entries[i] & BTE_OFFSET_MASK)
			ret = qcow2_free_clusters(s, entries[i] & BTE_OFFSET_MASK, s->cluster_size);
	return ret;
}

static int remove_locked(struct qcow2_state *s, const char *name)
{
	int i = bitmap_find(s, name), ret = 0;
	struct qcow2_bitmap b;
	bool have_table;

	if (i < 0)
		return not_found(name);
	/* the data clusters are freed as QEMU does, also an in-use bitmap's;
	 * those of a table that fails its checks leak instead */
	have_table = load_table(s, &s->bitmaps[i]) == 0;
	err_clear();
	b = s->bitmaps[i];
	memmove(&s->bitmaps[i], &s->bitmaps[i + 1],
		(size_t)(s->nb_bitmaps - i - 1) * sizeof(b));
	s->nb_bitmaps--;
	ret = qcow2_bitmaps_store_dir(s);
	if (ret < 0) {
		/* put it back: the directory on disk still names it */
		memmove(&s->bitmaps[i + 1], &s->bitmaps[i],
			(size_t)(s->nb_bitmaps - i) * sizeof(b));
		s->bitmaps[i] = b;
		s->nb_bitmaps++;
		return ret;
	}
	if (have_table)
		ret = free_data(s, b.table, b.table_size);
	if (ret == 0)
		ret = qcow2_free_clusters(s, b.table_offset,
					  align_up(MAX((uint64_t)b.table_size, 1) * 8,
						   s->cluster_size));
	free(b.name);
	free(b.extra);
	free(b.table);
	free(b.cached);
	return ret;
}

static int clear_locked(struct qcow2_state *s, struct qcow2_bitmap *b, uint64_t off,
			uint64_t len)
{
	uint64_t n = b->table_size;
	uint64_t *old, *disk;
	int ret = load_table(s, b);

	if (ret < 0 || !n)
		return ret;
	old = malloc(n * 8);
	disk = calloc(n, 8);
	if (!old || !disk) {
		free(old);
		free(disk);
		return err_set(-ENOMEM, s->img->filename, "out of memory");
	}
	memcpy(old, b->table, n * 8);
	ret = backend_pwrite(s->img->be, disk, n * 8, b->table_offset);
	if (ret == 0)
		ret = backend_flush(s->img->be);
	if (ret == 0) {
		memset(b->table, 0, n * 8);
		b->cached_idx = UINT64_MAX;
		ret = free_data(s, old, n);
	}
	free(old);
	free(disk);
	return ret;
}

int qcow2_bitmap_add(struct image *img, const char *name, uint64_t granularity,
		     bool disabled)
{
	struct qcow2_state *s = qcow2_state(img);
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = add_locked(s, name, granularity, disabled);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int qcow2_bitmap_remove(struct image *img, const char *name)
{
	struct qcow2_state *s = qcow2_state(img);
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = remove_locked(s, name);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int on_usable(struct image *img, const char *name, bitmap_change change,
		     uint64_t off, uint64_t len)
{
	struct qcow2_state *s = qcow2_state(img);
	struct qcow2_bitmap *b;
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = find_usable(s, name, &b);
	if (ret == 0)
		ret = change(s, b, off, len);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int qcow2_bitmap_clear(struct image *img, const char *name)
{
	return on_usable(img, name, clear_locked, 0, 0);
}

/* Set or clear the auto (enabled) flag, in a new directory. */
static int set_auto(struct qcow2_state *s, struct qcow2_bitmap *b, bool enable)
{
	uint32_t old = b->flags;
	int ret;

	b->flags = enable ? (old | QCOW2_BME_FLAG_AUTO) : (old & ~QCOW2_BME_FLAG_AUTO);
	if (b->flags == old)
		return 0;
	ret = qcow2_bitmaps_store_dir(s);
	if (ret < 0)
		b->flags = old;
	return ret;
}

static int enable_locked(struct qcow2_state *s, struct qcow2_bitmap *b, uint64_t off,
			 uint64_t len)
{
	return set_auto(s, b, true);
}

static int disable_locked(struct qcow2_state *s, struct qcow2_bitmap *b, uint64_t off,
			  uint64_t len)
{
	return set_auto(s, b, false);
}

int qcow2_bitmap_enable(struct image *img, const char *name, bool enable)
{
	return on_usable(img, name, enable ? enable_locked : disable_locked, 0, 0);
}

/* The run of equal bits from bit first (at most up to bit last). */
static int bit_run(struct qcow2_state *s, struct qcow2_bitmap *b, uint64_t first,
		   uint64_t last, uint64_t *run, bool *dirty)
{
	uint64_t per = s->cluster_size * 8, i = first;
	bool d = false;
	int ret;

	while (i <= last) {
		uint64_t idx = i / per, end = MIN(last, (idx + 1) * per - 1);
		uint64_t e = idx < b->table_size ? b->table[idx] : 0;

		if (!(e & BTE_OFFSET_MASK)) {
			bool v = e & BTE_ALL_ONES;

			if (i == first)
				d = v;
			else if (v != d)
				break;
			i = end + 1;
			continue;
		}
		ret = get_cluster(s, b, idx);
		if (ret < 0)
			return ret;
		for (; i <= end; i++) {
			bool v = (b->cached[(i - idx * per) / 8] >> (i % 8)) & 1;

			if (i == first)
				d = v;
			else if (v != d)
				goto out;
		}
	}
out:
	*run = i - first;
	*dirty = d;
	return 0;
}

int qcow2_bitmap_status(struct image *img, const char *name, uint64_t off, uint64_t len,
			uint64_t *run, bool *dirty)
{
	struct qcow2_state *s = qcow2_state(img);
	struct qcow2_bitmap *b;
	uint64_t bits;
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = find_usable(s, name, &b);
	if (ret == 0)
		ret = load_table(s, b);
	if (ret == 0) {
		uint64_t first = off >> b->gran_bits, last = (off + len - 1) >> b->gran_bits;

		ret = bit_run(s, b, first, last, &bits, dirty);
		if (ret == 0)
			*run = MIN(((first + bits) << b->gran_bits) - off, len);
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int qcow2_bitmap_set_dirty(struct image *img, const char *name, uint64_t off, uint64_t len)
{
	return on_usable(img, name, mark_range, off, len);
}
