/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qed_open.c - the QED format driver: probe, open (header, L1 table, backing
 * file name), close, info and the ops table.  Read-only, as the format is kept
 * only to migrate images off it.
 *
 * The checks are qemu's; beyond them the L1 table must lie inside the file
 * before anything is allocated for it, so a header cannot ask for more memory
 * than the file holds.  The backing file name goes through the reference
 * policy in image.c (formats/reference.c); with the no-probe feature its
 * format is raw, else it is probed (and a guessed raw refused).  A need-check
 * image is read as it is, as qemu reads one opened read-only.
 */
#include "qed.h"
#include "../reference.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct qed_header {
	uint32_t magic, cluster_size, table_size, header_size;
	uint64_t features, l1_offset, image_size;
	uint32_t backing_offset, backing_size;
};

static int qed_probe(const uint8_t *buf, size_t len, const char *filename)
{
	(void)filename;
	return len >= 4 && load_le32(buf) == QED_MAGIC ? 100 : 0;
}

static void header_decode(const uint8_t *b, struct qed_header *h)
{
	h->magic = load_le32(b);
	h->cluster_size = load_le32(b + 4);
	h->table_size = load_le32(b + 8);
	h->header_size = load_le32(b + 12);
	h->features = load_le64(b + 16);
	h->l1_offset = load_le64(b + 40);
	h->image_size = load_le64(b + 48);
	h->backing_offset = load_le32(b + 56);
	h->backing_size = load_le32(b + 60);
}

static unsigned log2_of(uint64_t v)
{
	unsigned n = 0;

	while (v > 1) {
		v >>= 1;
		n++;
	}
	return n;
}

static int header_validate(const char *fn, const struct qed_header *h)
{
	uint64_t entries;

	if (h->magic != QED_MAGIC)
		return err_set(-EINVAL, fn, "Image not in QED format");
	if (h->features & ~(uint64_t)QED_FEATURE_MASK)
		return err_set(-ENOTSUP, fn, "Unsupported QED features: %#llx",
			       (unsigned long long)(h->features & ~(uint64_t)QED_FEATURE_MASK));
	if (!is_power_of_2(h->cluster_size) || h->cluster_size < QED_MIN_CLUSTER ||
	    h->cluster_size > QED_MAX_CLUSTER)
		return err_set(-EINVAL, fn,
			       "invalid QED cluster size %u (a power of two from 4 KiB to 64 MiB)",
			       h->cluster_size);
	if (!is_power_of_2(h->table_size) || h->table_size < QED_MIN_TABLE ||
	    h->table_size > QED_MAX_TABLE)
		return err_set(-EINVAL, fn,
			       "invalid QED table size %u clusters (a power of two from 1 to 16)",
			       h->table_size);
	entries = (uint64_t)h->table_size * h->cluster_size / 8;
	if (h->image_size % 512 || h->image_size / h->cluster_size / entries > entries)
		return err_set(-EINVAL, fn,
			       "invalid QED image size %llu (a multiple of 512 the tables can map)",
			       (unsigned long long)h->image_size);
	if (!h->header_size || h->header_size > UINT32_MAX / h->cluster_size)
		return err_set(-EINVAL, fn, "invalid QED header size %u clusters", h->header_size);
	if ((h->features & QED_F_BACKING_FILE) &&
	    (uint64_t)h->backing_offset + h->backing_size >
	    (uint64_t)h->header_size * h->cluster_size)
		return err_set(-EINVAL, fn,
			       "QED backing file name (offset %u, %u bytes) beyond the header",
			       h->backing_offset, h->backing_size);
	return 0;
}

static int load_l1(struct image *img, struct qed_state *s, uint64_t l1_offset)
{
	size_t bytes = (size_t)8 << s->table_bits;
	int ret;

	ret = ref_check_metadata_size(img, "L1 table", bytes);
	if (ret < 0)
		return ret;
	if (!qed_offset_ok(s, l1_offset, bytes))
		return err_set(-EINVAL, img->filename,
			       "QED L1 table at %#llx (%zu bytes) not a cluster past the header inside the file (%llu bytes)",
			       (unsigned long long)l1_offset, bytes,
			       (unsigned long long)s->file_size);
	s->l1 = malloc(bytes);
	if (!s->l1)
		return err_set(-ENOMEM, img->filename, "Could not allocate memory for L1 table");
	ret = backend_pread(img->be, s->l1, bytes, l1_offset);
	for (uint64_t i = 0; ret == 0 && i < ((uint64_t)1 << s->table_bits); i++)
		s->l1[i] = load_le64(&s->l1[i]);
	return ret;
}

static int load_backing_name(struct image *img, const struct qed_header *h)
{
	int ret;

	if (!(h->features & QED_F_BACKING_FILE))
		return 0;
	if (h->backing_size > QED_BACKING_NAME_MAX)
		return err_set(-EINVAL, img->filename, "Backing file name too long");
	img->backing_name = calloc(1, (size_t)h->backing_size + 1);
	if (!img->backing_name)
		return err_set(-ENOMEM, img->filename, "out of memory");
	ret = backend_pread(img->be, img->backing_name, h->backing_size, h->backing_offset);
	if (ret < 0 || !img->backing_name[0]) {
		free(img->backing_name);
		img->backing_name = NULL;
		return ret;
	}
	if (h->features & QED_F_BACKING_NO_PROBE) {
		img->backing_format = strdup("raw");
		if (!img->backing_format)
			return err_set(-ENOMEM, img->filename, "out of memory");
	}
	return 0;
}

static int qed_load(struct image *img, struct qed_state *s, int flags)
{
	uint8_t buf[QED_HEADER_SIZE];
	struct qed_header h;
	int ret;

	if (flags & IMG_RDWR)
		return err_set(-EACCES, img->filename,
			       "qed images can only be opened read-only (convert them to qcow2)");
	ret = backend_size(img->be, &s->file_size);
	if (ret < 0)
		return ret;
	if (s->file_size < QED_HEADER_SIZE)
		return err_set(-EINVAL, img->filename,
			       "file too small for a QED image (%llu bytes)",
			       (unsigned long long)s->file_size);
	ret = backend_pread(img->be, buf, sizeof(buf), 0);
	if (ret < 0)
		return ret;
	header_decode(buf, &h);
	ret = header_validate(img->filename, &h);
	if (ret < 0)
		return ret;
	s->cluster_size = h.cluster_size;
	s->cluster_bits = log2_of(h.cluster_size);
	s->table_bits = log2_of((uint64_t)h.table_size * h.cluster_size / 8);
	s->header_bytes = (uint64_t)h.header_size * h.cluster_size;
	img->size = h.image_size;
	ret = load_l1(img, s, h.l1_offset);
	if (ret == 0)
		ret = load_backing_name(img, &h);
	return ret;
}

static int qed_open(struct image *img, int flags)
{
	struct qed_state *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return err_set(-ENOMEM, img->filename, "out of memory");
	img->priv = s;
	ret = qed_load(img, s, flags);
	if (ret < 0) {
		err_set_default(ret, img->filename, "could not open the QED image");
		free(s->l1);
		free(s);
		img->priv = NULL;
		return ret;
	}
	img->cluster_size = (uint32_t)s->cluster_size;
	return 0;
}

static void qed_close(struct image *img)
{
	struct qed_state *s = img->priv;

	if (s)
		free(s->l1);
	free(s);
	img->priv = NULL;
}

/* qemu-img 7.2 prints the cluster size and a dirty flag that is false even
 * for a need-check image opened read-only (seen with qemu-img 7.2 itself). */
static int qed_info(struct image *img, struct image_info *info)
{
	struct qed_state *s = img->priv;

	info->cluster_size = s->cluster_size;
	info->has_dirty_flag = true;
	info->dirty_flag = false;
	return 0;
}

/* Read-only: open refuses IMG_RDWR, so image.c never calls write or flush. */
const struct format_ops qed_format_ops = {
	.name = "qed",
	.probe = qed_probe,
	.open = qed_open,
	.close = qed_close,
	.read = qed_read,
	.block_status = qed_block_status,
	.info = qed_info,
};
