/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * escape.c - control characters of untrusted names as C escapes (see escape.h).
 */
#include "escape.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *short_escape(unsigned char c)
{
	switch (c) {
	case '\n': return "\\n";
	case '\r': return "\\r";
	case '\t': return "\\t";
	default: return NULL;
	}
}

const char *str_escape_ctrl(const char *s, char *out, size_t size)
{
	size_t o = 0;

	if (!size)
		return out;
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		const char *esc = short_escape(c);
		char hex[5];
		size_t n;

		if (!esc && (c < 0x20 || c == 0x7f)) {
			snprintf(hex, sizeof(hex), "\\x%02x", c);
			esc = hex;
		}
		n = esc ? strlen(esc) : 1;
		if (o + n >= size)
			break;
		if (esc)
			memcpy(out + o, esc, n);
		else
			out[o] = (char)c;
		o += n;
	}
	out[o] = '\0';
	return out;
}

char *str_escape_ctrl_dup(const char *s)
{
	size_t size = ESCAPED_SIZE(strlen(s));
	char *out = malloc(size);

	return out ? (char *)str_escape_ctrl(s, out, size) : NULL;
}
