/*
 * utf16.h - UTF-16 to UTF-8 for names stored in disk images.
 */
#ifndef IMGTOOL_UTF16_H
#define IMGTOOL_UTF16_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decode len bytes of UTF-16 (big- or little-endian), stopping at a NUL code
 * unit; surrogate pairs are joined.  Returns a malloc'd UTF-8 string or NULL. */
char *utf16_to_utf8(const uint8_t *p, size_t len, bool big_endian);

#endif
