/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nbd_listen.c - the server's listening sockets.
 *
 * A unix socket appears under its name only once it listens: it is bound to a
 * temporary name and renamed, so a client that sees the path can connect (the
 * launcher starts qemu as soon as the path exists).  A stale socket left by a
 * killed server is replaced; any other file in the way is an error.  TCP binds
 * to the address given (127.0.0.1 by default: an export is open to whoever can
 * connect).
 */
#include "nbd_internal.h"
#include "../common/err.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define BACKLOG 16

int nbd_listen_unix(const char *path, int *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char tmp[sizeof(sa.sun_path)];
	struct stat st;
	int fd, r;

	if (snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >= (int)sizeof(tmp))
		return err_set(-ENAMETOOLONG, path, "socket path too long (at most %zu bytes)",
			       sizeof(tmp) - 16);
	if (!lstat(path, &st) && !S_ISSOCK(st.st_mode))
		return err_set(-EEXIST, path, "exists and is not a socket");
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(-errno, path, "socket: %s", strerror(errno));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", tmp);
	unlink(tmp);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, BACKLOG) ||
	    rename(tmp, path)) {
		r = err_set(-errno, path, "cannot listen: %s", strerror(errno));
		unlink(tmp);
		close(fd);
		return r;
	}
	*out = fd;
	return 0;
}

int nbd_listen_tcp(const char *addr, const char *port, int *out)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	int fd = -1, g, e = 0, one = 1;

	g = getaddrinfo(addr, port, &hints, &res);
	if (g)
		return err_set(-EINVAL, addr, "cannot resolve %s port %s: %s", addr, port,
			       gai_strerror(g));
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, BACKLOG))
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return err_set(-(e ? e : EADDRNOTAVAIL), addr, "cannot listen on %s port %s: %s",
			       addr, port, strerror(e ? e : EADDRNOTAVAIL));
	*out = fd;
	return 0;
}
