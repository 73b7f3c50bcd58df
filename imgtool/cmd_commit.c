/*
 * cmd_commit.c - `imgtool commit`: merge an overlay into its backing file (or,
 * with -b, into a base further down the chain), as qemu-img commit does.
 *
 * Without -d and -b the overlay is emptied afterwards (qemu-img 7.2 does the
 * same); -b implies -d, because the images between the overlay and the base no
 * longer describe differences against the base.  The work is convert/commit.c's.
 */
#include "cli.h"
#include "../common/err.h"
#include "../convert/commit.h"
#include "../convert/progress.h"
#include "../formats/format.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

struct commit_args {
	struct image_cmd_opts o;
	const char *base;
	bool keep;
	const char *file;
};

static int parse_args(int argc, char **argv, struct commit_args *a)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "object", required_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "image-opts", no_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "force-share", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	int c, r;

	while ((c = cli_getopt(argc, argv, "hf:t:b:dpqr:U", longopts)) != -1) {
		r = cli_image_cmd_opt(c, 't', argv, &a->o);
		if (r < 0)
			return -EINVAL;
		if (r > 0)
			continue;
		switch (c) {
		case 'b': a->base = optarg; a->keep = true; break;  /* -b implies -d */
		case 'd': a->keep = true; break;
		case 'h':
			printf("usage: %s commit [-q] [-f fmt] [-t cache] [-b base] [-d] [-p] filename\n",
			       PROG_NAME);
			return 1;
		default:
			return -EINVAL;
		}
	}
	return cli_one_image_name(argc, argv, &a->file) < 0 ? -EINVAL : 0;
}

/* The overlay is written (emptied) too: open it read-write, probing first
 * without -f so that a raw probe result does not refuse the open (a raw image
 * has no backing file, which is reported below). */
static int open_top(const struct commit_args *a, int flags, struct image **top)
{
	struct image *probe;
	char name[64];
	int ret;

	if (a->o.fmt)
		return image_open(a->file, a->o.fmt, IMG_RDWR | flags, top);
	ret = image_open(a->file, NULL, IMG_NO_BACKING, &probe);
	if (ret < 0)
		return ret;
	snprintf(name, sizeof(name), "%s", probe->ops->name);
	image_close(probe);
	return image_open(a->file, name, IMG_RDWR | flags, top);
}

static int do_commit(const struct commit_args *a, int flags, struct image *top)
{
	struct commit_params cp = { .top = top };
	struct image *layer = top->backing;
	struct progress *prog = NULL;
	int ret;

	if (!top->backing)
		return err_set(-EINVAL, a->file, "Image does not have a backing file");
	cp.base_depth = 1;
	if (a->base) {
		ret = commit_find_base(top, a->base, &layer, &cp.base_depth);
		if (ret < 0)
			return ret;
	}
	ret = image_open(layer->filename, layer->ops->name, IMG_RDWR | flags, &cp.base);
	if (ret < 0)
		return err_set_default(ret, layer->filename, "could not open the base for writing");
	if (!a->o.quiet && a->o.progress != PROGRESS_NONE)
		prog = progress_new(a->o.progress, top->size);
	cp.progress = prog;
	ret = commit_run(&cp);
	progress_finish(prog);
	progress_free(prog);
	if (ret == 0)
		ret = image_flush(cp.base);
	image_close(cp.base);
	if (ret < 0 || a->keep)
		return ret;
	ret = image_make_empty(top);
	if (ret == -ENOTSUP) {
		/* formats without it keep their data, which matches the base now */
		err_clear();
		ret = 0;
	}
	return ret;
}

int cmd_commit(int argc, char **argv)
{
	struct commit_args a = { .o.cache = "writeback" };
	struct image *top = NULL;
	int flags = 0, ret;

	ret = parse_args(argc, argv, &a);
	if (ret)
		return ret > 0 ? 0 : 1;
	ret = cli_parse_cache(a.o.cache, &flags);
	if (ret < 0) {
		cli_report(ret, NULL);
		return 1;
	}
	ret = open_top(&a, flags, &top);
	if (ret == 0)
		ret = do_commit(&a, flags, top);
	if (ret == 0)
		ret = image_flush(top);
	image_close(top);
	if (ret < 0) {
		cli_report(ret, a.file);
		return 1;
	}
	if (!a.o.quiet)
		printf("Image committed.\n");
	return 0;
}
