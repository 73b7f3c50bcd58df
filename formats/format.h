/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * format.h - a virtual disk: the interface every image format implements, and the
 * public API the CLI, the copy engine and the launcher use.
 *
 * An image is a format (raw, qcow2, ...) over one backend (backends/backend.h), plus
 * an optional backing image.  Formats never know which backend they sit on.
 *
 * Conventions for every format:
 *  - offsets and lengths are guest (virtual disk) bytes; image_read()/image_write()
 *    check them against the virtual size before calling the format.
 *  - data I/O may run from several threads at once; a format serialises its own
 *    metadata updates and orders them so that a crash at any instant leaves at worst
 *    leaked clusters.
 *  - errors are negative errno with the message set (err.h) naming the file.
 *  - every byte read from a file is untrusted: check offsets, sizes and counts
 *    before use and cap allocations.
 */
#ifndef IMGTOOL_FORMAT_H
#define IMGTOOL_FORMAT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../backends/backend.h"
#include "../common/opts.h"

struct json_object;
struct image;

/* image_open flags */
#define IMG_RDWR        0x0001  /* open for writing */
#define IMG_NO_BACKING  0x0002  /* do not open the backing chain */
#define IMG_REPAIR      0x0004  /* opened by check -r: allow opening a corrupt image */
#define IMG_CHECK       0x0008  /* opened by check: do not auto-repair a dirty image */
/* reference policy (formats/reference.h); inherited by the whole backing chain */
#define IMG_UNTRUSTED       0x0010  /* follow no reference out of the image; cap sizes */
#define IMG_ALLOW_REF_URLS  0x0020  /* references inside images may name URLs */
#define IMG_ALLOW_REF_PATHS 0x0040  /* extents and parents may leave the image's folder */
#define IMG_NO_IO       0x0080  /* metadata only (info): an encrypted image opens without its key */
#define IMG_REF_FLAGS (IMG_UNTRUSTED | IMG_ALLOW_REF_URLS | IMG_ALLOW_REF_PATHS)
#define IMG_BE_SHIFT    8       /* BE_NOCACHE etc. (cache mode) live above this shift */
#define IMG_BE_FLAGS(f) ((f) << IMG_BE_SHIFT)

/* image_write_zeroes flags */
#define IMG_ZERO_MAY_UNMAP 0x01 /* deallocating is fine if the range still reads as zeros */

/* block_status flags (for one layer) */
#define BS_DATA         0x01  /* reading needs the stored bytes (not known to be zero) */
#define BS_ZERO         0x02  /* reads as zeros */
#define BS_ALLOCATED    0x04  /* this layer decides the contents (no fall-through) */
#define BS_OFFSET_VALID 0x08  /* the bytes lie raw at host_offset in img->be */
#define BS_COMPRESSED   0x10  /* stored compressed */

struct block_status {
	uint64_t length;      /* bytes from the queried offset sharing this status (> 0) */
	unsigned flags;       /* BS_* */
	uint64_t host_offset; /* valid with BS_OFFSET_VALID */
	int depth;            /* set by image_block_status_above(): 0 = top layer */
};

struct snapshot_info {
	char *id;
	char *name;
	uint64_t vm_state_size;
	uint32_t date_sec, date_nsec;
	uint64_t vm_clock_nsec;
	uint64_t icount;         /* UINT64_MAX when not recorded */
	uint64_t disk_size;      /* virtual size at snapshot time */
};

/* What `info` prints.  The generic part is filled by image_info(); the format adds
 * its own keys to format_specific (a json-c object, the "data" of qemu-img's
 * "format-specific") and may set the other fields. */
struct image_info {
	uint64_t virtual_size;
	int64_t actual_size;          /* -1 when unknown */
	uint64_t cluster_size;        /* 0 when the format has none */
	bool dirty_flag;
	bool has_dirty_flag;          /* the format has a dirty flag to report */
	bool no_driver_info;          /* qemu's driver has no get_info (cloop, bochs,
				       * dmg, parallels): its JSON shows no dirty-flag */
	bool encrypted;
	bool compressed;              /* vmdk streamOptimized etc. */
	struct snapshot_info *snapshots;
	int nb_snapshots;
	struct json_object *format_specific; /* may stay NULL */
};

/* A persistent dirty bitmap, as `bitmap_list` reports it. */
struct bitmap_info {
	char *name;
	uint64_t granularity;    /* guest bytes per bit */
	bool enabled;            /* guest writes set bits (qcow2's "auto" flag) */
	bool in_use;             /* left in use by a crashed writer: inconsistent */
};

struct check_result {
	int corruptions;
	int leaks;
	int check_errors;
	int corruptions_fixed;
	int leaks_fixed;
	uint64_t image_end_offset;
	uint64_t total_clusters;
	uint64_t allocated_clusters;
	uint64_t fragmented_clusters;
	uint64_t compressed_clusters;
	bool has_cluster_stats;       /* the counters above are meaningful */
};

/* check repair modes */
#define CHECK_FIX_LEAKS  0x1
#define CHECK_FIX_ERRORS 0x2

struct measure_result {
	uint64_t required;
	uint64_t fully_allocated;
	uint64_t bitmaps;        /* bytes the source's bitmaps need (convert --bitmaps) */
	bool has_bitmaps;        /* report it: the target and source can hold bitmaps */
};

/* Preallocation modes shared by create and resize. */
enum prealloc_mode {
	PREALLOC_OFF,
	PREALLOC_METADATA,
	PREALLOC_FALLOC,
	PREALLOC_FULL,
};
int parse_prealloc(const char *s, enum prealloc_mode *out);
const char *prealloc_name(enum prealloc_mode m);

/* The -o options a format takes (QEMU's BlockDriver create_opts/amend_opts): one
 * table per format drives `-o help`, the check image_create() makes before any
 * file exists (an undeclared key or a value of the wrong type is refused with
 * qemu-img's words) and the "Formatting ..." line.  The format's create() still
 * reads the values and judges combinations. */
enum create_opt_type {
	OPT_TYPE_STRING,
	OPT_TYPE_BOOL,      /* on/off (also yes/no, true/false, 1/0) */
	OPT_TYPE_NUMBER,    /* a plain unsigned number */
	OPT_TYPE_SIZE,      /* a size with qemu's suffixes; printed in bytes */
	OPT_TYPE_ENUM,      /* one of values[] (listed by -o help as a string) */
};

struct create_opt {
	const char *name;
	enum create_opt_type type;
	const char *help;
	const char *def;            /* "Formatting" shows it when not given; NULL: hidden */
	const char *const *values;  /* OPT_TYPE_ENUM: the accepted values, NULL-ended */
	/* qemu-img lists it at the protocol level (the file under the image): shown
	 * by -o help only when a file name is given */
	bool protocol;
};

struct format_ops {
	const char *name;
	const char *const *aliases;   /* other names accepted by -f (NULL-terminated) */

	/* What create accepts, in qemu-img's "Formatting" order; ends with a NULL name.
	 * amend_opts: what amend accepts (NULL: no amend). */
	const struct create_opt *create_opts;
	const struct create_opt *amend_opts;

	/* Score 0 (not mine) .. 100 (certain) from the first bytes of the file. */
	int (*probe)(const uint8_t *buf, size_t len, const char *filename);

	/* img->be is open; fill img->size, img->priv, backing name/format etc. */
	int (*open)(struct image *img, int flags);
	void (*close)(struct image *img);

	/* be is freshly created and empty.  opts holds the -o options, already
	 * checked against create_opts (declared keys, values of their type). */
	int (*create)(struct backend *be, const char *filename, uint64_t size,
		      struct opts *opts);
	/* optional: what create would refuse that can be judged before any file
	 * exists (a missing secret), so that a refused create leaves nothing. */
	int (*create_precheck)(const char *filename, uint64_t size, struct opts *opts);

	int (*read)(struct image *img, void *buf, uint64_t off, size_t len);
	int (*write)(struct image *img, const void *buf, uint64_t off, size_t len);
	/* optional: without it zeros are written as data */
	int (*write_zeroes)(struct image *img, uint64_t off, uint64_t len, int flags);
	/* optional: one whole cluster (the last may be short), compressed if it shrinks */
	int (*write_compressed)(struct image *img, const void *buf, uint64_t off, size_t len);
	/* optional: write [off, off+len) with the bytes of src at src_off, copied by
	 * backend_copy_range() (copy offloading); -ENOTSUP without a message and
	 * nothing written where it cannot (the caller reads and writes instead). */
	int (*write_from)(struct image *img, uint64_t off, struct backend *src, uint64_t src_off,
			  size_t len);
	/* Status of [off, off+len) in this layer only; len > 0 and in bounds. */
	int (*block_status)(struct image *img, uint64_t off, uint64_t len,
			    struct block_status *bs);
	int (*flush)(struct image *img);    /* NULL for a read-only format */

	/* optional */
	int (*info)(struct image *img, struct image_info *info);
	int (*check)(struct image *img, int fix, struct check_result *res);
	int (*resize)(struct image *img, uint64_t new_size, enum prealloc_mode prealloc,
		      bool shrink);
	/* Size a new image of this format needs for a disk of `size` bytes whose
	 * contents are src (NULL: an empty disk). */
	int (*measure)(struct opts *opts, uint64_t size, struct image *src,
		       struct measure_result *res);
	/* optional: store a new backing file name (as it will be written, relative
	 * to the image's folder or absolute) and format in the image; name NULL
	 * makes the image standalone.  Only the metadata changes; data written
	 * before is flushed first.  img->backing_name/backing_format follow. */
	int (*set_backing)(struct image *img, const char *name, const char *fmt);
	/* optional: make the whole image unallocated so that every read falls
	 * through to the backing file (commit empties the overlay this way). */
	int (*make_empty)(struct image *img);

	/* optional: internal snapshots.  id_or_name matches an id first, then a
	 * name (qemu's rule).  create/apply/delete need IMG_RDWR and leave at worst
	 * leaked clusters when interrupted.  list fills a malloc'd array (free it
	 * with image_snapshot_list_free). */
	int (*snapshot_create)(struct image *img, const char *name);
	int (*snapshot_list)(struct image *img, struct snapshot_info **out, int *nb);
	int (*snapshot_apply)(struct image *img, const char *id_or_name);
	int (*snapshot_delete)(struct image *img, const char *id_or_name);
	/* Make a read-only image show a snapshot's contents and size instead of
	 * the active state (convert -l).  id or name may be NULL; given both, both
	 * must match. */
	int (*snapshot_open)(struct image *img, const char *id, const char *name);
	/* optional: change creation options of an existing image (amend -o); opts
	 * already checked against amend_opts. */
	int (*amend)(struct image *img, struct opts *opts);

	/* optional: persistent dirty bitmaps.  Changes need IMG_RDWR; the format
	 * sets the bits of enabled bitmaps on every guest write itself.  Messages
	 * are QEMU's, without the file name (the CLI says which operation).
	 * list: malloc'd array, free with image_bitmap_list_free.  status: of
	 * [off, off+len) (len > 0), *run bytes from off share *dirty. */
	bool (*bitmap_supported)(struct image *img);
	int (*bitmap_list)(struct image *img, struct bitmap_info **out, int *nb);
	int (*bitmap_add)(struct image *img, const char *name, uint64_t granularity,
			  bool disabled);
	int (*bitmap_remove)(struct image *img, const char *name);
	int (*bitmap_clear)(struct image *img, const char *name);
	int (*bitmap_enable)(struct image *img, const char *name, bool enable);
	int (*bitmap_status)(struct image *img, const char *name, uint64_t off, uint64_t len,
			     uint64_t *run, bool *dirty);
	int (*bitmap_set_dirty)(struct image *img, const char *name, uint64_t off,
				uint64_t len);
};

struct image {
	const struct format_ops *ops;
	struct backend *be;
	char *filename;          /* as given by the user; used in every message */
	uint64_t size;           /* virtual size in bytes */
	int flags;               /* IMG_* given at open */
	uint32_t cluster_size;   /* allocation unit (1 for raw); copy chunks align to it */
	bool zero_init;          /* a freshly created image reads as zeros everywhere */
	bool whole_clusters;     /* writers should cover whole clusters, in ascending
				  * order where they can (a streamOptimized vmdk): the
				  * copy engine then reads partly-data clusters whole */

	/* backing chain: names as stored in the image, the resolved path, and the
	 * opened backing image (NULL when none or IMG_NO_BACKING) */
	char *backing_name;
	char *backing_path;
	char *backing_format;
	struct image *backing;

	void *priv;              /* format private state */
};

/* Registry: formats in probe order. */
extern const struct format_ops *const format_registry[];
const struct format_ops *format_find(const char *name);

/* Probe the content of an open backend; the best score wins, raw (score 1) last. */
const struct format_ops *format_probe(struct backend *be, const char *filename);

/* Open filename (any backend URL).  format NULL probes; a probe that finds only raw
 * is refused for IMG_RDWR and for backing files (qemu's rule: never write into or
 * trust a guessed raw image).  The backing chain is opened read-only below it, with
 * loops and depth > 64 refused. */
int image_open(const char *filename, const char *format, int flags, struct image **out);
/* The same over a backend the caller has opened already (a window of an archive:
 * backends/slice/slice.h), named filename in messages.  The image takes ownership
 * of be, also on failure.  A backing file named by the image is refused: there
 * is no folder to find it in. */
int image_open_backend(struct backend *be, const char *filename, const char *format,
		       int flags, struct image **out);
void image_close(struct image *img);

/* Create an image: the backend object is created and the format writes its
 * metadata.  size 0 is allowed where the format can take it from a backing file. */
int image_create(const char *filename, const char *format, uint64_t size,
		 struct opts *opts);
/* image_create with IMG_CREATE_* flags. */
#define IMG_CREATE_EXCL 0x01   /* a local file that must not exist yet (O_EXCL): an
				* existing file is never overwritten, even one created
				* meanwhile; on failure the new file is removed.  Single-file
				* formats only (a vmdk's extra extent files are not covered). */
int image_create_flags(const char *filename, const char *format, uint64_t size,
		       struct opts *opts, int flags);

/* create_opts.c: the option tables.  The entry named name, or NULL. */
const struct create_opt *create_opt_find(const struct create_opt *list, const char *name);
/* Every key of o declared in list and its value of the declared type; else
 * -EINVAL with qemu-img's message naming filename (may be NULL). */
int create_opts_check(const struct create_opt *list, const char *filename,
		      const struct opts *o);
/* For amend: every key of o in ops->amend_opts with a value of its type; a
 * creation-only option is refused in qemu-img's two lines. */
int amend_opts_check(const struct format_ops *ops, const struct opts *o);
/* qemu's printed type name: "str", "bool (on/off)", "num", "size". */
const char *create_opt_type_name(enum create_opt_type type);

int image_read(struct image *img, void *buf, uint64_t off, size_t len);
int image_write(struct image *img, const void *buf, uint64_t off, size_t len);
int image_write_zeroes(struct image *img, uint64_t off, uint64_t len, int flags);
int image_write_compressed(struct image *img, const void *buf, uint64_t off, size_t len);
/* Copy offloading: the guest range [off, off+len) of img gets the bytes stored
 * raw in src at src_off (a source's BS_OFFSET_VALID run); -ENOTSUP without a
 * message when the format or the backends cannot offload. */
int image_write_from(struct image *img, uint64_t off, struct backend *src, uint64_t src_off,
		     size_t len);
int image_flush(struct image *img);

/* Status of one layer, and of the whole chain (the first layer that allocates the
 * range answers; unallocated everywhere reads as zeros with BS_ALLOCATED clear). */
int image_block_status(struct image *img, uint64_t off, uint64_t len,
		       struct block_status *bs);
int image_block_status_above(struct image *img, uint64_t off, uint64_t len,
			     struct block_status *bs);

/* Read through the backing chain for a range this layer does not allocate: from
 * img->backing when present (zeros past its end), else zeros.  For formats. */
int image_read_backing(struct image *img, void *buf, uint64_t off, size_t len);

int image_info(struct image *img, struct image_info *info);
/* The info op of a format qemu prints nothing of but the generic part. */
int image_info_generic_only(struct image *img, struct image_info *info);
void image_info_free(struct image_info *info);
int image_check(struct image *img, int fix, struct check_result *res);
int image_resize(struct image *img, uint64_t new_size, enum prealloc_mode prealloc,
		 bool shrink);
int image_measure(const char *format, struct opts *opts, uint64_t size,
		  struct image *src, struct measure_result *res);

/* Change the backing file recorded in img (NULL name: none); see set_backing. */
int image_set_backing(struct image *img, const char *name, const char *fmt);
/* Deallocate everything so that reads fall through to the backing file. */
int image_make_empty(struct image *img);

/* Internal snapshots (see the snapshot_* ops); -ENOTSUP for formats without. */
int image_snapshot_create(struct image *img, const char *name);
int image_snapshot_list(struct image *img, struct snapshot_info **out, int *nb);
void image_snapshot_list_free(struct snapshot_info *list, int nb);
int image_snapshot_apply(struct image *img, const char *id_or_name);
int image_snapshot_delete(struct image *img, const char *id_or_name);
int image_snapshot_open(struct image *img, const char *id, const char *name);
/* Change options of an existing image (amend -o). */
int image_amend(struct image *img, struct opts *opts);

/* Persistent dirty bitmaps (formats/bitmap.c; -ENOTSUP for formats without).
 * image_bitmap_supported: the image can hold them (qcow2 v3). */
bool image_bitmap_supported(struct image *img);
int image_bitmap_list(struct image *img, struct bitmap_info **out, int *nb);
void image_bitmap_list_free(struct bitmap_info *list, int nb);
/* QEMU's default granularity: the cluster size, at least 4 KiB (64 KiB without). */
uint64_t image_bitmap_default_granularity(struct image *img);
int image_bitmap_add(struct image *img, const char *name, uint64_t granularity,
		     bool disabled);
int image_bitmap_remove(struct image *img, const char *name);
int image_bitmap_clear(struct image *img, const char *name);
int image_bitmap_enable(struct image *img, const char *name, bool enable);
/* Set in dst's bitmap every bit set in src's bitmap src_name (src may be dst). */
int image_bitmap_merge(struct image *dst, const char *name, struct image *src,
		       const char *src_name);
/* convert --bitmaps: every bitmap of src created in dst with its granularity,
 * state and bits; an in-use one is an error, or skipped with a warning through
 * warn (may be NULL) when skip_broken. */
int image_bitmaps_copy(struct image *src, struct image *dst, bool skip_broken,
		       void (*warn)(const char *name));
/* What image_bitmaps_copy checks of src before anything is copied. */
int image_bitmaps_copy_check(struct image *src, bool skip_broken);
/* Bytes the bitmaps of src need in a qcow2 image of cluster size cs. */
int image_bitmaps_size(struct image *src, uint64_t cs, uint64_t *bytes);

/* Resolve a name relative to an image's location: its folder, or for an image
 * opened by URL that URL's folder (absolute names and URLs are returned as they
 * are).  Returns a malloc'd string.  No policy check: for names the user typed;
 * names read from an image go through ref_resolve() (reference.h). */
char *image_resolve_backing(const char *image_filename, const char *backing_name);

#endif
