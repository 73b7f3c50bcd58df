/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util.c - zero detection and other helpers shared by every layer.
 *
 * buffer_is_zero() is on the copy engine's hot path (every data chunk is scanned for
 * zero runs), so it reads 8 words at a time and checks the first bytes early to leave
 * non-zero data quickly.
 */
#include "util.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

bool buffer_is_zero(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t head;

	if (len == 0)
		return true;
	/* Most non-zero buffers fail on the first bytes. */
	if (p[0] || p[len - 1] || p[len / 2])
		return false;
	head = (size_t)(-(uintptr_t)p & 7);
	if (head > len)
		head = len;
	for (size_t i = 0; i < head; i++)
		if (p[i])
			return false;
	p += head;
	len -= head;

	const uint64_t *w = (const uint64_t *)(const void *)p;
	size_t words = len / 8;
	size_t i = 0;
	for (; i + 8 <= words; i += 8) {
		if (w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] |
		    w[i + 7])
			return false;
	}
	for (; i < words; i++)
		if (w[i])
			return false;
	for (size_t j = words * 8; j < len; j++)
		if (p[j])
			return false;
	return true;
}

size_t buffer_run_length(const void *buf, size_t len, size_t block, bool *zero)
{
	const uint8_t *p = buf;
	size_t off = 0;
	size_t n = MIN(block, len);
	bool first = buffer_is_zero(p, n);

	*zero = first;
	off = n;
	while (off < len) {
		n = MIN(block, len - off);
		if (buffer_is_zero(p + off, n) != first)
			break;
		off += n;
	}
	return off;
}

int cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : 1;
}

double monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
