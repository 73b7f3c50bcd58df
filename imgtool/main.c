/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * main.c - imgtool's entry point: global options and dispatch to one subcommand.
 *
 * The syntax, messages and exit codes follow qemu-img 7.2 so that scripts can switch
 * tools; each subcommand lives in its own cmd_*.c.
 */
#include "cli.h"
#include "../formats/format.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *syntax;
};

static const struct command commands[] = {
	{ "amend", cmd_amend,
	  "amend [-f fmt] [-q] -o options filename" },
	{ "bench", cmd_bench,
	  "bench [-c count] [-d depth] [-f fmt] [--flush-interval=flush_interval] [-i aio] [-n] [--no-drain] [-o offset] [--pattern=pattern] [-q] [-s buffer_size] [-S step_size] [-t cache] [-w] [-U] filename" },
	{ "bitmap", cmd_bitmap,
	  "bitmap (--merge SOURCE | --add | --remove | --clear | --enable | --disable)... [-b source_file [-F source_fmt]] [-g granularity] [-f fmt] filename bitmap" },
	{ "check", cmd_check,
	  "check [-q] [-f fmt] [--output=ofmt] [-r [leaks | all]] [-T src_cache] [-U] filename" },
	{ "checksum", cmd_checksum,
	  "checksum [-f fmt] [-T src_cache] [-m num_workers] [-p] [-U] [--output=ofmt] filename [filename2 [...]]" },
	{ "clone", cmd_clone,
	  "clone [--linked | --full] [-f fmt] [-O fmt] [--force] [--name name | --count n --name-pattern pattern] [--xml template.xml] [customize operations] template new" },
	{ "commit", cmd_commit,
	  "commit [-q] [-f fmt] [-t cache] [-b base] [-d] [-p] filename" },
	{ "compare", cmd_compare,
	  "compare [-f fmt] [-F fmt] [-T src_cache] [-p] [-q] [-s] [-U] filename1 filename2" },
	{ "convert", cmd_convert,
	  "convert [--target-is-zero] [--bitmaps [--skip-broken-bitmaps]] [-U] [-c] [-p] [--progress=json] [-q] [-n] [-f fmt] [-t cache] [-T src_cache] [-O output_fmt] [-B backing_file [-F backing_fmt]] [-o options] [-l snapshot_param] [-S sparse_size] [-m num_workers] [-W] [-C] filename [filename2 [...]] output_filename" },
	{ "dd", cmd_dd,
	  "dd [-U] [-f fmt] [-O output_fmt] [bs=block_size] [count=blocks] [skip=blocks] if=input of=output" },
	{ "create", cmd_create,
	  "create [-q] [-f fmt] [-b backing_file [-F backing_fmt]] [-u] [-o options] filename [size]" },
	{ "customize", cmd_customize,
	  "customize [-f fmt] [--dry-run] [--hostname name] [--timezone tz] [--write file:content] [--append-line file:line] [--upload src:dst] [--mkdir dir] [--chmod mode:file] [--delete path] [--link target:link] [--root-password password:pw|file:f] [--ssh-inject user:file:key] [--firstboot-command cmd] [--run-command cmd] filename" },
	{ "info", cmd_info,
	  "info [-f fmt] [--output=ofmt] [--backing-chain] [-U] [--untrusted] filename" },
	{ "inspect", cmd_inspect,
	  "inspect [-f fmt] [--output=ofmt] filename" },
	{ "launch", cmd_launch,
	  "launch [-f fmt] [--memory size] [--cpus n] [--bus virtio|virtio-scsi|sata|ide] [--cache mode] [--aio native|threads|io_uring] [--net user|none|bridge=NAME|tap=NAME] [--console serial|vnc=:N] [--firmware bios|uefi] [--accel auto|kvm|tcg] [--snapshot] [--wait-for text] [--timeout s] [--console-log file] [--print-cmdline] [--libvirt-xml file] [--via-nbd] filename" },
	{ "map", cmd_map,
	  "map [-f fmt] [--output=ofmt] [--start-offset=offset] [--max-length=len] [-U] filename" },
	{ "measure", cmd_measure,
	  "measure [--output=ofmt] [-O output_fmt] [-o options] [--size N | [-f fmt] filename]" },
	{ "migrate", cmd_migrate,
	  "migrate [--validate | --dry-run | --status | --cutover NAME,... | --all] [--state DIR] [--shard I/N] [--retry N] [--only NAME,...] [--skip NAME,...] [--report FILE.json|FILE.html]... [--checkpoint SIZE] [--progress=json] [-q] PLAN" },
	{ "rebase", cmd_rebase,
	  "rebase [-q] [-f fmt] [-t cache] [-T src_cache] [-p] [-u] -b backing_file [-F backing_fmt] filename" },
	{ "resize", cmd_resize,
	  "resize [-f fmt] [--preallocation=prealloc] [-q] [--shrink] filename [+ | -]size" },
	{ "sysprep", cmd_sysprep,
	  "sysprep [-f fmt] [--operations list] [--list-operations] [--dry-run] [--force] filename" },
	{ "serve", cmd_serve,
	  "serve [-f fmt] [--socket path | --bind addr --port n] [--read-only] [--export-name name] [--shared n] [--pidfile file] [--foreground | --fork] filename" },
	{ "v2v", cmd_v2v,
	  "v2v [-i disk|vmx|ova] [-f fmt] -o local|libvirt|qemu [-oc uri] [-of fmt] -os dir [-on name] [--bus virtio|virtio-scsi] [--network virtio] [--in-place] [--virtio-win dir] [--report file] [--output=ofmt] [-q] source" },
	{ "sync", cmd_sync,
	  "sync [-f fmt] [-F fmt] [-T src_cache] [-t cache] [-m num_workers] [--block-size size] [--digests-from FILE] [-p] [-q] [--output=ofmt] filename1 filename2 | sync --print-digests [-f fmt] [--block-size size] filename" },
	{ "snapshot", cmd_snapshot,
	  "snapshot [-f fmt] [-q] [-U] [--output=ofmt] [-l | -a snapshot | -c snapshot | -d snapshot] filename" },
};

static void print_version(void)
{
	printf("%s version %s\n", PROG_NAME, IMGTOOL_VERSION);
	printf("A disk image toolkit compatible with qemu-img\n");
}

static void print_help(void)
{
	print_version();
	printf("usage: %s [standard options] command [command options]\n"
	       "Disk image utility\n\n"
	       "    '-h', '--help'       display this help and exit\n"
	       "    '-V', '--version'    output version information and exit\n\n"
	       "Command syntax:\n", PROG_NAME);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %s\n", commands[i].syntax);
	/* as qemu-img: the shell completion reads the names from here */
	printf("\nSupported formats:");
	for (size_t i = 0; format_registry[i]; i++)
		printf(" %s", format_registry[i]->name);
	printf("\n");
	printf("\nSizes take the suffixes k, M, G, T, P, E (powers of 1024).\n"
	       "Cache modes: none, writeback, writethrough, directsync, unsafe.\n"
	       "Output formats (--output): human, json.\n"
	       "\nEvery command that opens images also takes:\n"
	       "  --untrusted            follow no reference out of the image file; cap sizes\n"
	       "  --allow-ref-urls       let references inside images name URLs (file:, nfs://, rbd:...)\n"
	       "  --allow-ref-paths      let extents and parents leave the image's folder\n"
	       "  --max-virtual-size=SIZE, --max-metadata-size=SIZE, --max-inflate-size=SIZE\n"
	       "                         --untrusted's caps (defaults 4T, 64M, 2M)\n"
	       "  --object secret,id=ID,file=PATH\n"
	       "                         a passphrase for key-secret=ID (data=TEXT works too but\n"
	       "                         shows in the process list; format=base64 decodes it)\n"
	       "  --image-opts, --target-image-opts\n"
	       "                         image names are option lists, as qemu-img's:\n"
	       "                         driver=luks,key-secret=ID,file.filename=NAME\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name;
	int c;

	argv[0] = (char *)PROG_NAME;
	/* "+": stop at the command name; its options belong to the command. */
	while ((c = cli_getopt(argc, argv, "+hV", longopts)) != -1) {
		switch (c) {
		case 'h':
			print_help();
			return 0;
		case 'V':
			print_version();
			return 0;
		default:
			return 1;
		}
	}
	if (optind >= argc) {
		cli_error("Not enough arguments");
		return 1;
	}
	name = argv[optind];
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(commands[i].name, name)) {
			argc -= optind;
			argv += optind;
			argv[0] = (char *)PROG_NAME;
			if (cli_take_policy_options(&argc, argv) < 0 ||
			    cli_take_object_options(&argc, argv) < 0) {
				cli_report(-EINVAL, NULL);
				return 1;
			}
			optind = 0;   /* full getopt reinitialisation for the command */
			return commands[i].run(argc, argv);
		}
	}
	cli_error("Command not found: %s", name);
	return 1;
}
