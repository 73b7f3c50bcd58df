/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_inspect.c - `imgtool inspect`: what operating system an image holds and what
 * a conversion to KVM would meet (guest/inspect.c).  The image is only ever
 * opened read-only.
 */
#include "cli.h"
#include "../common/err.h"
#include "guest/inspect.h"

#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

static void usage(void)
{
	printf("usage: imgtool inspect [-f fmt] [--output=human|json] filename\n"
	       "Inspect the guest operating system in a disk image (read-only): OS,\n"
	       "version, root, mountpoints, bootloader, firmware, kernels, hypervisor\n"
	       "agents, network configuration and whether it can be converted to KVM.\n");
}

int cmd_inspect(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "output", required_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 },
	};
	enum output_format ofmt = OUTPUT_HUMAN;
	const char *fmt = NULL;
	struct json_object *o = NULL;
	struct guest *gu;
	int c, r;

	while ((c = cli_getopt(argc, argv, "hf:", longopts)) != -1) {
		switch (c) {
		case 'h':
			usage();
			return 0;
		case 'f':
			fmt = optarg;
			break;
		case 'O':
			if (cli_parse_output(optarg, &ofmt)) {
				cli_error("--output must be human or json");
				return 1;
			}
			break;
		default:
			return 1;
		}
	}
	if (optind >= argc) {
		cli_error("Expecting one image file name");
		return 1;
	}
	if (optind != argc - 1) {
		cli_error("Unexpected argument: %s", argv[optind + 1]);
		return 1;
	}
	r = guest_open(&(struct guest_opts){
			.disks = &(struct guest_disk){ .path = argv[optind], .format = fmt },
			.nb_disks = 1, .mode = GUEST_READONLY }, &gu);
	if (r) {
		cli_report(r, argv[optind]);
		return 1;
	}
	r = guest_inspect(gu, &o);
	guest_close(gu);
	if (r) {
		cli_report(r, argv[optind]);
		return 1;
	}
	json_object_object_add(o, "image", json_object_new_string(argv[optind]));
	if (ofmt == OUTPUT_JSON)
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							     JSON_C_TO_STRING_SPACED |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		inspect_print_human(o);
	json_object_put(o);
	return 0;
}
