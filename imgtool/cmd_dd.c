/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_dd.c - `imgtool dd`: qemu-img dd's operands (if=, of=, bs=, count=, skip=)
 * and options (-f, -O, -U), with its messages.  The sizes and the copy are
 * convert/dd.c's.
 */
#include "cli.h"
#include "../common/err.h"
#include "../common/opts.h"
#include "../convert/dd.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void dd_usage(void)
{
	printf("usage: %s dd [-U] [-f fmt] [-O output_fmt] [bs=block_size] [count=blocks] [skip=blocks] if=input of=output\n"
	       "\n"
	       "  bs=, count=, skip= take the suffixes k, M, G, T, P, E (powers of 1024);\n"
	       "  bs= defaults to 512 bytes, count= and skip= count blocks of bs bytes.\n",
	       PROG_NAME);
}

static int dd_number(const char *name, const char *v, uint64_t min, uint64_t max,
		     uint64_t *out)
{
	int ret = cli_cvtnum(name, v, min, max, out);

	if (ret < 0)
		cli_report(ret, NULL);
	return ret;
}

/* One NAME=VALUE operand into p; the later of two equal names wins, as in qemu-img. */
static int dd_operand(const char *arg, struct dd_params *p, bool *has_in, bool *has_out)
{
	const char *eq = strchr(arg, '=');
	size_t n = eq ? (size_t)(eq - arg) : 0;
	const char *v = eq ? eq + 1 : NULL;

	if (!eq)
		goto bad;
	if (n == 2 && !strncmp(arg, "if", 2)) {
		p->in = v;
		*has_in = true;
	} else if (n == 2 && !strncmp(arg, "of", 2)) {
		p->out = v;
		*has_out = true;
	} else if (n == 2 && !strncmp(arg, "bs", 2)) {
		return dd_number("bs", v, 1, INT_MAX, &p->bs);
	} else if (n == 5 && !strncmp(arg, "count", 5)) {
		p->has_count = true;
		return dd_number("count", v, 0, INT64_MAX, &p->count);
	} else if (n == 4 && !strncmp(arg, "skip", 4)) {
		p->has_skip = true;
		return dd_number("skip", v, 0, INT64_MAX, &p->skip);
	} else {
		goto bad;
	}
	return 0;
bad:
	cli_error("unrecognized operand %.*s", (int)(eq ? n : strlen(arg)), arg);
	return -EINVAL;
}

int cmd_dd(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "force-share", no_argument, NULL, 'U' },
		{ "object", required_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "image-opts", no_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ NULL, 0, NULL, 0 },
	};
	struct dd_params p = { .out_fmt = "raw", .bs = DD_DEFAULT_BS };
	bool has_in = false, has_out = false, skipped;
	int c, ret;

	while ((c = cli_getopt(argc, argv, "hf:O:U", longopts)) != -1) {
		switch (c) {
		case 'f': p.in_fmt = optarg; break;
		case 'O': p.out_fmt = optarg; break;
		case 'U': break;   /* sharing is never locked */
		case 'h':
			dd_usage();
			return 0;
		case CLI_OPT_UNSUPPORTED:
			cli_error("option '%s' is not supported", argv[optind - 1]);
			return 1;
		default:
			return 1;
		}
	}
	for (int i = optind; i < argc; i++)
		if (dd_operand(argv[i], &p, &has_in, &has_out) < 0)
			return 1;
	if (!has_in || !has_out) {
		cli_error("Must specify both input and output files");
		return 1;
	}
	ret = dd_run(&p, &skipped);
	if (skipped)
		cli_error("%s: cannot skip to specified offset", p.in);
	if (ret < 0) {
		cli_report(ret, NULL);
		return 1;
	}
	return 0;
}
