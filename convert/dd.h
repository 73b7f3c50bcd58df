/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dd.h - the dd operation (qemu-img dd): copy a window of one image, chosen in
 * blocks of bs bytes (skip= blocks in, up to count= blocks), into a new image.
 * The CLI (imgtool/cmd_dd.c) parses the operands; the sizes and the copy are here.
 */
#ifndef IMGTOOL_DD_H
#define IMGTOOL_DD_H

#include <stdbool.h>
#include <stdint.h>

#define DD_DEFAULT_BS 512

struct dd_params {
	const char *in;           /* if= */
	const char *in_fmt;       /* -f; NULL: probe */
	const char *out;          /* of=, created */
	const char *out_fmt;      /* -O */
	uint64_t bs;              /* 1 .. INT_MAX */
	uint64_t count;           /* blocks, when has_count */
	uint64_t skip;            /* blocks, when has_skip */
	bool has_count;
	bool has_skip;
};

/* Sets *skipped_past_end when skip= lies beyond the input: the output is then
 * created empty and the operation succeeds (dd(1) and qemu-img do the same, with
 * a warning the caller prints).  0, or a negative errno with the message set. */
int dd_run(const struct dd_params *p, bool *skipped_past_end);

#endif
