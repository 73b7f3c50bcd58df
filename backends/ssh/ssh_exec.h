/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ssh_exec.h - run commands on the host of an ssh:// URL, over a connection
 * authenticated and host-key-checked exactly as the ssh backend's (ssh_conn.c):
 * the same URL options (?identity=, ?known-hosts=, ?host-key=, ?password-file=)
 * and IMGTOOL_SSH_PASSWORD.  For what runs beside a copy: a remote imgtool
 * computing digests (sync --remote-imgtool), fsfreeze around a live copy.
 *
 * Usable without libssh headers; without libssh at build time every call fails
 * with -EPROTONOSUPPORT and a message.
 */
#ifndef IMGTOOL_SSH_EXEC_H
#define IMGTOOL_SSH_EXEC_H

#include <stddef.h>

struct ssh_remote;

/* Connect and authenticate to url's host (its path is ignored: "ssh://h/" is
 * fine).  One connection runs one command at a time; open several for several. */
int ssh_remote_open(const char *url, struct ssh_remote **out);
void ssh_remote_close(struct ssh_remote *r);

struct ssh_exec_io {
	/* stdout as it arrives (NULL: discarded).  A negative return stops the
	 * command (its channel is closed) and ssh_remote_exec returns it. */
	int (*out)(void *opaque, const void *buf, size_t len);
	void *opaque;
	const void *in;        /* sent to stdin, then end of file (NULL: at once) */
	size_t in_len;
	/* seconds without output before the command is given up (-ETIMEDOUT):
	 * 0 = IMGTOOL_NET_TIMEOUT, -1 = wait for ever */
	int idle_timeout;
	char err[512];         /* out: the start of the command's stderr */
};

/* Run command through the remote user's shell.  Returns 0 when it ran to its end
 * (whatever its exit status, stored in *exit_status; -1 if it was killed by a
 * signal), or a negative errno with the message set (the link failed, the
 * server refused the channel, a timeout, io->out's error). */
int ssh_remote_exec(struct ssh_remote *r, const char *command, struct ssh_exec_io *io,
		    int *exit_status);

/* A command left running with its stdin open, for something that must last
 * exactly as long as the caller wants and end on its own if the caller dies:
 * the command ends its work when its stdin closes, which ssh_job_finish() does,
 * and which sshd does when the connection drops (the caller killed, the link
 * lost).  One job at a time per ssh_remote, which must outlive it. */
struct ssh_job;
int ssh_remote_spawn(struct ssh_remote *r, const char *command, struct ssh_job **out);
/* The job's next stdout line (without its newline; at most len-1 bytes) within
 * timeout_s seconds.  -EPIPE when the command ended first (the message holds
 * the start of its stderr), -ETIMEDOUT. */
int ssh_job_read_line(struct ssh_job *j, char *line, size_t len, int timeout_s);
/* Close its stdin, wait (timeout_s) for it to end; its exit status, the start
 * of its stderr in err (may be NULL).  Frees the job, whatever happens. */
int ssh_job_finish(struct ssh_job *j, int timeout_s, int *exit_status, char *err, size_t errlen);

/* A ready-made io->out: write everything to the file descriptor *(int *)opaque. */
int ssh_exec_write_fd(void *opaque, const void *buf, size_t len);

/* arg quoted for a POSIX shell ('...' with embedded quotes escaped); malloc()ed,
 * NULL when out of memory. */
char *ssh_shell_quote(const char *arg);

#endif
