/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gen_bad_parallels.c - write malformed Parallels images for the bad-input suite.
 *
 * usage: gen_bad_parallels OUTDIR
 *
 * Every image starts from a small valid image laid out as qemu-img writes one,
 * then one header field is broken.  OUTDIR/MANIFEST lists "name kind" per line
 * with the kinds of gen_bad_qcow2.  Only images refused at open are listed: the
 * read-only driver has no check, which the suite's rules for a readable image
 * do not expect; reading is covered by tests/interop/test_parallels.sh.
 *
 * Base layout (512 KiB virtual, 64 KiB clusters, "WithouFreSpacExt"): 0 header,
 * 64 BAT (8 entries: cluster 1 for guest cluster 0, 2 for guest cluster 3),
 * 64 KiB and 128 KiB the data clusters.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bswap.h"
#include "tests/bad-input/gen_bad.h"
#include "formats/parallels/parallels.h"

#define TRACKS 128u
#define CLUSTER (TRACKS * 512u)

static uint8_t img[3 * CLUSTER];
static size_t img_len;

static void base(void)
{
	memset(img, 0, sizeof(img));
	img_len = sizeof(img);
	memcpy(img, PRL_MAGIC_EXT, 16);
	store_le32(img + 16, PRL_VERSION);
	store_le32(img + 20, 16);          /* heads */
	store_le32(img + 24, 1);           /* cylinders */
	store_le32(img + 28, TRACKS);
	store_le32(img + 32, 8);           /* BAT entries */
	store_le64(img + 36, 8 * TRACKS);  /* sectors */
	store_le32(img + 48, TRACKS);      /* data offset, sectors */
	store_le32(img + 64, 1);
	store_le32(img + 64 + 12, 2);
	memset(img + CLUSTER, 0x5a, CLUSTER);
	memset(img + 2 * CLUSTER, 0xa5, CLUSTER);
}

static void emit(const char *name, const char *kind)
{
	gen_emit(name, kind, img, img_len);
}

static void set32(const char *name, size_t off, uint32_t v)
{
	base();
	store_le32(img + off, v);
	emit(name, "reject");
}

static void set64(const char *name, size_t off, uint64_t v)
{
	base();
	store_le64(img + off, v);
	emit(name, "reject");
}

int main(int argc, char **argv)
{
	gen_start(argc, argv);
	base();
	memcpy(img, "WithoutFreeSpacX", 16);
	emit("bad-magic.prl", "reject");
	set32("bad-version.prl", 16, 3);
	set32("tracks-zero.prl", 28, 0);
	set32("tracks-huge.prl", 28, 0x7fffffffu / 512);
	set32("bat-huge.prl", 32, 0x7fffffffu);
	/* a BAT qemu accepts (256 MiB) over a 192 KiB file: refused before any
	 * allocation */
	set32("bat-beyond-eof.prl", 32, 0x0fffffffu);
	set64("sectors-huge.prl", 36, UINT64_MAX / 2);
	set64("ext-beyond-eof.prl", 56, 1ULL << 40);
	set64("ext-overflow.prl", 56, UINT64_MAX / 256);
	set64("ext-bad-magic.prl", 56, 2 * TRACKS);   /* a data cluster, not an extension */
	base();
	img_len = 40;
	emit("tiny.prl", "reject");
	return gen_finish();
}
