/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * create_opts.h - entries of the -o option tables (format.h, struct create_opt)
 * that several formats share, spelled once so that every format lists them alike.
 *
 * The protocol-level ones are what qemu-img takes for the file under any image
 * (its file driver's options): nocow and extent_size_hint are hints imgtool
 * accepts and does not need; preallocation is implemented by each format that
 * declares it.
 */
#ifndef IMGTOOL_CREATE_OPTS_H
#define IMGTOOL_CREATE_OPTS_H

#include "format.h"

#define CREATE_OPT_SIZE(help_text) \
	{ .name = "size", .type = OPT_TYPE_SIZE, .help = (help_text) }

#define CREATE_OPT_BACKING_FILE \
	{ .name = "backing_file", .type = OPT_TYPE_STRING, .help = "File name of a base image" }

#define CREATE_OPT_NOCOW \
	{ .name = "nocow", .type = OPT_TYPE_BOOL, \
	  .help = "Turn off copy-on-write (valid only on btrfs)", .protocol = true }

#define CREATE_OPT_EXTENT_SIZE_HINT \
	{ .name = "extent_size_hint", .type = OPT_TYPE_SIZE, \
	  .help = "Extent size hint for the image file, 0 to disable", .protocol = true }

/* preallocation of the file's data area (off, falloc, full); the format says why
 * metadata is refused */
#define CREATE_OPT_FILE_PREALLOC \
	{ .name = "preallocation", .type = OPT_TYPE_STRING, \
	  .help = "Preallocation mode (allowed values: off, falloc, full)", .protocol = true }

#define CREATE_OPT_END { .name = NULL }

#endif
