/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sync_digests.h - the block-digest stream of `imgtool sync` (docs/sync-digests.md):
 * one disk's per-block SHA-256 digests, zero blocks marked, written by
 * `imgtool sync --print-digests SRC` (on the host that holds SRC) and read by
 * `imgtool sync --digests-from FILE|- SRC DST`, so that only the blocks that
 * differ cross the link between the two hosts.
 *
 * Layout (all numbers little endian):
 *   header  "IMGTDGST" | u32 version (1) | u32 block size | u64 virtual size |
 *           u32 algorithm (1: SHA-256, 32-byte digests) | u32 0
 *   records 'D' + 32-byte digest: one block that holds data;
 *           'Z' + u32 n (n >= 1): n consecutive blocks that read as zeros
 *   trailer 'E' + u64 number of blocks + SHA-256 of every byte before the 'E'
 * Nothing may follow the trailer.  A block "reads as zeros" when every byte of it
 * is zero, whether or not it is allocated; only the last block may be short.
 *
 * The reader checks the whole shape as it goes (and the stream digest at the
 * end): a truncated, garbled or foreign stream is one clear error naming it.
 */
#ifndef IMGTOOL_SYNC_DIGESTS_H
#define IMGTOOL_SYNC_DIGESTS_H

#include <stdbool.h>
#include <stdint.h>

#define SYNC_DIGEST_LEN      32
#define SYNC_DEFAULT_BLOCK   (64u * 1024)
#define SYNC_MIN_BLOCK       4096u
#define SYNC_MAX_BLOCK       (2u * 1024 * 1024)   /* COPY_BUF_SIZE: one chunk */

struct digest_writer;
struct digest_reader;

/* Is block_size a power of two from SYNC_MIN_BLOCK to SYNC_MAX_BLOCK? */
bool sync_block_size_ok(uint64_t block_size);

/* Start a stream on fd (named name in messages) and write its header. */
int digest_writer_open(int fd, const char *name, uint32_t block_size, uint64_t size,
		       struct digest_writer **out);
/* The next block, in order: zero, or its digest. */
int digest_writer_block(struct digest_writer *w, bool zero, const uint8_t *digest);
/* The trailer, then everything flushed.  -EINVAL if fewer blocks were given than
 * the size holds. */
int digest_writer_finish(struct digest_writer *w);
void digest_writer_free(struct digest_writer *w);

/* Read and check the header from fd. */
int digest_reader_open(int fd, const char *name, struct digest_reader **out);
uint32_t digest_reader_block_size(const struct digest_reader *r);
uint64_t digest_reader_size(const struct digest_reader *r);
const char *digest_reader_name(const struct digest_reader *r);
/* The next block: *zero, or its digest in digest[SYNC_DIGEST_LEN]. */
int digest_reader_next(struct digest_reader *r, bool *zero, uint8_t *digest);
/* After the last block: the trailer (count and stream digest) and the end of file. */
int digest_reader_finish(struct digest_reader *r);
void digest_reader_free(struct digest_reader *r);

#endif
