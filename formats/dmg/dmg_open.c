/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dmg_open.c - the dmg format driver: probe, the koly trailer, open/close, and
 * the ops table (dmg.h has the layout).
 *
 * Like qemu, a dmg is recognised by its ".dmg" name (the trailer sits at the end
 * of the file, past what probing reads) and the trailer is searched in the last
 * 515 bytes, since the file need not be a multiple of 512 bytes long.  Every
 * offset and length the trailer gives must lie before the trailer.
 */
#include "dmg.h"
#include "../reference.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static int dmg_probe(const uint8_t *buf, size_t len, const char *filename)
{
	size_t n = filename ? strlen(filename) : 0;

	return n > 4 && !strcmp(filename + n - 4, ".dmg") ? 2 : 0;
}

static int dmg_find_koly(struct image *img, uint64_t file_size, uint64_t *out)
{
	uint8_t buf[515];
	uint64_t start = file_size > 511 + 512 ? file_size - 511 - 512 : 0;
	size_t n = (size_t)MIN(file_size, (uint64_t)sizeof(buf));
	int ret;

	if (file_size < 512)
		return err_set(-EINVAL, img->filename, "dmg file must be at least 512 bytes long");
	ret = backend_pread(img->be, buf, n, start);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i + 3 < n; i++) {
		if (!memcmp(buf + i, "koly", 4) && start + i + DMG_KOLY_SIZE <= file_size) {
			*out = start + i;
			return 0;
		}
	}
	return err_set(-EINVAL, img->filename, "Could not locate UDIF trailer in dmg file");
}

/* An area [off, off + len) the trailer names must lie before the trailer. */
static int dmg_area_ok(struct dmg_state *s, const char *what, uint64_t off, uint64_t len)
{
	if (off >= s->koly_offset || len > s->koly_offset - off)
		return err_set(-EINVAL, s->img->filename,
			       "%s at %#" PRIx64 " (%" PRIu64 " bytes) does not lie before the UDIF trailer at %#" PRIx64,
			       what, off, len, s->koly_offset);
	return 0;
}

static int dmg_load(struct image *img, struct dmg_state *s)
{
	uint8_t k[DMG_KOLY_SIZE];
	uint64_t file_size, rsrc_off, rsrc_len, xml_off, xml_len, sectors;
	int ret = backend_size(img->be, &file_size);

	if (ret == 0)
		ret = dmg_find_koly(img, file_size, &s->koly_offset);
	if (ret == 0)
		ret = backend_pread(img->be, k, sizeof(k), s->koly_offset);
	if (ret < 0)
		return ret;
	s->data_fork_offset = load_be64(k + 0x18);
	rsrc_off = load_be64(k + 0x28);
	rsrc_len = load_be64(k + 0x30);
	xml_off = load_be64(k + 0xd8);
	xml_len = load_be64(k + 0xe0);
	sectors = load_be64(k + 0x1ec);
	if (s->data_fork_offset > s->koly_offset)
		return err_set(-EINVAL, img->filename,
			       "data fork offset %#" PRIx64 " lies past the UDIF trailer",
			       s->data_fork_offset);
	if (sectors > INT64_MAX / 512)
		return err_set(-EINVAL, img->filename, "sector count %" PRIu64 " is too large",
			       sectors);
	img->size = sectors * 512;
	if (rsrc_len) {
		ret = dmg_area_ok(s, "resource fork", rsrc_off, rsrc_len);
		return ret < 0 ? ret : dmg_table_from_rsrc(s, rsrc_off, rsrc_len);
	}
	if (xml_len) {
		ret = dmg_area_ok(s, "property list", xml_off, xml_len);
		return ret < 0 ? ret : dmg_table_from_plist(s, xml_off, xml_len);
	}
	return err_set(-EINVAL, img->filename,
		       "the UDIF trailer names neither a resource fork nor a property list");
}

static void dmg_free(struct dmg_state *s)
{
	unit_cache_free(&s->cache);
	free(s->chunks);
	free(s);
}

static int dmg_open(struct image *img, int flags)
{
	struct dmg_state *s;
	int ret;

	if (flags & IMG_RDWR)
		return err_set(-EROFS, img->filename, "the dmg format is read-only in imgtool");
	s = calloc(1, sizeof(*s));
	if (!s)
		return err_set(-ENOMEM, img->filename, "out of memory");
	s->img = img;
	ret = dmg_load(img, s);
	if (ret == 0)
		ret = dmg_table_finish(s);
	if (ret == 0)
		ret = ref_check_inflate_size(img, "dmg chunk", s->max_unit);
	if (ret == 0 && unit_cache_init(&s->cache, (size_t)s->max_unit) < 0)
		ret = err_set(-ENOMEM, img->filename, "out of memory for a %" PRIu64 "-byte chunk",
			      s->max_unit);
	if (ret < 0) {
		dmg_free(s);
		return ret;
	}
	img->priv = s;
	img->zero_init = true;
	return 0;
}

static void dmg_close(struct image *img)
{
	if (img->priv)
		dmg_free(img->priv);
	img->priv = NULL;
}

static const char *const dmg_aliases[] = { NULL };

const struct format_ops dmg_format_ops = {
	.name = "dmg",
	.aliases = dmg_aliases,
	.probe = dmg_probe,
	.open = dmg_open,
	.close = dmg_close,
	.read = dmg_read,
	.block_status = dmg_block_status,
	.info = image_info_generic_only,
};
