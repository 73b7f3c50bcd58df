/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * compare.c - parallel image comparison (see compare.h).
 *
 * A dispatcher under a mutex walks both images' block status and hands out chunks
 * that lie inside one status run on each side; ranges zero on both sides are skipped
 * without I/O.  Workers read and compare outside the lock.  The first mismatch must
 * be the lowest one, so once a mismatch at X is known no chunk at or above X is
 * handed out, and the minimum over the workers wins.
 */
#include "compare.h"
#include "copy.h"
#include "../common/err.h"
#include "../common/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMP_SECTOR 512

struct side {
	struct image *img;
	uint64_t st_end;   /* end of the cached status run */
	bool st_zero;
};

struct cmp_task {
	bool valid;
	uint64_t off, len;
	bool a_zero, b_zero;
};

struct cmp_state {
	const struct compare_params *p;
	uint64_t total;
	pthread_mutex_t lock;      /* guards everything below */
	uint64_t pos;
	struct side side[2];
	uint64_t mismatch;         /* UINT64_MAX while none found */
	int error;
	char errmsg[ERR_MSG_MAX];
};

static int side_refresh(struct side *sd, uint64_t pos, uint64_t total)
{
	struct block_status bs;
	int ret;

	if (pos >= sd->img->size) {
		sd->st_end = total;
		sd->st_zero = true;
		return 0;
	}
	ret = image_block_status_above(sd->img, pos, sd->img->size - pos, &bs);
	if (ret < 0)
		return err_set_default(ret, sd->img->filename, "block status failed");
	sd->st_end = pos + bs.length;
	sd->st_zero = (bs.flags & BS_ZERO) != 0;   /* reads as zeros: never read */
	return 0;
}

/* Next chunk to compare (lock held). */
static int cmp_next_locked(struct cmp_state *s, struct cmp_task *t)
{
	int ret;

	t->valid = false;
	while (s->pos < s->total && s->pos < s->mismatch) {
		uint64_t end = MIN(s->total, align_down(s->pos + COPY_BUF_SIZE, CMP_SECTOR));

		if (end <= s->pos)
			end = MIN(s->total, s->pos + COPY_BUF_SIZE);
		for (int i = 0; i < 2; i++) {
			if (s->pos >= s->side[i].st_end) {
				ret = side_refresh(&s->side[i], s->pos, s->total);
				if (ret < 0)
					return ret;
			}
			end = MIN(end, s->side[i].st_end);
		}
		if (s->side[0].st_zero && s->side[1].st_zero) {
			/* skip the whole common zero run, not just one chunk */
			end = MIN(s->side[0].st_end, s->side[1].st_end);
			progress_add(s->p->progress, end - s->pos);
			s->pos = end;
			continue;
		}
		t->valid = true;
		t->off = s->pos;
		t->len = end - s->pos;
		t->a_zero = s->side[0].st_zero;
		t->b_zero = s->side[1].st_zero;
		s->pos = end;
		return 0;
	}
	return 0;
}

static void cmp_next(struct cmp_state *s, struct cmp_task *t)
{
	int ret;

	pthread_mutex_lock(&s->lock);
	t->valid = false;
	if (!s->error) {
		ret = cmp_next_locked(s, t);
		if (ret < 0) {
			s->error = ret;
			snprintf(s->errmsg, sizeof(s->errmsg), "%s", err_get());
			t->valid = false;
		}
	}
	pthread_mutex_unlock(&s->lock);
}

/* Read len bytes at off of img; zeros past its end. */
static int read_side(struct image *img, uint8_t *buf, uint64_t off, uint64_t len)
{
	uint64_t n = 0;

	if (off < img->size) {
		n = MIN(len, img->size - off);
		int ret = image_read(img, buf, off, (size_t)n);
		if (ret < 0)
			return ret;
	}
	if (n < len)
		memset(buf + n, 0, (size_t)(len - n));
	return 0;
}

/* Offset in buf of the first sector that is not zero, or len. */
static uint64_t first_nonzero(const uint8_t *buf, uint64_t len)
{
	for (uint64_t pos = 0; pos < len; pos += CMP_SECTOR) {
		uint64_t n = MIN((uint64_t)CMP_SECTOR, len - pos);

		if (!buffer_is_zero(buf + pos, (size_t)n))
			return pos;
	}
	return len;
}

/* Offset in the buffers of the first sector that differs, or len. */
static uint64_t first_difference(const uint8_t *a, const uint8_t *b, uint64_t len)
{
	const uint64_t step = 64 * 1024;

	for (uint64_t big = 0; big < len; big += step) {
		uint64_t n = MIN(step, len - big);

		if (!memcmp(a + big, b + big, (size_t)n))
			continue;
		for (uint64_t pos = big; pos < big + n; pos += CMP_SECTOR) {
			uint64_t m = MIN((uint64_t)CMP_SECTOR, big + n - pos);

			if (memcmp(a + pos, b + pos, (size_t)m))
				return pos;
		}
	}
	return len;
}

/* Compare one chunk; sets *diff to the offset in the chunk of the first mismatch
 * (or t->len). */
static int cmp_chunk(struct cmp_state *s, const struct cmp_task *t, uint8_t *ba, uint8_t *bb,
		     uint64_t *diff)
{
	const struct compare_params *p = s->p;
	int ret;

	if (t->a_zero || t->b_zero) {
		struct image *img = t->a_zero ? p->b : p->a;

		ret = read_side(img, ba, t->off, t->len);
		if (ret < 0)
			return ret;
		*diff = first_nonzero(ba, t->len);
		return 0;
	}
	ret = read_side(p->a, ba, t->off, t->len);
	if (ret == 0)
		ret = read_side(p->b, bb, t->off, t->len);
	if (ret < 0)
		return ret;
	*diff = first_difference(ba, bb, t->len);
	return 0;
}

static void *cmp_worker(void *opaque)
{
	struct cmp_state *s = opaque;
	uint8_t *ba = backend_buf_alloc(COPY_BUF_SIZE);
	uint8_t *bb = backend_buf_alloc(COPY_BUF_SIZE);
	struct cmp_task t;
	uint64_t diff;
	int ret;

	if (!ba || !bb) {
		ret = err_set(-ENOMEM, NULL, "out of memory for compare buffers");
		goto fail;
	}
	for (;;) {
		cmp_next(s, &t);
		if (!t.valid)
			break;
		ret = cmp_chunk(s, &t, ba, bb, &diff);
		if (ret < 0)
			goto fail;
		if (diff < t.len) {
			uint64_t at = align_down(t.off + diff, CMP_SECTOR);

			pthread_mutex_lock(&s->lock);
			if (at < s->mismatch)
				s->mismatch = at;
			pthread_mutex_unlock(&s->lock);
		}
		progress_add(s->p->progress, t.len);
	}
	free(ba);
	free(bb);
	return NULL;
fail:
	pthread_mutex_lock(&s->lock);
	if (!s->error) {
		s->error = ret;
		snprintf(s->errmsg, sizeof(s->errmsg), "%s", err_get());
	}
	pthread_mutex_unlock(&s->lock);
	free(ba);
	free(bb);
	return NULL;
}

int compare_run(const struct compare_params *p, uint64_t *mismatch)
{
	struct cmp_state s = { .p = p, .mismatch = UINT64_MAX };

	s.total = MAX(p->a->size, p->b->size);
	if (p->end && p->end < s.total)
		s.total = p->end;
	s.pos = p->start;
	s.side[0].img = p->a;
	s.side[1].img = p->b;
	pthread_mutex_init(&s.lock, NULL);
	copy_run_workers(p->workers, s.total, cmp_worker, &s);
	pthread_mutex_destroy(&s.lock);

	if (s.error) {
		err_copy(s.errmsg);
		return s.error;
	}
	if (s.mismatch != UINT64_MAX) {
		*mismatch = s.mismatch;
		return 1;
	}
	return 0;
}
