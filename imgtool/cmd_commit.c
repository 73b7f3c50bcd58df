/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_commit.c - `imgtool commit`: merge an overlay into its backing file (or,
 * with -b, into a base further down the chain), as qemu-img commit does.
 *
 * Without -d and -b the overlay is emptied afterwards (qemu-img 7.2 does the
 * same); -b implies -d.  This file parses and reports; the work is
 * convert/commit_image.c's.
 */
#include "cli.h"
#include "../common/err.h"
#include "../convert/commit.h"
#include "../convert/progress.h"
#include "../formats/format.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

struct commit_args {
	struct image_cmd_opts o;
	const char *base;
	bool keep;
	const char *file;
};

static int parse_args(int argc, char **argv, struct commit_args *a)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "force-share", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	int c, r;

	while ((c = cli_getopt(argc, argv, "hf:t:b:dpqr:U", longopts)) != -1) {
		r = cli_image_cmd_opt(c, 't', argv, &a->o);
		if (r < 0)
			return -EINVAL;
		if (r > 0)
			continue;
		switch (c) {
		case 'b': a->base = optarg; a->keep = true; break;  /* -b implies -d */
		case 'd': a->keep = true; break;
		case 'h':
			printf("usage: %s commit [-q] [-f fmt] [-t cache] [-b base] [-d] [-p] filename\n",
			       PROG_NAME);
			return 1;
		default:
			return -EINVAL;
		}
	}
	return cli_one_image_name(argc, argv, &a->file) < 0 ? -EINVAL : 0;
}

int cmd_commit(int argc, char **argv)
{
	struct commit_args a = { .o.cache = "writeback" };
	struct commit_request rq;
	int flags = 0, ret;

	ret = parse_args(argc, argv, &a);
	if (ret)
		return ret > 0 ? 0 : 1;
	ret = cli_parse_cache(a.o.cache, &flags);
	if (ret < 0) {
		cli_report(ret, NULL);
		return 1;
	}
	rq = (struct commit_request) {
		.file = a.file,
		.fmt = a.o.fmt,
		.flags = flags,
		.base = a.base,
		.keep = a.keep,
		.progress = a.o.quiet ? PROGRESS_NONE : a.o.progress,
	};
	ret = commit_image(&rq);
	if (ret < 0) {
		cli_report(ret, a.file);
		return 1;
	}
	if (!a.o.quiet)
		printf("Image committed.\n");
	return 0;
}
