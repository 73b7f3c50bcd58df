/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * logwrites.c - an LD_PRELOAD library for the power-loss tests
 * (tests/crash/test_powerloss.sh builds it; the Makefile links tests/crash/*.c as
 * programs, hence this folder), never part of the product: it logs, in the order they happen, the writes,
 * zeroings, size changes and flushes a process makes to one file, so that
 * replay.py can rebuild the file as a power cut at any instant could leave it.
 *
 * This stands in for dm-log-writes, which the test kernels may not have, and
 * sees the same thing for a file on a filesystem: what reached the page cache
 * and when fsync/fdatasync made it durable.  LOGWRITES_FILE names the file
 * (as realpath() spells it), LOGWRITES_LOG the log.  A flush is logged when it
 * starts: what was logged before it is durable once it returns.
 *
 * Record: type (1 byte: W write, Z zeroed range, S size at least, T truncate,
 * F flush), offset and length (8 bytes each, little endian), then for W the data.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FD 4096

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = -1;
static char target[PATH_MAX];
static _Atomic unsigned char tracked[MAX_FD];

static void *real(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

static void init_once(void)
{
	static int done;
	const char *t, *l;

	if (done)
		return;
	done = 1;
	t = getenv("LOGWRITES_FILE");
	l = getenv("LOGWRITES_LOG");
	if (!t || !l)
		return;
	snprintf(target, sizeof(target), "%s", t);
	log_fd = ((int (*)(const char *, int, ...))real("open"))(l, O_WRONLY | O_CREAT | O_APPEND |
								   O_CLOEXEC, 0644);
}

static int is_tracked(int fd)
{
	return fd >= 0 && fd < MAX_FD && tracked[fd];
}

static void log_record(char type, uint64_t off, uint64_t len, const void *data)
{
	unsigned char h[17];
	struct iovec iov[2] = { { h, sizeof(h) }, { (void *)data, data ? len : 0 } };

	h[0] = (unsigned char)type;
	for (int i = 0; i < 8; i++) {
		h[1 + i] = (unsigned char)(off >> (8 * i));
		h[9 + i] = (unsigned char)(len >> (8 * i));
	}
	pthread_mutex_lock(&log_lock);
	if (writev(log_fd, iov, data ? 2 : 1) < 0)
		abort();   /* a lost record would make every later state wrong */
	pthread_mutex_unlock(&log_lock);
}

static void track(int fd, const char *path)
{
	char rp[PATH_MAX];

	init_once();
	if (fd < 0 || fd >= MAX_FD || log_fd < 0)
		return;
	tracked[fd] = realpath(path, rp) && !strcmp(rp, target);
}

#define OPEN_WRAPPER(name, ...)                                                   \
	int name(const char *path, int flags, ...)                                \
	{                                                                         \
		mode_t mode = 0;                                                  \
		int fd;                                                           \
		if (flags & (O_CREAT | O_TMPFILE)) {                              \
			va_list ap;                                               \
			va_start(ap, flags);                                      \
			mode = va_arg(ap, mode_t);                                \
			va_end(ap);                                               \
		}                                                                 \
		fd = ((int (*)(const char *, int, ...))real(#name))(path, flags, mode); \
		track(fd, path);                                                  \
		if (is_tracked(fd) && (flags & O_TRUNC))                          \
			log_record('T', 0, 0, NULL);                              \
		return fd;                                                        \
	}
OPEN_WRAPPER(open)
OPEN_WRAPPER(open64)

int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	int fd;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	fd = ((int (*)(int, const char *, int, ...))real("openat"))(dirfd, path, flags, mode);
	if (path[0] == '/' || dirfd == AT_FDCWD)
		track(fd, path);
	if (is_tracked(fd) && (flags & O_TRUNC))
		log_record('T', 0, 0, NULL);
	return fd;
}

int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

int close(int fd)
{
	if (fd >= 0 && fd < MAX_FD)
		tracked[fd] = 0;
	return ((int (*)(int))real("close"))(fd);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	ssize_t r = ((ssize_t (*)(int, const void *, size_t, off_t))real("pwrite"))(fd, buf, n, off);

	if (r > 0 && is_tracked(fd))
		log_record('W', (uint64_t)off, (uint64_t)r, buf);
	return r;
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) __attribute__((alias("pwrite")));

int fallocate(int fd, int mode, off_t off, off_t len)
{
	int r = ((int (*)(int, int, off_t, off_t))real("fallocate"))(fd, mode, off, len);

	if (r == 0 && is_tracked(fd)) {
		if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
			log_record('Z', (uint64_t)off, (uint64_t)len, NULL);
		if (!(mode & FALLOC_FL_KEEP_SIZE))
			log_record('S', (uint64_t)(off + len), 0, NULL);
	}
	return r;
}

int fallocate64(int fd, int mode, off_t off, off_t len) __attribute__((alias("fallocate")));

int ftruncate(int fd, off_t len)
{
	int r = ((int (*)(int, off_t))real("ftruncate"))(fd, len);

	if (r == 0 && is_tracked(fd))
		log_record('T', (uint64_t)len, 0, NULL);
	return r;
}

int ftruncate64(int fd, off_t len) __attribute__((alias("ftruncate")));

static int flushed(int fd, const char *name)
{
	if (is_tracked(fd))
		log_record('F', 0, 0, NULL);
	return ((int (*)(int))real(name))(fd);
}

int fsync(int fd) { return flushed(fd, "fsync"); }
int fdatasync(int fd) { return flushed(fd, "fdatasync"); }
