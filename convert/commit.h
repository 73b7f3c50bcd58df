/*
 * commit.h - merge an overlay's data down its backing chain (`commit`).
 *
 * Everything the layers above the base allocate (data and zeros) is copied into
 * the base with the copy engine, so it runs with parallel workers and never
 * reads what only the base (or below) holds.  The base grows when it is smaller
 * than the overlay, as qemu-img commit does.  Emptying the overlay afterwards is
 * a separate step (image_make_empty) left to the caller.
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

#endif
