/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ratelimit.c - the shared token bucket (see ratelimit.h).  The bucket may go
 * into debt: a 2 MiB chunk is never split, its cost is paid by sleeping until the
 * balance is positive again, so a rate below one chunk per second still works.
 */
#include "ratelimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct ratelimit {
	pthread_mutex_t lock;
	double rate;        /* bytes per second */
	double balance;     /* bytes that may be taken now (negative: debt) */
	double last;        /* when balance was last topped up */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct ratelimit *ratelimit_new(uint64_t bytes_per_sec)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));

	if (!rl)
		return NULL;
	pthread_mutex_init(&rl->lock, NULL);
	rl->rate = (double)bytes_per_sec;
	rl->last = now();
	return rl;
}

void ratelimit_wait(struct ratelimit *rl, uint64_t bytes)
{
	double wait, t;

	pthread_mutex_lock(&rl->lock);
	t = now();
	rl->balance += (t - rl->last) * rl->rate;
	if (rl->balance > rl->rate)     /* at most one second of burst */
		rl->balance = rl->rate;
	rl->last = t;
	rl->balance -= (double)bytes;
	wait = rl->balance < 0 ? -rl->balance / rl->rate : 0;
	pthread_mutex_unlock(&rl->lock);
	if (wait > 0) {
		struct timespec ts = { .tv_sec = (time_t)wait,
				       .tv_nsec = (long)((wait - (double)(time_t)wait) * 1e9) };

		nanosleep(&ts, NULL);
	}
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}
