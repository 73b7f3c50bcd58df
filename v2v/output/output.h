/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * output.h - what a conversion leaves behind besides the disks, one output per
 * file behind struct v2v_output_ops:
 *
 *   local.c       -o local: DIR/NAME.xml, a libvirt domain (domain_xml.c)
 *   libvirt.c     -o libvirt: the same XML, then `virsh define` at the -oc URI;
 *                 libvirt is asked before anything is copied
 *   qemu.c        -o qemu: DIR/NAME.sh, booting the guest with `imgtool launch`
 *   output.c      the table that maps -o NAME to an output (a new output is one
 *                 file and one line there), and the file writing they share: each
 *                 output file is created exclusively (never overwriting anything)
 *                 and removed again if it could not be written whole
 *
 * v2v.c runs them in order: precheck (before any copy), write, finish.
 */
#ifndef IMGTOOL_V2V_OUTPUT_H
#define IMGTOOL_V2V_OUTPUT_H

#include <stdio.h>

#include "v2v/v2v.h"

struct v2v_output_ops {
	const char *name;         /* -o NAME */
	const char *suffix;       /* write() makes DIR/NAME.SUFFIX */
	int mode;                 /* that file's permissions (a script is executable) */
	const char *written;      /* the report's word for it ("libvirt XML written") */
	bool takes_uri;           /* -oc URI applies */
	/* optional, before anything is copied, so that a conversion does not run for
	 * minutes only to fail at the end; name: the guest's name when known without
	 * reading the disks, else NULL */
	int (*precheck)(const struct v2v_params *p, const char *name);
	/* the content of DIR/NAME.SUFFIX, to f (created and closed by the caller) */
	int (*write)(const struct v2v_target *t, FILE *f);
	/* optional, after write: a step of its own (finish_step names it) that uses the
	 * written file at path.  On failure the disks and the file are kept: the guest
	 * is converted and described, only this step is left to redo by hand.  detail:
	 * the step's report line. */
	const char *finish_step;
	int (*finish)(const struct v2v_target *t, const struct v2v_params *p, const char *path,
		      struct v2v_report *r, char *detail, size_t dlen);
};

/* output.c: the output called name, or NULL with the message set (naming the known
 * outputs). */
const struct v2v_output_ops *v2v_output_find(const char *name);
/* DIR/NAME.SUFFIX, the file o writes for t. */
void v2v_output_path(const struct v2v_output_ops *o, const char *dir, const char *name,
		     char *path, size_t len);
/* Create that file exclusively, fill it with o->write and record it in r; a file
 * that could not be written whole is removed. */
int v2v_output_write(const struct v2v_output_ops *o, const struct v2v_target *t,
		     struct v2v_report *r);

extern const struct v2v_output_ops v2v_output_local, v2v_output_libvirt, v2v_output_qemu;

/* domain_xml.c: the libvirt domain XML for t (-o local, -o libvirt). */
int v2v_domain_xml_write(const struct v2v_target *t, FILE *f);

/* qemu.c: the -o qemu script for t, running imgtool (a path). */
int v2v_qemu_script_write(const struct v2v_target *t, const char *imgtool, FILE *f);

#endif
