/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dmg_read.c - reading a dmg and reporting block status (dmg.h).
 *
 * A guest offset is found in the sorted chunk table by binary search.  Zero
 * and ignore chunks read as zeros and are holes to block status; raw chunks
 * are read in place (sectors past their stored length read as zeros);
 * compressed chunks go through formats/unit_cache.c and must decompress to
 * exactly their sector count, so a chunk claiming more output than its sectors
 * (a decompression bomb) is an error, not an allocation.  A sector no chunk
 * covers is an I/O error, as in qemu.
 */
#include "dmg.h"
#include "../decompress.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* The chunk holding sector, or NULL. */
static const struct dmg_chunk *dmg_find(const struct dmg_state *s, uint64_t sector)
{
	uint32_t lo = 0, hi = s->n_chunks;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct dmg_chunk *c = &s->chunks[mid];

		if (sector < c->sector)
			hi = mid;
		else if (sector >= c->sector + c->count)
			lo = mid + 1;
		else
			return c;
	}
	return NULL;
}

static int dmg_no_chunk(struct dmg_state *s, uint64_t off)
{
	return err_set(-EIO, s->img->filename, "sector %" PRIu64 " lies in no chunk", off / 512);
}

static int dmg_unsupported(struct dmg_state *s, const struct dmg_chunk *c)
{
	const char *name = s->img->filename;

	switch (c->type) {
	case DMG_LZFSE:
		return err_set(-ENOTSUP, name,
			       "chunk at sector %" PRIu64 " is lzfse-compressed; imgtool cannot read lzfse (Debian 12 has no maintained lzfse library)",
			       c->sector);
	case DMG_BZIP2:
		return err_set(-ENOTSUP, name,
			       "chunk at sector %" PRIu64 " is bzip2-compressed; this imgtool was built without libbz2",
			       c->sector);
	case DMG_ADC:
		return err_set(-ENOTSUP, name,
			       "chunk at sector %" PRIu64 " is ADC-compressed, which imgtool (like qemu) cannot read",
			       c->sector);
	default:
		return err_set(-ENOTSUP, name, "chunk at sector %" PRIu64 " has unknown type %#" PRIx32,
			       c->sector, c->type);
	}
}

/* unit_load_fn: decompress the chunk at index idx. */
static int dmg_load_chunk(void *opaque, uint64_t idx, uint8_t *out, size_t len)
{
	struct dmg_state *s = opaque;
	const struct dmg_chunk *c = &s->chunks[idx];
	uint8_t *in = malloc(c->length ? (size_t)c->length : 1);
	int ret;

	if (!in)
		return err_set(-ENOMEM, s->img->filename, "out of memory");
	ret = backend_pread(s->img->be, in, (size_t)c->length, c->offset);
	if (ret == 0) {
		ret = c->type == DMG_ZLIB
			? zlib_inflate_exact(in, (size_t)c->length, out, len)
			: bz2_decompress_exact(in, (size_t)c->length, out, len);
		if (ret < 0)
			ret = err_set(-EIO, s->img->filename,
				      "%s chunk at %#" PRIx64 " (sector %" PRIu64 ") does not decompress to its %" PRIu64 " sectors",
				      c->type == DMG_ZLIB ? "zlib" : "bzip2", c->offset, c->sector,
				      c->count);
	}
	free(in);
	return ret;
}

/* Bytes [off, off + n) lying inside chunk c. */
static int dmg_read_in_chunk(struct dmg_state *s, const struct dmg_chunk *c, uint8_t *p,
			     uint64_t off, size_t n)
{
	uint64_t in = off - c->sector * 512;
	size_t stored;

	switch (c->type) {
	case DMG_ZERO:
	case DMG_IGNORE:
		memset(p, 0, n);
		return 0;
	case DMG_RAW:
		stored = in < c->length ? (size_t)MIN((uint64_t)n, c->length - in) : 0;
		memset(p + stored, 0, n - stored);
		return stored ? backend_pread(s->img->be, p, stored, c->offset + in) : 0;
	case DMG_ZLIB:
		return unit_cache_read(&s->cache, (uint64_t)(c - s->chunks), (size_t)(c->count * 512),
				       dmg_load_chunk, s, (size_t)in, p, n);
	case DMG_BZIP2:
		if (bz2_available())
			return unit_cache_read(&s->cache, (uint64_t)(c - s->chunks),
					       (size_t)(c->count * 512), dmg_load_chunk, s,
					       (size_t)in, p, n);
		return dmg_unsupported(s, c);
	default:
		return dmg_unsupported(s, c);
	}
}

int dmg_read(struct image *img, void *buf, uint64_t off, size_t len)
{
	struct dmg_state *s = img->priv;
	uint8_t *p = buf;
	int ret = 0;

	while (len && ret == 0) {
		const struct dmg_chunk *c = dmg_find(s, off / 512);
		size_t n;

		if (!c)
			return dmg_no_chunk(s, off);
		n = (size_t)MIN((uint64_t)len, (c->sector + c->count) * 512 - off);
		ret = dmg_read_in_chunk(s, c, p, off, n);
		p += n;
		off += n;
		len -= n;
	}
	return ret;
}

int dmg_block_status(struct image *img, uint64_t off, uint64_t len, struct block_status *bs)
{
	struct dmg_state *s = img->priv;
	const struct dmg_chunk *c = dmg_find(s, off / 512);

	if (!c)
		return dmg_no_chunk(s, off);
	bs->length = MIN(len, (c->sector + c->count) * 512 - off);
	switch (c->type) {
	case DMG_ZERO:
	case DMG_IGNORE:
		bs->flags = BS_ZERO | BS_ALLOCATED;
		break;
	case DMG_RAW:
		bs->flags = BS_DATA | BS_ALLOCATED;
		if (off - c->sector * 512 + bs->length <= c->length) {
			bs->flags |= BS_OFFSET_VALID;
			bs->host_offset = c->offset + (off - c->sector * 512);
		}
		break;
	default:
		bs->flags = BS_DATA | BS_ALLOCATED | BS_COMPRESSED;
		break;
	}
	return 0;
}
