/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_checksum.c - `imgtool checksum`: a digest of each image's guest-visible
 * content (convert/checksum.h), equal for equal content in any format.  Human
 * output is "DIGEST  FILE" per line as sha256sum and blksum print it; JSON is a
 * list of {"filename", "checksum", "algorithm"}.  Exit 0 when every image was
 * hashed, 1 otherwise (the others are still hashed).
 */
#include "imgtool/cli.h"
#include "common/err.h"
#include "convert/checksum.h"
#include "convert/progress.h"
#include "formats/format.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

struct checksum_cli {
	const char *fmt;
	int flags;
	int workers;
	bool progress;
};

/* Hash one file; 0 with hex filled, or a negative errno (reported). */
static int checksum_file(const struct checksum_cli *o, const char *file, char *hex)
{
	struct checksum_params cp = { .workers = o->workers };
	struct image *img = NULL;
	int ret;

	ret = image_open(file, o->fmt, o->flags, &img);
	if (ret < 0) {
		cli_report(ret, NULL);
		return ret;
	}
	cp.img = img;
	if (o->progress)
		cp.progress = progress_new(PROGRESS_HUMAN, img->size);
	ret = checksum_run(&cp, hex);
	progress_finish(cp.progress);
	progress_free(cp.progress);
	if (ret < 0)
		cli_report(ret, NULL);
	image_close(img);
	return ret;
}

int cmd_checksum(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "force-share", no_argument, NULL, 'U' },
		{ "output", required_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 },
	};
	struct checksum_cli o = { 0 };
	enum output_format out = OUTPUT_HUMAN;
	const char *cache = "writeback";
	struct json_object *list;
	int c, rc = 0;

	while ((c = cli_getopt(argc, argv, "hf:T:m:pU", longopts)) != -1) {
		switch (c) {
		case 'f': o.fmt = optarg; break;
		case 'T': cache = optarg; break;
		case 'p': o.progress = true; break;
		case 'U': break;
		case 'm':
			if (cli_parse_workers(optarg, &o.workers) < 0) {
				cli_report(-EINVAL, NULL);
				return 1;
			}
			break;
		case 'O':
			if (cli_parse_output(optarg, &out) < 0) {
				cli_error("--output must be human or json");
				return 1;
			}
			break;
		case 'h':
			printf("usage: %s checksum [-f fmt] [-T src_cache] [-m num_workers] [-p] [-U] "
			       "[--output=ofmt] filename [filename2 [...]]\n", PROG_NAME);
			return 0;
		default:
			return 1;
		}
	}
	if (optind >= argc) {
		cli_error("Expecting at least one image file name");
		return 1;
	}
	if (cli_parse_cache(cache, &o.flags) < 0) {
		cli_report(-EINVAL, NULL);
		return 1;
	}
	list = json_object_new_array();
	for (int i = optind; i < argc; i++) {
		char hex[CHECKSUM_HEX_LEN + 1];
		struct json_object *e;

		if (checksum_file(&o, argv[i], hex) < 0) {
			rc = 1;
			continue;
		}
		if (out == OUTPUT_HUMAN) {
			printf("%s  %s\n", hex, argv[i]);
			fflush(stdout);
			continue;
		}
		e = json_object_new_object();
		json_object_object_add(e, "filename", json_object_new_string(argv[i]));
		json_object_object_add(e, "checksum", json_object_new_string(hex));
		json_object_object_add(e, "algorithm", json_object_new_string(CHECKSUM_ALGORITHM));
		json_object_array_add(list, e);
	}
	if (out == OUTPUT_JSON)
		cli_print_json(list);
	json_object_put(list);
	return rc;
}
