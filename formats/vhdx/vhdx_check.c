/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhdx_check.c - `info` and `check` for VHDX images.
 *
 * info: as qemu-img 7.2, the block size is the cluster size, the dirty flag is
 * false and there is no format-specific data.
 *
 * check reports as corruptions: a damaged header or region table copy (the image
 * still opens from the other one), a log that still needs replaying (check -r all
 * opens read-write, which replays it), BAT entries past the end of the file (open
 * tolerates them only for check), and blocks overlapping the metadata or each
 * other.  Nothing is rewritten by repair beyond the log replay done at open.
 */
#include "vhdx.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vhdx_info(struct image *img, struct image_info *info)
{
	struct vhdx_state *s = img->priv;

	info->cluster_size = s->block_size;
	info->dirty_flag = false;
	return 0;
}

static void report(struct check_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void report(struct check_result *res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("ERROR ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	res->corruptions++;
}

static int check_copies(struct image *img, struct vhdx_state *s, struct check_result *res)
{
	uint8_t *buf = malloc(VHDX_REGION_SIZE);
	int ret = 0;

	if (!buf)
		return err_set(-ENOMEM, img->filename, "out of memory");
	for (int i = 0; i < 2 && ret == 0; i++) {
		ret = vhdx_pread(img, s, buf, VHDX_HEADER_SIZE,
				 i ? VHDX_HEADER2_OFF : VHDX_HEADER1_OFF);
		if (ret == 0 && !vhdx_header_valid(buf))
			report(res, "header %d is damaged (bad signature or CRC-32C)", i + 1);
	}
	for (int i = 0; i < 2 && ret == 0; i++) {
		ret = vhdx_pread(img, s, buf, VHDX_REGION_SIZE,
				 i ? VHDX_REGION2_OFF : VHDX_REGION1_OFF);
		if (ret == 0 && (memcmp(buf, VHDX_REGION_SIG, 4) ||
				 load_le32(buf + 4) != vhdx_checksum(buf, VHDX_REGION_SIZE, 4)))
			report(res, "region table %d is damaged (bad signature or CRC-32C)",
			       i + 1);
	}
	free(buf);
	return ret;
}

struct range {
	uint64_t start, end;
	uint64_t idx;          /* BAT index, UINT64_MAX for metadata */
};

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static void add_range(struct range *r, size_t *n, uint64_t start, uint64_t len, uint64_t idx)
{
	if (!len)
		return;
	r[*n].start = start;
	r[*n].end = start + len;
	r[*n].idx = idx;
	(*n)++;
}

static int check_layout(struct image *img, struct vhdx_state *s, struct check_result *res)
{
	size_t n = 0;
	struct range *r = calloc(s->bat_entries + 4, sizeof(*r));

	if (!r)
		return err_set(-ENOMEM, img->filename, "out of memory");
	add_range(r, &n, 0, VHDX_MiB, UINT64_MAX);
	add_range(r, &n, s->hdr.log_offset, s->hdr.log_length, UINT64_MAX);
	add_range(r, &n, s->bat_off, s->bat_len, UINT64_MAX);
	add_range(r, &n, s->meta_off, s->meta_len, UINT64_MAX);
	for (uint64_t i = 0; i < s->bat_entries; i++) {
		uint64_t e = s->bat[i], st = e & VHDX_BAT_STATE_MASK;
		bool sb = (i + 1) % (s->chunk_ratio + 1) == 0;
		uint64_t off = e >> VHDX_BAT_OFFSET_SHIFT << VHDX_BAT_OFFSET_SHIFT;
		uint64_t len = sb ? VHDX_MiB : s->block_size;

		if (sb ? (!s->has_parent || st != VHDX_SB_PRESENT) :
			 st < VHDX_PAYLOAD_FULLY_PRESENT)
			continue;
		if (off + len > s->file_size) {
			report(res, "BAT entry %llu points to %llu, past the end of the file (%llu bytes)",
			       (unsigned long long)i, (unsigned long long)off,
			       (unsigned long long)s->file_size);
			continue;
		}
		add_range(r, &n, off, len, i);
	}
	qsort(r, n, sizeof(*r), cmp_range);
	for (size_t i = 1; i < n; i++) {
		if (r[i].start >= r[i - 1].end)
			continue;
		if (r[i].idx == UINT64_MAX && r[i - 1].idx == UINT64_MAX)
			report(res, "metadata regions overlap at %#llx",
			       (unsigned long long)r[i].start);
		else if (r[i].idx != UINT64_MAX && r[i - 1].idx != UINT64_MAX)
			report(res, "blocks of BAT entries %llu and %llu overlap at %#llx",
			       (unsigned long long)r[i - 1].idx, (unsigned long long)r[i].idx,
			       (unsigned long long)r[i].start);
		else
			report(res, "block of BAT entry %llu overlaps the image metadata at %#llx",
			       (unsigned long long)(r[i].idx != UINT64_MAX ? r[i].idx : r[i - 1].idx),
			       (unsigned long long)r[i].start);
		if (r[i].end < r[i - 1].end)
			r[i].end = r[i - 1].end;
	}
	free(r);
	return 0;
}

int vhdx_check(struct image *img, int fix, struct check_result *res)
{
	struct vhdx_state *s = img->priv;
	int ret = check_copies(img, s, res);

	if (ret < 0)
		return ret;
	if (s->log.n)
		report(res, "the log is not empty and needs replaying (check -r all replays it)");
	ret = check_layout(img, s, res);
	return ret;
}
