/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_customize.c - `imgtool customize`: edit a guest image offline
 * (guest/customize.c).  Every operation is checked before the appliance is
 * launched, then they run in the order given on one libguestfs handle.  The image
 * is modified in place; --dry-run works on a throw-away overlay.  The appliance
 * gets a network when an operation runs programs in the guest (--install,
 * --update, --run, --run-command), as virt-customize does, unless --no-network.
 */
#include "cli.h"
#include "../common/err.h"
#include "guest/customize.h"
#include "customize_opts.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#define N_CUST CUST_N_KINDS

static void usage(void)
{
	printf("usage: imgtool customize [-f fmt] [--dry-run] [operations...] filename\n"
	       "Edit a guest image in place; operations run in the order given:\n"
	       "  --hostname NAME             --timezone ZONE (e.g. Europe/Paris)\n"
	       "  --write FILE:CONTENT        --append-line FILE:LINE\n"
	       "  --upload HOSTFILE:FILE      --mkdir DIR\n"
	       "  --chmod MODE:FILE           --delete PATH\n"
	       "  --link TARGET:LINK          --root-password password:PW|file:HOSTFILE|random\n"
	       "  --ssh-inject USER:file:KEY  --firstboot-command CMD (systemd guests)\n"
	       "  --run-command CMD (runs /bin/sh in the guest, in the appliance)\n"
	       "  --run SCRIPT (a host script, run in the guest)\n"
	       "  --copy-in HOSTPATH:GUESTDIR (recursive)\n"
	       "  --install PKG,PKG / --update (the guest's package manager; needs the\n"
	       "                    guest's package sources and the network)\n"
	       "  --selinux-relabel (when the guest has SELinux enabled)\n"
	       "--dry-run runs them on a throw-away overlay: the image is not modified.\n"
	       "--no-network launches the appliance without a network.\n");
}

int cmd_customize(int argc, char **argv)
{
	enum { O_DRY = 512, O_NONET };
	struct option longopts[N_CUST + 4];
	struct cust_op *ops = NULL;
	size_t nops = 0;
	const char *fmt = NULL, *image;
	bool dry = false, no_net = false, net;
	struct guest *gu;
	int c, r, ret = 1;

	cli_customize_longopts(longopts);
	longopts[N_CUST] = (struct option){ "dry-run", no_argument, NULL, O_DRY };
	longopts[N_CUST + 1] = (struct option){ "no-network", no_argument, NULL, O_NONET };
	longopts[N_CUST + 2] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[N_CUST + 3] = (struct option){ NULL, 0, NULL, 0 };
	while ((c = cli_getopt(argc, argv, "hf:", longopts)) != -1) {
		r = cli_customize_option(c, optarg, &ops, &nops);
		if (r < 0)
			goto out;
		if (r)
			continue;
		switch (c) {
		case 'h':
			usage();
			ret = 0;
			goto out;
		case 'f':
			fmt = optarg;
			break;
		case O_DRY:
			dry = true;
			break;
		case O_NONET:
			no_net = true;
			break;
		default:
			goto out;
		}
	}
	if (optind != argc - 1) {
		cli_error("Expecting one image file name");
		goto out;
	}
	if (!nops) {
		cli_error("no operation given (see imgtool customize --help)");
		goto out;
	}
	image = argv[optind];
	for (size_t i = 0; no_net && i < nops; i++) {
		if (ops[i].kind != CUST_INSTALL && ops[i].kind != CUST_UPDATE)
			continue;
		/* known before the launch: say so now rather than after apt-get's timeouts */
		cli_error("--%s needs the network to reach the guest's package sources, and "
			  "--no-network leaves the appliance offline", customize_option_names[ops[i].kind]);
		goto out;
	}
	net = !no_net && customize_wants_network(ops, nops);
	r = guest_open(&(struct guest_opts){
			.disks = &(struct guest_disk){ .path = image, .format = fmt },
			.nb_disks = 1, .mode = dry ? GUEST_OVERLAY : GUEST_WRITE,
			.network = net }, &gu);
	if (r) {
		cli_report(r, image);
		goto out;
	}
	r = customize_run(gu, ops, nops, dry ? "(dry run) " : "", net);
	if (r) {
		cli_report(r, image);
		/* what ran before the failure is kept: say so rather than hide it */
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
	cli_customize_free(ops, nops);
	return ret;
}
