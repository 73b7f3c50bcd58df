/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_launch.c - `imgtool launch`: boot an image under qemu-system-x86_64 (or print
 * the command, or write a libvirt domain XML), optionally waiting for a marker line
 * on the guest's serial console.
 *
 * This file parses the options into a launcher/launch.h launch_request and prints
 * the outcome; the decisions (format, cache, accelerator, --snapshot overlay, NBD)
 * and the run are launcher/launch_run.c's.
 */
#include "cli.h"
#include "../common/err.h"
#include "../common/opts.h"
#include "../launcher/launch.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

struct launch_args {
	struct launch_request rq;
	char name[256];
};

static void usage(void)
{
	printf("usage: %s launch [-f fmt] [--memory SIZE] [--cpus N] "
	       "[--bus virtio|virtio-scsi|sata|ide]\n"
	       "    [--cache none|writeback|writethrough|directsync|unsafe] "
	       "[--aio native|threads|io_uring]\n"
	       "    [--net user|none|bridge=NAME|tap=NAME] [--console serial|vnc=:N] "
	       "[--firmware bios|uefi] [--rtc utc|localtime]\n"
	       "    [--accel auto|kvm|tcg] [--snapshot] [--wait-for TEXT] [--timeout S] "
	       "[--console-log FILE]\n"
	       "    [--print-cmdline] [--libvirt-xml FILE] [--qemu PATH] [--name NAME] [--via-nbd] "
	       "filename\n",
	       PROG_NAME);
}

/* --memory: a plain number is MiB (as qemu's -m), else a size with a suffix. */
static int parse_memory(const char *s, uint64_t *mib)
{
	uint64_t v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (*end) {
		if (parse_size(s, &v))
			return -EINVAL;
		v >>= 20;
	}
	if (v < 16 || v > (1ULL << 22))
		return -ERANGE;   /* 16 MiB .. 4 TiB */
	*mib = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct launch_args *a)
{
	enum { O_MEMORY = 256, O_CPUS, O_BUS, O_CACHE, O_AIO, O_NET, O_CONSOLE, O_FIRMWARE,
	       O_ACCEL, O_SNAPSHOT, O_WAIT_FOR, O_TIMEOUT, O_PRINT, O_XML, O_LOG, O_QEMU,
	       O_NAME, O_VIA_NBD, O_RTC };
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "format", required_argument, NULL, 'f' },
		{ "memory", required_argument, NULL, O_MEMORY },
		{ "cpus", required_argument, NULL, O_CPUS },
		{ "bus", required_argument, NULL, O_BUS },
		{ "cache", required_argument, NULL, O_CACHE },
		{ "aio", required_argument, NULL, O_AIO },
		{ "net", required_argument, NULL, O_NET },
		{ "console", required_argument, NULL, O_CONSOLE },
		{ "firmware", required_argument, NULL, O_FIRMWARE },
		{ "rtc", required_argument, NULL, O_RTC },
		{ "accel", required_argument, NULL, O_ACCEL },
		{ "snapshot", no_argument, NULL, O_SNAPSHOT },
		{ "wait-for", required_argument, NULL, O_WAIT_FOR },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "print-cmdline", no_argument, NULL, O_PRINT },
		{ "libvirt-xml", required_argument, NULL, O_XML },
		{ "console-log", required_argument, NULL, O_LOG },
		{ "qemu", required_argument, NULL, O_QEMU },
		{ "name", required_argument, NULL, O_NAME },
		{ "via-nbd", no_argument, NULL, O_VIA_NBD },
		{ NULL, 0, NULL, 0 },
	};
	struct launch_config *cfg = &a->rq.cfg;
	const char *env_qemu = getenv("IMGTOOL_QEMU");
	char *end;
	int c, r = 0;

	cfg->qemu = env_qemu && *env_qemu ? env_qemu : LAUNCH_DEFAULT_QEMU;
	cfg->memory_mib = 1024;
	cfg->cpus = 1;
	cfg->vnc_display = -1;
	while ((c = cli_getopt(argc, argv, "hf:", longopts)) != -1) {
		switch (c) {
		case 'h':
			usage();
			exit(0);
		case 'f': a->rq.format = optarg; break;
		case O_MEMORY:
			if (parse_memory(optarg, &cfg->memory_mib)) {
				cli_error("Invalid memory size '%s' (16M .. 4T)", optarg);
				return -EINVAL;
			}
			break;
		case O_CPUS:
			errno = 0;
			cfg->cpus = (int)strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || cfg->cpus < 1 || cfg->cpus > 255) {
				cli_error("Invalid CPU count '%s' (1 .. 255)", optarg);
				return -EINVAL;
			}
			break;
		case O_BUS: r = launch_parse_bus(optarg, &cfg->bus); break;
		case O_CACHE: a->rq.cache = optarg; break;
		case O_AIO: a->rq.aio = optarg; break;
		case O_NET: r = launch_parse_net(optarg, &cfg->net, &cfg->net_name); break;
		case O_CONSOLE: r = launch_parse_console(optarg, &cfg->vnc_display); break;
		case O_FIRMWARE: r = launch_parse_firmware(optarg, &cfg->firmware); break;
		case O_RTC: r = launch_parse_rtc(optarg, &cfg->rtc_localtime); break;
		case O_ACCEL: r = launch_parse_accel(optarg, &cfg->accel); break;
		case O_SNAPSHOT: a->rq.snapshot = true; break;
		case O_WAIT_FOR:
			if (!*optarg) {
				cli_error("--wait-for needs a non-empty text");
				return -EINVAL;
			}
			a->rq.wait_for = optarg;
			break;
		case O_TIMEOUT:
			errno = 0;
			a->rq.timeout = strtod(optarg, &end);
			if (errno || *end || end == optarg || !(a->rq.timeout > 0) ||
			    a->rq.timeout > 86400 * 7) {
				cli_error("Invalid timeout '%s' (seconds)", optarg);
				return -EINVAL;
			}
			break;
		case O_PRINT: a->rq.print_cmdline = true; break;
		case O_XML: a->rq.libvirt_xml = optarg; break;
		case O_LOG: a->rq.console_log = optarg; break;
		case O_QEMU: cfg->qemu = optarg; break;
		case O_NAME: snprintf(a->name, sizeof(a->name), "%s", optarg); break;
		case O_VIA_NBD: a->rq.via_nbd = true; break;
		default:
			return -EINVAL;
		}
		if (r) {
			cli_report(r, NULL);
			return r;
		}
	}
	if (optind != argc - 1) {
		cli_error(optind >= argc ? "Expecting one image file name" :
			  "Expecting only one image file name");
		return -EINVAL;
	}
	a->rq.image = argv[optind];
	if (!a->name[0]) {
		const char *base = strrchr(a->rq.image, '/');

		snprintf(a->name, sizeof(a->name), "imgtool-%s", base ? base + 1 : a->rq.image);
	}
	for (char *p = a->name; *p; p++) {
		if (*p == '/' || *p == ',' || (unsigned char)*p < 0x20)
			*p = '_';   /* libvirt and qemu -name both take this */
	}
	cfg->name = a->name;
	return 0;
}

static void print_warning(const char *msg)
{
	fprintf(stderr, "%s: %s\n", PROG_NAME, msg);
}

/* The outcome of a run as the exit code, with one line saying what happened. */
static int report_run(const struct launch_request *rq, const struct launch_outcome *o)
{
	const struct console_result *res = &o->res;

	if (res->marker_seen) {
		printf("'%s' appeared on the console %.2f s after launch (accel %s); "
		       "guest stopped\n", rq->wait_for, o->before + res->seconds,
		       o->accel == LAUNCH_ACCEL_KVM ? "kvm" : "tcg");
		return 0;
	}
	if (res->interrupted) {
		cli_error("interrupted; the guest was stopped");
		return 130;
	}
	if (res->timed_out) {
		if (!rq->wait_for) {
			printf("ran for %.0f s; guest stopped\n", o->timeout);
			return 0;
		}
		cli_error("timed out after %.0f s waiting for '%s' on the console; the guest "
			  "was stopped", o->timeout, rq->wait_for);
		return 1;
	}
	if (rq->wait_for) {
		if (WIFEXITED(res->qemu_status))
			cli_error("qemu exited with status %d before '%s' appeared on the console",
				  WEXITSTATUS(res->qemu_status), rq->wait_for);
		else
			cli_error("qemu was killed by signal %d before '%s' appeared on the console",
				  WTERMSIG(res->qemu_status), rq->wait_for);
		return 1;
	}
	if (WIFEXITED(res->qemu_status))
		return WEXITSTATUS(res->qemu_status);
	return 128 + WTERMSIG(res->qemu_status);
}

int cmd_launch(int argc, char **argv)
{
	struct launch_args a;
	struct launch_outcome out;
	int ret;

	memset(&a, 0, sizeof(a));
	if (parse_args(argc, argv, &a))
		return 1;
	a.rq.warn = print_warning;
	ret = launch_run(&a.rq, &out);
	if (ret < 0) {
		cli_report(ret, NULL);
		if (out.need_format)
			cli_error("give the image format with -f for %s", a.rq.image);
		return 1;
	}
	if (out.cmdline) {
		printf("%s\n", out.cmdline);
		free(out.cmdline);
		return 0;
	}
	return out.ran ? report_run(&a.rq, &out) : 0;
}
