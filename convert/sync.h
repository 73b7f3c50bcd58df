/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sync.h - `imgtool sync`: make a target's guest-visible content equal a source's
 * by writing only the blocks that differ (warm migration's repeated passes).
 *
 * The content is cut into blocks (64 KiB by default).  A block that reads as zeros
 * in the source becomes zeros in the target by a zero write that may deallocate
 * (a hole, a zero cluster), never by writing data; a block the target already
 * reports as zeros is not touched.  Neither side reads ranges its block status
 * reports as zeros.  Two ways to know what the source holds:
 *
 *  - both images here: the source's block is read and compared with the
 *    target's bytes (hashing both sides would only add work);
 *  - a digest stream (sync_digests.h), made where the source lives by
 *    sync_print_digests(): the target's blocks are hashed here and compared with
 *    the stream, and the source is read only for the blocks that differ.  This is
 *    what lets a remote source send only its changes.
 *
 * Sizes must be equal: a target of another size is refused (resizing a target
 * silently could throw data away), as `convert -n` never resizes either.
 */
#ifndef IMGTOOL_SYNC_H
#define IMGTOOL_SYNC_H

#include <stdatomic.h>
#include <stdint.h>

#include "formats/format.h"
#include "convert/progress.h"
#include "convert/sync_digests.h"

struct ratelimit;

/* Live counters (readable while the sync runs). */
struct sync_stats {
	_Atomic uint64_t compared;     /* bytes of content decided */
	_Atomic uint64_t src_read;     /* bytes read from the source */
	_Atomic uint64_t dst_read;     /* bytes read from the target (to compare) */
	_Atomic uint64_t written;      /* data bytes written to the target */
	_Atomic uint64_t zeroed;       /* bytes turned into zeros (holes) in the target */
	_Atomic uint64_t blocks_written;
};

struct sync_params {
	struct image *src;
	struct image *dst;             /* open IMG_RDWR, the source's size */
	uint32_t block_size;           /* 0: SYNC_DEFAULT_BLOCK; ignored with digests */
	struct digest_reader *digests; /* NULL: compare with the source's bytes */
	int workers;                   /* 0: copy_default_workers() */
	struct progress *progress;     /* may be NULL */
	struct ratelimit *ratelimit;   /* on source reads; may be NULL */
	struct sync_stats *stats;      /* may be NULL */
};

/* Sync, then flush the target; with digests, the stream is read to its trailer
 * and checked.  0 or a negative errno with the message set. */
int sync_run(const struct sync_params *p);

/* Write src's digest stream with blocks of block_size (0: the default) to fd,
 * named name in messages.  Holes are never read; chunks are hashed in parallel
 * and written in order. */
int sync_print_digests(struct image *src, uint32_t block_size, int fd, const char *name,
		       int workers, struct progress *progress);

#endif
