/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sync_remote.c - run `imgtool sync --print-digests` on an ssh:// source's host
 * and read its digest stream here (sync_remote.h).  The remote command's output
 * is pumped by a thread into a socket pair whose other end the digest reader
 * reads as it goes: a socket rather than a pipe so that a reader that stops early
 * makes the pump fail with EPIPE (send's MSG_NOSIGNAL) instead of a SIGPIPE.
 */
#include "convert/sync_remote.h"
#include "backends/net.h"
#include "backends/ssh/ssh_exec.h"
#include "common/err.h"

#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct sync_remote {
	struct ssh_remote *ssh;
	char *command;
	char name[512];          /* ssh://host/path, for messages (no secrets) */
	int fds[2];              /* [0] read by the digest reader, [1] by the pump */
	pthread_t pump;
	struct ssh_exec_io io;
	bool started;            /* the pump runs: finish() joins it */
	int ret, status;
	char errmsg[512];        /* the pump's message (err.h is per thread) */
};

static int send_all(void *opaque, const void *buf, size_t len)
{
	int fd = *(int *)opaque;
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;   /* the reader stopped: its error is the one to tell */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void *pump(void *opaque)
{
	struct sync_remote *r = opaque;

	r->ret = ssh_remote_exec(r->ssh, r->command, &r->io, &r->status);
	if (r->ret < 0)
		snprintf(r->errmsg, sizeof(r->errmsg), "%s", err_get());
	close(r->fds[1]);    /* end of the stream for the reader */
	r->fds[1] = -1;
	return NULL;
}

/* "'PATH' sync --print-digests [-f 'FMT'] [--block-size N] 'REMOTE_PATH'" */
static char *remote_command(const char *imgtool_path, const char *fmt, uint32_t block_size,
			    const char *path)
{
	char *qi = ssh_shell_quote(imgtool_path), *qp = ssh_shell_quote(path);
	char *qf = fmt ? ssh_shell_quote(fmt) : NULL, *cmd = NULL;
	char bs[32] = "";

	if (block_size)
		snprintf(bs, sizeof(bs), " --block-size %u", block_size);
	if (qi && qp && (qf || !fmt) &&
	    asprintf(&cmd, "%s sync --print-digests%s%s%s %s", qi, qf ? " -f " : "",
		     qf ? qf : "", bs, qp) < 0)
		cmd = NULL;
	free(qi);
	free(qp);
	free(qf);
	return cmd;
}

static int start(struct sync_remote *r, const char *url, const char *imgtool_path,
		 const char *fmt, uint32_t block_size)
{
	struct ssh_url_parts u = { 0 };
	int ret = ssh_url_parse(url, &u);

	if (ret < 0)
		return ret;
	snprintf(r->name, sizeof(r->name), "ssh://%s%s", u.host, u.path);
	r->command = remote_command(imgtool_path, fmt, block_size, u.path);
	ssh_url_free(&u);
	if (!r->command)
		return err_set(-ENOMEM, r->name, "out of memory");
	ret = ssh_remote_open(url, &r->ssh);
	if (ret < 0)
		return ret;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, r->fds) < 0)
		return err_set(-errno, r->name, "socketpair: %s", strerror(errno));
	r->io.out = send_all;
	r->io.opaque = &r->fds[1];
	ret = -pthread_create(&r->pump, NULL, pump, r);
	if (ret < 0) {
		close(r->fds[1]);
		r->fds[1] = -1;
		return err_set(ret, r->name, "cannot start a thread: %s", strerror(-ret));
	}
	r->started = true;
	return 0;
}

int sync_remote_open(const char *url, const char *imgtool_path, const char *fmt,
		     uint32_t block_size, struct sync_remote **out,
		     struct digest_reader **reader)
{
	struct sync_remote *r = calloc(1, sizeof(*r));
	int ret;

	*out = NULL;
	*reader = NULL;
	if (!r)
		return err_set(-ENOMEM, url, "out of memory");
	r->fds[0] = r->fds[1] = -1;
	ret = start(r, url, imgtool_path, fmt, block_size);
	*out = r;    /* finish() frees whatever start() made */
	if (ret < 0)
		return ret;
	return digest_reader_open(r->fds[0], r->name, reader);
}

/* The remote's stderr, first line only. */
static int remote_failed(struct sync_remote *r)
{
	char *nl = strchr(r->io.err, '\n');

	if (nl)
		*nl = '\0';
	if (r->status == 127 && !r->io.err[0])
		return err_set(-ENOENT, r->name, "the remote imgtool was not found");
	return err_set(-EIO, r->name, "the remote imgtool failed (exit %d)%s%s", r->status,
		       r->io.err[0] ? ": " : "", r->io.err);
}

int sync_remote_finish(struct sync_remote *r, int ret)
{
	if (!r)
		return ret;
	if (r->fds[0] >= 0)
		shutdown(r->fds[0], SHUT_RDWR);   /* a pump still sending gets EPIPE */
	if (r->started) {
		pthread_join(r->pump, NULL);
		if (r->ret == 0 && r->status != 0)
			ret = remote_failed(r);
		else if (r->ret < 0 && ret == 0) {
			err_copy(r->errmsg);
			ret = r->ret;
		}
	}
	if (r->fds[0] >= 0)
		close(r->fds[0]);
	if (r->fds[1] >= 0)
		close(r->fds[1]);
	ssh_remote_close(r->ssh);
	free(r->command);
	free(r);
	return ret;
}
