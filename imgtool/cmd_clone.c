/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_clone.c - `imgtool clone`: VMs from a template image (clone/clone.c does the
 * work; this file only turns the command line into a struct clone_params).  The
 * customize operations are taken as `imgtool customize` takes them and run on
 * every clone, never on the template.
 */
#include "cli.h"
#include "customize_opts.h"
#include "../common/err.h"
#include "clone/clone.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static void usage(void)
{
	printf("usage: imgtool clone [--linked | --full] [-f fmt] [-O fmt] [--force] TEMPLATE NEW\n"
	       "           [--name NAME | --count N --name-pattern PATTERN] [--xml TEMPLATE.xml]\n"
	       "           [customize operations...]\n"
	       "Make VMs from a template image (prepared by imgtool sysprep).  Each clone gets\n"
	       "its own identity: its name as hostname, a new machine-id and SSH host keys at\n"
	       "first boot, new NIC UUIDs, and the customize operations given (those of\n"
	       "imgtool customize), applied to the clone only.\n"
	       "  --linked   a qcow2 overlay on the template (default for a qcow2 template);\n"
	       "             the template is only read and must stay where it is\n"
	       "  --full     an independent copy (-O: its format)\n"
	       "  NEW        the clone's image; with --count a folder that receives\n"
	       "             NAME.qcow2 (and NAME.xml) for each clone\n"
	       "  --name     the clone's host and domain name (default: NEW's file name)\n"
	       "  --count N --name-pattern 'web%%02d'   N clones named web01, web02...\n"
	       "  --xml      the template's libvirt domain XML: each clone gets its own\n"
	       "             (name, UUID, MACs, disk) next to its image\n"
	       "  --force    clone a template that still holds identity (SSH host keys,\n"
	       "             machine-id...); the clones get their own all the same\n"
	       "An existing file is never overwritten.\n");
}

static int parse_count(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 1 || v > 1000) {
		cli_error("Invalid --count '%s' (1 to 1000)", s);
		return -1;
	}
	*out = (int)v;
	return 0;
}

int cmd_clone(int argc, char **argv)
{
	enum { O_LINKED = 256, O_FULL, O_NAME, O_COUNT, O_PATTERN, O_XML, O_FORCE, O_NONET };
	static const struct option own[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "linked", no_argument, NULL, O_LINKED },
		{ "full", no_argument, NULL, O_FULL },
		{ "name", required_argument, NULL, O_NAME },
		{ "count", required_argument, NULL, O_COUNT },
		{ "name-pattern", required_argument, NULL, O_PATTERN },
		{ "xml", required_argument, NULL, O_XML },
		{ "force", no_argument, NULL, O_FORCE },
		{ "no-network", no_argument, NULL, O_NONET },
	};
	struct option longopts[CUST_N_KINDS + sizeof(own) / sizeof(own[0]) + 1] = { { 0 } };
	struct clone_params p = { .kind = CLONE_AUTO };
	struct cust_op *ops = NULL;
	size_t nops = 0;
	bool no_net = false;
	int c, r, ret = 1;

	cli_customize_longopts(longopts);
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		longopts[CUST_N_KINDS + i] = own[i];
	while ((c = cli_getopt(argc, argv, "hf:O:", longopts)) != -1) {
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
		case 'f': p.template_format = optarg; break;
		case 'O': p.format = optarg; break;
		case O_LINKED:
		case O_FULL:
			if (p.kind != CLONE_AUTO) {
				cli_error("--linked and --full exclude each other");
				goto out;
			}
			p.kind = c == O_LINKED ? CLONE_LINKED : CLONE_FULL;
			break;
		case O_NAME: p.name = optarg; break;
		case O_COUNT:
			if (parse_count(optarg, &p.count))
				goto out;
			break;
		case O_PATTERN: p.name_pattern = optarg; break;
		case O_XML: p.xml = optarg; break;
		case O_FORCE: p.force = true; break;
		case O_NONET: no_net = true; break;
		default:
			goto out;
		}
	}
	if (optind != argc - 2) {
		cli_error("Expecting a template image and the new clone (or folder)");
		goto out;
	}
	p.template_image = argv[optind];
	p.target = argv[optind + 1];
	p.ops = ops;
	p.nops = nops;
	p.network = !no_net && customize_wants_network(ops, nops);
	r = clone_run(&p);
	if (r) {
		cli_report(r, p.target);
		goto out;
	}
	ret = 0;
out:
	cli_customize_free(ops, nops);
	return ret;
}
