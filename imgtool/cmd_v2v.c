/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_v2v.c - `imgtool v2v`: convert a guest from VMware/Hyper-V/VirtualBox (or a
 * physical disk, P2V) to run on KVM (v2v/v2v.h does the work).  This file
 * parses virt-v2v's option spelling (-i, -o, -of, -os, -on: multi-letter options
 * with one dash, hence getopt_long_only) and checks every argument before anything
 * is copied, so that a bad command line fails at once with one clear line.
 */
#include "cli.h"
#include "../common/err.h"
#include "v2v/output/output.h"
#include "v2v/v2v.h"
#include "../formats/format.h"
#include "../launcher/launch.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { O_OF = 256, O_OS, O_ON, O_BUS, O_NETWORK, O_IN_PLACE, O_VIRTIO_WIN, O_REPORT, O_OUTPUT, O_OC,
       O_SOURCE_FREEZE };

static void usage(void)
{
	printf("usage: %s v2v [-i disk|vmx|ova] [-f fmt] -o local|libvirt|qemu [-oc URI]\n"
	       "    [-of qcow2|raw|vmdk|vpc|vhdx] -os DIR [-on NAME] [--bus virtio|virtio-scsi]\n"
	       "    [--network virtio] [--in-place] [--virtio-win DIR] [--report FILE]\n"
	       "    [--output human|json] [--source-freeze] [-q] SOURCE\n"
	       "Convert a guest (a disk image, a block device, an nfs:// iscsi:// rbd: ssh://\n"
	       "URL, a VMware .vmx or an OVA) to boot on KVM with virtio: the disks are copied to\n"
	       "DIR/NAME-sda.FMT... (the source is never modified; --in-place converts it\n"
	       "instead), the copy is converted (device names, bootloader, initramfs,\n"
	       "hypervisor agents, network), and DIR/NAME.xml (local, libvirt: also virsh\n"
	       "define) or DIR/NAME.sh (qemu: runs imgtool launch) is written.  -oc: the libvirt\n"
	       "connection URI for -o libvirt (default: virsh's), checked before any copy.\n"
	       "--source-freeze: a running machine's ssh:// disks are copied with their mounted\n"
	       "filesystems frozen (fsfreeze over SSH; thawed after the copy, or by itself if\n"
	       "imgtool dies or the link drops).\n", PROG_NAME);
}

static bool is_dir(const char *p)
{
	struct stat st;

	return !stat(p, &st) && S_ISDIR(st.st_mode);
}

struct v2v_cli {
	struct v2v_params p;
	const char *input;        /* -i as given */
	const char *output;       /* -o as given */
	const char *report;
	bool network_given;
	bool of_given;
	enum output_format ofmt;
};

static int parse(int argc, char **argv, struct v2v_cli *a)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "of", required_argument, NULL, O_OF },
		{ "os", required_argument, NULL, O_OS },
		{ "on", required_argument, NULL, O_ON },
		{ "bus", required_argument, NULL, O_BUS },
		{ "network", required_argument, NULL, O_NETWORK },
		{ "in-place", no_argument, NULL, O_IN_PLACE },
		{ "virtio-win", required_argument, NULL, O_VIRTIO_WIN },
		{ "report", required_argument, NULL, O_REPORT },
		{ "output", required_argument, NULL, O_OUTPUT },
		{ "oc", required_argument, NULL, O_OC },
		{ "source-freeze", no_argument, NULL, O_SOURCE_FREEZE },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long_only(argc, argv, ":hi:f:o:q", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': usage(); return 1;
		case 'i': a->input = optarg; break;
		case 'f': a->p.src_format = optarg; break;
		case 'o': a->output = optarg; break;
		case 'q': a->p.quiet = true; break;
		case O_OF: a->p.out_format = optarg; a->of_given = true; break;
		case O_OS: a->p.out_dir = optarg; break;
		case O_ON: a->p.out_name = optarg; break;
		case O_BUS:
			if (!strcmp(optarg, "virtio"))
				a->p.bus = V2V_BUS_VIRTIO;
			else if (!strcmp(optarg, "virtio-scsi"))
				a->p.bus = V2V_BUS_VIRTIO_SCSI;
			else
				return cli_error("--bus must be virtio or virtio-scsi, not '%s'", optarg), -1;
			break;
		case O_NETWORK:
			if (strcmp(optarg, "virtio"))
				return cli_error("--network must be virtio, not '%s'", optarg), -1;
			a->network_given = true;
			break;
		case O_IN_PLACE: a->p.in_place = true; break;
		case O_VIRTIO_WIN: a->p.virtio_win = optarg; break;
		case O_REPORT: a->report = optarg; break;
		case O_OC: a->p.libvirt_uri = optarg; break;
		case O_SOURCE_FREEZE: a->p.source_freeze = true; break;
		case O_OUTPUT:
			if (cli_parse_output(optarg, &a->ofmt))
				return cli_error("--output must be human or json"), -1;
			break;
		case ':':
			return cli_error("option '%s' needs an argument", argv[optind - 1]), -1;
		default:
			return cli_error("unknown option '%s' (see imgtool v2v --help)", argv[optind - 1]), -1;
		}
	}
	return 0;
}

/* Every argument checked before any work. */
static int check(int argc, char **argv, struct v2v_cli *a)
{
	struct v2v_params *p = &a->p;
	const struct format_ops *f;
	struct stat st;

	if (optind >= argc)
		return cli_error("v2v: expecting the source (a disk, device, URL, .vmx or OVA)"), -1;
	if (optind != argc - 1)
		return cli_error("v2v: unexpected argument '%s'", argv[optind + 1]), -1;
	p->src = argv[optind];
	if (!(p->input = v2v_input_find(a->input)))
		return cli_report(-EINVAL, NULL), -1;
	if (p->src_format && !p->input->takes_format)
		return cli_error("-f does not apply to -i %s (the source names its disks' formats)",
				 p->input->name), -1;
	if (p->src_format && !format_find(p->src_format))
		return cli_error("-f: unknown format '%s'", p->src_format), -1;
	if (!a->output)
		return cli_error("v2v: -o local|libvirt|qemu is required"), -1;
	if (!(p->output = v2v_output_find(a->output)))
		return cli_report(-EINVAL, NULL), -1;
	if (p->libvirt_uri && !p->output->takes_uri)
		return cli_error("-oc (the libvirt URI) applies to -o libvirt only"), -1;
	if (p->libvirt_uri && !*p->libvirt_uri)
		return cli_error("-oc: empty libvirt URI"), -1;
	f = format_find(p->out_format);
	if (!f || !f->create)
		return cli_error("-of: '%s' is not a format imgtool can create "
				 "(qcow2, raw, vmdk, vpc, vhdx)", p->out_format), -1;
	if (p->in_place && p->source_freeze)
		return cli_error("--source-freeze copies a running machine: --in-place would convert it live"), -1;
	if (p->in_place && a->of_given)
		return cli_error("--in-place keeps the disks' format: -of cannot be given"), -1;
	if (!p->out_dir && !p->in_place)
		return cli_error("v2v: -os DIR (the output folder) is required"), -1;
	if (p->out_dir && !is_dir(p->out_dir))
		return cli_error("-os %s: not an existing directory", p->out_dir), -1;
	if (p->out_name && (!*p->out_name || strchr(p->out_name, '/')))
		return cli_error("-on: '%s' is not a valid guest name", p->out_name), -1;
	if (p->virtio_win && !is_dir(p->virtio_win))
		return cli_error("--virtio-win %s: not an existing directory", p->virtio_win), -1;
	if (!launch_is_url(p->src) && stat(p->src, &st))
		return cli_error("%s: %s", p->src, strerror(errno)), -1;
	return 0;
}

int cmd_v2v(int argc, char **argv)
{
	struct v2v_cli a = {
		.p = { .out_format = "qcow2", .bus = V2V_BUS_VIRTIO },
		.input = "disk",
		.ofmt = OUTPUT_HUMAN,
	};
	struct v2v_report *r;
	int ret, w = 0;

	ret = parse(argc, argv, &a);
	if (ret)
		return ret > 0 ? 0 : 1;
	if (check(argc, argv, &a))
		return 1;
	/* virt-v2v asks libvirt first too: an unreachable URI or a name already
	 * defined fails in a second instead of after the whole conversion */
	if ((ret = v2v_precheck(&a.p))) {
		cli_report(ret, a.p.src);
		return 1;
	}
	a.p.json = a.ofmt == OUTPUT_JSON;
	r = v2v_report_new();
	if (!r) {
		cli_error("out of memory");
		return 1;
	}
	v2v_report_set_quiet(r, a.p.quiet || a.p.json);
	ret = v2v_run(&a.p, r);
	if (ret)
		cli_report(ret, a.p.src);
	if (a.report && (w = v2v_report_write(r, a.report, ret)))
		cli_report(w, a.report);
	if (a.p.json)
		v2v_report_print_json(r, ret);
	else if (!ret && !a.p.quiet)
		printf("converted: %zu changes%s%s\n", v2v_report_nb_changes(r),
		       a.report ? ", report in " : "", a.report ? a.report : "");
	v2v_report_free(r);
	return ret || w ? 1 : 0;
}
