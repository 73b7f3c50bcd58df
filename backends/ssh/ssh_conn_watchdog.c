/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ssh_conn_watchdog.c - ends SSH connections whose server stopped answering.
 *
 * Why: libssh 0.10's blocking SFTP calls (a READ waiting for its answer, a
 * WRITE waiting for the channel window) can wait for ever on a frozen server
 * whatever SSH_OPTIONS_TIMEOUT says.  One thread per process (started with the
 * first connection) looks at the busy connections every quarter of a second and
 * shuts down the socket of one without progress for IMGTOOL_NET_TIMEOUT
 * seconds: the blocked call returns an error, the connection is dropped from
 * its pool, and the message says the server did not answer in time.
 */
#ifdef HAVE_LIBSSH
#include "ssh_conn.h"

#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ssh_conn *watched;
static pthread_once_t watch_once = PTHREAD_ONCE_INIT;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ssh_conn_active(struct ssh_conn *c)
{
	atomic_store(&c->active_ms, now_ms());
}

void ssh_conn_idle(struct ssh_conn *c)
{
	atomic_store(&c->active_ms, 0);
}

static void *watchdog(void *arg)
{
	(void)arg;
	for (;;) {
		long long limit = (long long)net_timeout() * 1000, now;

		usleep(250 * 1000);
		now = now_ms();
		pthread_mutex_lock(&watch_lock);
		for (struct ssh_conn *c = watched; c; c = c->next) {
			long long t = atomic_load(&c->active_ms);
			socket_t fd;

			if (!t || now - t <= limit || atomic_load(&c->timed_out))
				continue;
			fd = ssh_lib.ssh_get_fd(c->ssh);
			if (fd >= 0) {
				atomic_store(&c->timed_out, true);
				shutdown(fd, SHUT_RDWR);
			}
		}
		pthread_mutex_unlock(&watch_lock);
	}
	return NULL;
}

static void watchdog_start(void)
{
	pthread_t t;
	pthread_attr_t a;

	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_create(&t, &a, watchdog, NULL);
	pthread_attr_destroy(&a);
}

void ssh_watchdog_add(struct ssh_conn *c)
{
	pthread_once(&watch_once, watchdog_start);
	pthread_mutex_lock(&watch_lock);
	c->next = watched;
	watched = c;
	pthread_mutex_unlock(&watch_lock);
}

void ssh_watchdog_remove(struct ssh_conn *c)
{
	pthread_mutex_lock(&watch_lock);
	for (struct ssh_conn **pp = &watched; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	pthread_mutex_unlock(&watch_lock);
}
#endif /* HAVE_LIBSSH */
