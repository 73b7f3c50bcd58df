/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * launch_run.c - one launch, from the user's choices to the guest's end:
 * resolve the image format (probed by imgtool, never by qemu), the cache and aio
 * modes (cache=none needs O_DIRECT, which tmpfs refuses), the accelerator (KVM
 * only after a probe guest ran on it); write the libvirt XML if asked; put the
 * --snapshot overlay (overlay.c) in front of the image; serve the disk over NBD
 * where qemu cannot open it itself (launch_qemu_can_open) or --via-nbd asks;
 * then build the command line and run qemu on its console (console.c).
 *
 * The NBD server (serve/nbd_server.h, a child process) runs on a private unix
 * socket and qemu gets nbd:unix:SOCKET as raw; it is stopped, flushing the image,
 * after the guest, and the overlay is removed.  Nothing is printed here: warnings
 * go to the request's warn(), results to the outcome.
 */
#include "launch.h"
#include "../common/err.h"
#include "../formats/format.h"
#include "../serve/nbd_server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define TAIL_LINES 20

/* What a launch holds until the end (the config points into it). */
struct launch_state {
	struct launch_request *rq;
	struct launch_outcome *out;
	double t0;
	bool use_nbd;             /* forced, or qemu cannot open the image itself */
	pid_t nbd_pid;            /* the NBD server while it runs */
	char *nbd_sock;
	char *nbd_url;
	struct launch_overlay overlay;
	char *format_owned;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void warn(const struct launch_state *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void warn(const struct launch_state *s, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!s->rq->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->rq->warn(msg);
}

/* The message where the layer below set none. */
static int fail(int ret, const char *where)
{
	return err_set_default(ret, where, "%s", strerror(-ret));
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

static void warn_no_odirect(const struct launch_state *s, const char *path)
{
	warn(s, "warning: %s: the filesystem refuses O_DIRECT (tmpfs?), so cache=none "
	     "cannot work; using cache=writeback,aio=threads", path);
}

static int resolve_format(struct launch_state *s)
{
	struct launch_request *rq = s->rq;
	struct image *img;
	int r;

	if (rq->format) {
		rq->cfg.format = rq->format;
		return 0;
	}
	r = image_open(rq->image, NULL, 0, &img);
	if (r) {
		s->out->need_format = launch_is_url(rq->image);
		return fail(r, rq->image);
	}
	s->format_owned = strdup(img->ops->name);
	image_close(img);
	if (!s->format_owned)
		return err_set(-ENOMEM, NULL, "out of memory");
	rq->cfg.format = s->format_owned;
	return 0;
}

/* Serve the image over NBD when asked, or when qemu lacks what it needs. */
static void decide_nbd(struct launch_state *s)
{
	struct launch_request *rq = s->rq;

	if (rq->via_nbd) {
		s->use_nbd = true;
		return;
	}
	if (launch_qemu_can_open(rq->image, rq->cfg.format))
		return;
	s->use_nbd = true;
	if (!rq->print_cmdline)
		warn(s, "%s: this qemu cannot open %s images at such a location; serving it to "
		     "qemu over NBD", rq->image, rq->cfg.format);
}

/* cache=none (the default) wants aio=native and O_DIRECT on every file qemu opens. */
static int resolve_cache(struct launch_state *s)
{
	struct launch_request *rq = s->rq;
	const char *cache = rq->cache ? rq->cache : "none";
	const char *aio = rq->aio;
	int r;

	if (launch_is_url(rq->image) || s->use_nbd) {
		/* network protocols have neither O_DIRECT nor Linux AIO */
		if (aio)
			warn(s, "warning: --aio applies to local files only; ignored for %s",
			     rq->image);
		rq->cfg.cache = rq->cache ? rq->cache : "writeback";
		rq->cfg.aio = NULL;
		return launch_check_cache_aio(rq->cfg.cache, NULL);
	}
	if (!aio && (!strcmp(cache, "none") || !strcmp(cache, "directsync")))
		aio = "native";
	r = launch_check_cache_aio(cache, aio);
	if (r)
		return fail(r, NULL);
	if ((!strcmp(cache, "none") || !strcmp(cache, "directsync")) && !odirect_ok(rq->image)) {
		warn_no_odirect(s, rq->image);
		cache = "writeback";
		aio = "threads";
	}
	rq->cfg.cache = cache;
	rq->cfg.aio = aio;
	return 0;
}

static int resolve_accel(struct launch_state *s)
{
	struct launch_config *cfg = &s->rq->cfg;
	enum launch_accel want = cfg->accel;
	char why[512];
	int r;

	if (want == LAUNCH_ACCEL_TCG)
		return 0;
	r = accel_probe_kvm(cfg->qemu, why, sizeof(why));
	if (r < 0)
		return fail(r, NULL);
	if (r == 1) {
		cfg->accel = LAUNCH_ACCEL_KVM;
		return 0;
	}
	if (want == LAUNCH_ACCEL_KVM)
		return err_set(-ENODEV, NULL, "KVM is not usable on this host: %s", why);
	warn(s, "warning: KVM is not usable on this host (%s); using TCG (software "
	     "emulation, slower)", why);
	cfg->accel = LAUNCH_ACCEL_TCG;
	return 0;
}

/* --snapshot: qemu opens the overlay instead of the image. */
static int use_overlay(struct launch_state *s)
{
	struct launch_config *cfg = &s->rq->cfg;
	int r;

	if (s->rq->print_cmdline) {
		/* what will run: an overlay whose name is only known at launch */
		cfg->image = "/var/tmp/imgtool-snapshot.XXXXXX/overlay.qcow2";
		cfg->format = "qcow2";
		return 0;
	}
	r = launch_overlay_create(s->rq->image, cfg->format, &s->overlay);
	if (r)
		return fail(-EIO, s->overlay.path ? s->overlay.path : s->rq->image);
	/* the overlay's folder must take O_DIRECT as well */
	if (cfg->aio && !strcmp(cfg->aio, "native") && !odirect_ok(s->overlay.path)) {
		warn_no_odirect(s, s->overlay.path);
		cfg->cache = "writeback";
		cfg->aio = "threads";
	}
	cfg->image = s->overlay.path;
	cfg->format = "qcow2";
	return 0;
}

/* The disk qemu opens becomes nbd:unix:SOCKET (raw).  --print-cmdline starts no
 * server: the socket's name is only known at launch. */
static int start_nbd(struct launch_state *s)
{
	struct launch_config *cfg = &s->rq->cfg;
	int r;

	if (s->rq->print_cmdline) {
		cfg->image = "nbd:unix:/tmp/imgtool-nbd.XXXXXX/nbd.sock";
		cfg->format = "raw";
		return 0;
	}
	r = nbd_spawn(cfg->image, cfg->format, false, &s->nbd_sock, &s->nbd_pid);
	if (r)
		return fail(r, cfg->image);
	if (asprintf(&s->nbd_url, "nbd:unix:%s", s->nbd_sock) < 0) {
		s->nbd_url = NULL;
		return err_set(-ENOMEM, NULL, "out of memory");
	}
	cfg->image = s->nbd_url;
	cfg->format = "raw";
	return 0;
}

/* Build the command line; print it (into the outcome) or run the guest. */
static int run(struct launch_state *s)
{
	struct launch_request *rq = s->rq;
	struct launch_outcome *out = s->out;
	struct console_opts co = {
		.wait_for = rq->wait_for,
		.log_path = rq->console_log,
		.tail_lines = TAIL_LINES,
	};
	struct strv argv = { 0 };
	int r = launch_build_argv(&rq->cfg, &argv);

	if (r)
		return fail(r, NULL);
	if (rq->print_cmdline) {
		out->cmdline = strv_join_shell(&argv);
		strv_free(&argv);
		return out->cmdline ? 0 : err_set(-ENOMEM, NULL, "out of memory");
	}
	if (rq->cfg.firmware == LAUNCH_FW_UEFI && access(LAUNCH_OVMF_PATH, R_OK)) {
		strv_free(&argv);
		return err_set(-ENOENT, LAUNCH_OVMF_PATH, "UEFI firmware missing (apt-get install ovmf)");
	}
	out->timeout = rq->timeout ? rq->timeout : rq->wait_for ? LAUNCH_WAIT_TIMEOUT : 0;
	co.timeout = out->timeout;
	co.interactive = !rq->wait_for && !out->timeout;
	out->before = now_s() - s->t0;   /* the launcher's own share of the time to the marker */
	r = console_run(argv.v, &co, &out->res);
	strv_free(&argv);
	if (r)
		return fail(r, NULL);
	out->ran = true;
	return 0;
}

static int launch_steps(struct launch_state *s)
{
	struct launch_request *rq = s->rq;
	int r = resolve_format(s);

	if (r)
		return r;
	decide_nbd(s);
	r = resolve_cache(s);
	if (!r)
		r = resolve_accel(s);
	if (r)
		return r;
	s->out->accel = rq->cfg.accel;
	rq->cfg.image = rq->image;
	if (rq->libvirt_xml) {
		rq->cfg.transient = rq->snapshot;
		if (launch_write_libvirt_xml(&rq->cfg, rq->libvirt_xml))
			return fail(-EIO, rq->libvirt_xml);
		if (!rq->print_cmdline)
			return 0;
	}
	if (rq->snapshot && (r = use_overlay(s)))
		return r;
	if (s->use_nbd && (r = start_nbd(s)))
		return r;
	return run(s);
}

int launch_run(struct launch_request *rq, struct launch_outcome *out)
{
	struct launch_state s = { .rq = rq, .out = out, .t0 = now_s() };
	int r;

	memset(out, 0, sizeof(*out));
	r = launch_steps(&s);
	nbd_spawn_stop(s.nbd_pid, s.nbd_sock);
	free(s.nbd_url);
	launch_overlay_remove(&s.overlay);
	free(s.format_owned);
	return r;
}
