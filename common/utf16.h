/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * utf16.h - UTF-16 to and from UTF-8 for names and strings stored in disk images
 * and in the Windows registry.
 */
#ifndef IMGTOOL_UTF16_H
#define IMGTOOL_UTF16_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decode len bytes of UTF-16 (big- or little-endian), stopping at a NUL code
 * unit; surrogate pairs are joined.  Returns a malloc'd UTF-8 string or NULL. */
char *utf16_to_utf8(const uint8_t *p, size_t len, bool big_endian);
/* Encode UTF-8 text as UTF-16LE with a terminating NUL code unit (code points
 * above U+FFFF as surrogate pairs; an invalid byte becomes '?').  Returns a
 * malloc'd buffer of *len bytes, or NULL. */
uint8_t *utf8_to_utf16le(const char *s, size_t *len);

#endif
