/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sync_blocks.c - the per-chunk steps sync and the digest printer share
 * (sync_blocks.h).  A block counts as known zeros only when block status covers
 * all of it with zero runs; a block that is partly data is read whole.
 */
#include "convert/sync_blocks.h"
#include "convert/ratelimit.h"
#include "common/err.h"

#include <errno.h>

int sync_zero_map(struct image *img, const struct sync_chunk *c, bool *zero)
{
	uint64_t pos = c->off, end = c->off + c->len;

	for (unsigned i = 0; i < c->n; i++)
		zero[i] = true;
	while (pos < end) {
		struct block_status bs;
		uint64_t run_end;
		int ret = image_block_status_above(img, pos, end - pos, &bs);

		if (ret < 0)
			return err_set_default(ret, img->filename, "block status failed at 0x%llx",
					       (unsigned long long)pos);
		run_end = pos + bs.length > end ? end : pos + bs.length;
		if (!(bs.flags & BS_ZERO))
			for (uint64_t b = (pos - c->off) / c->bs; b <= (run_end - 1 - c->off) / c->bs; b++)
				zero[b] = false;
		pos = run_end;
	}
	return 0;
}

int sync_read_blocks(struct image *img, const struct sync_chunk *c, const bool *want,
		     uint8_t *buf, _Atomic uint64_t *counter, struct ratelimit *rl)
{
	unsigned i = 0;

	while (i < c->n) {
		uint64_t start, len = 0;
		unsigned j;
		int ret;

		if (!want[i]) {
			i++;
			continue;
		}
		for (j = i; j < c->n && want[j]; j++)
			len += sync_block_len(c, j);
		start = (uint64_t)i * c->bs;
		if (rl)
			ratelimit_wait(rl, len);
		ret = image_read(img, buf + start, c->off + start, (size_t)len);
		if (ret < 0)
			return err_set_default(ret, img->filename, "read failed at 0x%llx",
					       (unsigned long long)(c->off + start));
		if (counter)
			*counter += len;
		i = j;
	}
	return 0;
}
