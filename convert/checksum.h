/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * checksum.h - a digest of an image's guest-visible content (`imgtool checksum`,
 * the batch runner's verification).  The same bytes give the same digest whatever
 * the format (raw, qcow2 with any options, vmdk, vhd, vhdx), backing chain or
 * backend, so a copy can be proved equal to its source without comparing the two
 * side by side (they may be on different hosts).
 *
 * The algorithm, "imgtool-sha256" (docs/checksum.md says it in full): the content
 * is cut into 64 KiB blocks; each block is hashed with SHA-256 (an all-zero block
 * has a precomputed hash, so zero ranges and holes are never read); 1024
 * consecutive block hashes make a 64 MiB segment hashed in turn; the digest is the
 * SHA-256 of the segment hashes in order followed by the virtual size (64-bit
 * little endian).  Segments are independent, so workers hash them in parallel and
 * the digest does not depend on the number of workers.  This is the shape of
 * blkhash's blksum (per-block hashes, a zero-block short cut, a hash over them);
 * the digests are not blksum's.
 */
#ifndef IMGTOOL_CHECKSUM_H
#define IMGTOOL_CHECKSUM_H

#include <stdint.h>

#include "formats/format.h"
#include "convert/progress.h"

#define CHECKSUM_ALGORITHM    "imgtool-sha256"
#define CHECKSUM_BLOCK_SIZE   (64u * 1024)
#define CHECKSUM_SEG_BLOCKS   1024u
#define CHECKSUM_HEX_LEN      64

struct checksum_params {
	struct image *img;
	int workers;              /* 0: copy_default_workers() */
	struct progress *progress;/* may be NULL */
};

/* The digest of p->img as lowercase hex into hex[CHECKSUM_HEX_LEN + 1]; 0 or a
 * negative errno with the message set. */
int checksum_run(const struct checksum_params *p, char *hex);

/* A SHA-256 digest as lowercase hex into hex[CHECKSUM_HEX_LEN + 1]. */
void checksum_to_hex(const uint8_t *d, char *hex);

#endif
