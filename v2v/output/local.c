/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * local.c - -o local: the converted disks and DIR/NAME.xml, a libvirt domain the
 * user defines (or edits) themselves.  Nothing is asked of libvirt.
 */
#include "v2v/output/output.h"

const struct v2v_output_ops v2v_output_local = {
	.name = "local",
	.suffix = "xml",
	.mode = 0644,
	.written = "libvirt XML written",
	.write = v2v_domain_xml_write,
};
