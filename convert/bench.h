/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench.h - the bench operation (qemu-img bench): a fixed number of same-sized
 * reads or writes at a fixed stride, many in flight at once, timed, so that users
 * can compare imgtool's I/O path with qemu's on the same image.
 */
#ifndef IMGTOOL_BENCH_H
#define IMGTOOL_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#define BENCH_DEFAULT_COUNT 75000
#define BENCH_DEFAULT_DEPTH 64
#define BENCH_DEFAULT_BUFSIZE 4096
#define BENCH_MAX_THREADS 64   /* qemu's thread pool size: more in flight only queue */

struct bench_params {
	const char *filename;
	const char *fmt;          /* NULL: probe */
	int open_flags;           /* IMG_* (cache mode) */
	bool write;               /* -w */
	uint64_t count;           /* requests */
	int depth;                /* requests in flight */
	uint64_t offset;          /* of the first request */
	uint64_t bufsize;         /* bytes per request */
	uint64_t step;            /* between requests' offsets; 0: bufsize */
	uint8_t pattern;          /* written bytes */
	uint64_t flush_interval;  /* a flush every N requests (writes); 0: none */
	bool drain;               /* wait for the requests in flight before a flush */
};

/* Open the image (as p says), run the requests and time them (not the open
 * nor the close).  before_run(opaque) is called once the image is open, before
 * the first request (the CLI prints its "Sending ..." line there).  0 with
 * *seconds set, or a negative errno with the message set. */
int bench_run(const struct bench_params *p, void (*before_run)(void *opaque), void *opaque,
	      double *seconds);

#endif
