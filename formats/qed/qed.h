/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qed.h - QEMU Enhanced Disk (QED), read-only: layout, state and the file map.
 *
 * Layout (little-endian): a 64-byte header (magic "QED\0", cluster_size,
 * table_size in clusters, header_size in clusters, features, compat and
 * autoclear features, L1 table offset, image size, backing file name offset
 * and size), the backing file name inside the header clusters, then the L1
 * table and L2 tables (table_size clusters of u64 each): 0 unallocated (the
 * backing file or zeros), 1 (L2 only) a zero cluster, else the cluster's host
 * offset.  Features: a backing file, its format fixed to raw (no probe), and
 * need-check (a writer did not finish; read-only opens read the tables as they
 * are, as qemu does).
 *
 * Files: qed_open.c (probe, header, L1 table, backing file name, close, info,
 * the ops table), qed_read.c (cluster lookup, read, block status).
 */
#ifndef IMGTOOL_QED_H
#define IMGTOOL_QED_H

#include "../format.h"

#include <stdint.h>

#define QED_MAGIC              0x00444551u   /* "QED\0" little-endian */
#define QED_HEADER_SIZE        64u
#define QED_F_BACKING_FILE     0x01u
#define QED_F_NEED_CHECK       0x02u
#define QED_F_BACKING_NO_PROBE 0x04u
#define QED_FEATURE_MASK       0x07u
#define QED_MIN_CLUSTER        (4u * 1024)
#define QED_MAX_CLUSTER        (64u * 1024 * 1024)
#define QED_MIN_TABLE          1u
#define QED_MAX_TABLE          16u
#define QED_CLUSTER_ZERO       1u            /* L2 entry: reads as zeros */
#define QED_BACKING_NAME_MAX   4095u         /* qemu's buffer less the NUL */

struct qed_state {
	uint64_t file_size;
	uint64_t cluster_size;
	unsigned cluster_bits;
	unsigned table_bits;     /* log2 of entries per table */
	uint64_t header_bytes;   /* header_size * cluster_size */
	uint64_t *l1;            /* host order, 2^table_bits entries */
};

/* qed_read.c */
int qed_read(struct image *img, void *buf, uint64_t off, size_t len);
int qed_block_status(struct image *img, uint64_t off, uint64_t len,
		     struct block_status *bs);
/* a table or cluster offset qemu accepts: aligned, past the header, in the file */
bool qed_offset_ok(const struct qed_state *s, uint64_t off, uint64_t bytes);

#endif
