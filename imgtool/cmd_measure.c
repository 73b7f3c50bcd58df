/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_measure.c - `imgtool measure`: how large a new image of a format would be,
 * for an empty disk of --size N or for an existing image's contents.
 */
#include "cli.h"
#include "../common/err.h"
#include "../common/opts.h"
#include "../formats/format.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

int cmd_measure(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "output", required_argument, NULL, 'P' },
		{ "size", required_argument, NULL, 's' },
		{ "force-share", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	enum output_format of = OUTPUT_HUMAN;
	const char *fmt = NULL, *ofmt = "raw";
	struct opts o = { 0 };
	struct image *src = NULL;
	struct measure_result res;
	uint64_t size = 0;
	bool have_size = false, want_help = false;
	int c, ret, rc = 1;

	while ((c = cli_getopt(argc, argv, "hf:O:o:U", longopts)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'O': ofmt = optarg; break;
		case 'U': break;
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
		case 'P':
			if (cli_parse_output(optarg, &of) < 0) {
				cli_report(-EINVAL, NULL);
				goto out;
			}
			break;
		case 's':
			if (parse_size(optarg, &size) < 0) {
				cli_error("Invalid size specified. You may use k, M, G, T, P or E suffixes for kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
				goto out;
			}
			have_size = true;
			break;
		case 'h':
			printf("usage: %s measure [--output=ofmt] [-O output_fmt] [-o options] [--size N | [-f fmt] filename]\n",
			       PROG_NAME);
			rc = 0;
			goto out;
		default:
			goto out;
		}
	}
	if (want_help) {
		const struct format_ops *ops = format_find(ofmt);

		if (!ops) {
			cli_error("Unknown file format '%s'", ofmt);
			goto out;
		}
		rc = create_print_opts_help(ops, false);
		goto out;
	}
	if (have_size && optind < argc) {
		cli_error("--size N cannot be used together with a filename.");
		goto out;
	}
	if (!have_size && optind != argc - 1) {
		cli_error("Either --size N or one filename must be specified.");
		goto out;
	}
	if (!have_size) {
		ret = image_open(argv[optind], fmt, 0, &src);
		if (ret < 0) {
			cli_report(ret, argv[optind]);
			goto out;
		}
		size = src->size;
	}
	ret = image_measure(ofmt, &o, size, src, &res);
	if (ret < 0) {
		cli_report(ret, NULL);
		goto out;
	}
	if (of == OUTPUT_JSON) {
		struct json_object *j = json_object_new_object();

		if (res.has_bitmaps)   /* qemu-img's key order */
			json_object_object_add(j, "bitmaps", json_object_new_int64((int64_t)res.bitmaps));
		json_object_object_add(j, "required", json_object_new_int64((int64_t)res.required));
		json_object_object_add(j, "fully-allocated",
				       json_object_new_int64((int64_t)res.fully_allocated));
		cli_print_json(j);
		json_object_put(j);
	} else {
		printf("required size: %llu\nfully allocated size: %llu\n",
		       (unsigned long long)res.required, (unsigned long long)res.fully_allocated);
		if (res.has_bitmaps)
			printf("bitmaps size: %llu\n", (unsigned long long)res.bitmaps);
	}
	rc = 0;
out:
	image_close(src);
	opts_free(&o);
	return rc;
}
