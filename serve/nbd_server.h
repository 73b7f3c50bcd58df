/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nbd_server.h - `imgtool serve`: export one image (any format, any backend) over
 * NBD, on a unix socket or TCP, to several clients at once.
 *
 * The server sits on the format layer (formats/format.h): reads, writes, zeroing,
 * flushes and block status all go through image_*(), so qemu, nbdinfo or the
 * kernel's nbd client see the guest disk, not the container file.  The protocol
 * pieces are separate: nbd_wire.c (socket I/O), nbd_handshake.c (option
 * negotiation), nbd_transmit.c (commands), nbd_listen.c (sockets), nbd_server.c
 * (the export's life: open, accept, threads, signals, clean close), nbd_spawn.c
 * (a private server for the launcher).
 */
#ifndef IMGTOOL_NBD_SERVER_H
#define IMGTOOL_NBD_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define NBD_DEFAULT_PORT "10809"
#define NBD_DEFAULT_BIND "127.0.0.1"

struct nbd_serve_opts {
	const char *image;
	const char *format;       /* NULL: probe (a guessed raw is served read-only only) */
	bool read_only;
	const char *export_name;  /* NULL: "" (the default export) */
	const char *socket_path;  /* unix socket; NULL: TCP on bind_addr:port */
	const char *bind_addr;    /* NULL: 127.0.0.1 */
	const char *port;         /* NULL: 10809 */
	int shared;               /* connections served at once (>= 1) */
	const char *pidfile;      /* NULL: none */
	bool fork;                /* detach once listening (the parent exits 0) */
	int ready_fd;             /* >= 0: one byte written and closed once listening */
	bool quiet;               /* do not print the URL when ready */
};

/* Serve until SIGINT/SIGTERM/SIGHUP: then stop accepting, let requests in flight
 * finish, flush and close the image.  Returns 0 or a negative errno with the
 * message set; with o->fork the calling process exits 0 once the child listens. */
int nbd_serve(const struct nbd_serve_opts *o);

/* For the launcher: serve image (format fmt) on a fresh private unix socket in a
 * child process (its own process group, dies with its parent).  Returns once the
 * socket accepts connections: *sock is the malloc'd socket path, *pid the server.
 * nbd_spawn_stop() stops it (SIGTERM: flush and close) and removes the socket's
 * folder. */
int nbd_spawn(const char *image, const char *fmt, bool read_only, char **sock, pid_t *pid);
void nbd_spawn_stop(pid_t pid, char *sock);

#endif
