/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz_nbd.c - libFuzzer harness for the NBD server (imgtool serve): the input is
 * everything a client sends on one connection - handshake options, then requests
 * (with write payloads).  The server runs its handshake and transmission phase on
 * one end of a socket pair; two threads feed the input into the other end and
 * drain the replies, so that neither side can block the other.
 *
 * The export is a 256 KiB raw image in the scratch folder, writable (writes, trims
 * and zeroing reach the format code), rewritten to zeros for every input.
 */
#include "common/err.h"
#include "formats/format.h"
#include "fuzz/fuzz_util.h"
#include "serve/nbd_internal.h"
#include "serve/nbd_proto.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define EXPORT_BYTES (256u << 10)

static struct nbd_export exp;
static uint8_t *zeros;

struct feed {
	int fd;
	const uint8_t *data;
	size_t len;
};

static void *feed_input(void *arg)
{
	struct feed *f = arg;

	while (f->len) {
		ssize_t n = write(f->fd, f->data, f->len);

		if (n <= 0)
			break;
		f->data += n;
		f->len -= (size_t)n;
	}
	shutdown(f->fd, SHUT_WR);
	return NULL;
}

static void *drain_replies(void *arg)
{
	int fd = *(int *)arg;
	char b[65536];

	while (read(fd, b, sizeof(b)) > 0)
		;
	return NULL;
}

int fuzz_setup(void)
{
	const char *path;

	signal(SIGPIPE, SIG_IGN);
	zeros = calloc(1, EXPORT_BYTES);
	path = fuzz_write_file("export.raw", zeros, EXPORT_BYTES);
	if (!zeros || image_open(path, "raw", IMG_RDWR, &exp.img) < 0)
		abort();
	exp.name = "";
	exp.serialize = false;
	pthread_mutex_init(&exp.lock, NULL);
	exp.tflags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_DF |
		     NBD_FLAG_CAN_MULTI_CONN | NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_WRITE_ZEROES |
		     NBD_FLAG_SEND_TRIM;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	pthread_t feeder, drainer;
	struct feed f;
	struct nbd_conn c = { 0 };

	if (image_write(exp.img, zeros, 0, EXPORT_BYTES) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	f = (struct feed){ .fd = sv[1], .data = data, .len = size };
	pthread_create(&feeder, NULL, feed_input, &f);
	pthread_create(&drainer, NULL, drain_replies, &sv[1]);
	c.fd = sv[0];
	c.exp = &exp;
	c.id = 1;
	if (nbd_handshake(&c) == 0)
		nbd_transmit(&c);
	shutdown(sv[0], SHUT_RDWR);
	pthread_join(feeder, NULL);
	pthread_join(drainer, NULL);
	close(sv[0]);
	close(sv[1]);
	err_clear();
	return 0;
}
