/*
 * cmd_convert.c - `imgtool convert`: copy one or more images (concatenated) into a
 * new or existing target of any format, with qemu-img convert's options.
 *
 * All the work is the copy engine's (convert/copy.c); this file parses options,
 * opens the sources, creates and opens the target, decides whether the target
 * already reads as zeros, and reports.
 */
#include "cli.h"
#include "../common/err.h"
#include "../common/opts.h"
#include "../common/util.h"
#include "../convert/copy.h"
#include "../convert/progress.h"
#include "../formats/format.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
	OPT_TARGET_IS_ZERO = 256,
	OPT_PROGRESS,
	OPT_UNSUPPORTED,
};

struct convert_args {
	const char *src_fmt;
	const char *dst_fmt;
	const char *src_cache;
	const char *dst_cache;
	const char *backing;      /* -B/-b: the target's backing file */
	const char *backing_fmt;  /* -F */
	const char *snapshot;     /* -l / -s: read the source from this snapshot */
	struct opts o;
	bool want_help;
	bool compress;
	bool no_create;
	bool target_is_zero;
	bool quiet;
	enum progress_mode progress;
	uint64_t min_sparse;
	int workers;
};

/* Status calls spent proving that a new target reads as zeros. */
#define ZERO_PROBE_MAX 1024

/* True if block status says every byte of img reads as zeros (a new image on a
 * sparse file or a qcow2 without data), so the copy may skip zero ranges. */
static bool reads_as_zeros(struct image *img)
{
	uint64_t off = 0;

	for (int i = 0; off < img->size && i < ZERO_PROBE_MAX; i++) {
		struct block_status bs;

		if (image_block_status_above(img, off, img->size - off, &bs) < 0) {
			err_clear();
			return false;
		}
		if (!(bs.flags & BS_ZERO))
			return false;
		off += bs.length;
	}
	return off >= img->size;
}

/* Creating the target truncates it: refuse a target that is one of the sources
 * (or a file in their backing chains), whatever path names it. */
static int check_not_source(const char *dst, struct image **src, int n)
{
	struct stat d, st;

	if (stat(dst, &d) < 0)
		return 0;
	for (int i = 0; i < n; i++) {
		for (struct image *l = src[i]; l; l = l->backing) {
			if (stat(l->filename, &st) == 0 && st.st_dev == d.st_dev &&
			    st.st_ino == d.st_ino) {
				cli_error("%s: the target is also a source image ('%s')", dst,
					  l->filename);
				return -EINVAL;
			}
		}
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct convert_args *a)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "target-is-zero", no_argument, NULL, OPT_TARGET_IS_ZERO },
		{ "progress", required_argument, NULL, OPT_PROGRESS },
		{ "force-share", no_argument, NULL, 'U' },
		{ "object", required_argument, NULL, OPT_UNSUPPORTED },
		{ "image-opts", no_argument, NULL, OPT_UNSUPPORTED },
		{ "target-image-opts", no_argument, NULL, OPT_UNSUPPORTED },
		{ "salvage", no_argument, NULL, OPT_UNSUPPORTED },
		{ "bitmaps", no_argument, NULL, OPT_UNSUPPORTED },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = cli_getopt(argc, argv, "hf:O:o:cpS:nm:Wt:T:qUCB:b:F:l:s:r:", longopts)) != -1) {
		switch (c) {
		case 'f': a->src_fmt = optarg; break;
		case 'O': a->dst_fmt = optarg; break;
		case 'c': a->compress = true; break;
		case 'p': a->progress = PROGRESS_HUMAN; break;
		case 'n': a->no_create = true; break;
		case 'W': break;        /* writes are always out of order */
		case 'C': break;        /* copy offload: plain copying gives the same result */
		case 'U': break;
		case 'q': a->quiet = true; break;
		case 't': a->dst_cache = optarg; break;
		case 'T': a->src_cache = optarg; break;
		case OPT_TARGET_IS_ZERO: a->target_is_zero = true; break;
		case 'o':
			if (create_opts_want_help(optarg)) {
				a->want_help = true;
				break;
			}
			if (opts_parse(&a->o, optarg) < 0) {
				cli_error("Invalid option list: %s", optarg);
				return -EINVAL;
			}
			break;
		case 'S':
			if (cli_parse_sparse(optarg, &a->min_sparse) < 0)
				goto bad;
			break;
		case 'm':
			if (cli_parse_workers(optarg, &a->workers) < 0)
				goto bad;
			break;
		case OPT_PROGRESS:
			if (!strcmp(optarg, "json")) {
				a->progress = PROGRESS_JSON;
			} else if (!strcmp(optarg, "human")) {
				a->progress = PROGRESS_HUMAN;
			} else {
				cli_error("--progress must be human or json");
				return -EINVAL;
			}
			break;
		case 'B': case 'b': a->backing = optarg; break;
		case 'F': a->backing_fmt = optarg; break;
		case 'l': case 's':
			a->snapshot = optarg;
			break;
		case 'r':
			cli_error("-r (rate limit) is not supported");
			return -ENOTSUP;
		case OPT_UNSUPPORTED:
			cli_error("option '%s' is not supported", argv[optind - 1]);
			return -ENOTSUP;
		case 'h':
			printf("usage: %s convert [--target-is-zero] [-U] [-c] [-p] [--progress=json] [-q] [-n] [-f fmt] [-t cache] [-T src_cache] [-O output_fmt] [-B backing_file [-F backing_fmt]] [-o options] [-l snapshot_param] [-S sparse_size] [-m num_workers] [-W] filename [filename2 [...]] output_filename\n",
			       PROG_NAME);
			return 1;
		default:
			return -EINVAL;
		}
	}
	return 0;
bad:
	cli_report(-EINVAL, NULL);
	return -EINVAL;
}

static int check_args(const struct convert_args *a, int nfiles)
{
	if (nfiles < 2) {
		cli_error("Must specify image file name");
		return -EINVAL;
	}
	if (a->target_is_zero && !a->no_create) {
		cli_error("--target-is-zero requires use of -n flag");
		return -EINVAL;
	}
	if (a->backing && a->no_create) {
		cli_error("-B cannot be used together with -n (the target exists)");
		return -EINVAL;
	}
	if (a->backing_fmt && !a->backing) {
		cli_error("-F needs a backing file (-B)");
		return -EINVAL;
	}
	if (a->no_create && a->o.n) {
		cli_error("-o cannot be used together with -n (the target exists)");
		return -EINVAL;
	}
	return 0;
}

static int open_sources(const struct convert_args *a, char **names, int n,
			struct image **src)
{
	int flags = 0;
	int ret = cli_parse_cache(a->src_cache, &flags);

	if (ret < 0) {
		cli_report(ret, NULL);
		return ret;
	}
	for (int i = 0; i < n; i++) {
		ret = image_open(names[i], a->src_fmt, flags, &src[i]);
		if (ret < 0) {
			cli_report(ret, names[i]);
			return ret;
		}
	}
	return 0;
}

/* -B/-F become the target's backing_file/backing_fmt options.  Without -F the
 * backing file's format is probed (a guessed raw is refused by image_open). */
static int set_backing_opts(struct convert_args *a, const char *name)
{
	const char *fmt = a->backing_fmt;
	struct image *b = NULL;
	char *path;
	int ret = 0;

	if (!fmt) {
		path = image_resolve_backing(name, a->backing);
		if (!path) {
			cli_error("out of memory");
			return -ENOMEM;
		}
		ret = image_open(path, NULL, IMG_NO_BACKING, &b);
		if (ret < 0)
			cli_report(ret, path);
		free(path);
		if (ret < 0)
			return ret;
		fmt = b->ops->name;
	}
	if (opts_set(&a->o, "backing_file", a->backing) < 0 ||
	    opts_set(&a->o, "backing_fmt", fmt) < 0)
		ret = -ENOMEM;
	image_close(b);
	if (ret < 0)
		cli_error("out of memory");
	return ret;
}

/* Create (unless -n) and open the target; decide whether it reads as zeros. */
static int open_target(struct convert_args *a, const char *name, uint64_t total,
		       struct image **dst, bool *zeroed)
{
	int flags = 0;
	int ret = cli_parse_cache(a->dst_cache, &flags);

	if (ret < 0) {
		cli_report(ret, NULL);
		return ret;
	}
	if (a->backing) {
		ret = set_backing_opts(a, name);
		if (ret < 0)
			return ret;
	}
	if (!a->no_create) {
		ret = image_create(name, a->dst_fmt, total, &a->o);
		if (ret < 0) {
			cli_report(ret, name);
			return ret;
		}
	}
	ret = image_open(name, a->dst_fmt, IMG_RDWR | flags, dst);
	if (ret < 0) {
		cli_report(ret, name);
		return ret;
	}
	if (a->compress && (*dst)->cluster_size <= 1) {
		cli_error("Compression not supported for this file format");
		return -ENOTSUP;
	}
	if (a->no_create && (*dst)->size < total) {
		cli_error("%s: target image is smaller than the source (%llu < %llu bytes)",
			  name, (unsigned long long)(*dst)->size, (unsigned long long)total);
		return -ENOSPC;
	}
	if (a->no_create)
		*zeroed = a->target_is_zero;
	else if (a->backing)
		*zeroed = reads_as_zeros(*dst);   /* zero_init ignores the backing */
	else
		*zeroed = (*dst)->zero_init || reads_as_zeros(*dst);
	return 0;
}

/* -l NAME (an id first, then a name, as qemu), -l snapshot.id=ID[,snapshot.name=N]
 * or -s ID_OR_NAME: show the single source's snapshot instead of its active state. */
static int open_snapshot(const char *spec, struct image **src, int nsrc)
{
	struct opts o = { 0 };
	const char *id = NULL, *name = NULL;
	int ret;

	if (nsrc != 1) {
		cli_error("No support for concatenating multiple snapshot");
		return -EINVAL;
	}
	if (strncmp(spec, "snapshot.", 9)) {
		ret = image_snapshot_open(src[0], spec, NULL);
		if (ret == -ENOENT) {
			err_clear();
			ret = image_snapshot_open(src[0], NULL, spec);
		}
	} else {
		ret = opts_parse(&o, spec);
		if (ret == 0) {
			id = opts_get(&o, "snapshot.id");
			name = opts_get(&o, "snapshot.name");
			ret = opts_check_used(&o, "convert");
		}
		if (ret == 0)
			ret = image_snapshot_open(src[0], id, name);
	}
	opts_free(&o);
	if (ret < 0) {
		err_clear();
		cli_error("Failed to load snapshot: Can't find snapshot");
	}
	return ret;
}

int cmd_convert(int argc, char **argv)
{
	struct convert_args a = {
		.dst_fmt = "raw",
		.src_cache = "writeback",
		.dst_cache = "unsafe",     /* qemu-img convert's default */
		.min_sparse = COPY_DEFAULT_SPARSE,
	};
	struct image **src = NULL, *dst = NULL;
	struct progress *prog = NULL;
	struct copy_params cp = { 0 };
	int nsrc = 0, ret, rc = 1;
	uint64_t total;
	bool zeroed = false;

	ret = parse_args(argc, argv, &a);
	if (ret) {
		rc = ret > 0 ? 0 : 1;
		goto out;
	}
	if (a.want_help) {
		if (!format_find(a.dst_fmt)) {
			cli_error("Unknown file format '%s'", a.dst_fmt);
			goto out;
		}
		create_print_opts_help(a.dst_fmt);
		rc = 0;
		goto out;
	}
	if (check_args(&a, argc - optind) < 0)
		goto out;
	if (!format_find(a.dst_fmt)) {
		cli_error("Unknown file format '%s'", a.dst_fmt);
		goto out;
	}
	nsrc = argc - optind - 1;
	src = calloc((size_t)nsrc, sizeof(*src));
	if (!src) {
		cli_error("out of memory");
		goto out;
	}
	if (open_sources(&a, argv + optind, nsrc, src) < 0)
		goto out;
	if (a.snapshot && open_snapshot(a.snapshot, src, nsrc) < 0)
		goto out;
	total = copy_total_size(src, nsrc);
	if (!total && nsrc > 0) {
		for (int i = 0; i < nsrc; i++)
			if (src[i]->size) {
				cli_error("total size of the sources overflows");
				goto out;
			}
	}
	if (check_not_source(argv[argc - 1], src, nsrc) < 0)
		goto out;
	if (open_target(&a, argv[argc - 1], total, &dst, &zeroed) < 0)
		goto out;

	if (!a.quiet && a.progress != PROGRESS_NONE)
		prog = progress_new(a.progress, total);
	cp.src = src;
	cp.nb_src = nsrc;
	cp.dst = dst;
	cp.compress = a.compress;
	cp.min_sparse = a.min_sparse;
	cp.target_zeroed = zeroed;
	cp.workers = a.workers;
	cp.progress = prog;
	cp.dst_backing = a.backing ? dst->backing : NULL;
	ret = copy_run(&cp);
	progress_finish(prog);
	if (ret < 0) {
		cli_report(ret, dst->filename);
		goto out;
	}
	rc = 0;
out:
	progress_free(prog);
	if (dst)
		image_close(dst);
	for (int i = 0; src && i < nsrc; i++)
		if (src[i])
			image_close(src[i]);
	free(src);
	opts_free(&a.o);
	return rc;
}
