/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vdi_create.c - creating VDI images as qemu-img 7.2 does, byte for byte apart
 * from the two random UUIDs: qemu's text line, header size 0x180, block map at
 * 0x200 (whole sectors), data right after it, 1 MiB blocks, the size rounded up
 * to a whole sector.
 *
 * Options (qemu-img's): static=on allocates every block in order at creation
 * (the data area is a hole of the file, so it reads as zeros; preallocation=falloc
 * or full fills it); nocow and extent_size_hint are accepted, without effect here.
 */
#include "vdi.h"
#include "../create_opts.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/random.h"
#include "../../common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const struct create_opt vdi_create_opts[] = {
	CREATE_OPT_SIZE("Virtual disk size"),
	{ .name = "static", .type = OPT_TYPE_BOOL, .def = "off",
	  .help = "VDI static (pre-allocated) image" },
	CREATE_OPT_NOCOW,
	CREATE_OPT_FILE_PREALLOC,
	CREATE_OPT_EXTENT_SIZE_HINT,
	CREATE_OPT_END,
};

static int random_uuid(uint8_t *u)
{
	int ret = random_bytes(u, 16);

	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);  /* version 4 */
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);  /* RFC 4122 variant */
	return ret;
}

static int build_header(uint8_t *h, uint32_t type, uint64_t size, uint32_t blocks,
			uint32_t bmap_bytes)
{
	int ret;

	memset(h, 0, VDI_HEADER_BYTES);
	memcpy(h, VDI_TEXT_QEMU, strlen(VDI_TEXT_QEMU));
	store_le32(h + VDI_OFF_SIGNATURE, VDI_SIGNATURE);
	store_le32(h + VDI_OFF_VERSION, VDI_VERSION_1_1);
	store_le32(h + VDI_OFF_HEADER_SIZE, VDI_HEADER_SIZE_QEMU);
	store_le32(h + VDI_OFF_TYPE, type);
	store_le32(h + VDI_OFF_BMAP, VDI_HEADER_BYTES);
	store_le32(h + VDI_OFF_DATA, VDI_HEADER_BYTES + bmap_bytes);
	store_le32(h + VDI_OFF_SECTOR_SIZE, VDI_SECTOR);
	store_le64(h + VDI_OFF_DISK_SIZE, size);
	store_le32(h + VDI_OFF_BLOCK_SIZE, VDI_BLOCK_SIZE);
	store_le32(h + VDI_OFF_BLOCKS, blocks);
	store_le32(h + VDI_OFF_ALLOCATED, type == VDI_TYPE_STATIC ? blocks : 0);
	ret = random_uuid(h + VDI_OFF_UUID_IMAGE);
	if (ret == 0)
		ret = random_uuid(h + VDI_OFF_UUID_SNAP);
	return ret;
}

/* The block map in 64 KiB pieces: all unallocated, or 0, 1, 2... when static. */
static int write_bmap(struct backend *be, const char *filename, uint32_t type,
		      uint32_t blocks, uint32_t bmap_bytes)
{
	const size_t chunk = 64 * KiB;
	uint8_t *buf = malloc(chunk);
	int ret = 0;

	if (!buf)
		return err_set(-ENOMEM, filename, "out of memory");
	for (uint64_t done = 0; ret == 0 && done < bmap_bytes; done += chunk) {
		size_t n = (size_t)MIN((uint64_t)chunk, bmap_bytes - done);

		memset(buf, 0, n);
		for (size_t i = 0; i < n / 4; i++) {
			uint64_t idx = done / 4 + i;

			if (idx < blocks)
				store_le32(buf + 4 * i, type == VDI_TYPE_STATIC ?
					   (uint32_t)idx : VDI_UNALLOCATED);
		}
		ret = backend_pwrite(be, buf, n, VDI_HEADER_BYTES + done);
	}
	free(buf);
	return ret;
}

static int parse_opts(const char *filename, struct opts *opts, uint32_t *type,
		      enum prealloc_mode *prealloc)
{
	const char *pre = opts_get(opts, "preallocation");
	bool is_static = false;
	int ret = opts_get_bool(opts, "static", &is_static);

	if (ret < 0 && ret != -ENOENT)
		return err_set(ret, filename, "%s", err_get());
	*type = is_static ? VDI_TYPE_STATIC : VDI_TYPE_DYNAMIC;
	*prealloc = PREALLOC_OFF;
	if (pre && parse_prealloc(pre, prealloc) < 0)
		return err_set(-EINVAL, filename, "%s", err_get());
	if (*prealloc == PREALLOC_METADATA)
		return err_set(-EINVAL, filename,
			       "Unsupported preallocation mode 'metadata' for vdi (use off, falloc or full)");
	return 0;
}

int vdi_create(struct backend *be, const char *filename, uint64_t size, struct opts *opts)
{
	const uint64_t max = (uint64_t)VDI_BLOCKS_MAX * VDI_BLOCK_SIZE;
	uint8_t header[VDI_HEADER_BYTES];
	enum prealloc_mode prealloc = PREALLOC_OFF;
	uint32_t type = VDI_TYPE_DYNAMIC, blocks, bmap_bytes;
	uint64_t data_off;
	int ret = parse_opts(filename, opts, &type, &prealloc);

	if (ret < 0)
		return ret;
	size = align_up(size, VDI_SECTOR);
	if (size > max)
		return err_set(-ENOTSUP, filename,
			       "Unsupported VDI image size (size is 0x%llx, max supported is 0x%llx)",
			       (unsigned long long)size, (unsigned long long)max);
	blocks = (uint32_t)div_round_up(size, VDI_BLOCK_SIZE);
	bmap_bytes = (uint32_t)align_up((uint64_t)blocks * 4, VDI_SECTOR);
	data_off = VDI_HEADER_BYTES + (uint64_t)bmap_bytes;
	ret = build_header(header, type, size, blocks, bmap_bytes);
	if (ret == 0)
		ret = backend_pwrite(be, header, sizeof(header), 0);
	if (ret == 0)
		ret = write_bmap(be, filename, type, blocks, bmap_bytes);
	if (ret < 0 || type != VDI_TYPE_STATIC)
		return ret;
	ret = backend_truncate(be, data_off + (uint64_t)blocks * VDI_BLOCK_SIZE);
	if (ret == 0 && prealloc == PREALLOC_FALLOC)
		ret = backend_preallocate(be, data_off, (uint64_t)blocks * VDI_BLOCK_SIZE);
	else if (ret == 0 && prealloc == PREALLOC_FULL)
		ret = backend_write_zeroes(be, data_off, (uint64_t)blocks * VDI_BLOCK_SIZE, 0);
	return ret;
}
