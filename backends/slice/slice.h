/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * slice.h - a read-only window [offset, offset + length) of another storage object,
 * seen as a backend of its own.  It lets a format driver open a disk stored inside
 * an archive in place (an OVA is a tar: its vmdk members are read where they lie,
 * without extracting gigabytes first).
 *
 * The slice is not in the backend registry (no URL names a slice): it is built by
 * backend_open_slice() and handed to image_open_backend() (formats/format.h).
 */
#ifndef IMGTOOL_BACKEND_SLICE_H
#define IMGTOOL_BACKEND_SLICE_H

#include <stdint.h>

#include "../backend.h"

/* Open url read-only and show bytes [offset, offset + length) of it as a backend
 * named `name` (used in messages).  The window must lie inside the object. */
int backend_open_slice(const char *url, uint64_t offset, uint64_t length,
		       const char *name, struct backend **out);

#endif
