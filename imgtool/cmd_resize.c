/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_resize.c - `imgtool resize`: change an image's virtual size to SIZE, +SIZE or
 * -SIZE, as qemu-img resize does (shrinking needs --shrink).
 */
#include "cli.h"
#include "../common/err.h"
#include "../formats/format.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

/* Open for writing.  Without -f the format is probed read-only first and the image
 * reopened with the probed name: resizing writes no guest data, so the rule against
 * writing into a guessed raw image (block 0 could be made to look like a header)
 * does not apply, and qemu-img resize accepts it too. */
static int open_rw(const char *filename, const char *fmt, struct image **img)
{
	struct image *probe;
	char name[64];
	int ret;

	if (fmt)
		return image_open(filename, fmt, IMG_RDWR, img);
	ret = image_open(filename, NULL, IMG_NO_BACKING, &probe);
	if (ret < 0)
		return ret;
	snprintf(name, sizeof(name), "%s", probe->ops->name);
	image_close(probe);
	return image_open(filename, name, IMG_RDWR, img);
}

static int resize_usage(void)
{
	printf("usage: %s resize [-f fmt] [--preallocation=prealloc] [-q] [--shrink] filename [+ | -]size\n",
	       PROG_NAME);
	return 0;
}

int cmd_resize(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "shrink", no_argument, NULL, 'S' },
		{ "preallocation", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	const char *fmt = NULL, *size_arg;
	enum prealloc_mode prealloc = PREALLOC_OFF;
	bool quiet = false, shrink = false;
	struct image *img;
	uint64_t delta, new_size;
	int sign, c, ret;

	/* --help alone: the size is not there to take off first */
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return resize_usage();
	if (argc < 3) {
		cli_error("Expecting image file name and size");
		return 1;
	}
	/* Take the size off first so that getopt does not read "-1G" as options. */
	size_arg = argv[--argc];
	while ((c = cli_getopt(argc, argv, "hf:q", longopts)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'q': quiet = true; break;
		case 'S': shrink = true; break;
		case 'P':
			if (parse_prealloc(optarg, &prealloc) < 0) {
				cli_report(-EINVAL, NULL);
				return 1;
			}
			break;
		case 'h':
			return resize_usage();
		default:
			return 1;
		}
	}
	if (optind != argc - 1) {
		cli_error("Expecting image file name and size");
		return 1;
	}
	if (cli_parse_resize_size(size_arg, &sign, &delta) < 0) {
		cli_report(-EINVAL, NULL);
		return 1;
	}
	ret = open_rw(argv[optind], fmt, &img);
	if (ret < 0) {
		cli_report(ret, argv[optind]);
		return 1;
	}
	ret = cli_apply_resize(img->size, sign, delta, &new_size);
	if (ret == 0)
		ret = image_resize(img, new_size, prealloc, shrink);
	if (ret == 0)
		ret = image_flush(img);
	if (ret < 0) {
		cli_report(ret, argv[optind]);
		image_close(img);
		return 1;
	}
	image_close(img);
	if (!quiet)
		printf("Image resized.\n");
	return 0;
}
