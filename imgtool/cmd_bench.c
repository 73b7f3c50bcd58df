/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_bench.c - `imgtool bench`: qemu-img bench's options, messages and the two
 * lines it prints ("Sending ..." and "Run completed in N seconds."), so that the
 * numbers of the two tools can be compared.  The run is convert/bench.c's.
 */
#include "cli.h"
#include "../common/err.h"
#include "../convert/bench.h"
#include "../formats/format.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

enum {
	OPT_PATTERN = 256,
	OPT_FLUSH_INTERVAL,
	OPT_NO_DRAIN,
};

struct bench_args {
	struct bench_params p;
	const char *cache;
	bool native_aio;          /* -n or -i native: needs a direct cache mode */
};

static void bench_usage(void)
{
	printf("usage: %s bench [-c count] [-d depth] [-f fmt] [--flush-interval=flush_interval] [-i aio] [-n] [--no-drain] [-o offset] [--pattern=pattern] [-q] [-s buffer_size] [-S step_size] [-t cache] [-w] [-U] filename\n"
	       "\n"
	       "  aio is native, threads or io_uring (imgtool issues requests from threads\n"
	       "  in every case; native needs a cache mode without the page cache, as qemu).\n",
	       PROG_NAME);
}

/* A plain number option; false (with qemu-img's message printed) when bad. */
static bool plain_number(const char *v, uint64_t max, uint64_t *out, const char *what)
{
	if (cli_parse_ulong(v, max, out) == 0)
		return true;
	cli_error("Invalid %s specified", what);
	return false;
}

static bool size_option(const char *name, const char *v, uint64_t max, uint64_t *out)
{
	int ret = cli_cvtnum(name, v, 0, max, out);

	if (ret < 0)
		cli_report(ret, NULL);
	return ret == 0;
}

/* One option into a; 0 taken, 1 help printed, -1 refused (printed). */
static int bench_option(int c, struct bench_args *a, char **argv)
{
	struct bench_params *p = &a->p;
	uint64_t v;

	switch (c) {
	case 'c': return plain_number(optarg, INT_MAX, &p->count, "request count") ? 0 : -1;
	case 'd':
		/* qemu accepts 0 and then waits forever; refused here */
		if (!plain_number(optarg, INT_MAX, &v, "queue depth"))
			return -1;
		if (!v) {
			cli_error("Invalid queue depth specified");
			return -1;
		}
		p->depth = (int)v;
		return 0;
	case 'f': p->fmt = optarg; return 0;
	case 'n': a->native_aio = true; return 0;
	case 'i':
		if (strcmp(optarg, "native") && strcmp(optarg, "threads") &&
		    strcmp(optarg, "io_uring")) {
			cli_error("Invalid aio option: %s", optarg);
			return -1;
		}
		a->native_aio = !strcmp(optarg, "native");
		return 0;
	case 'o': return size_option("offset", optarg, INT64_MAX, &p->offset) ? 0 : -1;
	case 's': return size_option("buffer size", optarg, INT_MAX, &p->bufsize) ? 0 : -1;
	case 'S': return size_option("step_size", optarg, INT_MAX, &p->step) ? 0 : -1;
	case 'q': return 0;     /* qemu-img bench prints its lines even so */
	case 't': a->cache = optarg; return 0;
	case 'w': p->write = true; return 0;
	case 'U': return 0;     /* sharing is never locked */
	case OPT_PATTERN:
		if (!plain_number(optarg, 0xff, &v, "pattern byte"))
			return -1;
		p->pattern = (uint8_t)v;
		return 0;
	case OPT_FLUSH_INTERVAL:
		return plain_number(optarg, INT_MAX, &p->flush_interval, "flush interval") ? 0 : -1;
	case OPT_NO_DRAIN: p->drain = false; return 0;
	case 'h': bench_usage(); return 1;
	case CLI_OPT_UNSUPPORTED:
		cli_error("option '%s' is not supported", argv[optind - 1]);
		return -1;
	default:
		return -1;
	}
}

static int parse_args(int argc, char **argv, struct bench_args *a)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "pattern", required_argument, NULL, OPT_PATTERN },
		{ "flush-interval", required_argument, NULL, OPT_FLUSH_INTERVAL },
		{ "no-drain", no_argument, NULL, OPT_NO_DRAIN },
		{ "force-share", no_argument, NULL, 'U' },
		{ "object", required_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "image-opts", no_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ NULL, 0, NULL, 0 },
	};
	int c, r;

	while ((c = cli_getopt(argc, argv, "hc:d:f:ni:o:qs:S:t:wU", longopts)) != -1) {
		r = bench_option(c, a, argv);
		if (r)
			return r;
	}
	if (cli_one_image_name(argc, argv, &a->p.filename) < 0)
		return -1;
	if (a->p.flush_interval && !a->p.write) {
		cli_error("--flush-interval is only available in write tests");
		return -1;
	}
	if (a->p.flush_interval && a->p.flush_interval < (uint64_t)a->p.depth) {
		cli_error("Flush interval can't be smaller than depth");
		return -1;
	}
	return 0;
}

/* The cache mode into open flags; native AIO wants the page cache bypassed. */
static int open_flags(const struct bench_args *a, int *flags)
{
	if (cli_parse_cache(a->cache, flags) < 0) {
		cli_error("Invalid cache mode");
		return -1;
	}
	if (a->native_aio && !(*flags & IMG_BE_FLAGS(BE_NOCACHE))) {
		cli_error("Could not open '%s': aio=native was specified, but it requires cache.direct=on, which was not specified.",
			  a->p.filename);
		return -1;
	}
	return 0;
}

static void print_sending(void *opaque)
{
	const struct bench_params *p = opaque;

	printf("Sending %llu %s requests, %llu bytes each, %d in parallel (starting at offset %llu, step size %llu)\n",
	       (unsigned long long)p->count, p->write ? "write" : "read",
	       (unsigned long long)p->bufsize, p->depth, (unsigned long long)p->offset,
	       (unsigned long long)(p->step ? p->step : p->bufsize));
	if (p->flush_interval)
		printf("Sending flush every %llu requests\n", (unsigned long long)p->flush_interval);
	fflush(stdout);
}

int cmd_bench(int argc, char **argv)
{
	struct bench_args a = {
		.p = {
			.count = BENCH_DEFAULT_COUNT,
			.depth = BENCH_DEFAULT_DEPTH,
			.bufsize = BENCH_DEFAULT_BUFSIZE,
			.drain = true,
		},
		.cache = "writeback",
	};
	double secs = 0;
	int ret = parse_args(argc, argv, &a);

	if (ret)
		return ret > 0 ? 0 : 1;
	if (open_flags(&a, &a.p.open_flags) < 0)
		return 1;
	ret = bench_run(&a.p, print_sending, &a.p, &secs);
	if (ret < 0) {
		cli_report(ret, NULL);
		return 1;
	}
	printf("Run completed in %3.3f seconds.\n", secs);
	return 0;
}
