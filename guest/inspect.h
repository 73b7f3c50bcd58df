/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * inspect.h - what is inside a guest image (imgtool inspect): OS, version, root and
 * mountpoints, bootloader, firmware, kernels, hypervisor agents, network
 * configuration and whether a conversion to KVM can proceed.  The result is a JSON
 * object so that the human and JSON outputs cannot disagree.
 */
#ifndef IMGTOOL_INSPECT_H
#define IMGTOOL_INSPECT_H

#include "guest/guest.h"

struct json_object;

/* Inspect an opened guest (any mode); *out is a new json object. */
int guest_inspect(struct guest *gu, struct json_object **out);
/* The human rendering of guest_inspect()'s object, on stdout. */
void inspect_print_human(struct json_object *o);

#endif
