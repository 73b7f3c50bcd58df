/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ssh_exec.c - remote commands over an authenticated connection (ssh_exec.h).
 *
 * stdout and stderr are drained in turn as they arrive: reading one stream
 * only would stall a command whose other stream fills the channel window.
 */
#include "ssh_exec.h"
#include "../../common/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ssh_exec_write_fd(void *opaque, const void *buf, size_t len)
{
	int fd = *(int *)opaque;
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(-errno, NULL, "cannot write a remote command's output: %s",
				       strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

char *ssh_shell_quote(const char *arg)
{
	size_t n = 2;
	char *out, *o;

	for (const char *p = arg; *p; p++)
		n += *p == '\'' ? 4 : 1;
	out = malloc(n + 1);
	if (!out)
		return NULL;
	o = out;
	*o++ = '\'';
	for (const char *p = arg; *p; p++) {
		if (*p == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *p;
		}
	}
	*o++ = '\'';
	*o = 0;
	return out;
}

#ifdef HAVE_LIBSSH
#include "ssh_conn.h"

#define L ssh_lib
#define POLL_MS 100

struct ssh_remote {
	struct ssh_conn *conn;
	char *where;           /* the masked URL */
};

int ssh_remote_open(const char *url, struct ssh_remote **out)
{
	struct ssh_url_parts u;
	struct ssh_remote *r;
	int ret;

	r = calloc(1, sizeof(*r));
	if (!r || !(r->where = net_url_mask(url))) {
		free(r);
		return err_set(-ENOMEM, NULL, "out of memory");
	}
	ret = ssh_url_parse(url, &u);
	if (ret == 0)
		ret = ssh_url_secrets(&u, r->where);
	if (ret == 0)
		ret = ssh_conn_open(&u, r->where, false, &r->conn);
	ssh_url_free(&u);
	if (ret < 0) {
		free(r->where);
		free(r);
		return ret;
	}
	*out = r;
	return 0;
}

void ssh_remote_close(struct ssh_remote *r)
{
	if (!r)
		return;
	ssh_conn_close(r->conn);
	free(r->where);
	free(r);
}

static void keep_stderr(struct ssh_exec_io *io, size_t *used, const char *buf, int n)
{
	size_t room = sizeof(io->err) - 1 - *used;
	size_t take = (size_t)n < room ? (size_t)n : room;

	memcpy(io->err + *used, buf, take);
	*used += take;
	io->err[*used] = 0;
}

/* Read whatever is waiting on one stream; >0 bytes read, 0 none, <0 error. */
static int drain(struct ssh_remote *r, ssh_channel ch, int is_stderr, struct ssh_exec_io *io,
		 size_t *err_used)
{
	char buf[65536];
	int total = 0;

	for (;;) {
		int n = L.ssh_channel_read_nonblocking(ch, buf, sizeof(buf), is_stderr);
		int ret;

		if (n == SSH_ERROR)
			return ssh_conn_fail(r->conn, r->where, "reading a remote command's output");
		if (n <= 0)
			return total;
		total += n;
		if (is_stderr) {
			keep_stderr(io, err_used, buf, n);
			continue;
		}
		if (io->out && (ret = io->out(io->opaque, buf, (size_t)n)) < 0)
			return ret;
	}
}

static int run_channel(struct ssh_remote *r, ssh_channel ch, const char *command,
		       struct ssh_exec_io *io)
{
	int limit_ms = io->idle_timeout < 0 ? -1 :
		       (io->idle_timeout ? io->idle_timeout : net_timeout()) * 1000;
	size_t err_used = 0;
	int idle = 0;

	ssh_conn_active(r->conn);
	if (L.ssh_channel_open_session(ch) != SSH_OK)
		return ssh_conn_fail(r->conn, r->where, "opening a command channel");
	if (L.ssh_channel_request_exec(ch, command) != SSH_OK)
		return ssh_conn_fail(r->conn, r->where, "starting a remote command");
	if (io->in && io->in_len &&
	    L.ssh_channel_write(ch, io->in, (uint32_t)io->in_len) != (int)io->in_len)
		return ssh_conn_fail(r->conn, r->where, "writing a remote command's input");
	if (L.ssh_channel_send_eof(ch) != SSH_OK)
		return ssh_conn_fail(r->conn, r->where, "closing a remote command's input");
	/* from here every wait is bounded by POLL_MS; a silent command is the
	 * caller's idle_timeout to judge, not the watchdog's */
	ssh_conn_idle(r->conn);
	for (;;) {
		int n = L.ssh_channel_poll_timeout(ch, POLL_MS, 0), got;

		if (n == SSH_ERROR)
			return ssh_conn_fail(r->conn, r->where, "waiting for a remote command");
		got = drain(r, ch, 0, io, &err_used);
		if (got >= 0) {
			int e = drain(r, ch, 1, io, &err_used);
			got = e < 0 ? e : got + e;
		}
		if (got < 0)
			return got;
		if (n == SSH_EOF || L.ssh_channel_is_eof(ch))
			return 0;
		idle = got ? 0 : idle + POLL_MS;
		if (limit_ms >= 0 && idle > limit_ms)
			return err_set(-ETIMEDOUT, r->where,
				       "the remote command '%s' gave no output for %d s", command,
				       limit_ms / 1000);
	}
}

int ssh_remote_exec(struct ssh_remote *r, const char *command, struct ssh_exec_io *io,
		    int *exit_status)
{
	ssh_channel ch = L.ssh_channel_new(r->conn->ssh);
	int ret;

	io->err[0] = 0;
	if (!ch)
		return ssh_conn_fail(r->conn, r->where, "opening a command channel");
	ret = run_channel(r, ch, command, io);
	ssh_conn_active(r->conn);
	if (ret == 0)
		*exit_status = L.ssh_channel_get_exit_status(ch);
	L.ssh_channel_close(ch);
	L.ssh_channel_free(ch);
	ssh_conn_idle(r->conn);
	return ret;
}

/* ---- jobs: a command with its stdin held open ---- */

struct ssh_job {
	struct ssh_remote *r;
	ssh_channel ch;
	struct ssh_exec_io io;     /* out appends to buf; err collects stderr */
	size_t err_used;
	char buf[4096];
	size_t have;
};

static int job_out(void *opaque, const void *data, size_t len)
{
	struct ssh_job *j = opaque;
	size_t take = len < sizeof(j->buf) - j->have ? len : sizeof(j->buf) - j->have;

	memcpy(j->buf + j->have, data, take);   /* a job's output is a few lines */
	j->have += take;
	return 0;
}

int ssh_remote_spawn(struct ssh_remote *r, const char *command, struct ssh_job **out)
{
	struct ssh_job *j = calloc(1, sizeof(*j));
	int ret = 0;

	if (!j)
		return err_set(-ENOMEM, r->where, "out of memory");
	j->r = r;
	j->io.out = job_out;
	j->io.opaque = j;
	ssh_conn_active(r->conn);
	j->ch = L.ssh_channel_new(r->conn->ssh);
	if (!j->ch || L.ssh_channel_open_session(j->ch) != SSH_OK)
		ret = ssh_conn_fail(r->conn, r->where, "opening a command channel");
	else if (L.ssh_channel_request_exec(j->ch, command) != SSH_OK)
		ret = ssh_conn_fail(r->conn, r->where, "starting a remote command");
	ssh_conn_idle(r->conn);
	if (ret < 0) {
		if (j->ch)
			L.ssh_channel_free(j->ch);
		free(j);
		return ret;
	}
	*out = j;
	return 0;
}

/* Take what has arrived (waiting at most POLL_MS); 1 at the command's end. */
static int job_pump(struct ssh_job *j)
{
	int n = L.ssh_channel_poll_timeout(j->ch, POLL_MS, 0), got;

	if (n == SSH_ERROR)
		return ssh_conn_fail(j->r->conn, j->r->where, "waiting for a remote command");
	got = drain(j->r, j->ch, 0, &j->io, &j->err_used);
	if (got >= 0)
		got = drain(j->r, j->ch, 1, &j->io, &j->err_used);
	if (got < 0)
		return got;
	return n == SSH_EOF || L.ssh_channel_is_eof(j->ch);
}

int ssh_job_read_line(struct ssh_job *j, char *line, size_t len, int timeout_s)
{
	for (int waited = 0;; waited += POLL_MS) {
		char *nl = memchr(j->buf, '\n', j->have);
		int ret;

		if (nl) {
			size_t n = (size_t)(nl - j->buf), keep = n < len - 1 ? n : len - 1;

			memcpy(line, j->buf, keep);
			line[keep] = '\0';
			j->have -= n + 1;
			memmove(j->buf, nl + 1, j->have);
			return 0;
		}
		if (waited > timeout_s * 1000)
			return err_set(-ETIMEDOUT, j->r->where, "a remote command gave no answer within %d s",
				       timeout_s);
		ret = job_pump(j);
		if (ret < 0)
			return ret;
		if (ret == 1 && !memchr(j->buf, '\n', j->have))
			return err_set(-EPIPE, j->r->where, "the remote command ended: %s",
				       j->io.err[0] ? j->io.err : "(no message)");
	}
}

int ssh_job_finish(struct ssh_job *j, int timeout_s, int *exit_status, char *err, size_t errlen)
{
	int ret = 0;

	ssh_conn_active(j->r->conn);
	if (L.ssh_channel_send_eof(j->ch) != SSH_OK)
		ret = ssh_conn_fail(j->r->conn, j->r->where, "closing a remote command's input");
	ssh_conn_idle(j->r->conn);
	for (int waited = 0; ret == 0; waited += POLL_MS) {
		ret = job_pump(j);
		if (ret == 1) {
			ret = 0;
			break;
		}
		if (ret == 0 && waited > timeout_s * 1000)
			ret = err_set(-ETIMEDOUT, j->r->where,
				      "a remote command did not end within %d s", timeout_s);
	}
	ssh_conn_active(j->r->conn);
	if (ret == 0)
		*exit_status = L.ssh_channel_get_exit_status(j->ch);
	L.ssh_channel_close(j->ch);
	L.ssh_channel_free(j->ch);
	ssh_conn_idle(j->r->conn);
	if (err && errlen)
		snprintf(err, errlen, "%s", j->io.err);
	free(j);
	return ret;
}

#else /* !HAVE_LIBSSH */

int ssh_remote_open(const char *url, struct ssh_remote **out)
{
	(void)url, (void)out;
	return err_set(-EPROTONOSUPPORT, NULL, "ssh:// needs imgtool built with libssh (apt-get install libssh-dev)");
}

void ssh_remote_close(struct ssh_remote *r)
{
	(void)r;
}

int ssh_remote_exec(struct ssh_remote *r, const char *command, struct ssh_exec_io *io,
		    int *exit_status)
{
	(void)r, (void)command, (void)io, (void)exit_status;
	return err_set(-EPROTONOSUPPORT, NULL, "built without libssh");
}

int ssh_remote_spawn(struct ssh_remote *r, const char *command, struct ssh_job **out)
{
	(void)r, (void)command, (void)out;
	return err_set(-EPROTONOSUPPORT, NULL, "built without libssh");
}

int ssh_job_read_line(struct ssh_job *j, char *line, size_t len, int timeout_s)
{
	(void)j, (void)line, (void)len, (void)timeout_s;
	return -EPROTONOSUPPORT;
}

int ssh_job_finish(struct ssh_job *j, int timeout_s, int *exit_status, char *err, size_t errlen)
{
	(void)j, (void)timeout_s, (void)exit_status, (void)err, (void)errlen;
	return -EPROTONOSUPPORT;
}
#endif /* HAVE_LIBSSH */
