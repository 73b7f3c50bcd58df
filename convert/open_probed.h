/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * open_probed.h - open an image read-write under its probed format (see
 * open_probed.c), for commit and rebase.
 */
#ifndef IMGTOOL_OPEN_PROBED_H
#define IMGTOOL_OPEN_PROBED_H

#include "../formats/format.h"

/* fmt NULL: probe, then open IMG_RDWR | flags under the format found. */
int image_open_probed_rw(const char *file, const char *fmt, int flags, struct image **img);

#endif
