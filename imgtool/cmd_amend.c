/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_amend.c - `imgtool amend [-f fmt] [-q] -o options FILE`: change options of
 * an existing image (qcow2: compat, lazy_refcounts), as qemu-img amend.
 */
#include "cli.h"
#include "../common/err.h"
#include "../common/opts.h"
#include "../formats/format.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>

/* -o help: the amend options of -f's format, else of the image's (probed). */
static int print_help(const char *fmt, const char *file)
{
	const struct format_ops *ops;
	struct image *img;
	int ret;

	if (fmt) {
		ops = format_find(fmt);
		if (!ops) {
			cli_error("Unknown file format '%s'", fmt);
			return 1;
		}
		return amend_print_opts_help(ops);
	}
	if (!file) {
		cli_error("Expecting one image file name");
		return 1;
	}
	ret = image_open(file, NULL, IMG_NO_BACKING, &img);
	if (ret < 0) {
		cli_report(ret, file);
		return 1;
	}
	ret = amend_print_opts_help(img->ops);
	image_close(img);
	return ret;
}

int cmd_amend(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "force", no_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { 0 };
	const char *fmt = NULL;
	struct image *img = NULL;
	bool have_opts = false, want_help = false;
	int c, ret, rc = 1;

	while ((c = cli_getopt(argc, argv, "hf:o:qpt:", longopts)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'q': case 'p': case 't': case 'F': break;
		case 'o':
			if (create_opts_want_help(optarg)) {
				want_help = true;
				break;
			}
			if (opts_parse(&o, optarg) < 0) {
				cli_error("Invalid option list: %s", optarg);
				goto out;
			}
			have_opts = true;
			break;
		case 'h':
			printf("usage: %s amend [-f fmt] [-q] -o options filename\n", PROG_NAME);
			rc = 0;
			goto out;
		default:
			goto out;
		}
	}
	if (want_help) {
		rc = print_help(fmt, argc - optind == 1 ? argv[optind] : NULL);
		goto out;
	}
	if (!have_opts) {
		cli_error("Must specify options (-o)");
		goto out;
	}
	if (optind != argc - 1) {
		cli_error("Expecting one image file name");
		goto out;
	}
	ret = image_open(argv[optind], fmt, IMG_RDWR | IMG_NO_BACKING, &img);
	if (ret == 0)
		ret = image_amend(img, &o);
	if (ret == 0)
		ret = image_flush(img);
	if (ret < 0) {
		cli_report(ret, argv[optind]);
		goto out;
	}
	rc = 0;
out:
	if (img)
		image_close(img);
	opts_free(&o);
	return rc;
}
