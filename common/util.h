/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util.h - small arithmetic and buffer helpers used by every layer:
 * alignment, overflow-checked adds, and fast zero detection.
 */
#ifndef IMGTOOL_UTIL_H
#define IMGTOOL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define KiB (1024ULL)
#define MiB (1024ULL * KiB)
#define GiB (1024ULL * MiB)
#define TiB (1024ULL * GiB)

/* Alignment helpers; align must be a power of two. */
static inline uint64_t align_down(uint64_t v, uint64_t align)
{
	return v & ~(align - 1);
}

static inline uint64_t align_up(uint64_t v, uint64_t align)
{
	return (v + align - 1) & ~(align - 1);
}

static inline bool is_aligned(uint64_t v, uint64_t align)
{
	return (v & (align - 1)) == 0;
}

static inline uint64_t div_round_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

static inline bool is_power_of_2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* a + b without wrapping; false if it would overflow. */
static inline bool add_ok(uint64_t a, uint64_t b, uint64_t *sum)
{
	return !__builtin_add_overflow(a, b, sum);
}

/* True if len bytes at buf are all zero.  Fast path for aligned buffers. */
bool buffer_is_zero(const void *buf, size_t len);

/* Length of the run of zero bytes (or of non-zero "blocks") at the start of buf,
 * scanned in units of block bytes: returns how many leading bytes, a multiple of
 * block (except at the tail), have the same zero-ness as the first block, and sets
 * *zero to that zero-ness. */
size_t buffer_run_length(const void *buf, size_t len, size_t block, bool *zero);

/* Number of online CPUs (at least 1). */
int cpu_count(void);

/* Seconds on the monotonic clock (for durations). */
double monotonic_seconds(void);

#endif
