/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * clone.h - stamp out VMs from a template image (imgtool clone).  Each clone is a
 * disk (a qcow2 overlay on the template, or a full copy through the copy engine),
 * its own identity written into it (hostname from its name; machine-id, SSH host
 * keys and random seed left to be made at first boot; NIC UUIDs made new, MAC
 * lines and persistent net rules dropped), any customize operation, and with a
 * template domain XML its own libvirt domain (name, UUID, MACs, disk path).
 *
 * The whole job is one call on a struct clone_params, so that the CLI and a batch
 * layer (a plan of many clone jobs) drive it the same way.  Nothing is overwritten:
 * a clone whose disk or XML exists is refused before anything is made, and what a
 * failed run made is removed.
 */
#ifndef IMGTOOL_CLONE_H
#define IMGTOOL_CLONE_H

#include <stdbool.h>
#include <stddef.h>

#include "guest/customize.h"

enum clone_kind {
	CLONE_AUTO,     /* linked for a qcow2 template, else full */
	CLONE_LINKED,   /* qcow2 overlay, the template as its backing file */
	CLONE_FULL,     /* an independent copy */
};

struct clone_params {
	const char *template_image;
	const char *template_format;  /* NULL: probed */
	enum clone_kind kind;
	const char *format;           /* the clones' format; NULL: qcow2 (linked), the
				       * template's (full) */
	const char *target;           /* count 0: the clone's image; else a folder
				       * that receives NAME.EXT and NAME.xml */
	const char *name;             /* count 0: host and domain name; NULL: the
				       * target's file name without its extension */
	int count;                    /* > 0: that many clones, named by name_pattern */
	const char *name_pattern;     /* one %d (or %02d...), numbered from 1 */
	const char *xml;              /* the template's libvirt domain XML, or NULL */
	const struct cust_op *ops;    /* customize operations run on every clone */
	size_t nops;
	bool network;                 /* the appliance gets a network (--install...) */
	bool force;                   /* clone a template that still has identity */
};

/* Make the clones; one line per step on stdout.  0 or a negative errno with the
 * message set; on failure nothing this call created is left behind. */
int clone_run(const struct clone_params *p);

/* ---- names.c (pure, unit tested) ---- */

/* Is s usable as a clone's host name, domain name and file name: 1-63 letters,
 * digits and '-', not starting or ending with '-'? */
bool clone_name_valid(const char *s);
/* The name of clone number i (from 1) by pattern: -EINVAL with the message set
 * unless the pattern has exactly one %d conversion (flags 0 and a width allowed,
 * %% for a percent sign) and makes a valid name. */
int clone_name_format(const char *pattern, int i, char *out, size_t len);

#endif
