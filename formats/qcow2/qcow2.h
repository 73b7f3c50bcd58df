/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2.h - qcow2 internals shared by the files of formats/qcow2/.
 *
 * Layout of the driver (one concept per file):
 *   qcow2_header.c   parse/validate the header and its extensions; write it back
 *                    (unknown extensions and fields kept)
 *   qcow2_open.c     open/close, the format_ops table, probing
 *   qcow2_cache.c    the metadata table cache (L2 tables, refcount blocks) with
 *                    write-back ordered by dependencies
 *   qcow2_map.c      guest offset -> L2 entry -> cluster type and host offset;
 *                    block_status
 *   qcow2_read.c     the read path (normal, zero, unallocated->backing, compressed)
 *   qcow2_compress.c compress/decompress one cluster (deflate raw wbits -12, zstd)
 *   qcow2_snapshot_table.c  read (and write) the internal snapshot table
 *   qcow2_snapshot.c internal snapshots: create, list, apply, delete, and the
 *                    read-only view of one snapshot (convert -l)
 *   qcow2_info.c     `info` format-specific data
 *   qcow2_refcount.c refcount get/update, cluster allocation, growing the refcount
 *                    table
 *   qcow2_write.c    write, write_zeroes, write_compressed, flush; L2 allocation,
 *                    L1 growth, copy-on-write
 *   qcow2_create.c   create with all options and preallocation
 *   qcow2_resize.c   resize (grow, shrink)
 *   qcow2_measure.c  measure
 *   qcow2_amend.c    amend -o (compat, lazy_refcounts)
 *   qcow2_backing.c  change the recorded backing file (rebase, convert -B) and
 *                    empty an overlay after commit
 *   qcow2_bitmap_dir.c  the persistent dirty bitmap directory: load,
 *                    validate, store a changed list (copy, then switch)
 *   qcow2_bitmap.c   persistent dirty bitmaps: add/remove/clear/enable, bits
 *                    read and set, enabled bitmaps marked on guest writes
 *   qcow2_check.c    check and repair (leaks, refcount errors, COPIED flags,
 *                    overlaps, offsets past EOF); dirty-image repair on open
 *
 * Locking: s->lock guards every metadata structure (header fields, L1, refcount
 * table, both caches, the snapshot list, the allocation state).  Data I/O (pread
 * and pwrite of guest data clusters) runs outside the lock.
 *
 * Crash ordering (the rule every metadata update follows): a cluster's refcount is
 * on disk before anything on disk references it; data is written before the L2
 * entry that points to it; a new L2 table / refcount block is written before the
 * L1 / refcount table entry that points to it.  The caches enforce the first rule
 * with dependencies: the L2 cache flushes the refcount cache before writing any
 * dirty L2 table.  So a kill at any instant leaves at worst leaked clusters.
 */
#ifndef IMGTOOL_QCOW2_H
#define IMGTOOL_QCOW2_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../format.h"

#define QCOW2_MAGIC 0x514649fbU  /* "QFI\xfb" */

#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_DEFAULT_CLUSTER_SIZE 65536

/* Limits (as QEMU's) that keep a hostile header from causing huge allocations. */
#define QCOW2_MAX_L1_BYTES        (32ULL * 1024 * 1024)
#define QCOW2_MAX_REFTABLE_BYTES  (8ULL * 1024 * 1024)
#define QCOW2_MAX_SNAPSHOTS       65536
#define QCOW2_MAX_SNAPSHOTS_BYTES (64ULL * 1024 * 1024)
#define QCOW2_MAX_SNAPSHOT_EXTRA  1024
#define QCOW2_MAX_BACKING_NAME    1023
#define QCOW2_V2_HEADER_LENGTH    72
#define QCOW2_V3_HEADER_LENGTH    104   /* minimum for v3 */
#define QCOW2_WRITE_HEADER_LENGTH 112   /* what we write (with compression_type) */

/* incompatible feature bits */
#define QCOW2_INCOMPAT_DIRTY       (1ULL << 0)
#define QCOW2_INCOMPAT_CORRUPT     (1ULL << 1)
#define QCOW2_INCOMPAT_DATA_FILE   (1ULL << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ULL << 3)
#define QCOW2_INCOMPAT_EXTL2       (1ULL << 4)
#define QCOW2_INCOMPAT_MASK        0x1fULL
/* compatible */
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ULL << 0)
/* autoclear */
#define QCOW2_AUTOCLEAR_BITMAPS     (1ULL << 0)
#define QCOW2_AUTOCLEAR_DATA_FILE_RAW (1ULL << 1)

#define QCOW2_COMPRESSION_ZLIB 0
#define QCOW2_COMPRESSION_ZSTD 1

/* header extension types */
#define QCOW2_EXT_END          0x00000000U
#define QCOW2_EXT_BACKING_FMT  0xe2792acaU
#define QCOW2_EXT_FEATURE_TABLE 0x6803f857U
#define QCOW2_EXT_BITMAPS      0x23852875U
#define QCOW2_EXT_CRYPTO       0x0537be77U
#define QCOW2_EXT_DATA_FILE    0x44415441U

/* L1/L2/refcount-table entry bits */
#define QCOW2_OFLAG_COPIED     (1ULL << 63)
#define QCOW2_OFLAG_COMPRESSED (1ULL << 62)
#define QCOW2_OFLAG_ZERO       (1ULL << 0)
#define L1E_OFFSET_MASK        0x00fffffffffffe00ULL
#define L1E_RESERVED_MASK      0x7f000000000001ffULL
#define L2E_OFFSET_MASK        0x00fffffffffffe00ULL
#define L2E_STD_RESERVED_MASK  0x3f000000000001feULL
#define REFT_OFFSET_MASK       0xfffffffffffffe00ULL
#define REFT_RESERVED_MASK     0x1ffULL

/* extended L2: 32 subclusters per cluster */
#define QCOW2_SUBCLUSTERS      32

/* The header as parsed (host byte order). Fields absent in v2 read as 0. */
struct qcow2_header {
	uint32_t version;
	uint64_t backing_file_offset;
	uint32_t backing_file_size;
	uint32_t cluster_bits;
	uint64_t size;
	uint32_t crypt_method;
	uint32_t l1_size;
	uint64_t l1_table_offset;
	uint64_t refcount_table_offset;
	uint32_t refcount_table_clusters;
	uint32_t nb_snapshots;
	uint64_t snapshots_offset;
	uint64_t incompatible_features;
	uint64_t compatible_features;
	uint64_t autoclear_features;
	uint32_t refcount_order;
	uint32_t header_length;
	uint8_t compression_type;
};

/* A header extension we keep verbatim when rewriting the header. */
struct qcow2_ext {
	uint32_t type;
	uint32_t len;
	uint8_t *data;
};

/* One entry of the feature name table. */
struct qcow2_feature {
	uint8_t type;   /* 0 incompatible, 1 compatible, 2 autoclear */
	uint8_t bit;
	char name[47];
};

struct qcow2_snapshot {
	uint64_t l1_table_offset;
	uint32_t l1_size;
	char *id_str;
	char *name;
	uint32_t date_sec;
	uint32_t date_nsec;
	uint64_t vm_clock_nsec;
	uint64_t vm_state_size;   /* 64-bit value (from extra data when present) */
	uint64_t disk_size;       /* from extra data; the image size when absent */
	uint64_t icount;          /* UINT64_MAX when absent/disabled */
	uint32_t extra_data_size;
	uint8_t *extra_data;      /* verbatim, kept when rewriting the table */
};

/* Persistent dirty bitmaps (limits as QEMU's). */
#define QCOW2_MAX_BITMAPS          65535
#define QCOW2_MAX_BITMAP_DIR       (1024ULL * QCOW2_MAX_BITMAPS)
#define QCOW2_BITMAP_MAX_NAME      1023
#define QCOW2_BITMAP_MIN_GRAN_BITS 9
#define QCOW2_BITMAP_MAX_GRAN_BITS 31
#define QCOW2_BME_FLAG_IN_USE      (1U << 0)  /* QEMU holds the bits in memory */
#define QCOW2_BME_FLAG_AUTO        (1U << 1)  /* enabled: writes set bits */
#define QCOW2_BME_FLAG_EXTRA_COMPAT (1U << 2)
#define QCOW2_BME_FLAGS_KNOWN      0x7U
#define QCOW2_BITMAP_MAX_TABLE     (64ULL * 1024 * 1024)   /* table bytes */
#define QCOW2_BITMAP_MAX_TABLES    (128ULL * 1024 * 1024)  /* all tables */
#define QCOW2_BITMAP_MAX_DATA      0x20000000ULL           /* data bytes (QEMU's) */

/* One bitmap directory entry (qcow2_bitmap_dir.c), and the bitmap's working
 * state (qcow2_bitmap.c). */
struct qcow2_bitmap {
	char *name;
	uint32_t flags;           /* QCOW2_BME_FLAG_* */
	uint8_t gran_bits;
	uint64_t table_offset;
	uint32_t table_size;      /* entries */
	uint32_t extra_len;
	uint8_t *extra;           /* extra data, kept verbatim */
	uint64_t *table;          /* host order; NULL until first needed */
	uint64_t cached_idx;      /* table index of the cluster in cached, or UINT64_MAX */
	uint8_t *cached;          /* one bitmap data cluster */
};

/* Classification of one (sub)cluster, following the spec. */
enum qcow2_cluster_type {
	QCOW2_CLUSTER_UNALLOCATED,   /* falls through to the backing file */
	QCOW2_CLUSTER_ZERO_PLAIN,    /* reads as zeros, no host cluster */
	QCOW2_CLUSTER_ZERO_ALLOC,    /* reads as zeros, host cluster preallocated */
	QCOW2_CLUSTER_NORMAL,        /* data at host offset */
	QCOW2_CLUSTER_COMPRESSED,    /* compressed data (whole cluster) */
};

struct qcow2_cache;

struct qcow2_state {
	struct image *img;            /* back pointer (filename, be, backing) */
	struct qcow2_header h;

	/* derived from the header */
	uint32_t cluster_bits;
	uint64_t cluster_size;
	bool extended_l2;
	uint32_t l2_entry_size;       /* 8, or 16 with extended L2 */
	uint64_t l2_entries;          /* entries per L2 table */
	uint64_t subcluster_size;     /* cluster_size / 32 with extended L2, else cluster_size */
	uint32_t refcount_bits;
	uint64_t refcount_max;
	uint64_t refblock_entries;    /* refcounts per refcount block */
	uint32_t csize_shift;         /* compressed descriptor split (62 - (cluster_bits - 8)) */
	uint64_t csize_mask;
	uint64_t cluster_offset_mask;

	/* active L1 table, host order; l1_alloc >= h.l1_size entries allocated */
	uint64_t *l1;
	uint64_t l1_alloc;
	/* refcount table, host order, reftable_size entries */
	uint64_t *reftable;
	uint64_t reftable_size;

	/* header extensions */
	char *backing_fmt;            /* backing format extension (NULL if none) */
	struct qcow2_feature *features;
	int nb_features;
	struct qcow2_ext *unknown_exts;  /* kept verbatim when rewriting */
	int nb_unknown_exts;
	uint8_t *extra_header;        /* header bytes between 112 and header_length */
	uint32_t extra_header_len;

	struct qcow2_snapshot *snapshots;
	int nb_snapshots;

	/* persistent dirty bitmaps (empty when the extension is absent or stale) */
	struct qcow2_bitmap *bitmaps;
	int nb_bitmaps;
	uint64_t bitmap_dir_offset, bitmap_dir_size;

	struct qcow2_cache *l2_cache;
	struct qcow2_cache *refcount_cache;

	pthread_mutex_t lock;
	pthread_cond_t alloc_cond;    /* signalled when an in-flight allocation ends */
	struct qcow2_inflight *inflight; /* guest ranges being allocated (qcow2_write.c) */

	uint64_t free_cluster_index;  /* allocation search hint (cluster index) */
	uint64_t free_byte_offset;    /* next free byte in the cluster being packed with
					 * compressed data; 0 = none (qcow2_refcount.c) */
	uint64_t file_size;           /* backend size at open, kept current by allocation */
	bool read_only;
	bool lazy_refcounts;          /* compatible bit set and image opened RDWR */
	bool dirty_set;               /* we set the dirty bit on disk this session */

	void *compress_ctx;           /* per-format compression state (qcow2_compress.c) */
	/* -1 not yet known; 1: metadata preallocated, so data clusters may be
	 * holes in the file and block_status asks the backend (qcow2_map.c) */
	int metadata_prealloc;
	struct qcow2_crypt *crypt;    /* NULL unless encrypted (qcow2_crypt.c) */
};

static inline struct qcow2_state *qcow2_state(struct image *img)
{
	return img->priv;
}

static inline uint64_t qcow2_offset_into_cluster(const struct qcow2_state *s, uint64_t off)
{
	return off & (s->cluster_size - 1);
}

static inline uint64_t qcow2_l1_index(const struct qcow2_state *s, uint64_t guest_off)
{
	return (guest_off >> s->cluster_bits) / s->l2_entries;
}

static inline uint64_t qcow2_l2_index(const struct qcow2_state *s, uint64_t guest_off)
{
	return (guest_off >> s->cluster_bits) % s->l2_entries;
}

/* L1 entries needed to map size bytes. */
static inline uint64_t qcow2_l1_entries_for(const struct qcow2_state *s, uint64_t size)
{
	uint64_t clusters = (size + s->cluster_size - 1) >> s->cluster_bits;
	return (clusters + s->l2_entries - 1) / s->l2_entries;
}

/* ---- qcow2_header.c ---- */
/* Parse and validate the first cluster (buf holds at least the whole header and
 * extension area: min(cluster_size, file size) bytes).  Fills s->h, the derived
 * fields, backing name (into img) and extensions.  Messages name img->filename. */
int qcow2_header_parse(struct qcow2_state *s, const uint8_t *buf, size_t len);
/* Fill the derived fields (cluster_size, l2_entries, refcount_bits...) from s->h. */
void qcow2_header_derive(struct qcow2_state *s);
/* Serialise s->h, extensions (backing format, feature table, unknown ones kept) and
 * the backing file name into cluster 0 and write it.  Fails with -ENOSPC (message
 * set) if it does not fit in one cluster. */
int qcow2_header_write(struct qcow2_state *s);
/* Keep one more extension (written verbatim by qcow2_header_write). */
int qcow2_header_add_ext(struct qcow2_state *s, uint32_t type, const uint8_t *data,
			  uint32_t len);
/* Rewrite only the 8-byte incompatible_features field (dirty/corrupt bits). */
int qcow2_header_write_incompat(struct qcow2_state *s);
/* Names of the set bits in mask using the feature table ("dirty, bit 7"). */
void qcow2_feature_names(const struct qcow2_state *s, int type, uint64_t mask,
			 char *buf, size_t buflen);

/* Remove every header extension of that type from s->unknown_exts. */
void qcow2_drop_ext(struct qcow2_state *s, uint32_t type);

/* ---- qcow2_bitmap_dir.c ---- */
/* Load and validate the directory (at open): s->bitmaps. */
int qcow2_bitmaps_load(struct qcow2_state *s);
void qcow2_bitmaps_free(struct qcow2_state *s);
/* Write s->bitmaps as a new directory, switch the header, free the old one
 * (s->lock held). */
int qcow2_bitmaps_store_dir(struct qcow2_state *s);
uint64_t qcow2_bitmap_table_entries(const struct qcow2_state *s, uint64_t size,
				    unsigned gran_bits);

/* ---- qcow2_bitmap.c ---- */
/* Load and check the table of every consistent bitmap (at open, as QEMU
 * does): a bad one fails the open. */
int qcow2_bitmaps_load_tables(struct qcow2_state *s);
/* Set the bits of [off, off+len) in every enabled bitmap (takes s->lock);
 * called before guest data is written. */
int qcow2_bitmaps_mark(struct qcow2_state *s, uint64_t off, uint64_t len);
bool qcow2_bitmap_supported(struct image *img);
int qcow2_bitmap_list(struct image *img, struct bitmap_info **out, int *nb);
int qcow2_bitmap_add(struct image *img, const char *name, uint64_t granularity,
		     bool disabled);
int qcow2_bitmap_remove(struct image *img, const char *name);
int qcow2_bitmap_clear(struct image *img, const char *name);
int qcow2_bitmap_enable(struct image *img, const char *name, bool enable);
int qcow2_bitmap_status(struct image *img, const char *name, uint64_t off, uint64_t len,
			uint64_t *run, bool *dirty);
int qcow2_bitmap_set_dirty(struct image *img, const char *name, uint64_t off, uint64_t len);

/* ---- qcow2_cache.c ---- (all calls with s->lock held) */
/* A cache of `entries` cluster-sized tables. */
struct qcow2_cache *qcow2_cache_create(struct qcow2_state *s, int entries);
void qcow2_cache_destroy(struct qcow2_cache *c);
/* Before writing a dirty table of c, flush dep first (L2 cache -> refcount cache). */
void qcow2_cache_set_dependency(struct qcow2_cache *c, struct qcow2_cache *dep);
/* Get the table at host offset (read from disk if not cached).  The table stays in
 * memory (raw on-disk byte order) until qcow2_cache_put(). */
int qcow2_cache_get(struct qcow2_cache *c, uint64_t offset, void **table);
/* Same, without reading: the table is zero-filled (for a newly allocated cluster). */
int qcow2_cache_get_empty(struct qcow2_cache *c, uint64_t offset, void **table);
void qcow2_cache_put(struct qcow2_cache *c, void **table);
void qcow2_cache_mark_dirty(struct qcow2_cache *c, void *table);
/* Write every dirty table (after flushing the dependency). */
int qcow2_cache_flush(struct qcow2_cache *c);
/* Forget the table at offset, if cached (its cluster was freed). */
void qcow2_cache_discard(struct qcow2_cache *c, uint64_t offset);
/* Drop every clean entry (used after check -r rewrote tables on disk). */
int qcow2_cache_empty(struct qcow2_cache *c);

/* ---- qcow2_map.c ---- (with s->lock held) */
/* Look up guest offset off: *bytes in = the most to look at, out = length of the
 * run (within one L2 table) of the same type and (for NORMAL/ZERO_ALLOC)
 * contiguous host offsets.  *host_off: host offset of off for NORMAL/ZERO_ALLOC;
 * for COMPRESSED the raw L2 entry (descriptor) instead. */
int qcow2_get_host_offset(struct qcow2_state *s, uint64_t off, uint64_t *bytes,
			  uint64_t *host_off, enum qcow2_cluster_type *type);
/* Classify one L2 entry (bitmap = second word with extended L2, else 0) for the
 * subcluster sc (0 when not extended). */
enum qcow2_cluster_type qcow2_classify(const struct qcow2_state *s, uint64_t l2_entry,
				       uint64_t l2_bitmap, unsigned sc);
int qcow2_block_status(struct image *img, uint64_t off, uint64_t len,
		       struct block_status *bs);
/* Read/modify L2 entries in a table held from the cache (index = entry number). */
uint64_t qcow2_l2_entry_get(const struct qcow2_state *s, const void *table, uint64_t idx);
uint64_t qcow2_l2_bitmap_get(const struct qcow2_state *s, const void *table, uint64_t idx);
void qcow2_l2_entry_set(const struct qcow2_state *s, void *table, uint64_t idx, uint64_t v);
void qcow2_l2_bitmap_set(const struct qcow2_state *s, void *table, uint64_t idx, uint64_t v);
/* Host offset and byte length of a compressed cluster's data from its descriptor. */
void qcow2_compressed_extent(const struct qcow2_state *s, uint64_t l2_entry,
			     uint64_t *host_off, uint64_t *nbytes);
/* Decide (once, at open) whether s->metadata_prealloc applies. */
void qcow2_detect_metadata_prealloc(struct qcow2_state *s);

/* ---- qcow2_read.c ---- */
int qcow2_read(struct image *img, void *buf, uint64_t off, size_t len);

/* ---- qcow2_compress.c ---- */
/* Decompress the cluster described by l2_entry into out (cluster_size bytes). */
int qcow2_decompress_cluster(struct qcow2_state *s, uint64_t l2_entry, uint8_t *out);
/* Compress in (len <= cluster_size) into out (cap bytes) with the image's
 * compression type.  Returns the compressed size, or -ENOSPC if it does not fit
 * in cap (the caller then writes the cluster uncompressed). */
int qcow2_compress_buffer(const struct qcow2_state *s, const void *in, size_t len,
			  void *out, size_t cap);
/* Read len bytes at in_cluster of the compressed cluster described by l2_entry
 * (without s->lock; keeps the last decompressed cluster of a read-only image). */
int qcow2_read_compressed(struct qcow2_state *s, uint64_t l2_entry, uint64_t in_cluster,
			  void *buf, size_t len);
/* Free s->compress_ctx (at close). */
void qcow2_compress_state_free(struct qcow2_state *s);
/* Inflate raw deflate (any window; QEMU writes a 4 KiB one) until out_len bytes
 * are produced, with this thread's codec: 0, -EIO (corrupt) or -ENOMEM, no
 * message.  qcow (v1) compresses its clusters the same way and uses it too. */
int qcow2_inflate_raw(const void *in, size_t in_len, void *out, size_t out_len);

/* ---- qcow2_snapshot_table.c ---- */
int qcow2_snapshot_table_read(struct qcow2_state *s);
void qcow2_snapshot_table_free(struct qcow2_state *s);
/* The on-disk table for list[0..n) (entries padded to 8 bytes) in a malloc'd
 * buffer; *len 0 and *out NULL for an empty list. */
int qcow2_snapshot_table_serialize(struct qcow2_state *s, const struct qcow2_snapshot *list,
				   int n, uint8_t **out, uint64_t *len);

/* ---- qcow2_snapshot.c ---- (internal snapshots; take s->lock themselves) */
int qcow2_snapshot_create(struct image *img, const char *name);
int qcow2_snapshot_list(struct image *img, struct snapshot_info **out, int *nb);
int qcow2_snapshot_apply(struct image *img, const char *id_or_name);
int qcow2_snapshot_delete(struct image *img, const char *id_or_name);
int qcow2_snapshot_open(struct image *img, const char *id, const char *name);

/* ---- qcow2_amend.c ---- */
int qcow2_amend(struct image *img, struct opts *opts);
extern const struct create_opt qcow2_amend_opts[];

/* ---- qcow2_info.c ---- */
int qcow2_info(struct image *img, struct image_info *info);

/* ---- qcow2_refcount.c ---- (with s->lock held) */
/* Load the refcount table (at open). */
int qcow2_refcount_init(struct qcow2_state *s);
int qcow2_refcount_get(struct qcow2_state *s, uint64_t cluster_index, uint64_t *refcount);
/* Add delta to the refcount of every cluster touching [offset, offset+len). */
int qcow2_refcount_update(struct qcow2_state *s, uint64_t offset, uint64_t len,
			  int64_t delta);
/* Allocate n contiguous clusters (refcount 1); returns the host offset. */
int qcow2_alloc_clusters(struct qcow2_state *s, uint64_t n, uint64_t *offset);
/* Allocate len bytes for compressed data, packed byte-granular. */
int qcow2_alloc_bytes(struct qcow2_state *s, uint64_t len, uint64_t *offset);
/* Drop a reference to [offset, offset+len). */
int qcow2_free_clusters(struct qcow2_state *s, uint64_t offset, uint64_t len);

/* ---- qcow2_write.c ---- */
int qcow2_write(struct image *img, const void *buf, uint64_t off, size_t len);
int qcow2_write_from(struct image *img, uint64_t off, struct backend *src, uint64_t src_off,
		     size_t len);
int qcow2_write_zeroes(struct image *img, uint64_t off, uint64_t len, int flags);
int qcow2_write_compressed(struct image *img, const void *buf, uint64_t off, size_t len);
int qcow2_flush(struct image *img);
/* Grow the active L1 to at least min_size entries (with s->lock held). */
int qcow2_grow_l1(struct qcow2_state *s, uint64_t min_size);
/* Flush caches and clear the dirty bit if we set it (at close). */
int qcow2_write_close(struct qcow2_state *s);
/* Allocate L2 tables and data clusters for [off, end) (metadata mode; falloc and
 * full also reserve/write the new file area) - for create and resize. */
int qcow2_preallocate(struct qcow2_state *s, uint64_t off, uint64_t end,
		      enum prealloc_mode mode);

/* ---- qcow2_create.c / qcow2_resize.c / qcow2_measure.c ---- */
int qcow2_create(struct backend *be, const char *filename, uint64_t size,
		 struct opts *opts);
extern const struct create_opt qcow2_create_opts[];
int qcow2_create_precheck(const char *filename, uint64_t size, struct opts *opts);
int qcow2_resize(struct image *img, uint64_t new_size, enum prealloc_mode prealloc,
		 bool shrink);
int qcow2_measure(struct opts *opts, uint64_t size, struct image *src,
		  struct measure_result *res);

/* ---- qcow2_backing.c ---- */
int qcow2_set_backing(struct image *img, const char *name, const char *fmt);
int qcow2_make_empty(struct image *img);

/* ---- qcow2_crypt.c ---- */
bool qcow2_encrypted(const struct qcow2_state *s);
/* After the header is parsed: the LUKS header, and the key unless IMG_NO_IO. */
int qcow2_crypt_open(struct qcow2_state *s, int flags);
void qcow2_crypt_close(struct qcow2_state *s);
/* Guest data at host (whole sectors when encrypted); guest is its guest offset. */
int qcow2_data_pread(struct qcow2_state *s, void *buf, size_t len, uint64_t host, uint64_t guest);
int qcow2_data_pwrite(struct qcow2_state *s, const void *buf, size_t len, uint64_t host,
		      uint64_t guest);
/* Requests not on sector boundaries, through whole sectors. */
int qcow2_crypt_read_unaligned(struct image *img, void *buf, uint64_t off, size_t len);
int qcow2_crypt_write_unaligned(struct image *img, const void *buf, uint64_t off, size_t len);
struct json_object *qcow2_crypt_info(struct qcow2_state *s);
/* -o encrypt.format=luks for a new image: refuse early (no file yet), then set
 * up its LUKS header in new clusters of the freshly made image. */
int qcow2_crypt_precheck(const char *fn, struct opts *o);
int qcow2_crypt_init_new(struct qcow2_state *s, struct opts *o);
bool qcow2_crypt_wanted(struct opts *o);
int qcow2_crypt_amend(struct qcow2_state *s, struct opts *o);
/* The clusters holding the LUKS header and key material, if any. */
bool qcow2_crypt_area(const struct qcow2_state *s, uint64_t *off, uint64_t *len);

/* ---- qcow2_check.c ---- */
int qcow2_check(struct image *img, int fix, struct check_result *res);
/* Full check with repair; used on open of a dirty image (lazy refcounts). */
int qcow2_repair_dirty(struct qcow2_state *s);

#endif
