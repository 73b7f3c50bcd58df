/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * strbuf.h - a growable, always NUL-terminated string: the text that sysprep, v2v
 * and the vmdk descriptor writer build piece by piece.
 *
 * A failed allocation is sticky (oom): a writer may append many pieces and check
 * once at the end, or check each return.
 */
#ifndef IMGTOOL_STRBUF_H
#define IMGTOOL_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *s;        /* NULL until the first append */
	size_t len, cap;
	bool oom;
};

/* Append n bytes of s: 0, or -ENOMEM (and oom set). */
int strbuf_add(struct strbuf *b, const char *s, size_t n);
int strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The string, or "" when nothing was appended (never NULL). */
const char *strbuf_str(const struct strbuf *b);
/* Hand the malloc'd string to the caller (NULL after oom or when empty). */
char *strbuf_take(struct strbuf *b);
void strbuf_free(struct strbuf *b);

#endif
