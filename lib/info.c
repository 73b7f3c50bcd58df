/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * info.c - libimgtool's info and check: the fixed-size public views of
 * formats/image.c's image_info and check_result.
 *
 * The caller's size field is the struct size of the header it was built with: a
 * larger one (a newer header) gets zeros past what this version knows; a later
 * version that appends members must keep accepting today's size and fill only
 * what fits.
 */
#include "handle.h"

#include <errno.h>
#include <string.h>

int imgtool_info(imgtool_image *h, struct imgtool_info *info)
{
	struct image_info ii;
	size_t size = info->size;
	int ret;

	api_begin();
	if (size < sizeof(*info))
		return api_end(-EINVAL, "imgtool_info: info->size");
	ret = image_info(h->img, &ii);
	if (ret < 0)
		return api_end(ret, h->img->filename);
	memset(info, 0, size);
	info->size = size;
	info->virtual_size = ii.virtual_size;
	info->actual_size = ii.actual_size;
	info->cluster_size = ii.cluster_size;
	info->dirty = ii.has_dirty_flag && ii.dirty_flag;
	info->encrypted = ii.encrypted;
	info->nb_snapshots = ii.nb_snapshots;
	info->format = h->img->ops->name;
	info->backing_file = h->img->backing_name;
	info->backing_format = h->img->backing_format;
	image_info_free(&ii);
	return 0;
}

int imgtool_check(imgtool_image *h, unsigned repair, struct imgtool_check_result *res)
{
	struct check_result cr;
	size_t size = res->size;
	int fix = 0, ret;

	api_begin();
	if (size < sizeof(*res))
		return api_end(-EINVAL, "imgtool_check: res->size");
	if (repair & IMGTOOL_CHECK_FIX_LEAKS)
		fix |= CHECK_FIX_LEAKS;
	if (repair & IMGTOOL_CHECK_FIX_ERRORS)
		fix |= CHECK_FIX_ERRORS;
	ret = image_check(h->img, fix, &cr);
	if (ret < 0)
		return api_end(ret, h->img->filename);
	memset(res, 0, size);
	res->size = size;
	res->corruptions = cr.corruptions;
	res->leaks = cr.leaks;
	res->check_errors = cr.check_errors;
	res->corruptions_fixed = cr.corruptions_fixed;
	res->leaks_fixed = cr.leaks_fixed;
	return 0;
}
