/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_snapshot.c - `imgtool snapshot [-l | -a NAME | -c NAME | -d NAME] FILE`:
 * list, apply (revert to), create and delete internal snapshots, with
 * qemu-img 7.2's syntax, table and messages.  `-l --output=json` prints the
 * array qemu-img info --output=json shows under "snapshots" (qemu-img itself
 * has no JSON for snapshot -l).
 */
#include "cli.h"
#include "../common/err.h"
#include "../formats/format.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum snapshot_action {
	SN_NONE,
	SN_LIST,
	SN_APPLY,
	SN_CREATE,
	SN_DELETE,
};

static struct json_object *snapshot_json(const struct snapshot_info *sn)
{
	struct json_object *o = json_object_new_object();

	/* QAPI SnapshotInfo key order, as `info --output=json` */
	json_object_object_add(o, "id", json_object_new_string(sn->id ? sn->id : ""));
	json_object_object_add(o, "name", json_object_new_string(sn->name ? sn->name : ""));
	json_object_object_add(o, "vm-state-size", json_object_new_int64((int64_t)sn->vm_state_size));
	json_object_object_add(o, "date-sec", json_object_new_int64(sn->date_sec));
	json_object_object_add(o, "date-nsec", json_object_new_int64(sn->date_nsec));
	json_object_object_add(o, "vm-clock-sec",
			       json_object_new_int64((int64_t)(sn->vm_clock_nsec / 1000000000ULL)));
	json_object_object_add(o, "vm-clock-nsec",
			       json_object_new_int64((int64_t)(sn->vm_clock_nsec % 1000000000ULL)));
	if (sn->icount != UINT64_MAX)
		json_object_object_add(o, "icount", json_object_new_int64((int64_t)sn->icount));
	return o;
}

/* One row of qemu's snapshot table (bdrv_snapshot_dump). */
static void print_row(const struct snapshot_info *sn)
{
	char size[64], date[64], clock[64], icount[32];
	time_t t = (time_t)sn->date_sec;
	uint64_t ms = sn->vm_clock_nsec / 1000000ULL;
	struct tm tm;

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
	printf("%-9s %-16s %8s%20s%13s%11s\n", sn->id ? sn->id : "", sn->name ? sn->name : "",
	       size, date, clock, icount);
}

static int do_list(struct image *img, enum output_format out)
{
	struct snapshot_info *list;
	int n, ret;

	ret = image_snapshot_list(img, &list, &n);
	if (ret < 0) {
		cli_report(ret, img->filename);
		return 1;
	}
	if (out == OUTPUT_JSON) {
		struct json_object *arr = json_object_new_array();

		for (int i = 0; i < n; i++)
			json_object_array_add(arr, snapshot_json(&list[i]));
		cli_print_json(arr);
		json_object_put(arr);
	} else {
		printf("Snapshot list:\n");
		printf("%-9s %-16s %8s%20s%13s%11s\n", "ID", "TAG", "VM SIZE", "DATE",
		       "VM CLOCK", "ICOUNT");
		for (int i = 0; i < n; i++)
			print_row(&list[i]);
	}
	image_snapshot_list_free(list, n);
	return 0;
}

/* The driver's message without the "FILE: " it starts with (qemu-img puts the
 * snapshot name first instead). */
static const char *reason(int ret, const char *filename)
{
	const char *m = err_get();
	size_t fl = strlen(filename);

	if (!err_is_set())
		return strerror(-ret);
	if (!strncmp(m, filename, fl) && !strncmp(m + fl, ": ", 2))
		return m + fl + 2;
	return m;
}

static int run_action(struct image *img, enum snapshot_action action, const char *name)
{
	static const char *const verb[] = {
		[SN_APPLY] = "apply", [SN_CREATE] = "create", [SN_DELETE] = "delete",
	};
	int ret;

	switch (action) {
	case SN_APPLY:
		ret = image_snapshot_apply(img, name);
		break;
	case SN_CREATE:
		ret = image_snapshot_create(img, name);
		break;
	case SN_DELETE:
		ret = image_snapshot_delete(img, name);
		break;
	default:
		return 0;
	}
	if (ret == 0)
		ret = image_flush(img);
	if (ret < 0) {
		char msg[ERR_MSG_MAX];

		snprintf(msg, sizeof(msg), "%s", reason(ret, img->filename));
		cli_error("Could not %s snapshot '%s': %s", verb[action], name, msg);
		return 1;
	}
	return 0;
}

static int set_action(enum snapshot_action *a, enum snapshot_action v)
{
	if (*a != SN_NONE) {
		cli_error("Cannot mix '-l', '-a', '-c', '-d'");
		return -EINVAL;
	}
	*a = v;
	return 0;
}

int cmd_snapshot(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "list", no_argument, NULL, 'l' },
		{ "apply", required_argument, NULL, 'a' },
		{ "create", required_argument, NULL, 'c' },
		{ "delete", required_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'O' },
		{ "force-share", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	enum snapshot_action action = SN_NONE;
	enum output_format out = OUTPUT_HUMAN;
	const char *fmt = NULL, *name = NULL, *filename;
	struct image *img;
	bool quiet = false;
	int c, ret, rc;

	while ((c = cli_getopt(argc, argv, "hf:la:c:d:qU", longopts)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'q': quiet = true; break;
		case 'U': break;
		case 'l':
			if (set_action(&action, SN_LIST) < 0)
				return 1;
			break;
		case 'a': case 'c': case 'd':
			if (set_action(&action, c == 'a' ? SN_APPLY :
				       c == 'c' ? SN_CREATE : SN_DELETE) < 0)
				return 1;
			name = optarg;
			break;
		case 'O':
			if (cli_parse_output(optarg, &out) < 0) {
				cli_error("--output must be used with human or json as argument.");
				return 1;
			}
			break;
		case 'h':
			printf("usage: %s snapshot [-f fmt] [-q] [-U] [--output=ofmt] "
			       "[-l | -a snapshot | -c snapshot | -d snapshot] filename\n",
			       PROG_NAME);
			return 0;
		default:
			return 1;
		}
	}
	(void)quiet;   /* snapshot prints nothing but the list */
	if (optind != argc - 1) {
		cli_error("Expecting one image file name");
		return 1;
	}
	filename = argv[optind];
	ret = image_open(filename, fmt, (action == SN_LIST || action == SN_NONE) ? IMG_NO_BACKING :
			 IMG_RDWR | IMG_NO_BACKING, &img);
	if (ret < 0) {
		cli_report(ret, filename);
		return 1;
	}
	rc = action == SN_LIST ? do_list(img, out) : run_action(img, action, name);
	image_close(img);
	return rc;
}
