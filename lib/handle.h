/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * handle.h - what an imgtool_image (include/imgtool/imgtool.h) holds, shared by the
 * files of lib/ that implement the public API over formats/ and convert/.
 */
#ifndef IMGTOOL_LIB_HANDLE_H
#define IMGTOOL_LIB_HANDLE_H

#include "../formats/format.h"
#include "../include/imgtool/imgtool.h"

struct imgtool_image {
	struct image *img;
};

/* Every API entry point starts clean, so imgtool_error() never shows a message
 * left by an earlier, unrelated call. */
void api_begin(void);
/* Return ret (<= 0); a failure without a message gets strerror's, naming where. */
int api_end(int ret, const char *where);

#endif
