/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nbd_wire.c - byte-exact socket I/O for the NBD server: a message is either read
 * or written whole, or the connection is over.  Sends never raise SIGPIPE (a
 * client that vanished must not kill a server serving others).
 */
#include "nbd_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int wire_read(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;   /* EOF, reset, or the handshake's receive timeout */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int wire_write(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read and drop len bytes (an option's data we refuse but must step over). */
int wire_skip(int fd, uint64_t len)
{
	char buf[4096];

	while (len) {
		size_t n = len < sizeof(buf) ? (size_t)len : sizeof(buf);

		if (wire_read(fd, buf, n))
			return -1;
		len -= n;
	}
	return 0;
}

void nbd_log(const struct nbd_conn *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "imgtool serve: client %llu: %s\n", (unsigned long long)c->id, msg);
}
