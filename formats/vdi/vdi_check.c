/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vdi_check.c - `check` for VDI, as qemu-img 7.2 does it: every allocated map
 * entry must name a data block inside the image and no block twice, and the
 * header's count of allocated blocks must match.  Like qemu, nothing is repaired
 * and no cluster statistics are reported.
 */
#include "vdi.h"
#include "../../common/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int vdi_check(struct image *img, int fix, struct check_result *res)
{
	struct vdi_state *s = img->priv;
	uint32_t *owner = malloc(((size_t)s->h.blocks + 1) * sizeof(*owner));
	uint32_t in_use = 0;

	(void)fix;
	if (!owner)
		return err_set(-ENOMEM, img->filename, "out of memory");
	for (uint32_t i = 0; i < s->h.blocks; i++)
		owner[i] = VDI_UNALLOCATED;
	for (uint32_t i = 0; i < s->h.blocks; i++) {
		uint32_t e = vdi_bmap_get(s, i);

		if (!VDI_IS_ALLOCATED(e))
			continue;
		if (e >= s->h.blocks) {
			fprintf(stderr, "ERROR: block index %u too large, is %u\n", i, e);
			res->corruptions++;
			continue;
		}
		in_use++;
		if (owner[e] != VDI_UNALLOCATED) {
			fprintf(stderr, "ERROR: block index %u also used by %u\n", owner[e], i);
			res->corruptions++;
		} else {
			owner[e] = i;
		}
	}
	free(owner);
	if (in_use != s->h.allocated) {
		fprintf(stderr, "ERROR: allocated blocks mismatch, is %u, should be %u\n",
			in_use, s->h.allocated);
		res->corruptions++;
	}
	return 0;
}
