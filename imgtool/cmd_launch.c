/*
 * cmd_launch.c - `imgtool launch`: boot an image under qemu-system-x86_64 (or print
 * the command, or write a libvirt domain XML), optionally waiting for a marker line
 * on the guest's serial console.
 *
 * This file resolves the user's choices into a launcher/launch.h launch_config:
 * the image format (probed by imgtool, never by qemu), the cache and aio modes
 * (cache=none needs O_DIRECT, which tmpfs refuses), the accelerator (KVM only
 * after a probe guest ran on it) and the --snapshot overlay (a qcow2 created with
 * imgtool's own create over the image, removed afterwards).
 *
 * Where qemu cannot open the image itself (its build lacks the URL scheme's
 * block driver or the format; launch_qemu_can_open) or --via-nbd asks for it,
 * imgtool serves the image (or the --snapshot overlay) on a private unix socket
 * (serve/nbd_server.h, a child process) and qemu gets nbd:unix:SOCKET as raw; the
 * server is stopped, flushing the image, after the guest.
 */
#include "cli.h"
#include "../common/err.h"
#include "../common/opts.h"
#include "../formats/format.h"
#include "../launcher/launch.h"
#include "../serve/nbd_server.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_WAIT_TIMEOUT 600.0
#define TAIL_LINES 20

struct launch_args {
	struct launch_config cfg;
	const char *image;
	const char *format;
	const char *cache;
	const char *aio;
	const char *wait_for;
	const char *libvirt_xml;
	const char *console_log;
	double timeout;
	bool snapshot;
	bool print_cmdline;
	bool via_nbd;             /* --via-nbd: always serve the disk over NBD */
	bool use_nbd;             /* forced, or qemu cannot open the image itself */
	pid_t nbd_pid;            /* the NBD server while it runs */
	char *nbd_sock;
	char *nbd_url;
	char *overlay_dir;        /* --snapshot: removed at the end */
	char *overlay;
	char *format_owned;
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

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Does the filesystem holding path accept O_DIRECT?  (tmpfs does not.) */
static bool odirect_ok(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);

	if (fd < 0)
		return errno != EINVAL;   /* other errors are qemu's to report */
	close(fd);
	return true;
}

static int resolve_format(struct launch_args *a)
{
	struct image *img;
	int r;

	if (a->format) {
		a->cfg.format = a->format;
		return 0;
	}
	r = image_open(a->image, NULL, 0, &img);
	if (r) {
		cli_report(r, a->image);
		if (launch_is_url(a->image))
			cli_error("give the image format with -f for %s", a->image);
		return r;
	}
	a->format_owned = strdup(img->ops->name);
	image_close(img);
	if (!a->format_owned)
		return -ENOMEM;
	a->cfg.format = a->format_owned;
	return 0;
}

static void warn_no_odirect(const char *path)
{
	fprintf(stderr, "%s: warning: %s: the filesystem refuses O_DIRECT (tmpfs?), so "
		"cache=none cannot work; using cache=writeback,aio=threads\n", PROG_NAME, path);
}

/* cache=none (the default) wants aio=native and O_DIRECT on every file qemu opens. */
static int resolve_cache(struct launch_args *a, const char *overlay_dir)
{
	const char *cache = a->cache ? a->cache : "none";
	const char *aio = a->aio;
	int r;

	if (launch_is_url(a->image) || a->use_nbd) {
		/* network protocols have neither O_DIRECT nor Linux AIO */
		if (aio)
			fprintf(stderr, "%s: warning: --aio applies to local files only; "
				"ignored for %s\n", PROG_NAME, a->image);
		a->cfg.cache = a->cache ? a->cache : "writeback";
		a->cfg.aio = NULL;
		return launch_check_cache_aio(a->cfg.cache, NULL);
	}
	if (!aio && (!strcmp(cache, "none") || !strcmp(cache, "directsync")))
		aio = "native";
	r = launch_check_cache_aio(cache, aio);
	if (r) {
		cli_report(r, NULL);
		return r;
	}
	if (!strcmp(cache, "none") || !strcmp(cache, "directsync")) {
		const char *refuses = NULL;

		if (!odirect_ok(a->image))
			refuses = a->image;
		else if (overlay_dir && !odirect_ok(overlay_dir))
			refuses = overlay_dir;
		if (refuses) {
			warn_no_odirect(refuses);
			cache = "writeback";
			aio = "threads";
		}
	}
	a->cfg.cache = cache;
	a->cfg.aio = aio;
	return 0;
}

/* --snapshot: a qcow2 overlay over the image in a private temporary folder. */
static int make_overlay(struct launch_args *a)
{
	const char *tmp = getenv("TMPDIR");
	char backing[PATH_MAX], sz[32];
	struct opts o = { 0 };
	struct image *img;
	uint64_t size;
	int r;

	if (asprintf(&a->overlay_dir, "%s/imgtool-snapshot.XXXXXX",
		     tmp && *tmp ? tmp : "/var/tmp") < 0) {
		a->overlay_dir = NULL;
		return -ENOMEM;
	}
	if (!mkdtemp(a->overlay_dir)) {
		r = -errno;
		cli_error("%s: cannot create the snapshot folder: %s", a->overlay_dir,
			  strerror(errno));
		free(a->overlay_dir);
		a->overlay_dir = NULL;
		return r;
	}
	if (asprintf(&a->overlay, "%s/overlay.qcow2", a->overlay_dir) < 0) {
		a->overlay = NULL;
		return -ENOMEM;
	}
	if (launch_is_url(a->image))
		snprintf(backing, sizeof(backing), "%s", a->image);
	else if (!realpath(a->image, backing))
		return err_set(-errno, a->image, "%s", strerror(errno));
	r = image_open(a->image, a->cfg.format, 0, &img);
	if (r)
		return r;
	size = img->size;
	image_close(img);
	snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
	r = opts_set(&o, "backing_file", backing);
	if (!r)
		r = opts_set(&o, "backing_fmt", a->cfg.format);
	if (!r)
		r = image_create(a->overlay, "qcow2", size, &o);
	opts_free(&o);
	return r;
}

static void remove_overlay(struct launch_args *a)
{
	if (a->overlay)
		unlink(a->overlay);
	if (a->overlay_dir)
		rmdir(a->overlay_dir);
}

/* Serve the image over NBD when asked, or when qemu lacks what it needs. */
static void decide_nbd(struct launch_args *a)
{
	if (a->via_nbd) {
		a->use_nbd = true;
		return;
	}
	if (launch_qemu_can_open(a->image, a->cfg.format))
		return;
	a->use_nbd = true;
	if (!a->print_cmdline)
		fprintf(stderr, "%s: %s: this qemu cannot open %s images at such a location; "
			"serving it to qemu over NBD\n", PROG_NAME, a->image, a->cfg.format);
}

/* The disk qemu opens becomes nbd:unix:SOCKET (raw).  --print-cmdline starts no
 * server: the socket's name is only known at launch. */
static int start_nbd(struct launch_args *a)
{
	int r;

	if (a->print_cmdline) {
		a->cfg.image = "nbd:unix:/tmp/imgtool-nbd.XXXXXX/nbd.sock";
		a->cfg.format = "raw";
		return 0;
	}
	r = nbd_spawn(a->cfg.image, a->cfg.format, false, &a->nbd_sock, &a->nbd_pid);
	if (r) {
		cli_report(r, a->cfg.image);
		return r;
	}
	if (asprintf(&a->nbd_url, "nbd:unix:%s", a->nbd_sock) < 0) {
		a->nbd_url = NULL;
		return -ENOMEM;
	}
	a->cfg.image = a->nbd_url;
	a->cfg.format = "raw";
	return 0;
}

static int resolve_accel(struct launch_args *a)
{
	enum launch_accel want = a->cfg.accel;
	char why[512];
	int r;

	if (want == LAUNCH_ACCEL_TCG)
		return 0;
	r = accel_probe_kvm(a->cfg.qemu, why, sizeof(why));
	if (r < 0) {
		cli_report(r, NULL);
		return r;
	}
	if (r == 1) {
		a->cfg.accel = LAUNCH_ACCEL_KVM;
		return 0;
	}
	if (want == LAUNCH_ACCEL_KVM) {
		cli_error("KVM is not usable on this host: %s", why);
		return -ENODEV;
	}
	fprintf(stderr, "%s: warning: KVM is not usable on this host (%s); using TCG "
		"(software emulation, slower)\n", PROG_NAME, why);
	a->cfg.accel = LAUNCH_ACCEL_TCG;
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
	struct launch_config *cfg = &a->cfg;
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
		case 'f': a->format = optarg; break;
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
		case O_CACHE: a->cache = optarg; break;
		case O_AIO: a->aio = optarg; break;
		case O_NET: r = launch_parse_net(optarg, &cfg->net, &cfg->net_name); break;
		case O_CONSOLE: r = launch_parse_console(optarg, &cfg->vnc_display); break;
		case O_FIRMWARE: r = launch_parse_firmware(optarg, &cfg->firmware); break;
		case O_RTC: r = launch_parse_rtc(optarg, &cfg->rtc_localtime); break;
		case O_ACCEL: r = launch_parse_accel(optarg, &cfg->accel); break;
		case O_SNAPSHOT: a->snapshot = true; break;
		case O_WAIT_FOR:
			if (!*optarg) {
				cli_error("--wait-for needs a non-empty text");
				return -EINVAL;
			}
			a->wait_for = optarg;
			break;
		case O_TIMEOUT:
			errno = 0;
			a->timeout = strtod(optarg, &end);
			if (errno || *end || end == optarg || !(a->timeout > 0) ||
			    a->timeout > 86400 * 7) {
				cli_error("Invalid timeout '%s' (seconds)", optarg);
				return -EINVAL;
			}
			break;
		case O_PRINT: a->print_cmdline = true; break;
		case O_XML: a->libvirt_xml = optarg; break;
		case O_LOG: a->console_log = optarg; break;
		case O_QEMU: cfg->qemu = optarg; break;
		case O_NAME: snprintf(a->name, sizeof(a->name), "%s", optarg); break;
		case O_VIA_NBD: a->via_nbd = true; break;
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
	a->image = argv[optind];
	if (!a->name[0]) {
		const char *base = strrchr(a->image, '/');

		snprintf(a->name, sizeof(a->name), "imgtool-%s", base ? base + 1 : a->image);
	}
	for (char *p = a->name; *p; p++) {
		if (*p == '/' || *p == ',' || (unsigned char)*p < 0x20)
			*p = '_';   /* libvirt and qemu -name both take this */
	}
	cfg->name = a->name;
	return 0;
}

/* The outcome of a run as the exit code, with one line saying what happened. */
static int report_run(const struct launch_args *a, const struct console_result *res,
		      double before)
{
	if (res->marker_seen) {
		printf("'%s' appeared on the console %.2f s after launch (accel %s); "
		       "guest stopped\n", a->wait_for, before + res->seconds,
		       a->cfg.accel == LAUNCH_ACCEL_KVM ? "kvm" : "tcg");
		return 0;
	}
	if (res->interrupted) {
		cli_error("interrupted; the guest was stopped");
		return 130;
	}
	if (res->timed_out) {
		if (!a->wait_for) {
			printf("ran for %.0f s; guest stopped\n", a->timeout);
			return 0;
		}
		cli_error("timed out after %.0f s waiting for '%s' on the console; the guest "
			  "was stopped", a->timeout, a->wait_for);
		return 1;
	}
	if (a->wait_for) {
		if (WIFEXITED(res->qemu_status))
			cli_error("qemu exited with status %d before '%s' appeared on the console",
				  WEXITSTATUS(res->qemu_status), a->wait_for);
		else
			cli_error("qemu was killed by signal %d before '%s' appeared on the console",
				  WTERMSIG(res->qemu_status), a->wait_for);
		return 1;
	}
	if (WIFEXITED(res->qemu_status))
		return WEXITSTATUS(res->qemu_status);
	return 128 + WTERMSIG(res->qemu_status);
}

static int run(struct launch_args *a, double t0)
{
	struct console_opts co = {
		.wait_for = a->wait_for,
		.log_path = a->console_log,
		.tail_lines = TAIL_LINES,
	};
	struct console_result res;
	struct strv argv = { 0 };
	double before;
	int r;

	r = launch_build_argv(&a->cfg, &argv);
	if (r) {
		cli_report(r, NULL);
		return 1;
	}
	if (a->print_cmdline) {
		char *line = strv_join_shell(&argv);

		if (line)
			printf("%s\n", line);
		free(line);
		strv_free(&argv);
		return line ? 0 : 1;
	}
	if (a->cfg.firmware == LAUNCH_FW_UEFI && access(LAUNCH_OVMF_PATH, R_OK)) {
		cli_error("%s: UEFI firmware missing (apt-get install ovmf)", LAUNCH_OVMF_PATH);
		strv_free(&argv);
		return 1;
	}
	co.timeout = a->timeout ? a->timeout : a->wait_for ? DEFAULT_WAIT_TIMEOUT : 0;
	if (a->wait_for && !a->timeout)
		a->timeout = DEFAULT_WAIT_TIMEOUT;
	co.interactive = !a->wait_for && !a->timeout;
	before = now_s() - t0;   /* the launcher's own share of the time to the marker */
	r = console_run(argv.v, &co, &res);
	strv_free(&argv);
	if (r) {
		cli_report(r, NULL);
		return 1;
	}
	return report_run(a, &res, before);
}

int cmd_launch(int argc, char **argv)
{
	struct launch_args a;
	double t0 = now_s();
	int ret = 1;

	memset(&a, 0, sizeof(a));
	if (parse_args(argc, argv, &a))
		return 1;
	if (resolve_format(&a))
		goto out;
	decide_nbd(&a);
	if (resolve_cache(&a, NULL))
		goto out;
	if (resolve_accel(&a))
		goto out;
	a.cfg.image = a.image;
	if (a.libvirt_xml) {
		a.cfg.transient = a.snapshot;
		if (launch_write_libvirt_xml(&a.cfg, a.libvirt_xml)) {
			cli_report(-EIO, a.libvirt_xml);
			goto out;
		}
		if (!a.print_cmdline) {
			ret = 0;
			goto out;
		}
	}
	if (a.snapshot && !a.print_cmdline) {
		if (make_overlay(&a)) {
			cli_report(-EIO, a.overlay ? a.overlay : a.image);
			goto out;
		}
		/* the overlay's folder must take O_DIRECT as well */
		if (a.cfg.aio && !strcmp(a.cfg.aio, "native") && !odirect_ok(a.overlay)) {
			warn_no_odirect(a.overlay);
			a.cfg.cache = "writeback";
			a.cfg.aio = "threads";
		}
		a.cfg.image = a.overlay;
		a.cfg.format = "qcow2";
	} else if (a.snapshot) {
		/* what will run: an overlay whose name is only known at launch */
		a.cfg.image = "/var/tmp/imgtool-snapshot.XXXXXX/overlay.qcow2";
		a.cfg.format = "qcow2";
	}
	if (a.use_nbd && start_nbd(&a))
		goto out;
	ret = run(&a, t0);
out:
	nbd_spawn_stop(a.nbd_pid, a.nbd_sock);
	free(a.nbd_url);
	remove_overlay(&a);
	free(a.overlay);
	free(a.overlay_dir);
	free(a.format_owned);
	return ret;
}
