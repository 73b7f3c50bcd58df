/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * strbuf.c - the growable string of strbuf.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

/* Make room for n more bytes plus the NUL. */
static int grow(struct strbuf *b, size_t n)
{
	if (b->oom)
		return -ENOMEM;
	if (b->len + n + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap * 2 : 256;
	if (cap < b->len + n + 1)
		cap = b->len + n + 1;
	char *s = realloc(b->s, cap);
	if (!s) {
		b->oom = true;
		return -ENOMEM;
	}
	b->s = s;
	b->cap = cap;
	return 0;
}

int strbuf_add(struct strbuf *b, const char *s, size_t n)
{
	if (grow(b, n))
		return -ENOMEM;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

int strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0 || grow(b, (size_t)n)) {
		b->oom = true;
		return -ENOMEM;
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

const char *strbuf_str(const struct strbuf *b)
{
	return b->s ? b->s : "";
}

char *strbuf_take(struct strbuf *b)
{
	char *s = b->oom ? NULL : b->s;

	if (b->oom)
		free(b->s);
	memset(b, 0, sizeof(*b));
	return s;
}

void strbuf_free(struct strbuf *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}
