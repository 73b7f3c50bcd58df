/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vdi.h - the VDI format (VirtualBox): on-disk layout, the state shared by the files
 * of formats/vdi/, and the file map.
 *
 * Layout (little-endian), version 1.1 as VirtualBox and qemu write it:
 *   0      a 64-byte text line ("<<< QEMU VM Virtual Disk Image >>>\n" from qemu,
 *          "<<< Oracle VM VirtualBox Disk Image >>>\n" from VirtualBox)
 *   0x40   signature 0xbeda107f, version 0x00010001
 *   0x48   header size (qemu 0x180; VirtualBox 0x190, adding the LCHS geometry),
 *          image type (1 dynamic, 2 static), flags, a 256-byte comment,
 *          block map offset, data offset, legacy geometry, disk size, block size
 *          (1 MiB), block extra, blocks in image, blocks allocated, four UUIDs
 *   bmap   one u32 per block: its index in the data area, 0xffffffff unallocated,
 *          0xfffffffe a block VirtualBox discarded (reads as zeros)
 *   data   blocks of block_size bytes in allocation order
 * A static image has every block allocated in order at creation (file holes read
 * as zeros).  Differencing images (a parent UUID) are refused, as qemu does.
 *
 * Files: vdi_header.c (parse and validate, qemu's messages), vdi_open.c (probe,
 * open, close, info, the ops table), vdi_read.c (read, block status),
 * vdi_write.c (block allocation, write, write_zeroes), vdi_create.c (create and
 * its -o table), vdi_check.c (check).
 */
#ifndef IMGTOOL_VDI_H
#define IMGTOOL_VDI_H

#include "../format.h"

#include <pthread.h>
#include <stdint.h>

#define VDI_HEADER_BYTES     512u      /* what is read and rewritten at offset 0 */
#define VDI_SECTOR           512u
#define VDI_SIGNATURE        0xbeda107fu
#define VDI_VERSION_1_1      0x00010001u
#define VDI_HEADER_SIZE_QEMU 0x180u
#define VDI_TYPE_DYNAMIC     1u
#define VDI_TYPE_STATIC      2u
#define VDI_BLOCK_SIZE       (1u << 20)
#define VDI_UNALLOCATED      0xffffffffu
#define VDI_DISCARDED        0xfffffffeu
#define VDI_IS_ALLOCATED(e)  ((e) < VDI_DISCARDED)
/* qemu's limit on blocks_in_image, and so on the disk size */
#define VDI_BLOCKS_MAX       0x1fffff80u
#define VDI_TEXT_QEMU        "<<< QEMU VM Virtual Disk Image >>>\n"

/* field offsets in the header */
#define VDI_OFF_SIGNATURE    0x40
#define VDI_OFF_VERSION      0x44
#define VDI_OFF_HEADER_SIZE  0x48
#define VDI_OFF_TYPE         0x4c
#define VDI_OFF_FLAGS        0x50
#define VDI_OFF_COMMENT      0x54
#define VDI_OFF_BMAP         0x154
#define VDI_OFF_DATA         0x158
#define VDI_OFF_SECTOR_SIZE  0x168
#define VDI_OFF_DISK_SIZE    0x170
#define VDI_OFF_BLOCK_SIZE   0x178
#define VDI_OFF_BLOCK_EXTRA  0x17c
#define VDI_OFF_BLOCKS       0x180
#define VDI_OFF_ALLOCATED    0x184
#define VDI_OFF_UUID_IMAGE   0x188
#define VDI_OFF_UUID_SNAP    0x198
#define VDI_OFF_UUID_LINK    0x1a8
#define VDI_OFF_UUID_PARENT  0x1b8

struct vdi_header {
	uint32_t signature, version, header_size, type, flags;
	uint32_t offset_bmap, offset_data, sector_size;
	uint64_t disk_size;
	uint32_t block_size, block_extra, blocks, allocated;
	uint8_t uuid_link[16], uuid_parent[16];
};

struct vdi_state {
	struct vdi_header h;
	uint8_t header_buf[VDI_HEADER_BYTES]; /* rewritten when blocks_allocated grows */
	uint64_t file_size;                   /* at open */
	uint32_t *bmap;                       /* host order; read with atomics */
	size_t bmap_bytes;                    /* on disk: whole sectors */

	pthread_mutex_t lock;                 /* guards next_block, pending, the header */
	pthread_cond_t alloc_done;
	uint32_t next_block;                  /* data-area index of the next new block */
	uint8_t *pending;                     /* bit per block: allocation in flight */
};

static inline uint32_t vdi_bmap_get(struct vdi_state *s, uint32_t idx)
{
	return __atomic_load_n(&s->bmap[idx], __ATOMIC_ACQUIRE);
}

static inline uint64_t vdi_block_offset(const struct vdi_state *s, uint32_t entry)
{
	return s->h.offset_data + (uint64_t)entry * s->h.block_size;
}

/* vdi_header.c */
bool vdi_signature_ok(const uint8_t *buf, size_t len);
void vdi_header_decode(const uint8_t *buf, struct vdi_header *h);
int vdi_header_validate(const char *filename, struct vdi_header *h);

/* vdi_open.c */
extern const struct format_ops vdi_format_ops;

/* vdi_read.c */
int vdi_read(struct image *img, void *buf, uint64_t off, size_t len);
int vdi_block_status(struct image *img, uint64_t off, uint64_t len,
		     struct block_status *bs);

/* vdi_write.c */
int vdi_write(struct image *img, const void *buf, uint64_t off, size_t len);
int vdi_write_zeroes(struct image *img, uint64_t off, uint64_t len, int flags);
int vdi_flush(struct image *img);

/* vdi_create.c */
extern const struct create_opt vdi_create_opts[];
int vdi_create(struct backend *be, const char *filename, uint64_t size, struct opts *opts);

/* vdi_check.c */
int vdi_check(struct image *img, int fix, struct check_result *res);

#endif
