/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2_cache.c - the metadata table cache (L2 tables, refcount blocks).
 *
 * Each entry holds one cluster-sized table in on-disk (big-endian) byte order,
 * found by host offset through a hash table and evicted least-recently-used.
 * Entries handed out by get() are reference counted and never evicted while in
 * use, so a get() that has to read from disk cannot pull a table from under a
 * caller that still holds one.  Dirty tables are written back on eviction and on
 * flush; before any dirty table is written, the dependency cache (the refcount
 * cache for the L2 cache) is flushed and synced, which is what keeps "refcount on
 * disk before the reference" true across a crash.
 *
 * Every call runs with s->lock held; the cache has no lock of its own.
 */
#include "qcow2.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define NIL (-1)

struct cache_entry {
	uint64_t offset;      /* host offset of the table; 0 = slot empty */
	int ref;              /* callers holding the table */
	bool dirty;
	int hnext;            /* hash chain */
	int prev, next;       /* LRU list: head = most recently used */
};

struct qcow2_cache {
	struct qcow2_state *s;
	struct qcow2_cache *dep;
	struct cache_entry *e;
	uint8_t *mem;          /* n tables of cluster_size bytes */
	int n;
	int *bucket;
	unsigned nbuckets;     /* power of two */
	int head, tail;
	int ndirty;
};

static uint8_t *entry_table(struct qcow2_cache *c, int i)
{
	return c->mem + (size_t)i * (size_t)c->s->cluster_size;
}

static unsigned hash_of(const struct qcow2_cache *c, uint64_t offset)
{
	uint64_t k = (offset >> c->s->cluster_bits) * 0x9e3779b97f4a7c15ULL;

	return (unsigned)(k >> 32) & (c->nbuckets - 1);
}

static void lru_unlink(struct qcow2_cache *c, int i)
{
	struct cache_entry *e = &c->e[i];

	if (e->prev != NIL)
		c->e[e->prev].next = e->next;
	else
		c->head = e->next;
	if (e->next != NIL)
		c->e[e->next].prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NIL;
}

static void lru_push_head(struct qcow2_cache *c, int i)
{
	struct cache_entry *e = &c->e[i];

	e->prev = NIL;
	e->next = c->head;
	if (c->head != NIL)
		c->e[c->head].prev = i;
	c->head = i;
	if (c->tail == NIL)
		c->tail = i;
}

static void lru_push_tail(struct qcow2_cache *c, int i)
{
	struct cache_entry *e = &c->e[i];

	e->next = NIL;
	e->prev = c->tail;
	if (c->tail != NIL)
		c->e[c->tail].next = i;
	c->tail = i;
	if (c->head == NIL)
		c->head = i;
}

static int hash_find(const struct qcow2_cache *c, uint64_t offset)
{
	for (int i = c->bucket[hash_of(c, offset)]; i != NIL; i = c->e[i].hnext)
		if (c->e[i].offset == offset)
			return i;
	return NIL;
}

static void hash_insert(struct qcow2_cache *c, int i)
{
	unsigned h = hash_of(c, c->e[i].offset);

	c->e[i].hnext = c->bucket[h];
	c->bucket[h] = i;
}

static void hash_remove(struct qcow2_cache *c, int i)
{
	int *p = &c->bucket[hash_of(c, c->e[i].offset)];

	while (*p != NIL && *p != i)
		p = &c->e[*p].hnext;
	if (*p == i)
		*p = c->e[i].hnext;
	c->e[i].hnext = NIL;
}

struct qcow2_cache *qcow2_cache_create(struct qcow2_state *s, int entries)
{
	struct qcow2_cache *c;
	void *mem = NULL;

	if (entries < 1)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->s = s;
	c->n = entries;
	c->nbuckets = 1;
	while (c->nbuckets < (unsigned)entries * 2)
		c->nbuckets <<= 1;
	c->e = calloc((size_t)entries, sizeof(*c->e));
	c->bucket = malloc(c->nbuckets * sizeof(*c->bucket));
	if (posix_memalign(&mem, 4096, (size_t)entries * (size_t)s->cluster_size))
		mem = NULL;
	c->mem = mem;
	if (!c->e || !c->bucket || !c->mem) {
		qcow2_cache_destroy(c);
		return NULL;
	}
	for (unsigned i = 0; i < c->nbuckets; i++)
		c->bucket[i] = NIL;
	c->head = c->tail = NIL;
	for (int i = 0; i < entries; i++) {
		c->e[i].hnext = NIL;
		c->e[i].prev = c->e[i].next = NIL;
		lru_push_tail(c, i);
	}
	return c;
}

void qcow2_cache_destroy(struct qcow2_cache *c)
{
	if (!c)
		return;
	free(c->e);
	free(c->bucket);
	free(c->mem);
	free(c);
}

void qcow2_cache_set_dependency(struct qcow2_cache *c, struct qcow2_cache *dep)
{
	c->dep = dep;
}

static int entry_index(struct qcow2_cache *c, const void *table)
{
	size_t d = (size_t)((const uint8_t *)table - c->mem);

	return (int)(d / (size_t)c->s->cluster_size);
}

/* Write one dirty entry, after making the dependency durable. */
static int write_entry(struct qcow2_cache *c, int i)
{
	struct qcow2_state *s = c->s;
	struct cache_entry *e = &c->e[i];
	int ret;

	if (!e->dirty)
		return 0;
	if (c->dep && c->dep->ndirty) {
		ret = qcow2_cache_flush(c->dep);
		if (ret < 0)
			return ret;
	}
	if (e->offset == 0 || !is_aligned(e->offset, s->cluster_size))
		return err_set(-EIO, s->img->filename,
			       "internal error: metadata table at invalid offset %#" PRIx64,
			       e->offset);
	ret = backend_pwrite(s->img->be, entry_table(c, i), (size_t)s->cluster_size, e->offset);
	if (ret < 0)
		return ret;
	e->dirty = false;
	c->ndirty--;
	return 0;
}

/* Drop entry i from the cache (it must be clean or its contents unwanted). */
static void entry_forget(struct qcow2_cache *c, int i)
{
	struct cache_entry *e = &c->e[i];

	if (e->offset)
		hash_remove(c, i);
	if (e->dirty)
		c->ndirty--;
	e->offset = 0;
	e->dirty = false;
	lru_unlink(c, i);
	lru_push_tail(c, i);
}

/* A slot for a new table: the least recently used one nobody holds. */
static int find_victim(struct qcow2_cache *c, int *out)
{
	int ret;

	for (int i = c->tail; i != NIL; i = c->e[i].prev) {
		if (c->e[i].ref)
			continue;
		if (c->e[i].dirty) {
			ret = write_entry(c, i);
			if (ret < 0)
				return ret;
		}
		if (c->e[i].offset)
			hash_remove(c, i);
		c->e[i].offset = 0;
		*out = i;
		return 0;
	}
	return err_set(-EBUSY, c->s->img->filename,
		       "internal error: every metadata cache entry is in use");
}

static int cache_do_get(struct qcow2_cache *c, uint64_t offset, void **table, bool read)
{
	struct qcow2_state *s = c->s;
	int i, ret;

	if (offset == 0 || !is_aligned(offset, s->cluster_size))
		return err_set(-EIO, s->img->filename,
			       "metadata table offset %#" PRIx64 " invalid", offset);
	i = hash_find(c, offset);
	if (i != NIL) {
		if (!read)
			memset(entry_table(c, i), 0, (size_t)s->cluster_size);
		goto found;
	}
	ret = find_victim(c, &i);
	if (ret < 0)
		return ret;
	if (read) {
		ret = backend_pread(s->img->be, entry_table(c, i), (size_t)s->cluster_size,
				    offset);
		if (ret < 0) {
			lru_unlink(c, i);
			lru_push_tail(c, i);
			return ret;
		}
	} else {
		memset(entry_table(c, i), 0, (size_t)s->cluster_size);
	}
	c->e[i].offset = offset;
	hash_insert(c, i);
found:
	c->e[i].ref++;
	lru_unlink(c, i);
	lru_push_head(c, i);
	*table = entry_table(c, i);
	return 0;
}

int qcow2_cache_get(struct qcow2_cache *c, uint64_t offset, void **table)
{
	return cache_do_get(c, offset, table, true);
}

int qcow2_cache_get_empty(struct qcow2_cache *c, uint64_t offset, void **table)
{
	return cache_do_get(c, offset, table, false);
}

void qcow2_cache_put(struct qcow2_cache *c, void **table)
{
	int i;

	if (!*table)
		return;
	i = entry_index(c, *table);
	if (i >= 0 && i < c->n && c->e[i].ref > 0)
		c->e[i].ref--;
	*table = NULL;
}

void qcow2_cache_mark_dirty(struct qcow2_cache *c, void *table)
{
	int i = entry_index(c, table);

	if (i < 0 || i >= c->n || !c->e[i].offset || c->e[i].dirty)
		return;
	c->e[i].dirty = true;
	c->ndirty++;
}

static int cmp_offset(const void *a, const void *b, void *arg)
{
	const struct qcow2_cache *c = arg;
	uint64_t x = c->e[*(const int *)a].offset, y = c->e[*(const int *)b].offset;

	return x < y ? -1 : x > y;
}

int qcow2_cache_flush(struct qcow2_cache *c)
{
	int *order, n = 0, ret = 0;

	if (!c || !c->ndirty)
		return 0;
	order = malloc((size_t)c->n * sizeof(*order));
	if (!order)
		return err_set(-ENOMEM, c->s->img->filename, "out of memory");
	for (int i = 0; i < c->n; i++)
		if (c->e[i].dirty)
			order[n++] = i;
	/* ascending offsets: the writes go out as one sweep over the file */
	qsort_r(order, (size_t)n, sizeof(*order), cmp_offset, c);
	for (int k = 0; k < n && ret == 0; k++)
		ret = write_entry(c, order[k]);
	free(order);
	if (ret == 0)
		ret = backend_flush(c->s->img->be);
	return ret;
}

void qcow2_cache_discard(struct qcow2_cache *c, uint64_t offset)
{
	int i;

	if (!c || !offset)
		return;
	i = hash_find(c, offset);
	if (i == NIL)
		return;
	if (c->e[i].ref) {
		/* still held: keep the memory valid but make it unfindable */
		hash_remove(c, i);
		if (c->e[i].dirty)
			c->ndirty--;
		c->e[i].dirty = false;
		c->e[i].offset = 0;
		return;
	}
	entry_forget(c, i);
}

int qcow2_cache_empty(struct qcow2_cache *c)
{
	if (!c)
		return 0;
	for (int i = 0; i < c->n; i++)
		if (c->e[i].offset && !c->e[i].ref && !c->e[i].dirty)
			entry_forget(c, i);
	return 0;
}
