/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * reference.h - the one policy for names that come from inside an image.
 *
 * Images name other files: a qcow2 backing file, VMDK extents and parent hints,
 * VHD parent locators, VHDX parent paths, and the disks a VMX or OVF lists.  An
 * image may come from a stranger, so none of these names is followed blindly:
 * every format and input asks this module before it touches one, and no format
 * has rules of its own.
 *
 * The rules (README, "Untrusted images"):
 *  - a name with a scheme ("file:", "rbd:", "nfs://", "json:", anything that
 *    starts like "word:") is refused unless the open allows URLs
 *    (IMG_ALLOW_REF_URLS, --allow-ref-urls).  Names the user typed (-b,
 *    -o backing_file=, the command line's images) are opened directly and never
 *    pass through here.
 *  - a qcow2 backing file (REF_BACKING) may be any local path, absolute or
 *    relative, as qemu allows, so libvirt and OpenStack overlays keep working.
 *  - extents, parents and the disks of a VMX/OVF (REF_EXTENT, REF_PARENT,
 *    REF_DISK) must stay in the image's folder: relative, no "..", unless the
 *    open allows paths (IMG_ALLOW_REF_PATHS, --allow-ref-paths).
 *  - IMG_UNTRUSTED (--untrusted) refuses every reference: nothing outside the
 *    image file (or archive) is read, and sizes are capped (struct ref_limits).
 *    The disks of a VMX/OVF, which are what is being read, must then stay in
 *    the package's folder whatever else is allowed.
 *  - a relative name resolves against the image's own location: its folder, or
 *    for an image opened by URL the same URL's folder (nfs://h/e/d/top + base ->
 *    nfs://h/e/d/base; file:/d/top + base -> /d/base), never the current folder.
 */
#ifndef IMGTOOL_REFERENCE_H
#define IMGTOOL_REFERENCE_H

#include <stdbool.h>
#include <stdint.h>

struct image;

enum ref_kind {
	REF_BACKING,   /* a qcow2 backing file */
	REF_EXTENT,    /* a VMDK extent file */
	REF_PARENT,    /* a VHD/VHDX/VMDK parent */
	REF_DISK,      /* a disk named by a VMX or OVF */
};

/* Caps that --untrusted enforces (each overridable on the command line). */
struct ref_limits {
	uint64_t max_virtual_size;   /* the disk's virtual size */
	uint64_t max_metadata_size;  /* one metadata table loaded at open (L1, BAT, GD...) */
	uint64_t max_inflate_size;   /* what one compressed unit may expand to */
};

#define REF_DEFAULT_MAX_VIRTUAL_SIZE  (4ULL << 40)   /* 4 TiB */
#define REF_DEFAULT_MAX_METADATA_SIZE (64ULL << 20)  /* 64 MiB */
#define REF_DEFAULT_MAX_INFLATE_SIZE  (2ULL << 20)   /* 2 MiB: qcow2's largest cluster */

/* The process-wide defaults the command line chose: IMG_UNTRUSTED and
 * IMG_ALLOW_REF_* bits that image_open() adds to every top-level open, and the
 * caps.  Set once at start-up, before any image is opened. */
void ref_policy_set(int img_flags, const struct ref_limits *lim);
int ref_policy_flags(void);
const struct ref_limits *ref_policy_limits(void);

/* "file:", "nfs://", "json:{...}": does the name start with a URI scheme? */
bool ref_has_scheme(const char *name);
/* Relative and without a ".." component: it cannot leave its folder. */
bool ref_is_confined(const char *name);

/* May an image opened with img_flags follow name as a reference of kind?
 * 0, or -EPERM with a one-line message naming image and name. */
int ref_check(const char *image, enum ref_kind kind, const char *name, int img_flags);
/* The same without a message (to skip candidates quietly). */
bool ref_allowed(enum ref_kind kind, const char *name, int img_flags);
/* ref_check, then resolve name against image's location into *out (malloc'd). */
int ref_resolve(const char *image, enum ref_kind kind, const char *name, int img_flags,
		char **out);

/* Is name a candidate the policy allows and a local file that exists?  (A
 * format choosing among several recorded parent paths tries only these.) */
bool ref_exists(const char *image, enum ref_kind kind, const char *name, int img_flags);

/* --untrusted's caps, for formats: refuse an image whose virtual size, one
 * metadata table (what names it, e.g. "L1 table") or one compressed unit is
 * larger than the limits allow.  No-ops without IMG_UNTRUSTED. */
int ref_check_virtual_size(const struct image *img, uint64_t size);
int ref_check_metadata_size(const struct image *img, const char *what, uint64_t bytes);
int ref_check_inflate_size(const struct image *img, const char *what, uint64_t bytes);

/* What the last refusal on this thread was about ("backing-file", "extent",
 * "parent", "disk-file", "virtual-size", "metadata-size", "inflate-size"), or
 * NULL since ref_refusal_reset(): for `info --untrusted`'s safety report. */
const char *ref_last_refusal(void);
void ref_refusal_reset(void);

#endif
