/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sync_blocks.h - what sync.c and sync_print.c do to one chunk of blocks (at most
 * SYNC_MAX_BLOCK bytes, so one worker buffer): which blocks block status already
 * knows to be zeros, reading only the blocks wanted, and each block's length.
 */
#ifndef IMGTOOL_SYNC_BLOCKS_H
#define IMGTOOL_SYNC_BLOCKS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "formats/format.h"

struct ratelimit;

struct sync_chunk {
	uint64_t off, len;        /* in the disk; off is block-aligned */
	uint32_t bs;              /* block size */
	unsigned n;               /* blocks in the chunk (the last may be short) */
};

/* Length of block i of the chunk. */
static inline uint64_t sync_block_len(const struct sync_chunk *c, unsigned i)
{
	uint64_t start = (uint64_t)i * c->bs;

	return c->len - start < c->bs ? c->len - start : c->bs;
}

/* zero[i] = block status reports all of block i as reading zeros (nothing read). */
int sync_zero_map(struct image *img, const struct sync_chunk *c, bool *zero);

/* Read the blocks with want[i] into buf at their chunk offsets, in runs; the
 * bytes are added to *counter and drawn from rl (either may be NULL). */
int sync_read_blocks(struct image *img, const struct sync_chunk *c, const bool *want,
		     uint8_t *buf, _Atomic uint64_t *counter, struct ratelimit *rl);

#endif
