/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * overlay.c - launch --snapshot: a qcow2 overlay over the image in a private
 * temporary folder ($TMPDIR, else /var/tmp: the overlay may grow large), made
 * with imgtool's own create, so the guest's writes never reach the image.
 * The backing file is recorded by absolute path (or URL) because the overlay
 * lives elsewhere.
 */
#include "launch.h"
#include "../common/err.h"
#include "../common/opts.h"
#include "../formats/format.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int launch_overlay_create(const char *image, const char *format, struct launch_overlay *ov)
{
	const char *tmp = getenv("TMPDIR");
	char backing[PATH_MAX];
	struct opts o = { 0 };
	struct image *img;
	uint64_t size;
	int r;

	if (asprintf(&ov->dir, "%s/imgtool-snapshot.XXXXXX", tmp && *tmp ? tmp : "/var/tmp") < 0) {
		ov->dir = NULL;
		return err_set(-ENOMEM, NULL, "out of memory");
	}
	if (!mkdtemp(ov->dir)) {
		r = -errno;
		err_set(r, ov->dir, "cannot create the snapshot folder: %s", strerror(errno));
		free(ov->dir);
		ov->dir = NULL;
		return r;
	}
	if (asprintf(&ov->path, "%s/overlay.qcow2", ov->dir) < 0) {
		ov->path = NULL;
		return err_set(-ENOMEM, NULL, "out of memory");
	}
	if (launch_is_url(image))
		snprintf(backing, sizeof(backing), "%s", image);
	else if (!realpath(image, backing))
		return err_set(-errno, image, "%s", strerror(errno));
	r = image_open(image, format, 0, &img);
	if (r)
		return r;
	size = img->size;
	image_close(img);
	r = opts_set(&o, "backing_file", backing);
	if (!r)
		r = opts_set(&o, "backing_fmt", format);
	if (!r)
		r = image_create(ov->path, "qcow2", size, &o);
	opts_free(&o);
	return r;
}

void launch_overlay_remove(struct launch_overlay *ov)
{
	if (ov->path)
		unlink(ov->path);
	if (ov->dir)
		rmdir(ov->dir);
	free(ov->path);
	free(ov->dir);
	ov->path = NULL;
	ov->dir = NULL;
}
