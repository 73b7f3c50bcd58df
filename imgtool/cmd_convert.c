/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_convert.c - `imgtool convert`: copy one or more images (concatenated) into a
 * new or existing target of any format, with qemu-img convert's options.
 *
 * This file parses the options and reports; the decisions and the copy are
 * convert/convert.c's.
 */
#include "cli.h"
#include "../common/err.h"
#include "../common/opts.h"
#include "../convert/convert.h"
#include "../convert/copy.h"
#include "../formats/format.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

enum {
	OPT_TARGET_IS_ZERO = 256,
	OPT_BITMAPS,
	OPT_SKIP_BROKEN,
};

struct convert_args {
	struct image_cmd_opts src;  /* -f, -T (the sources' cache mode), -p, -q */
	const char *dst_fmt;
	const char *dst_cache;
	const char *backing;      /* -B/-b: the target's backing file */
	const char *backing_fmt;  /* -F */
	const char *snapshot;     /* -l / -s: read the source from this snapshot */
	struct opts o;
	bool want_help;
	bool compress;
	bool no_create;
	bool target_is_zero;
	bool copy_offload;        /* -C */
	bool sparse_given;        /* -S was given (qemu refuses it with -C) */
	bool bitmaps;
	bool skip_broken;
	uint64_t min_sparse;
	int workers;
};

static int parse_args(int argc, char **argv, struct convert_args *a)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "target-is-zero", no_argument, NULL, OPT_TARGET_IS_ZERO },
		{ "progress", required_argument, NULL, CLI_OPT_PROGRESS },
		{ "force-share", no_argument, NULL, 'U' },
		{ "salvage", no_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "bitmaps", no_argument, NULL, OPT_BITMAPS },
		{ "skip-broken-bitmaps", no_argument, NULL, OPT_SKIP_BROKEN },
		{ NULL, 0, NULL, 0 },
	};
	int c, r;

	while ((c = cli_getopt(argc, argv, "hf:O:o:cpS:nm:Wt:T:qUCB:b:F:l:s:r:", longopts)) != -1) {
		r = cli_image_cmd_opt(c, 'T', argv, &a->src);
		if (r < 0)
			return -EINVAL;
		if (r > 0)
			continue;
		switch (c) {
		case 'O': a->dst_fmt = optarg; break;
		case 'c': a->compress = true; break;
		case 'n': a->no_create = true; break;
		case 'W': break;        /* writes are always out of order */
		case 'C': a->copy_offload = true; break;
		case 't': a->dst_cache = optarg; break;
		case OPT_TARGET_IS_ZERO: a->target_is_zero = true; break;
		case OPT_BITMAPS: a->bitmaps = true; break;
		case OPT_SKIP_BROKEN: a->skip_broken = true; break;
		case 'o':
			if (create_opts_want_help(optarg)) {
				a->want_help = true;
				break;
			}
			if (opts_parse(&a->o, optarg) < 0) {
				cli_error("Invalid option list: %s", optarg);
				return -EINVAL;
			}
			break;
		case 'S':
			if (cli_parse_sparse(optarg, &a->min_sparse) < 0)
				goto bad;
			a->sparse_given = true;
			break;
		case 'm':
			if (cli_parse_workers(optarg, &a->workers) < 0)
				goto bad;
			break;
		case 'B': case 'b': a->backing = optarg; break;
		case 'F': a->backing_fmt = optarg; break;
		case 'l': case 's':
			a->snapshot = optarg;
			break;
		case 'h':
			printf("usage: %s convert [--target-is-zero] [--bitmaps [--skip-broken-bitmaps]] [-U] [-c] [-p] [--progress=json] [-q] [-n] [-f fmt] [-t cache] [-T src_cache] [-O output_fmt] [-B backing_file [-F backing_fmt]] [-o options] [-l snapshot_param] [-S sparse_size] [-m num_workers] [-W] [-C] filename [filename2 [...]] output_filename\n",
			       PROG_NAME);
			return 1;
		default:
			return -EINVAL;
		}
	}
	return 0;
bad:
	cli_report(-EINVAL, NULL);
	return -EINVAL;
}

static int check_args(const struct convert_args *a, int nfiles)
{
	if (nfiles < 2) {
		cli_error("Must specify image file name");
		return -EINVAL;
	}
	if (a->copy_offload && a->compress) {
		cli_error("Cannot enable copy offloading when -c is used");
		return -EINVAL;
	}
	if (a->copy_offload && a->sparse_given) {
		cli_error("Cannot enable copy offloading when -S is used");
		return -EINVAL;
	}
	if (a->skip_broken && !a->bitmaps) {
		cli_error("Use of --skip-broken-bitmaps requires --bitmaps");
		return -EINVAL;
	}
	if (a->target_is_zero && !a->no_create) {
		cli_error("--target-is-zero requires use of -n flag");
		return -EINVAL;
	}
	if (a->backing && a->no_create) {
		cli_error("-B cannot be used together with -n (the target exists)");
		return -EINVAL;
	}
	if (a->backing_fmt && !a->backing) {
		cli_error("-F needs a backing file (-B)");
		return -EINVAL;
	}
	if (a->no_create && a->o.n) {
		cli_error("-o cannot be used together with -n (the target exists)");
		return -EINVAL;
	}
	return 0;
}

static void warn_skipped_bitmap(const char *name)
{
	fprintf(stderr, "%s: warning: Skipping inconsistent bitmap '", PROG_NAME);
	cli_fputs_escaped(name, stderr);
	fputs("'\n", stderr);
}

int cmd_convert(int argc, char **argv)
{
	struct convert_args a = {
		.dst_fmt = "raw",
		.src.cache = "writeback",
		.dst_cache = "unsafe",     /* qemu-img convert's default */
		.min_sparse = COPY_DEFAULT_SPARSE,
	};
	struct convert_params cp;
	int ret, rc = 1;

	ret = parse_args(argc, argv, &a);
	if (ret) {
		rc = ret > 0 ? 0 : 1;
		goto out;
	}
	if (a.want_help) {
		const struct format_ops *ops = format_find(a.dst_fmt);

		if (!ops) {
			cli_error("Unknown file format '%s'", a.dst_fmt);
			goto out;
		}
		/* qemu-img names the target only when there is a source too */
		rc = create_print_opts_help(ops, argc - optind >= 2);
		goto out;
	}
	if (check_args(&a, argc - optind) < 0)
		goto out;
	cp = (struct convert_params) {
		.src_names = argv + optind,
		.nb_src = argc - optind - 1,
		.src_fmt = a.src.fmt,
		.src_cache = a.src.cache,
		.snapshot = a.snapshot,
		.dst_name = argv[argc - 1],
		.dst_fmt = a.dst_fmt,
		.dst_cache = a.dst_cache,
		.backing = a.backing,
		.backing_fmt = a.backing_fmt,
		.opts = &a.o,
		.compress = a.compress,
		.copy_offload = a.copy_offload,
		.no_create = a.no_create,
		.target_is_zero = a.target_is_zero,
		.min_sparse = a.min_sparse,
		.workers = a.workers,
		.progress = a.src.quiet ? PROGRESS_NONE : a.src.progress,
		.bitmaps = a.bitmaps,
		.skip_broken_bitmaps = a.skip_broken,
		.warn_bitmap = warn_skipped_bitmap,
	};
	ret = convert_run(&cp);
	if (ret < 0) {
		cli_report(ret, NULL);
		goto out;
	}
	rc = 0;
out:
	opts_free(&a.o);
	return rc;
}
