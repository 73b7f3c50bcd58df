/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rebase.h - the data half of a safe `rebase`: make an image read the same
 * over a new backing file as it reads over its current one.
 *
 * Only ranges the image itself does not allocate can change; in those, every
 * cluster where the old chain and the new chain read differently gets the old
 * chain's contents written into the image.  Ranges that read as zeros in both
 * chains are never read.  The caller then records the new backing file
 * (image_set_backing); until then the image still names the old one, so an
 * interruption leaves a correct image.
 */
#ifndef IMGTOOL_REBASE_H
#define IMGTOOL_REBASE_H

#include "../formats/format.h"
#include "progress.h"

struct rebase_params {
	struct image *img;         /* opened IMG_RDWR; img->backing is the old chain
				    * (NULL: it reads as zeros) */
	struct image *new_backing; /* NULL: the image becomes standalone */
	int workers;               /* 0 = default */
	struct progress *progress; /* may be NULL; total = img->size */
};

/* True if file `path` is img or in img's backing chain (a rebase onto it
 * would make a loop). */
bool rebase_in_chain(struct image *img, const char *path);

int rebase_run(const struct rebase_params *p);

/* ---- rebase_image.c: the whole operation ---- */
struct rebase_request {
	const char *file;          /* the image */
	const char *fmt;           /* its format; NULL: probed */
	int flags;                 /* IMG_BE_FLAGS (cache mode) for the image */
	int src_flags;             /* ... and for the backing chains */
	const char *backing;       /* the new backing file; "": none */
	const char *backing_fmt;   /* NULL: probed (and recorded as found) */
	bool unsafe;               /* only rewrite the pointer */
	enum progress_mode progress;
};

/* 0, or a negative errno with the message set (else the caller names rq->file). */
int rebase_image(const struct rebase_request *rq);

#endif
