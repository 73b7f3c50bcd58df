/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_sync.c - `imgtool sync SRC DST`: make DST's guest-visible content equal
 * SRC's, writing only the blocks that differ (convert/sync.h), and say how much
 * was compared and written.  `--print-digests SRC` writes SRC's block-digest
 * stream to stdout (docs/sync-digests.md); `--digests-from FILE|-` takes SRC's
 * digests from such a stream instead of reading SRC to compare;
 * `--remote-imgtool PATH` makes that stream on an ssh:// SRC's host
 * (convert/sync_remote.h).  Exit 0 done,
 * 1 error.
 */
#include "imgtool/cli.h"
#include "common/err.h"
#include "common/opts.h"
#include "convert/progress.h"
#include "convert/sync.h"
#include "convert/sync_remote.h"
#include "formats/format.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { OPT_PRINT_DIGESTS = 256, OPT_DIGESTS_FROM, OPT_BLOCK_SIZE, OPT_REMOTE_IMGTOOL };

struct sync_cli {
	struct image_cmd_opts o;     /* -f, -p, -q, -T (source cache) */
	const char *dst_fmt, *dst_cache, *digests_from, *remote_imgtool;
	bool print_digests;
	uint64_t block_size;
	int workers;
	enum output_format out;
};

static void usage(void)
{
	printf("usage: %s sync [-f fmt] [-F fmt] [-T src_cache] [-t cache] [-m num_workers] "
	       "[--block-size size] [--digests-from FILE | --remote-imgtool PATH] [-p] [-q] "
	       "[--output=ofmt] "
	       "filename1 filename2\n"
	       "       %s sync --print-digests [-f fmt] [-T src_cache] [-m num_workers] "
	       "[--block-size size] filename\n", PROG_NAME, PROG_NAME);
}

static void print_result(const struct sync_cli *c, const struct sync_stats *st)
{
	struct json_object *o;

	if (c->out == OUTPUT_HUMAN) {
		if (!c->o.quiet)
			printf("compared %llu bytes, read %llu from the source, wrote %llu "
			       "(%llu blocks), zeroed %llu\n",
			       (unsigned long long)st->compared, (unsigned long long)st->src_read,
			       (unsigned long long)st->written,
			       (unsigned long long)st->blocks_written,
			       (unsigned long long)st->zeroed);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "bytes_compared", json_object_new_int64((int64_t)st->compared));
	json_object_object_add(o, "bytes_read_source", json_object_new_int64((int64_t)st->src_read));
	json_object_object_add(o, "bytes_read_target", json_object_new_int64((int64_t)st->dst_read));
	json_object_object_add(o, "bytes_written", json_object_new_int64((int64_t)st->written));
	json_object_object_add(o, "blocks_written",
			       json_object_new_int64((int64_t)st->blocks_written));
	json_object_object_add(o, "bytes_zeroed", json_object_new_int64((int64_t)st->zeroed));
	cli_print_json(o);
	json_object_put(o);
}

static int print_digests(const struct sync_cli *c, const char *file, int flags)
{
	struct image *img = NULL;
	int ret;

	if (isatty(STDOUT_FILENO)) {
		cli_error("--print-digests writes a binary stream: send it to a file or a pipe");
		return 1;
	}
	ret = image_open(file, c->o.fmt, flags, &img);

	if (ret == 0)
		ret = sync_print_digests(img, (uint32_t)c->block_size, STDOUT_FILENO, "stdout",
					 c->workers, NULL);
	image_close(img);
	if (ret < 0)
		cli_report(ret, NULL);
	return ret < 0 ? 1 : 0;
}

/* The digest stream named by --digests-from ("-": stdin), or made on the
 * source's host by --remote-imgtool (*remote); fd -1 when none. */
static int open_digests(const struct sync_cli *c, const char *src_name, int *fd,
			struct digest_reader **r, struct sync_remote **remote)
{
	const char *name = c->digests_from;

	*fd = -1;
	*r = NULL;
	*remote = NULL;
	if (c->remote_imgtool)
		return sync_remote_open(src_name, c->remote_imgtool, c->o.fmt,
					(uint32_t)c->block_size, remote, r);
	if (!name)
		return 0;
	*fd = strcmp(name, "-") ? open(name, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	if (*fd < 0)
		return err_set(-errno, name, "cannot open the digest stream: %s", strerror(errno));
	return digest_reader_open(*fd, strcmp(name, "-") ? name : "stdin", r);
}

static int run_sync(const struct sync_cli *c, const char *src_name, const char *dst_name,
		    int src_flags, int dst_flags)
{
	struct sync_params p = { .block_size = (uint32_t)c->block_size, .workers = c->workers };
	struct sync_stats st = { 0 };
	struct sync_remote *remote = NULL;
	int fd = -1, ret;

	ret = image_open(src_name, c->o.fmt, src_flags, &p.src);
	if (ret == 0)
		ret = image_open(dst_name, c->dst_fmt, dst_flags | IMG_RDWR, &p.dst);
	if (ret == 0)
		ret = open_digests(c, src_name, &fd, &p.digests, &remote);
	if (ret == 0) {
		if (!c->o.quiet && c->o.progress != PROGRESS_NONE)
			p.progress = progress_new(c->o.progress, p.src->size);
		p.stats = &st;
		ret = sync_run(&p);
		progress_finish(p.progress);
		progress_free(p.progress);
	}
	digest_reader_free(p.digests);
	ret = sync_remote_finish(remote, ret);
	if (fd > STDIN_FILENO)
		close(fd);
	image_close(p.dst);
	image_close(p.src);
	if (ret < 0) {
		cli_report(ret, NULL);
		return 1;
	}
	print_result(c, &st);
	return 0;
}

static int parse_block_size(const char *s, uint64_t *out)
{
	if (parse_size(s, out) < 0 || !sync_block_size_ok(*out)) {
		cli_error("--block-size takes a power of two from 4K to 2M, not '%s'", s);
		return -1;
	}
	return 0;
}

int cmd_sync(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "print-digests", no_argument, NULL, OPT_PRINT_DIGESTS },
		{ "digests-from", required_argument, NULL, OPT_DIGESTS_FROM },
		{ "block-size", required_argument, NULL, OPT_BLOCK_SIZE },
		{ "remote-imgtool", required_argument, NULL, OPT_REMOTE_IMGTOOL },
		{ "output", required_argument, NULL, 'O' },
		{ "progress", required_argument, NULL, CLI_OPT_PROGRESS },
		{ NULL, 0, NULL, 0 },
	};
	struct sync_cli c = { .o.cache = "writeback", .dst_cache = "writeback" };
	int ch, ret, src_flags = 0, dst_flags = 0;

	while ((ch = cli_getopt(argc, argv, "hf:F:T:t:m:pq", longopts)) != -1) {
		ret = cli_image_cmd_opt(ch, 'T', argv, &c.o);
		if (ret < 0)
			return 1;
		if (ret > 0)
			continue;
		switch (ch) {
		case 'F': c.dst_fmt = optarg; break;
		case 't': c.dst_cache = optarg; break;
		case OPT_PRINT_DIGESTS: c.print_digests = true; break;
		case OPT_DIGESTS_FROM: c.digests_from = optarg; break;
		case OPT_REMOTE_IMGTOOL: c.remote_imgtool = optarg; break;
		case OPT_BLOCK_SIZE:
			if (parse_block_size(optarg, &c.block_size) < 0)
				return 1;
			break;
		case 'm':
			if (cli_parse_workers(optarg, &c.workers) < 0) {
				cli_report(-EINVAL, NULL);
				return 1;
			}
			break;
		case 'O':
			if (cli_parse_output(optarg, &c.out) < 0) {
				cli_error("--output must be human or json");
				return 1;
			}
			break;
		case 'h':
			usage();
			return 0;
		default:
			return 1;
		}
	}
	if (cli_parse_cache(c.o.cache, &src_flags) < 0 || cli_parse_cache(c.dst_cache, &dst_flags) < 0) {
		cli_report(-EINVAL, NULL);
		return 1;
	}
	if (c.print_digests) {
		if (argc - optind != 1 || c.digests_from || c.remote_imgtool) {
			cli_error("--print-digests takes one image file name");
			return 1;
		}
		return print_digests(&c, argv[optind], src_flags);
	}
	if (argc - optind != 2) {
		cli_error("Expecting two image file names");
		return 1;
	}
	if (c.remote_imgtool && (c.digests_from || strncmp(argv[optind], "ssh://", 6))) {
		cli_error("--remote-imgtool needs an ssh:// source and no --digests-from");
		return 1;
	}
	if (c.digests_from && c.block_size) {
		cli_error("--block-size comes from the digest stream with --digests-from");
		return 1;
	}
	return run_sync(&c, argv[optind], argv[optind + 1], src_flags, dst_flags);
}
