/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench.c - the bench operation (bench.h).
 *
 * qemu-img bench keeps `depth` asynchronous requests in flight; imgtool's I/O is
 * synchronous per thread, so `depth` threads (at most BENCH_MAX_THREADS, the size
 * of qemu's own thread pool, beyond which its requests only queue) each take the
 * next request under a lock and issue it.  Offsets follow qemu 7.2's rule: each
 * request starts `step` bytes after the previous one, modulo the image size.
 * Every flush_interval requests one flush is issued, after the requests in flight
 * have completed unless drain is off.
 */
#include "bench.h"
#include "../common/err.h"
#include "../common/util.h"
#include "../formats/format.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bench_state {
	const struct bench_params *p;
	struct image *img;
	uint64_t step;

	pthread_mutex_t lock;     /* guards everything below */
	pthread_cond_t idle;      /* in_flight dropped (a drain waits for 0) */
	uint64_t issued;          /* requests handed out */
	uint64_t next_offset;
	uint64_t since_flush;
	int in_flight;
	int error;
	char errmsg[ERR_MSG_MAX];
};

/* qemu's failed request message: "Failed request: " and the reason. */
static void bench_fail(struct bench_state *s, int ret)
{
	pthread_mutex_lock(&s->lock);
	if (!s->error) {
		s->error = ret;
		snprintf(s->errmsg, sizeof(s->errmsg), "Failed request: %s",
			 err_is_set() ? err_get() : strerror(-ret));
	}
	pthread_mutex_unlock(&s->lock);
}

/* The next request's offset (lock held), advancing as qemu-img bench does. */
static uint64_t take_offset(struct bench_state *s)
{
	uint64_t off = s->next_offset;
	uint64_t size = s->img->size;

	/* qemu 7.2 wraps modulo the whole size (a wrapped request can then run
	 * past the end and fail, as there); an empty image, where qemu divides
	 * by zero, stays at 0. */
	s->next_offset += s->step;
	s->next_offset = size ? s->next_offset % size : 0;
	return off;
}

/* A flush is due (lock held): with drain, wait until nothing is in flight. */
static int flush_if_due(struct bench_state *s)
{
	int ret;

	if (!s->p->flush_interval || s->since_flush < s->p->flush_interval)
		return 0;
	s->since_flush = 0;
	if (s->p->drain)
		while (s->in_flight > 0)
			pthread_cond_wait(&s->idle, &s->lock);
	pthread_mutex_unlock(&s->lock);
	ret = image_flush(s->img);
	pthread_mutex_lock(&s->lock);
	return ret;
}

/* The next request (lock held); false when all are issued or one failed. */
static bool next_request(struct bench_state *s, uint64_t *off)
{
	if (s->error || s->issued >= s->p->count)
		return false;
	*off = take_offset(s);
	s->issued++;
	s->since_flush++;
	s->in_flight++;
	return true;
}

/* A request outside the image fails with EIO, as in qemu's block layer. */
static int bench_io(struct bench_state *s, uint8_t *buf, uint64_t off)
{
	const struct bench_params *p = s->p;
	uint64_t end;

	if (!add_ok(off, p->bufsize, &end) || end > s->img->size)
		return -EIO;
	if (!p->bufsize)
		return 0;
	if (p->write)
		return image_write(s->img, buf, off, (size_t)p->bufsize);
	return image_read(s->img, buf, off, (size_t)p->bufsize);
}

static void *bench_worker(void *opaque)
{
	struct bench_state *s = opaque;
	uint8_t *buf = backend_buf_alloc(s->p->bufsize ? s->p->bufsize : 1);
	uint64_t off;
	int ret;

	if (!buf) {
		bench_fail(s, err_set(-ENOMEM, NULL, "out of memory"));
		return NULL;
	}
	memset(buf, s->p->pattern, s->p->bufsize);
	pthread_mutex_lock(&s->lock);
	while (next_request(s, &off)) {
		pthread_mutex_unlock(&s->lock);
		err_clear();
		ret = bench_io(s, buf, off);
		if (ret < 0)
			bench_fail(s, ret);
		pthread_mutex_lock(&s->lock);
		s->in_flight--;
		pthread_cond_broadcast(&s->idle);
		ret = flush_if_due(s);
		if (ret < 0) {
			pthread_mutex_unlock(&s->lock);
			bench_fail(s, ret);
			pthread_mutex_lock(&s->lock);
		}
	}
	pthread_mutex_unlock(&s->lock);
	free(buf);
	return NULL;
}

static void run_threads(struct bench_state *s)
{
	pthread_t tids[BENCH_MAX_THREADS];
	uint64_t want = MIN((uint64_t)s->p->depth, s->p->count);
	int n = 0;

	want = MIN(want, BENCH_MAX_THREADS);
	for (uint64_t i = 1; i < want; i++) {
		if (pthread_create(&tids[n], NULL, bench_worker, s))
			break;
		n++;
	}
	bench_worker(s);
	for (int i = 0; i < n; i++)
		pthread_join(tids[i], NULL);
}

int bench_run(const struct bench_params *p, void (*before_run)(void *opaque), void *opaque,
	      double *seconds)
{
	struct bench_state s = { .p = p, .next_offset = p->offset };
	double t0;
	int ret;

	if (p->depth < 1)
		return err_set(-EINVAL, NULL, "internal error: bench depth below 1");
	ret = image_open(p->filename, p->fmt, (p->write ? IMG_RDWR : 0) | p->open_flags, &s.img);
	if (ret < 0)
		return err_set_default(ret, p->filename, "%s", strerror(-ret));
	s.step = p->step ? p->step : p->bufsize;
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.idle, NULL);
	if (before_run)
		before_run(opaque);
	t0 = monotonic_seconds();
	run_threads(&s);
	*seconds = monotonic_seconds() - t0;
	ret = s.error;
	if (ret < 0)
		err_set(ret, NULL, "%s", s.errmsg);
	pthread_cond_destroy(&s.idle);
	pthread_mutex_destroy(&s.lock);
	image_close(s.img);
	return ret;
}
