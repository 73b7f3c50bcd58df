/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * image_cmd_opts.c - the options commit, rebase and compare share, parsed in one
 * place so that the three spell them, and refuse the unsupported ones, alike:
 * -f FMT, the cache mode (-t, compare's -T), -p, --progress=human|json, -q, -U,
 * -r (rate limit, refused); --object and --image-opts are taken for every
 * command before its options are parsed (object_args.c).
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

int cli_image_cmd_opt(int c, char cache_letter, char **argv, struct image_cmd_opts *o)
{
	if (c == cache_letter) {
		o->cache = optarg;
		return 1;
	}
	switch (c) {
	case 'f': o->fmt = optarg; return 1;
	case 'p': o->progress = PROGRESS_HUMAN; return 1;
	case 'q': o->quiet = true; return 1;
	case 'U': return 1;   /* sharing is never locked */
	case CLI_OPT_PROGRESS:
		if (strcmp(optarg, "json") && strcmp(optarg, "human")) {
			cli_error("--progress must be human or json");
			return -1;
		}
		o->progress = !strcmp(optarg, "json") ? PROGRESS_JSON : PROGRESS_HUMAN;
		return 1;
	case 'r':
		cli_error("-r (rate limit) is not supported");
		return -1;
	case CLI_OPT_UNSUPPORTED:
		cli_error("option '%s' is not supported", argv[optind - 1]);
		return -1;
	default:
		return 0;
	}
}

int cli_one_image_name(int argc, char **argv, const char **file)
{
	if (optind != argc - 1) {
		cli_error("Expecting one image file name");
		return -1;
	}
	*file = argv[optind];
	return 0;
}
