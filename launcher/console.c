/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * console.c - run qemu, watch the guest's serial console, and always stop the guest.
 *
 * qemu runs in its own process group (so one kill reaches it and anything it
 * spawned) with PR_SET_PDEATHSIG (so it dies even if the launcher is SIGKILLed).
 * The launcher turns SIGINT/SIGTERM/SIGHUP into "stop the guest and reap it", so
 * Ctrl-C never leaves a qemu behind.  With a marker, the console (qemu's stdout) is
 * read line by line: the marker ends the run with success; a timeout or qemu's own
 * exit ends it with failure and the last console lines on stderr.  Interactive
 * runs (no marker, no timeout) hand the terminal to qemu and wait.
 */
#include "launch.h"
#include "../common/err.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TAIL_BYTES 16384
#define LINE_MAX_BYTES 4096
#define STOP_GRACE_MS 3000

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct sigsave {
	struct sigaction act[4];
};

static const int handled[4] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

static void signals_catch(struct sigsave *save, void (*handler)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 4; i++)
		sigaction(handled[i], &sa, &save->act[i]);
}

static void signals_restore(const struct sigsave *save)
{
	for (int i = 0; i < 4; i++)
		sigaction(handled[i], &save->act[i], NULL);
}

/* fork + exec argv; capture_fd >= 0 becomes its stdout (and stdin is /dev/null). */
static pid_t spawn(char *const argv[], int capture_fd, bool own_group)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	if (own_group)
		setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);   /* the launcher died before prctl */
	/* the child starts with the default dispositions, not the launcher's handlers */
	for (int i = 0; i < 4; i++)
		signal(handled[i], SIG_DFL);
	if (capture_fd >= 0) {
		int devnull = open("/dev/null", O_RDONLY);

		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(capture_fd, 1);
	}
	execvp(argv[0], argv);
	fprintf(stderr, "imgtool: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Reap pid if it exits within ms milliseconds: true when reaped.  A pidfd wakes
 * us the moment it exits (the launcher's time to the marker includes stopping
 * the guest, so no polling slack); without pidfd_open, poll every 5 ms. */
static bool reap_within(pid_t pid, int ms, int *status)
{
#ifdef SYS_pidfd_open
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (pfd >= 0) {
		struct pollfd p = { .fd = pfd, .events = POLLIN };
		double deadline = now_s() + ms / 1000.0;
		bool done = false;

		for (;;) {
			if (waitpid(pid, status, WNOHANG) == pid) {
				done = true;
				break;
			}
			double left = deadline - now_s();

			if (left <= 0)
				break;
			poll(&p, 1, (int)(left * 1000) + 1);
		}
		close(pfd);
		return done;
	}
#endif
	for (double deadline = now_s() + ms / 1000.0; now_s() < deadline; usleep(5000))
		if (waitpid(pid, status, WNOHANG) == pid)
			return true;
	return waitpid(pid, status, WNOHANG) == pid;
}

/* SIGTERM to the group (qemu shuts down cleanly, flushing its disks), then SIGKILL
 * after a grace period; always reaps.  Returns the wait status. */
static int stop_and_reap(pid_t pid, bool group, int *status, bool *exited_alone)
{
	if (waitpid(pid, status, WNOHANG) == pid) {
		*exited_alone = true;
		if (group)
			kill(-pid, SIGKILL);   /* helpers it may have left */
		return 0;
	}
	kill(group ? -pid : pid, SIGTERM);
	if (reap_within(pid, STOP_GRACE_MS, status)) {
		if (group)
			kill(-pid, SIGKILL);
		return 0;
	}
	kill(group ? -pid : pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	return 0;
}

struct tail {
	char buf[TAIL_BYTES];
	size_t len;
};

static void tail_add(struct tail *t, const char *p, size_t n)
{
	if (n > TAIL_BYTES) {
		p += n - TAIL_BYTES;
		n = TAIL_BYTES;
	}
	if (t->len + n > TAIL_BYTES) {
		size_t drop = t->len + n - TAIL_BYTES;

		memmove(t->buf, t->buf + drop, t->len - drop);
		t->len -= drop;
	}
	memcpy(t->buf + t->len, p, n);
	t->len += n;
}

/* The last `lines` lines of the console on stderr, carriage returns dropped. */
static void tail_print(const struct tail *t, int lines)
{
	size_t start = t->len;
	int seen = 0;

	if (lines <= 0)
		return;
	/* a trailing partial line counts as a line */
	if (start && t->buf[start - 1] == '\n')
		start--;
	while (start > 0) {
		if (t->buf[start - 1] == '\n' && ++seen == lines)
			break;
		start--;
	}
	fprintf(stderr, "--- last console lines ---\n");
	for (size_t i = start; i < t->len; i++) {
		char ch = t->buf[i];

		/* drop terminal control: ESC [ ... letter, ESC x, carriage returns */
		if (ch == '\033') {
			if (i + 1 < t->len && t->buf[i + 1] == '[') {
				i += 2;
				while (i < t->len && !((t->buf[i] | 0x20) >= 'a' && (t->buf[i] | 0x20) <= 'z'))
					i++;
			} else {
				i++;
			}
			continue;
		}
		if (ch != '\r')
			fputc(ch, stderr);
	}
	if (t->len && t->buf[t->len - 1] != '\n')
		fputc('\n', stderr);
	fprintf(stderr, "--- end of console ---\n");
}

static int run_interactive(char *const argv[], struct console_result *res)
{
	struct sigsave save;
	double t0 = now_s();
	int status = 0;
	pid_t pid;

	got_signal = 0;
	/* Ctrl-C belongs to the guest's console (qemu puts the tty in raw mode); a
	 * SIGTERM/SIGHUP to the launcher is passed on */
	signals_catch(&save, on_signal);
	pid = spawn(argv, -1, false);
	if (pid < 0) {
		int e = errno;

		signals_restore(&save);
		return err_set(-e, NULL, "fork: %s", strerror(e));
	}
	for (;;) {
		pid_t w = waitpid(pid, &status, 0);

		if (w == pid)
			break;
		if (got_signal == SIGTERM || got_signal == SIGHUP) {
			res->interrupted = true;
			kill(pid, SIGTERM);
			got_signal = 0;
		}
	}
	signals_restore(&save);
	res->qemu_exited = true;
	res->qemu_status = status;
	res->seconds = now_s() - t0;
	return 0;
}

struct watch {
	const struct console_opts *o;
	struct tail tail;
	char line[LINE_MAX_BYTES + 1];
	size_t line_len;
	FILE *log;
	bool seen;
};

static void watch_bytes(struct watch *w, const char *p, size_t n)
{
	tail_add(&w->tail, p, n);
	if (w->log)
		fwrite(p, 1, n, w->log);
	if (!w->o->wait_for)
		return;
	for (size_t i = 0; i < n && !w->seen; i++) {
		if (p[i] == '\n') {
			w->line_len = 0;
			continue;
		}
		if (w->line_len == LINE_MAX_BYTES) {
			/* a very long line: keep its tail, long enough for the marker */
			size_t keep = strlen(w->o->wait_for);

			keep = keep < LINE_MAX_BYTES ? keep : LINE_MAX_BYTES - 1;
			memmove(w->line, w->line + w->line_len - keep, keep);
			w->line_len = keep;
		}
		w->line[w->line_len++] = p[i];
		w->line[w->line_len] = '\0';
		if (strstr(w->line, w->o->wait_for))
			w->seen = true;
	}
}

int console_run(char *const argv[], const struct console_opts *o, struct console_result *res)
{
	struct sigsave save;
	struct watch *w;
	double t0 = now_s();
	int pfd[2], status = 0, ret = 0;
	bool exited_alone = false, eof = false;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	if (o->interactive)
		return run_interactive(argv, res);
	w = calloc(1, sizeof(*w));
	if (!w)
		return err_set(-ENOMEM, NULL, "out of memory");
	w->o = o;
	if (o->log_path) {
		w->log = fopen(o->log_path, "w");
		if (!w->log) {
			ret = err_set(-errno, o->log_path, "cannot write the console log: %s",
				      strerror(errno));
			free(w);
			return ret;
		}
	}
	if (pipe2(pfd, O_CLOEXEC)) {
		ret = err_set(-errno, NULL, "pipe: %s", strerror(errno));
		goto out;
	}
	got_signal = 0;
	signals_catch(&save, on_signal);
	pid = spawn(argv, pfd[1], true);
	close(pfd[1]);
	if (pid < 0) {
		ret = err_set(-errno, NULL, "fork: %s", strerror(errno));
		signals_restore(&save);
		close(pfd[0]);
		goto out;
	}
	setpgid(pid, pid);   /* also in the parent: no window where a kill misses it */

	while (!w->seen && !got_signal) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		int wait_ms = 200;
		char buf[4096];
		ssize_t n;

		if (o->timeout > 0) {
			double left = o->timeout - (now_s() - t0);

			if (left <= 0) {
				res->timed_out = true;
				break;
			}
			if (left * 1000 < wait_ms)
				wait_ms = (int)(left * 1000) + 1;
		}
		if (eof) {
			/* console closed: qemu is exiting; wait for it */
			if (reap_within(pid, wait_ms, &status)) {
				exited_alone = true;
				break;
			}
			continue;
		}
		if (poll(&p, 1, wait_ms) <= 0)
			continue;
		n = read(pfd[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			eof = true;
			continue;
		}
		watch_bytes(w, buf, (size_t)n);
	}
	res->seconds = now_s() - t0;
	res->marker_seen = w->seen;
	res->interrupted = got_signal != 0 && !w->seen;
	close(pfd[0]);
	if (!exited_alone)
		stop_and_reap(pid, true, &status, &exited_alone);
	else
		kill(-pid, SIGKILL);
	signals_restore(&save);
	res->qemu_exited = exited_alone;
	res->qemu_status = status;
	if (!w->seen && (o->wait_for || exited_alone))
		tail_print(&w->tail, o->tail_lines);
out:
	if (w->log)
		fclose(w->log);
	free(w);
	return ret;
}
