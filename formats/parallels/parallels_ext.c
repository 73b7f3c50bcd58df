/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * parallels_ext.c - the format extension cluster of a Parallels image (its
 * offset in the header, in sectors): checked the way qemu 7.2 checks it when it
 * opens an image read-only, so that an image qemu refuses is refused here too
 * in the same words.  Its only known feature, persistent dirty bitmaps, says
 * nothing about the disk's contents; imgtool does not load them.
 *
 * Layout (little-endian): magic u64, MD5 of the rest of the cluster [16], then
 * features of {magic u64, flags u64, data_size u32, reserved u32, data},
 * each 8-byte aligned, up to the end-of-features magic 0.
 */
#include "parallels.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define PRL_EXT_MAGIC          0xab234cef23dcea87ULL
#define PRL_EXT_HEADER_SIZE    24u
#define PRL_FEATURE_END        0ULL
#define PRL_FEATURE_BITMAP     0x20385fae252cb34aULL
#define PRL_FEATURE_HEADER     24u

static bool checksum_ok(const uint8_t *c, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	return EVP_Digest(c + PRL_EXT_HEADER_SIZE, len - PRL_EXT_HEADER_SIZE, md, &mdlen,
			  EVP_md5(), NULL) == 1 &&
	       mdlen == 16 && !memcmp(md, c + 8, 16);
}

/* The feature list after the header; qemu's words for each refusal. */
static int walk_features(const char *fn, const uint8_t *c, size_t len)
{
	size_t pos = PRL_EXT_HEADER_SIZE;
	/* as qemu, only the feature headers count against what remains */
	long remaining = (long)len - PRL_EXT_HEADER_SIZE;

	for (;;) {
		uint64_t magic, flags;
		uint32_t size;

		if (remaining < (long)PRL_FEATURE_HEADER || pos + PRL_FEATURE_HEADER > len)
			return err_set(-EINVAL, fn,
				       "Can not read feature header, as remaining bytes (%ld) in Format Extension is less than Feature header size (%u)",
				       remaining, PRL_FEATURE_HEADER);
		magic = load_le64(c + pos);
		flags = load_le64(c + pos + 8);
		size = load_le32(c + pos + 16);
		pos += PRL_FEATURE_HEADER;
		remaining -= PRL_FEATURE_HEADER;
		if (flags)
			return err_set(-EINVAL, fn, "Flags for extension feature are unsupported");
		if (size > remaining)
			return err_set(-EINVAL, fn,
				       "Feature data_size exceedes Format Extension cluster");
		if (magic == PRL_FEATURE_END)
			return 0;
		if (magic != PRL_FEATURE_BITMAP)
			return err_set(-EINVAL, fn, "Unknown feature: 0x%llx",
				       (unsigned long long)magic);
		pos = (size_t)align_up(pos + size, 8);
	}
}

int parallels_check_ext(struct image *img, struct parallels_state *s, uint64_t ext_off)
{
	size_t len = (size_t)s->tracks * PRL_SECTOR;
	uint64_t off, end;
	uint8_t *c;
	int ret;

	if (ext_off > UINT64_MAX / PRL_SECTOR ||
	    !add_ok(ext_off * PRL_SECTOR, len, &end) || end > s->file_size)
		return err_set(-EINVAL, img->filename,
			       "Format Extension cluster at sector %llu beyond the end of the file",
			       (unsigned long long)ext_off);
	off = ext_off * PRL_SECTOR;
	c = malloc(len);
	if (!c)
		return err_set(-ENOMEM, img->filename, "out of memory");
	ret = backend_pread(img->be, c, len, off);
	if (ret == 0 && load_le64(c) != PRL_EXT_MAGIC)
		ret = err_set(-EINVAL, img->filename,
			      "Wrong parallels Format Extension magic: 0x%llx, expected: 0x%llx",
			      (unsigned long long)load_le64(c), PRL_EXT_MAGIC);
	if (ret == 0 && !checksum_ok(c, len))
		ret = err_set(-EINVAL, img->filename,
			      "Wrong checksum in Format Extension header. Format extension is corrupted.");
	if (ret == 0)
		ret = walk_features(img->filename, c, len);
	free(c);
	return ret;
}
