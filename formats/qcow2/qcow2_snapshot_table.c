/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2_snapshot_table.c - read the internal snapshot table into s->snapshots,
 * and serialise a snapshot list into the on-disk table (qcow2_snapshot.c writes
 * it to a new place and switches the header to it).
 *
 * Entries are variable-length (a fixed part, extra data, id and name, padded to
 * 8 bytes), so the table is walked one entry at a time with every size checked
 * against QEMU's limits and the file size before anything is allocated.  Extra
 * data is kept verbatim so that a rewritten table loses nothing a newer QEMU
 * put there.
 */
#include "qcow2.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define SN_FIXED 40

void qcow2_snapshot_table_free(struct qcow2_state *s)
{
	for (int i = 0; i < s->nb_snapshots; i++) {
		free(s->snapshots[i].id_str);
		free(s->snapshots[i].name);
		free(s->snapshots[i].extra_data);
	}
	free(s->snapshots);
	s->snapshots = NULL;
	s->nb_snapshots = 0;
}

static void parse_extra(struct qcow2_state *s, struct qcow2_snapshot *sn)
{
	const uint8_t *x = sn->extra_data;

	sn->disk_size = s->h.size;
	sn->icount = UINT64_MAX;
	if (sn->extra_data_size >= 8)
		sn->vm_state_size = load_be64(x);
	if (sn->extra_data_size >= 16)
		sn->disk_size = load_be64(x + 8);
	if (sn->extra_data_size >= 24)
		sn->icount = load_be64(x + 16);
}

/* Snapshot L1 tables are only used by snapshot operations; check may still
 * want to look at (and repair) an image whose entries are wrong. */
static int check_l1(struct qcow2_state *s, int i, const struct qcow2_snapshot *sn)
{
	const char *fn = s->img->filename;
	bool lenient = s->img->flags & (IMG_CHECK | IMG_REPAIR);

	if (lenient)
		return 0;
	if ((uint64_t)sn->l1_size * 8 > QCOW2_MAX_L1_BYTES)
		return err_set(-EFBIG, fn, "Snapshot %d: L1 table too large (%u entries)", i,
			       sn->l1_size);
	if (sn->l1_size && !is_aligned(sn->l1_table_offset, s->cluster_size))
		return err_set(-EINVAL, fn, "Snapshot %d: L1 table offset %#" PRIx64 " invalid", i,
			       sn->l1_table_offset);
	return 0;
}

static int read_entry(struct qcow2_state *s, int i, uint64_t *pos, uint64_t start)
{
	struct qcow2_snapshot *sn = &s->snapshots[i];
	const char *fn = s->img->filename;
	uint8_t hdr[SN_FIXED], *var = NULL;
	uint32_t id_len, name_len, var_len;
	uint64_t end;
	int ret;

	if (*pos + SN_FIXED > s->file_size)
		return err_set(-EINVAL, fn, "Snapshot table runs past the end of the file");
	ret = backend_pread(s->img->be, hdr, SN_FIXED, *pos);
	if (ret < 0)
		return ret;
	sn->l1_table_offset = load_be64(hdr);
	sn->l1_size = load_be32(hdr + 8);
	id_len = load_be16(hdr + 12);
	name_len = load_be16(hdr + 14);
	sn->date_sec = load_be32(hdr + 16);
	sn->date_nsec = load_be32(hdr + 20);
	sn->vm_clock_nsec = load_be64(hdr + 24);
	sn->vm_state_size = load_be32(hdr + 32);
	sn->extra_data_size = load_be32(hdr + 36);
	if (sn->extra_data_size > QCOW2_MAX_SNAPSHOT_EXTRA)
		return err_set(-EFBIG, fn, "Snapshot %d: too much extra metadata (%u bytes)", i,
			       sn->extra_data_size);
	var_len = sn->extra_data_size + id_len + name_len;
	end = *pos + align_up(SN_FIXED + var_len, 8);
	if (end - start > QCOW2_MAX_SNAPSHOTS_BYTES)
		return err_set(-EFBIG, fn, "Snapshot table too large");
	if (*pos + SN_FIXED + var_len > s->file_size)
		return err_set(-EINVAL, fn, "Snapshot table runs past the end of the file");
	var = malloc(var_len ? var_len : 1);
	if (!var)
		return err_set(-ENOMEM, fn, "out of memory");
	ret = backend_pread(s->img->be, var, var_len, *pos + SN_FIXED);
	if (ret < 0)
		goto out;
	ret = -ENOMEM;
	sn->extra_data = malloc(sn->extra_data_size ? sn->extra_data_size : 1);
	sn->id_str = strndup((char *)var + sn->extra_data_size, id_len);
	sn->name = strndup((char *)var + sn->extra_data_size + id_len, name_len);
	if (!sn->extra_data || !sn->id_str || !sn->name) {
		err_set(ret, fn, "out of memory");
		goto out;
	}
	memcpy(sn->extra_data, var, sn->extra_data_size);
	parse_extra(s, sn);
	ret = check_l1(s, i, sn);
	*pos = end;
out:
	free(var);
	return ret;
}

int qcow2_snapshot_table_read(struct qcow2_state *s)
{
	uint64_t n = s->h.nb_snapshots, pos = s->h.snapshots_offset;
	int ret;

	qcow2_snapshot_table_free(s);
	if (n == 0)
		return 0;
	if (n > QCOW2_MAX_SNAPSHOTS)
		return err_set(-EINVAL, s->img->filename, "Too many snapshots (%" PRIu64 ")", n);
	s->snapshots = calloc((size_t)n, sizeof(*s->snapshots));
	if (!s->snapshots)
		return err_set(-ENOMEM, s->img->filename, "out of memory");
	for (uint64_t i = 0; i < n; i++) {
		s->nb_snapshots = (int)i + 1;   /* so that free() sees this entry */
		ret = read_entry(s, (int)i, &pos, s->h.snapshots_offset);
		if (ret < 0) {
			qcow2_snapshot_table_free(s);
			return ret;
		}
	}
	return 0;
}

/* Bytes one entry takes on disk (padded to 8). */
static uint64_t entry_size(const struct qcow2_snapshot *sn, uint32_t extra)
{
	return align_up(SN_FIXED + (uint64_t)extra + strlen(sn->id_str) + strlen(sn->name), 8);
}

/* Extra data as written: at least the 24 bytes qemu 7.2 writes (large VM state
 * size, disk size, icount); a longer extra area read from the image is kept. */
static uint32_t extra_size(const struct qcow2_snapshot *sn)
{
	return sn->extra_data_size > 24 ? sn->extra_data_size : 24;
}

int qcow2_snapshot_table_serialize(struct qcow2_state *s, const struct qcow2_snapshot *list,
				   int n, uint8_t **out, uint64_t *len)
{
	uint64_t total = 0, pos = 0;
	uint8_t *buf;

	*out = NULL;
	*len = 0;
	for (int i = 0; i < n; i++) {
		if (strlen(list[i].id_str) > UINT16_MAX || strlen(list[i].name) > UINT16_MAX)
			return err_set(-EINVAL, s->img->filename, "snapshot name too long");
		total += entry_size(&list[i], extra_size(&list[i]));
	}
	if (total > QCOW2_MAX_SNAPSHOTS_BYTES || n > QCOW2_MAX_SNAPSHOTS)
		return err_set(-EFBIG, s->img->filename, "Snapshot table too large");
	if (!total)
		return 0;
	buf = calloc(1, total);
	if (!buf)
		return err_set(-ENOMEM, s->img->filename, "out of memory");
	for (int i = 0; i < n; i++) {
		const struct qcow2_snapshot *sn = &list[i];
		uint32_t x = extra_size(sn);
		size_t id_len = strlen(sn->id_str), name_len = strlen(sn->name);
		uint8_t *p = buf + pos;

		store_be64(p, sn->l1_table_offset);
		store_be32(p + 8, sn->l1_size);
		store_be16(p + 12, (uint16_t)id_len);
		store_be16(p + 14, (uint16_t)name_len);
		store_be32(p + 16, sn->date_sec);
		store_be32(p + 20, sn->date_nsec);
		store_be64(p + 24, sn->vm_clock_nsec);
		/* the 32-bit field as qemu writes it; the full value is in extra */
		store_be32(p + 32, (uint32_t)sn->vm_state_size);
		store_be32(p + 36, x);
		if (sn->extra_data_size > 24)
			memcpy(p + SN_FIXED + 24, sn->extra_data + 24, sn->extra_data_size - 24);
		store_be64(p + SN_FIXED, sn->vm_state_size);
		store_be64(p + SN_FIXED + 8, sn->disk_size);
		store_be64(p + SN_FIXED + 16, sn->icount);
		memcpy(p + SN_FIXED + x, sn->id_str, id_len);
		memcpy(p + SN_FIXED + x + id_len, sn->name, name_len);
		pos += entry_size(sn, x);
	}
	*out = buf;
	*len = total;
	return 0;
}
