/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_rebase.c - `imgtool rebase`: change an image's backing file, as qemu-img
 * rebase does.
 *
 * Safe mode (the default) first copies into the image every cluster it does not
 * allocate where the old and the new backing chains read differently, so its
 * contents stay the same; -u only rewrites the pointer (the user vouches that
 * the new backing file has the same contents).  -b "" makes the image
 * standalone.  This file parses and reports; the work is convert/rebase_image.c's.
 */
#include "cli.h"
#include "../common/err.h"
#include "../convert/progress.h"
#include "../convert/rebase.h"
#include "../formats/format.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rebase_args {
	struct image_cmd_opts o;     /* o.cache: -t, the image's cache mode */
	const char *src_cache;       /* -T: the backing chains' */
	const char *backing;         /* NULL: not given; "": none */
	const char *backing_fmt;
	bool unsafe;
	const char *file;
};

static int parse_args(int argc, char **argv, struct rebase_args *a)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "force-share", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	int c, r;

	while ((c = cli_getopt(argc, argv, "hf:t:T:b:F:upqU", longopts)) != -1) {
		r = cli_image_cmd_opt(c, 't', argv, &a->o);
		if (r < 0)
			return -EINVAL;
		if (r > 0)
			continue;
		switch (c) {
		case 'T': a->src_cache = optarg; break;
		case 'b': a->backing = optarg; break;
		case 'F': a->backing_fmt = optarg; break;
		case 'u': a->unsafe = true; break;
		case 'h':
			printf("usage: %s rebase [-q] [-f fmt] [-t cache] [-T src_cache] [-p] [-u] -b backing_file [-F backing_fmt] filename\n",
			       PROG_NAME);
			return 1;
		default:
			return -EINVAL;
		}
	}
	if (cli_one_image_name(argc, argv, &a->file) < 0)
		return -EINVAL;
	if (!a->backing) {
		cli_error("Must specify backing file (-b)");
		return -EINVAL;
	}
	if (a->backing_fmt && !format_find(a->backing_fmt)) {
		cli_error("Unknown file format '%s'", a->backing_fmt);
		return -EINVAL;
	}
	return 0;
}

int cmd_rebase(int argc, char **argv)
{
	struct rebase_args a = { .o.cache = "writeback", .src_cache = "writeback" };
	struct rebase_request rq;
	int flags = 0, src_flags = 0, ret;

	ret = parse_args(argc, argv, &a);
	if (ret)
		return ret > 0 ? 0 : 1;
	ret = cli_parse_cache(a.o.cache, &flags);
	if (ret == 0)
		ret = cli_parse_cache(a.src_cache, &src_flags);
	if (ret < 0) {
		cli_report(ret, NULL);
		return 1;
	}
	rq = (struct rebase_request) {
		.file = a.file,
		.fmt = a.o.fmt,
		.flags = flags,
		.src_flags = src_flags,
		.backing = a.backing,
		.backing_fmt = a.backing_fmt,
		.unsafe = a.unsafe,
		.progress = a.o.quiet ? PROGRESS_NONE : a.o.progress,
	};
	ret = rebase_image(&rq);
	if (ret < 0) {
		cli_report(ret, a.file);
		return 1;
	}
	return 0;
}
