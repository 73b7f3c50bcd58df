/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cloop.c - the cloop format (Knoppix's compressed loop device, V2.0), read-only,
 * as qemu 7.2 reads it.
 *
 * Layout (big-endian): a 128-byte shell-script preamble ("#!/bin/sh\n#V2.0
 * Format\n..."), block_size (u32) at 128, n_blocks (u32) at 132, then n_blocks + 1
 * u64 file offsets: block i is the zlib stream between offsets[i] and
 * offsets[i + 1] and inflates to exactly block_size bytes.  The virtual size is
 * n_blocks * block_size.  There are no holes: every block is stored.
 *
 * Every number is checked before use: the table against the file, offsets
 * increasing and past the table (chunks never overlap the metadata or each
 * other), a compressed block no larger than a block can deflate to, and a block
 * that inflates to more or less than block_size is an I/O error.
 */
#include "../format.h"
#include "../decompress.h"
#include "../reference.h"
#include "../unit_cache.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define CLOOP_MAGIC "#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n"
/* what open insists on (the rest of the preamble is a comment to the shell) */
#define CLOOP_VERSION_LINE "#!/bin/sh\n#V2.0 Format\n"
#define CLOOP_HEADER 128u
#define CLOOP_TABLE (CLOOP_HEADER + 8u)
#define CLOOP_MAX_BLOCK (64u * 1024 * 1024)        /* qemu's limit */
#define CLOOP_MAX_TABLE (512ULL * 1024 * 1024)     /* qemu's limit on the offsets */

struct cloop_state {
	uint32_t block_size;
	uint32_t n_blocks;
	uint64_t *offsets;        /* n_blocks + 1 */
	struct unit_cache cache;
	struct image *img;
};

static int cloop_probe(const uint8_t *buf, size_t len, const char *filename)
{
	size_t n = MIN(len, strlen(CLOOP_MAGIC));

	/* qemu's score: a shell script header is weak evidence */
	return n && !memcmp(buf, CLOOP_MAGIC, n) ? 2 : 0;
}

/* Deflated data never grows by more than about 0.1% plus a few bytes; a
 * compressed block bigger than this is not a cloop block. */
static uint64_t max_compressed(uint32_t block_size)
{
	return (uint64_t)block_size + block_size / 64 + 1024;
}

static int cloop_check_header(struct image *img, struct cloop_state *s, uint64_t file_size)
{
	if (s->block_size == 0 || s->block_size % 512)
		return err_set(-EINVAL, img->filename,
			       "block size %" PRIu32 " is not a nonzero multiple of 512",
			       s->block_size);
	if (s->block_size > CLOOP_MAX_BLOCK)
		return err_set(-EINVAL, img->filename,
			       "block size %" PRIu32 " must be 64 MB or less", s->block_size);
	if ((uint64_t)s->n_blocks + 1 > CLOOP_MAX_TABLE / 8)
		return err_set(-EINVAL, img->filename,
			       "image requires too many offsets (%" PRIu32 " blocks), try increasing block size",
			       s->n_blocks);
	if (CLOOP_TABLE + ((uint64_t)s->n_blocks + 1) * 8 > file_size)
		return err_set(-EINVAL, img->filename,
			       "offsets table of %" PRIu32 " blocks runs past the end of the file (%" PRIu64 " bytes)",
			       s->n_blocks, file_size);
	return ref_check_inflate_size(img, "cloop block", s->block_size);
}

static int cloop_load_offsets(struct image *img, struct cloop_state *s, uint64_t file_size)
{
	size_t n = (size_t)s->n_blocks + 1;
	uint64_t data_start = CLOOP_TABLE + (uint64_t)n * 8;
	uint8_t *raw;
	int ret = ref_check_metadata_size(img, "offsets table", (uint64_t)n * 8);

	if (ret < 0)
		return ret;
	raw = malloc(n * 8);
	s->offsets = malloc(n * 8);
	if (!raw || !s->offsets) {
		free(raw);
		return err_set(-ENOMEM, img->filename, "out of memory for the offsets table");
	}
	ret = backend_pread(img->be, raw, n * 8, CLOOP_TABLE);
	for (size_t i = 0; ret == 0 && i < n; i++) {
		uint64_t o = load_be64(raw + 8 * i);

		s->offsets[i] = o;
		if (i == 0 && o < data_start)
			ret = err_set(-EINVAL, img->filename,
				      "block 0 at %#" PRIx64 " overlaps the header and offsets table", o);
		else if (i > 0 && o < s->offsets[i - 1])
			ret = err_set(-EINVAL, img->filename,
				      "offsets not monotonically increasing at index %zu, image file is corrupt",
				      i);
		else if (i > 0 && o - s->offsets[i - 1] > max_compressed(s->block_size))
			ret = err_set(-EINVAL, img->filename,
				      "invalid compressed block size %" PRIu64 " at index %zu (block size %" PRIu32 "), image file is corrupt",
				      o - s->offsets[i - 1], i - 1, s->block_size);
		else if (o > file_size)
			ret = err_set(-EINVAL, img->filename,
				      "block %zu ends at %#" PRIx64 ", beyond the end of the file (%" PRIu64 " bytes)",
				      i ? i - 1 : 0, o, file_size);
	}
	free(raw);
	return ret;
}

static int cloop_open(struct image *img, int flags)
{
	struct cloop_state *s;
	uint8_t hdr[CLOOP_TABLE];
	uint64_t file_size;
	int ret;

	if (flags & IMG_RDWR)
		return err_set(-EROFS, img->filename, "the cloop format is read-only in imgtool");
	ret = backend_size(img->be, &file_size);
	if (ret < 0)
		return ret;
	if (file_size < CLOOP_TABLE)
		return err_set(-EINVAL, img->filename, "file too small for a cloop image (%" PRIu64 " bytes)",
			       file_size);
	ret = backend_pread(img->be, hdr, sizeof(hdr), 0);
	if (ret < 0)
		return ret;
	/* qemu reads any header given -f cloop; other cloop versions lay their
	 * tables out differently, so only V2.0 is read */
	if (memcmp(hdr, CLOOP_VERSION_LINE, strlen(CLOOP_VERSION_LINE)))
		return err_set(-EINVAL, img->filename, "not a cloop V2.0 image (no '#V2.0 Format' header)");
	s = calloc(1, sizeof(*s));
	if (!s)
		return err_set(-ENOMEM, img->filename, "out of memory");
	s->img = img;
	s->block_size = load_be32(hdr + CLOOP_HEADER);
	s->n_blocks = load_be32(hdr + CLOOP_HEADER + 4);
	ret = cloop_check_header(img, s, file_size);
	if (ret == 0)
		ret = cloop_load_offsets(img, s, file_size);
	if (ret == 0 && unit_cache_init(&s->cache, s->block_size) < 0)
		ret = err_set(-ENOMEM, img->filename, "out of memory for a %" PRIu32 "-byte block",
			      s->block_size);
	if (ret < 0) {
		free(s->offsets);
		free(s);
		return ret;
	}
	img->priv = s;
	img->size = (uint64_t)s->n_blocks * s->block_size;
	img->cluster_size = s->block_size;
	return 0;
}

static void cloop_close(struct image *img)
{
	struct cloop_state *s = img->priv;

	if (!s)
		return;
	unit_cache_free(&s->cache);
	free(s->offsets);
	free(s);
	img->priv = NULL;
}

static int cloop_load_block(void *opaque, uint64_t idx, uint8_t *out, size_t len)
{
	struct cloop_state *s = opaque;
	uint64_t off = s->offsets[idx];
	size_t clen = (size_t)(s->offsets[idx + 1] - off);
	uint8_t *in = malloc(clen ? clen : 1);
	int ret;

	if (!in)
		return err_set(-ENOMEM, s->img->filename, "out of memory");
	ret = backend_pread(s->img->be, in, clen, off);
	if (ret == 0 && zlib_inflate_exact(in, clen, out, len) < 0)
		ret = err_set(-EIO, s->img->filename,
			      "block %" PRIu64 " at %#" PRIx64 " does not inflate to %zu bytes",
			      idx, off, len);
	free(in);
	return ret;
}

static int cloop_read(struct image *img, void *buf, uint64_t off, size_t len)
{
	struct cloop_state *s = img->priv;
	uint8_t *p = buf;
	int ret = 0;

	while (len && ret == 0) {
		uint64_t idx = off / s->block_size;
		size_t in = (size_t)(off % s->block_size);
		size_t n = MIN(len, (size_t)s->block_size - in);

		ret = unit_cache_read(&s->cache, idx, s->block_size, cloop_load_block, s, in, p, n);
		p += n;
		off += n;
		len -= n;
	}
	return ret;
}

static int cloop_block_status(struct image *img, uint64_t off, uint64_t len,
			      struct block_status *bs)
{
	bs->length = len;
	bs->flags = BS_DATA | BS_ALLOCATED | BS_COMPRESSED;
	return 0;
}

static const char *const cloop_aliases[] = { NULL };

const struct format_ops cloop_format_ops = {
	.name = "cloop",
	.aliases = cloop_aliases,
	.probe = cloop_probe,
	.open = cloop_open,
	.close = cloop_close,
	.read = cloop_read,
	.block_status = cloop_block_status,
	.info = image_info_generic_only,
};
