/*
 * cmd_rebase.c - `imgtool rebase`: change an image's backing file, as qemu-img
 * rebase does.
 *
 * Safe mode (the default) first copies into the image every cluster it does not
 * allocate where the old and the new backing chains read differently, so its
 * contents stay the same; -u only rewrites the pointer (the user vouches that
 * the new backing file has the same contents).  -b "" makes the image
 * standalone.  The pointer is rewritten last, after all copied data is durable.
 */
#include "cli.h"
#include "../common/err.h"
#include "../convert/progress.h"
#include "../convert/rebase.h"
#include "../formats/format.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rebase_args {
	struct image_cmd_opts o;     /* o.cache: -t, the image's cache mode */
	const char *src_cache;       /* -T: the backing chains' */
	const char *backing;         /* NULL: not given; "": none */
	const char *backing_fmt;
	bool unsafe;
	const char *file;
};

static int parse_args(int argc, char **argv, struct rebase_args *a)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "object", required_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "image-opts", no_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "force-share", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	int c, r;

	while ((c = cli_getopt(argc, argv, "hf:t:T:b:F:upqU", longopts)) != -1) {
		r = cli_image_cmd_opt(c, 't', argv, &a->o);
		if (r < 0)
			return -EINVAL;
		if (r > 0)
			continue;
		switch (c) {
		case 'T': a->src_cache = optarg; break;
		case 'b': a->backing = optarg; break;
		case 'F': a->backing_fmt = optarg; break;
		case 'u': a->unsafe = true; break;
		case 'h':
			printf("usage: %s rebase [-q] [-f fmt] [-t cache] [-T src_cache] [-p] [-u] -b backing_file [-F backing_fmt] filename\n",
			       PROG_NAME);
			return 1;
		default:
			return -EINVAL;
		}
	}
	if (cli_one_image_name(argc, argv, &a->file) < 0)
		return -EINVAL;
	if (!a->backing) {
		cli_error("Must specify backing file (-b)");
		return -EINVAL;
	}
	if (a->backing_fmt && !format_find(a->backing_fmt)) {
		cli_error("Unknown file format '%s'", a->backing_fmt);
		return -EINVAL;
	}
	return 0;
}

/* Open the image read-write (probing first without -f: only its metadata and
 * clusters it does not allocate are written, never a guessed raw header). */
static int open_image(const struct rebase_args *a, int flags, struct image **img)
{
	struct image *probe;
	char name[64];
	int ret;

	if (a->o.fmt)
		return image_open(a->file, a->o.fmt, IMG_RDWR | flags, img);
	ret = image_open(a->file, NULL, IMG_NO_BACKING, &probe);
	if (ret < 0)
		return ret;
	snprintf(name, sizeof(name), "%s", probe->ops->name);
	image_close(probe);
	return image_open(a->file, name, IMG_RDWR | flags, img);
}

/* Open the new backing chain (path relative to the image's folder); refuse one
 * that contains the image itself. */
static int open_new_backing(const struct rebase_args *a, struct image *img, int flags,
			    struct image **nb)
{
	char *path = image_resolve_backing(img->filename, a->backing);
	int ret;

	if (!path)
		return err_set(-ENOMEM, a->file, "out of memory");
	ret = image_open(path, a->backing_fmt, flags, nb);
	if (ret < 0) {
		char msg[ERR_MSG_MAX];

		struct image *probe = NULL;

		snprintf(msg, sizeof(msg), "%s", err_is_set() ? err_get() : strerror(-ret));
		err_clear();
		/* -F that does not match the file: say so */
		if (a->backing_fmt && image_open(path, NULL, IMG_NO_BACKING, &probe) == 0 &&
		    strcmp(probe->ops->name, a->backing_fmt))
			snprintf(msg, sizeof(msg), "Image is not in %s format (it looks like %s)",
				 a->backing_fmt, probe->ops->name);
		image_close(probe);
		err_clear();
		err_set(ret, a->file, "Could not open new backing file '%s': %s", path, msg);
	} else if (rebase_in_chain(*nb, img->filename)) {
		ret = err_set(-ELOOP, a->file,
			      "Could not rebase onto '%s': the backing chain would loop back to this image",
			      path);
		image_close(*nb);
		*nb = NULL;
	}
	free(path);
	return ret;
}

/* The format to record: -F, else the new backing file's (probed) format. */
static const char *backing_format(const struct rebase_args *a, struct image *nb)
{
	if (a->backing_fmt)
		return a->backing_fmt;
	return nb ? nb->ops->name : NULL;
}

static int do_unsafe(const struct rebase_args *a, struct image *img, int src_flags)
{
	struct image *nb = NULL;
	const char *fmt = a->backing_fmt;
	int ret;

	if (!*a->backing)
		return image_set_backing(img, NULL, NULL);
	if (!fmt) {
		/* only to learn the format; the chain below need not be complete */
		ret = open_new_backing(a, img, src_flags | IMG_NO_BACKING, &nb);
		if (ret < 0)
			return err_set(ret, a->file,
				       "%s (give its format with -F to rebase onto it anyway)",
				       err_get());
		fmt = nb->ops->name;
	}
	ret = image_set_backing(img, a->backing, fmt);
	image_close(nb);
	return ret;
}

static int do_safe(const struct rebase_args *a, struct image *img, int src_flags)
{
	struct rebase_params rp = { .img = img };
	struct progress *prog = NULL;
	int ret;

	if (*a->backing) {
		ret = open_new_backing(a, img, src_flags, &rp.new_backing);
		if (ret < 0)
			return ret;
	}
	if (!a->o.quiet && a->o.progress != PROGRESS_NONE)
		prog = progress_new(a->o.progress, img->size);
	rp.progress = prog;
	ret = rebase_run(&rp);
	progress_finish(prog);
	progress_free(prog);
	if (ret == 0)
		ret = image_set_backing(img, *a->backing ? a->backing : NULL,
					backing_format(a, rp.new_backing));
	image_close(rp.new_backing);
	return ret;
}

int cmd_rebase(int argc, char **argv)
{
	struct rebase_args a = { .o.cache = "writeback", .src_cache = "writeback" };
	struct image *img = NULL;
	int flags = 0, src_flags = 0, ret;

	ret = parse_args(argc, argv, &a);
	if (ret)
		return ret > 0 ? 0 : 1;
	ret = cli_parse_cache(a.o.cache, &flags);
	if (ret == 0)
		ret = cli_parse_cache(a.src_cache, &src_flags);
	if (ret < 0) {
		cli_report(ret, NULL);
		return 1;
	}
	ret = open_image(&a, flags | (a.unsafe ? IMG_NO_BACKING : 0), &img);
	if (ret == 0 && !img->ops->set_backing)
		ret = err_set(-ENOTSUP, a.file, "format '%s' does not support backing files",
			      img->ops->name);
	if (ret == 0)
		ret = a.unsafe ? do_unsafe(&a, img, src_flags) : do_safe(&a, img, src_flags);
	if (ret == 0)
		ret = image_flush(img);
	image_close(img);
	if (ret < 0) {
		cli_report(ret, a.file);
		return 1;
	}
	return 0;
}
