/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2_create.c - create a qcow2 image with qemu-img's options (size, compat,
 * cluster_size, preallocation, lazy_refcounts, refcount_bits, compression_type,
 * extended_l2, backing_file, backing_fmt).
 *
 * The layout follows qemu-img 7.2: header cluster, refcount table, refcount
 * block(s), L1 table.  The initial metadata is computed and written here
 * directly; preallocation then opens the new image and allocates through the
 * normal write-side code, so that only one allocator exists.
 */
#include "qcow2.h"
#include "../luks/luks.h"
#include "../create_opts.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *const prealloc_modes[] = { "off", "metadata", "falloc", "full", NULL };

const struct create_opt qcow2_create_opts[] = {
	{ .name = "encryption", .type = OPT_TYPE_BOOL,
	  .help = "Encrypt the image with format 'aes'. (Deprecated in favor of encrypt.format=aes)" },
	{ .name = "encrypt.format", .type = OPT_TYPE_STRING,
	  .help = "Encrypt the image, format choices: 'aes', 'luks'" },
	{ .name = "encrypt.key-secret", .type = OPT_TYPE_STRING,
	  .help = "ID of secret providing qcow AES key or LUKS passphrase" },
	LUKS_CIPHER_OPTS("encrypt."),
	{ .name = "cluster_size", .type = OPT_TYPE_SIZE, .def = "65536",
	  .help = "qcow2 cluster size" },
	{ .name = "extended_l2", .type = OPT_TYPE_BOOL, .def = "off",
	  .help = "Extended L2 tables" },
	{ .name = "preallocation", .type = OPT_TYPE_ENUM, .values = prealloc_modes,
	  .help = "Preallocation mode (allowed values: off, metadata, falloc, full)" },
	{ .name = "compression_type", .type = OPT_TYPE_STRING, .def = "zlib",
	  .help = "Compression method used for image cluster compression" },
	CREATE_OPT_SIZE("Virtual disk size"),
	{ .name = "compat", .type = OPT_TYPE_STRING,
	  .help = "Compatibility level (v2 [0.10] or v3 [1.1])" },
	CREATE_OPT_BACKING_FILE,
	{ .name = "backing_fmt", .type = OPT_TYPE_STRING,
	  .help = "Image format of the base image" },
	{ .name = "lazy_refcounts", .type = OPT_TYPE_BOOL, .def = "off",
	  .help = "Postpone refcount updates" },
	{ .name = "refcount_bits", .type = OPT_TYPE_NUMBER, .def = "16",
	  .help = "Width of a reference count entry in bits" },
	CREATE_OPT_NOCOW,
	CREATE_OPT_EXTENT_SIZE_HINT,
	CREATE_OPT_END,
};

struct create_params {
	uint64_t size;
	int version;
	uint32_t cluster_bits;
	enum prealloc_mode prealloc;
	bool lazy_refcounts;
	uint32_t refcount_order;
	int compression_type;
	bool extended_l2;
	const char *backing_file;
	const char *backing_fmt;
};

static int parse_version(const char *fn, const char *v, int *out)
{
	if (!strcmp(v, "0.10") || !strcmp(v, "v2"))
		*out = 2;
	else if (!strcmp(v, "1.1") || !strcmp(v, "v3"))
		*out = 3;
	else
		return err_set(-EINVAL, fn, "Parameter 'version' does not accept value '%s'", v);
	return 0;
}

static int get_bool(struct opts *opts, const char *key, bool *out)
{
	int ret = opts_get_bool(opts, key, out);

	return ret == -ENOENT ? 0 : ret;
}

static int parse_params(const char *fn, uint64_t size, struct opts *opts,
			struct create_params *p)
{
	const char *v;
	uint64_t u;
	int ret;

	memset(p, 0, sizeof(*p));
	p->size = size;
	p->version = 3;
	p->cluster_bits = 16;
	p->refcount_order = 4;

	ret = opts_get_size(opts, "size", &u);
	if (ret == 0)
		p->size = u;
	else if (ret != -ENOENT)
		return ret;
	v = opts_get(opts, "compat");
	if (v && (ret = parse_version(fn, v, &p->version)) < 0)
		return ret;
	ret = opts_get_size(opts, "cluster_size", &u);
	if (ret == 0) {
		if (!is_power_of_2(u) || u < 512 || u > 2 * MiB)
			return err_set(-EINVAL, fn, "Cluster size must be a power of two "
				       "between 512 and 2048k");
		p->cluster_bits = (uint32_t)__builtin_ctzll(u);
	} else if (ret != -ENOENT) {
		return ret;
	}
	v = opts_get(opts, "preallocation");
	if (v && parse_prealloc(v, &p->prealloc) < 0)
		return err_set(-EINVAL, fn,
			       "Parameter 'preallocation' does not accept value '%s'", v);
	if ((ret = get_bool(opts, "lazy_refcounts", &p->lazy_refcounts)) < 0)
		return ret;
	ret = opts_get_uint(opts, "refcount_bits", &u);
	if (ret == 0) {
		if (!is_power_of_2(u) || u > 64)
			return err_set(-EINVAL, fn, "Refcount width must be a power of two and "
				       "may not exceed 64 bits");
		p->refcount_order = (uint32_t)__builtin_ctzll(u);
	} else if (ret != -ENOENT) {
		return ret;
	}
	v = opts_get(opts, "compression_type");
	if (v) {
		if (!strcmp(v, "zlib"))
			p->compression_type = QCOW2_COMPRESSION_ZLIB;
		else if (!strcmp(v, "zstd"))
			p->compression_type = QCOW2_COMPRESSION_ZSTD;
		else
			return err_set(-EINVAL, fn, "Parameter 'compression-type' does not "
				       "accept value '%s'", v);
	}
	if ((ret = get_bool(opts, "extended_l2", &p->extended_l2)) < 0)
		return ret;
	p->backing_file = opts_get(opts, "backing_file");
	p->backing_fmt = opts_get(opts, "backing_fmt");
	if (p->backing_file && !*p->backing_file)
		p->backing_file = NULL;

	/* combinations, with qemu's words */
	if (p->version < 3) {
		if (p->refcount_order != 4)
			return err_set(-EINVAL, fn, "Different refcount widths than 16 bits "
				       "require compatibility level 1.1 or above (use version=v3 "
				       "or greater)");
		if (p->compression_type != QCOW2_COMPRESSION_ZLIB)
			return err_set(-EINVAL, fn, "Non-zlib compression type is only "
				       "supported with compatibility level 1.1 and above (use "
				       "version=v3 or greater)");
		if (p->extended_l2)
			return err_set(-EINVAL, fn, "Extended L2 entries are only supported "
				       "with compatibility level 1.1 and above (use version=v3 "
				       "or greater)");
		if (p->lazy_refcounts)
			return err_set(-EINVAL, fn, "Lazy refcounts only supported with "
				       "compatibility level 1.1 and above (use version=v3 or "
				       "greater)");
	}
	if (p->extended_l2 && p->cluster_bits < 14)
		return err_set(-EINVAL, fn, "Extended L2 entries are only supported with "
			       "cluster sizes of at least 16384 bytes");
	if (p->backing_file && !p->backing_fmt)
		return err_set(-EINVAL, fn, "Backing file specified without backing format");
	if (p->backing_fmt && !p->backing_file)
		return err_set(-EINVAL, fn, "Backing format cannot be used without backing file");
	if (p->backing_file && p->prealloc != PREALLOC_OFF && !p->extended_l2)
		return err_set(-EINVAL, fn, "Backing file and preallocation can only be used "
			       "at the same time if extended_l2 is on");
	if (p->backing_file && strlen(p->backing_file) > QCOW2_MAX_BACKING_NAME)
		return err_set(-EINVAL, fn, "Backing file name too long");
	return 0;
}

/* Take the virtual size from the backing image when none was given. */
static int size_from_backing(const char *fn, struct create_params *p)
{
	struct image *b;
	char *path;
	int ret;

	path = image_resolve_backing(fn, p->backing_file);
	if (!path)
		return err_set(-ENOMEM, fn, "out of memory");
	ret = image_open(path, p->backing_fmt, IMG_NO_BACKING, &b);
	free(path);
	if (ret < 0)
		return ret;
	p->size = b->size;
	image_close(b);
	return 0;
}

/* Write the header cluster through the driver's own header writer, so that a
 * new image carries exactly what a rewritten one would (feature name table,
 * backing format extension, backing name). */
static int write_header(struct backend *be, const char *fn, const struct create_params *p,
			uint64_t l1_size, uint64_t l1_off, uint64_t rt_off, uint64_t rt_clusters)
{
	struct image img = {
		.be = be,
		.filename = (char *)fn,
		.backing_name = (char *)p->backing_file,
	};
	struct qcow2_state s = {
		.img = &img,
		.backing_fmt = (char *)p->backing_fmt,
	};
	struct qcow2_header *h = &s.h;

	h->version = (uint32_t)p->version;
	h->cluster_bits = p->cluster_bits;
	h->size = p->size;
	h->l1_size = (uint32_t)l1_size;
	h->l1_table_offset = l1_off;
	h->refcount_table_offset = rt_off;
	h->refcount_table_clusters = (uint32_t)rt_clusters;
	if (p->version >= 3) {
		h->refcount_order = p->refcount_order;
		h->compression_type = (uint8_t)p->compression_type;
		if (p->compression_type != QCOW2_COMPRESSION_ZLIB)
			h->incompatible_features |= QCOW2_INCOMPAT_COMPRESSION;
		if (p->extended_l2)
			h->incompatible_features |= QCOW2_INCOMPAT_EXTL2;
		if (p->lazy_refcounts)
			h->compatible_features |= QCOW2_COMPAT_LAZY_REFCOUNTS;
	} else {
		h->refcount_order = 4;
	}
	qcow2_header_derive(&s);
	return qcow2_header_write(&s);
}

static void rb_set(uint8_t *block, uint32_t order, uint64_t i, uint64_t v)
{
	uint32_t bits = 1u << order;
	uint64_t bit = i * bits;

	if (bits >= 8) {
		for (uint32_t b = 0; b < bits / 8; b++)
			block[i * (bits / 8) + b] = (uint8_t)(v >> (bits - 8 - 8 * b));
		return;
	}
	block[bit / 8] |= (uint8_t)(v << (bit % 8));
}

/* Write header, refcount table, refcount blocks and an empty L1 table. */
static int write_initial(struct backend *be, const char *fn, const struct create_params *p)
{
	uint64_t cs = 1ULL << p->cluster_bits;
	uint64_t l2_entries = cs / (p->extended_l2 ? 16 : 8);
	uint64_t clusters = div_round_up(p->size, cs);
	uint64_t l1_size = div_round_up(clusters, l2_entries);
	/* an empty disk has no L1 table at all (as with qemu) */
	uint64_t l1_clusters = div_round_up(l1_size * 8, cs);
	uint64_t l1_off = 0;
	uint64_t rbe = cs * 8 >> p->refcount_order;
	uint64_t rt = 1, rb = 1, total, prev;
	uint8_t *buf = NULL;
	int ret = 0;

	if (l1_size > QCOW2_MAX_L1_BYTES / 8)
		return err_set(-EFBIG, fn, "The image size is too large for file format "
			       "'qcow2' (try using a larger cluster size)");
	/* fixed point: header + table + blocks + L1 all described by the blocks */
	do {
		prev = rt + rb;
		total = 1 + rt + rb + l1_clusters;
		rb = div_round_up(total, rbe);
		rt = div_round_up(rb * 8, cs);
	} while (rt + rb != prev);
	total = 1 + rt + rb + l1_clusters;
	if (l1_size)
		l1_off = (1 + rt + rb) * cs;

	buf = calloc(1, cs);
	if (!buf)
		return err_set(-ENOMEM, fn, "out of memory");
	/* refcount table: entries for the rb blocks at clusters 1+rt.. */
	for (uint64_t c = 0; c < rt; c++) {
		memset(buf, 0, cs);
		for (uint64_t k = 0; k < cs / 8; k++) {
			uint64_t i = c * (cs / 8) + k;
			if (i < rb)
				store_be64(buf + k * 8, (1 + rt + i) * cs);
		}
		ret = backend_pwrite(be, buf, cs, (1 + c) * cs);
		if (ret < 0)
			goto out;
	}
	for (uint64_t b = 0; b < rb; b++) {
		memset(buf, 0, cs);
		for (uint64_t c = b * rbe; c < MIN(total, (b + 1) * rbe); c++)
			rb_set(buf, p->refcount_order, c - b * rbe, 1);
		ret = backend_pwrite(be, buf, cs, (1 + rt + b) * cs);
		if (ret < 0)
			goto out;
	}
	/* the L1 table: like qemu, only its used bytes are written */
	if (!l1_size)
		goto out;
	ret = backend_write_zeroes(be, l1_off, l1_size * 8, 0);
	if (ret == -ENOTSUP) {
		err_clear();
		memset(buf, 0, cs);
		ret = 0;
		for (uint64_t o = 0; o < l1_size * 8 && ret == 0; o += cs)
			ret = backend_pwrite(be, buf, MIN(cs, l1_size * 8 - o), l1_off + o);
	}
out:
	free(buf);
	/* The header last, once the tables it points to are durable: a power cut
	 * during creation leaves no qcow2 image or a whole one, never a header
	 * pointing at a refcount table that did not reach the disk. */
	if (ret == 0)
		ret = backend_flush(be);
	if (ret == 0)
		ret = write_header(be, fn, p, l1_size, l1_off, cs, rt);
	return ret;
}

/* The fresh image opened through the qcow2 driver, so that what follows the
 * initial metadata (encryption, preallocation) uses the one allocator. */
static void close_new(struct image *img)
{
	if (img->ops)
		img->ops->close(img);
	/* what the header parse set on the image (image_close would free them) */
	free(img->backing_name);
	free(img->backing_format);
	free(img->filename);
	free(img);
}

static int open_new(struct backend *be, const char *fn, struct image **out)
{
	struct image *img = calloc(1, sizeof(*img));
	int ret;

	if (!img)
		return err_set(-ENOMEM, fn, "out of memory");
	img->filename = strdup(fn);
	img->be = be;
	img->flags = IMG_RDWR | IMG_NO_BACKING | IMG_NO_IO;
	img->cluster_size = 1;
	img->ops = format_find("qcow2");
	if (!img->filename || !img->ops) {
		img->ops = NULL;
		close_new(img);
		return err_set(-ENOMEM, fn, "out of memory");
	}
	ret = img->ops->open(img, img->flags);
	if (ret < 0) {
		img->ops = NULL;
		close_new(img);
		return ret;
	}
	*out = img;
	return 0;
}

/* Encryption (a LUKS header in new clusters), then preallocation. */
static int finish_new(struct backend *be, const char *fn, const struct create_params *p,
		      struct opts *opts)
{
	struct image *img = NULL;
	int ret = open_new(be, fn, &img);

	if (ret < 0)
		return ret;
	if (qcow2_crypt_wanted(opts))
		ret = qcow2_crypt_init_new(qcow2_state(img), opts);
	if (ret == 0 && p->prealloc != PREALLOC_OFF)
		ret = qcow2_preallocate(qcow2_state(img), 0, p->size, p->prealloc);
	if (ret == 0)
		ret = qcow2_flush(img);
	close_new(img);
	return ret;
}

int qcow2_create_precheck(const char *filename, uint64_t size, struct opts *opts)
{
	return qcow2_crypt_precheck(filename, opts);
}

int qcow2_create(struct backend *be, const char *filename, uint64_t size,
		 struct opts *opts)
{
	struct create_params p;
	int ret;

	ret = parse_params(filename, size, opts, &p);
	if (ret < 0)
		return ret;
	if (p.backing_file && p.size == 0) {
		ret = size_from_backing(filename, &p);
		if (ret < 0)
			return ret;
	}
	/* qemu keeps virtual sizes in whole 512-byte sectors */
	if (p.size > UINT64_MAX - 511)
		return err_set(-EFBIG, filename, "image size too large");
	p.size = align_up(p.size, 512);
	ret = write_initial(be, filename, &p);
	if (ret < 0)
		return ret;
	if (qcow2_crypt_wanted(opts) && p.prealloc != PREALLOC_OFF)
		return err_set(-ENOTSUP, filename, "preallocation of encrypted images is not supported");
	if (p.prealloc != PREALLOC_OFF || qcow2_crypt_wanted(opts)) {
		ret = finish_new(be, filename, &p, opts);
		if (ret < 0)
			return ret;
	}
	return backend_flush(be);
}
