/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_create.c - `imgtool create`: make a new image, like qemu-img create.
 *
 * -b/-F become the backing_file/backing_fmt options; without a size the backing
 * file's virtual size is used (it is opened to check it exists unless -u).  The
 * -o options are checked against the format's table (formats/format.h,
 * create_opts) first, as qemu-img does; the "Formatting ..." line (opts_help.c)
 * lists them in qemu-img's order and spelling, so logs read the same whichever
 * tool made the image.
 */
#include "cli.h"
#include "../common/err.h"
#include "../common/opts.h"
#include "../formats/format.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Size of the backing image (which must open) for a create without a size. */
static int backing_size(const char *filename, const char *backing, const char *bfmt,
			uint64_t *size)
{
	struct image *img;
	char *path = image_resolve_backing(filename, backing);
	int ret;

	if (!path)
		return err_set(-ENOMEM, filename, "out of memory");
	ret = image_open(path, bfmt, IMG_NO_BACKING, &img);
	free(path);
	if (ret < 0) {
		char msg[ERR_MSG_MAX];

		snprintf(msg, sizeof(msg), "%s", err_get());
		return err_set(ret, filename, "%s; could not open backing image", msg);
	}
	*size = img->size;
	image_close(img);
	return 0;
}

int cmd_create(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *fmt = "raw", *backing = NULL, *bfmt = NULL, *filename;
	const struct format_ops *ops;
	struct opts o = { 0 };
	bool quiet = false, unsafe = false, have_size = false, want_help = false;
	uint64_t size = 0;
	int c, ret, rc = 1;

	while ((c = cli_getopt(argc, argv, "hf:o:b:F:uq", longopts)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'b': backing = optarg; break;
		case 'F': bfmt = optarg; break;
		case 'u': unsafe = true; break;
		case 'q': quiet = true; break;
		case 'o':
			if (create_opts_want_help(optarg)) {
				want_help = true;
				break;
			}
			if (opts_parse(&o, optarg) < 0) {
				cli_error("Invalid option list: %s", optarg);
				goto out;
			}
			break;
		case 'h':
			printf("usage: %s create [-q] [-f fmt] [-b backing_file [-F backing_fmt]] [-u] [-o options] filename [size]\n",
			       PROG_NAME);
			rc = 0;
			goto out;
		default:
			goto out;
		}
	}
	if (want_help) {
		ops = format_find(fmt);
		if (!ops) {
			cli_error("Unknown file format '%s'", fmt);
			goto out;
		}
		rc = create_print_opts_help(ops, optind < argc);
		goto out;
	}
	if (optind >= argc) {
		cli_error("Expecting image file name");
		goto out;
	}
	filename = argv[optind++];
	if (optind < argc) {
		if (parse_size(argv[optind], &size) < 0 || size > (uint64_t)INT64_MAX) {
			cli_error("Invalid image size specified. You may use k, M, G, T, P or E suffixes for kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
			goto out;
		}
		have_size = true;
		optind++;
	}
	if (optind < argc) {
		cli_error("Unexpected argument: %s", argv[optind]);
		goto out;
	}
	ops = format_find(fmt);
	if (!ops) {
		cli_error("%s: Unknown file format '%s'", filename, fmt);
		goto out;
	}
	if (!ops->create) {   /* a read-only format, whatever the options say */
		cli_error("%s: Format driver '%s' does not support image creation", filename, fmt);
		goto out;
	}
	ret = create_opts_check(ops->create_opts, filename, &o);
	if (ret < 0) {
		cli_report(ret, filename);
		goto out;
	}
	if (backing && !create_opt_find(ops->create_opts, "backing_file")) {
		cli_error("%s: Backing file not supported for file format '%s'", filename, fmt);
		goto out;
	}
	if (!backing)
		backing = opts_get(&o, "backing_file");
	if (!bfmt)
		bfmt = opts_get(&o, "backing_fmt");
	if (backing && !bfmt) {
		cli_error("%s: Backing file specified without backing format", filename);
		goto out;
	}
	if (backing) {
		opts_set(&o, "backing_file", backing);
		opts_set(&o, "backing_fmt", bfmt);
		/* opts_set replaced the strings the pointers may have come from */
		backing = opts_get(&o, "backing_file");
		bfmt = opts_get(&o, "backing_fmt");
	}
	if (!have_size) {
		const char *s = opts_get(&o, "size");

		/* its value passed create_opts_check */
		if (s && parse_size(s, &size) == 0)
			have_size = true;
	}
	for (int i = 0; i < o.n; i++)
		if (!strcmp(o.v[i].key, "size")) {
			/* size is an argument of image_create, not a format option */
			free(o.v[i].key);
			free(o.v[i].value);
			o.v[i] = o.v[--o.n];
			break;
		}
	if (backing && (!unsafe || !have_size)) {
		uint64_t bsize;

		if (!have_size && unsafe) {
			cli_error("%s: Image creation needs a size parameter", filename);
			goto out;
		}
		ret = backing_size(filename, backing, bfmt, &bsize);
		if (ret < 0) {
			cli_report(ret, filename);
			goto out;
		}
		if (!have_size)
			size = bsize;
		have_size = true;
	}
	if (!have_size) {
		cli_error("%s: Image creation needs a size parameter", filename);
		goto out;
	}
	/* Printed once the format has accepted the options (qemu-img validates
	 * them before printing, and only the format knows them). */
	ret = image_create(filename, fmt, size, &o);
	if (ret < 0) {
		cli_report(ret, filename);
		goto out;
	}
	if (!quiet)
		create_print_formatting(filename, ops, size, &o);
	rc = 0;
out:
	opts_free(&o);
	return rc;
}
