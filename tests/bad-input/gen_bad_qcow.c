/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gen_bad_qcow.c - write malformed qcow (version 1) images for the bad-input
 * suite.
 *
 * usage: gen_bad_qcow OUTDIR
 *
 * Every image starts from a small valid qcow laid out as qemu-img writes one,
 * then one header field or table entry is broken.  OUTDIR/MANIFEST lists "name
 * kind" per line with the kinds of gen_bad_qcow2.  Only images refused at open
 * are listed: qcow has no check (as in qemu-img, `check` exits 63), which the
 * suite's rules for a readable image do not expect; reading is covered by
 * tests/interop/test_qcow.sh.
 *
 * Base layout (8 MiB virtual, 4 KiB clusters, 512-entry L2 tables): 0 header,
 * 48 backing file name (when set), 64 L1 table (4 entries), 4096 L2 table,
 * 8192 one data cluster (guest cluster 0).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bswap.h"
#include "tests/bad-input/gen_bad.h"
#include "formats/qcow/qcow.h"

#define L1_OFF 64u
#define L2_OFF 4096u
#define DATA_OFF 8192u

static uint8_t img[3 * 4096];
static size_t img_len;

static void base(void)
{
	memset(img, 0, sizeof(img));
	img_len = sizeof(img);
	store_be32(img, QCOW_MAGIC);
	store_be32(img + 4, QCOW_VERSION);
	store_be64(img + 24, 8u << 20);
	img[32] = 12;
	img[33] = 9;
	store_be64(img + 40, L1_OFF);
	store_be64(img + L1_OFF, L2_OFF);
	store_be64(img + L2_OFF, DATA_OFF);
	memset(img + DATA_OFF, 0x5a, 4096);
}

static void emit(const char *name, const char *kind)
{
	gen_emit(name, kind, img, img_len);
}

static void set32(const char *name, size_t off, uint32_t v)
{
	base();
	store_be32(img + off, v);
	emit(name, "reject");
}

static void set64(const char *name, size_t off, uint64_t v)
{
	base();
	store_be64(img + off, v);
	emit(name, "reject");
}

static void set8(const char *name, size_t off, uint8_t v)
{
	base();
	img[off] = v;
	emit(name, "reject");
}

int main(int argc, char **argv)
{
	gen_start(argc, argv);
	set32("bad-magic.qcow", 0, 0x514649fa);
	set32("version-2.qcow", 4, 2);
	set32("version-0.qcow", 4, 0);
	set64("size-one.qcow", 24, 1);
	set64("size-huge.qcow", 24, UINT64_MAX - 100);
	/* a size whose L1 table (2^40 entries' worth) is far past the file */
	set64("size-l1-beyond-eof.qcow", 24, 1ULL << 60);
	set8("cluster-bits-8.qcow", 32, 8);
	set8("cluster-bits-17.qcow", 32, 17);
	set8("l2-bits-5.qcow", 33, 5);
	set8("l2-bits-14.qcow", 33, 14);
	set32("encrypted-aes.qcow", 36, 1);
	set32("encrypted-unknown.qcow", 36, 7);
	set64("l1-beyond-eof.qcow", 40, 1ULL << 40);
	set64("l2-beyond-eof.qcow", L1_OFF, 1ULL << 40);
	set64("l2-overflow.qcow", L1_OFF, UINT64_MAX - 100);

	base();
	store_be64(img + 8, 48);
	store_be32(img + 16, 5000);
	emit("backing-name-long.qcow", "reject");
	base();
	store_be64(img + 8, 1ULL << 40);
	store_be32(img + 16, 8);
	emit("backing-name-beyond-eof.qcow", "reject");
	/* a backing file that is the image itself */
	base();
	store_be64(img + 8, 48);
	store_be32(img + 16, 14);
	memcpy(img + 48, "self-loop.qcow", 14);
	emit("self-loop.qcow", "loop");
	base();
	img_len = 40;
	emit("tiny.qcow", "reject");
	return gen_finish();
}
