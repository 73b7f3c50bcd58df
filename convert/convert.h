/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * convert.h - the convert operation (qemu-img convert): open the sources (one
 * snapshot of a single source if asked), create the target (with a backing file
 * if asked) or take an existing one, decide whether the target already reads as
 * zeros, and run the copy engine (copy.h).  The CLI only parses and reports.
 */
#ifndef IMGTOOL_CONVERT_H
#define IMGTOOL_CONVERT_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/opts.h"
#include "progress.h"

struct convert_params {
	char *const *src_names;   /* read in order, laid end to end in the target */
	int nb_src;
	const char *src_fmt;      /* NULL: probe */
	const char *src_cache;    /* cache mode names (backend_cache_flags) */
	/* -l/-s: show the single source's snapshot, "ID_OR_NAME" or
	 * "snapshot.id=ID[,snapshot.name=NAME]"; NULL: the active state */
	const char *snapshot;
	const char *dst_name;
	const char *dst_fmt;
	const char *dst_cache;
	const char *backing;      /* -B: the new target's backing file; NULL: none */
	const char *backing_fmt;  /* -F; NULL: probe the backing file */
	struct opts *opts;        /* -o for the new target (backing options added) */
	bool compress;
	bool copy_offload;        /* -C: data copied by the storage where it can be */
	bool no_create;           /* -n: the target exists */
	bool target_is_zero;      /* with no_create: the user vouches it reads as zeros */
	uint64_t min_sparse;
	int workers;              /* 0: the engine's default */
	enum progress_mode progress;
	/* --bitmaps: copy the single source's persistent bitmaps after the data;
	 * skip_broken_bitmaps: skip in-use ones, each named through warn */
	bool bitmaps;
	bool skip_broken_bitmaps;
	void (*warn_bitmap)(const char *name);
};

/* 0, or a negative errno with the message set (naming the file where one is). */
int convert_run(const struct convert_params *p);

#endif
