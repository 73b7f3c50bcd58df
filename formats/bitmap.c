/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bitmap.c - the format-independent half of persistent dirty bitmaps: the
 * image_bitmap_*() wrappers over the bitmap_* ops, and what works between two
 * images through them - merge (qemu-img bitmap --merge, -b), copy (convert
 * --bitmaps) and the size measure reports for them.
 */
#include "format.h"
#include "../common/err.h"
#include "../common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unsupported(struct image *img)
{
	return err_set(-ENOTSUP, NULL, "Format driver '%s' does not support bitmaps",
		       img->ops->name);
}

bool image_bitmap_supported(struct image *img)
{
	return img->ops->bitmap_supported && img->ops->bitmap_supported(img);
}

/* The format has bitmaps at all (a qcow2 v2 image then says why it cannot
 * hold one, or that it has none, in QEMU's words). */
static int writable(struct image *img)
{
	if (!img->ops->bitmap_add)
		return unsupported(img);
	if (!(img->flags & IMG_RDWR))
		return err_set(-EBADF, img->filename, "image opened read-only");
	return 0;
}

int image_bitmap_list(struct image *img, struct bitmap_info **out, int *nb)
{
	*out = NULL;
	*nb = 0;
	if (!image_bitmap_supported(img))
		return 0;
	return img->ops->bitmap_list(img, out, nb);
}

void image_bitmap_list_free(struct bitmap_info *list, int nb)
{
	for (int i = 0; list && i < nb; i++)
		free(list[i].name);
	free(list);
}

uint64_t image_bitmap_default_granularity(struct image *img)
{
	if (!img->cluster_size || img->cluster_size == 1)
		return 64 * KiB;
	return MAX((uint64_t)img->cluster_size, 4 * KiB);
}

int image_bitmap_add(struct image *img, const char *name, uint64_t granularity,
		     bool disabled)
{
	int ret = writable(img);

	return ret < 0 ? ret : img->ops->bitmap_add(img, name, granularity, disabled);
}

int image_bitmap_remove(struct image *img, const char *name)
{
	int ret = writable(img);

	return ret < 0 ? ret : img->ops->bitmap_remove(img, name);
}

int image_bitmap_clear(struct image *img, const char *name)
{
	int ret = writable(img);

	return ret < 0 ? ret : img->ops->bitmap_clear(img, name);
}

int image_bitmap_enable(struct image *img, const char *name, bool enable)
{
	int ret = writable(img);

	return ret < 0 ? ret : img->ops->bitmap_enable(img, name, enable);
}

/* Walk src's dirty runs and set them in dst's bitmap; src's bitmap is read
 * first in full order, so merging a bitmap into itself changes nothing. */
int image_bitmap_merge(struct image *dst, const char *name, struct image *src,
		       const char *src_name)
{
	uint64_t size = MIN(src->size, dst->size), off = 0, run;
	struct bitmap_info *l;
	bool dirty, found = false;
	int ret, nb;

	ret = writable(dst);
	if (ret < 0)
		return ret;
	ret = image_bitmap_list(dst, &l, &nb);
	for (int i = 0; ret == 0 && i < nb; i++)
		found |= !strcmp(l[i].name, name);
	image_bitmap_list_free(l, nb);
	if (ret == 0 && !found)
		return err_set(-ENOENT, NULL, "Dirty bitmap '%s' not found", name);
	if (ret == 0 && !image_bitmap_supported(src))
		return err_set(-ENOENT, NULL, "Dirty bitmap '%s' not found", src_name);
	while (ret == 0 && off < size) {
		ret = src->ops->bitmap_status(src, src_name, off, size - off, &run, &dirty);
		if (ret == 0 && dirty)
			ret = dst->ops->bitmap_set_dirty(dst, name, off, run);
		off += run;
	}
	return ret;
}

static int copy_one(struct image *src, struct image *dst, const struct bitmap_info *b)
{
	const char *what = "create";
	char msg[ERR_MSG_MAX];
	int ret = image_bitmap_add(dst, b->name, b->granularity, !b->enabled);

	if (ret == 0) {
		what = "populate";
		ret = image_bitmap_merge(dst, b->name, src, b->name);
	}
	if (ret < 0) {
		snprintf(msg, sizeof(msg), "%s", err_get());
		err_set(ret, NULL, "Failed to %s bitmap %s: %s", what, b->name, msg);
	}
	return ret;
}

int image_bitmaps_copy_check(struct image *src, bool skip_broken)
{
	struct bitmap_info *l;
	int nb, ret;

	if (!image_bitmap_supported(src))
		return err_set(-ENOTSUP, NULL, "Source lacks bitmap support");
	ret = image_bitmap_list(src, &l, &nb);
	for (int i = 0; ret == 0 && i < nb; i++) {
		if (l[i].in_use && !skip_broken) {
			err_set(-EINVAL, NULL, "Cannot copy inconsistent bitmap '%s'", l[i].name);
			ret = err_hint(-EINVAL, "Try --skip-broken-bitmaps, or use 'qemu-img bitmap "
				       "--remove' to delete it");
		}
	}
	image_bitmap_list_free(l, nb);
	return ret;
}

int image_bitmaps_copy(struct image *src, struct image *dst, bool skip_broken,
		       void (*warn)(const char *name))
{
	struct bitmap_info *l;
	int nb, ret = image_bitmaps_copy_check(src, skip_broken);

	if (ret < 0)
		return ret;
	if (!image_bitmap_supported(dst))
		return unsupported(dst);
	ret = image_bitmap_list(src, &l, &nb);
	for (int i = 0; ret == 0 && i < nb; i++) {
		if (l[i].in_use) {
			if (warn)
				warn(l[i].name);
			continue;
		}
		ret = copy_one(src, dst, &l[i]);
	}
	image_bitmap_list_free(l, nb);
	return ret;
}

int image_bitmaps_size(struct image *src, uint64_t cs, uint64_t *bytes)
{
	uint64_t dir = 0, total = 0;
	struct bitmap_info *l;
	int nb, ret = image_bitmap_list(src, &l, &nb);

	for (int i = 0; ret == 0 && i < nb; i++) {
		uint64_t bits = div_round_up(src->size, l[i].granularity);
		uint64_t clusters = div_round_up(div_round_up(bits, 8), cs);

		total += align_up(clusters * 8, cs) + clusters * cs;
		dir += align_up(24 + strlen(l[i].name), 8);
	}
	image_bitmap_list_free(l, nb);
	*bytes = total + align_up(dir, cs);
	return ret;
}
