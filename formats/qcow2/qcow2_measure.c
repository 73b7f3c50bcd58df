/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2_measure.c - how big a qcow2 file for a disk of `size` bytes (or holding
 * the data of src) gets: qemu-img measure's "required" and "fully-allocated".
 *
 * Same arithmetic as qemu so that the numbers match: the fully allocated size is
 * header + L2 tables + L1 table + refcount metadata (computed to a fixed point,
 * since refcount blocks count themselves) + all data clusters; "required" replaces
 * the data part by the clusters src actually allocates.
 */
#include "qcow2.h"
#include "../luks/luks.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

struct measure_params {
	uint64_t cluster_size;
	uint32_t refcount_order;
	bool extended_l2;
	bool has_backing;
	int version;
	enum prealloc_mode prealloc;
};

/* Refcount table + blocks needed to count `clusters` clusters plus themselves. */
static uint64_t refcount_metadata_size(uint64_t clusters, uint64_t cs, uint32_t order)
{
	uint64_t per_table_cluster = cs / 8;
	uint64_t per_block = cs * 8 >> order;
	uint64_t table = 0, blocks = 0, n = 0, last;

	do {
		last = n;
		blocks = div_round_up(clusters + table + blocks, per_block);
		table = div_round_up(blocks, per_table_cluster);
		n = clusters + blocks + table;
	} while (n != last);
	return (blocks + table) * cs;
}

static uint64_t prealloc_size(uint64_t total, const struct measure_params *p)
{
	uint64_t cs = p->cluster_size;
	uint64_t l2e = p->extended_l2 ? 16 : 8;
	uint64_t aligned = align_up(total, cs);
	uint64_t meta = cs;   /* header */
	uint64_t nl2e, nl1e;

	nl2e = align_up(aligned / cs, cs / l2e);
	meta += nl2e * l2e;
	nl1e = align_up(nl2e * l2e / cs, cs / 8);
	meta += nl1e * 8;
	meta += refcount_metadata_size((meta + aligned) / cs, cs, p->refcount_order);
	return meta + aligned;
}

static int parse_opts(struct opts *opts, struct measure_params *p)
{
	const char *v;
	uint64_t u;
	int version = 3;
	bool b;
	int ret;

	memset(p, 0, sizeof(*p));
	p->cluster_size = QCOW2_DEFAULT_CLUSTER_SIZE;
	p->refcount_order = 4;
	p->version = version;
	if (!opts)
		return 0;
	ret = opts_get_bool(opts, "extended_l2", &b);
	if (ret == 0)
		p->extended_l2 = b;
	else if (ret != -ENOENT)
		return ret;
	ret = opts_get_size(opts, "cluster_size", &u);
	if (ret == 0) {
		if (!is_power_of_2(u) || u < 512 || u > 2 * MiB)
			return err_set(-EINVAL, NULL, "Cluster size must be a power of two "
				       "between 512 and 2048k");
		p->cluster_size = u;
	} else if (ret != -ENOENT) {
		return ret;
	}
	if (p->extended_l2 && p->cluster_size < 16384)
		return err_set(-EINVAL, NULL, "Extended L2 entries are only supported with "
			       "cluster sizes of at least 16384 bytes");
	v = opts_get(opts, "compat");
	if (v) {
		if (!strcmp(v, "0.10") || !strcmp(v, "v2"))
			version = 2;
		else if (strcmp(v, "1.1") && strcmp(v, "v3"))
			return err_set(-EINVAL, NULL,
				       "Parameter 'version' does not accept value '%s'", v);
	}
	ret = opts_get_uint(opts, "refcount_bits", &u);
	if (ret == 0) {
		if (!is_power_of_2(u) || u > 64)
			return err_set(-EINVAL, NULL, "Refcount width must be a power of two "
				       "and may not exceed 64 bits");
		if (version < 3 && u != 16)
			return err_set(-EINVAL, NULL, "Different refcount widths than 16 bits "
				       "require compatibility level 1.1 or above (use "
				       "version=v3 or greater)");
		p->refcount_order = (uint32_t)__builtin_ctzll(u);
	} else if (ret != -ENOENT) {
		return ret;
	}
	v = opts_get(opts, "preallocation");
	if (v && parse_prealloc(v, &p->prealloc) < 0)
		return err_set(-EINVAL, NULL,
			       "Parameter 'preallocation' does not accept value '%s'", v);
	/* the other creation options (image_measure checked them) do not change
	 * the size */
	p->has_backing = opts_get(opts, "backing_file") != NULL;
	p->version = version;
	return 0;
}

/* Bytes of src's data clusters (zero and unallocated ranges skipped). */
static int count_data(struct image *src, uint64_t cs, uint64_t *required)
{
	uint64_t ssize = src->size, off = 0;

	*required = 0;
	while (off < ssize) {
		struct block_status bs;
		uint64_t pnum;
		int ret = image_block_status_above(src, off, ssize - off, &bs);

		if (ret < 0)
			return ret;
		pnum = bs.length;
		if (!(bs.flags & BS_ZERO) && (bs.flags & BS_DATA)) {
			/* round up to the cluster end, as qemu does */
			pnum = align_up(off + pnum, cs) - off;
			*required += off % cs + pnum;
		}
		off += pnum;
	}
	return 0;
}

int qcow2_measure(struct opts *opts, uint64_t size, struct image *src,
		  struct measure_result *res)
{
	struct measure_params p;
	uint64_t cs, virtual_size, required = 0, l2_tables;
	int ret;

	ret = parse_opts(opts, &p);
	if (ret < 0)
		return ret;
	cs = p.cluster_size;
	virtual_size = align_up(src ? src->size : size, cs);
	l2_tables = div_round_up(virtual_size / cs, cs / (p.extended_l2 ? 16 : 8));
	if (l2_tables * 8 > QCOW2_MAX_L1_BYTES)
		return err_set(-EFBIG, NULL, "The image size is too large (try using a larger "
			       "cluster size)");
	if (src) {
		if (p.has_backing) {
			required = virtual_size;
		} else {
			ret = count_data(src, cs, &required);
			if (ret < 0)
				return ret;
		}
	}
	if (p.prealloc == PREALLOC_FULL || p.prealloc == PREALLOC_FALLOC)
		required = virtual_size;
	res->fully_allocated = prealloc_size(virtual_size, &p);
	res->required = res->fully_allocated - virtual_size + required;
	if (qcow2_crypt_wanted(opts)) {
		uint64_t hdr;

		ret = luks_measure_header(opts, "encrypt.", &hdr);
		if (ret < 0)
			return ret;
		res->fully_allocated += align_up(hdr, cs);
		res->required += align_up(hdr, cs);
	}
	/* what convert --bitmaps would add: reported, as qemu-img does, when
	 * both the source and this target can hold bitmaps */
	res->has_bitmaps = src && p.version >= 3 && image_bitmap_supported(src);
	if (res->has_bitmaps)
		return image_bitmaps_size(src, cs, &res->bitmaps);
	return 0;
}
