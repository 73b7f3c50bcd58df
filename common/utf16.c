/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * utf16.c - UTF-16 names found in disk images (VHD parent names and locators,
 * VHDX metadata) and in Windows registry values turned into the UTF-8 the rest of
 * imgtool uses, and UTF-8 encoded back for the registry values v2v writes.
 */
#include "utf16.h"
#include "bswap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

char *utf16_to_utf8(const uint8_t *p, size_t len, bool big_endian)
{
	char *out = malloc(len / 2 * 3 + 1);
	size_t o = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i + 1 < len; i += 2) {
		uint32_t c = big_endian ? load_be16(p + i) : load_le16(p + i);

		if (c == 0)
			break;
		if (c >= 0xd800 && c < 0xdc00 && i + 3 < len) {
			uint32_t lo = big_endian ? load_be16(p + i + 2) : load_le16(p + i + 2);

			if (lo >= 0xdc00 && lo < 0xe000) {
				c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
				i += 2;
			}
		}
		if (c < 0x80) {
			out[o++] = (char)c;
		} else if (c < 0x800) {
			out[o++] = (char)(0xc0 | (c >> 6));
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else if (c < 0x10000) {
			out[o++] = (char)(0xe0 | (c >> 12));
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else {
			/* 4 bytes from 2 code units: still within len/2*3 overall */
			out[o++] = (char)(0xf0 | (c >> 18));
			out[o++] = (char)(0x80 | ((c >> 12) & 0x3f));
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (c & 0x3f));
		}
	}
	out[o] = 0;
	return out;
}

/* The next code point of UTF-8 text; an invalid or truncated sequence is '?'. */
static uint32_t utf8_next(const unsigned char **p)
{
	const unsigned char *s = *p;
	uint32_t c = *s++;
	int more = c >= 0xf0 && c < 0xf8 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;

	if (c >= 0x80 && !more) {
		*p = s;
		return '?';
	}
	c &= more == 3 ? 0x07 : more == 2 ? 0x0f : more == 1 ? 0x1f : 0x7f;
	for (int i = 0; i < more; i++, s++) {
		if ((*s & 0xc0) != 0x80) {
			*p = s;
			return '?';
		}
		c = (c << 6) | (*s & 0x3f);
	}
	*p = s;
	return c > 0x10ffff || (c >= 0xd800 && c < 0xe000) ? '?' : c;
}

uint8_t *utf8_to_utf16le(const char *s, size_t *len)
{
	const unsigned char *p = (const unsigned char *)s;
	/* each byte gives at most one code unit; a 4-byte sequence gives two */
	uint8_t *out = malloc(2 * strlen(s) + 2);
	size_t o = 0;

	if (!out)
		return NULL;
	while (*p) {
		uint32_t c = utf8_next(&p);

		if (c >= 0x10000) {
			c -= 0x10000;
			store_le16(out + o, (uint16_t)(0xd800 + (c >> 10)));
			o += 2;
			c = 0xdc00 + (c & 0x3ff);
		}
		store_le16(out + o, (uint16_t)c);
		o += 2;
	}
	store_le16(out + o, 0);
	*len = o + 2;
	return out;
}
