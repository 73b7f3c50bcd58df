/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_sysprep.c - `imgtool sysprep`: turn a guest image into a template by
 * removing what identifies one machine (guest/sysprep.c).  It modifies the image
 * it is given, in place; --dry-run runs the same operations on a throw-away
 * overlay so that the image is not changed.
 */
#include "cli.h"
#include "../common/err.h"
#include "guest/sysprep.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static void usage(void)
{
	printf("usage: imgtool sysprep [-f fmt] [--operations LIST] [--list-operations] [--dry-run] [--force] filename\n"
	       "Prepare a guest image to be a template: remove its machine-id, SSH host\n"
	       "keys, persistent net rules, MACs, leases, logs, histories... (see\n"
	       "--list-operations).  The image is modified IN PLACE: make a copy first\n"
	       "(imgtool convert) if you want to keep the original.  --dry-run prints what\n"
	       "would change, working on a throw-away overlay; the image is not modified.\n"
	       "--operations takes names separated by commas, 'defaults', 'all', and\n"
	       "-NAME to remove one, e.g. --operations defaults,-logfiles,root-password-lock.\n"
	       "Each line says what happens at first boot: systemd writes a new machine-id,\n"
	       "new SSH host keys are made before sshd starts (the guest's sshd-keygen unit,\n"
	       "or imgtool-ssh-hostkeys.service installed by sysprep).  Where nothing in the\n"
	       "guest would make new keys (no systemd) they are kept unless --force.\n");
}

int cmd_sysprep(int argc, char **argv)
{
	enum { O_OPS = 256, O_LIST, O_DRY, O_FORCE };
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "operations", required_argument, NULL, O_OPS },
		{ "list-operations", no_argument, NULL, O_LIST },
		{ "dry-run", no_argument, NULL, O_DRY },
		{ "force", no_argument, NULL, O_FORCE },
		{ NULL, 0, NULL, 0 },
	};
	bool *enabled = calloc(sysprep_nops, sizeof(bool));
	bool dry = false, force = false;
	const char *fmt = NULL, *image;
	struct guest *gu;
	int c, r, ret = 1;

	if (!enabled)
		return 1;
	sysprep_default_operations(enabled);
	while ((c = cli_getopt(argc, argv, "hf:", longopts)) != -1) {
		switch (c) {
		case 'h':
			usage();
			ret = 0;
			goto out;
		case 'f':
			fmt = optarg;
			break;
		case O_OPS:
			r = sysprep_parse_operations(optarg, enabled);
			if (r) {
				cli_report(r, "--operations");
				goto out;
			}
			break;
		case O_LIST:
			sysprep_list(stdout);
			ret = 0;
			goto out;
		case O_DRY:
			dry = true;
			break;
		case O_FORCE:
			force = true;
			break;
		default:
			goto out;
		}
	}
	if (optind != argc - 1) {
		cli_error(optind >= argc ? "Expecting one image file name" : "Expecting one image file name, got more");
		goto out;
	}
	image = argv[optind];
	r = guest_open(&(struct guest_opts){
			.disks = &(struct guest_disk){ .path = image, .format = fmt },
			.nb_disks = 1, .mode = dry ? GUEST_OVERLAY : GUEST_WRITE }, &gu);
	if (r) {
		cli_report(r, image);
		goto out;
	}
	r = sysprep_run(gu, enabled, force, dry ? "(dry run) " : "");
	if (r) {
		cli_report(r, image);
		guest_close(gu);
		goto out;
	}
	r = guest_close(gu);
	if (r) {
		cli_report(r, image);
		goto out;
	}
	ret = 0;
out:
	free(enabled);
	return ret;
}
