/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * accel_probe.c - prove that KVM runs real guests before the launcher uses it.
 *
 * /dev/kvm existing is not enough: nested, paravirtual KVMs (this project's own
 * machines) accept the ioctls but abort on -cpu host, hang in a guest's first
 * instructions, or stop with "KVM internal error. Suberror: 1 / emulation failure"
 * on cmpxchg16b or xrstor.  So the probe boots kvm_probe.S (long mode, cmpxchg16b,
 * xsave/xrstor, then a marker on the serial port) with exactly the -accel kvm
 * -cpu host the launcher would use, and trusts KVM only if the marker arrives
 * within a few seconds.  The verdict is cached per host boot and qemu binary,
 * so only the first launch after a reboot pays for the probe.
 *
 * launch_qemu_can_open() is the other question about the host's qemu: does its
 * build have the block driver an image needs (a URL scheme, a format)?  It reads
 * qemu-img --help's "Supported formats" once, and only for URLs and formats other
 * than raw and qcow2, so the common launch runs no extra process.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROBE_MARKER "IMGTOOL-KVM-PROBE-OK"
#define PROBE_TIMEOUT_MS 3000

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void cache_path(char *buf, size_t len)
{
	const char *dir = getenv("XDG_RUNTIME_DIR");

	snprintf(buf, len, "%s/imgtool-kvm-probe-%u", dir && *dir ? dir : "/tmp",
		 (unsigned)getuid());
}

/* "<boot id> <qemu>": the verdict holds until a reboot or another emulator. */
static void cache_key(const char *qemu, char *buf, size_t len)
{
	char boot[64] = "";
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");

	if (f) {
		if (!fgets(boot, sizeof(boot), f))
			boot[0] = '\0';
		fclose(f);
	}
	boot[strcspn(boot, "\n")] = '\0';
	snprintf(buf, len, "%s %s", boot, qemu);
}

/* 1/0 from the cache, -1 when there is no valid entry. */
static int cache_read(const char *qemu, char *why, size_t why_len)
{
	char path[256], key[512], line[1024];
	const char *off = getenv("IMGTOOL_KVM_PROBE_CACHE");
	struct stat st;
	FILE *f;
	int ok = -1;

	if (off && !strcmp(off, "0"))
		return -1;
	cache_path(path, sizeof(path));
	cache_key(qemu, key, sizeof(key));
	f = fopen(path, "r");
	if (!f)
		return -1;
	/* in a shared /tmp, only a verdict this user wrote counts */
	if (fstat(fileno(f), &st) || st.st_uid != getuid() || (st.st_mode & 022)) {
		fclose(f);
		return -1;
	}
	if (fgets(line, sizeof(line), f) && !strcmp(strtok(line, "\n") ?: "", key) &&
	    fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "ok", 2)) {
			ok = 1;
		} else if (!strncmp(line, "no ", 3)) {
			snprintf(why, why_len, "%s", line + 3);
			ok = 0;
		}
	}
	fclose(f);
	return ok;
}

static void cache_write(const char *qemu, int ok, const char *why)
{
	char path[256], tmp[300], key[512];
	FILE *f;

	cache_path(path, sizeof(path));
	cache_key(qemu, key, sizeof(key));
	snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
	f = fopen(tmp, "w");
	if (!f)
		return;   /* a cache we cannot write only costs time */
	fprintf(f, "%s\n%s%s\n", key, ok ? "ok" : "no ", ok ? "" : why);
	if (fclose(f) || rename(tmp, path))
		unlink(tmp);
}

/* The last non-empty line of out, trimmed, into why. */
static void last_line(const char *out, char *why, size_t why_len)
{
	const char *end = out + strlen(out), *start;

	while (end > out && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		end--;
	start = end;
	while (start > out && start[-1] != '\n' && start[-1] != '\r')
		start--;
	snprintf(why, why_len, "%.*s", (int)(end - start), start);
}

static int run_probe(const char *qemu, const char *disk, char *why, size_t why_len)
{
	char drive[512], out[4096];
	size_t used = 0;
	int pfd[2], status = 0, ok = 0;
	bool exited = false;
	double deadline;
	pid_t pid;

	snprintf(drive, sizeof(drive), "file=%s,format=raw,if=ide", disk);
	if (pipe2(pfd, O_CLOEXEC))
		return err_set(-errno, NULL, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(pfd[0]);
		close(pfd[1]);
		return err_set(-e, NULL, "fork: %s", strerror(e));
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(devnull, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execlp(qemu, qemu, "-nodefaults", "-machine", "pc", "-accel", "kvm", "-cpu", "host",
		       "-m", "32", "-display", "none", "-serial", "stdio", "-no-reboot",
		       "-drive", drive, (char *)NULL);
		fprintf(stderr, "cannot run %s: %s\n", qemu, strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	close(pfd[1]);
	out[0] = '\0';
	deadline = now_ms() + PROBE_TIMEOUT_MS;
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		double left = deadline - now_ms();
		ssize_t n;

		if (left <= 0)
			break;
		if (poll(&p, 1, (int)left + 1) <= 0)
			continue;
		n = read(pfd[0], out + used, sizeof(out) - 1 - used);
		if (n <= 0)
			break;   /* qemu closed its output: it exited */
		used += (size_t)n;
		out[used] = '\0';
		if (strstr(out, PROBE_MARKER)) {
			ok = 1;
			break;
		}
		if (used >= sizeof(out) - 1) {
			/* keep the tail for the message */
			memmove(out, out + used / 2, used - used / 2 + 1);
			used -= used / 2;
		}
	}
	close(pfd[0]);
	if (waitpid(pid, &status, WNOHANG) == pid)
		exited = true;
	kill(-pid, SIGKILL);
	if (!exited)
		waitpid(pid, &status, 0);
	if (ok)
		return 1;
	last_line(out, drive, sizeof(drive));
	if (exited || WIFEXITED(status) || (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL))
		snprintf(why, why_len, "the KVM probe guest failed (qemu %s %d%s%s)",
			 WIFEXITED(status) ? "exit" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
			 drive[0] ? ": " : "", drive);
	else
		snprintf(why, why_len, "the KVM probe guest did not finish within %d s%s%s",
			 PROBE_TIMEOUT_MS / 1000, drive[0] ? ": " : "", drive);
	return 0;
}

int accel_probe_kvm(const char *qemu, char *why, size_t why_len)
{
	char disk[] = "/tmp/imgtool-kvm-probe.XXXXXX";
	int fd, r;

	why[0] = '\0';
	if (access("/dev/kvm", F_OK)) {
		snprintf(why, why_len, "/dev/kvm does not exist");
		return 0;
	}
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, why_len, "cannot open /dev/kvm: %s", strerror(errno));
		return 0;
	}
	close(fd);
	r = cache_read(qemu, why, why_len);
	if (r >= 0)
		return r;

	fd = mkstemp(disk);
	if (fd < 0)
		return err_set(-errno, disk, "cannot create the KVM probe disk: %s", strerror(errno));
	if (write(fd, kvm_probe_sector, sizeof(kvm_probe_sector)) != sizeof(kvm_probe_sector)) {
		r = err_set(-EIO, disk, "cannot write the KVM probe disk");
		close(fd);
		unlink(disk);
		return r;
	}
	close(fd);
	r = run_probe(qemu, disk, why, why_len);
	unlink(disk);
	if (r >= 0)
		cache_write(qemu, r, why);
	return r;
}

/* ---- which block drivers this host's qemu has ---- */

/* qemu-img --help's "Supported formats: a b c" line, read once; "" when unknown. */
static const char *qemu_drivers(void)
{
	static char list[4096];
	static bool done;
	char line[4096];
	FILE *p;

	if (done)
		return list;
	done = true;
	p = popen("qemu-img --help 2>/dev/null", "r");
	if (!p)
		return list;
	while (fgets(line, sizeof(line), p)) {
		if (!strncmp(line, "Supported formats:", 18)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(list, sizeof(list), " %s ", line + 18);
		}
	}
	pclose(p);
	return list;
}

static bool has_driver(const char *name)
{
	char word[64];

	snprintf(word, sizeof(word), " %s ", name);
	return strstr(qemu_drivers(), word) != NULL;
}

/* The block driver qemu needs for a URL's scheme; NULL for a local path. */
static const char *url_driver(const char *image)
{
	static const struct { const char *prefix, *driver; } map[] = {
		{ "nfs://", "nfs" }, { "iscsi://", "iscsi" }, { "iscsis://", "iscsi" },
		{ "rbd:", "rbd" }, { "nbd", "nbd" }, { "ssh://", "ssh" },
		{ "http://", "http" }, { "https://", "https" },
	};
	const char *colon = strchr(image, ':'), *slash = strchr(image, '/');

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strncmp(image, map[i].prefix, strlen(map[i].prefix)))
			return map[i].driver;
	/* any other "scheme://" is something qemu does not know */
	if (colon && (!slash || colon < slash) && !strncmp(colon, "://", 3))
		return "?";
	return NULL;
}

bool launch_qemu_can_open(const char *image, const char *format)
{
	const char *drv = url_driver(image);

	/* local raw and qcow2 files: every qemu build has file, raw and qcow2, so
	 * the common case costs no probe */
	if (!drv && (!strcmp(format, "raw") || !strcmp(format, "qcow2")))
		return true;
	if (!*qemu_drivers())
		return true;   /* cannot tell: let qemu try and say why */
	return (!drv || has_driver(drv)) && has_driver(format);
}
