/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * convert.c - the convert operation (convert.h): the decisions qemu-img convert
 * makes around the copy - which sources, which snapshot, whether the target is
 * created and with which backing file, whether it already reads as zeros (so
 * that zero ranges can be skipped) - and then one copy_run(); with --bitmaps,
 * the source's persistent bitmaps last (formats/bitmap.c).
 *
 * Checks happen in qemu-img's order (target format, sources, -o options, backing
 * file) so that the first problem reported is the one qemu-img reports.
 */
#include "convert.h"
#include "copy.h"
#include "../common/err.h"
#include "../formats/format.h"
#include "../formats/image_opts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Status calls spent proving that a new target reads as zeros. */
#define ZERO_PROBE_MAX 1024

struct convert_run {
	const struct convert_params *p;
	struct image **src;
	struct image *dst;
	uint64_t total;
	bool zeroed;
};

/* The message where the layer below set none (as the CLI would print it). */
static int fail(int ret, const char *where)
{
	return err_set_default(ret, where, "%s", strerror(-ret));
}

static int cache_flags(const char *mode, int *flags)
{
	int be = 0;
	int ret = backend_cache_flags(mode, &be);

	if (ret < 0)
		return fail(ret, NULL);
	*flags = IMG_BE_FLAGS(be);
	return 0;
}

/* True if block status says every byte of img reads as zeros (a new image on a
 * sparse file or a qcow2 without data), so the copy may skip zero ranges. */
static bool reads_as_zeros(struct image *img)
{
	uint64_t off = 0;

	for (int i = 0; off < img->size && i < ZERO_PROBE_MAX; i++) {
		struct block_status bs;

		if (image_block_status_above(img, off, img->size - off, &bs) < 0) {
			err_clear();
			return false;
		}
		if (!(bs.flags & BS_ZERO))
			return false;
		off += bs.length;
	}
	return off >= img->size;
}

/* Creating the target truncates it: refuse a target that is one of the sources
 * (or a file in their backing chains), whatever path names it. */
static int check_not_source(const struct convert_run *r)
{
	const char *dst = r->p->dst_name;
	struct stat d, st;

	if (stat(dst, &d) < 0)
		return 0;
	for (int i = 0; i < r->p->nb_src; i++) {
		for (struct image *l = r->src[i]; l; l = l->backing) {
			if (stat(l->filename, &st) == 0 && st.st_dev == d.st_dev &&
			    st.st_ino == d.st_ino)
				return err_set(-EINVAL, NULL,
					       "%s: the target is also a source image ('%s')",
					       dst, l->filename);
		}
	}
	return 0;
}

static int open_sources(struct convert_run *r)
{
	const struct convert_params *p = r->p;
	int flags = 0;
	int ret = cache_flags(p->src_cache, &flags);

	if (ret < 0)
		return ret;
	r->src = calloc((size_t)p->nb_src, sizeof(*r->src));
	if (!r->src)
		return err_set(-ENOMEM, NULL, "out of memory");
	for (int i = 0; i < p->nb_src; i++) {
		ret = image_open(p->src_names[i], p->src_fmt, flags, &r->src[i]);
		if (ret < 0)
			return fail(ret, p->src_names[i]);
	}
	return 0;
}

/* -l NAME (an id first, then a name, as qemu), -l snapshot.id=ID[,snapshot.name=N]
 * or -s ID_OR_NAME: show the single source's snapshot instead of its active state. */
static int open_snapshot(const char *spec, struct image **src, int nsrc)
{
	struct opts o = { 0 };
	const char *id = NULL, *name = NULL;
	int ret;

	if (nsrc != 1)
		return err_set(-EINVAL, NULL, "No support for concatenating multiple snapshot");
	if (strncmp(spec, "snapshot.", 9)) {
		ret = image_snapshot_open(src[0], spec, NULL);
		if (ret == -ENOENT) {
			err_clear();
			ret = image_snapshot_open(src[0], NULL, spec);
		}
	} else {
		ret = opts_parse(&o, spec);
		if (ret == 0) {
			id = opts_get(&o, "snapshot.id");
			name = opts_get(&o, "snapshot.name");
			ret = opts_check_used(&o, "convert");
		}
		if (ret == 0)
			ret = image_snapshot_open(src[0], id, name);
	}
	opts_free(&o);
	if (ret < 0) {
		err_clear();
		err_set(ret, NULL, "Failed to load snapshot: Can't find snapshot");
	}
	return ret;
}

/* The target's -o options and -B, checked before anything is written. */
static int check_create_opts(const struct convert_params *p, const struct format_ops *ops)
{
	int ret;

	if (!ops->create)   /* a read-only format, whatever the options say */
		return err_set(-ENOTSUP, p->dst_name, "Format driver '%s' does not support image creation",
			       ops->name);
	ret = create_opts_check(ops->create_opts, NULL, p->opts);
	if (ret < 0)
		return ret;
	if (p->backing && !create_opt_find(ops->create_opts, "backing_file"))
		return err_set(-ENOTSUP, NULL, "Backing file not supported for file format '%s'",
			       ops->name);
	return 0;
}

/* -B/-F become the target's backing_file/backing_fmt options.  Without -F the
 * backing file's format is probed (a guessed raw is refused by image_open). */
static int set_backing_opts(const struct convert_params *p)
{
	const char *fmt = p->backing_fmt;
	struct image *b = NULL;
	char *path;
	int ret = 0;

	if (!fmt) {
		path = image_resolve_backing(p->dst_name, p->backing);
		if (!path)
			return err_set(-ENOMEM, NULL, "out of memory");
		ret = image_open(path, NULL, IMG_NO_BACKING, &b);
		if (ret < 0)
			fail(ret, path);
		free(path);
		if (ret < 0)
			return ret;
		fmt = b->ops->name;
	}
	if (opts_set(p->opts, "backing_file", p->backing) < 0 ||
	    opts_set(p->opts, "backing_fmt", fmt) < 0)
		ret = err_set(-ENOMEM, NULL, "out of memory");
	image_close(b);
	return ret;
}

/* The new target opens with the key it was created with (qemu-img convert
 * carries key-secret and encrypt.key-secret from -o to the open). */
static int pass_key_secrets(const char *dst_name, struct opts *o)
{
	static const char *const keys[] = { "key-secret", "encrypt.key-secret" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = o ? opts_get(o, keys[i]) : NULL;
		int ret = v ? image_opts_set(dst_name, keys[i], v) : 0;

		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Create (unless -n) and open the target; decide whether it reads as zeros. */
static int open_target(struct convert_run *r)
{
	const struct convert_params *p = r->p;
	int flags = 0;
	int ret = cache_flags(p->dst_cache, &flags);

	if (ret < 0)
		return ret;
	if (p->backing) {
		ret = set_backing_opts(p);
		if (ret < 0)
			return ret;
	}
	if (!p->no_create) {
		ret = image_create(p->dst_name, p->dst_fmt, r->total, p->opts);
		if (ret < 0)
			return fail(ret, p->dst_name);
		ret = pass_key_secrets(p->dst_name, p->opts);
		if (ret < 0)
			return ret;
	}
	ret = image_open(p->dst_name, p->dst_fmt, IMG_RDWR | flags, &r->dst);
	if (ret < 0)
		return fail(ret, p->dst_name);
	if (p->compress && r->dst->cluster_size <= 1)
		return err_set(-ENOTSUP, NULL, "Compression not supported for this file format");
	if (p->no_create && r->dst->size < r->total)
		return err_set(-ENOSPC, NULL,
			       "%s: target image is smaller than the source (%llu < %llu bytes)",
			       p->dst_name, (unsigned long long)r->dst->size,
			       (unsigned long long)r->total);
	if (p->no_create)
		r->zeroed = p->target_is_zero;
	else if (p->backing)
		r->zeroed = reads_as_zeros(r->dst);   /* zero_init ignores the backing */
	else
		r->zeroed = r->dst->zero_init || reads_as_zeros(r->dst);
	return 0;
}

static int copy(struct convert_run *r)
{
	const struct convert_params *p = r->p;
	struct copy_params cp = {
		.src = r->src,
		.nb_src = p->nb_src,
		.dst = r->dst,
		.compress = p->compress,
		.offload = p->copy_offload,
		.min_sparse = p->min_sparse,
		.target_zeroed = r->zeroed,
		.workers = p->workers,
		.dst_backing = p->backing ? r->dst->backing : NULL,
	};
	int ret;

	if (p->progress != PROGRESS_NONE)
		cp.progress = progress_new(p->progress, r->total);
	ret = copy_run(&cp);
	progress_finish(cp.progress);
	progress_free(cp.progress);
	return ret < 0 ? fail(ret, r->dst->filename) : 0;
}

/* --bitmaps: what qemu-img refuses before it creates the target. */
static int check_bitmaps(struct convert_run *r, const struct format_ops *ops)
{
	if (r->p->nb_src > 1)
		return err_set(-EINVAL, NULL, "Copying bitmaps only possible with single source");
	if (!ops->bitmap_supported)
		return err_set(-ENOTSUP, NULL, "Format driver '%s' does not support bitmaps",
			       ops->name);
	return image_bitmaps_copy_check(r->src[0], r->p->skip_broken_bitmaps);
}

/* Everything up to the copy, in qemu-img's order. */
static int prepare(struct convert_run *r)
{
	const struct convert_params *p = r->p;
	const struct format_ops *ops = format_find(p->dst_fmt);
	int ret;

	if (!ops)
		return err_set(-EINVAL, NULL, "Unknown file format '%s'", p->dst_fmt);
	ret = open_sources(r);
	if (ret == 0 && p->snapshot)
		ret = open_snapshot(p->snapshot, r->src, p->nb_src);
	if (ret < 0)
		return ret;
	r->total = copy_total_size(r->src, p->nb_src);
	for (int i = 0; !r->total && i < p->nb_src; i++)
		if (r->src[i]->size)
			return err_set(-EOVERFLOW, NULL, "total size of the sources overflows");
	if (!p->no_create) {
		ret = check_create_opts(p, ops);
		if (ret < 0)
			return ret;
	}
	ret = check_not_source(r);
	if (ret == 0 && p->bitmaps)
		ret = check_bitmaps(r, ops);
	if (ret == 0)
		ret = open_target(r);
	if (ret == 0 && p->bitmaps && !image_bitmap_supported(r->dst))
		ret = err_set(-ENOTSUP, NULL, "Format driver '%s' does not support bitmaps",
			      p->dst_fmt);
	return ret;
}

int convert_run(const struct convert_params *p)
{
	struct convert_run r = { .p = p };
	int ret = prepare(&r);

	if (ret == 0)
		ret = copy(&r);
	/* after the data, so that the copy's own writes set no bits */
	if (ret == 0 && p->bitmaps)
		ret = image_bitmaps_copy(r.src[0], r.dst, p->skip_broken_bitmaps, p->warn_bitmap);
	if (ret == 0 && p->bitmaps)
		ret = image_flush(r.dst);
	if (r.dst)
		image_close(r.dst);
	for (int i = 0; r.src && i < p->nb_src; i++)
		if (r.src[i])
			image_close(r.src[i]);
	free(r.src);
	return ret;
}
