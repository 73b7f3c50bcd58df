/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovf.h - the OVF descriptor (DMTF OVF 1.x, also 2.x item names) read into a
 * v2v source.  Used by ova.c (-i ova), which finds the descriptor (in a tar or a
 * folder), checks the manifest and says where each disk file really lies.
 */
#ifndef IMGTOOL_V2V_OVF_H
#define IMGTOOL_V2V_OVF_H

#include <stddef.h>
#include <stdint.h>

#include "v2v/input/input.h"

/* Parse the OVF text (named `where` in messages) into out: name, memory, vCPUs,
 * firmware, NICs, and the disks in controller/unit order, each with its path set
 * to the file's href as the OVF writes it (relative to the package), its format
 * and declared capacity.  Compressed or chunked disk files are refused. */
int ovf_parse(const char *where, const char *xml, size_t len, struct v2v_source *out);

/* "byte * 2^30" (CIM programmatic units; also "KiloBytes" .. "GigaBytes") -> the
 * multiplier; NULL or "" is bytes.  -EINVAL when not understood or too large. */
int ovf_parse_units(const char *s, uint64_t *mult);

#endif
