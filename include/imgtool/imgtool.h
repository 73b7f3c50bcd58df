/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * imgtool.h - libimgtool's public API: open, create, read, write, block status,
 * info, check and convert disk images (raw, qcow2, vmdk, vpc, vhdx) on files,
 * block devices and nfs://, iscsi://, rbd: URLs, for programs that embed
 * conversion (backup tools, cloud image importers).
 *
 * Conventions:
 *  - functions return 0 (or a count) on success and a negative errno on failure;
 *    imgtool_error() then says why, in one line naming the file.  The message is
 *    per thread.
 *  - an imgtool_image is opaque; one handle may be read and written from several
 *    threads at once, but imgtool_close() must be the last call on it.
 *  - ABI: the soname is libimgtool.so.0; symbols carry the version IMGTOOL_0.
 *    Structures the library fills begin with a size field the caller sets, so
 *    that later versions can append members.
 *
 * Build with: cc prog.c $(pkg-config --cflags --libs imgtool)
 */
#ifndef IMGTOOL_IMGTOOL_H
#define IMGTOOL_IMGTOOL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct imgtool_image imgtool_image;

/* "0.1": the library's version. */
const char *imgtool_version(void);

/* The calling thread's message for the last failure ("" when none). */
const char *imgtool_error(void);

/* imgtool_open flags */
#define IMGTOOL_OPEN_RDWR       0x1u  /* open for writing */
#define IMGTOOL_OPEN_NO_BACKING 0x2u  /* do not open the backing chain */

/* Open filename (a path, a block device or a URL: see imgtool-urls(7)).  format
 * NULL probes it; a probe that finds only raw is refused for writing. */
int imgtool_open(const char *filename, const char *format, unsigned flags,
		 imgtool_image **out);
void imgtool_close(imgtool_image *img);

/* Create an image of size bytes; options is a qemu-img "-o" list such as
 * "compat=1.1,cluster_size=2M" (NULL: none).  Size 0 is allowed with a
 * backing_file option (the size is then the backing file's). */
int imgtool_create(const char *filename, const char *format, uint64_t size,
		   const char *options);

/* The virtual size in bytes and the format's name ("qcow2"). */
uint64_t imgtool_get_size(imgtool_image *img);
const char *imgtool_get_format(imgtool_image *img);

/* Guest bytes [offset, offset+len), within the virtual size. */
int imgtool_read(imgtool_image *img, void *buf, uint64_t offset, size_t len);
int imgtool_write(imgtool_image *img, const void *buf, uint64_t offset, size_t len);
int imgtool_flush(imgtool_image *img);

/* block status flags */
#define IMGTOOL_STATUS_DATA      0x1u  /* reading needs the stored bytes */
#define IMGTOOL_STATUS_ZERO      0x2u  /* reads as zeros */
#define IMGTOOL_STATUS_ALLOCATED 0x4u  /* some layer of the chain stores the range */

struct imgtool_extent {
	uint64_t length;   /* bytes from the queried offset with these flags (> 0) */
	unsigned flags;    /* IMGTOOL_STATUS_* */
	int depth;         /* the layer that answers: 0 = the image, 1 = its backing... */
};

/* Status of the range starting at offset (len > 0), looking through the backing
 * chain: ext->length says how far the answer holds (at most len). */
int imgtool_block_status(imgtool_image *img, uint64_t offset, uint64_t len,
			 struct imgtool_extent *ext);

struct imgtool_info {
	size_t size;               /* set to sizeof(struct imgtool_info) */
	uint64_t virtual_size;
	int64_t actual_size;       /* bytes used on storage; -1 when unknown */
	uint64_t cluster_size;     /* 0 when the format has none */
	int dirty;                 /* the image was not closed cleanly */
	int encrypted;
	int nb_snapshots;
	const char *format;        /* these strings live as long as the handle */
	const char *backing_file;  /* NULL when none */
	const char *backing_format;
};

int imgtool_info(imgtool_image *img, struct imgtool_info *info);

/* imgtool_check repair flags (the image must be open with IMGTOOL_OPEN_RDWR) */
#define IMGTOOL_CHECK_FIX_LEAKS  0x1u
#define IMGTOOL_CHECK_FIX_ERRORS 0x2u

struct imgtool_check_result {
	size_t size;               /* set to sizeof(struct imgtool_check_result) */
	int corruptions;
	int leaks;
	int check_errors;
	int corruptions_fixed;
	int leaks_fixed;
};

/* Check the image's metadata (as `imgtool check`): 0 when the check ran, whatever
 * it found; -ENOTSUP for formats without checks (raw). */
int imgtool_check(imgtool_image *img, unsigned repair, struct imgtool_check_result *res);

/* Called from the copy threads as data is copied (any thread, rate limited to
 * about one call per percent). */
typedef void (*imgtool_progress_fn)(uint64_t done, uint64_t total, void *opaque);

/* imgtool_convert flags */
#define IMGTOOL_CONVERT_COMPRESS 0x1u  /* compressed clusters (qcow2, vmdk stream) */

/* Copy src (format NULL: probe) into a new image dst of dst_format with the "-o"
 * options (NULL: none), as `imgtool convert`: holes are not read and zero runs
 * stay holes.  progress may be NULL. */
int imgtool_convert(const char *src, const char *src_format, const char *dst,
		    const char *dst_format, const char *options, unsigned flags,
		    imgtool_progress_fn progress, void *opaque);

/* The digest of the image's guest-visible content as `imgtool checksum` prints
 * it ("imgtool-sha256", 64 hex digits and a NUL into hex, len >= 65): equal for
 * equal content in any format or chain; holes are never read. */
int imgtool_checksum(imgtool_image *img, char *hex, size_t len);

#ifdef __cplusplus
}
#endif

#endif
