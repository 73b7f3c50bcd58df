/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhdx_create.c - creating dynamic and fixed VHDX images.
 *
 * Options:
 *   subformat=dynamic|fixed   dynamic (default): every block not present, the file
 *                             ends after the BAT; fixed: every block fully present,
 *                             laid out in order after the BAT (the file is sparse
 *                             until written), LeaveBlocksAllocated set.
 *   block_size=SIZE           payload block, a power of two from 1 MiB to 256 MiB;
 *                             0 or absent picks by disk size as qemu-img does
 *                             (8 MiB up to 1 GiB, 16 MiB up to 100 GiB, 32 MiB up to
 *                             32 TiB, then 64 MiB).
 *   log_size=SIZE             the log, a multiple of 1 MiB (default 1 MiB); left empty.
 *   logical_sector_size=512|4096, physical_sector_size=512|4096 (ours; default 512)
 *   block_state_zero=on|off   accepted as qemu-img does; new blocks are not present
 *                             (reads as zeros) either way.
 *
 * vhdx_create_opts below declares them (and the file's nocow, extent_size_hint)
 * for -o help and image_create's check.
 *
 * Layout: file identifier, two headers, two region tables, then 1 MiB aligned the
 * log, the metadata region (1 MiB) and the BAT.
 */
#include "vhdx.h"
#include "../create_opts.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define VHDX_CREATOR "imgtool"

struct vhdx_params {
	bool fixed;
	uint64_t size;
	uint32_t block_size;
	uint32_t log_size;
	uint32_t logical, physical;
	uint64_t log_off, meta_off, bat_off, bat_len, data_off;
	uint64_t data_blocks, chunk_ratio, bat_entries;
};

static const char *const vhdx_subformats[] = { "dynamic", "fixed", NULL };

const struct create_opt vhdx_create_opts[] = {
	CREATE_OPT_SIZE("Virtual disk size; max of 64TB."),
	{ .name = "log_size", .type = OPT_TYPE_SIZE, .def = "1048576",
	  .help = "Log size; min 1MB." },
	{ .name = "block_size", .type = OPT_TYPE_SIZE, .def = "0",
	  .help = "Block Size; min 1MB, max 256MB. 0 means auto-calculate based on image size." },
	{ .name = "subformat", .type = OPT_TYPE_ENUM, .values = vhdx_subformats,
	  .help = "VHDX format type, can be either 'dynamic' or 'fixed'. Default is 'dynamic'." },
	{ .name = "block_state_zero", .type = OPT_TYPE_BOOL,
	  .help = "Force use of payload blocks of type 'ZERO'. Non-standard, but default.  Do not "
		  "set to 'off' when using 'qemu-img convert' with subformat=dynamic." },
	{ .name = "logical_sector_size", .type = OPT_TYPE_SIZE,
	  .help = "Logical sector size, 512 (default) or 4096 (imgtool)" },
	{ .name = "physical_sector_size", .type = OPT_TYPE_SIZE,
	  .help = "Physical sector size, 512 (default) or 4096 (imgtool)" },
	CREATE_OPT_NOCOW,
	CREATE_OPT_EXTENT_SIZE_HINT,
	CREATE_OPT_END,
};

static uint32_t default_block_size(uint64_t size)
{
	if (size > 32 * TiB)
		return 64 * VHDX_MiB;
	if (size > 100 * GiB)
		return 32 * VHDX_MiB;
	if (size > 1 * GiB)
		return 16 * VHDX_MiB;
	return 8 * VHDX_MiB;
}

static int get_size_opt(const char *filename, struct opts *opts, const char *key,
			uint64_t *v)
{
	int ret = opts_get_size(opts, key, v);

	if (ret < 0 && ret != -ENOENT)
		return err_set(ret, filename, "%s", err_get());
	return 0;
}

static int parse_opts(const char *filename, struct opts *opts, struct vhdx_params *p)
{
	const char *sub = opts_get(opts, "subformat");
	uint64_t bs = 0, log = VHDX_MiB, lss = 512, pss = 512;
	bool bsz;
	int ret;

	if (sub && !strcmp(sub, "fixed"))
		p->fixed = true;
	else if (sub && strcmp(sub, "dynamic"))
		return err_set(-EINVAL, filename,
			       "Parameter 'subformat' does not accept value '%s'", sub);
	ret = get_size_opt(filename, opts, "block_size", &bs);
	if (ret == 0)
		ret = get_size_opt(filename, opts, "log_size", &log);
	if (ret == 0)
		ret = get_size_opt(filename, opts, "logical_sector_size", &lss);
	if (ret == 0)
		ret = get_size_opt(filename, opts, "physical_sector_size", &pss);
	if (ret < 0)
		return ret;
	ret = opts_get_bool(opts, "block_state_zero", &bsz);
	if (ret < 0 && ret != -ENOENT)
		return err_set(ret, filename, "%s", err_get());
	if (bs == 0)
		bs = default_block_size(p->size);
	if (!is_power_of_2(bs) || bs < VHDX_MIN_BLOCK || bs > VHDX_MAX_BLOCK)
		return err_set(-EINVAL, filename,
			       "Block size must be a power of two between 1 MiB and 256 MiB");
	if (log < VHDX_MiB || log % VHDX_MiB || log > VHDX_MAX_LOG)
		return err_set(-EINVAL, filename,
			       "Log size must be a multiple of 1 MiB (at most %u MiB)",
			       VHDX_MAX_LOG / VHDX_MiB);
	if ((lss != 512 && lss != 4096) || (pss != 512 && pss != 4096))
		return err_set(-EINVAL, filename, "Sector sizes must be 512 or 4096");
	p->block_size = (uint32_t)bs;
	p->log_size = (uint32_t)log;
	p->logical = (uint32_t)lss;
	p->physical = (uint32_t)pss;
	return 0;
}

static int plan_layout(const char *filename, struct vhdx_params *p)
{
	if (p->size > VHDX_MAX_SIZE)
		return err_set(-EFBIG, filename, "Image size too large; max of 64TB");
	if (p->size % p->logical)
		return err_set(-EINVAL, filename,
			       "Image size must be a multiple of the logical sector size %u",
			       p->logical);
	p->chunk_ratio = ((uint64_t)VHDX_SB_SECTORS * p->logical) / p->block_size;
	p->data_blocks = div_round_up(p->size, p->block_size);
	p->bat_entries = p->data_blocks +
			 (p->data_blocks ? (p->data_blocks - 1) / p->chunk_ratio : 0);
	p->log_off = VHDX_MiB;
	p->meta_off = p->log_off + p->log_size;
	p->bat_off = p->meta_off + VHDX_MiB;
	p->bat_len = align_up(MAX(p->bat_entries * 8, 1), VHDX_MiB);
	p->data_off = p->bat_off + p->bat_len;
	return 0;
}

static void build_front(const struct vhdx_params *p, uint8_t *buf)
{
	struct vhdx_header h = { 0 };
	uint8_t *rt;

	/* file type identifier */
	memcpy(buf, VHDX_FILE_ID_SIG, 8);
	for (size_t i = 0; i < strlen(VHDX_CREATOR); i++)
		store_le16(buf + 8 + 2 * i, (uint8_t)VHDX_CREATOR[i]);
	/* headers: the same content, the second one current */
	vhdx_guid_random(&h.file_write_guid);
	vhdx_guid_random(&h.data_write_guid);
	h.version = 1;
	h.log_length = p->log_size;
	h.log_offset = p->log_off;
	h.seq = 1;
	vhdx_header_encode(&h, buf + VHDX_HEADER1_OFF);
	h.seq = 2;
	vhdx_header_encode(&h, buf + VHDX_HEADER2_OFF);
	/* region tables */
	rt = buf + VHDX_REGION1_OFF;
	memcpy(rt, VHDX_REGION_SIG, 4);
	store_le32(rt + 8, 2);
	memcpy(rt + 16, vhdx_guid_bat_region.b, 16);
	store_le64(rt + 32, p->bat_off);
	store_le32(rt + 40, (uint32_t)p->bat_len);
	store_le32(rt + 44, 1);
	memcpy(rt + 48, vhdx_guid_metadata_region.b, 16);
	store_le64(rt + 64, p->meta_off);
	store_le32(rt + 72, VHDX_MiB);
	store_le32(rt + 76, 1);
	store_le32(rt + 4, vhdx_checksum(rt, VHDX_REGION_SIZE, 4));
	memcpy(buf + VHDX_REGION2_OFF, rt, VHDX_REGION_SIZE);
}

static void meta_entry(uint8_t *tbl, int i, const vhdx_guid *g, uint32_t off,
		       uint32_t len, uint32_t flags)
{
	uint8_t *e = tbl + 32 + 32 * i;

	memcpy(e, g->b, 16);
	store_le32(e + 16, off);
	store_le32(e + 20, len);
	store_le32(e + 24, flags);
}

/* The metadata table and its items (64 KiB table, items right after). */
static void build_metadata(const struct vhdx_params *p, uint8_t *m)
{
	const uint32_t base = VHDX_METADATA_TABLE_SIZE;
	const uint32_t vd = VHDX_META_IS_VDISK | VHDX_META_REQUIRED;
	vhdx_guid page83;

	memcpy(m, VHDX_METADATA_SIG, 8);
	store_le16(m + 10, 5);
	meta_entry(m, 0, &vhdx_guid_file_params, base, 8, VHDX_META_REQUIRED);
	meta_entry(m, 1, &vhdx_guid_disk_size, base + 8, 8, vd);
	meta_entry(m, 2, &vhdx_guid_page83, base + 16, 16, vd);
	meta_entry(m, 3, &vhdx_guid_logical_sector, base + 32, 4, vd);
	meta_entry(m, 4, &vhdx_guid_physical_sector, base + 36, 4, vd);
	store_le32(m + base, p->block_size);
	store_le32(m + base + 4, p->fixed ? VHDX_PARAM_LEAVE_ALLOCATED : 0);
	store_le64(m + base + 8, p->size);
	vhdx_guid_random(&page83);
	memcpy(m + base + 16, page83.b, 16);
	store_le32(m + base + 32, p->logical);
	store_le32(m + base + 36, p->physical);
}

/* The BAT in 1 MiB pieces: fixed blocks in order, dynamic all not present. */
static int write_bat(struct backend *be, const struct vhdx_params *p, uint8_t *buf)
{
	const uint64_t per = VHDX_MiB / 8;
	int ret = 0;

	for (uint64_t first = 0; first < p->bat_entries && ret == 0; first += per) {
		uint64_t n = MIN(per, p->bat_entries - first);

		memset(buf, 0, VHDX_MiB);
		for (uint64_t i = 0; p->fixed && i < n; i++) {
			uint64_t idx = first + i;
			uint64_t blk;

			if ((idx + 1) % (p->chunk_ratio + 1) == 0)
				continue;   /* sector bitmap entry: not present */
			blk = idx - idx / (p->chunk_ratio + 1);
			store_le64(buf + 8 * i, (p->data_off + blk * p->block_size) |
						    VHDX_PAYLOAD_FULLY_PRESENT);
		}
		if (p->fixed)
			ret = backend_pwrite(be, buf, (size_t)(n * 8), p->bat_off + first * 8);
	}
	return ret;
}

int vhdx_create(struct backend *be, const char *filename, uint64_t size, struct opts *opts)
{
	struct vhdx_params p = { .size = size };
	uint64_t end;
	uint8_t *buf = NULL;
	int ret = parse_opts(filename, opts, &p);

	if (ret == 0)
		ret = plan_layout(filename, &p);
	if (ret < 0)
		return ret;
	buf = calloc(1, VHDX_MiB);
	if (!buf)
		return err_set(-ENOMEM, filename, "out of memory");
	end = p.fixed ? p.data_off + p.data_blocks * p.block_size : p.data_off;
	ret = backend_truncate(be, end);
	if (ret == 0) {
		build_front(&p, buf);
		ret = backend_pwrite(be, buf, VHDX_MiB, 0);
	}
	if (ret == 0) {
		memset(buf, 0, VHDX_MiB);
		build_metadata(&p, buf);
		ret = backend_pwrite(be, buf, VHDX_MiB, p.meta_off);
	}
	if (ret == 0)
		ret = write_bat(be, &p, buf);
	if (ret == 0)
		ret = backend_flush(be);
	free(buf);
	return ret;
}
