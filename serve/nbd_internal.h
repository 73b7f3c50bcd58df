/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nbd_internal.h - what the server's files share: the export (one open image and
 * what it allows) and one client connection's negotiated state.  Not for callers
 * outside serve/ (they use nbd_server.h).
 */
#ifndef IMGTOOL_NBD_INTERNAL_H
#define IMGTOOL_NBD_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct image;

struct nbd_export {
	struct image *img;
	const char *name;         /* the export name clients ask for */
	bool read_only;
	bool serialize;           /* one image call at a time (see nbd_server.c) */
	pthread_mutex_t lock;
	uint16_t tflags;          /* transmission flags */
};

struct nbd_conn {
	int fd;
	struct nbd_export *exp;
	bool structured;          /* structured replies negotiated */
	bool meta_base;           /* base:allocation selected */
	bool no_zeroes;
	uint64_t id;              /* for messages */
};

/* nbd_wire.c: whole reads and writes; 0, or -1 when the peer is gone or sent
 * short data (the connection is then dropped) */
int wire_read(int fd, void *buf, size_t len);
int wire_write(int fd, const void *buf, size_t len);
int wire_skip(int fd, uint64_t len);
void nbd_log(const struct nbd_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* nbd_handshake.c: 0 = go to transmission, 1 = client ended the session, -1 = drop */
int nbd_handshake(struct nbd_conn *c);

/* nbd_transmit.c: serve commands until NBD_CMD_DISC or a broken/bad client */
void nbd_transmit(struct nbd_conn *c);

/* nbd_listen.c: a listening socket (0 or -errno with the message set) */
int nbd_listen_unix(const char *path, int *fd);
int nbd_listen_tcp(const char *addr, const char *port, int *fd);

#endif
