/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * checksum_feed.h - the content digest of checksum.h ("imgtool-sha256") computed
 * from bytes handed in by someone who is reading them anyway (the copy engine),
 * in any order, rather than by reading the image again.  The batch runner digests
 * each source while copying it, so its verification reads only the copy back.
 *
 * Every byte of [0, size) must be handed in exactly once, as data or as a range
 * known to read as zeros; ranges may come from several threads at once.  Memory
 * stays bounded by the ranges in flight, not by the image size.
 */
#ifndef IMGTOOL_CHECKSUM_FEED_H
#define IMGTOOL_CHECKSUM_FEED_H

#include <stdint.h>

struct checksum_feed;

/* A feed for an image of `size` bytes; NULL (message set) when out of memory. */
struct checksum_feed *checksum_feed_new(uint64_t size, const char *name);

/* Hand in [off, off + len): its bytes, or buf NULL for a range of zeros.  0 or a
 * negative errno with the message set. */
int checksum_feed_add(struct checksum_feed *f, uint64_t off, const uint8_t *buf, uint64_t len);

/* The digest as lowercase hex into hex[CHECKSUM_HEX_LEN + 1]; -EINVAL (message
 * set) when some byte was never handed in. */
int checksum_feed_finish(struct checksum_feed *f, char *hex);

void checksum_feed_free(struct checksum_feed *f);

#endif
