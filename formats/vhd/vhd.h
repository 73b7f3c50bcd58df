/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd.h - the VHD format ("vpc" in qemu): on-disk layout, parsed structures and the
 * state shared by the files of formats/vhd/.
 *
 * Layout (Microsoft VHD specification, big-endian):
 *  - fixed (type 2):        raw data, then a 512-byte footer at the end.
 *  - dynamic (type 3):      footer copy at 0, 1024-byte "cxsparse" header (at 512 in
 *                           the images we write), the block allocation table (BAT:
 *                           u32 sector numbers, 0xffffffff = unallocated), blocks of
 *                           [sector bitmap | block_size data], the footer at the end.
 *  - differencing (type 4): a dynamic disk whose header names a parent (unique id and
 *                           locators); a clear bitmap bit means "read the parent".
 */
#ifndef IMGTOOL_VHD_H
#define IMGTOOL_VHD_H

#include "../format.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define VHD_SECTOR            512u
#define VHD_FOOTER_SIZE       512u
#define VHD_DYN_HEADER_SIZE   1024u
#define VHD_COOKIE            "conectix"
#define VHD_DYN_COOKIE        "cxsparse"

#define VHD_TYPE_FIXED        2u
#define VHD_TYPE_DYNAMIC      3u
#define VHD_TYPE_DIFF         4u

#define VHD_BAT_UNUSED        0xffffffffu
#define VHD_VERSION           0x00010000u
#define VHD_FEATURES_RESERVED 0x00000002u
#define VHD_TIMESTAMP_BASE    946684800ULL   /* 2000-01-01 00:00:00 UTC */

/* qemu's limits: CHS maximum 65535/16/255 and a 2040 GiB disk */
#define VHD_CHS_MAX_C         65535u
#define VHD_CHS_MAX_H         16u
#define VHD_CHS_MAX_S         255u
#define VHD_MAX_GEOMETRY      (65535ULL * 16 * 255)
#define VHD_MAX_SECTORS       0xff000000ULL

#define VHD_DEFAULT_BLOCK     (2u * 1024 * 1024)
#define VHD_MAX_BLOCK         (256u * 1024 * 1024)  /* refuse larger: bitmaps would be huge */
#define VHD_LOCATOR_MAX       (64u * 1024)          /* a path longer than this is bogus */
#define VHD_NB_LOCATORS       8

/* parent locator platform codes */
#define VHD_PLAT_W2KU         0x57326b75u  /* "W2ku" absolute Windows path, UTF-16LE */
#define VHD_PLAT_W2RU         0x57327275u  /* "W2ru" relative Windows path, UTF-16LE */
#define VHD_PLAT_MACX         0x4d616358u  /* "MacX" file URL, UTF-8 */

struct vhd_footer {
	char cookie[8];
	uint32_t features;
	uint32_t version;
	uint64_t data_offset;
	uint32_t timestamp;
	char creator_app[4];
	uint32_t creator_version;
	char creator_os[4];
	uint64_t orig_size;
	uint64_t cur_size;
	uint16_t cyls;
	uint8_t heads;
	uint8_t spt;
	uint32_t type;
	uint32_t checksum;
	uint8_t uuid[16];
	uint8_t saved_state;
};

struct vhd_locator {
	uint32_t platform;
	uint32_t data_space;
	uint32_t data_length;
	uint64_t data_offset;
};

struct vhd_dyn_header {
	char cookie[8];
	uint64_t data_offset;
	uint64_t table_offset;
	uint32_t version;
	uint32_t max_entries;
	uint32_t block_size;
	uint32_t checksum;
	uint8_t parent_uuid[16];
	uint32_t parent_timestamp;
	uint8_t parent_name[512];          /* UTF-16BE, as stored */
	struct vhd_locator loc[VHD_NB_LOCATORS];
};

struct vhd_state {
	struct vhd_footer footer;
	uint8_t footer_buf[VHD_FOOTER_SIZE]; /* what we rewrite at the end on allocation */
	struct vhd_dyn_header dyn;
	uint32_t type;
	uint64_t file_size;                  /* at open */

	/* dynamic / differencing */
	uint32_t block_size;
	uint32_t bitmap_size;                /* bytes, a multiple of 512 */
	uint32_t nb_entries;                 /* BAT entries in use (max_table_entries) */
	uint64_t bat_offset;
	uint32_t *bat;                       /* host order; read with atomics */
	uint64_t data_start;                 /* end of metadata: header, BAT */

	pthread_mutex_t lock;                /* guards allocation: free_off, pending, footer */
	pthread_cond_t alloc_done;
	uint64_t free_off;                   /* where the next block goes (footer position) */
	uint8_t *pending;                    /* bit per BAT entry: allocation in flight */

	int bad_bat_entries;                 /* tolerated under IMG_CHECK only */
};

/* vhd_footer.c */
uint32_t vhd_checksum(const uint8_t *buf, size_t len, size_t csum_off);
void vhd_footer_decode(const uint8_t *buf, struct vhd_footer *f);
void vhd_footer_encode(const struct vhd_footer *f, uint8_t *buf);
bool vhd_footer_cookie_ok(const uint8_t *buf);
bool vhd_footer_checksum_ok(const uint8_t *buf);
void vhd_dyn_header_decode(const uint8_t *buf, struct vhd_dyn_header *h);
void vhd_dyn_header_encode(const struct vhd_dyn_header *h, uint8_t *buf);
bool vhd_dyn_header_checksum_ok(const uint8_t *buf);
void vhd_chs_geometry(uint64_t sectors, uint16_t *cyls, uint8_t *heads, uint8_t *spt);
int vhd_rounded_sectors(uint64_t size, bool force_size, uint64_t *sectors,
			uint16_t *cyls, uint8_t *heads, uint8_t *spt);
bool vhd_size_uses_chs(const struct vhd_footer *f);
uint64_t vhd_footer_virtual_size(const struct vhd_footer *f);
uint32_t vhd_bitmap_size(uint32_t block_size);
void vhd_uuid_format(const uint8_t *uuid, char *out);  /* out: 37 bytes */

/* vhd_open.c */
extern const struct format_ops vhd_format_ops;

/* vhd_read.c */
int vhd_read(struct image *img, void *buf, uint64_t off, size_t len);
int vhd_block_status(struct image *img, uint64_t off, uint64_t len,
		     struct block_status *bs);
static inline uint32_t vhd_bat_get(struct vhd_state *s, uint32_t idx)
{
	return __atomic_load_n(&s->bat[idx], __ATOMIC_ACQUIRE);
}

/* vhd_write.c */
int vhd_write(struct image *img, const void *buf, uint64_t off, size_t len);
int vhd_write_zeroes(struct image *img, uint64_t off, uint64_t len, int flags);
int vhd_flush(struct image *img);

/* vhd_create.c */
int vhd_create(struct backend *be, const char *filename, uint64_t size, struct opts *opts);
extern const struct create_opt vhd_create_opts[];

/* vhd_info.c */
int vhd_info(struct image *img, struct image_info *info);
/* vhd_check.c */
int vhd_check(struct image *img, int fix, struct check_result *res);

#endif
