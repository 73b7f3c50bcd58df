/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * parallels_read.c - reading a Parallels image and reporting block status.
 *
 * A cluster the BAT does not allocate reads as zeros and is reported as not
 * allocated, as qemu's map shows it; allocated clusters that follow each other
 * on the host form one data run.  qemu does not look for holes of the file
 * under the data (its driver sets no BDRV_BLOCK_RECURSE), so neither does this.
 */
#include "parallels.h"
#include "../../common/util.h"

#include <string.h>

int parallels_read(struct image *img, void *buf, uint64_t off, size_t len)
{
	struct parallels_state *s = img->priv;
	uint64_t csize = (uint64_t)s->tracks * PRL_SECTOR;
	uint8_t *p = buf;
	int ret = 0;

	while (len && ret == 0) {
		uint64_t idx = off / csize, in = off % csize;
		size_t n = (size_t)MIN((uint64_t)len, csize - in);
		uint64_t host = idx < UINT32_MAX ? prl_cluster_offset(s, (uint32_t)idx) : 0;

		if (host)
			ret = backend_pread(img->be, p, n, host + in);
		else
			ret = image_read_backing(img, p, off, n);
		p += n;
		off += n;
		len -= n;
	}
	return ret;
}

int parallels_block_status(struct image *img, uint64_t off, uint64_t len,
			   struct block_status *bs)
{
	struct parallels_state *s = img->priv;
	uint64_t csize = (uint64_t)s->tracks * PRL_SECTOR;
	uint64_t idx = off / csize, in = off % csize;
	uint64_t first = idx < UINT32_MAX ? prl_cluster_offset(s, (uint32_t)idx) : 0;
	uint64_t n = MIN(len, csize - in);
	/* extend over clusters of the same kind (contiguous on the host for data) */
	while (n < len) {
		uint64_t host;

		if (++idx >= s->bat_size) {
			/* no BAT entry covers the rest: all unallocated */
			if (!first)
				n = len;
			break;
		}
		host = prl_cluster_offset(s, (uint32_t)idx);

		if (first ? host != first + (idx - off / csize) * csize : host != 0)
			break;
		n = MIN(len, n + csize);
	}
	bs->length = n;
	if (!first) {
		bs->flags = 0;
		return 0;
	}
	bs->flags = BS_DATA | BS_ALLOCATED | BS_OFFSET_VALID;
	bs->host_offset = first + in;
	return 0;
}
