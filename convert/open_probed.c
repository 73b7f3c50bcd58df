/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * open_probed.c - open an image for writing its metadata (commit empties an
 * overlay, rebase rewrites a backing pointer): without a format the file is
 * probed first with a read-only open, then opened read-write under the format
 * found.  image_open() refuses a read-write open of a guessed raw image, but
 * these commands write no raw data at a guessed place: they fail later, with
 * their own message, on a format without a backing file.
 */
#include "open_probed.h"

#include <stdio.h>

int image_open_probed_rw(const char *file, const char *fmt, int flags, struct image **img)
{
	struct image *probe;
	char name[64];
	int ret;

	if (fmt)
		return image_open(file, fmt, IMG_RDWR | flags, img);
	ret = image_open(file, NULL, IMG_NO_BACKING, &probe);
	if (ret < 0)
		return ret;
	snprintf(name, sizeof(name), "%s", probe->ops->name);
	image_close(probe);
	return image_open(file, name, IMG_RDWR | flags, img);
}
