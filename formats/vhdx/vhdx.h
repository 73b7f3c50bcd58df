/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhdx.h - the VHDX format (Hyper-V, MS-VHDX): on-disk layout, parsed state and
 * the functions shared by the files of formats/vhdx/.
 *
 * Layout (all little-endian, GUIDs in Microsoft's mixed-endian byte order):
 *   0        file type identifier "vhdxfile" + creator (UTF-16LE)
 *   64 KiB   header 1 ("head", 4 KiB, CRC-32C, sequence number)
 *   128 KiB  header 2 (the valid one with the higher sequence number wins)
 *   192 KiB  region table 1 ("regi", 64 KiB, CRC-32C): BAT and metadata regions
 *   256 KiB  region table 2 (a copy)
 *   then, 1 MiB aligned: the log (circular, 4 KiB sectors), the metadata region
 *   ("metadata" table + items), the BAT (u64 entries: state in bits 0-2, file
 *   offset in MiB in bits 20-63; a sector bitmap entry after every chunk_ratio
 *   payload entries) and the payload / sector bitmap blocks.
 */
#ifndef IMGTOOL_VHDX_H
#define IMGTOOL_VHDX_H

#include "../format.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VHDX_FILE_ID_SIG      "vhdxfile"
#define VHDX_HEADER_SIG       "head"
#define VHDX_REGION_SIG       "regi"
#define VHDX_METADATA_SIG     "metadata"
#define VHDX_LOG_ENTRY_SIG    "loge"
#define VHDX_LOG_DESC_SIG     "desc"
#define VHDX_LOG_ZERO_SIG     "zero"
#define VHDX_LOG_DATA_SIG     "data"

#define VHDX_HEADER1_OFF      (64u * 1024)
#define VHDX_HEADER2_OFF      (128u * 1024)
#define VHDX_REGION1_OFF      (192u * 1024)
#define VHDX_REGION2_OFF      (256u * 1024)
#define VHDX_HEADER_SIZE      4096u
#define VHDX_REGION_SIZE      (64u * 1024)
#define VHDX_REGION_MAX_ENTRIES 2047u
#define VHDX_METADATA_TABLE_SIZE (64u * 1024)
#define VHDX_METADATA_MAX_ENTRIES 2047u
#define VHDX_LOG_SECTOR       4096u
#define VHDX_MiB              (1024u * 1024)
#define VHDX_MIN_BLOCK        VHDX_MiB
#define VHDX_MAX_BLOCK        (256u * VHDX_MiB)
#define VHDX_MAX_SIZE         (64ULL << 40)       /* 64 TiB, the spec's limit */
#define VHDX_MAX_LOG          (64u * VHDX_MiB)    /* refuse to replay bigger logs */
#define VHDX_SB_SECTORS       (1u << 23)          /* sectors one bitmap block covers */

/* BAT entry states */
#define VHDX_BAT_STATE_MASK   7u
#define VHDX_PAYLOAD_NOT_PRESENT  0u
#define VHDX_PAYLOAD_UNDEFINED    1u
#define VHDX_PAYLOAD_ZERO         2u
#define VHDX_PAYLOAD_UNMAPPED     3u
#define VHDX_PAYLOAD_FULLY_PRESENT 6u
#define VHDX_PAYLOAD_PARTIALLY_PRESENT 7u
#define VHDX_SB_NOT_PRESENT       0u
#define VHDX_SB_PRESENT           6u
#define VHDX_BAT_OFFSET_SHIFT 20

/* file parameters flags */
#define VHDX_PARAM_LEAVE_ALLOCATED 0x1u
#define VHDX_PARAM_HAS_PARENT      0x2u

/* metadata entry flags */
#define VHDX_META_IS_USER     0x1u
#define VHDX_META_IS_VDISK    0x2u
#define VHDX_META_REQUIRED    0x4u

typedef struct { uint8_t b[16]; } vhdx_guid;   /* as stored on disk */

extern const vhdx_guid vhdx_guid_bat_region;
extern const vhdx_guid vhdx_guid_metadata_region;
extern const vhdx_guid vhdx_guid_file_params;
extern const vhdx_guid vhdx_guid_disk_size;
extern const vhdx_guid vhdx_guid_page83;
extern const vhdx_guid vhdx_guid_logical_sector;
extern const vhdx_guid vhdx_guid_physical_sector;
extern const vhdx_guid vhdx_guid_parent_locator;
extern const vhdx_guid vhdx_guid_locator_type_vhdx;

struct vhdx_header {
	uint32_t checksum;
	uint64_t seq;
	vhdx_guid file_write_guid;
	vhdx_guid data_write_guid;
	vhdx_guid log_guid;
	uint16_t log_version;
	uint16_t version;
	uint32_t log_length;
	uint64_t log_offset;
};

/* One change the log makes to the file: data (4 KiB page) or zeros. */
struct vhdx_log_op {
	uint64_t off;
	uint64_t len;
	uint8_t *data;        /* NULL: zeros */
};

/* The replayed log, kept in memory and applied over every metadata/data read
 * when the image is opened read-only. */
struct vhdx_overlay {
	struct vhdx_log_op *ops;
	size_t n, cap;
	uint64_t lo, hi;      /* bytes the ops touch: [lo, hi) */
	uint64_t flushed_end; /* FlushedFileOffset of the head entry */
};

struct vhdx_state {
	uint64_t file_size;
	struct vhdx_header hdr;
	int cur_hdr;                /* 0 or 1: the slot holding hdr */

	uint64_t bat_off, meta_off;
	uint32_t bat_len, meta_len;

	uint32_t block_size;
	uint32_t params_flags;
	uint32_t logical_sector, physical_sector;
	vhdx_guid page83;
	bool has_parent;
	bool fixed;                 /* every payload entry fully present at open */
	uint64_t chunk_ratio;
	uint64_t data_blocks;
	uint64_t bat_entries;
	uint64_t *bat;              /* host order; read with atomics */

	/* parent locator of a differencing disk */
	char *parent_linkage;       /* "{guid}" as stored */
	char *parent_linkage2;

	struct vhdx_overlay log;    /* non-empty log replayed in memory */

	pthread_mutex_t lock;       /* allocation: free_off, pending */
	pthread_cond_t alloc_done;
	uint64_t free_off;          /* next block goes here (1 MiB aligned) */
	uint8_t *pending;           /* bit per payload block: allocation in flight */
	bool headers_updated;       /* new write GUIDs written for this session */

	int bad_bat_entries;        /* tolerated under IMG_CHECK only */
};

/* vhdx_crc32c.c */
uint32_t vhdx_crc32c(uint32_t crc, const void *buf, size_t len);
/* CRC over buf with the 4 checksum bytes at csum_off taken as zero */
uint32_t vhdx_checksum(const uint8_t *buf, size_t len, size_t csum_off);

/* vhdx_meta.c: on-disk structures */
bool vhdx_guid_eq(const vhdx_guid *a, const vhdx_guid *b);
bool vhdx_guid_is_zero(const vhdx_guid *g);
void vhdx_guid_format(const vhdx_guid *g, char *out);   /* out: 39 bytes "{...}" */
void vhdx_guid_random(vhdx_guid *g);
void vhdx_header_decode(const uint8_t *buf, struct vhdx_header *h);
void vhdx_header_encode(const struct vhdx_header *h, uint8_t *buf);  /* with CRC */
bool vhdx_header_valid(const uint8_t *buf);
int vhdx_read_current_header(struct backend *be, const char *filename,
			     struct vhdx_header *h, int *slot);
int vhdx_write_headers(struct image *img, struct vhdx_state *s);

static inline uint64_t vhdx_bat_get(struct vhdx_state *s, uint64_t idx)
{
	return __atomic_load_n(&s->bat[idx], __ATOMIC_ACQUIRE);
}

/* BAT index of payload block blk */
static inline uint64_t vhdx_payload_index(const struct vhdx_state *s, uint64_t blk)
{
	return blk + blk / s->chunk_ratio;
}

/* BAT index of the sector bitmap covering payload block blk */
static inline uint64_t vhdx_bitmap_index(const struct vhdx_state *s, uint64_t blk)
{
	return (blk / s->chunk_ratio) * (s->chunk_ratio + 1) + s->chunk_ratio;
}

/* vhdx_log.c */
int vhdx_log_load(struct image *img, struct vhdx_state *s);
int vhdx_log_apply_to_file(struct image *img, struct vhdx_state *s);
void vhdx_log_free(struct vhdx_overlay *o);
/* pread through the replayed log */
int vhdx_pread(struct image *img, struct vhdx_state *s, void *buf, size_t len,
	       uint64_t off);

/* vhdx_open.c */
extern const struct format_ops vhdx_format_ops;

/* vhdx_read.c */
int vhdx_read(struct image *img, void *buf, uint64_t off, size_t len);
int vhdx_block_status(struct image *img, uint64_t off, uint64_t len,
		      struct block_status *bs);

/* vhdx_write.c */
int vhdx_write(struct image *img, const void *buf, uint64_t off, size_t len);
int vhdx_write_zeroes(struct image *img, uint64_t off, uint64_t len, int flags);
int vhdx_flush(struct image *img);

/* vhdx_create.c */
int vhdx_create(struct backend *be, const char *filename, uint64_t size,
		struct opts *opts);
extern const struct create_opt vhdx_create_opts[];

/* vhdx_check.c */
int vhdx_info(struct image *img, struct image_info *info);
int vhdx_check(struct image *img, int fix, struct check_result *res);

#endif
