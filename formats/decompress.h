/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * decompress.h - whole-unit decompression for the read-only formats (cloop
 * blocks, dmg chunks): one compressed unit in, exactly out_len bytes out.
 *
 * A unit that ends early, runs past out_len (a decompression bomb: the output
 * buffer is the cap) or is not a valid stream is -EIO; the caller names the file
 * and the unit in its message.  Stateless and thread-safe.
 */
#ifndef IMGTOOL_DECOMPRESS_H
#define IMGTOOL_DECOMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A zlib (RFC 1950) stream of at most out_cap bytes; *out_len is what came out.
 * -EIO when the stream does not end within out_cap or is not valid. */
int zlib_inflate(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
		 size_t *out_len);
/* The same, ending at exactly out_len bytes. */
int zlib_inflate_exact(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len);

/* A bzip2 stream; -ENOTSUP when imgtool was built without libbz2. */
int bz2_decompress_exact(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len);
bool bz2_available(void);

#endif
