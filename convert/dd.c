/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dd.c - the dd operation (dd.h): qemu-img dd's size rules, then one window copy
 * through the copy engine.
 *
 * The rules are qemu-img 7.2's, quirks included, so that the outputs are the
 * same file: count= caps the input's end at count*bs (not the number of blocks
 * copied after skip=), the output holds what lies between skip*bs and that end,
 * and its size is rounded up to 512 bytes as qemu's block layer creates it.
 * Every byte is written, zeros too (no sparse detection), as qemu-img dd does.
 */
#include "dd.h"
#include "copy.h"
#include "../common/err.h"
#include "../common/util.h"
#include "../formats/format.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* qemu creates every image a whole number of sectors long. */
#define DD_CREATE_ALIGN 512

/* The input window [*start, *end) as qemu-img dd computes it; false when skip=
 * lies past the end (nothing is copied). */
static bool dd_window(const struct dd_params *p, uint64_t in_size, uint64_t *start,
		      uint64_t *end)
{
	uint64_t size = in_size;

	if (p->has_count && p->count <= (uint64_t)INT64_MAX / p->bs && p->count * p->bs < size)
		size = p->count * p->bs;
	*end = size;
	*start = 0;
	if (p->has_skip) {
		if (p->skip > (uint64_t)INT64_MAX / p->bs || size < p->skip * p->bs)
			return false;
		*start = p->skip * p->bs;
	}
	return true;
}

static int dd_copy(struct image *in, struct image *out, uint64_t start, uint64_t end)
{
	struct image *src[1] = { in };
	struct copy_params cp = {
		.src = src,
		.nb_src = 1,
		.dst = out,
		.src_offset = start,
		.length = end - start,
		.min_sparse = 0,        /* zeros are written as data, as qemu-img dd */
	};

	if (end == start)
		return image_flush(out);
	return copy_run(&cp);
}

static int dd_open_fail(int ret, const char *name)
{
	return err_set_default(ret, name, "%s", strerror(-ret));
}

/* qemu-img dd's wording: "OUT: error while creating output image: REASON", the
 * reason as qemu's file driver words a failed creation where the file could
 * not be made. */
static int dd_create_fail(int ret, const char *out)
{
	char reason[ERR_MSG_MAX];

	if (ret == -ENOENT || ret == -EACCES || ret == -ENOTDIR || ret == -EISDIR || ret == -EROFS)
		snprintf(reason, sizeof(reason), "Could not create '%s': %s", out, strerror(-ret));
	else
		snprintf(reason, sizeof(reason), "%s", err_is_set() ? err_get() : strerror(-ret));
	err_clear();
	return err_set(ret, NULL, "%s: error while creating output image: %s", out, reason);
}

int dd_run(const struct dd_params *p, bool *skipped_past_end)
{
	struct image *in = NULL, *out = NULL;
	struct opts none = { 0 };
	uint64_t start = 0, end = 0;
	int ret;

	*skipped_past_end = false;
	if (!p->bs || p->bs > INT32_MAX)
		return err_set(-EINVAL, NULL, "internal error: dd block size out of range");
	ret = image_open(p->in, p->in_fmt, 0, &in);
	if (ret < 0)
		return dd_open_fail(ret, p->in);
	if (!format_find(p->out_fmt)) {
		ret = err_set(-EINVAL, NULL, "Unknown file format");
		goto out;
	}
	*skipped_past_end = !dd_window(p, in->size, &start, &end);
	if (*skipped_past_end)
		start = end = 0;
	ret = image_create(p->out, p->out_fmt, align_up(end - start, DD_CREATE_ALIGN), &none);
	if (ret < 0) {
		dd_create_fail(ret, p->out);
		goto out;
	}
	ret = image_open(p->out, p->out_fmt, IMG_RDWR, &out);
	if (ret < 0) {
		dd_open_fail(ret, p->out);
		goto out;
	}
	ret = dd_copy(in, out, start, end);
out:
	image_close(out);
	image_close(in);
	opts_free(&none);
	return ret;
}
