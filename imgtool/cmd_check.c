/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_check.c - `imgtool check`: consistency check (and -r repair) with qemu-img's
 * report text, JSON keys and exit codes (0 clean, 1 check failed, 2 corruptions,
 * 3 leaks only, 63 format without check).
 */
#include "cli.h"
#include "../common/err.h"
#include "../formats/format.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

static void check_human(const struct check_result *r, bool quiet)
{
	if (quiet)
		return;
	if (!r->corruptions && !r->leaks && !r->check_errors) {
		printf("No errors were found on the image.\n");
	} else {
		if (r->corruptions)
			printf("\n%d errors were found on the image.\n"
			       "Data may be corrupted, or further writes to the image may corrupt it.\n",
			       r->corruptions);
		if (r->leaks)
			printf("\n%d leaked clusters were found on the image.\n"
			       "This means waste of disk space, but no harm to data.\n",
			       r->leaks);
		if (r->check_errors)
			printf("\n%d internal errors have occurred during the check.\n",
			       r->check_errors);
	}
	if (r->total_clusters && r->allocated_clusters) {
		double t = (double)r->total_clusters;

		printf("%llu/%llu = %0.2f%% allocated, %0.2f%% fragmented, %0.2f%% compressed clusters\n",
		       (unsigned long long)r->allocated_clusters,
		       (unsigned long long)r->total_clusters,
		       (double)r->allocated_clusters * 100.0 / t,
		       (double)r->fragmented_clusters * 100.0 / (double)r->allocated_clusters,
		       (double)r->compressed_clusters * 100.0 / (double)r->allocated_clusters);
	}
	if (r->image_end_offset)
		printf("Image end offset: %llu\n", (unsigned long long)r->image_end_offset);
}

static void add_nonzero(struct json_object *o, const char *k, int64_t v)
{
	if (v)
		json_object_object_add(o, k, json_object_new_int64(v));
}

static void check_json(const struct check_result *r, const char *filename, const char *fmt,
		       bool quiet)
{
	struct json_object *o = json_object_new_object();

	/* QAPI ImageCheck order; optional members only when non-zero, as qemu-img */
	json_object_object_add(o, "filename", json_object_new_string(filename));
	json_object_object_add(o, "format", json_object_new_string(fmt));
	json_object_object_add(o, "check-errors", json_object_new_int64(r->check_errors));
	add_nonzero(o, "image-end-offset", (int64_t)r->image_end_offset);
	add_nonzero(o, "corruptions", r->corruptions);
	add_nonzero(o, "leaks", r->leaks);
	add_nonzero(o, "corruptions-fixed", r->corruptions_fixed);
	add_nonzero(o, "leaks-fixed", r->leaks_fixed);
	add_nonzero(o, "total-clusters", (int64_t)r->total_clusters);
	add_nonzero(o, "allocated-clusters", (int64_t)r->allocated_clusters);
	add_nonzero(o, "fragmented-clusters", (int64_t)r->fragmented_clusters);
	add_nonzero(o, "compressed-clusters", (int64_t)r->compressed_clusters);
	if (!quiet)
		cli_print_json(o);
	json_object_put(o);
}

static int run_check(struct image *img, int fix, struct check_result *r)
{
	int ret = image_check(img, fix, r);

	if (ret == -ENOTSUP) {
		cli_error("This image format does not support checks");
		return 63;
	}
	if (ret < 0) {
		cli_error("Check failed: %s", err_is_set() ? err_get() : strerror(-ret));
		return 1;
	}
	return 0;
}

int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "format", required_argument, NULL, 'f' },
		{ "repair", required_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'O' },
		{ "force-share", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	enum output_format of = OUTPUT_HUMAN;
	const char *fmt = NULL, *cache = "writeback";
	struct check_result r;
	struct image *img = NULL;
	bool quiet = false;
	int fix = 0, flags = IMG_CHECK, cflags = 0;
	int c, ret, rc;

	while ((c = cli_getopt(argc, argv, "hf:r:T:qU", longopts)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'q': quiet = true; break;
		case 'U': break;
		case 'T': cache = optarg; break;
		case 'r':
			flags |= IMG_RDWR | IMG_REPAIR;
			if (!strcmp(optarg, "leaks")) {
				fix = CHECK_FIX_LEAKS;
			} else if (!strcmp(optarg, "all")) {
				fix = CHECK_FIX_LEAKS | CHECK_FIX_ERRORS;
			} else {
				cli_error("Unknown option value for -r (expecting 'leaks' or 'all'): %s",
					  optarg);
				return 1;
			}
			break;
		case 'O':
			if (cli_parse_output(optarg, &of) < 0) {
				cli_report(-EINVAL, NULL);
				return 1;
			}
			break;
		case 'h':
			printf("usage: %s check [-q] [-f fmt] [--output=ofmt] [-r [leaks | all]] [-T src_cache] [-U] filename\n",
			       PROG_NAME);
			return 0;
		default:
			return 1;
		}
	}
	if (optind != argc - 1) {
		cli_error("Expecting one image file name");
		return 1;
	}
	if (cli_parse_cache(cache, &cflags) < 0) {
		cli_report(-EINVAL, NULL);
		return 1;
	}
	ret = image_open(argv[optind], fmt, flags | cflags, &img);
	if (ret < 0) {
		cli_report(ret, argv[optind]);
		return 1;
	}
	rc = run_check(img, fix, &r);
	if (rc)
		goto out;
	if (r.corruptions_fixed || r.leaks_fixed) {
		int lf = r.leaks_fixed, cf = r.corruptions_fixed;

		if (of == OUTPUT_HUMAN && !quiet)
			printf("The following inconsistencies were found and repaired:\n\n"
			       "    %d leaked clusters\n    %d corruptions\n\n"
			       "Double checking the fixed image now...\n", lf, cf);
		rc = run_check(img, 0, &r);
		if (rc)
			goto out;
		r.leaks_fixed = lf;
		r.corruptions_fixed = cf;
	}
	if (of == OUTPUT_JSON)
		check_json(&r, img->filename, img->ops->name, quiet);
	else
		check_human(&r, quiet);
	if (r.check_errors) {
		cli_error("Check failed");
		rc = 1;
	} else if (r.corruptions) {
		rc = 2;
	} else if (r.leaks) {
		rc = 3;
	}
out:
	image_close(img);
	return rc;
}
