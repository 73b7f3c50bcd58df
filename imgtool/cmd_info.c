/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_info.c - `imgtool info`: what an image is, as qemu-img info prints it
 * (human text or the same JSON keys), optionally for every layer of the chain.
 */
#include "cli.h"
#include "../common/err.h"
#include "../common/escape.h"
#include "../formats/format.h"
#include "../formats/reference.h"

#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

static void add_int(struct json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static struct json_object *snapshot_json(const struct snapshot_info *sn)
{
	struct json_object *o = json_object_new_object();

	/* keys in QAPI SnapshotInfo order (it decides ties in the printed order) */
	add_str(o, "id", sn->id ? sn->id : "");
	add_str(o, "name", sn->name ? sn->name : "");
	add_int(o, "vm-state-size", (int64_t)sn->vm_state_size);
	add_int(o, "date-sec", sn->date_sec);
	add_int(o, "date-nsec", sn->date_nsec);
	add_int(o, "vm-clock-sec", (int64_t)(sn->vm_clock_nsec / 1000000000ULL));
	add_int(o, "vm-clock-nsec", (int64_t)(sn->vm_clock_nsec % 1000000000ULL));
	if (sn->icount != UINT64_MAX)
		add_int(o, "icount", (int64_t)sn->icount);
	return o;
}

/* The ImageInfo object qemu-img builds, keys in QAPI order. */
static struct json_object *info_json(struct image *img, const struct image_info *info,
				     const char *full_backing)
{
	struct json_object *o = json_object_new_object();

	add_str(o, "filename", img->filename);
	add_str(o, "format", img->ops->name);
	if (!info->no_driver_info)
		json_object_object_add(o, "dirty-flag", json_object_new_boolean(info->dirty_flag));
	if (info->actual_size >= 0)
		add_int(o, "actual-size", info->actual_size);
	add_int(o, "virtual-size", (int64_t)info->virtual_size);
	if (info->cluster_size)
		add_int(o, "cluster-size", (int64_t)info->cluster_size);
	if (info->encrypted)
		json_object_object_add(o, "encrypted", json_object_new_boolean(true));
	if (info->compressed)
		json_object_object_add(o, "compressed", json_object_new_boolean(true));
	if (img->backing_name && img->backing_name[0]) {
		add_str(o, "backing-filename", img->backing_name);
		if (full_backing)
			add_str(o, "full-backing-filename", full_backing);
		if (img->backing_format)
			add_str(o, "backing-filename-format", img->backing_format);
	}
	if (info->nb_snapshots > 0) {
		struct json_object *arr = json_object_new_array();

		for (int i = 0; i < info->nb_snapshots; i++)
			json_object_array_add(arr, snapshot_json(&info->snapshots[i]));
		json_object_object_add(o, "snapshots", arr);
	}
	if (info->format_specific) {
		struct json_object *fs = json_object_new_object();

		add_str(fs, "type", img->ops->name);
		json_object_object_add(fs, "data", json_object_get(info->format_specific));
		json_object_object_add(o, "format-specific", fs);
	}
	return o;
}

static void print_snapshot_line(const struct snapshot_info *sn)
{
	char size[64], date[64], clock[64], icount[32];
	time_t t = (time_t)sn->date_sec;
	struct tm tm;
	uint64_t ms = sn->vm_clock_nsec / 1000000ULL;

	cli_size_str(sn->vm_state_size, size, sizeof(size));
	if (localtime_r(&t, &tm))
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
	else
		snprintf(date, sizeof(date), "?");
	snprintf(clock, sizeof(clock), "%02llu:%02llu:%02llu.%03llu",
		 (unsigned long long)(ms / 3600000), (unsigned long long)(ms / 60000 % 60),
		 (unsigned long long)(ms / 1000 % 60), (unsigned long long)(ms % 1000));
	if (sn->icount != UINT64_MAX)
		snprintf(icount, sizeof(icount), "%llu", (unsigned long long)sn->icount);
	else
		icount[0] = '\0';
	/* snapshot ids and tags are written by whoever made the image */
	char *id = str_escape_ctrl_dup(sn->id ? sn->id : "");
	char *name = str_escape_ctrl_dup(sn->name ? sn->name : "");

	printf("%-9s %-16s %8s%20s%13s%11s\n", id ? id : "?", name ? name : "?",
	       size, date, clock, icount);
	free(id);
	free(name);
}

static void info_human(struct image *img, const struct image_info *info,
		       const char *full_backing)
{
	char vsize[64], dsize[64];

	cli_size_str(info->virtual_size, vsize, sizeof(vsize));
	if (info->actual_size >= 0)
		cli_size_str((uint64_t)info->actual_size, dsize, sizeof(dsize));
	else
		snprintf(dsize, sizeof(dsize), "unavailable");
	/* with --backing-chain, a layer's name comes from the layer above it */
	fputs("image: ", stdout);
	cli_fputs_escaped(img->filename, stdout);
	printf("\nfile format: %s\nvirtual size: %s (%llu bytes)\ndisk size: %s\n",
	       img->ops->name, vsize, (unsigned long long)info->virtual_size, dsize);
	if (info->encrypted)
		printf("encrypted: yes\n");
	if (info->cluster_size)
		printf("cluster_size: %llu\n", (unsigned long long)info->cluster_size);
	if (info->dirty_flag)
		printf("cleanly shut down: no\n");
	if (img->backing_name && img->backing_name[0]) {
		fputs("backing file: ", stdout);
		cli_fputs_escaped(img->backing_name, stdout);
		if (!full_backing) {
			printf(" (cannot determine actual path)");
		} else if (strcmp(full_backing, img->backing_name)) {
			fputs(" (actual path: ", stdout);
			cli_fputs_escaped(full_backing, stdout);
			putchar(')');
		}
		printf("\n");
		if (img->backing_format) {
			fputs("backing file format: ", stdout);
			cli_fputs_escaped(img->backing_format, stdout);
			putchar('\n');
		}
	}
	if (info->nb_snapshots > 0) {
		printf("Snapshot list:\n");
		printf("%-9s %-16s %8s%20s%13s%11s\n", "ID", "TAG", "VM SIZE", "DATE",
		       "VM CLOCK", "ICOUNT");
		for (int i = 0; i < info->nb_snapshots; i++)
			print_snapshot_line(&info->snapshots[i]);
	}
	if (info->format_specific) {
		printf("Format specific information:\n");
		cli_print_specific(info->format_specific, 1);
	}
}

/* Info of one layer: printed (human) or returned as JSON in *json. */
static int info_one(struct image *img, enum output_format of, struct json_object **json)
{
	struct image_info info;
	char *full = NULL;
	int ret;

	ret = image_info(img, &info);
	if (ret < 0) {
		cli_report(ret, img->filename);
		image_info_free(&info);
		return ret;
	}
	if (img->backing_name && img->backing_name[0])
		full = img->backing_path ? strdup(img->backing_path)
					 : image_resolve_backing(img->filename, img->backing_name);
	if (of == OUTPUT_JSON)
		*json = info_json(img, &info, full);
	else
		info_human(img, &info, full);
	free(full);
	image_info_free(&info);
	return 0;
}

int cmd_info(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'O' },
		{ "backing-chain", no_argument, NULL, 'B' },
		{ "force-share", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	enum output_format of = OUTPUT_HUMAN;
	const char *fmt = NULL;
	bool chain = false;
	struct image *img = NULL;
	struct json_object *arr = NULL, *one = NULL, *safety = NULL;
	bool untrusted;
	int c, ret, rc = 1;

	while ((c = cli_getopt(argc, argv, "hf:U", longopts)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'B': chain = true; break;
		case 'U': break;
		case 'O':
			if (cli_parse_output(optarg, &of) < 0) {
				cli_report(-1, NULL);
				return 1;
			}
			break;
		case 'h':
			printf("usage: %s info [-f fmt] [--output=ofmt] [--backing-chain] [-U] [--untrusted] filename\n",
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
	untrusted = ref_policy_flags() & IMG_UNTRUSTED;
	ref_refusal_reset();
	ret = image_open(argv[optind], fmt, chain ? 0 : IMG_NO_BACKING, &img);
	if (ret < 0 && untrusted && of == OUTPUT_JSON) {
		/* the refusal is the report: stdout says why, stderr as usual */
		one = json_object_new_object();
		json_object_object_add(one, "filename", json_object_new_string(argv[optind]));
		json_object_object_add(one, "safety", info_safety(NULL, ret, err_get()));
		cli_print_json(one);
		json_object_put(one);
	}
	if (ret < 0) {
		cli_report(ret, argv[optind]);
		return 1;
	}
	if (untrusted)
		safety = info_safety(img, 0, NULL);
	if (chain && of == OUTPUT_JSON)
		arr = json_object_new_array();
	for (struct image *l = img; l; l = chain ? l->backing : NULL) {
		if (l != img && of == OUTPUT_HUMAN)
			printf("\n");
		ret = info_one(l, of, &one);
		if (ret < 0)
			goto out;
		if (safety && l == img && one)
			json_object_object_add(one, "safety", json_object_get(safety));
		else if (safety && l == img)
			info_safety_print(safety);
		if (arr)
			json_object_array_add(arr, one);
		else if (one)
			cli_print_json(one), json_object_put(one);
		one = NULL;
	}
	if (arr)
		cli_print_json(arr);
	/* --untrusted: exit 1 when the image should be refused */
	rc = safety && !info_safety_ok(safety);
out:
	if (safety)
		json_object_put(safety);
	if (arr)
		json_object_put(arr);
	image_close(img);
	return rc;
}
