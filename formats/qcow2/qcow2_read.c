/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2_read.c - the qcow2 read path.
 *
 * Each step maps one run of the request (qcow2_map.c, under s->lock) and then
 * serves it outside the lock, so parallel readers only serialise on the table
 * lookups: normal clusters are one backend read per contiguous run, zero
 * clusters are memset, unallocated ranges fall through to the backing chain, and
 * compressed clusters are decompressed one cluster at a time.
 */
#include "qcow2.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <string.h>

static int read_run(struct image *img, struct qcow2_state *s, uint8_t *buf, uint64_t off,
		    uint64_t *bytes)
{
	enum qcow2_cluster_type type;
	uint64_t host, in_cluster;
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = qcow2_get_host_offset(s, off, bytes, &host, &type);
	pthread_mutex_unlock(&s->lock);
	if (ret < 0)
		return ret;
	switch (type) {
	case QCOW2_CLUSTER_UNALLOCATED:
		return image_read_backing(img, buf, off, (size_t)*bytes);
	case QCOW2_CLUSTER_ZERO_PLAIN:
	case QCOW2_CLUSTER_ZERO_ALLOC:
		memset(buf, 0, (size_t)*bytes);
		return 0;
	case QCOW2_CLUSTER_NORMAL:
		return qcow2_data_pread(s, buf, (size_t)*bytes, host, off);
	case QCOW2_CLUSTER_COMPRESSED:
		/* the descriptor is that of the first cluster of the run only */
		in_cluster = qcow2_offset_into_cluster(s, off);
		*bytes = MIN(*bytes, s->cluster_size - in_cluster);
		return qcow2_read_compressed(s, host, in_cluster, buf, (size_t)*bytes);
	}
	return err_set(-EIO, img->filename, "internal error: unknown cluster type");
}

int qcow2_read(struct image *img, void *buf, uint64_t off, size_t len)
{
	struct qcow2_state *s = qcow2_state(img);
	uint8_t *p = buf;
	int ret;

	if (qcow2_encrypted(s) && (off % 512 || len % 512))
		return qcow2_crypt_read_unaligned(img, buf, off, len);
	while (len) {
		uint64_t bytes = len;

		ret = read_run(img, s, p, off, &bytes);
		if (ret < 0)
			return ret;
		if (bytes == 0 || bytes > len)
			return err_set(-EIO, img->filename, "internal error: empty mapping run");
		p += bytes;
		off += bytes;
		len -= (size_t)bytes;
	}
	return 0;
}
