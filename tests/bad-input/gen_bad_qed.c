/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gen_bad_qed.c - write malformed QED images for the bad-input suite.
 *
 * usage: gen_bad_qed OUTDIR
 *
 * Every image starts from a small valid QED laid out as qemu-img writes one,
 * then one header field or table entry is broken.  OUTDIR/MANIFEST lists "name
 * kind" per line with the kinds of gen_bad_qcow2.  Images refused at open are
 * "reject"; broken L2 entries, found only when read, are "any" (no crash, clean
 * messages).  Reading valid images is covered by tests/interop/test_qed.sh.
 *
 * Base layout (8 MiB virtual, 4 KiB clusters, one-cluster tables of 512
 * entries, a one-cluster header): 0 header, 64 backing file name (when set),
 * 4096 L1 table, 8192 L2 table, 12288 one data cluster (guest cluster 0).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bswap.h"
#include "tests/bad-input/gen_bad.h"
#include "formats/qed/qed.h"

#define L1_OFF 4096u
#define L2_OFF 8192u
#define DATA_OFF 12288u

static uint8_t img[4 * 4096];
static size_t img_len;

static void base(void)
{
	memset(img, 0, sizeof(img));
	img_len = sizeof(img);
	store_le32(img, QED_MAGIC);
	store_le32(img + 4, 4096);
	store_le32(img + 8, 1);
	store_le32(img + 12, 1);
	store_le64(img + 40, L1_OFF);
	store_le64(img + 48, 8u << 20);
	store_le64(img + L1_OFF, L2_OFF);
	store_le64(img + L2_OFF, DATA_OFF);
	memset(img + DATA_OFF, 0x5a, 4096);
}

static void set32(const char *name, size_t off, uint32_t v, const char *kind)
{
	base();
	store_le32(img + off, v);
	gen_emit(name, kind, img, img_len);
}

static void set64(const char *name, size_t off, uint64_t v, const char *kind)
{
	base();
	store_le64(img + off, v);
	gen_emit(name, kind, img, img_len);
}

/* a backing file name at offset, size bytes, with the backing feature */
static void backing(const char *name, uint32_t offset, uint32_t size)
{
	base();
	store_le64(img + 16, QED_F_BACKING_FILE);
	store_le32(img + 56, offset);
	store_le32(img + 60, size);
	gen_emit(name, "reject", img, img_len);
}

int main(int argc, char **argv)
{
	gen_start(argc, argv);
	set32("bad-magic.qed", 0, 0x00444552, "reject");
	set32("cluster-size-not-pow2.qed", 4, 4096 + 512, "reject");
	set32("cluster-size-2k.qed", 4, 2048, "reject");
	set32("cluster-size-128m.qed", 4, 128u << 20, "reject");
	set32("cluster-size-zero.qed", 4, 0, "reject");
	set32("table-size-0.qed", 8, 0, "reject");
	set32("table-size-3.qed", 8, 3, "reject");
	set32("table-size-32.qed", 8, 32, "reject");
	set32("header-size-0.qed", 12, 0, "reject");
	set32("header-size-huge.qed", 12, UINT32_MAX, "reject");
	/* the L1 table would lie inside the header */
	set32("header-size-over-l1.qed", 12, 2, "reject");
	set64("features-unknown.qed", 16, 0x10, "reject");
	set64("l1-beyond-eof.qed", 40, 1ULL << 40, "reject");
	set64("l1-unaligned.qed", 40, L1_OFF + 8, "reject");
	set64("l1-in-header.qed", 40, 0, "reject");
	set64("l1-overflow.qed", 40, UINT64_MAX - 4095, "reject");
	set64("size-unaligned.qed", 48, (8u << 20) + 1, "reject");
	set64("size-beyond-tables.qed", 48, 2ULL << 30, "reject");
	set64("size-huge.qed", 48, UINT64_MAX - 511, "reject");
	set64("l2-beyond-eof.qed", L1_OFF, 1ULL << 40, "any");
	set64("l2-unaligned.qed", L1_OFF, L2_OFF + 8, "any");
	set64("data-beyond-eof.qed", L2_OFF, 1ULL << 40, "any");
	set64("data-in-header.qed", L2_OFF, 2, "any");
	backing("backing-name-beyond-header.qed", 4000, 200);
	backing("backing-offset-huge.qed", UINT32_MAX, 8);
	backing("backing-size-huge.qed", 64, UINT32_MAX);
	base();
	img_len = 40;
	gen_emit("tiny.qed", "reject", img, img_len);
	return gen_finish();
}
