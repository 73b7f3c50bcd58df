/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * backend.h - bytes on storage: the interface every storage backend implements.
 *
 * A backend is a byte-addressed object (a file, a block device, later an NFS file,
 * an iSCSI LUN or an RBD image) opened by URL.  It knows nothing of image formats.
 * Formats call the backend_*() wrappers below, never the ops directly.
 *
 * Contract for every backend:
 *  - pread/pwrite transfer exactly len bytes at any offset and any alignment (a
 *    backend with a sector size or O_DIRECT hides it with read-modify-write).
 *  - reads past the end of the object return zeros (as qemu's file driver does);
 *    formats bounds-check their metadata against backend_size() themselves.
 *  - every call may come from several threads at once.
 *  - errors: a negative errno, with the message set (err.h) naming the URL.
 */
#ifndef IMGTOOL_BACKEND_H
#define IMGTOOL_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

/* open flags */
#define BE_RDWR      0x01   /* open for writing */
#define BE_CREATE    0x02   /* create (and truncate) the object */
#define BE_NOCACHE   0x04   /* bypass the host page cache (cache=none/directsync: O_DIRECT) */
#define BE_DSYNC     0x08   /* every write is durable on return (writethrough/directsync) */
#define BE_NOFLUSH   0x10   /* flush is a no-op (cache=unsafe) */

/* write_zeroes flags */
#define BE_ZERO_MAY_UNMAP 0x01  /* the range may be deallocated (punched) */

struct backend;

struct backend_ops {
	const char *name;                /* "file", "nfs", ... */
	/* true if this backend handles the URL (e.g. starts with "nfs://") */
	bool (*match)(const char *url);
	int (*open)(struct backend *be, const char *url, int flags);
	void (*close)(struct backend *be);
	int (*pread)(struct backend *be, void *buf, size_t len, uint64_t off);
	int (*pwrite)(struct backend *be, const void *buf, size_t len, uint64_t off);
	int (*flush)(struct backend *be);
	int (*get_size)(struct backend *be, uint64_t *size);
	/* optional: -ENOTSUP where the storage cannot change size */
	int (*truncate)(struct backend *be, uint64_t size);
	/* optional: -ENOTSUP where zeroing is not cheap (caller writes zeros instead) */
	int (*write_zeroes)(struct backend *be, uint64_t off, uint64_t len, int flags);
	/* optional: deallocate; contents afterwards are unspecified (-ENOTSUP if unable) */
	int (*discard)(struct backend *be, uint64_t off, uint64_t len);
	/* optional: reserve space (fallocate mode 0) so later writes cannot fail ENOSPC */
	int (*preallocate)(struct backend *be, uint64_t off, uint64_t len);
	/* optional: is [off, off+len) data or hole?  Sets *data and the length of the run
	 * starting at off (<= len).  Without it everything is data. */
	int (*extent)(struct backend *be, uint64_t off, uint64_t len, bool *data, uint64_t *run);
	/* optional: bytes the object occupies on storage (qemu's "actual-size") */
	int (*allocated_size)(struct backend *be, uint64_t *size);
	/* optional: copy len bytes of src (a backend with the same ops) at src_off
	 * to be at off without passing them through memory (a reflink, or a copy
	 * the kernel or the server does).  -ENOTSUP, with no message and nothing
	 * written, where this pair cannot (the caller copies). */
	int (*copy_range)(struct backend *be, uint64_t off, struct backend *src,
			  uint64_t src_off, uint64_t len);
};

struct backend {
	const struct backend_ops *ops;
	char *url;            /* as the user spelled it (secrets masked) - use in messages */
	int flags;            /* BE_* given at open */
	uint32_t align;       /* required alignment of I/O internally (1 if none) */
	bool zero_init;       /* a freshly created object reads as zeros */
	void *priv;           /* backend private state */
};

/* Registry: backends in the order they are tried.  The file backend is last and
 * takes every plain path. */
extern const struct backend_ops *const backend_registry[];

/* Open (or with BE_CREATE create) the object named by url. */
int backend_open(const char *url, int flags, struct backend **out);
void backend_close(struct backend *be);

int backend_pread(struct backend *be, void *buf, size_t len, uint64_t off);
int backend_pwrite(struct backend *be, const void *buf, size_t len, uint64_t off);
int backend_flush(struct backend *be);
int backend_size(struct backend *be, uint64_t *size);
int backend_truncate(struct backend *be, uint64_t size);
/* Zero a range: uses the backend's cheap zeroing when it has one, else writes zeros. */
int backend_write_zeroes(struct backend *be, uint64_t off, uint64_t len, int flags);
int backend_discard(struct backend *be, uint64_t off, uint64_t len);
int backend_preallocate(struct backend *be, uint64_t off, uint64_t len);
/* Data/hole run at off (all data when the backend cannot tell). */
int backend_extent(struct backend *be, uint64_t off, uint64_t len, bool *data, uint64_t *run);
int backend_allocated_size(struct backend *be, uint64_t *size);
/* Offloaded copy from src to be (copy offloading, convert -C); -ENOTSUP without
 * a message when the two backends cannot do it, so the caller copies itself. */
int backend_copy_range(struct backend *be, uint64_t off, struct backend *src, uint64_t src_off,
		       uint64_t len);

/* Cache mode names as qemu spells them -> BE_* flags; -EINVAL if unknown. */
int backend_cache_flags(const char *mode, int *flags);

/* Allocate an I/O buffer aligned for any backend (O_DIRECT-safe). */
void *backend_buf_alloc(size_t len);

#endif
