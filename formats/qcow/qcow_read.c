/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow_read.c - reading a qcow (v1) image: guest offset -> L1 -> L2 entry ->
 * unallocated (the backing file, else zeros), compressed, or a host offset.
 *
 * Block status reads the L2 entries of the whole range at once (at most one L2
 * table) and reports runs of the same kind, as qemu's map shows them: normal
 * clusters as data at their host offset (like qemu, without looking for holes
 * of the file under them), compressed ones as data without an offset, unallocated ones as not allocated.
 */
#include "qcow.h"
#include "../qcow2/qcow2.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* count L2 entries from guest cluster first (all in one L2 table) into out. */
static int load_entries(struct image *img, struct qcow_state *s, uint64_t first,
			size_t count, uint64_t *out)
{
	uint64_t l2 = s->l1[first >> s->l2_bits];
	uint64_t idx = first & ((1ULL << s->l2_bits) - 1);
	int ret;

	if (!l2) {
		memset(out, 0, count * 8);
		return 0;
	}
	ret = backend_pread(img->be, out, count * 8, l2 + idx * 8);
	for (size_t i = 0; ret == 0 && i < count; i++)
		out[i] = load_be64(&out[i]);
	return ret;
}

static int read_compressed(struct image *img, struct qcow_state *s, uint64_t entry,
			   uint8_t *out)
{
	unsigned shift = 63 - s->cluster_bits;
	uint64_t host = entry & ((1ULL << shift) - 1);
	size_t csize = (size_t)((entry >> shift) & (s->cluster_size - 1));
	uint8_t *in;
	int ret;

	if (host >= s->file_size || csize > s->file_size - host)
		return err_set(-EIO, img->filename,
			       "compressed cluster at %#llx (%zu bytes) runs past the end of the file",
			       (unsigned long long)host, csize);
	in = malloc(csize ? csize : 1);
	if (!in)
		return err_set(-ENOMEM, img->filename, "out of memory");
	ret = backend_pread(img->be, in, csize, host);
	if (ret == 0 && qcow2_inflate_raw(in, csize, out, (size_t)s->cluster_size) < 0)
		ret = err_set(-EIO, img->filename,
			      "could not decompress the cluster at %#llx (deflate data corrupt)",
			      (unsigned long long)host);
	free(in);
	return ret;
}

static int read_cluster_part(struct image *img, struct qcow_state *s, uint64_t entry,
			     uint8_t *buf, uint64_t off, size_t n)
{
	uint64_t in = off & (s->cluster_size - 1);
	uint8_t *tmp;
	int ret;

	if (!entry)
		return image_read_backing(img, buf, off, n);
	if (!(entry & QCOW_OFLAG_COMPRESSED))
		return backend_pread(img->be, buf, n, entry + in);
	tmp = malloc((size_t)s->cluster_size);
	if (!tmp)
		return err_set(-ENOMEM, img->filename, "out of memory");
	ret = read_compressed(img, s, entry, tmp);
	if (ret == 0)
		memcpy(buf, tmp + in, n);
	free(tmp);
	return ret;
}

int qcow_read(struct image *img, void *buf, uint64_t off, size_t len)
{
	struct qcow_state *s = img->priv;
	uint8_t *p = buf;
	int ret = 0;

	while (len && ret == 0) {
		size_t n = (size_t)MIN((uint64_t)len, s->cluster_size - (off & (s->cluster_size - 1)));
		uint64_t entry;

		ret = load_entries(img, s, off >> s->cluster_bits, 1, &entry);
		if (ret == 0)
			ret = read_cluster_part(img, s, entry, p, off, n);
		p += n;
		off += n;
		len -= n;
	}
	return ret;
}

enum cluster_kind { KIND_UNALLOCATED, KIND_COMPRESSED, KIND_NORMAL };

static enum cluster_kind kind_of(uint64_t e)
{
	if (!e)
		return KIND_UNALLOCATED;
	return (e & QCOW_OFLAG_COMPRESSED) ? KIND_COMPRESSED : KIND_NORMAL;
}

int qcow_block_status(struct image *img, uint64_t off, uint64_t len,
		      struct block_status *bs)
{
	struct qcow_state *s = img->priv;
	uint64_t first = off >> s->cluster_bits;
	uint64_t in = off & (s->cluster_size - 1);
	uint64_t l2_left = (1ULL << s->l2_bits) - (first & ((1ULL << s->l2_bits) - 1));
	size_t count = (size_t)MIN(l2_left, div_round_up(in + len, s->cluster_size));
	uint64_t *e = malloc(count * 8);
	enum cluster_kind k;
	size_t i = 1;
	int ret;

	if (!e)
		return err_set(-ENOMEM, img->filename, "out of memory");
	ret = load_entries(img, s, first, count, e);
	if (ret < 0)
		goto out;
	k = kind_of(e[0]);
	/* a run: same kind, and for normal clusters contiguous on the host */
	while (i < count && kind_of(e[i]) == k &&
	       (k != KIND_NORMAL || e[i] == e[0] + i * s->cluster_size))
		i++;
	bs->length = MIN(len, i * s->cluster_size - in);
	if (k == KIND_NORMAL) {
		bs->flags = BS_DATA | BS_ALLOCATED | BS_OFFSET_VALID;
		bs->host_offset = e[0] + in;
	} else if (k == KIND_COMPRESSED)
		bs->flags = BS_DATA | BS_ALLOCATED | BS_COMPRESSED;
	else
		bs->flags = 0;
out:
	free(e);
	return ret;
}
