/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * escape.h - printing names that come from inside an image (backing files,
 * extents, parent locators, snapshot tags, guest names from a .vmx or an OVF).
 *
 * Such a name is chosen by whoever made the image: a newline in it could forge a
 * second output line (a fake "No errors were found" for a script), an escape
 * sequence could rewrite the terminal.  Control characters are therefore printed as
 * C escapes: \n, \r, \t, and \xNN for the others (ESC is \x1b, DEL \x7f).
 * Backslashes stay as they are: Windows paths in VHD parent locators are full of
 * them.  Bytes >= 0x80 (UTF-8) are printed unchanged.
 */
#ifndef IMGTOOL_ESCAPE_H
#define IMGTOOL_ESCAPE_H

#include <stddef.h>

/* Size of an output buffer that holds any escaped string of n bytes. */
#define ESCAPED_SIZE(n) (4 * (n) + 1)

/* Write s escaped into out (size bytes, always NUL-terminated; a name too long is
 * cut short) and return out, for use as a printf argument. */
const char *str_escape_ctrl(const char *s, char *out, size_t size);
/* The same, whole, in a malloc'd string (NULL when out of memory). */
char *str_escape_ctrl_dup(const char *s);

#endif
