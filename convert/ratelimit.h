/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ratelimit.h - a bandwidth budget shared by every copy of a batch (migrate's
 * `limits: bandwidth_mib`): a token bucket that any number of workers draw from.
 * A worker asks before it reads a chunk and sleeps until the budget allows it, so
 * the source hosts never see more than the rate on average (with bursts of at
 * most one second's worth).
 */
#ifndef IMGTOOL_RATELIMIT_H
#define IMGTOOL_RATELIMIT_H

#include <stdint.h>

struct ratelimit;

/* bytes_per_sec > 0; NULL on allocation failure. */
struct ratelimit *ratelimit_new(uint64_t bytes_per_sec);
/* Take bytes from the budget, sleeping as long as needed (thread-safe). */
void ratelimit_wait(struct ratelimit *rl, uint64_t bytes);
void ratelimit_free(struct ratelimit *rl);

#endif
