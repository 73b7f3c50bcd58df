/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * unit_cache.c - whole units straight to the reader, parts through one cached
 * unit (unit_cache.h).
 */
#include "unit_cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int unit_cache_init(struct unit_cache *c, size_t cap)
{
	memset(c, 0, sizeof(*c));
	c->buf = malloc(cap ? cap : 1);
	if (!c->buf)
		return -ENOMEM;
	c->cap = cap;
	pthread_mutex_init(&c->lock, NULL);
	return 0;
}

void unit_cache_free(struct unit_cache *c)
{
	if (!c->buf)
		return;
	free(c->buf);
	c->buf = NULL;
	pthread_mutex_destroy(&c->lock);
}

int unit_cache_read(struct unit_cache *c, uint64_t idx, size_t unit_len, unit_load_fn load,
		    void *opaque, size_t in_off, void *dst, size_t n)
{
	int ret = 0;

	if (in_off == 0 && n == unit_len)
		return load(opaque, idx, dst, unit_len);
	if (unit_len > c->cap)
		return -EIO;   /* the format sized the cache from its largest unit */
	pthread_mutex_lock(&c->lock);
	if (!c->valid || c->idx != idx) {
		c->valid = false;
		ret = load(opaque, idx, c->buf, unit_len);
		if (ret == 0) {
			c->idx = idx;
			c->len = unit_len;
			c->valid = true;
		}
	}
	if (ret == 0)
		memcpy(dst, c->buf + in_off, n);
	pthread_mutex_unlock(&c->lock);
	return ret;
}
