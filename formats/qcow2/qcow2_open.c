/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2_open.c - open and close a qcow2 image, probing, and the format_ops table
 * that wires the qcow2 driver into the format registry.
 *
 * Open reads cluster 0, validates it (qcow2_header.c), loads the active L1 table,
 * sizes the metadata caches, hands over to the refcount code and the snapshot
 * table, and applies the rules that depend on the open mode: a corrupt image is
 * only writable for repair, unknown autoclear bits are cleared on a writable open,
 * a dirty image (lazy refcounts) is repaired before it is written, and the
 * persistent bitmaps are loaded (kept on a writable open when consistent).
 */
#include "qcow2.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* The L2 cache covers the whole disk up to this much table memory. */
#define L2_CACHE_MAX_BYTES       (16 * MiB)
#define REFCOUNT_CACHE_MAX_BYTES (1 * MiB)
#define CACHE_MIN_ENTRIES        4

static int qcow2_probe(const uint8_t *buf, size_t len, const char *filename)
{
	/* as qemu: version 1 is the qcow format (formats/qcow/) */
	if (len >= 8 && load_be32(buf) == QCOW2_MAGIC && load_be32(buf + 4) >= 2)
		return 100;
	return 0;
}

static void qcow2_free_state(struct qcow2_state *s)
{
	if (!s)
		return;
	qcow2_cache_destroy(s->l2_cache);
	qcow2_cache_destroy(s->refcount_cache);
	qcow2_snapshot_table_free(s);
	qcow2_bitmaps_free(s);
	free(s->l1);
	free(s->reftable);
	free(s->backing_fmt);
	free(s->features);
	for (int i = 0; i < s->nb_unknown_exts; i++)
		free(s->unknown_exts[i].data);
	free(s->unknown_exts);
	free(s->extra_header);
	qcow2_compress_state_free(s);
	qcow2_crypt_close(s);
	pthread_cond_destroy(&s->alloc_cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Read cluster 0: first enough to learn the cluster size, then all of it (bytes
 * past the end of a short file read as zeros). */
static int read_header(struct qcow2_state *s, uint8_t **out, size_t *out_len)
{
	const char *fn = s->img->filename;
	uint8_t small[QCOW2_V2_HEADER_LENGTH];
	uint32_t bits;
	size_t len, n;
	uint8_t *buf;
	int ret;

	if (s->file_size < sizeof(small))
		return err_set(-EINVAL, fn, "not a qcow2 image (file too small)");
	ret = backend_pread(s->img->be, small, sizeof(small), 0);
	if (ret < 0)
		return ret;
	bits = load_be32(small + 20);
	if (bits < QCOW2_MIN_CLUSTER_BITS || bits > QCOW2_MAX_CLUSTER_BITS)
		return err_set(-EINVAL, fn, "Unsupported cluster size: 2^%u", bits);
	len = (size_t)1 << bits;
	buf = calloc(1, len);
	if (!buf)
		return err_set(-ENOMEM, fn, "out of memory");
	n = (size_t)MIN((uint64_t)len, s->file_size);
	ret = backend_pread(s->img->be, buf, n, 0);
	if (ret < 0) {
		free(buf);
		return ret;
	}
	*out = buf;
	*out_len = len;
	return 0;
}

static int load_l1(struct qcow2_state *s)
{
	uint64_t n = s->h.l1_size;
	size_t bytes = (size_t)(n * 8);
	int ret;

	s->l1_alloc = MAX(n, 1);
	s->l1 = calloc((size_t)s->l1_alloc, 8);
	if (!s->l1)
		return err_set(-ENOMEM, s->img->filename, "out of memory");
	if (!n)
		return 0;
	ret = backend_pread(s->img->be, s->l1, bytes, s->h.l1_table_offset);
	if (ret < 0)
		return ret;
	for (uint64_t i = 0; i < n; i++)
		s->l1[i] = load_be64(&s->l1[i]);
	return 0;
}

static int create_caches(struct qcow2_state *s)
{
	uint64_t tables = qcow2_l1_entries_for(s, s->h.size);
	uint64_t l2_max = L2_CACHE_MAX_BYTES / s->cluster_size;
	uint64_t rc_max = REFCOUNT_CACHE_MAX_BYTES / s->cluster_size;
	uint64_t l2_n = MAX(MIN(tables, l2_max), CACHE_MIN_ENTRIES);
	uint64_t rc_n = MAX(rc_max, CACHE_MIN_ENTRIES);

	s->l2_cache = qcow2_cache_create(s, (int)l2_n);
	s->refcount_cache = qcow2_cache_create(s, (int)rc_n);
	if (!s->l2_cache || !s->refcount_cache)
		return err_set(-ENOMEM, s->img->filename, "out of memory");
	qcow2_cache_set_dependency(s->l2_cache, s->refcount_cache);
	return 0;
}

void qcow2_drop_ext(struct qcow2_state *s, uint32_t type)
{
	int j = 0;

	for (int i = 0; i < s->nb_unknown_exts; i++) {
		if (s->unknown_exts[i].type == type)
			free(s->unknown_exts[i].data);
		else
			s->unknown_exts[j++] = s->unknown_exts[i];
	}
	s->nb_unknown_exts = j;
}

/* Mode-dependent rules applied once the image is parsed. */
static int open_rdwr_rules(struct qcow2_state *s, int flags)
{
	uint64_t keep = 0;
	int ret;

	/* Consistent bitmaps are kept and maintained (qcow2_bitmap.c); every
	 * other autoclear feature is one we do not maintain, so its bit is
	 * cleared, as QEMU does.  Stale bitmaps (the bit already clear) lose
	 * their extension: QEMU ignores it, and check reclaims the clusters as
	 * leaks.  check -r writes no guest data, so it keeps everything. */
	if (s->nb_bitmaps)
		keep = QCOW2_AUTOCLEAR_BITMAPS;
	if (s->h.version >= 3 && s->h.autoclear_features != keep && !(flags & IMG_CHECK)) {
		s->h.autoclear_features = keep;
		if (!keep)
			qcow2_drop_ext(s, QCOW2_EXT_BITMAPS);
		ret = qcow2_header_write(s);
		if (ret < 0)
			return ret;
	}
	if ((s->h.incompatible_features & QCOW2_INCOMPAT_DIRTY) && !(flags & IMG_CHECK)) {
		ret = qcow2_repair_dirty(s);
		if (ret < 0)
			return err_set_default(ret, s->img->filename, "Could not repair dirty image");
	}
	return 0;
}

static int qcow2_open(struct image *img, int flags)
{
	struct qcow2_state *s;
	uint8_t *hdr = NULL;
	size_t hdr_len = 0;
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s)
		return err_set(-ENOMEM, img->filename, "out of memory");
	s->img = img;
	s->metadata_prealloc = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->alloc_cond, NULL);
	s->read_only = !(flags & IMG_RDWR);

	ret = backend_size(img->be, &s->file_size);
	if (ret < 0)
		goto fail;
	ret = read_header(s, &hdr, &hdr_len);
	if (ret < 0)
		goto fail;
	ret = qcow2_header_parse(s, hdr, hdr_len);
	free(hdr);
	if (ret < 0)
		goto fail;
	if ((s->h.incompatible_features & QCOW2_INCOMPAT_CORRUPT) && (flags & IMG_RDWR) &&
	    !(flags & IMG_REPAIR)) {
		ret = err_set(-EACCES, img->filename,
			      "Image is corrupt; cannot be opened read/write");
		goto fail;
	}
	ret = qcow2_crypt_open(s, flags);
	if (ret < 0)
		goto fail;
	s->lazy_refcounts = (s->h.compatible_features & QCOW2_COMPAT_LAZY_REFCOUNTS) &&
			    !s->read_only;

	ret = load_l1(s);
	if (ret < 0)
		goto fail;
	ret = create_caches(s);
	if (ret < 0)
		goto fail;
	img->priv = s;
	img->size = s->h.size;
	img->cluster_size = (uint32_t)s->cluster_size;
	img->zero_init = true;

	/* Nobody else can see the image yet: the open-time steps run without
	 * s->lock (the repair code may take it itself). */
	ret = qcow2_refcount_init(s);
	if (ret == 0)
		ret = qcow2_snapshot_table_read(s);
	/* bitmaps QEMU cannot load make it refuse the image, check included */
	if (ret == 0)
		ret = qcow2_bitmaps_load(s);
	if (ret == 0)
		ret = qcow2_bitmaps_load_tables(s);
	if (ret == 0 && !s->read_only)
		ret = open_rdwr_rules(s, flags);
	if (ret < 0)
		goto fail;
	qcow2_detect_metadata_prealloc(s);
	return 0;
fail:
	img->priv = NULL;
	qcow2_free_state(s);
	return ret;
}

static void qcow2_close(struct image *img)
{
	struct qcow2_state *s = qcow2_state(img);

	if (!s)
		return;
	/* Last user of the image: no lock needed (and qcow2_write_close may
	 * take it itself). */
	if (!s->read_only)
		qcow2_write_close(s);
	qcow2_free_state(s);
	img->priv = NULL;
}

const struct format_ops qcow2_format_ops = {
	.name = "qcow2",
	.create_opts = qcow2_create_opts,
	.amend_opts = qcow2_amend_opts,
	.probe = qcow2_probe,
	.open = qcow2_open,
	.close = qcow2_close,
	.create = qcow2_create,
	.create_precheck = qcow2_create_precheck,
	.read = qcow2_read,
	.write = qcow2_write,
	.write_from = qcow2_write_from,
	.write_zeroes = qcow2_write_zeroes,
	.write_compressed = qcow2_write_compressed,
	.block_status = qcow2_block_status,
	.flush = qcow2_flush,
	.info = qcow2_info,
	.check = qcow2_check,
	.resize = qcow2_resize,
	.measure = qcow2_measure,
	.set_backing = qcow2_set_backing,
	.make_empty = qcow2_make_empty,
	.snapshot_create = qcow2_snapshot_create,
	.snapshot_list = qcow2_snapshot_list,
	.snapshot_apply = qcow2_snapshot_apply,
	.snapshot_delete = qcow2_snapshot_delete,
	.snapshot_open = qcow2_snapshot_open,
	.amend = qcow2_amend,
	.bitmap_supported = qcow2_bitmap_supported,
	.bitmap_list = qcow2_bitmap_list,
	.bitmap_add = qcow2_bitmap_add,
	.bitmap_remove = qcow2_bitmap_remove,
	.bitmap_clear = qcow2_bitmap_clear,
	.bitmap_enable = qcow2_bitmap_enable,
	.bitmap_status = qcow2_bitmap_status,
	.bitmap_set_dirty = qcow2_bitmap_set_dirty,
};
