/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow_open.c - the qcow (version 1) format driver: probe, open (header, L1
 * table, backing file name), close, info and the ops table.  Read-only, as the
 * format is kept only to migrate old images off it.
 *
 * The checks and their words are qemu's; beyond them, every table must lie
 * inside the file before anything is allocated for it, so a header cannot ask
 * for more memory than the file holds.  The backing file name goes through the
 * reference policy in image.c (formats/reference.c) like qcow2's; qcow records
 * no backing format, so the backing file is probed (and a raw one refused).
 */
#include "qcow.h"
#include "../reference.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

struct qcow_header {
	uint32_t magic, version;
	uint64_t backing_offset;
	uint32_t backing_size;
	uint64_t size;
	uint8_t cluster_bits, l2_bits;
	uint32_t crypt_method;
	uint64_t l1_offset;
};

static int qcow_probe(const uint8_t *buf, size_t len, const char *filename)
{
	(void)filename;
	if (len >= 8 && load_be32(buf) == QCOW_MAGIC && load_be32(buf + 4) == QCOW_VERSION)
		return 100;
	return 0;
}

static void header_decode(const uint8_t *b, struct qcow_header *h)
{
	h->magic = load_be32(b);
	h->version = load_be32(b + 4);
	h->backing_offset = load_be64(b + 8);
	h->backing_size = load_be32(b + 16);
	h->size = load_be64(b + 24);
	h->cluster_bits = b[32];
	h->l2_bits = b[33];
	h->crypt_method = load_be32(b + 36);
	h->l1_offset = load_be64(b + 40);
}

static int header_validate(const char *fn, const struct qcow_header *h)
{
	if (h->magic != QCOW_MAGIC)
		return err_set(-EINVAL, fn, "Image not in qcow format");
	/* qemu's words; its hint for qcow2 versions is folded into the one line */
	if (h->version == 2 || h->version == 3)
		return err_set(-ENOTSUP, fn,
			       "qcow (v%u) does not support qcow version %u (try the 'qcow2' driver instead)",
			       QCOW_VERSION, h->version);
	if (h->version != QCOW_VERSION)
		return err_set(-ENOTSUP, fn, "qcow (v%u) does not support qcow version %u",
			       QCOW_VERSION, h->version);
	if (h->size <= 1)
		return err_set(-EINVAL, fn, "Image size is too small (must be at least 2 bytes)");
	if (h->cluster_bits < 9 || h->cluster_bits > 16)
		return err_set(-EINVAL, fn, "Cluster size must be between 512 and 64k");
	if (h->l2_bits < 9 - 3 || h->l2_bits > 16 - 3)
		return err_set(-EINVAL, fn, "L2 table size must be between 512 and 64k");
	if (h->crypt_method == 1)
		return err_set(-ENOTSUP, fn,
			       "AES-encrypted qcow images are not supported (imgtool reads unencrypted qcow images only)");
	if (h->crypt_method)
		return err_set(-EINVAL, fn, "invalid encryption method in qcow header");
	return 0;
}

/* The L1 table, inside the file; each L2 table it names inside the file too. */
static int load_l1(struct image *img, struct qcow_state *s, const struct qcow_header *h)
{
	unsigned shift = s->cluster_bits + s->l2_bits;
	uint64_t l2_bytes = 8ULL << s->l2_bits, end;
	size_t bytes;
	int ret;

	if (h->size > UINT64_MAX - (1ULL << shift))
		return err_set(-EINVAL, img->filename, "Image too large");
	s->l1_size = (h->size + (1ULL << shift) - 1) >> shift;
	if (s->l1_size > INT_MAX / sizeof(uint64_t))
		return err_set(-EINVAL, img->filename, "Image too large");
	bytes = (size_t)s->l1_size * 8;
	ret = ref_check_metadata_size(img, "L1 table", bytes);
	if (ret < 0)
		return ret;
	if (!add_ok(h->l1_offset, bytes, &end) || end > s->file_size)
		return err_set(-EINVAL, img->filename,
			       "L1 table at %#llx (%llu entries) beyond the end of the file (%llu bytes)",
			       (unsigned long long)h->l1_offset, (unsigned long long)s->l1_size,
			       (unsigned long long)s->file_size);
	s->l1 = malloc(bytes ? bytes : 8);
	if (!s->l1)
		return err_set(-ENOMEM, img->filename, "Could not allocate memory for L1 table");
	ret = bytes ? backend_pread(img->be, s->l1, bytes, h->l1_offset) : 0;
	for (uint64_t i = 0; ret == 0 && i < s->l1_size; i++) {
		s->l1[i] = load_be64(&s->l1[i]);
		if (s->l1[i] && (!add_ok(s->l1[i], l2_bytes, &end) || end > s->file_size))
			ret = err_set(-EINVAL, img->filename,
				      "L2 table at %#llx (L1 entry %llu) beyond the end of the file",
				      (unsigned long long)s->l1[i], (unsigned long long)i);
	}
	return ret;
}

static int load_backing_name(struct image *img, struct qcow_state *s,
			     const struct qcow_header *h)
{
	uint64_t end;
	int ret;

	if (!h->backing_offset || !h->backing_size)
		return 0;
	if (h->backing_size > QCOW_BACKING_NAME_MAX)
		return err_set(-EINVAL, img->filename, "Backing file name too long");
	if (!add_ok(h->backing_offset, h->backing_size, &end) || end > s->file_size)
		return err_set(-EINVAL, img->filename,
			       "backing file name at %#llx beyond the end of the file",
			       (unsigned long long)h->backing_offset);
	img->backing_name = calloc(1, h->backing_size + 1);
	if (!img->backing_name)
		return err_set(-ENOMEM, img->filename, "out of memory");
	ret = backend_pread(img->be, img->backing_name, h->backing_size, h->backing_offset);
	if (ret == 0 && !img->backing_name[0]) {
		free(img->backing_name);
		img->backing_name = NULL;
	}
	return ret;
}

static int qcow_load(struct image *img, struct qcow_state *s, int flags)
{
	uint8_t buf[QCOW_HEADER_SIZE];
	struct qcow_header h;
	int ret;

	if (flags & IMG_RDWR)
		return err_set(-EACCES, img->filename,
			       "qcow images can only be opened read-only (convert them to qcow2)");
	ret = backend_size(img->be, &s->file_size);
	if (ret < 0)
		return ret;
	if (s->file_size < QCOW_HEADER_SIZE)
		return err_set(-EINVAL, img->filename,
			       "file too small for a qcow image (%llu bytes)",
			       (unsigned long long)s->file_size);
	ret = backend_pread(img->be, buf, sizeof(buf), 0);
	if (ret < 0)
		return ret;
	header_decode(buf, &h);
	ret = header_validate(img->filename, &h);
	if (ret < 0)
		return ret;
	s->cluster_bits = h.cluster_bits;
	s->l2_bits = h.l2_bits;
	s->cluster_size = 1ULL << h.cluster_bits;
	img->size = h.size / 512 * 512;
	ret = load_l1(img, s, &h);
	if (ret == 0)
		ret = load_backing_name(img, s, &h);
	return ret;
}

static int qcow_open(struct image *img, int flags)
{
	struct qcow_state *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return err_set(-ENOMEM, img->filename, "out of memory");
	img->priv = s;
	ret = qcow_load(img, s, flags);
	if (ret < 0) {
		err_set_default(ret, img->filename, "could not open the qcow image");
		free(s->l1);
		free(s);
		img->priv = NULL;
		return ret;
	}
	img->cluster_size = (uint32_t)s->cluster_size;
	return 0;
}

static void qcow_close(struct image *img)
{
	struct qcow_state *s = img->priv;

	if (s)
		free(s->l1);
	free(s);
	img->priv = NULL;
}

/* qemu-img 7.2 prints the cluster size and no format-specific data. */
static int qcow_info(struct image *img, struct image_info *info)
{
	struct qcow_state *s = img->priv;

	info->cluster_size = s->cluster_size;
	return 0;
}

/* Read-only: open refuses IMG_RDWR, so image.c never calls write or flush. */
const struct format_ops qcow_format_ops = {
	.name = "qcow",
	.probe = qcow_probe,
	.open = qcow_open,
	.close = qcow_close,
	.read = qcow_read,
	.block_status = qcow_block_status,
	.info = qcow_info,
};
