/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * parallels.h - the Parallels disk format (Parallels Desktop, Virtuozzo),
 * read-only: layout, state and the file map.
 *
 * Layout (little-endian): a 64-byte header (magic "WithoutFreeSpace" for the
 * old format, "WithouFreSpacExt" for the current one; version 2; geometry;
 * sectors per cluster ("tracks"); BAT entries; disk sectors; in-use mark; data
 * offset in sectors; flags; format extension offset in sectors), the BAT right
 * after it (u32 per cluster, 0 = unallocated: zeros), then the data clusters.
 * A BAT entry counts sectors in the old format and clusters in the new one.
 *
 * Files: parallels_open.c (probe, header, BAT, close, info, the ops table),
 * parallels_ext.c (the format extension cluster: checked as qemu does, its
 * dirty bitmaps not loaded), parallels_read.c (read, block status).
 */
#ifndef IMGTOOL_PARALLELS_H
#define IMGTOOL_PARALLELS_H

#include "../format.h"

#include <stdint.h>

#define PRL_HEADER_SIZE    64u
#define PRL_MAGIC_OLD      "WithoutFreeSpace"
#define PRL_MAGIC_EXT      "WithouFreSpacExt"
#define PRL_VERSION        2u
#define PRL_INUSE_MAGIC    0x746f6e59u
#define PRL_SECTOR         512u

struct parallels_state {
	uint64_t file_size;
	uint32_t tracks;          /* sectors per cluster */
	uint32_t off_multiplier;  /* BAT entry -> sectors */
	uint32_t bat_size;
	uint32_t *bat;            /* host order */
};

/* The host byte offset of BAT entry idx's cluster, or 0 when unallocated. */
static inline uint64_t prl_cluster_offset(const struct parallels_state *s, uint32_t idx)
{
	if (idx >= s->bat_size || !s->bat[idx])
		return 0;
	return (uint64_t)s->bat[idx] * s->off_multiplier * PRL_SECTOR;
}

/* parallels_ext.c */
int parallels_check_ext(struct image *img, struct parallels_state *s, uint64_t ext_off);

/* parallels_read.c */
int parallels_read(struct image *img, void *buf, uint64_t off, size_t len);
int parallels_block_status(struct image *img, uint64_t off, uint64_t len,
			   struct block_status *bs);

#endif
