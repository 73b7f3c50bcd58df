/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ssh_conn.h - one authenticated SSH connection to the host of an ssh:// URL,
 * with its host key verified, optionally with an SFTP session on it.  The ssh
 * backend (ssh.c) makes one per copy worker; ssh_exec.c runs commands on one.
 */
#ifndef IMGTOOL_SSH_CONN_H
#define IMGTOOL_SSH_CONN_H

#include "ssh_lib.h"
#include "../net.h"

#include <stdatomic.h>
#include <stdbool.h>

struct ssh_conn {
	ssh_session ssh;
	sftp_session sftp;   /* NULL unless asked for */
	/* the watchdog's view (ssh_conn_watchdog.c) */
	struct ssh_conn *next;
	_Atomic long long active_ms;   /* last progress while busy; 0 = idle */
	_Atomic bool timed_out;        /* the watchdog cut the link */
};

/* Connect to u's host, verify its key (u->host_key, else u->known_hosts or
 * ~/.ssh/known_hosts: an unknown or changed key is refused with the line that
 * accepts it), authenticate (u->identity, else ssh-agent and ~/.ssh/id_*; then
 * u->password if set), and start SFTP when want_sftp.  Every message names where
 * (the masked URL).  Loads libssh on first use. */
int ssh_conn_open(const struct ssh_url_parts *u, const char *where, bool want_sftp,
		  struct ssh_conn **out);
void ssh_conn_close(struct ssh_conn *c);

/* Set the message for a failed libssh/SFTP call ("what: reason") with the errno
 * that says why: ENOENT, EACCES, ETIMEDOUT (the server stalled longer than
 * IMGTOOL_NET_TIMEOUT), ECONNRESET (the link dropped) or EIO.  Returns it. */
int ssh_conn_fail(struct ssh_conn *c, const char *where, const char *what);

/* Around blocking libssh calls: libssh 0.10 can wait for ever inside an SFTP
 * call on a server that stopped answering, so a watchdog thread cuts the link
 * (shutdown() of its socket) of a connection that is busy without progress for
 * IMGTOOL_NET_TIMEOUT seconds; the blocked call then fails and ssh_conn_fail()
 * says "did not answer".  ssh_conn_active() marks progress (call it before and
 * between the waits), ssh_conn_idle() the end of the work. */
void ssh_conn_active(struct ssh_conn *c);
void ssh_conn_idle(struct ssh_conn *c);
/* Called by ssh_conn_open/close: the connections the watchdog looks after. */
void ssh_watchdog_add(struct ssh_conn *c);
void ssh_watchdog_remove(struct ssh_conn *c);

/* Did this error kill the connection (so it must not be reused)? */
bool ssh_conn_broken(int ret);

#endif
