/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * commit.h - merge an overlay's data down its backing chain (`commit`).
 *
 * Everything the layers above the base allocate (data and zeros) is copied into
 * the base with the copy engine, so it runs with parallel workers and never
 * reads what only the base (or below) holds.  The base grows when it is smaller
 * than the overlay, as qemu-img commit does.  commit_run() copies only;
 * commit_image() is the whole command (open, copy, empty the overlay).
 */
#ifndef IMGTOOL_COMMIT_H
#define IMGTOOL_COMMIT_H

#include "../formats/format.h"
#include "progress.h"

struct commit_params {
	struct image *top;        /* the overlay, opened with its backing chain */
	int base_depth;           /* the base's depth in top's chain (>= 1) */
	struct image *base;       /* that same file, opened separately IMG_RDWR */
	int workers;              /* 0 = default */
	struct progress *progress;/* may be NULL; total = top->size */
};

/* The layer of top's chain that is the file `name` (any path naming it, also
 * relative to top's folder); its depth in *depth.  -ENOENT with the message set
 * when the file is not in the chain. */
int commit_find_base(struct image *top, const char *name, struct image **layer,
		     int *depth);

/* Copy what lies above the base into it (growing it first if needed). */
int commit_run(const struct commit_params *p);

/* ---- commit_image.c: the whole operation ---- */
struct commit_request {
	const char *file;         /* the overlay */
	const char *fmt;          /* its format; NULL: probed */
	int flags;                /* IMG_BE_FLAGS (cache mode) for the overlay and the base */
	const char *base;         /* a file further down the chain; NULL: the backing file */
	bool keep;                /* leave the overlay as it is (else it is emptied) */
	enum progress_mode progress;
};

/* 0, or a negative errno with the message set (else the caller names rq->file). */
int commit_image(const struct commit_request *rq);

#endif
