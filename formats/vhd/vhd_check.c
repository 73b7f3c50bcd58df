/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd_check.c - `check` for VHD images (qemu-img has none for vpc).
 *
 * Reported as corruptions: a missing or damaged footer at the end of the file, a
 * footer copy at offset 0 that differs from it, a bad dynamic header checksum,
 * BAT entries pointing past the end of the file (open tolerates them only for
 * check), blocks overlapping the metadata or each other.  Space after the last
 * block and its footer, and block-sized holes between blocks, count as leaked
 * (what a writer killed between reserving a block and publishing it leaves).
 * Zeros shorter than a block before the footer are not: Windows (Hyper-V, Disk
 * Management) pads the file to a 4 KiB boundary that way.
 * Repair (-r leaks/all) trims a leaked tail only, of dynamic and differencing
 * images alike (parent locators after the last block are kept); nothing else is
 * rewritten.
 */
#include "vhd.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct range {
	uint64_t start, end;
	uint32_t idx;       /* BAT index, or UINT32_MAX for metadata */
};

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int check_footers(struct image *img, struct vhd_state *s, struct check_result *res)
{
	uint8_t end[VHD_FOOTER_SIZE];
	int ret = backend_pread(img->be, end, sizeof(end), s->file_size - VHD_FOOTER_SIZE);

	if (ret < 0)
		return ret;
	if (!vhd_footer_cookie_ok(end) || !vhd_footer_checksum_ok(end)) {
		report("ERROR the footer at the end of the file is missing or damaged\n");
		res->corruptions++;
	} else if (memcmp(end, s->footer_buf, VHD_FOOTER_SIZE)) {
		report("ERROR the footer copy at offset 0 differs from the footer at the end\n");
		res->corruptions++;
	}
	return 0;
}

static void add_meta(struct range *r, size_t *n, uint64_t start, uint64_t len)
{
	if (!len)
		return;
	r[*n].start = start;
	r[*n].end = start + len;
	r[*n].idx = UINT32_MAX;
	(*n)++;
}

/* Every block and metadata range, sorted; overlaps are corruptions. */
static int check_layout(struct image *img, struct vhd_state *s, struct check_result *res,
			uint64_t *max_end)
{
	uint64_t blk = (uint64_t)s->bitmap_size + s->block_size;
	size_t n = 0, cap = (size_t)s->nb_entries + 3 + VHD_NB_LOCATORS;
	struct range *r = calloc(cap, sizeof(*r));

	if (!r)
		return err_set(-ENOMEM, img->filename, "out of memory");
	add_meta(r, &n, 0, VHD_FOOTER_SIZE);
	add_meta(r, &n, s->footer.data_offset, VHD_DYN_HEADER_SIZE);
	add_meta(r, &n, s->bat_offset, (uint64_t)s->nb_entries * 4);
	for (int i = 0; i < VHD_NB_LOCATORS; i++) {
		const struct vhd_locator *l = &s->dyn.loc[i];

		if (l->platform && l->data_offset <= s->file_size &&
		    l->data_length <= s->file_size - l->data_offset)
			add_meta(r, &n, l->data_offset, l->data_length);
	}
	*max_end = align_up(s->bat_offset + (uint64_t)s->nb_entries * 4, VHD_SECTOR);
	/* a parent locator may follow the blocks: the image ends after it */
	for (size_t i = 0; i < n; i++)
		if (r[i].start > 0)
			*max_end = MAX(*max_end, align_up(r[i].end, VHD_SECTOR));
	for (uint32_t i = 0; i < s->nb_entries; i++) {
		uint32_t e = s->bat[i];
		uint64_t start = (uint64_t)e * VHD_SECTOR;

		if (e == VHD_BAT_UNUSED)
			continue;
		res->allocated_clusters++;
		if (start + blk > s->file_size) {
			report("ERROR BAT entry %u points to %#llx, past the end of the file (%llu bytes)\n",
			       i, (unsigned long long)start, (unsigned long long)s->file_size);
			res->corruptions++;
			continue;
		}
		r[n].start = start;
		r[n].end = start + blk;
		r[n].idx = i;
		n++;
		*max_end = MAX(*max_end, start + blk);
	}
	qsort(r, n, sizeof(*r), cmp_range);
	for (size_t i = 1; i < n; i++) {
		if (r[i].start >= r[i - 1].end) {
			/* a whole block's worth of unused space: a block reserved by
			 * a writer that died before its BAT entry (padding is smaller) */
			uint64_t gap = r[i].start - r[i - 1].end;

			if (gap >= blk) {
				report("Leaked space: %llu bytes at %#llx\n",
				       (unsigned long long)gap,
				       (unsigned long long)r[i - 1].end);
				res->leaks += (int)MIN(gap / blk, (uint64_t)INT32_MAX);
			}
			continue;
		}
		if (r[i].idx == UINT32_MAX && r[i - 1].idx == UINT32_MAX)
			continue;   /* metadata over metadata: not ours to judge */
		if (r[i].idx != UINT32_MAX && r[i - 1].idx != UINT32_MAX)
			report("ERROR blocks %u and %u overlap at %#llx\n", r[i - 1].idx,
			       r[i].idx, (unsigned long long)r[i].start);
		else
			report("ERROR block %u overlaps the image metadata at %#llx\n",
			       r[i].idx != UINT32_MAX ? r[i].idx : r[i - 1].idx,
			       (unsigned long long)r[i].start);
		res->corruptions++;
		if (r[i].end < r[i - 1].end)
			r[i].end = r[i - 1].end;   /* keep the widest end for what follows */
	}
	free(r);
	return 0;
}

/* Repair a leaked tail: the footer goes right after the last block and the file
 * ends there.  Footer first, so that a kill leaves a valid footer at the end. */
static int vhd_trim_tail(struct image *img, struct vhd_state *s, uint64_t max_end,
			 int tail, struct check_result *res)
{
	int ret = backend_pwrite(img->be, s->footer_buf, VHD_FOOTER_SIZE, max_end);

	if (ret == 0)
		ret = backend_truncate(img->be, max_end + VHD_FOOTER_SIZE);
	if (ret < 0)
		return ret;
	res->leaks_fixed = tail;
	res->leaks -= tail;
	s->file_size = max_end + VHD_FOOTER_SIZE;
	pthread_mutex_lock(&s->lock);
	s->free_off = max_end;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* Is [off, off+len) all zeros?  (len is less than a block) */
static int all_zero(struct image *img, uint64_t off, uint64_t len, bool *zero)
{
	uint8_t buf[65536];
	int ret = 0;

	*zero = true;
	while (len && *zero && ret == 0) {
		size_t n = (size_t)MIN(len, sizeof(buf));

		ret = backend_pread(img->be, buf, n, off);
		*zero = ret == 0 && buffer_is_zero(buf, n);
		off += n;
		len -= n;
	}
	return ret;
}

/* Leaked blocks after the last block; a zero-filled tail shorter than a block is
 * Windows' padding, not a leak. */
static int count_tail(struct image *img, struct vhd_state *s, uint64_t max_end,
		      struct check_result *res, int *tail)
{
	uint64_t blk = (uint64_t)s->bitmap_size + s->block_size;
	uint64_t len = s->file_size - res->image_end_offset;
	bool zero = false;
	int ret;

	*tail = 0;
	if (len < blk) {
		ret = all_zero(img, max_end, len, &zero);
		if (ret < 0)
			return ret;
		if (zero)
			return 0;
	}
	*tail = (int)MIN(div_round_up(len, blk), (uint64_t)INT32_MAX);
	res->leaks += *tail;
	report("Leaked space: %llu bytes after the last block\n", (unsigned long long)len);
	return 0;
}

int vhd_check(struct image *img, int fix, struct check_result *res)
{
	struct vhd_state *s = img->priv;
	uint8_t head[VHD_DYN_HEADER_SIZE];
	uint64_t max_end = 0;
	int tail = 0;
	int ret;

	if (s->type == VHD_TYPE_FIXED) {
		res->image_end_offset = s->file_size;
		return 0;
	}
	ret = check_footers(img, s, res);
	if (ret < 0)
		return ret;
	ret = backend_pread(img->be, head, sizeof(head), s->footer.data_offset);
	if (ret < 0)
		return ret;
	if (!vhd_dyn_header_checksum_ok(head)) {
		report("ERROR the dynamic disk header checksum is wrong\n");
		res->corruptions++;
	}
	ret = check_layout(img, s, res, &max_end);
	if (ret < 0)
		return ret;
	res->image_end_offset = max_end + VHD_FOOTER_SIZE;
	/* with blocks past the end, the tail is not leaked: it is what is left */
	if (!s->bad_bat_entries && s->file_size > res->image_end_offset) {
		ret = count_tail(img, s, max_end, res, &tail);
		if (ret < 0)
			return ret;
	}
	if ((fix & CHECK_FIX_LEAKS) && !res->corruptions && tail) {
		ret = vhd_trim_tail(img, s, max_end, tail, res);
		if (ret < 0)
			return ret;
	}
	res->total_clusters = div_round_up(img->size, s->block_size);
	res->has_cluster_stats = true;
	return 0;
}
