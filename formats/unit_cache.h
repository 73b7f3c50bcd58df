/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * unit_cache.h - reads from a format stored as compressed units (cloop blocks,
 * dmg chunks) that must be decompressed whole.
 *
 * A read covering a whole unit decompresses straight into the caller's buffer,
 * outside any lock, so the copy engine's workers run in parallel.  A read of
 * part of a unit goes through one cached unit, guarded by a mutex, so that
 * sector-sized reads (qemu-io, the NBD server) do not decompress the same unit
 * again and again.  Memory is one unit however many threads read.
 */
#ifndef IMGTOOL_UNIT_CACHE_H
#define IMGTOOL_UNIT_CACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decompress unit idx into out (exactly len bytes, the unit's size); sets the
 * error message on failure. */
typedef int (*unit_load_fn)(void *opaque, uint64_t idx, uint8_t *out, size_t len);

struct unit_cache {
	pthread_mutex_t lock;
	uint8_t *buf;         /* cap bytes: the largest unit */
	size_t cap;
	uint64_t idx;
	size_t len;
	bool valid;
};

int unit_cache_init(struct unit_cache *c, size_t cap);
void unit_cache_free(struct unit_cache *c);
/* Copy [in_off, in_off + n) of unit idx (unit_len bytes long) into dst. */
int unit_cache_read(struct unit_cache *c, uint64_t idx, size_t unit_len, unit_load_fn load,
		    void *opaque, size_t in_off, void *dst, size_t n);

#endif
