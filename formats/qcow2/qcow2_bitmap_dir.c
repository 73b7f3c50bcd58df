/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2_bitmap_dir.c - the persistent dirty bitmap directory: load and validate
 * it (from the bitmaps header extension) into s->bitmaps, and store a changed
 * list as a new directory.
 *
 * The directory is replaced, never edited in place: the new one is written to
 * fresh clusters, then one header write switches to it, then the old clusters
 * are freed - so a crash leaves the old or the new directory, and at worst leaks.
 * A directory QEMU would refuse to load makes the open fail as it does in QEMU.  When the autoclear
 * bit is clear the extension is stale: QEMU ignores it, and so do we.
 */
#include "qcow2.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define BITMAPS_EXT_LEN 24
#define BME_FIXED       24
#define BME_TYPE_DIRTY  1

static struct qcow2_ext *bitmaps_ext(struct qcow2_state *s)
{
	for (int i = 0; i < s->nb_unknown_exts; i++)
		if (s->unknown_exts[i].type == QCOW2_EXT_BITMAPS)
			return &s->unknown_exts[i];
	return NULL;
}

/* Entries of the bitmap table of a bitmap of granularity 2^gran_bits over the
 * whole virtual disk (one bit per granule, one entry per cluster of bits). */
uint64_t qcow2_bitmap_table_entries(const struct qcow2_state *s, uint64_t size,
				    unsigned gran_bits)
{
	uint64_t bits = div_round_up(size, 1ULL << gran_bits);

	return div_round_up(div_round_up(bits, 8), s->cluster_size);
}

static void bitmap_free(struct qcow2_bitmap *b)
{
	free(b->name);
	free(b->extra);
	free(b->table);
	free(b->cached);
}

void qcow2_bitmaps_free(struct qcow2_state *s)
{
	for (int i = 0; i < s->nb_bitmaps; i++)
		bitmap_free(&s->bitmaps[i]);
	free(s->bitmaps);
	s->bitmaps = NULL;
	s->nb_bitmaps = 0;
}

/* One directory entry at p (left bytes remain); *used = its padded length. */
static int parse_entry(struct qcow2_state *s, const uint8_t *p, uint64_t left,
		       struct qcow2_bitmap *b, uint64_t *used)
{
	const char *fn = s->img->filename;
	uint32_t extra, name_len;
	uint64_t len, end;

	if (left < BME_FIXED)
		return err_set(-EINVAL, fn, "bitmap directory truncated");
	b->table_offset = load_be64(p);
	b->table_size = load_be32(p + 8);
	b->flags = load_be32(p + 12);
	b->gran_bits = p[17];
	name_len = load_be16(p + 18);
	extra = load_be32(p + 20);
	len = align_up(BME_FIXED + (uint64_t)extra + name_len, 8);
	if (len > left)
		return err_set(-EINVAL, fn, "bitmap directory entry exceeds the directory");
	if (p[16] != BME_TYPE_DIRTY)
		return err_set(-EINVAL, fn, "bitmap has an unknown type %u", p[16]);
	if (name_len == 0 || name_len > QCOW2_BITMAP_MAX_NAME)
		return err_set(-EINVAL, fn, "bitmap name length %u invalid", name_len);
	if (b->gran_bits < QCOW2_BITMAP_MIN_GRAN_BITS || b->gran_bits > QCOW2_BITMAP_MAX_GRAN_BITS)
		return err_set(-EINVAL, fn, "bitmap granularity 2^%u invalid", b->gran_bits);
	if (b->flags & ~QCOW2_BME_FLAGS_KNOWN)
		return err_set(-EINVAL, fn, "bitmap has reserved flags %#x set", b->flags);
	if ((uint64_t)b->table_size * 8 > QCOW2_BITMAP_MAX_TABLE ||
	    ((uint64_t)b->table_size << s->cluster_bits) > QCOW2_BITMAP_MAX_DATA)
		return err_set(-EFBIG, fn, "bitmap table too large (%u entries)", b->table_size);
	if (b->table_size != qcow2_bitmap_table_entries(s, s->h.size, b->gran_bits))
		return err_set(-EINVAL, fn, "bitmap table size %u does not match the image size",
			       b->table_size);
	if (!b->table_offset || !is_aligned(b->table_offset, s->cluster_size) ||
	    !add_ok(b->table_offset, (uint64_t)b->table_size * 8, &end) || end > s->file_size)
		return err_set(-EINVAL, fn, "bitmap table offset %#" PRIx64 " invalid",
			       b->table_offset);
	b->name = strndup((const char *)p + BME_FIXED + extra, name_len);
	b->extra_len = extra;
	b->extra = malloc(extra ? extra : 1);
	b->cached_idx = UINT64_MAX;
	if (!b->name || !b->extra)
		return err_set(-ENOMEM, fn, "out of memory");
	if (strlen(b->name) != name_len)
		return err_set(-EINVAL, fn, "bitmap name contains a NUL byte");
	memcpy(b->extra, p + BME_FIXED, extra);
	*used = len;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names are unique (sorted, so 65535 of them cost no quadratic time). */
static int check_names(struct qcow2_state *s)
{
	char **v = malloc((size_t)s->nb_bitmaps * sizeof(*v));
	int ret = 0;

	if (!v)
		return err_set(-ENOMEM, s->img->filename, "out of memory");
	for (int i = 0; i < s->nb_bitmaps; i++)
		v[i] = s->bitmaps[i].name;
	qsort(v, (size_t)s->nb_bitmaps, sizeof(*v), cmp_names);
	for (int i = 1; i < s->nb_bitmaps && ret == 0; i++)
		if (!strcmp(v[i - 1], v[i]))
			ret = err_set(-EINVAL, s->img->filename, "bitmap name '%s' used twice", v[i]);
	free(v);
	return ret;
}

static int parse_dir(struct qcow2_state *s, const uint8_t *dir, uint64_t size, uint32_t nb)
{
	uint64_t pos = 0, used = 0;
	int ret;

	s->bitmaps = calloc(nb, sizeof(*s->bitmaps));
	if (!s->bitmaps)
		return err_set(-ENOMEM, s->img->filename, "out of memory");
	for (uint32_t i = 0; i < nb; i++) {
		ret = parse_entry(s, dir + pos, size - pos, &s->bitmaps[i], &used);
		s->nb_bitmaps = (int)i + 1;
		if (ret < 0)
			return ret;
		pos += used;
	}
	return check_names(s);
}

int qcow2_bitmaps_load(struct qcow2_state *s)
{
	const char *fn = s->img->filename;
	struct qcow2_ext *ext = bitmaps_ext(s);
	uint64_t dir_size, dir_off, end;
	uint8_t *dir;
	uint32_t nb;
	int ret;

	if (!ext || !(s->h.autoclear_features & QCOW2_AUTOCLEAR_BITMAPS))
		return 0;
	if (ext->len != BITMAPS_EXT_LEN)
		return err_set(-EINVAL, fn, "bitmaps extension has an invalid length %u", ext->len);
	nb = load_be32(ext->data);
	dir_size = load_be64(ext->data + 8);
	dir_off = load_be64(ext->data + 16);
	if (load_be32(ext->data + 4))
		return err_set(-EINVAL, fn, "bitmaps extension: reserved field is not zero");
	if (nb == 0)
		return err_set(-EINVAL, fn, "bitmaps extension with zero bitmaps");
	if (nb > QCOW2_MAX_BITMAPS)
		return err_set(-EINVAL, fn, "%u bitmaps exceed the maximum of %d", nb,
			       QCOW2_MAX_BITMAPS);
	if (dir_size > QCOW2_MAX_BITMAP_DIR || dir_size < (uint64_t)nb * BME_FIXED)
		return err_set(-EINVAL, fn, "bitmap directory size %" PRIu64 " invalid", dir_size);
	if (!dir_off || !is_aligned(dir_off, s->cluster_size) ||
	    !add_ok(dir_off, dir_size, &end) || end > s->file_size)
		return err_set(-EINVAL, fn, "bitmap directory offset %#" PRIx64 " invalid", dir_off);
	dir = malloc((size_t)dir_size);
	if (!dir)
		return err_set(-ENOMEM, fn, "out of memory");
	ret = backend_pread(s->img->be, dir, (size_t)dir_size, dir_off);
	if (ret == 0)
		ret = parse_dir(s, dir, dir_size, nb);
	free(dir);
	if (ret < 0) {
		qcow2_bitmaps_free(s);
		return ret;
	}
	s->bitmap_dir_offset = dir_off;
	s->bitmap_dir_size = dir_size;
	return 0;
}

static uint64_t dir_bytes(const struct qcow2_state *s)
{
	uint64_t n = 0;

	for (int i = 0; i < s->nb_bitmaps; i++)
		n += align_up(BME_FIXED + (uint64_t)s->bitmaps[i].extra_len +
			      strlen(s->bitmaps[i].name), 8);
	return n;
}

static void serialize_dir(const struct qcow2_state *s, uint8_t *p)
{
	for (int i = 0; i < s->nb_bitmaps; i++) {
		const struct qcow2_bitmap *b = &s->bitmaps[i];
		size_t nl = strlen(b->name);

		store_be64(p, b->table_offset);
		store_be32(p + 8, b->table_size);
		store_be32(p + 12, b->flags);
		p[16] = BME_TYPE_DIRTY;
		p[17] = b->gran_bits;
		store_be16(p + 18, (uint16_t)nl);
		store_be32(p + 20, b->extra_len);
		memcpy(p + BME_FIXED, b->extra, b->extra_len);
		memcpy(p + BME_FIXED + b->extra_len, b->name, nl);
		p += align_up(BME_FIXED + (uint64_t)b->extra_len + nl, 8);
	}
}

/* Point the header at the directory [off, off+size) holding s->nb_bitmaps
 * entries (none: drop the extension and the autoclear bit). */
static int switch_header(struct qcow2_state *s, uint64_t off, uint64_t size)
{
	struct qcow2_ext *ext = bitmaps_ext(s);
	uint8_t data[BITMAPS_EXT_LEN] = { 0 };
	struct qcow2_ext *v;

	if (!s->nb_bitmaps) {
		qcow2_drop_ext(s, QCOW2_EXT_BITMAPS);
		s->h.autoclear_features &= ~QCOW2_AUTOCLEAR_BITMAPS;
		return qcow2_header_write(s);
	}
	store_be32(data, (uint32_t)s->nb_bitmaps);
	store_be64(data + 8, size);
	store_be64(data + 16, off);
	if (!ext) {
		v = realloc(s->unknown_exts, (size_t)(s->nb_unknown_exts + 1) * sizeof(*v));
		if (!v)
			return err_set(-ENOMEM, s->img->filename, "out of memory");
		s->unknown_exts = v;
		ext = &v[s->nb_unknown_exts];
		ext->data = malloc(BITMAPS_EXT_LEN);
		if (!ext->data)
			return err_set(-ENOMEM, s->img->filename, "out of memory");
		ext->type = QCOW2_EXT_BITMAPS;
		ext->len = BITMAPS_EXT_LEN;
		s->nb_unknown_exts++;
	}
	memcpy(ext->data, data, BITMAPS_EXT_LEN);
	s->h.autoclear_features |= QCOW2_AUTOCLEAR_BITMAPS;
	return qcow2_header_write(s);
}

int qcow2_bitmaps_store_dir(struct qcow2_state *s)
{
	uint64_t size = dir_bytes(s), old_off = s->bitmap_dir_offset;
	uint64_t old_size = s->bitmap_dir_size, off = 0;
	uint8_t *buf = NULL;
	int ret;

	if (size > QCOW2_MAX_BITMAP_DIR)
		return err_set(-EFBIG, s->img->filename, "bitmap directory too large");
	if (size) {
		buf = calloc(1, (size_t)align_up(size, s->cluster_size));
		if (!buf)
			return err_set(-ENOMEM, s->img->filename, "out of memory");
		serialize_dir(s, buf);
		ret = qcow2_alloc_clusters(s, div_round_up(size, s->cluster_size), &off);
		if (ret == 0)
			ret = qcow2_cache_flush(s->refcount_cache);
		if (ret == 0)
			ret = backend_pwrite(s->img->be, buf, (size_t)align_up(size, s->cluster_size),
					     off);
		free(buf);
		if (ret < 0)
			return ret;
	}
	ret = backend_flush(s->img->be);
	if (ret == 0)
		ret = switch_header(s, off, size);
	if (ret == 0)
		ret = backend_flush(s->img->be);
	if (ret < 0)
		return ret;
	s->bitmap_dir_offset = off;
	s->bitmap_dir_size = size;
	if (old_off && old_size)
		return qcow2_free_clusters(s, old_off, align_up(old_size, s->cluster_size));
	return 0;
}
