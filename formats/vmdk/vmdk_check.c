/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmdk_check.c - `check` for vmdk: every grain directory and grain table entry of
 * every sparse extent must point inside its file (and, for compressed extents,
 * at a plausible grain marker).  Like qemu-img, problems are corruptions and
 * nothing is repaired.
 */
#include "vmdk.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/escape.h"
#include "../../common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static int check_extent(struct image *img, struct vmdk_extent *e, struct check_result *res)
{
	uint64_t grains = div_round_up(e->length, e->grain);
	/* the extent's name comes from the descriptor */
	char *name = str_escape_ctrl_dup(e->path);

	if (!name)
		return err_set(-ENOMEM, img->filename, "out of memory");

	for (uint32_t j = 0; j < e->gd_entries; j++) {
		uint64_t gtoff = (uint64_t)e->gd[j] * 512;
		int ret;

		if (!e->gt[j] && e->gd[j] && gtoff + VMDK_GT_BYTES > e->file_size) {
			fprintf(stderr, "ERROR: %s: grain table %" PRIu32 " at offset %#" PRIx64
				" points after end of file\n", name, j, gtoff);
			res->corruptions++;
			continue;
		}
		pthread_mutex_lock(&e->lock);
		ret = vmdk_gt_load(e, j);
		pthread_mutex_unlock(&e->lock);
		if (ret < 0) {
			char msg[ESCAPED_SIZE(ERR_MSG_MAX)];

			fprintf(stderr, "ERROR: %s\n", str_escape_ctrl(err_get(), msg, sizeof(msg)));
			res->check_errors++;
			continue;
		}
		if (!e->gt[j])
			continue;
		for (uint32_t i = 0; i < VMDK_GTES && (uint64_t)j * VMDK_GTES + i < grains; i++) {
			uint64_t host = (uint64_t)e->gt[j][i] * 512;
			uint64_t gi = (uint64_t)j * VMDK_GTES + i;

			if (e->gt[j][i] <= 1)
				continue;
			if (host >= e->file_size ||
			    (!e->compressed && host + e->grain > e->file_size)) {
				fprintf(stderr, "ERROR: %s: cluster offset for sector %" PRIu64
					" points after end of file (%#" PRIx64 ")\n", name,
					(e->start + gi * e->grain) / 512, host);
				res->corruptions++;
			} else if (e->markers) {
				uint8_t m[12];

				if (backend_pread(e->be, m, sizeof(m), host) == 0 &&
				    (load_le32(m + 8) == 0 || load_le32(m + 8) > 2 * e->grain + 4096 ||
				     host + 12 + load_le32(m + 8) > e->file_size)) {
					fprintf(stderr, "ERROR: %s: grain marker for sector %" PRIu64
						" has a bad size\n", name,
						(e->start + gi * e->grain) / 512);
					res->corruptions++;
				}
			}
		}
	}
	free(name);
	return 0;
}

int vmdk_check(struct image *img, int fix, struct check_result *res)
{
	struct vmdk *s = img->priv;
	int ret = 0;

	for (int i = 0; i < s->n_ext && ret == 0; i++) {
		struct vmdk_extent *e = &s->ext[i];

		if (e->grain && e->be && e->gd)
			ret = check_extent(img, e, res);
	}
	return ret;
}
