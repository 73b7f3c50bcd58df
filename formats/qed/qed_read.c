/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qed_read.c - reading a QED image: guest offset -> L1 -> L2 entry ->
 * unallocated (the backing file, else zeros), zero cluster, or a host offset.
 *
 * L2 entries are read from the file as needed (no cache: the format is only
 * read once, by a conversion).  Block status reports runs of the same kind as
 * qemu's map shows them: data at its host offset, zero clusters as zeros,
 * unallocated ones as not allocated.  An entry qemu would reject (unaligned,
 * inside the header, past the end of the file) is an I/O error naming it.
 */
#include "qed.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* entries read at once by block status (bounded memory for big tables) */
#define QED_STATUS_ENTRIES 4096u

bool qed_offset_ok(const struct qed_state *s, uint64_t off, uint64_t bytes)
{
	uint64_t end;

	return !(off & (s->cluster_size - 1)) && off >= s->header_bytes &&
	       add_ok(off, bytes, &end) && end <= s->file_size;
}

/* count L2 entries from guest cluster first (all in one L2 table) into out. */
static int load_entries(struct image *img, struct qed_state *s, uint64_t first,
			size_t count, uint64_t *out)
{
	uint64_t l1_idx = first >> s->table_bits;
	uint64_t l2 = s->l1[l1_idx];
	uint64_t idx = first & ((1ULL << s->table_bits) - 1);
	int ret;

	if (!l2) {
		memset(out, 0, count * 8);
		return 0;
	}
	if (!qed_offset_ok(s, l2, s->cluster_size))
		return err_set(-EIO, img->filename,
			       "QED L2 table at %#llx (L1 entry %llu) is not a cluster inside the file",
			       (unsigned long long)l2, (unsigned long long)l1_idx);
	ret = backend_pread(img->be, out, count * 8, l2 + idx * 8);
	for (size_t i = 0; ret == 0 && i < count; i++) {
		out[i] = load_le64(&out[i]);
		if (out[i] > QED_CLUSTER_ZERO && !qed_offset_ok(s, out[i], 1))
			ret = err_set(-EIO, img->filename,
				      "QED cluster at %#llx (guest cluster %llu) is not a cluster inside the file",
				      (unsigned long long)out[i],
				      (unsigned long long)(first + i));
	}
	return ret;
}

static int read_cluster_part(struct image *img, struct qed_state *s, uint64_t entry,
			     uint8_t *buf, uint64_t off, size_t n)
{
	uint64_t in = off & (s->cluster_size - 1);

	if (!entry)
		return image_read_backing(img, buf, off, n);
	if (entry == QED_CLUSTER_ZERO) {
		memset(buf, 0, n);
		return 0;
	}
	/* a cluster whose tail lies past the end of the file reads as zeros there */
	if (entry + in + n > s->file_size) {
		size_t have = entry + in < s->file_size ? (size_t)(s->file_size - entry - in) : 0;

		memset(buf + have, 0, n - have);
		n = have;
	}
	return n ? backend_pread(img->be, buf, n, entry + in) : 0;
}

int qed_read(struct image *img, void *buf, uint64_t off, size_t len)
{
	struct qed_state *s = img->priv;
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

enum cluster_kind { KIND_UNALLOCATED, KIND_ZERO, KIND_NORMAL };

static enum cluster_kind kind_of(uint64_t e)
{
	if (!e)
		return KIND_UNALLOCATED;
	return e == QED_CLUSTER_ZERO ? KIND_ZERO : KIND_NORMAL;
}

int qed_block_status(struct image *img, uint64_t off, uint64_t len,
		     struct block_status *bs)
{
	struct qed_state *s = img->priv;
	uint64_t first = off >> s->cluster_bits;
	uint64_t in = off & (s->cluster_size - 1);
	uint64_t l2_left = (1ULL << s->table_bits) - (first & ((1ULL << s->table_bits) - 1));
	size_t count = (size_t)MIN(MIN(l2_left, div_round_up(in + len, s->cluster_size)),
				   QED_STATUS_ENTRIES);
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
	/* a run: same kind, and for data clusters contiguous on the host */
	while (i < count && kind_of(e[i]) == k &&
	       (k != KIND_NORMAL || e[i] == e[0] + i * s->cluster_size))
		i++;
	bs->length = MIN(len, i * s->cluster_size - in);
	if (k == KIND_NORMAL) {
		bs->flags = BS_DATA | BS_ALLOCATED | BS_OFFSET_VALID;
		bs->host_offset = e[0] + in;
	} else if (k == KIND_ZERO)
		bs->flags = BS_ZERO | BS_ALLOCATED;
	else
		bs->flags = 0;
out:
	free(e);
	return ret;
}
