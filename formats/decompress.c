/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * decompress.c - zlib and bzip2 units of a known size (decompress.h).
 *
 * The output buffer's size is the contract: both libraries stop when it is
 * full, and a stream that has not ended by then is refused rather than
 * followed, so a hostile unit can never make us allocate or write more.
 */
#include "decompress.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <zlib.h>
#ifdef HAVE_BZIP2
#include <bzlib.h>
#endif

int zlib_inflate(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
		 size_t *out_len)
{
	z_stream z;
	int ret;

	*out_len = 0;
	if (in_len > UINT_MAX || out_cap > UINT_MAX)
		return -EIO;
	memset(&z, 0, sizeof(z));
	if (inflateInit(&z) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)in_len;
	z.next_out = out;
	z.avail_out = (uInt)out_cap;
	ret = inflate(&z, Z_FINISH);
	*out_len = out_cap - z.avail_out;
	inflateEnd(&z);
	return ret == Z_STREAM_END ? 0 : -EIO;
}

int zlib_inflate_exact(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
	size_t got;
	int ret = zlib_inflate(in, in_len, out, out_len, &got);

	return ret == 0 && got != out_len ? -EIO : ret;
}

#ifdef HAVE_BZIP2
bool bz2_available(void)
{
	return true;
}

int bz2_decompress_exact(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
	bz_stream bz;
	int ret;

	if (in_len > UINT_MAX || out_len > UINT_MAX)
		return -EIO;
	memset(&bz, 0, sizeof(bz));
	if (BZ2_bzDecompressInit(&bz, 0, 0) != BZ_OK)
		return -ENOMEM;
	bz.next_in = (char *)in;
	bz.avail_in = (unsigned)in_len;
	bz.next_out = (char *)out;
	bz.avail_out = (unsigned)out_len;
	ret = BZ2_bzDecompress(&bz);
	BZ2_bzDecompressEnd(&bz);
	return ret == BZ_STREAM_END && bz.avail_out == 0 ? 0 : -EIO;
}
#else
bool bz2_available(void)
{
	return false;
}

int bz2_decompress_exact(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
	return -ENOTSUP;
}
#endif
