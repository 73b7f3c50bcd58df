/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * progress.c - thread-safe progress output (see progress.h).
 *
 * Workers only bump an atomic byte counter; whoever crosses the next print threshold
 * (1% of the total for people, 1% or 1 second for JSON) takes the lock and prints, so
 * the hot path costs one atomic add.
 */
#include "progress.h"
#include "../common/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct progress {
	enum progress_mode mode;
	uint64_t total;
	_Atomic uint64_t done;
	pthread_mutex_t lock;
	_Atomic uint64_t printed; /* done value of the last print */
	double last_time;        /* time of the last print */
	double start;
	int printed_any;
	void (*fn)(uint64_t done, uint64_t total, void *opaque);  /* PROGRESS_CALLBACK */
	void *opaque;
};

static void progress_print(struct progress *p, uint64_t done, double t)
{
	if (p->mode == PROGRESS_CALLBACK) {
		p->fn(done, p->total, p->opaque);
	} else if (p->mode == PROGRESS_HUMAN) {
		double pct = p->total ? (double)done * 100.0 / (double)p->total : 100.0;

		printf("    (%3.2f/100%%)\r", pct);
	} else {
		printf("{\"done\": %llu, \"total\": %llu, \"elapsed\": %.3f}\n",
		       (unsigned long long)done, (unsigned long long)p->total, t - p->start);
	}
	fflush(stdout);
	p->printed = done;
	p->last_time = t;
	p->printed_any = 1;
}

struct progress *progress_new(enum progress_mode mode, uint64_t total)
{
	struct progress *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->mode = mode;
	p->total = total;
	pthread_mutex_init(&p->lock, NULL);
	p->start = monotonic_seconds();
	p->last_time = p->start;
	if (mode != PROGRESS_NONE) {
		pthread_mutex_lock(&p->lock);
		progress_print(p, 0, p->start);
		pthread_mutex_unlock(&p->lock);
	}
	return p;
}

struct progress *progress_new_callback(uint64_t total,
				       void (*fn)(uint64_t done, uint64_t total, void *opaque),
				       void *opaque)
{
	struct progress *p;

	if (!fn)
		return progress_new(PROGRESS_NONE, total);
	p = progress_new(PROGRESS_NONE, total);
	if (!p)
		return NULL;
	p->mode = PROGRESS_CALLBACK;
	p->fn = fn;
	p->opaque = opaque;
	pthread_mutex_lock(&p->lock);
	progress_print(p, 0, p->start);
	pthread_mutex_unlock(&p->lock);
	return p;
}

void progress_add(struct progress *p, uint64_t bytes)
{
	uint64_t done, step;
	double t;

	if (!p || !bytes)
		return;
	done = atomic_fetch_add(&p->done, bytes) + bytes;
	if (p->mode == PROGRESS_NONE)
		return;
	step = p->total / 100;
	if (done - p->printed < step && p->mode == PROGRESS_HUMAN)
		return;
	if (pthread_mutex_trylock(&p->lock))
		return;         /* someone is printing; the next add catches up */
	done = atomic_load(&p->done);
	t = monotonic_seconds();
	if (done > p->printed &&
	    (done - p->printed >= step || (p->mode != PROGRESS_HUMAN && t - p->last_time >= 1.0)))
		progress_print(p, done > p->total ? p->total : done, t);
	pthread_mutex_unlock(&p->lock);
}

uint64_t progress_done(const struct progress *p)
{
	return p ? atomic_load(&p->done) : 0;
}

void progress_finish(struct progress *p)
{
	uint64_t done;

	if (!p || p->mode == PROGRESS_NONE)
		return;
	pthread_mutex_lock(&p->lock);
	done = atomic_load(&p->done);
	if (done > p->total)
		done = p->total;
	if (done != p->printed || !p->printed_any)
		progress_print(p, done, monotonic_seconds());
	if (p->mode == PROGRESS_HUMAN) {
		printf("\n");
		fflush(stdout);
	}
	pthread_mutex_unlock(&p->lock);
}

void progress_free(struct progress *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p);
}
