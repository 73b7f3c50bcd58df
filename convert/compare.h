/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * compare.h - compare the guest-visible contents of two images in parallel.
 *
 * Ranges that block status says read as zeros on both sides are never read.  A
 * side shorter than the other reads as zeros past its end, so a longer image
 * matches only if its extra part is all zeros (the caller decides whether a size
 * difference alone is a mismatch: qemu-img's -s).
 */
#ifndef IMGTOOL_COMPARE_H
#define IMGTOOL_COMPARE_H

#include <stdint.h>

#include "../formats/format.h"
#include "progress.h"

struct compare_params {
	struct image *a;
	struct image *b;
	uint64_t start;            /* compare [start, end) */
	uint64_t end;              /* 0 = to the end of the larger image */
	int workers;               /* 0 = default */
	struct progress *progress; /* may be NULL; total = larger size */
};

/* 0 identical, 1 different (*mismatch = first differing offset, rounded down to
 * 512 bytes as qemu-img reports it), or a negative errno with the message set. */
int compare_run(const struct compare_params *p, uint64_t *mismatch);

#endif
