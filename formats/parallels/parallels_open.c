/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * parallels_open.c - the Parallels format driver: probe, open (header, BAT,
 * format extension), close, info and the ops table.  Read-only: images come
 * off Parallels/Virtuozzo hosts to be converted.
 *
 * The checks and their words are qemu's.  Beyond them the BAT must lie inside
 * the file before it is allocated (a header cannot ask for more memory than the
 * file holds).  BAT entries past the end of the file read as zeros, as in qemu;
 * an entry past the BAT's coverage of the disk is unallocated.
 */
#include "parallels.h"
#include "../reference.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static bool magic_ok(const uint8_t *buf, bool *old)
{
	*old = !memcmp(buf, PRL_MAGIC_OLD, 16);
	return *old || !memcmp(buf, PRL_MAGIC_EXT, 16);
}

static int parallels_probe(const uint8_t *buf, size_t len, const char *filename)
{
	bool old;

	(void)filename;
	if (len >= PRL_HEADER_SIZE && magic_ok(buf, &old) &&
	    load_le32(buf + 16) == PRL_VERSION)
		return 100;
	return 0;
}

static int load_header(struct image *img, struct parallels_state *s, const uint8_t *h)
{
	uint64_t sectors = load_le64(h + 36);
	bool old;

	if (load_le32(h + 16) != PRL_VERSION || !magic_ok(h, &old))
		return err_set(-EINVAL, img->filename, "Image not in Parallels format");
	if (old)
		sectors &= 0xffffffffu;
	s->tracks = load_le32(h + 28);
	if (s->tracks == 0)
		return err_set(-EINVAL, img->filename, "Invalid image: Zero sectors per track");
	if (s->tracks > INT32_MAX / 513)
		return err_set(-EFBIG, img->filename, "Invalid image: Too big cluster");
	s->off_multiplier = old ? 1 : s->tracks;
	s->bat_size = load_le32(h + 32);
	if (s->bat_size > INT_MAX / sizeof(uint32_t))
		return err_set(-EFBIG, img->filename, "Catalog too large");
	if (sectors > INT64_MAX / PRL_SECTOR)
		return err_set(-EFBIG, img->filename, "virtual size of %llu sectors too large",
			       (unsigned long long)sectors);
	img->size = sectors * PRL_SECTOR;
	return 0;
}

static int load_bat(struct image *img, struct parallels_state *s)
{
	size_t bytes = (size_t)s->bat_size * 4;
	int ret = ref_check_metadata_size(img, "BAT", bytes);

	if (ret < 0)
		return ret;
	if (PRL_HEADER_SIZE + bytes > s->file_size)
		return err_set(-EINVAL, img->filename,
			       "BAT (%u entries) beyond the end of the file (%llu bytes)",
			       s->bat_size, (unsigned long long)s->file_size);
	s->bat = malloc(bytes ? bytes : 4);
	if (!s->bat)
		return err_set(-ENOMEM, img->filename, "out of memory for the BAT");
	ret = bytes ? backend_pread(img->be, s->bat, bytes, PRL_HEADER_SIZE) : 0;
	for (uint32_t i = 0; ret == 0 && i < s->bat_size; i++)
		s->bat[i] = load_le32(&s->bat[i]);
	return ret;
}

static int parallels_load(struct image *img, struct parallels_state *s, int flags)
{
	uint8_t h[PRL_HEADER_SIZE];
	uint64_t ext_off;
	int ret;

	if (flags & IMG_RDWR)
		return err_set(-EACCES, img->filename,
			       "parallels images can only be opened read-only (convert them)");
	ret = backend_size(img->be, &s->file_size);
	if (ret < 0)
		return ret;
	if (s->file_size < PRL_HEADER_SIZE)
		return err_set(-EINVAL, img->filename,
			       "file too small for a Parallels image (%llu bytes)",
			       (unsigned long long)s->file_size);
	ret = backend_pread(img->be, h, sizeof(h), 0);
	if (ret == 0)
		ret = load_header(img, s, h);
	if (ret == 0)
		ret = load_bat(img, s);
	ext_off = load_le64(h + 56);
	if (ret == 0 && ext_off)
		ret = parallels_check_ext(img, s, ext_off);
	return ret;
}

static void parallels_free(struct parallels_state *s)
{
	if (s)
		free(s->bat);
	free(s);
}

static int parallels_open(struct image *img, int flags)
{
	struct parallels_state *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return err_set(-ENOMEM, img->filename, "out of memory");
	img->priv = s;
	ret = parallels_load(img, s, flags);
	if (ret < 0) {
		err_set_default(ret, img->filename, "could not open the Parallels image");
		parallels_free(s);
		img->priv = NULL;
		return ret;
	}
	img->cluster_size = s->tracks * PRL_SECTOR;
	return 0;
}

static void parallels_close(struct image *img)
{
	parallels_free(img->priv);
	img->priv = NULL;
}

/* qemu's parallels driver has no get_info: qemu-img prints neither a cluster
 * size nor a dirty flag. */
static int parallels_info(struct image *img, struct image_info *info)
{
	info->no_driver_info = true;
	return 0;
}

/* Read-only: open refuses IMG_RDWR, so image.c never calls write or flush. */
const struct format_ops parallels_format_ops = {
	.name = "parallels",
	.probe = parallels_probe,
	.open = parallels_open,
	.close = parallels_close,
	.read = parallels_read,
	.block_status = parallels_block_status,
	.info = parallels_info,
};
