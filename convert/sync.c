/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sync.c - the sync engine (see sync.h).
 *
 * A dispatcher under a mutex hands out chunks of SYNC_MAX_BLOCK bytes in order;
 * with a digest stream it also reads the chunk's records, so the stream is
 * consumed sequentially while the I/O runs in parallel.  Each worker decides every
 * block of its chunk (nothing, zero it, or write the source's bytes), then writes
 * runs of equal decisions with one call each.  Memory is bounded: two chunk
 * buffers per worker.
 */
#include "convert/sync.h"
#include "convert/sync_blocks.h"
#include "convert/copy.h"
#include "common/err.h"
#include "common/util.h"

#include <errno.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BLOCKS (SYNC_MAX_BLOCK / SYNC_MIN_BLOCK)

enum action { ACT_NONE, ACT_WRITE, ACT_ZERO };

struct sync_state {
	const struct sync_params *p;
	uint32_t bs;
	struct sync_stats dummy;   /* counts when the caller gave no stats */
	struct sync_stats *st;
	pthread_mutex_t lock;      /* guards pos, the reader and the error */
	uint64_t pos;
	int error;
	char errmsg[ERR_MSG_MAX];
};

/* What a worker holds for one chunk. */
struct work {
	struct sync_chunk c;
	bool src_zero[MAX_BLOCKS], dst_zero[MAX_BLOCKS], want[MAX_BLOCKS];
	uint8_t digest[MAX_BLOCKS][SYNC_DIGEST_LEN];   /* with a stream: the source's */
	enum action act[MAX_BLOCKS];
	uint8_t *sbuf, *dbuf;
};

static void fail(struct sync_state *s, int ret)
{
	pthread_mutex_lock(&s->lock);
	if (!s->error) {
		s->error = ret;
		snprintf(s->errmsg, sizeof(s->errmsg), "%s", err_get());
	}
	pthread_mutex_unlock(&s->lock);
}

/* The next chunk (and its stream records); false when none is left. */
static bool next_chunk(struct sync_state *s, struct work *w)
{
	uint64_t size = s->p->src->size;
	bool got = false;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if (!s->error && s->pos < size) {
		w->c.off = s->pos;
		w->c.len = MIN((uint64_t)SYNC_MAX_BLOCK, size - s->pos);
		w->c.bs = s->bs;
		w->c.n = (unsigned)div_round_up(w->c.len, s->bs);
		s->pos += w->c.len;
		for (unsigned i = 0; s->p->digests && !ret && i < w->c.n; i++)
			ret = digest_reader_next(s->p->digests, &w->src_zero[i], w->digest[i]);
		if (ret && !s->error) {
			s->error = ret;
			snprintf(s->errmsg, sizeof(s->errmsg), "%s", err_get());
		}
		got = !ret;
	}
	pthread_mutex_unlock(&s->lock);
	return got;
}

/* Both images here: read the source's data blocks (a block of zero bytes counts
 * as a zero block) and compare them with the target's. */
static int decide_local(struct sync_state *s, struct work *w)
{
	const struct sync_params *p = s->p;
	int ret = sync_zero_map(p->src, &w->c, w->src_zero);

	for (unsigned i = 0; !ret && i < w->c.n; i++)
		w->want[i] = !w->src_zero[i];
	if (!ret)
		ret = sync_read_blocks(p->src, &w->c, w->want, w->sbuf, &s->st->src_read,
				       p->ratelimit);
	for (unsigned i = 0; !ret && i < w->c.n; i++) {
		if (!w->src_zero[i])
			w->src_zero[i] = buffer_is_zero(w->sbuf + (size_t)i * w->c.bs,
							(size_t)sync_block_len(&w->c, i));
		w->want[i] = !w->src_zero[i] && !w->dst_zero[i];
	}
	if (!ret)
		ret = sync_read_blocks(p->dst, &w->c, w->want, w->dbuf, &s->st->dst_read, NULL);
	for (unsigned i = 0; !ret && i < w->c.n; i++) {
		size_t at = (size_t)i * w->c.bs;

		if (w->src_zero[i])
			w->act[i] = w->dst_zero[i] ? ACT_NONE : ACT_ZERO;
		else if (w->dst_zero[i] || memcmp(w->sbuf + at, w->dbuf + at,
						  (size_t)sync_block_len(&w->c, i)))
			w->act[i] = ACT_WRITE;
		else
			w->act[i] = ACT_NONE;
	}
	return ret;
}

/* With a stream: hash the target's blocks, compare with the source's digests,
 * then read the source only where they differ. */
static int decide_by_digest(struct sync_state *s, struct work *w)
{
	const struct sync_params *p = s->p;
	int ret;

	for (unsigned i = 0; i < w->c.n; i++)
		w->want[i] = !w->src_zero[i] && !w->dst_zero[i];
	ret = sync_read_blocks(p->dst, &w->c, w->want, w->dbuf, &s->st->dst_read, NULL);
	for (unsigned i = 0; !ret && i < w->c.n; i++) {
		uint8_t h[SYNC_DIGEST_LEN];

		if (w->src_zero[i]) {
			w->act[i] = w->dst_zero[i] ? ACT_NONE : ACT_ZERO;
		} else if (w->dst_zero[i]) {
			w->act[i] = ACT_WRITE;
		} else {
			SHA256(w->dbuf + (size_t)i * w->c.bs, (size_t)sync_block_len(&w->c, i), h);
			w->act[i] = memcmp(h, w->digest[i], sizeof(h)) ? ACT_WRITE : ACT_NONE;
		}
		w->want[i] = w->act[i] == ACT_WRITE;
	}
	if (!ret)
		ret = sync_read_blocks(p->src, &w->c, w->want, w->sbuf, &s->st->src_read,
				       p->ratelimit);
	return ret;
}

/* Write runs of equal decisions, one call each. */
static int apply(struct sync_state *s, struct work *w)
{
	struct image *dst = s->p->dst;
	unsigned i = 0;

	while (i < w->c.n) {
		enum action a = w->act[i];
		uint64_t start = (uint64_t)i * w->c.bs, len = 0;
		unsigned j;
		int ret = 0;

		for (j = i; j < w->c.n && w->act[j] == a; j++)
			len += sync_block_len(&w->c, j);
		if (a == ACT_WRITE) {
			ret = image_write(dst, w->sbuf + start, w->c.off + start, (size_t)len);
			s->st->written += len;
			s->st->blocks_written += j - i;
		} else if (a == ACT_ZERO) {
			ret = image_write_zeroes(dst, w->c.off + start, len, IMG_ZERO_MAY_UNMAP);
			s->st->zeroed += len;
		}
		if (ret < 0)
			return err_set_default(ret, dst->filename, "write failed at 0x%llx",
					       (unsigned long long)(w->c.off + start));
		i = j;
	}
	return 0;
}

static void *sync_worker(void *opaque)
{
	struct sync_state *s = opaque;
	struct work *w = calloc(1, sizeof(*w));
	int ret = 0;

	if (w) {
		w->sbuf = backend_buf_alloc(SYNC_MAX_BLOCK);
		w->dbuf = backend_buf_alloc(SYNC_MAX_BLOCK);
	}
	if (!w || !w->sbuf || !w->dbuf)
		ret = err_set(-ENOMEM, NULL, "out of memory for sync buffers");
	while (!ret && next_chunk(s, w)) {
		ret = sync_zero_map(s->p->dst, &w->c, w->dst_zero);
		if (!ret)
			ret = s->p->digests ? decide_by_digest(s, w) : decide_local(s, w);
		if (!ret)
			ret = apply(s, w);
		if (!ret) {
			s->st->compared += w->c.len;
			progress_add(s->p->progress, w->c.len);
		}
	}
	if (ret)
		fail(s, ret);
	if (w) {
		free(w->sbuf);
		free(w->dbuf);
	}
	free(w);
	return NULL;
}

static int check_params(const struct sync_params *p, uint32_t bs)
{
	if (!sync_block_size_ok(bs))
		return err_set(-EINVAL, NULL, "block size %u is not a power of two from %u to %u",
			       bs, SYNC_MIN_BLOCK, SYNC_MAX_BLOCK);
	if (p->dst->whole_clusters)
		return err_set(-ENOTSUP, p->dst->filename, "is written once, in order (%s): sync "
			       "cannot rewrite blocks in it; sync into raw or qcow2",
			       p->dst->ops->name);
	if (p->src->size != p->dst->size)
		return err_set(-EINVAL, p->dst->filename, "is %llu bytes and %s is %llu: sync needs "
			       "equal sizes (resize the target first)",
			       (unsigned long long)p->dst->size, p->src->filename,
			       (unsigned long long)p->src->size);
	if (p->digests && digest_reader_size(p->digests) != p->src->size)
		return err_set(-EINVAL, digest_reader_name(p->digests), "the digest stream "
			       "describes a %llu-byte disk but %s is %llu bytes", (unsigned long long)digest_reader_size(p->digests),
			       p->src->filename, (unsigned long long)p->src->size);
	return 0;
}

int sync_run(const struct sync_params *p)
{
	struct sync_state s = { .p = p };
	int ret;

	s.bs = p->digests ? digest_reader_block_size(p->digests)
			  : p->block_size ? p->block_size : SYNC_DEFAULT_BLOCK;
	s.st = p->stats ? p->stats : &s.dummy;
	ret = check_params(p, s.bs);
	if (ret)
		return ret;
	pthread_mutex_init(&s.lock, NULL);
	copy_run_workers(p->workers, p->src->size, sync_worker, &s);
	pthread_mutex_destroy(&s.lock);
	if (s.error) {
		err_copy(s.errmsg);
		return s.error;
	}
	if (p->digests) {
		ret = digest_reader_finish(p->digests);
		if (ret)
			return ret;
	}
	return image_flush(p->dst);
}
