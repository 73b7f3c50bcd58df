/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gen_bad_vdi.c - write malformed VDI images for the bad-input suite.
 *
 * usage: gen_bad_vdi OUTDIR
 *
 * Every image starts from a small valid dynamic VDI laid out as qemu-img writes
 * one, then one thing is broken.  OUTDIR/MANIFEST lists "name kind" per line
 * with the kinds of gen_bad_qcow2 (valid, reject, corrupt, either, loop, any).
 *
 * Base layout (4 MiB virtual, 1 MiB blocks): 0 header, 0x200 block map
 * [0, -, 1, -], 0x400 data blocks 0 and 1 (guest blocks 0 and 2).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bswap.h"
#include "tests/bad-input/gen_bad.h"
#include "formats/vdi/vdi.h"

#define BLOCKS 4u
#define DATA_OFF 0x400u

static uint8_t *img;
static size_t img_len;

static void base(void)
{
	static const uint32_t bmap[BLOCKS] = { 0, VDI_UNALLOCATED, 1, VDI_UNALLOCATED };

	img_len = DATA_OFF + 2 * VDI_BLOCK_SIZE;
	img = calloc(1, img_len);
	if (!img)
		exit(1);
	memcpy(img, VDI_TEXT_QEMU, strlen(VDI_TEXT_QEMU));
	store_le32(img + VDI_OFF_SIGNATURE, VDI_SIGNATURE);
	store_le32(img + VDI_OFF_VERSION, VDI_VERSION_1_1);
	store_le32(img + VDI_OFF_HEADER_SIZE, VDI_HEADER_SIZE_QEMU);
	store_le32(img + VDI_OFF_TYPE, VDI_TYPE_DYNAMIC);
	store_le32(img + VDI_OFF_BMAP, VDI_HEADER_BYTES);
	store_le32(img + VDI_OFF_DATA, DATA_OFF);
	store_le32(img + VDI_OFF_SECTOR_SIZE, VDI_SECTOR);
	store_le64(img + VDI_OFF_DISK_SIZE, (uint64_t)BLOCKS * VDI_BLOCK_SIZE);
	store_le32(img + VDI_OFF_BLOCK_SIZE, VDI_BLOCK_SIZE);
	store_le32(img + VDI_OFF_BLOCKS, BLOCKS);
	store_le32(img + VDI_OFF_ALLOCATED, 2);
	img[VDI_OFF_UUID_IMAGE] = 0x42;
	for (unsigned i = 0; i < BLOCKS; i++)
		store_le32(img + VDI_HEADER_BYTES + 4 * i, bmap[i]);
	for (size_t i = 0; i < 2 * VDI_BLOCK_SIZE; i += 4096)
		memset(img + DATA_OFF + i, (int)(0x11 + i / 4096), 64);
}

static void emit(const char *name, const char *kind)
{
	gen_emit(name, kind, img, img_len);
	free(img);
	img = NULL;
}

static void set32(const char *name, const char *kind, size_t off, uint32_t v)
{
	base();
	store_le32(img + off, v);
	emit(name, kind);
}

int main(int argc, char **argv)
{
	gen_start(argc, argv);
	base();
	emit("valid.vdi", "valid");
	set32("bad-signature.vdi", "reject", VDI_OFF_SIGNATURE, 0xbeda107e);
	set32("bad-version.vdi", "reject", VDI_OFF_VERSION, 0x00010000);
	set32("block-size-64k.vdi", "reject", VDI_OFF_BLOCK_SIZE, 65536);
	set32("block-size-zero.vdi", "reject", VDI_OFF_BLOCK_SIZE, 0);
	set32("sector-size.vdi", "reject", VDI_OFF_SECTOR_SIZE, 4096);
	set32("bmap-unaligned.vdi", "reject", VDI_OFF_BMAP, 0x201);
	set32("data-unaligned.vdi", "reject", VDI_OFF_DATA, 0x401);
	set32("bmap-beyond-eof.vdi", "reject", VDI_OFF_BMAP, 0x7ffffe00);
	/* a block count qemu allows (a 512 MiB map) over a 2 MiB file: refused
	 * before anything is allocated */
	set32("blocks-huge.vdi", "reject", VDI_OFF_BLOCKS, VDI_BLOCKS_MAX);
	set32("blocks-too-many.vdi", "reject", VDI_OFF_BLOCKS, 0xfffffff0u);
	set32("allocated-too-many.vdi", "reject", VDI_OFF_ALLOCATED, BLOCKS + 1);
	set32("entry-beyond-blocks.vdi", "reject", VDI_HEADER_BYTES + 4, 1000);
	set32("uuid-parent.vdi", "reject", VDI_OFF_UUID_PARENT, 1);
	set32("uuid-link.vdi", "reject", VDI_OFF_UUID_LINK, 1);
	/* two guest blocks on one data block: readable, check finds it, no writer */
	set32("entries-overlap.vdi", "corrupt", VDI_HEADER_BYTES + 8, 0);
	set32("allocated-mismatch.vdi", "corrupt", VDI_OFF_ALLOCATED, 1);

	base();
	store_le64(img + VDI_OFF_DISK_SIZE, 5ULL * VDI_BLOCK_SIZE);
	emit("disk-size-beyond-map.vdi", "reject");
	base();
	store_le64(img + VDI_OFF_DISK_SIZE, UINT64_MAX - 10);
	emit("disk-size-huge.vdi", "reject");
	base();
	img_len = DATA_OFF + VDI_BLOCK_SIZE / 2;   /* data cut short: reads as zeros */
	emit("truncated-data.vdi", "any");
	base();
	img_len = 200;
	emit("tiny.vdi", "reject");
	base();
	img_len = 0x208;                           /* the map cut in the middle */
	emit("truncated-bmap.vdi", "reject");
	return gen_finish();
}
