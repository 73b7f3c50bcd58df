/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * copy.h - the copy engine: copies one or more source images (concatenated) into a
 * target image.  It serves convert now and commit, rebase, dd and the batch runner
 * later.
 *
 * The engine walks the sources with image_block_status_above() and never reads a
 * hole or zero range; it turns zero runs found inside data into zero writes (or
 * skips them when the target already reads as zeros); and it runs N workers that
 * each read, scan, compress and write a chunk, so reads, compression and writes
 * overlap.  Writes complete in any order.  Memory is bounded: each worker owns one
 * 2 MiB buffer, whatever the image size.
 */
#ifndef IMGTOOL_COPY_H
#define IMGTOOL_COPY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../formats/format.h"
#include "progress.h"

#define COPY_BUF_SIZE      (2u * 1024 * 1024)  /* one worker's buffer, max chunk */
#define COPY_MAX_WORKERS   16
#define COPY_DEFAULT_SPARSE 4096                /* qemu-img's default -S */
#define COPY_MAX_SPARSE    (16u * 1024 * 1024)  /* largest -S qemu-img accepts */

struct copy_params {
	struct image **src;       /* read in order, laid end to end in the target */
	int nb_src;
	struct image *dst;        /* open IMG_RDWR, at least as large as the sources */
	uint64_t dst_offset;      /* where the first source lands in the target */
	/* A window of the sources (dd's skip= and count=): only bytes
	 * [src_offset, src_offset + length) of the concatenated sources are
	 * copied, the first landing at dst_offset.  length 0: to the end. */
	uint64_t src_offset;
	uint64_t length;
	bool compress;            /* one compressed write per target cluster (-c) */
	/* Copy offloading (-C): data the sources store raw is copied by the storage
	 * (image_write_from: reflink, copy_file_range) instead of through memory,
	 * where the target format and both backends can; elsewhere, and for the
	 * rest of the copy once one offload is refused, the copy goes on as usual.
	 * Not with compress or dst_backing. */
	bool offload;
	uint64_t min_sparse;      /* zero-run granularity inside data; 0 = none (-S 0) */
	bool target_zeroed;       /* target already reads as zeros: skip zero ranges */
	int workers;              /* 0 = default: max(cpu_count(), 4) */
	/* The target has this backing image (convert -B): a target cluster that
	 * would read the same as the backing is not written (left unallocated) and
	 * zero ranges are written as zeros unless the backing reads zeros there.
	 * target_zeroed then means "the whole target chain reads as zeros". */
	struct image *dst_backing;
	/* > 0: copy only ranges the source chain allocates in its layers
	 * 0 .. above_depth-1 (commit: everything above the base); the rest of the
	 * target is left as it is.  Single source only. */
	int above_depth;
	struct progress *progress;/* may be NULL */

	/* Resumable copies (the batch runner, migrate/): the target already holds
	 * the sources' bytes below `start` (a multiple of COPY_BUF_SIZE), which are
	 * neither read nor written again.  checkpoint(opaque, done), when set, is
	 * called (from one worker at a time) with an offset below which every byte
	 * is written and flushed to the target, at least every checkpoint_bytes
	 * (0: 1 GiB) or checkpoint_secs (0: 30 s) of progress.  Not for compressed
	 * or whole-cluster targets, whose clusters are not independent. */
	uint64_t start;
	int (*checkpoint)(void *opaque, uint64_t done);
	void *checkpoint_opaque;
	uint64_t checkpoint_bytes;
	double checkpoint_secs;
	/* When set, every byte of the sources from `start` on is handed to it once,
	 * from any worker, as the copy goes: the bytes read (before they are
	 * written), or buf NULL for a range that reads as zeros and is not read.
	 * Offsets are in the concatenated sources.  The batch runner digests the
	 * source this way (convert/checksum_feed.h) instead of reading it again.
	 * Not with compress, whole-cluster targets or above_depth. */
	int (*on_source)(void *opaque, uint64_t off, const uint8_t *buf, uint64_t len);
	void *on_source_opaque;
	struct ratelimit *ratelimit; /* a bandwidth budget shared by copies; may be NULL */
	struct copy_stats *stats;    /* counted into as the copy goes, when not NULL */
};

/* Live counters (another thread may read them while the copy runs). */
struct copy_stats {
	_Atomic uint64_t bytes_read;    /* data read from the sources */
	_Atomic uint64_t bytes_written; /* data written to the target (zero writes excluded) */
};

/* Default number of workers (max(cpu_count(), 4), at most COPY_MAX_WORKERS). */
int copy_default_workers(void);

/* Run fn(arg) on `requested` threads (<= 0: copy_default_workers(), never more
 * than one per COPY_BUF_SIZE of `total` bytes), the calling thread being one of
 * them; returns when all have finished.  The engines share this pool shape. */
void copy_run_workers(int requested, uint64_t total, void *(*fn)(void *), void *arg);

/* Copy and flush the target.  0 or a negative errno with the message set (on the
 * calling thread, even when a worker failed). */
int copy_run(const struct copy_params *p);

/* Total virtual size of the sources (what the target needs), 0 on overflow. */
uint64_t copy_total_size(struct image **src, int nb_src);

#endif
