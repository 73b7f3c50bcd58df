/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_compare.c - `imgtool compare`: are two images' guest contents identical?
 * Exit 0 identical, 1 different, 2 error, with qemu-img compare's messages.
 */
#include "cli.h"
#include "../common/err.h"
#include "../convert/compare.h"
#include "../convert/progress.h"
#include "../formats/format.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

int cmd_compare(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "force-share", no_argument, NULL, 'U' },
		{ "progress", required_argument, NULL, CLI_OPT_PROGRESS },
		{ NULL, 0, NULL, 0 },
	};
	struct image_cmd_opts o = { .cache = "writeback" };
	const char *fmt2 = NULL;
	bool strict = false;
	struct image *a = NULL, *b = NULL;
	struct progress *prog = NULL;
	struct compare_params cp = { 0 };
	uint64_t mismatch = 0;
	int c, ret, flags = 0, rc = 2;

	while ((c = cli_getopt(argc, argv, "hf:F:T:pqsU", longopts)) != -1) {
		ret = cli_image_cmd_opt(c, 'T', argv, &o);
		if (ret < 0)
			return 2;
		if (ret > 0)
			continue;
		switch (c) {
		case 'F': fmt2 = optarg; break;
		case 's': strict = true; break;
		case 'h':
			printf("usage: %s compare [-f fmt] [-F fmt] [-T src_cache] [-p] [-q] [-s] [-U] filename1 filename2\n",
			       PROG_NAME);
			return 0;
		default:
			return 2;
		}
	}
	if (argc - optind != 2) {
		cli_error("Expecting two image file names");
		return 2;
	}
	if (cli_parse_cache(o.cache, &flags) < 0) {
		cli_report(-EINVAL, NULL);
		return 2;
	}
	ret = image_open(argv[optind], o.fmt, flags, &a);
	if (ret == 0)
		ret = image_open(argv[optind + 1], fmt2, flags, &b);
	if (ret < 0) {
		cli_report(ret, NULL);
		goto out;
	}
	if (a->size != b->size && strict) {
		if (!o.quiet)
			printf("Strict mode: Image size mismatch!\n");
		rc = 1;
		goto out;
	}
	if (!o.quiet && o.progress != PROGRESS_NONE)
		prog = progress_new(o.progress, a->size > b->size ? a->size : b->size);
	cp.a = a;
	cp.b = b;
	cp.progress = prog;
	/* the common part first: qemu-img warns about the sizes only after it */
	cp.end = a->size < b->size ? a->size : b->size;
	ret = compare_run(&cp, &mismatch);
	if (ret == 0 && a->size != b->size) {
		if (!o.quiet)
			printf("Warning: Image size mismatch!\n");
		cp.start = cp.end;
		cp.end = 0;
		ret = compare_run(&cp, &mismatch);
	}
	progress_finish(prog);
	if (ret < 0) {
		cli_report(ret, NULL);
		goto out;
	}
	if (ret == 1) {
		if (!o.quiet)
			printf("Content mismatch at offset %llu!\n", (unsigned long long)mismatch);
		rc = 1;
		goto out;
	}
	if (!o.quiet)
		printf("Images are identical.\n");
	rc = 0;
out:
	progress_free(prog);
	image_close(a);
	image_close(b);
	return rc;
}
