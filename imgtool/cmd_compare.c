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
		{ "progress", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	const char *fmt1 = NULL, *fmt2 = NULL, *cache = "writeback";
	enum progress_mode pmode = PROGRESS_NONE;
	bool strict = false, quiet = false;
	struct image *a = NULL, *b = NULL;
	struct progress *prog = NULL;
	struct compare_params cp = { 0 };
	uint64_t mismatch = 0;
	int c, ret, flags = 0, rc = 2;

	while ((c = cli_getopt(argc, argv, "hf:F:T:pqsU", longopts)) != -1) {
		switch (c) {
		case 'f': fmt1 = optarg; break;
		case 'F': fmt2 = optarg; break;
		case 'T': cache = optarg; break;
		case 'p': pmode = PROGRESS_HUMAN; break;
		case 'q': quiet = true; break;
		case 's': strict = true; break;
		case 'U': break;
		case 'P':
			if (strcmp(optarg, "json") && strcmp(optarg, "human")) {
				cli_error("--progress must be human or json");
				return 2;
			}
			pmode = !strcmp(optarg, "json") ? PROGRESS_JSON : PROGRESS_HUMAN;
			break;
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
	if (cli_parse_cache(cache, &flags) < 0) {
		cli_report(-EINVAL, NULL);
		return 2;
	}
	ret = image_open(argv[optind], fmt1, flags, &a);
	if (ret == 0)
		ret = image_open(argv[optind + 1], fmt2, flags, &b);
	if (ret < 0) {
		cli_report(ret, NULL);
		goto out;
	}
	if (a->size != b->size && strict) {
		if (!quiet)
			printf("Strict mode: Image size mismatch!\n");
		rc = 1;
		goto out;
	}
	if (!quiet && pmode != PROGRESS_NONE)
		prog = progress_new(pmode, a->size > b->size ? a->size : b->size);
	cp.a = a;
	cp.b = b;
	cp.progress = prog;
	/* the common part first: qemu-img warns about the sizes only after it */
	cp.end = a->size < b->size ? a->size : b->size;
	ret = compare_run(&cp, &mismatch);
	if (ret == 0 && a->size != b->size) {
		if (!quiet)
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
		if (!quiet)
			printf("Content mismatch at offset %llu!\n", (unsigned long long)mismatch);
		rc = 1;
		goto out;
	}
	if (!quiet)
		printf("Images are identical.\n");
	rc = 0;
out:
	progress_free(prog);
	image_close(a);
	image_close(b);
	return rc;
}
