/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmdk.h - VMware virtual disks: the internal interface shared by the files of the
 * vmdk format driver.
 *
 * A VMDK is a text descriptor (standalone, or embedded in a hosted sparse file)
 * listing extents that are laid end to end to form the virtual disk.  Each extent
 * is a flat file (FLAT/VMFS), zeros (ZERO), or a hosted sparse file ("KDMV":
 * grain directory -> grain tables -> grains), which may hold compressed grains
 * with markers (streamOptimized).  All on-disk integers are little-endian; offsets
 * in metadata are in 512-byte sectors.
 *
 * Files: vmdk_descriptor.c (text parser/writer), vmdk_sparse.c (hosted sparse
 * extents), vmdk_stream.c (compressed grains, the streamOptimized writer),
 * vmdk_flat.c (flat and zero extents), vmdk_open.c (probe, open, the ops table,
 * the virtual-to-extent mapping), vmdk_create.c, vmdk_info.c, vmdk_check.c.
 */
#ifndef IMGTOOL_VMDK_H
#define IMGTOOL_VMDK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../format.h"

#define VMDK_SECTOR          512ULL
#define VMDK4_MAGIC          0x564d444bu      /* "KDMV" */
#define VMDK_COWD_MAGIC      0x44574f43u      /* "COWD" (ESX host sparse) */
#define VMDK_GD_AT_END       UINT64_MAX

/* hosted sparse header flags */
#define VMDK_FLAG_NL_DETECT  0x00000001u
#define VMDK_FLAG_RGD        0x00000002u
#define VMDK_FLAG_ZERO_GRAIN 0x00000004u
#define VMDK_FLAG_COMPRESSED 0x00010000u
#define VMDK_FLAG_MARKERS    0x00020000u
#define VMDK_FLAGS_INCOMPAT_KNOWN (VMDK_FLAG_COMPRESSED | VMDK_FLAG_MARKERS)

#define VMDK_COMPRESS_DEFLATE 1

/* stream markers */
#define VMDK_MARKER_EOS      0
#define VMDK_MARKER_GT       1
#define VMDK_MARKER_GD       2
#define VMDK_MARKER_FOOTER   3

#define VMDK_GTES            512              /* entries per grain table */
#define VMDK_GT_BYTES        (VMDK_GTES * 4)
/* VMware (Workstation, ESXi's streamOptimized export, OVF Tool), qemu-img and
 * VirtualBox all write 128-sector (64 KiB) grains; the format allows any power of
 * two.  qemu accepts up to 1 GiB, which lets a 1 MiB stream of compressed zeros
 * declare a grain that must be inflated whole: a memory bomb.  1 MiB (16 times
 * what anyone writes) bounds every per-grain buffer. */
#define VMDK_MAX_GRAIN_SECTORS 2048u
#define VMDK_MAX_DESC_BYTES  (1024 * 1024)    /* descriptor text cap */
#define VMDK_MAX_EXTENTS     4096
#define VMDK_MAX_CAPACITY    (64ULL << 40)    /* bytes; VMware's limit is 62 TiB */
#define VMDK_SPLIT_BYTES     0x80000000ULL    /* twoGbMaxExtent* split */
#define VMDK_DEFAULT_GRAIN   128              /* sectors (64 KiB) */

enum vmdk_access { VMDK_RW, VMDK_RDONLY, VMDK_NOACCESS };

enum vmdk_ext_type {
	VMDK_EXT_SPARSE,
	VMDK_EXT_FLAT,
	VMDK_EXT_ZERO,
	VMDK_EXT_VMFS,
	VMDK_EXT_VMFSSPARSE,
	VMDK_EXT_VMFSRDM,
	VMDK_EXT_VMFSRAW,
};

/* One extent line of a descriptor. */
struct vmdk_desc_extent {
	enum vmdk_access access;
	enum vmdk_ext_type type;
	uint64_t sectors;
	char *filename;        /* NULL for ZERO */
	uint64_t offset;       /* sectors into a flat file */
};

struct vmdk_desc_kv {
	char *key;
	char *value;
};

/* A parsed descriptor. */
struct vmdk_desc {
	int version;
	uint32_t cid;
	uint32_t parent_cid;
	bool has_cid;
	char *create_type;
	char *parent_hint;     /* parentFileNameHint */
	char *encoding;
	struct vmdk_desc_extent *ext;
	int n_ext;
	struct vmdk_desc_kv *ddb; /* ddb.* entries in file order */
	int n_ddb;
};

/* The decoded 512-byte hosted sparse header. */
struct vmdk_header {
	uint32_t version;
	uint32_t flags;
	uint64_t capacity;       /* sectors */
	uint64_t grain_size;     /* sectors */
	uint64_t desc_offset;    /* sectors */
	uint64_t desc_size;      /* sectors */
	uint32_t num_gtes;
	uint64_t rgd_offset;     /* sectors */
	uint64_t gd_offset;      /* sectors, or VMDK_GD_AT_END */
	uint64_t overhead;       /* sectors */
	uint8_t unclean;
	uint16_t compress_algo;
};

struct vmdk_stream_writer;
struct vmdk_grain_cache;

/* One extent of an open image. */
struct vmdk_extent {
	enum vmdk_ext_type type;
	enum vmdk_access access;
	uint64_t start;          /* virtual byte offset of the extent */
	uint64_t length;         /* virtual bytes */
	char *name;              /* as written in the descriptor */
	char *path;              /* resolved */
	struct backend *be;      /* NULL for ZERO/NOACCESS */
	bool own_be;             /* false when be is the image's own backend */
	uint64_t flat_offset;    /* bytes, FLAT */

	/* hosted sparse */
	struct vmdk_header h;
	uint64_t grain;          /* bytes */
	uint32_t gd_entries;
	uint32_t *gd;            /* sector numbers, cpu order */
	uint32_t *rgd;           /* NULL without a redundant directory */
	uint32_t **gt;           /* loaded grain tables, NULL = not loaded yet */
	bool compressed, markers, zeroed_grain;
	uint64_t file_size;      /* bytes, grows as grains are appended */
	pthread_mutex_t lock;    /* GT loading, allocation, GT updates */
	bool lock_init;
	struct vmdk_stream_writer *sw;   /* streamOptimized writer (RDWR only) */
};

/* Private state of an open vmdk image. */
struct vmdk {
	struct vmdk_desc desc;
	struct vmdk_extent *ext;
	int n_ext;
	bool embedded;           /* descriptor lives inside the sparse file */
	uint64_t desc_file_off;  /* where the descriptor text starts in img->be */
	uint64_t desc_file_len;
	bool cid_updated;        /* CID rewritten after the first write */
	pthread_mutex_t lock;
	struct vmdk_grain_cache *gcache; /* recently inflated grains (reads) */
};

/* vmdk_descriptor.c */
int vmdk_desc_parse(const char *text, size_t len, const char *filename,
		    struct vmdk_desc *d);
void vmdk_desc_free(struct vmdk_desc *d);
/* Looks like descriptor text (for probing)? */
bool vmdk_desc_probe(const uint8_t *buf, size_t len);
const char *vmdk_ext_type_name(enum vmdk_ext_type t);
const char *vmdk_access_name(enum vmdk_access a);

/* What vmdk_desc_write() prints. */
struct vmdk_desc_params {
	uint32_t cid, parent_cid;
	const char *create_type;
	const char *parent_hint;       /* NULL for none */
	const struct vmdk_desc_extent *ext;
	int n_ext;
	const char *adapter;
	const char *hwversion;
	const char *toolsversion;
	uint64_t capacity;             /* sectors, for the geometry */
	bool vmware_style;             /* encoding line, VMware geometry rules */
};
/* Returns a malloc'd NUL-terminated descriptor. */
char *vmdk_desc_write(const struct vmdk_desc_params *p);
/* Read the descriptor of an image file (embedded or standalone). */
int vmdk_read_desc_file(struct backend *be, const char *filename, struct vmdk_desc *d);

/* vmdk_sparse.c */
void vmdk_header_decode(const uint8_t *buf, struct vmdk_header *h);
void vmdk_header_encode(const struct vmdk_header *h, uint8_t *buf);
int vmdk_header_validate(const struct vmdk_header *h, const char *filename,
			 uint64_t file_size);
int vmdk_sparse_open(struct vmdk_extent *e, int flags);
int vmdk_gt_load(struct vmdk_extent *e, uint32_t j);      /* lock held */
uint32_t vmdk_gte_get(struct vmdk_extent *e, uint64_t grain_idx, int *err);
int vmdk_sparse_read(struct image *img, struct vmdk_extent *e, uint8_t *buf,
		     uint64_t off, uint64_t len);
int vmdk_sparse_write(struct image *img, struct vmdk_extent *e, const uint8_t *buf,
		      uint64_t off, uint64_t len);
int vmdk_sparse_zero(struct image *img, struct vmdk_extent *e, uint64_t off,
		     uint64_t len);
int vmdk_sparse_block_status(struct image *img, struct vmdk_extent *e, uint64_t off,
			     uint64_t len, struct block_status *bs);
void vmdk_sparse_close(struct vmdk_extent *e);
/* Layout of a new hosted sparse extent as qemu lays it out (GD/RGD/GTs up front). */
int vmdk_sparse_create(struct backend *be, const char *filename, uint64_t capacity,
		       const char *desc, bool zeroed_grain);

/* vmdk_stream.c */
int vmdk_inflate(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
		 size_t *out_len);
int vmdk_read_compressed_grain(struct vmdk_extent *e, uint64_t host_off, uint64_t grain_idx,
			       uint8_t *out);
int vmdk_stream_read_footer(struct vmdk_extent *e, const char *filename,
			    struct vmdk_header *h);
int vmdk_stream_writer_open(struct image *img, struct vmdk_extent *e);
int vmdk_stream_write(struct image *img, struct vmdk_extent *e, const uint8_t *buf,
		      uint64_t off, uint64_t len);
int vmdk_stream_zero(struct image *img, struct vmdk_extent *e, uint64_t off, uint64_t len);
int vmdk_stream_finish(struct image *img, struct vmdk_extent *e);
void vmdk_stream_writer_free(struct vmdk_extent *e);
int vmdk_stream_create(struct backend *be, const char *filename, uint64_t capacity,
		       const char *desc);

/* vmdk_grain_cache.c: reads of part of a compressed grain (a guest reading 4 KiB
 * at a time) inflate each grain once, not once per read. */
int vmdk_grain_cache_read(struct vmdk *s, struct vmdk_extent *e, uint64_t host,
			  uint64_t grain_idx, uint8_t *buf, uint64_t in, uint64_t len);
void vmdk_grain_cache_free(struct vmdk *s);
/* Grains inflated by reads so far (for tests). */
uint64_t vmdk_grain_cache_inflates(struct vmdk *s);

/* vmdk_flat.c */
int vmdk_flat_read(struct vmdk_extent *e, uint8_t *buf, uint64_t off, uint64_t len);
int vmdk_flat_write(struct vmdk_extent *e, const uint8_t *buf, uint64_t off, uint64_t len);
int vmdk_flat_zero(struct vmdk_extent *e, uint64_t off, uint64_t len, int flags);
int vmdk_flat_block_status(struct image *img, struct vmdk_extent *e, uint64_t off,
			   uint64_t len, struct block_status *bs);

/* vmdk_open.c */
int vmdk_open_extents(struct image *img, struct vmdk *s, int flags);

/* vmdk_create.c */
int vmdk_create(struct backend *be, const char *filename, uint64_t size, struct opts *opts);
extern const struct create_opt vmdk_create_opts[];

/* vmdk_info.c, vmdk_check.c */
int vmdk_info(struct image *img, struct image_info *info);
int vmdk_check(struct image *img, int fix, struct check_result *res);

#endif
