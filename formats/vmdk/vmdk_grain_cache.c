/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmdk_grain_cache.c - the last few inflated grains of an image, for reads.
 *
 * A compressed grain can only be inflated whole.  A reader that takes it in small
 * pieces (a guest's 4 KiB reads through NBD, a partial first/last grain of a copy
 * request) would otherwise inflate the same grain once per piece.  The cache is
 * per image, not per extent, so that its memory stays bounded (CACHE_SLOTS grains
 * of at most VMDK_MAX_GRAIN_SECTORS) however many extents a descriptor lists.
 * Reads of a whole grain go straight to the caller's buffer: a sequential copy
 * never touches the cache.
 *
 * Inflating happens outside the lock, so copy-engine threads inflate in parallel;
 * two threads missing the same grain both inflate it, which is harmless.
 */
#include "vmdk.h"
#include "../../common/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS 4

struct slot {
	const struct vmdk_extent *e;  /* NULL: empty */
	uint64_t host;                /* where the grain's marker/data starts */
	uint64_t used;                /* LRU stamp */
	uint8_t *data;                /* one inflated grain (e->grain bytes) */
};

struct vmdk_grain_cache {
	pthread_mutex_t lock;
	struct slot slot[CACHE_SLOTS];
	uint64_t clock;
	uint64_t inflates;
};

static struct vmdk_grain_cache *cache_get(struct vmdk *s)
{
	struct vmdk_grain_cache *c;

	pthread_mutex_lock(&s->lock);
	c = s->gcache;
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (c) {
			pthread_mutex_init(&c->lock, NULL);
			s->gcache = c;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return c;
}

/* Copy [in, in+len) of a cached grain to buf; false when it is not cached. */
static bool cache_hit(struct vmdk_grain_cache *c, const struct vmdk_extent *e, uint64_t host,
		      uint8_t *buf, uint64_t in, uint64_t len)
{
	bool hit = false;

	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < CACHE_SLOTS; i++) {
		if (c->slot[i].e == e && c->slot[i].host == host) {
			memcpy(buf, c->slot[i].data + in, (size_t)len);
			c->slot[i].used = ++c->clock;
			hit = true;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

/* Keep grain (ownership passes to the cache) in the least recently used slot. */
static void cache_insert(struct vmdk_grain_cache *c, const struct vmdk_extent *e,
			 uint64_t host, uint8_t *grain)
{
	struct slot *victim = &c->slot[0];

	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < CACHE_SLOTS; i++) {
		if (c->slot[i].e == e && c->slot[i].host == host) {
			victim = &c->slot[i];   /* another thread inflated it meanwhile */
			break;
		}
		if (c->slot[i].used < victim->used)
			victim = &c->slot[i];
	}
	free(victim->data);
	victim->e = e;
	victim->host = host;
	victim->data = grain;
	victim->used = ++c->clock;
	pthread_mutex_unlock(&c->lock);
}

static void count_inflate(struct vmdk *s)
{
	struct vmdk_grain_cache *c = cache_get(s);

	if (c)
		__atomic_add_fetch(&c->inflates, 1, __ATOMIC_RELAXED);
}

int vmdk_grain_cache_read(struct vmdk *s, struct vmdk_extent *e, uint64_t host,
			  uint64_t grain_idx, uint8_t *buf, uint64_t in, uint64_t len)
{
	struct vmdk_grain_cache *c;
	uint8_t *grain;
	int ret;

	if (in == 0 && len == e->grain) {
		count_inflate(s);
		return vmdk_read_compressed_grain(e, host, grain_idx, buf);
	}
	c = cache_get(s);
	if (!c)
		return err_set(-ENOMEM, e->path, "out of memory");
	if (cache_hit(c, e, host, buf, in, len))
		return 0;
	grain = malloc((size_t)e->grain);
	if (!grain)
		return err_set(-ENOMEM, e->path, "out of memory");
	__atomic_add_fetch(&c->inflates, 1, __ATOMIC_RELAXED);
	ret = vmdk_read_compressed_grain(e, host, grain_idx, grain);
	if (ret < 0) {
		free(grain);
		return ret;
	}
	memcpy(buf, grain + in, (size_t)len);
	cache_insert(c, e, host, grain);
	return 0;
}

uint64_t vmdk_grain_cache_inflates(struct vmdk *s)
{
	return s->gcache ? __atomic_load_n(&s->gcache->inflates, __ATOMIC_RELAXED) : 0;
}

void vmdk_grain_cache_free(struct vmdk *s)
{
	struct vmdk_grain_cache *c = s->gcache;

	if (!c)
		return;
	for (int i = 0; i < CACHE_SLOTS; i++)
		free(c->slot[i].data);
	pthread_mutex_destroy(&c->lock);
	free(c);
	s->gcache = NULL;
}
