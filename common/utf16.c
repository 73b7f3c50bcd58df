/*
 * utf16.c - UTF-16 names found in disk images (VHD parent names and locators,
 * VHDX metadata) turned into the UTF-8 the rest of imgtool uses.
 */
#include "utf16.h"
#include "bswap.h"

#include <stdint.h>
#include <stdlib.h>

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
