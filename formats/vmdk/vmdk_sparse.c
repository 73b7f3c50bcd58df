/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmdk_sparse.c - hosted sparse extents ("KDMV"): header, grain directory (and the
 * redundant copy), grain tables, grains, zeroed-grain entries.
 *
 * Grain tables are loaded on first use and kept for the life of the image, so a
 * lookup is an array access.  Allocation is serialised by the extent lock while
 * grain data is written outside it; an entry is published (in memory and on disk,
 * in both directories) only after its grain is written, so a crash leaves at worst
 * a leaked grain.  GT entries are not flushed one by one: the image is flushed
 * when the caller asks.
 */
#include "vmdk.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void vmdk_header_decode(const uint8_t *b, struct vmdk_header *h)
{
	h->version = load_le32(b + 4);
	h->flags = load_le32(b + 8);
	h->capacity = load_le64(b + 12);
	h->grain_size = load_le64(b + 20);
	h->desc_offset = load_le64(b + 28);
	h->desc_size = load_le64(b + 36);
	h->num_gtes = load_le32(b + 44);
	h->rgd_offset = load_le64(b + 48);
	h->gd_offset = load_le64(b + 56);
	h->overhead = load_le64(b + 64);
	h->unclean = b[72];
	h->compress_algo = load_le16(b + 77);
}

void vmdk_header_encode(const struct vmdk_header *h, uint8_t *b)
{
	memset(b, 0, 512);
	memcpy(b, "KDMV", 4);
	store_le32(b + 4, h->version);
	store_le32(b + 8, h->flags);
	store_le64(b + 12, h->capacity);
	store_le64(b + 20, h->grain_size);
	store_le64(b + 28, h->desc_offset);
	store_le64(b + 36, h->desc_size);
	store_le32(b + 44, h->num_gtes);
	store_le64(b + 48, h->rgd_offset);
	store_le64(b + 56, h->gd_offset);
	store_le64(b + 64, h->overhead);
	b[72] = h->unclean;
	b[73] = '\n';
	b[74] = ' ';
	b[75] = '\r';
	b[76] = '\n';
	store_le16(b + 77, h->compress_algo);
}

int vmdk_header_validate(const struct vmdk_header *h, const char *filename, uint64_t file_size)
{
	if (h->version < 1 || h->version > 3)
		return err_set(-ENOTSUP, filename, "unsupported VMDK sparse version %" PRIu32,
			       h->version);
	if ((h->flags & 0xffff0000u) & ~VMDK_FLAGS_INCOMPAT_KNOWN)
		return err_set(-ENOTSUP, filename, "unsupported VMDK incompatible flags %#" PRIx32,
			       h->flags);
	if ((h->flags & VMDK_FLAG_NL_DETECT) && h->version >= 1) {
		/* checked by the caller on the raw bytes */
	}
	if (!is_power_of_2(h->grain_size) || h->grain_size > VMDK_MAX_GRAIN_SECTORS)
		return err_set(-EINVAL, filename,
			       "invalid grain size %" PRIu64 " sectors (must be a power of two, at most %u: 1 MiB)",
			       h->grain_size, VMDK_MAX_GRAIN_SECTORS);
	if (h->num_gtes != VMDK_GTES)
		return err_set(-EINVAL, filename,
			       "unsupported %" PRIu32 " entries per grain table (expected 512)",
			       h->num_gtes);
	if (h->capacity == 0 || h->capacity > VMDK_MAX_CAPACITY / VMDK_SECTOR)
		return err_set(-EFBIG, filename, "invalid capacity %" PRIu64 " sectors",
			       h->capacity);
	if ((h->flags & VMDK_FLAG_COMPRESSED) && h->compress_algo != VMDK_COMPRESS_DEFLATE)
		return err_set(-ENOTSUP, filename, "unsupported compression algorithm %u",
			       h->compress_algo);
	if (h->gd_offset != VMDK_GD_AT_END && h->gd_offset >= div_round_up(file_size, 512))
		return err_set(-EINVAL, filename,
			       "grain directory at sector %" PRIu64 " past the end of the file",
			       h->gd_offset);
	return 0;
}

static int load_dir(struct vmdk_extent *e, uint64_t sector, uint32_t **out)
{
	uint64_t bytes = (uint64_t)e->gd_entries * 4;
	uint8_t *raw;
	uint32_t *d;
	int ret;

	if (sector > e->file_size / 512 || sector * 512 + bytes > align_up(e->file_size, 512))
		return err_set(-EINVAL, e->path,
			       "grain directory at sector %" PRIu64 " past the end of the file",
			       sector);
	raw = malloc((size_t)bytes);
	d = malloc((size_t)bytes);
	if (!raw || !d) {
		free(raw);
		free(d);
		return err_set(-ENOMEM, e->path, "out of memory");
	}
	ret = backend_pread(e->be, raw, (size_t)bytes, sector * 512);
	for (uint32_t i = 0; ret == 0 && i < e->gd_entries; i++)
		d[i] = load_le32(raw + 4 * (size_t)i);
	free(raw);
	if (ret < 0) {
		free(d);
		return ret;
	}
	*out = d;
	return 0;
}

int vmdk_sparse_open(struct vmdk_extent *e, int flags)
{
	uint8_t buf[512];
	uint64_t gt_cover;
	int ret;

	ret = backend_size(e->be, &e->file_size);
	if (ret < 0)
		return ret;
	if (e->file_size < 512)
		return err_set(-EINVAL, e->path, "sparse extent shorter than its header");
	ret = backend_pread(e->be, buf, sizeof(buf), 0);
	if (ret < 0)
		return ret;
	if (load_le32(buf) == VMDK_COWD_MAGIC)
		return err_set(-ENOTSUP, e->path,
			       "ESX host sparse (COWD/vmfsSparse) extents are not supported");
	if (load_le32(buf) != VMDK4_MAGIC)
		return err_set(-EINVAL, e->path, "not a VMDK sparse extent (bad magic)");
	vmdk_header_decode(buf, &e->h);
	if ((e->h.flags & VMDK_FLAG_NL_DETECT) &&
	    (buf[73] != '\n' || buf[74] != ' ' || buf[75] != '\r' || buf[76] != '\n'))
		return err_set(-EINVAL, e->path,
			       "header newline check failed (file corrupted by a text-mode transfer?)");
	ret = vmdk_header_validate(&e->h, e->path, e->file_size);
	if (ret < 0)
		return ret;
	if (e->h.gd_offset == VMDK_GD_AT_END) {
		ret = vmdk_stream_read_footer(e, e->path, &e->h);
		if (ret < 0)
			return ret;
	}
	e->grain = e->h.grain_size * VMDK_SECTOR;
	e->compressed = e->h.flags & VMDK_FLAG_COMPRESSED;
	e->markers = e->h.flags & VMDK_FLAG_MARKERS;
	e->zeroed_grain = e->h.flags & VMDK_FLAG_ZERO_GRAIN;
	gt_cover = e->h.grain_size * VMDK_GTES;
	e->gd_entries = (uint32_t)div_round_up(e->h.capacity, gt_cover);
	if ((uint64_t)e->gd_entries * 4 > e->file_size + 4096)
		return err_set(-EINVAL, e->path,
			       "grain directory (%" PRIu32 " entries) larger than the file",
			       e->gd_entries);
	ret = load_dir(e, e->h.gd_offset, &e->gd);
	if (ret < 0)
		return ret;
	if ((e->h.flags & VMDK_FLAG_RGD) && e->h.rgd_offset && !e->compressed) {
		ret = load_dir(e, e->h.rgd_offset, &e->rgd);
		if (ret < 0)
			return ret;
	}
	e->gt = calloc(e->gd_entries, sizeof(*e->gt));
	if (!e->gt)
		return err_set(-ENOMEM, e->path, "out of memory");
	pthread_mutex_init(&e->lock, NULL);
	e->lock_init = true;
	return 0;
}

void vmdk_sparse_close(struct vmdk_extent *e)
{
	for (uint32_t i = 0; e->gt && i < e->gd_entries; i++)
		free(e->gt[i]);
	free(e->gt);
	free(e->gd);
	free(e->rgd);
	if (e->lock_init)
		pthread_mutex_destroy(&e->lock);
	e->gt = NULL;
	e->gd = e->rgd = NULL;
	e->lock_init = false;
}

/* Load grain table j (lock held).  A zero directory entry leaves it NULL. */
int vmdk_gt_load(struct vmdk_extent *e, uint32_t j)
{
	uint8_t raw[VMDK_GT_BYTES];
	uint32_t *t;
	uint64_t off;
	int ret;

	if (e->gt[j] || !e->gd[j])
		return 0;
	off = (uint64_t)e->gd[j] * 512;
	if (off >= e->file_size)
		return err_set(-EINVAL, e->path,
			       "grain table %" PRIu32 " at offset %#" PRIx64 " past the end of the file",
			       j, off);
	ret = backend_pread(e->be, raw, sizeof(raw), off);
	if (ret < 0)
		return ret;
	t = malloc(VMDK_GT_BYTES);
	if (!t)
		return err_set(-ENOMEM, e->path, "out of memory");
	for (int i = 0; i < VMDK_GTES; i++)
		t[i] = load_le32(raw + 4 * i);
	__atomic_store_n(&e->gt[j], t, __ATOMIC_RELEASE);   /* read without the lock */
	return 0;
}

uint32_t vmdk_gte_get(struct vmdk_extent *e, uint64_t gi, int *err)
{
	uint32_t j = (uint32_t)(gi / VMDK_GTES);
	uint32_t *t;

	*err = 0;
	if (j >= e->gd_entries) {
		*err = err_set(-EIO, e->path, "grain %" PRIu64 " beyond the grain directory", gi);
		return 0;
	}
	t = __atomic_load_n(&e->gt[j], __ATOMIC_ACQUIRE);
	if (!t) {
		if (!e->gd[j])
			return 0;
		pthread_mutex_lock(&e->lock);
		*err = vmdk_gt_load(e, j);
		t = e->gt[j];
		pthread_mutex_unlock(&e->lock);
		if (*err < 0 || !t)
			return 0;
	}
	return __atomic_load_n(&t[gi % VMDK_GTES], __ATOMIC_RELAXED);
}

enum grain_kind { G_UNALLOC, G_ZERO, G_DATA, G_COMPRESSED };

static int classify(struct vmdk_extent *e, uint64_t gi, uint64_t *host, enum grain_kind *k)
{
	int err;
	uint32_t v = vmdk_gte_get(e, gi, &err);

	if (err < 0)
		return err;
	*host = (uint64_t)v * 512;
	if (v == 0)
		*k = G_UNALLOC;
	else if (v == 1)        /* zeroed grain (sector 1 is never a grain) */
		*k = G_ZERO;
	else if (e->compressed)
		*k = G_COMPRESSED;
	else
		*k = G_DATA;
	if (*k >= G_DATA && *host >= MAX(e->file_size, 512))
		return err_set(-EIO, e->path,
			       "grain %" PRIu64 " at offset %#" PRIx64 " past the end of the file",
			       gi, *host);
	return 0;
}

int vmdk_sparse_read(struct image *img, struct vmdk_extent *e, uint8_t *buf,
		     uint64_t off, uint64_t len)
{
	int ret = 0;

	while (len && ret == 0) {
		uint64_t gi = off / e->grain, in = off % e->grain;
		uint64_t n = MIN(len, e->grain - in);
		uint64_t host, h2;
		enum grain_kind k, k2;

		ret = classify(e, gi, &host, &k);
		if (ret < 0)
			break;
		if (k == G_DATA || k == G_UNALLOC || k == G_ZERO) {
			/* extend over following grains of the same kind (contiguous data) */
			while (n < len) {
				ret = classify(e, gi + 1, &h2, &k2);
				if (ret < 0 || k2 != k ||
				    (k == G_DATA && h2 != host + (gi + 1 - off / e->grain) * e->grain))
					break;
				gi++;
				n = MIN(len, n + e->grain);
			}
			if (ret < 0)
				break;
		}
		switch (k) {
		case G_UNALLOC:
			ret = image_read_backing(img, buf, e->start + off, (size_t)n);
			break;
		case G_ZERO:
			memset(buf, 0, (size_t)n);
			break;
		case G_DATA:
			ret = backend_pread(e->be, buf, (size_t)n, host + in);
			break;
		case G_COMPRESSED:
			ret = vmdk_grain_cache_read(img->priv, e, host, gi, buf, in, n);
			break;
		}
		buf += n;
		off += n;
		len -= n;
	}
	return ret;
}

int vmdk_sparse_block_status(struct image *img, struct vmdk_extent *e, uint64_t off,
			     uint64_t len, struct block_status *bs)
{
	uint64_t gi = off / e->grain;
	uint64_t n = MIN(len, e->grain - off % e->grain);
	uint64_t host, h2;
	enum grain_kind k, k2;
	int ret = classify(e, gi, &host, &k);

	if (ret < 0)
		return ret;
	while (n < len) {
		ret = classify(e, gi + 1, &h2, &k2);
		if (ret < 0)
			return ret;
		if (k2 != k || (k == G_DATA && h2 != host + (gi + 1 - off / e->grain) * e->grain))
			break;
		gi++;
		n = MIN(len, n + e->grain);
	}
	bs->length = n;
	switch (k) {
	case G_UNALLOC:
		bs->flags = 0;
		break;
	case G_ZERO:
		bs->flags = BS_ZERO | BS_ALLOCATED;
		break;
	case G_DATA:
		bs->flags = BS_DATA | BS_ALLOCATED;
		if (e->be == img->be) {
			bs->flags |= BS_OFFSET_VALID;
			bs->host_offset = host + off % e->grain;
		}
		break;
	case G_COMPRESSED:
		bs->flags = BS_DATA | BS_ALLOCATED | BS_COMPRESSED;
		break;
	}
	return 0;
}

/* Write count entries of GT j starting at index i to disk, in both directories
 * (lock held). */
static int gt_store(struct vmdk_extent *e, uint32_t j, uint32_t i, uint32_t count)
{
	uint8_t raw[VMDK_GT_BYTES];
	int ret;

	for (uint32_t x = 0; x < count; x++)
		store_le32(raw + 4 * x, e->gt[j][i + x]);
	ret = backend_pwrite(e->be, raw, 4 * (size_t)count, (uint64_t)e->gd[j] * 512 + 4 * i);
	if (ret == 0 && e->rgd && e->rgd[j])
		ret = backend_pwrite(e->be, raw, 4 * (size_t)count,
				     (uint64_t)e->rgd[j] * 512 + 4 * i);
	return ret;
}

/* Allocate a zeroed grain table for directory entry j (lock held). */
static int gt_alloc(struct vmdk_extent *e, uint32_t j)
{
	static const uint8_t zero[VMDK_GT_BYTES];
	uint8_t le[4];
	int copies = e->rgd ? 2 : 1;
	int ret;

	for (int c = 0; c < copies; c++) {
		uint64_t off = align_up(e->file_size, 512);
		uint32_t *dir = c ? e->rgd : e->gd;
		uint64_t dir_off = (c ? e->h.rgd_offset : e->h.gd_offset) * 512 + 4ULL * j;

		if (off / 512 > UINT32_MAX)
			return err_set(-EFBIG, e->path, "sparse extent full (4 TiB of sectors)");
		ret = backend_pwrite(e->be, zero, sizeof(zero), off);
		if (ret < 0)
			return ret;
		e->file_size = off + VMDK_GT_BYTES;
		dir[j] = (uint32_t)(off / 512);
		store_le32(le, dir[j]);
		ret = backend_pwrite(e->be, le, 4, dir_off);
		if (ret < 0)
			return ret;
	}
	uint32_t *t = calloc(1, VMDK_GT_BYTES);

	if (!t)
		return err_set(-ENOMEM, e->path, "out of memory");
	__atomic_store_n(&e->gt[j], t, __ATOMIC_RELEASE);
	return 0;
}

/* Point grains [gi, gi+count) at host, host+grain, ... (lock held). */
static int publish(struct vmdk_extent *e, uint64_t gi, uint64_t count, uint64_t host)
{
	int ret = 0;

	while (count && ret == 0) {
		uint32_t j = (uint32_t)(gi / VMDK_GTES), i = (uint32_t)(gi % VMDK_GTES);
		uint32_t n = (uint32_t)MIN(count, (uint64_t)(VMDK_GTES - i));

		ret = vmdk_gt_load(e, j);
		if (ret == 0 && !e->gt[j])
			ret = gt_alloc(e, j);
		if (ret < 0)
			return ret;
		for (uint32_t x = 0; x < n; x++)
			__atomic_store_n(&e->gt[j][i + x], (uint32_t)((host + x * e->grain) / 512),
					 __ATOMIC_RELAXED);
		ret = gt_store(e, j, i, n);
		gi += n;
		count -= n;
		host += n * e->grain;
	}
	return ret;
}

/* Reserve count grains at the end of the file (lock held). */
static int reserve(struct vmdk_extent *e, uint64_t count, uint64_t *host)
{
	uint64_t off = align_up(e->file_size, 512);

	if ((off + count * e->grain) / 512 > UINT32_MAX)
		return err_set(-EFBIG, e->path, "sparse extent full (grain offsets exceed 32 bits)");
	*host = off;
	e->file_size = off + count * e->grain;
	return 0;
}

/* Partial write into a grain that has no data yet: the rest comes from the backing
 * file (or zeros).  Done under the lock so two partial writes cannot both allocate. */
static int write_partial_new(struct image *img, struct vmdk_extent *e, uint64_t gi,
			     const uint8_t *buf, uint64_t in, uint64_t n)
{
	uint64_t host, glen = e->grain, vstart = e->start + gi * e->grain;
	enum grain_kind k;
	uint8_t *g;
	int ret;

	pthread_mutex_lock(&e->lock);
	ret = classify(e, gi, &host, &k);
	if (ret == 0 && k == G_DATA) {
		pthread_mutex_unlock(&e->lock);
		return backend_pwrite(e->be, buf, (size_t)n, host + in);
	}
	g = ret == 0 ? calloc(1, (size_t)glen) : NULL;
	if (ret == 0 && !g)
		ret = err_set(-ENOMEM, e->path, "out of memory");
	if (ret == 0 && k == G_UNALLOC) {
		uint64_t vlen = MIN(glen, img->size - MIN(img->size, vstart));

		ret = image_read_backing(img, g, vstart, (size_t)vlen);
	}
	if (ret == 0) {
		memcpy(g + in, buf, (size_t)n);
		ret = reserve(e, 1, &host);
	}
	if (ret == 0)
		ret = backend_pwrite(e->be, g, (size_t)glen, host);
	if (ret == 0)
		ret = publish(e, gi, 1, host);
	pthread_mutex_unlock(&e->lock);
	free(g);
	return ret;
}

int vmdk_sparse_write(struct image *img, struct vmdk_extent *e, const uint8_t *buf,
		      uint64_t off, uint64_t len)
{
	int ret = 0;

	if (e->sw)
		return vmdk_stream_write(img, e, buf, off, len);
	if (e->compressed)
		return err_set(-ENOTSUP, e->path,
			       "cannot rewrite a compressed (streamOptimized) image; convert it instead");
	while (len && ret == 0) {
		uint64_t gi = off / e->grain, in = off % e->grain;
		uint64_t n = MIN(len, e->grain - in);
		uint64_t host, h2, count = 1;
		enum grain_kind k, k2;

		ret = classify(e, gi, &host, &k);
		if (ret < 0)
			break;
		if (k == G_DATA) {
			while (n < len) {
				ret = classify(e, gi + count, &h2, &k2);
				if (ret < 0 || k2 != G_DATA || h2 != host + count * e->grain)
					break;
				n = MIN(len, n + e->grain);
				count++;
			}
			if (ret == 0)
				ret = backend_pwrite(e->be, buf, (size_t)n, host + in);
		} else if (in == 0 && n == e->grain) {
			/* whole new grains: one reservation, one data write, then the tables */
			while (n + e->grain <= len) {
				ret = classify(e, gi + count, &h2, &k2);
				if (ret < 0 || k2 == G_DATA)
					break;
				n += e->grain;
				count++;
			}
			if (ret < 0)
				break;
			pthread_mutex_lock(&e->lock);
			ret = reserve(e, count, &host);
			pthread_mutex_unlock(&e->lock);
			if (ret == 0)
				ret = backend_pwrite(e->be, buf, (size_t)n, host);
			if (ret == 0) {
				pthread_mutex_lock(&e->lock);
				ret = publish(e, gi, count, host);
				pthread_mutex_unlock(&e->lock);
			}
		} else {
			ret = write_partial_new(img, e, gi, buf, in, n);
		}
		buf += n;
		off += n;
		len -= n;
	}
	return ret;
}

int vmdk_sparse_zero(struct image *img, struct vmdk_extent *e, uint64_t off, uint64_t len)
{
	uint8_t *zero = NULL;
	int ret = 0;

	if (e->sw)
		return vmdk_stream_zero(img, e, off, len);
	while (len && ret == 0) {
		uint64_t gi = off / e->grain, in = off % e->grain;
		uint64_t n = MIN(len, e->grain - in);
		uint64_t host;
		enum grain_kind k;

		ret = classify(e, gi, &host, &k);
		if (ret < 0)
			break;
		if (k == G_ZERO || (k == G_UNALLOC && !img->backing_name)) {
			/* already reads as zeros */
		} else if (in == 0 && n == e->grain && e->zeroed_grain) {
			pthread_mutex_lock(&e->lock);
			ret = vmdk_gt_load(e, (uint32_t)(gi / VMDK_GTES));
			if (ret == 0)
				ret = publish(e, gi, 1, 512);    /* GTE 1: zeroed grain */
			pthread_mutex_unlock(&e->lock);
		} else if (k == G_DATA) {
			ret = backend_write_zeroes(e->be, host + in, n, 0);
		} else {
			if (!zero)
				zero = calloc(1, (size_t)e->grain);
			ret = zero ? vmdk_sparse_write(img, e, zero, off, n)
				   : err_set(-ENOMEM, e->path, "out of memory");
		}
		off += n;
		len -= n;
	}
	free(zero);
	return ret;
}

int vmdk_sparse_create(struct backend *be, const char *filename, uint64_t capacity,
		       const char *desc, bool zeroed_grain)
{
	struct vmdk_header h = { 0 };
	uint64_t grains, gt_count, gd_sectors, desc_sectors = 20, gt_sectors = 4;
	uint8_t hdr[512];
	uint8_t *dir = NULL;
	int ret;

	if (desc && strlen(desc) > desc_sectors * 512)
		desc_sectors = div_round_up(strlen(desc), 512);
	grains = div_round_up(capacity, VMDK_DEFAULT_GRAIN);
	gt_count = div_round_up(grains, VMDK_GTES);
	gd_sectors = div_round_up(gt_count * 4, 512);
	h.version = zeroed_grain ? 2 : 1;
	h.flags = VMDK_FLAG_NL_DETECT | VMDK_FLAG_RGD | (zeroed_grain ? VMDK_FLAG_ZERO_GRAIN : 0);
	h.capacity = capacity;
	h.grain_size = VMDK_DEFAULT_GRAIN;
	h.desc_offset = desc ? 1 : 0;
	h.desc_size = desc ? desc_sectors : 0;
	h.num_gtes = VMDK_GTES;
	h.rgd_offset = 1 + desc_sectors;
	h.gd_offset = h.rgd_offset + gd_sectors + gt_count * gt_sectors;
	h.overhead = align_up(h.gd_offset + gd_sectors + gt_count * gt_sectors,
			      VMDK_DEFAULT_GRAIN);
	if (h.overhead + grains * VMDK_DEFAULT_GRAIN > UINT32_MAX)
		return err_set(-EFBIG, filename, "disk too large for a hosted sparse extent");
	vmdk_header_encode(&h, hdr);
	ret = backend_truncate(be, 0);
	if (ret == 0)
		ret = backend_pwrite(be, hdr, sizeof(hdr), 0);
	if (ret == 0 && desc) {
		char *d = calloc(1, (size_t)desc_sectors * 512);

		if (!d)
			return err_set(-ENOMEM, filename, "out of memory");
		memcpy(d, desc, strlen(desc));
		ret = backend_pwrite(be, d, (size_t)desc_sectors * 512, 512);
		free(d);
	}
	if (ret < 0)
		return ret;
	dir = calloc(1, (size_t)gd_sectors * 512);
	if (!dir)
		return err_set(-ENOMEM, filename, "out of memory");
	for (int c = 0; c < 2 && ret == 0; c++) {
		uint64_t base = c ? h.gd_offset : h.rgd_offset;

		for (uint64_t i = 0; i < gt_count; i++)
			store_le32(dir + 4 * i, (uint32_t)(base + gd_sectors + i * gt_sectors));
		ret = backend_pwrite(be, dir, (size_t)gd_sectors * 512, base * 512);
	}
	free(dir);
	if (ret == 0)
		ret = backend_truncate(be, h.overhead * 512);
	return ret;
}
