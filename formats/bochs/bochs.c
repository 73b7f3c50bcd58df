/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bochs.c - the Bochs "growing" redolog disk, read-only, as qemu 7.2 reads it.
 *
 * Layout (little-endian): a 512-byte header: magic "Bochs Virtual HD Image",
 * type "Redolog", subtype "Growing", version (0x00020000, or 0x00010000 whose
 * disk size sits 4 bytes earlier), header size, catalog entries, bitmap size,
 * extent size, disk size.  The catalog (u32 per extent, 0xffffffff = not
 * stored) follows the header; stored extent k lies at data_offset + k *
 * (bitmap + extent) as a sector bitmap (LSB first: a clear bit reads as zeros)
 * then the extent's sectors.  Unstored extents and sectors are holes.
 *
 * Checked before use: the extent size (a power of two, 512 .. 8 MiB, qemu's
 * range), the catalog (at most 256 Ki entries, enough for the disk, inside the
 * file), and each stored extent lies inside the file.
 */
#include "../format.h"
#include "../reference.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define BOCHS_HEADER_SIZE   512u
#define BOCHS_MAGIC         "Bochs Virtual HD Image"
#define BOCHS_TYPE_REDOLOG  "Redolog"
#define BOCHS_TYPE_GROWING  "Growing"
#define BOCHS_VERSION       0x00020000u
#define BOCHS_VERSION_1     0x00010000u
#define BOCHS_MAX_CATALOG   (256u * 1024)    /* qemu's limit */
#define BOCHS_MAX_EXTENT    0x800000u        /* qemu's limit: 8 MiB */
#define BOCHS_UNSTORED      0xffffffffu

struct bochs_state {
	uint32_t *catalog;
	uint32_t catalog_size;
	uint64_t data_offset;
	uint32_t extent_size;
	uint64_t bitmap_bytes;     /* the bitmap's sectors, in bytes */
};

/* The three NUL-terminated strings at 0, 32 and 48, and a known version. */
static bool bochs_header_ok(const uint8_t *h)
{
	uint32_t v = load_le32(h + 64);

	return !strncmp((const char *)h, BOCHS_MAGIC, 32) && !h[31] &&
	       !strncmp((const char *)h + 32, BOCHS_TYPE_REDOLOG, 16) &&
	       !strncmp((const char *)h + 48, BOCHS_TYPE_GROWING, 16) &&
	       (v == BOCHS_VERSION || v == BOCHS_VERSION_1);
}

static int bochs_probe(const uint8_t *buf, size_t len, const char *filename)
{
	return len >= BOCHS_HEADER_SIZE && bochs_header_ok(buf) ? 100 : 0;
}

static int bochs_parse_header(struct image *img, struct bochs_state *s, const uint8_t *h,
			      uint64_t file_size)
{
	uint32_t header_size = load_le32(h + 68);
	uint32_t bitmap = load_le32(h + 76);
	uint64_t disk = load_le32(h + 64) == BOCHS_VERSION_1 ? load_le64(h + 84)
							      : load_le64(h + 88);
	uint64_t sectors = disk / 512;

	s->catalog_size = load_le32(h + 72);
	s->extent_size = load_le32(h + 80);
	if (s->catalog_size > BOCHS_MAX_CATALOG)
		return err_set(-EFBIG, img->filename, "Catalog size %" PRIu32 " is too large",
			       s->catalog_size);
	if (s->extent_size < 512)
		return err_set(-EINVAL, img->filename, "Extent size must be at least 512");
	if (!is_power_of_2(s->extent_size))
		return err_set(-EINVAL, img->filename, "Extent size %" PRIu32 " is not a power of two",
			       s->extent_size);
	if (s->extent_size > BOCHS_MAX_EXTENT)
		return err_set(-EINVAL, img->filename, "Extent size %" PRIu32 " is too large",
			       s->extent_size);
	if (s->catalog_size < div_round_up(sectors, s->extent_size / 512))
		return err_set(-EINVAL, img->filename, "Catalog size is too small for this disk size");
	if (header_size < BOCHS_HEADER_SIZE)
		return err_set(-EINVAL, img->filename, "header size %" PRIu32 " is smaller than the header",
			       header_size);
	s->data_offset = (uint64_t)header_size + (uint64_t)s->catalog_size * 4;
	if (s->data_offset > file_size)
		return err_set(-EINVAL, img->filename,
			       "catalog of %" PRIu32 " entries at %" PRIu32 " runs past the end of the file",
			       s->catalog_size, header_size);
	/* as qemu: a bitmap of 0 bytes wraps to a huge one, caught by the bounds below */
	s->bitmap_bytes = (1 + (uint64_t)(uint32_t)(bitmap - 1) / 512) * 512;
	img->size = sectors * 512;
	return 0;
}

static int bochs_load_catalog(struct image *img, struct bochs_state *s, uint64_t header_size,
			      uint64_t file_size)
{
	size_t bytes = (size_t)s->catalog_size * 4;
	uint64_t span = s->bitmap_bytes + s->extent_size, at;
	int ret = ref_check_metadata_size(img, "catalog", bytes);

	if (ret < 0)
		return ret;
	s->catalog = malloc(bytes ? bytes : 4);
	if (!s->catalog)
		return err_set(-ENOMEM, img->filename, "out of memory for the catalog");
	ret = backend_pread(img->be, s->catalog, bytes, header_size);
	for (uint32_t i = 0; ret == 0 && i < s->catalog_size; i++) {
		uint32_t e = load_le32(&s->catalog[i]);

		s->catalog[i] = e;
		/* only the extents the disk reaches are ever read */
		if (e == BOCHS_UNSTORED || (uint64_t)i * s->extent_size >= img->size)
			continue;
		if (__builtin_mul_overflow((uint64_t)e, span, &at) ||
		    !add_ok(at, s->data_offset + s->bitmap_bytes, &at) || at > file_size)
			ret = err_set(-EINVAL, img->filename,
				      "catalog entry %" PRIu32 " points to extent %" PRIu32 ", beyond the end of the file",
				      i, e);
	}
	return ret;
}

static int bochs_open(struct image *img, int flags)
{
	uint8_t h[BOCHS_HEADER_SIZE];
	struct bochs_state *s;
	uint64_t file_size;
	int ret;

	if (flags & IMG_RDWR)
		return err_set(-EROFS, img->filename, "the bochs format is read-only in imgtool");
	ret = backend_size(img->be, &file_size);
	if (ret < 0)
		return ret;
	if (file_size < BOCHS_HEADER_SIZE)
		return err_set(-EINVAL, img->filename, "Image not in Bochs format (too small)");
	ret = backend_pread(img->be, h, sizeof(h), 0);
	if (ret < 0)
		return ret;
	if (!bochs_header_ok(h))
		return err_set(-EINVAL, img->filename, "Image not in Bochs format");
	s = calloc(1, sizeof(*s));
	if (!s)
		return err_set(-ENOMEM, img->filename, "out of memory");
	ret = bochs_parse_header(img, s, h, file_size);
	if (ret == 0)
		ret = bochs_load_catalog(img, s, load_le32(h + 68), file_size);
	if (ret < 0) {
		free(s->catalog);
		free(s);
		return ret;
	}
	img->priv = s;
	img->cluster_size = s->extent_size;
	img->zero_init = true;
	return 0;
}

static void bochs_close(struct image *img)
{
	struct bochs_state *s = img->priv;

	if (!s)
		return;
	free(s->catalog);
	free(s);
	img->priv = NULL;
}

/* The extent's bitmap bytes covering sectors [k0, k1] (k0 rounded down to 8). */
static int bochs_read_bitmap(struct image *img, uint64_t bm_off, uint64_t k0, uint64_t k1,
			     uint8_t *bm)
{
	return backend_pread(img->be, bm, (size_t)(k1 / 8 - k0 / 8 + 1), bm_off + k0 / 8);
}

static bool bit(const uint8_t *bm, uint64_t k, uint64_t base)
{
	return (bm[k / 8 - base / 8] >> (k % 8)) & 1;
}

/* The status of [off, off + n) inside one extent: a run of stored or unstored
 * sectors from off; *stored_at is the run's host offset when stored. */
static int bochs_run(struct image *img, uint64_t off, uint64_t n, uint64_t *run,
		     bool *stored, uint64_t *stored_at)
{
	struct bochs_state *s = img->priv;
	uint64_t idx = off / s->extent_size, start = idx * s->extent_size;
	uint32_t e = s->catalog[idx];
	uint64_t k0 = (off - start) / 512, k1 = (off + n - 1 - start) / 512, k = k0;
	uint64_t bm_off;
	uint8_t bm[BOCHS_MAX_EXTENT / 512 / 8];
	int ret;

	if (e == BOCHS_UNSTORED) {
		*run = n;
		*stored = false;
		return 0;
	}
	bm_off = s->data_offset + (uint64_t)e * (s->bitmap_bytes + s->extent_size);
	ret = bochs_read_bitmap(img, bm_off, k0, k1, bm);
	if (ret < 0)
		return ret;
	*stored = bit(bm, k0, k0);
	while (k + 1 <= k1 && bit(bm, k + 1, k0) == *stored)
		k++;
	*run = MIN(off + n, start + (k + 1) * 512) - off;
	*stored_at = bm_off + s->bitmap_bytes + (off - start);
	return 0;
}

static int bochs_read(struct image *img, void *buf, uint64_t off, size_t len)
{
	struct bochs_state *s = img->priv;
	uint8_t *p = buf;
	int ret = 0;

	while (len && ret == 0) {
		uint64_t n = MIN((uint64_t)len, s->extent_size - off % s->extent_size);
		uint64_t run, at = 0;
		bool stored;

		ret = bochs_run(img, off, n, &run, &stored, &at);
		if (ret < 0)
			break;
		if (stored)
			ret = backend_pread(img->be, p, (size_t)run, at);
		else
			memset(p, 0, (size_t)run);
		p += run;
		off += run;
		len -= (size_t)run;
	}
	return ret;
}

static int bochs_block_status(struct image *img, uint64_t off, uint64_t len,
			      struct block_status *bs)
{
	struct bochs_state *s = img->priv;
	uint64_t n = MIN(len, s->extent_size - off % s->extent_size);
	uint64_t at = 0;
	bool stored;
	int ret = bochs_run(img, off, n, &bs->length, &stored, &at);

	if (ret < 0)
		return ret;
	if (stored) {
		bs->flags = BS_DATA | BS_ALLOCATED | BS_OFFSET_VALID;
		bs->host_offset = at;
	} else {
		bs->flags = BS_ZERO | BS_ALLOCATED;
	}
	return 0;
}

static const char *const bochs_aliases[] = { NULL };

const struct format_ops bochs_format_ops = {
	.name = "bochs",
	.aliases = bochs_aliases,
	.probe = bochs_probe,
	.open = bochs_open,
	.close = bochs_close,
	.read = bochs_read,
	.block_status = bochs_block_status,
	.info = image_info_generic_only,
};
