/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_bitmap.c - `imgtool bitmap (--add | --remove | --clear | --enable |
 * --disable | --merge SOURCE)... [-b source_file [-F source_fmt]]
 * [-g granularity] [-f fmt] filename bitmap`: persistent dirty bitmaps, with
 * qemu-img 7.2's options, order (the actions run as given) and messages.
 * The work is formats/bitmap.c's.
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

enum bitmap_action {
	BM_ADD,
	BM_REMOVE,
	BM_CLEAR,
	BM_ENABLE,
	BM_DISABLE,
	BM_MERGE,
};

static const char *const action_name[] = {
	[BM_ADD] = "add", [BM_REMOVE] = "remove", [BM_CLEAR] = "clear",
	[BM_ENABLE] = "enable", [BM_DISABLE] = "disable", [BM_MERGE] = "merge",
};

struct bitmap_step {
	enum bitmap_action action;
	const char *source;          /* --merge SOURCE */
};

struct bitmap_args {
	struct bitmap_step *steps;
	int nb_steps;
	const char *fmt, *src_file, *src_fmt;
	uint64_t granularity;        /* 0: the image's default */
	bool has_granularity;
	bool has_add, has_merge;
};

enum {
	OPT_ADD = 256, OPT_REMOVE, OPT_CLEAR, OPT_ENABLE, OPT_DISABLE, OPT_MERGE,
};

static int add_step(struct bitmap_args *a, enum bitmap_action act, const char *source)
{
	struct bitmap_step *v = realloc(a->steps, (size_t)(a->nb_steps + 1) * sizeof(*v));

	if (!v) {
		cli_error("out of memory");
		return -ENOMEM;
	}
	a->steps = v;
	v[a->nb_steps++] = (struct bitmap_step){ act, source };
	a->has_add |= act == BM_ADD;
	a->has_merge |= act == BM_MERGE;
	return 0;
}

static int parse_args(int argc, char **argv, struct bitmap_args *a)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "add", no_argument, NULL, OPT_ADD },
		{ "remove", no_argument, NULL, OPT_REMOVE },
		{ "clear", no_argument, NULL, OPT_CLEAR },
		{ "enable", no_argument, NULL, OPT_ENABLE },
		{ "disable", no_argument, NULL, OPT_DISABLE },
		{ "merge", required_argument, NULL, OPT_MERGE },
		{ "granularity", required_argument, NULL, 'g' },
		{ "source-file", required_argument, NULL, 'b' },
		{ "source-format", required_argument, NULL, 'F' },
		{ "object", required_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "image-opts", no_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = cli_getopt(argc, argv, "hf:g:b:F:", longopts)) != -1) {
		switch (c) {
		case 'f': a->fmt = optarg; break;
		case 'b': a->src_file = optarg; break;
		case 'F': a->src_fmt = optarg; break;
		case 'g':
			if (parse_size(optarg, &a->granularity) < 0) {
				cli_error("Invalid granularity specified. You may use k, M, G, T, P or E suffixes for");
				cli_error("kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
				return -EINVAL;
			}
			a->has_granularity = true;
			break;
		case OPT_ADD: case OPT_REMOVE: case OPT_CLEAR: case OPT_ENABLE: case OPT_DISABLE:
		case OPT_MERGE:
			if (add_step(a, (enum bitmap_action)(c - OPT_ADD),
				     c == OPT_MERGE ? optarg : NULL) < 0)
				return -ENOMEM;
			break;
		case CLI_OPT_UNSUPPORTED:
			cli_error("option '%s' is not supported", argv[optind - 1]);
			return -EINVAL;
		case 'h':
			printf("usage: %s bitmap (--merge SOURCE | --add | --remove | --clear | "
			       "--enable | --disable)... [-b source_file [-F source_fmt]] "
			       "[-g granularity] [-f fmt] filename bitmap\n", PROG_NAME);
			return 1;
		default:
			return -EINVAL;
		}
	}
	return 0;
}

static int check_args(const struct bitmap_args *a, int nargs)
{
	const char *msg = NULL;

	if (!a->nb_steps)
		msg = "Need at least one of --add, --remove, --clear, --enable, --disable, or --merge";
	else if (a->has_granularity && !a->has_add)
		msg = "granularity only supported with --add";
	else if (a->src_fmt && !a->src_file)
		msg = "-F only supported with -b";
	else if (a->src_file && !a->has_merge)
		msg = "Merge bitmap source file only supported with --merge";
	else if (nargs != 2)
		msg = "Expecting filename and bitmap name";
	if (msg)
		cli_error("%s", msg);
	return msg ? -EINVAL : 0;
}

static int run_step(struct image *img, const char *name, const struct bitmap_step *st,
		    const struct bitmap_args *a)
{
	struct image *src = img;
	int ret;

	switch (st->action) {
	case BM_ADD:
		return image_bitmap_add(img, name, a->granularity ? a->granularity :
					image_bitmap_default_granularity(img), false);
	case BM_REMOVE:
		return image_bitmap_remove(img, name);
	case BM_CLEAR:
		return image_bitmap_clear(img, name);
	case BM_ENABLE:
	case BM_DISABLE:
		return image_bitmap_enable(img, name, st->action == BM_ENABLE);
	case BM_MERGE:
		if (a->src_file) {
			ret = image_open(a->src_file, a->src_fmt, IMG_NO_BACKING, &src);
			if (ret < 0)
				return ret;
		}
		ret = image_bitmap_merge(img, name, src, st->source);
		if (src != img)
			image_close(src);
		return ret;
	}
	return -EINVAL;
}

int cmd_bitmap(int argc, char **argv)
{
	struct bitmap_args a = { 0 };
	const char *filename, *name;
	struct image *img;
	int ret, rc = 1;

	ret = parse_args(argc, argv, &a);
	if (ret) {
		rc = ret > 0 ? 0 : 1;
		goto out;
	}
	if (check_args(&a, argc - optind) < 0)
		goto out;
	filename = argv[optind];
	name = argv[optind + 1];
	ret = image_open(filename, a.fmt, IMG_RDWR | IMG_NO_BACKING, &img);
	if (ret < 0) {
		cli_report(ret, filename);
		goto out;
	}
	rc = 0;
	for (int i = 0; i < a.nb_steps && rc == 0; i++) {
		ret = run_step(img, name, &a.steps[i], &a);
		if (ret < 0) {
			const char *hint = err_get_hint();
			char msg[ERR_MSG_MAX];

			snprintf(msg, sizeof(msg), "Operation %s on bitmap %s failed: %s",
				 action_name[a.steps[i].action], name,
				 err_is_set() ? err_get() : strerror(-ret));
			err_set(ret, NULL, "%s", msg);
			if (hint)
				err_hint(ret, hint);
			cli_report(ret, NULL);
			rc = 1;
		}
	}
	ret = image_flush(img);
	if (ret < 0 && rc == 0) {
		cli_report(ret, filename);
		rc = 1;
	}
	image_close(img);
out:
	free(a.steps);
	return rc;
}
