/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dmg.h - Apple's UDIF disk image (.dmg), read-only, as qemu 7.2 reads it: the
 * layout, the chunk table and the state the files of formats/dmg/ share.
 *
 * Files: dmg_open.c (probe, the koly trailer, open/close, the ops table),
 * dmg_table.c (the chunk table from the resource fork or the XML property
 * list's "mish" blocks, checked and sorted), dmg_read.c (read, block status).
 *
 * Layout (big-endian): the data fork (the chunks' stored bytes), then either a
 * resource fork or an XML property list whose blkx entries each hold a "mish"
 * block (base64 inside <data> in the plist), then the 512-byte "koly" trailer
 * near the end of the file.  A mish block lists chunks of 40 bytes: type,
 * comment, first sector, sector count, offset and length in the data fork.
 * Chunk types: zero (0) and ignore (2) read as zeros, raw (1) is stored as is,
 * zlib (0x80000005), bzip2 (0x80000006) and lzfse (0x80000007) are compressed
 * and decompress to exactly their sector count; comments (0x7ffffffe) and the
 * terminator (0xffffffff) carry no data.
 */
#ifndef IMGTOOL_DMG_H
#define IMGTOOL_DMG_H

#include "../format.h"
#include "../unit_cache.h"

#include <stdint.h>

#define DMG_KOLY_SIZE       512u
#define DMG_MISH_MAGIC      0x6d697368u   /* "mish" */
#define DMG_MISH_MIN        244u          /* header and one chunk entry */
#define DMG_MISH_CHUNKS_AT  204u
#define DMG_CHUNK_ENTRY     40u

/* qemu's caps: a chunk's stored length and its sectors (64 MiB) */
#define DMG_LENGTHS_MAX     (64u * 1024 * 1024)
#define DMG_SECTORCOUNTS_MAX (DMG_LENGTHS_MAX / 512)
#define DMG_PLIST_MAX       (16u * 1024 * 1024)   /* qemu's cap on the XML */
#define DMG_RESOURCE_MAX    (16u * 1024 * 1024)   /* one resource (a mish block) */
#define DMG_MAX_CHUNKS      (1u * 1024 * 1024)    /* 1 TiB in hdiutil's 1 MiB chunks */

enum dmg_chunk_type {
	DMG_ZERO = 0,
	DMG_RAW = 1,
	DMG_IGNORE = 2,
	DMG_ADC = 0x80000004u,
	DMG_ZLIB = 0x80000005u,
	DMG_BZIP2 = 0x80000006u,
	DMG_LZFSE = 0x80000007u,
	DMG_COMMENT = 0x7ffffffeu,
	DMG_LAST = 0xffffffffu,
};

struct dmg_chunk {
	uint32_t type;
	uint64_t sector;      /* first guest sector */
	uint64_t count;       /* sectors */
	uint64_t offset;      /* stored bytes in the file */
	uint64_t length;
};

struct dmg_state {
	struct image *img;
	uint64_t koly_offset;          /* everything stored lies before it */
	uint64_t data_fork_offset;
	struct dmg_chunk *chunks;      /* sorted by sector, not overlapping */
	uint32_t n_chunks;
	uint32_t cap_chunks;
	uint64_t max_unit;             /* bytes of the largest compressed chunk's output */
	struct unit_cache cache;
};

/* dmg_table.c: fill s->chunks from the resource fork or the plist. */
int dmg_table_from_rsrc(struct dmg_state *s, uint64_t off, uint64_t len);
int dmg_table_from_plist(struct dmg_state *s, uint64_t off, uint64_t len);
int dmg_table_finish(struct dmg_state *s);

/* dmg_read.c */
int dmg_read(struct image *img, void *buf, uint64_t off, size_t len);
int dmg_block_status(struct image *img, uint64_t off, uint64_t len, struct block_status *bs);

#endif
