/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luks_unaligned.c - requests that do not cover whole 512-byte sectors, for
 * anything encrypted sector by sector (raw luks, encrypted qcow2): the covering
 * sectors are read, and for a write merged and written back under the caller's
 * lock (two partial writers of one sector must not interleave).
 */
#include "luks.h"
#include "../../common/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A buffer for the sectors covering [off, off+len); *start is its offset. */
static uint8_t *cover(uint64_t off, size_t len, const char *name, uint64_t *start, size_t *span)
{
	uint8_t *tmp;

	*start = off / LUKS_SECTOR * LUKS_SECTOR;
	*span = (size_t)((off + len + LUKS_SECTOR - 1) / LUKS_SECTOR * LUKS_SECTOR - *start);
	tmp = malloc(*span);
	if (!tmp)
		err_set(-ENOMEM, name, "out of memory");
	return tmp;
}

bool luks_aligned(uint64_t off, size_t len)
{
	return off % LUKS_SECTOR == 0 && len % LUKS_SECTOR == 0;
}

int luks_read_unaligned(luks_read_fn rd, void *opaque, const char *name, void *buf,
			uint64_t off, size_t len)
{
	uint64_t start;
	size_t span;
	uint8_t *tmp = cover(off, len, name, &start, &span);
	int ret;

	if (!tmp)
		return -ENOMEM;
	ret = rd(opaque, tmp, start, span);
	if (ret == 0)
		memcpy(buf, tmp + (off - start), len);
	free(tmp);
	return ret;
}

int luks_write_unaligned(luks_read_fn rd, luks_write_fn wr, void *opaque, pthread_mutex_t *lock,
			 const char *name, const void *buf, uint64_t off, size_t len)
{
	uint64_t start;
	size_t span;
	uint8_t *tmp = cover(off, len, name, &start, &span);
	int ret;

	if (!tmp)
		return -ENOMEM;
	pthread_mutex_lock(lock);
	ret = rd(opaque, tmp, start, span);
	if (ret == 0) {
		memcpy(tmp + (off - start), buf, len);
		ret = wr(opaque, tmp, start, span);
	}
	pthread_mutex_unlock(lock);
	free(tmp);
	return ret;
}
