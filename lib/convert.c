/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * convert.c - libimgtool's convert: open the source, create and open the target,
 * and run the copy engine (convert/copy.c) with the caller's progress callback.
 *
 * Only what a new target needs: `imgtool convert`'s -n, -B, -l and several sources
 * stay in the CLI.  A new target that the format does not promise to read as
 * zeros gets its zeros written.
 */
#include "handle.h"
#include "../common/err.h"
#include "../common/opts.h"
#include "../convert/copy.h"
#include "../convert/progress.h"

#include <errno.h>

static int copy_into(struct image *src, const char *dst, const char *dst_format,
		     struct opts *o, bool compress, struct progress *prog)
{
	struct copy_params cp = { 0 };
	struct image *out = NULL;
	int ret;

	ret = image_create(dst, dst_format, src->size, o);
	if (ret < 0)
		return ret;
	ret = image_open(dst, dst_format, IMG_RDWR, &out);
	if (ret < 0)
		return ret;
	if (compress && out->cluster_size <= 1) {
		image_close(out);
		return err_set(-ENOTSUP, dst, "Compression not supported for this file format");
	}
	cp.src = &src;
	cp.nb_src = 1;
	cp.dst = out;
	cp.compress = compress;
	cp.min_sparse = COPY_DEFAULT_SPARSE;
	cp.target_zeroed = out->zero_init;
	cp.progress = prog;
	ret = copy_run(&cp);
	image_close(out);
	return ret;
}

int imgtool_convert(const char *src, const char *src_format, const char *dst,
		    const char *dst_format, const char *options, unsigned flags,
		    imgtool_progress_fn progress, void *opaque)
{
	struct image *in = NULL;
	struct progress *prog = NULL;
	struct opts o = { 0 };
	int ret;

	api_begin();
	if (!src || !dst || !dst_format)
		return api_end(-EINVAL, "imgtool_convert");
	if (flags & ~IMGTOOL_CONVERT_COMPRESS)
		return err_set(-EINVAL, dst, "unknown convert flags 0x%x", flags);
	ret = options ? opts_parse(&o, options) : 0;
	if (ret == 0)
		ret = image_open(src, src_format, 0, &in);
	if (ret == 0) {
		prog = progress_new_callback(in->size, progress, opaque);
		ret = prog ? copy_into(in, dst, dst_format, &o, flags & IMGTOOL_CONVERT_COMPRESS,
				       prog) : -ENOMEM;
	}
	if (ret == 0)
		progress_finish(prog);
	progress_free(prog);
	image_close(in);
	opts_free(&o);
	return api_end(ret, src);
}
