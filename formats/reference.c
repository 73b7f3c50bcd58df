/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * reference.c - the one policy for names taken from inside an image (see
 * reference.h for the rules), and the resolution of a relative name against the
 * location of the image that holds it.
 */
#include "reference.h"
#include "format.h"
#include "../common/err.h"
#include "../common/strbuf.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int policy_flags;
static __thread const char *last_refusal;
static struct ref_limits policy_limits = {
	.max_virtual_size = REF_DEFAULT_MAX_VIRTUAL_SIZE,
	.max_metadata_size = REF_DEFAULT_MAX_METADATA_SIZE,
	.max_inflate_size = REF_DEFAULT_MAX_INFLATE_SIZE,
};

void ref_policy_set(int img_flags, const struct ref_limits *lim)
{
	policy_flags = img_flags & IMG_REF_FLAGS;
	if (lim)
		policy_limits = *lim;
}

int ref_policy_flags(void)
{
	return policy_flags;
}

const struct ref_limits *ref_policy_limits(void)
{
	return &policy_limits;
}

bool ref_has_scheme(const char *name)
{
	const char *p = name;

	if (!isalpha((unsigned char)*p))
		return false;
	while (isalnum((unsigned char)*p) || *p == '+' || *p == '.' || *p == '-')
		p++;
	return *p == ':';
}

bool ref_is_confined(const char *name)
{
	const char *p = name;

	if (!name[0] || name[0] == '/' || name[0] == '\\')
		return false;
	while (*p) {
		size_t n = strcspn(p, "/\\");

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return false;
		p += n;
		if (*p)
			p++;
	}
	return true;
}

static const char *kind_name(enum ref_kind kind)
{
	switch (kind) {
	case REF_BACKING:
		return "backing file";
	case REF_EXTENT:
		return "extent file";
	case REF_PARENT:
		return "parent";
	case REF_DISK:
		return "disk file";
	}
	return "reference";
}

/* Why name may not be followed, or NULL when it may. */
static const char *refusal(enum ref_kind kind, const char *name, int img_flags)
{
	if (!name[0])
		return "is empty";
	/* the disks of a VMX or OVF are what is being read: --untrusted keeps
	 * them in the package's folder; every other reference it refuses */
	if ((img_flags & IMG_UNTRUSTED) && kind == REF_DISK)
		img_flags = 0;
	if (img_flags & IMG_UNTRUSTED)
		return "leaves the image file, which --untrusted forbids";
	if (ref_has_scheme(name))
		return (img_flags & IMG_ALLOW_REF_URLS) ? NULL
			: "names a URL or protocol; refused (--allow-ref-urls allows it)";
	if (kind != REF_BACKING && !ref_is_confined(name) && !(img_flags & IMG_ALLOW_REF_PATHS))
		return "lies outside the image's folder; refused (--allow-ref-paths allows it)";
	return NULL;
}

bool ref_allowed(enum ref_kind kind, const char *name, int img_flags)
{
	return refusal(kind, name, img_flags) == NULL;
}

/* A name from an image, safe to print on one line: control bytes escaped and
 * the length capped. */
static void shown_name(const char *name, char *out, size_t cap)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)name; *p && o + 8 < cap; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '\\')
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", *p);
		else
			out[o++] = (char)*p;
	}
	if (o + 8 >= cap && o >= 3)
		memcpy(out + o - 3, "...", 3);
	out[o] = '\0';
}

int ref_check(const char *image, enum ref_kind kind, const char *name, int img_flags)
{
	const char *why = refusal(kind, name, img_flags);
	char shown[512];

	static const char *const checks[] = {
		[REF_BACKING] = "backing-file", [REF_EXTENT] = "extent",
		[REF_PARENT] = "parent", [REF_DISK] = "disk-file",
	};

	if (!why)
		return 0;
	last_refusal = checks[kind];
	shown_name(name, shown, sizeof(shown));
	/* "IMAGE: Could not open 'REF': ..." - qemu-img's inner message, after
	 * the image's name as every imgtool message starts */
	return err_set(-EPERM, image, "Could not open '%s': %s %s", shown, kind_name(kind), why);
}

/* The part of an rbd: name before its ":key=value" options, and the options. */
static size_t rbd_spec_end(const char *base)
{
	const char *p = base + 4;

	while (*p && *p != ':') {
		if (*p == '\\' && p[1])
			p++;
		p++;
	}
	return (size_t)(p - base);
}

/* base's folder as a prefix ending in '/' (its length), and the suffix a name in
 * that folder carries over (a URL's query, an rbd name's options). */
static void url_folder(const char *base, size_t *dir_len, const char **suffix)
{
	size_t end = strlen(base);
	const char *path = base, *sep;

	*suffix = base + end;
	if (!strncmp(base, "rbd:", 4)) {
		end = rbd_spec_end(base);
		*suffix = base + end;
	} else if ((sep = strstr(base, "://"))) {
		const char *q = strchr(base, '?');

		if (q) {
			end = (size_t)(q - base);
			*suffix = q;
		}
		path = sep + 3;
		/* the authority is not a folder: nfs://host + x -> nfs://host/x */
		sep = memchr(path, '/', end - (size_t)(path - base));
		if (!sep) {
			*dir_len = end;
			return;
		}
	}
	while (end > (size_t)(path - base) && base[end - 1] != '/')
		end--;
	*dir_len = end;
}

char *image_resolve_backing(const char *image_filename, const char *backing_name)
{
	const char *base = image_filename, *suffix = "";
	size_t dir_len;
	struct strbuf out = { 0 };

	/* every path inside a file on an SSH host is that host's: an absolute name
	 * (an ESXi VM's disk on another datastore, /vmfs/volumes/ds2/...) is read
	 * there, with the image's options, never from the local disk */
	if (backing_name[0] == '/' && !strncmp(base, "ssh://", 6)) {
		const char *q = strchr(base, '?');

		strbuf_add(&out, base, 6 + strcspn(base + 6, "/?"));
		strbuf_printf(&out, "%s%s", backing_name, q ? q : "");
		return strbuf_take(&out);
	}
	if (backing_name[0] == '/' || ref_has_scheme(backing_name))
		return strdup(backing_name);
	if (!strncmp(base, "file://", 7))
		base += 7;
	else if (!strncmp(base, "file:", 5))
		base += 5;
	if (ref_has_scheme(base)) {
		url_folder(base, &dir_len, &suffix);
		strbuf_add(&out, base, dir_len);
		if (dir_len && base[dir_len - 1] != '/' && strncmp(base, "rbd:", 4))
			strbuf_add(&out, "/", 1);
	} else {
		const char *slash = strrchr(base, '/');

		dir_len = slash ? (size_t)(slash - base) + 1 : 0;
		if (dir_len == 2 && base[0] == '.')
			dir_len = 0;    /* "./top" + base is "base", as dirname gave */
		strbuf_add(&out, base, dir_len);
	}
	strbuf_printf(&out, "%s%s", backing_name, suffix);
	return strbuf_take(&out);
}

int ref_resolve(const char *image, enum ref_kind kind, const char *name, int img_flags,
		char **out)
{
	int ret = ref_check(image, kind, name, img_flags);

	*out = NULL;
	if (ret < 0)
		return ret;
	*out = image_resolve_backing(image, name);
	return *out ? 0 : err_set(-ENOMEM, image, "out of memory");
}

const char *ref_last_refusal(void)
{
	return last_refusal;
}

void ref_refusal_reset(void)
{
	last_refusal = NULL;
}

bool ref_exists(const char *image, enum ref_kind kind, const char *name, int img_flags)
{
	struct stat st;
	char *path;
	bool ok;

	if (!ref_allowed(kind, name, img_flags))
		return false;
	path = image_resolve_backing(image, name);
	ok = path && !ref_has_scheme(path) && stat(path, &st) == 0;
	free(path);
	return ok;
}

static int over_cap(const struct image *img, const char *what, uint64_t v, uint64_t cap,
		    const char *option)
{
	last_refusal = !strcmp(option, "--max-virtual-size") ? "virtual-size"
		     : !strcmp(option, "--max-metadata-size") ? "metadata-size" : "inflate-size";
	return err_set(-EFBIG, img->filename,
		       "%s of %" PRIu64 " bytes is over the --untrusted cap of %" PRIu64 " (raise it with %s=SIZE)",
		       what, v, cap, option);
}

int ref_check_virtual_size(const struct image *img, uint64_t size)
{
	uint64_t cap = policy_limits.max_virtual_size;

	if (!(img->flags & IMG_UNTRUSTED) || size <= cap)
		return 0;
	return over_cap(img, "virtual size", size, cap, "--max-virtual-size");
}

int ref_check_metadata_size(const struct image *img, const char *what, uint64_t bytes)
{
	uint64_t cap = policy_limits.max_metadata_size;

	if (!(img->flags & IMG_UNTRUSTED) || bytes <= cap)
		return 0;
	return over_cap(img, what, bytes, cap, "--max-metadata-size");
}

int ref_check_inflate_size(const struct image *img, const char *what, uint64_t bytes)
{
	uint64_t cap = policy_limits.max_inflate_size;

	if (!(img->flags & IMG_UNTRUSTED) || bytes <= cap)
		return 0;
	return over_cap(img, what, bytes, cap, "--max-inflate-size");
}
