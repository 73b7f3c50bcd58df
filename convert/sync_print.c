/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sync_print.c - `imgtool sync --print-digests`: the source side of a sync whose
 * target is elsewhere (sync.h, the stream in sync_digests.h).
 *
 * Workers take chunks in order and fill the chunk's slot in a ring of WINDOW
 * slots (zero flags and digests); the worker that completes the lowest pending
 * chunk writes it and every ready successor, so the stream comes out in order
 * while the reading and hashing run in parallel.  No worker gets more than WINDOW
 * chunks ahead of the output: memory is bounded whatever the disk size.
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

#define WINDOW     16
#define MAX_BLOCKS (SYNC_MAX_BLOCK / SYNC_MIN_BLOCK)

struct slot {
	bool ready;
	struct sync_chunk c;
	bool zero[MAX_BLOCKS];
	uint8_t digest[MAX_BLOCKS][SYNC_DIGEST_LEN];
};

struct print_state {
	struct image *img;
	struct digest_writer *out;
	struct progress *progress;
	uint32_t bs;
	uint64_t nb_chunks;
	pthread_mutex_t lock;      /* guards everything below */
	pthread_cond_t cond;       /* a chunk was written, or an error */
	uint64_t next;             /* next chunk to hand out */
	uint64_t written;          /* next chunk to write */
	struct slot ring[WINDOW];
	int error;
	char errmsg[ERR_MSG_MAX];
};

static void fail_locked(struct print_state *s, int ret)
{
	if (!s->error) {
		s->error = ret;
		snprintf(s->errmsg, sizeof(s->errmsg), "%s", err_get());
	}
	pthread_cond_broadcast(&s->cond);
}

/* The next chunk to hash, or UINT64_MAX (waits while the ring is full). */
static uint64_t take_chunk(struct print_state *s)
{
	uint64_t k = UINT64_MAX;

	pthread_mutex_lock(&s->lock);
	while (!s->error && s->next < s->nb_chunks && s->next >= s->written + WINDOW)
		pthread_cond_wait(&s->cond, &s->lock);
	if (!s->error && s->next < s->nb_chunks)
		k = s->next++;
	pthread_mutex_unlock(&s->lock);
	return k;
}

/* Zero flags and digests of chunk k into its slot; buf is one chunk. */
static int hash_chunk(struct print_state *s, uint64_t k, uint8_t *buf)
{
	struct slot *sl = &s->ring[k % WINDOW];
	bool want[MAX_BLOCKS];
	struct sync_chunk *c = &sl->c;
	int ret;

	c->off = k * SYNC_MAX_BLOCK;
	c->len = MIN((uint64_t)SYNC_MAX_BLOCK, s->img->size - c->off);
	c->bs = s->bs;
	c->n = (unsigned)div_round_up(c->len, s->bs);
	ret = sync_zero_map(s->img, c, sl->zero);
	for (unsigned i = 0; !ret && i < c->n; i++)
		want[i] = !sl->zero[i];
	if (!ret)
		ret = sync_read_blocks(s->img, c, want, buf, NULL, NULL);
	for (unsigned i = 0; !ret && i < c->n; i++) {
		const uint8_t *b = buf + (size_t)i * c->bs;
		size_t n = (size_t)sync_block_len(c, i);

		if (sl->zero[i])
			continue;
		sl->zero[i] = buffer_is_zero(b, n);
		if (!sl->zero[i])
			SHA256(b, n, sl->digest[i]);
	}
	return ret;
}

/* Mark chunk k ready and write every ready chunk in order (lock held). */
static int settle_locked(struct print_state *s, uint64_t k)
{
	s->ring[k % WINDOW].ready = true;
	while (s->written < s->nb_chunks && s->ring[s->written % WINDOW].ready) {
		struct slot *sl = &s->ring[s->written % WINDOW];

		for (unsigned i = 0; i < sl->c.n; i++) {
			int ret = digest_writer_block(s->out, sl->zero[i], sl->digest[i]);

			if (ret)
				return ret;
		}
		progress_add(s->progress, sl->c.len);
		sl->ready = false;
		s->written++;
	}
	pthread_cond_broadcast(&s->cond);
	return 0;
}

static void *print_worker(void *opaque)
{
	struct print_state *s = opaque;
	uint8_t *buf = backend_buf_alloc(SYNC_MAX_BLOCK);
	uint64_t k;
	int ret = 0;

	if (!buf)
		ret = err_set(-ENOMEM, NULL, "out of memory for digest buffers");
	while (!ret && (k = take_chunk(s)) != UINT64_MAX) {
		ret = hash_chunk(s, k, buf);
		pthread_mutex_lock(&s->lock);
		if (!ret)
			ret = settle_locked(s, k);
		pthread_mutex_unlock(&s->lock);
	}
	if (ret) {
		pthread_mutex_lock(&s->lock);
		fail_locked(s, ret);
		pthread_mutex_unlock(&s->lock);
	}
	free(buf);
	return NULL;
}

int sync_print_digests(struct image *src, uint32_t block_size, int fd, const char *name,
		       int workers, struct progress *progress)
{
	struct print_state s = { .img = src, .progress = progress };
	int ret;

	s.bs = block_size ? block_size : SYNC_DEFAULT_BLOCK;
	if (!sync_block_size_ok(s.bs))
		return err_set(-EINVAL, NULL, "block size %u is not a power of two from %u to %u",
			       s.bs, SYNC_MIN_BLOCK, SYNC_MAX_BLOCK);
	s.nb_chunks = div_round_up(src->size, SYNC_MAX_BLOCK);
	ret = digest_writer_open(fd, name, s.bs, src->size, &s.out);
	if (ret)
		return ret;
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.cond, NULL);
	copy_run_workers(workers, src->size, print_worker, &s);
	pthread_cond_destroy(&s.cond);
	pthread_mutex_destroy(&s.lock);
	if (s.error) {
		err_copy(s.errmsg);
		ret = s.error;
	} else {
		ret = digest_writer_finish(s.out);
	}
	digest_writer_free(s.out);
	return ret;
}
