/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow.h - the original QEMU copy-on-write format (qcow version 1), read-only:
 * layout, state and the file map.
 *
 * Layout (big-endian): a 48-byte header (magic "QFI\xfb", version 1, backing file
 * name offset and length, mtime, size, cluster_bits, l2_bits, crypt_method, L1
 * offset), the backing file name, the L1 table (u64 offsets of L2 tables, 0 =
 * none), L2 tables of 2^l2_bits u64 entries: 0 unallocated (the backing file or
 * zeros), bit 63 set a compressed cluster (its byte length in the bits below it,
 * raw deflate), else the host offset of the cluster.  AES-encrypted images are
 * refused.
 *
 * Files: qcow_open.c (probe, header, L1 table, backing file name, close, info,
 * the ops table), qcow_read.c (cluster lookup, read, block status).
 */
#ifndef IMGTOOL_QCOW_H
#define IMGTOOL_QCOW_H

#include "../format.h"

#include <stdint.h>

#define QCOW_MAGIC            0x514649fbu   /* "QFI\xfb", shared with qcow2 */
#define QCOW_VERSION          1u
#define QCOW_HEADER_SIZE      48u
#define QCOW_OFLAG_COMPRESSED (1ULL << 63)
#define QCOW_BACKING_NAME_MAX 1023u         /* qemu's limit */

struct qcow_state {
	uint64_t file_size;
	uint32_t cluster_bits;
	uint32_t l2_bits;
	uint64_t cluster_size;
	uint64_t l1_size;
	uint64_t *l1;            /* host order */
};

/* qcow_read.c */
int qcow_read(struct image *img, void *buf, uint64_t off, size_t len);
int qcow_block_status(struct image *img, uint64_t off, uint64_t len,
		      struct block_status *bs);

#endif
