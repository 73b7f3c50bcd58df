/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * progress.h - progress reporting for long operations (convert, compare, later
 * commit/rebase), shared so every command draws it the same way.
 *
 * Human mode draws qemu-img's "    (12.34/100%)\r" line on stdout; JSON mode prints
 * one object per line {"done": N, "total": N, "elapsed": seconds} for machines.
 * progress_add() may be called from any thread at any rate: output is rate limited.
 */
#ifndef IMGTOOL_PROGRESS_H
#define IMGTOOL_PROGRESS_H

#include <stdint.h>

enum progress_mode {
	PROGRESS_NONE,
	PROGRESS_HUMAN,
	PROGRESS_JSON,
	PROGRESS_CALLBACK,  /* progress_new_callback(): calls a function, prints nothing */
};

struct progress;

/* NULL only on allocation failure; a PROGRESS_NONE progress prints nothing. */
struct progress *progress_new(enum progress_mode mode, uint64_t total);
/* A progress that calls fn(done, total, opaque) instead of printing (the library's
 * progress callback), at the JSON mode's rate, from whichever thread crosses it. */
struct progress *progress_new_callback(uint64_t total,
				       void (*fn)(uint64_t done, uint64_t total, void *opaque),
				       void *opaque);
/* Account for bytes done (thread-safe). */
void progress_add(struct progress *p, uint64_t bytes);
/* Bytes accounted so far (for callers that draw their own view). */
uint64_t progress_done(const struct progress *p);
/* Print the final 100% state (if done == total) and end the line. */
void progress_finish(struct progress *p);
void progress_free(struct progress *p);

#endif
