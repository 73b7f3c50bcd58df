/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd_info.c - what `info` reports for a VHD: qemu-img 7.2 prints no
 * format-specific data for vpc, only the block size of a dynamic disk as its
 * cluster size (a fixed disk has none) and a dirty flag that is always false.
 */
#include "vhd.h"

int vhd_info(struct image *img, struct image_info *info)
{
	struct vhd_state *s = img->priv;

	if (s->type != VHD_TYPE_FIXED)
		info->cluster_size = s->block_size;
	info->dirty_flag = false;
	return 0;
}
