/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nbd_server.c - the life of an export: open the image, listen, serve up to
 * `shared` connections at once (one thread each), and on SIGINT/SIGTERM/SIGHUP
 * stop cleanly: no new connections, every connection shut down, requests in
 * flight finished, the image flushed and closed (a qcow2 served read-write and
 * then stopped passes qemu-img check).
 *
 * Concurrency: format.h promises that data I/O may come from several threads (the
 * copy engine's workers rely on it), and raw and qcow2 are used that way for reads
 * and writes at once.  The other formats are only ever written by the copy engine,
 * never read and written together, so their image calls are serialized per export
 * (a mutex): correct first, and NBD clients of those formats are few.
 *
 * Signals are blocked in every thread and read from a signalfd by the main loop,
 * so a signal never interrupts an image operation half-way.
 */
#include "nbd_server.h"
#include "nbd_internal.h"
#include "nbd_proto.h"
#include "../common/err.h"
#include "../formats/format.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define HANDSHAKE_TIMEOUT_S 30   /* a client that stalls mid-handshake loses its slot */
#define MAX_SHARED 256

struct slot {
	pthread_t th;
	struct nbd_conn c;
	int state;                /* 0 free, 1 running, 2 finished (to be joined) */
};

struct server {
	struct nbd_export exp;
	struct slot *slots;
	int nslots;
	int active;
	pthread_mutex_t lock;
	int wake[2];              /* a finishing connection wakes the main loop */
	uint64_t next_id;
};

static void set_recv_timeout(int fd, int seconds)
{
	struct timeval tv = { .tv_sec = seconds };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

struct conn_arg {
	struct server *s;
	struct slot *slot;
};

static void *conn_main(void *p)
{
	struct conn_arg *a = p;
	struct server *s = a->s;
	struct slot *slot = a->slot;
	char one = 1;

	free(a);
	if (nbd_handshake(&slot->c) == 0) {
		set_recv_timeout(slot->c.fd, 0);   /* idle clients are fine once connected */
		nbd_transmit(&slot->c);
	}
	pthread_mutex_lock(&s->lock);
	close(slot->c.fd);
	slot->c.fd = -1;
	slot->state = 2;
	pthread_mutex_unlock(&s->lock);
	if (write(s->wake[1], &one, 1) < 0) {
		/* the pipe is full: the main loop is awake anyway */
	}
	return NULL;
}

static void join_finished(struct server *s)
{
	for (int i = 0; i < s->nslots; i++) {
		pthread_mutex_lock(&s->lock);
		bool done = s->slots[i].state == 2;
		pthread_mutex_unlock(&s->lock);
		if (!done)
			continue;
		pthread_join(s->slots[i].th, NULL);
		pthread_mutex_lock(&s->lock);
		s->slots[i].state = 0;
		s->active--;
		pthread_mutex_unlock(&s->lock);
	}
}

static void accept_one(struct server *s, int lfd)
{
	struct conn_arg *a;
	struct slot *slot = NULL;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), one = 1;

	if (fd < 0)
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));   /* fails on unix: fine */
	set_recv_timeout(fd, HANDSHAKE_TIMEOUT_S);
	for (int i = 0; i < s->nslots && !slot; i++)
		if (s->slots[i].state == 0)
			slot = &s->slots[i];
	a = malloc(sizeof(*a));
	if (!slot || !a) {
		free(a);
		close(fd);
		return;
	}
	memset(&slot->c, 0, sizeof(slot->c));
	slot->c.fd = fd;
	slot->c.exp = &s->exp;
	slot->c.id = ++s->next_id;
	a->s = s;
	a->slot = slot;
	pthread_mutex_lock(&s->lock);
	slot->state = 1;
	s->active++;
	pthread_mutex_unlock(&s->lock);
	if (pthread_create(&slot->th, NULL, conn_main, a)) {
		free(a);
		close(fd);
		pthread_mutex_lock(&s->lock);
		slot->state = 0;
		s->active--;
		pthread_mutex_unlock(&s->lock);
	}
}

/* Shut every connection down and wait for its thread. */
static void stop_all(struct server *s)
{
	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < s->nslots; i++)
		if (s->slots[i].state == 1 && s->slots[i].c.fd >= 0)
			shutdown(s->slots[i].c.fd, SHUT_RDWR);
	pthread_mutex_unlock(&s->lock);
	for (int i = 0; i < s->nslots; i++) {
		if (s->slots[i].state != 0)
			pthread_join(s->slots[i].th, NULL);
		s->slots[i].state = 0;
	}
	s->active = 0;
}

/* Accept and serve until a signal arrives. */
static void serve_loop(struct server *s, int lfd, int sfd)
{
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = s->wake[0], .events = POLLIN },
			/* at the connection limit, new clients wait in the backlog */
			{ .fd = s->active < s->nslots ? lfd : -1, .events = POLLIN },
		};
		char drain[64];

		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (p[0].revents)
			return;
		if (p[1].revents) {
			if (read(s->wake[0], drain, sizeof(drain)) < 0) {
				/* nothing to drain */
			}
			join_finished(s);
		}
		if (p[2].revents)
			accept_one(s, lfd);
	}
}

static uint16_t transmission_flags(const struct image *img, bool read_only)
{
	uint16_t f = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_DF |
		     NBD_FLAG_CAN_MULTI_CONN;   /* a flush flushes the one shared image */

	if (read_only)
		return f | NBD_FLAG_READ_ONLY;
	f |= NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_WRITE_ZEROES;
	/* trimming only makes sense where the format can deallocate */
	if (img->ops->write_zeroes)
		f |= NBD_FLAG_SEND_TRIM;
	return f;
}

static int write_pidfile(const char *path, pid_t pid)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return err_set(-errno, path, "cannot write the pid file: %s", strerror(errno));
	fprintf(f, "%d\n", (int)pid);
	if (fclose(f))
		return err_set(-EIO, path, "cannot write the pid file");
	return 0;
}

static void print_url(const struct nbd_serve_opts *o, const char *name)
{
	if (o->socket_path)
		printf("nbd+unix:///%s?socket=%s\n", name, o->socket_path);
	else
		printf("nbd://%s:%s/%s\n", o->bind_addr ? o->bind_addr : NBD_DEFAULT_BIND,
		       o->port ? o->port : NBD_DEFAULT_PORT, name);
	fflush(stdout);
}

/* --fork: the parent exits 0 once the child (the server) owns the socket. */
static int detach(const struct nbd_serve_opts *o, const char *name)
{
	pid_t pid;
	int devnull;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return err_set(-errno, NULL, "fork: %s", strerror(errno));
	if (pid > 0) {
		int r = o->pidfile ? write_pidfile(o->pidfile, pid) : 0;

		if (r) {
			kill(pid, SIGTERM);
			return r;
		}
		if (!o->quiet)
			print_url(o, name);
		/* exit without closing: the image and the socket are the child's now
		 * (closing a read-write qcow2 here would write its header under it) */
		fflush(NULL);
		_exit(0);
	}
	setsid();
	devnull = open("/dev/null", O_RDWR);
	if (devnull >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		close(devnull);
	}
	return 0;
}

static int open_export(const struct nbd_serve_opts *o, struct server *s)
{
	int r = image_open(o->image, o->format, o->read_only ? 0 : IMG_RDWR, &s->exp.img);

	if (r)
		return r;
	s->exp.name = o->export_name ? o->export_name : "";
	s->exp.read_only = o->read_only;
	s->exp.serialize = strcmp(s->exp.img->ops->name, "raw") &&
			   strcmp(s->exp.img->ops->name, "qcow2");
	s->exp.tflags = transmission_flags(s->exp.img, o->read_only);
	pthread_mutex_init(&s->exp.lock, NULL);
	return 0;
}

/* Block the stop signals (every thread inherits the mask) and read them from a fd. */
static int stop_signals_fd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_CLOEXEC);
}

static int run_server(const struct nbd_serve_opts *o, struct server *s, int lfd, int sfd)
{
	int r;

	if (o->fork) {
		r = detach(o, s->exp.name);
		if (r)
			return r;
	} else {
		if (o->pidfile && (r = write_pidfile(o->pidfile, getpid())))
			return r;
		if (!o->quiet)
			print_url(o, s->exp.name);
	}
	if (o->ready_fd >= 0) {
		char one = 1;

		if (write(o->ready_fd, &one, 1) < 0) {
			/* the spawner is gone; PR_SET_PDEATHSIG stops us */
		}
		close(o->ready_fd);
	}
	serve_loop(s, lfd, sfd);
	stop_all(s);
	return 0;
}

int nbd_serve(const struct nbd_serve_opts *o)
{
	struct server s;
	int lfd = -1, sfd, r, r2;

	memset(&s, 0, sizeof(s));
	s.nslots = o->shared < 1 ? 1 : o->shared > MAX_SHARED ? MAX_SHARED : o->shared;
	s.slots = calloc((size_t)s.nslots, sizeof(*s.slots));
	if (!s.slots || pipe2(s.wake, O_CLOEXEC | O_NONBLOCK)) {
		free(s.slots);
		return err_set(-ENOMEM, NULL, "out of resources");
	}
	pthread_mutex_init(&s.lock, NULL);
	sfd = stop_signals_fd();
	r = open_export(o, &s);
	if (!r)
		r = o->socket_path ? nbd_listen_unix(o->socket_path, &lfd) :
		    nbd_listen_tcp(o->bind_addr ? o->bind_addr : NBD_DEFAULT_BIND,
				   o->port ? o->port : NBD_DEFAULT_PORT, &lfd);
	if (!r && sfd < 0)
		r = err_set(-errno, NULL, "signalfd: %s", strerror(errno));
	if (!r)
		r = run_server(o, &s, lfd, sfd);
	if (lfd >= 0) {
		close(lfd);
		if (o->socket_path)
			unlink(o->socket_path);
	}
	if (s.exp.img) {
		r2 = image_flush(s.exp.img);
		if (r2 && !r)
			r = r2;
		image_close(s.exp.img);
	}
	if (!r && o->pidfile)
		unlink(o->pidfile);
	if (sfd >= 0)
		close(sfd);
	close(s.wake[0]);
	close(s.wake[1]);
	free(s.slots);
	return r;
}
