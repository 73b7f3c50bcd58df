/*
 * guest.h - a libguestfs handle on one disk image, shared by inspect, customize and
 * sysprep: the image is added with its format given explicitly (probed by imgtool,
 * never by qemu), the appliance is launched once, the guest's operating system is
 * found and its filesystems are mounted.  Every operation then works on that one
 * handle, because each launch costs 10-20 s under TCG.
 *
 * Built only with libguestfs (HAVE_LIBGUESTFS); without it guest_open() fails with a
 * message saying so.
 */
#ifndef IMGTOOL_GUEST_H
#define IMGTOOL_GUEST_H

#include <stdbool.h>
#include <stddef.h>

enum guest_mode {
	GUEST_READONLY,   /* read-only drive, filesystems mounted read-only */
	GUEST_OVERLAY,    /* read-only drive, writes go to a throw-away overlay (--dry-run) */
	GUEST_WRITE,      /* the image itself is modified */
};

struct guest {
	void *g;          /* guestfs_h */
	char *root;       /* the inspected root device, e.g. /dev/sda1 */
	char *image;
	enum guest_mode mode;
};

/* Open image (format NULL: probed by imgtool), launch, inspect and mount. */
int guest_open(const char *image, const char *format, enum guest_mode mode,
	       struct guest **out);
/* Unmount and shut the appliance down; for GUEST_WRITE a failure to sync is
 * reported (returns negative errno).  Frees gu. */
int guest_close(struct guest *gu);

#ifdef HAVE_LIBGUESTFS
#include <guestfs.h>
static inline guestfs_h *guest_h(struct guest *gu) { return gu->g; }

/* Set the error from the handle's last error: "what: message". */
int guest_err(struct guest *gu, const char *what);
/* Read a regular guest file of at most max bytes (NUL-terminated, malloc'd).
 * Returns 0, -ENOENT when absent or not a regular file, -EFBIG, or -EIO. */
int guest_read(struct guest *gu, const char *path, size_t max, char **data, size_t *len);
/* Is path a regular file / a directory / anything (no error when absent). */
bool guest_is_file(struct guest *gu, const char *path);
bool guest_is_dir(struct guest *gu, const char *path);
bool guest_exists(struct guest *gu, const char *path);
/* Paths matching a glob pattern in the guest (NULL-terminated, free with
 * guest_free_strv); never NULL on success. */
char **guest_glob(struct guest *gu, const char *pattern);
void guest_free_strv(char **v);
size_t guest_strv_len(char **v);
#endif

#endif
