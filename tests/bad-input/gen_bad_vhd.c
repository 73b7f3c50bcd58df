/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gen_bad_vhd.c - write malformed VHD ("vpc") images for the bad-input suite.
 *
 * usage: gen_bad_vhd OUTDIR
 *
 * Every image starts from a small valid dynamic disk built here, then one thing is
 * broken.  OUTDIR/MANIFEST lists "name kind" per line with the kinds of
 * gen_bad_qcow2 (valid, reject, corrupt, either, loop, any); the images must be
 * opened with -f vpc (a fixed VHD does not probe, as in qemu).
 *
 * Base layout (8 MiB virtual, 2 MiB blocks, 4 BAT entries):
 *   0 footer copy   512 dynamic header   1536 BAT (one sector)
 *   2048 block for guest block 0 (bitmap + data)   then guest block 2   then footer
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bswap.h"
#include "formats/vhd/vhd.h"

#define BLK (2u << 20)
#define VSIZE (8u << 20)
#define BAT_OFF 1536u
#define BLK0 2048u
#define BLK_SPAN (512u + BLK)

struct img {
	uint8_t *b;
	size_t len;
};

static FILE *manifest;
static const char *outdir;

static void base_footer(struct vhd_footer *f, uint32_t type, uint64_t size)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->cookie, VHD_COOKIE, 8);
	f->features = VHD_FEATURES_RESERVED;
	f->version = VHD_VERSION;
	f->data_offset = type == VHD_TYPE_FIXED ? UINT64_MAX : 512;
	memcpy(f->creator_app, "win ", 4);
	f->creator_version = 0x000a0000;
	memcpy(f->creator_os, "Wi2k", 4);
	f->orig_size = f->cur_size = size;
	vhd_chs_geometry(size / 512, &f->cyls, &f->heads, &f->spt);
	f->type = type;
	for (int i = 0; i < 16; i++)
		f->uuid[i] = (uint8_t)(0x40 + i);
}

static void base_header(struct vhd_dyn_header *h)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->cookie, VHD_DYN_COOKIE, 8);
	h->data_offset = UINT64_MAX;
	h->table_offset = BAT_OFF;
	h->version = VHD_VERSION;
	h->max_entries = VSIZE / BLK;
	h->block_size = BLK;
}

/* Lay out the base image from a footer and a header (both may be altered). */
static void build(struct img *im, const struct vhd_footer *f, const struct vhd_dyn_header *h)
{
	im->len = BLK0 + 2 * BLK_SPAN + 512;
	im->b = calloc(1, im->len);
	if (!im->b)
		exit(1);
	vhd_footer_encode(f, im->b);
	vhd_dyn_header_encode(h, im->b + 512);
	memset(im->b + BAT_OFF, 0xff, 512);
	store_be32(im->b + BAT_OFF, BLK0 / 512);
	store_be32(im->b + BAT_OFF + 8, (BLK0 + BLK_SPAN) / 512);
	for (int k = 0; k < 2; k++) {
		uint8_t *bm = im->b + BLK0 + (size_t)k * BLK_SPAN;

		memset(bm, 0xff, 512);
		for (uint32_t i = 0; i < BLK; i += 4096)
			memset(bm + 512 + i, (int)(0x11 * (k + 1) + i / 4096), 64);
	}
	vhd_footer_encode(f, im->b + im->len - 512);
}

static void base(struct img *im)
{
	struct vhd_footer f;
	struct vhd_dyn_header h;

	base_footer(&f, VHD_TYPE_DYNAMIC, VSIZE);
	base_header(&h);
	build(im, &f, &h);
}

static void emit(struct img *im, const char *name, const char *kind)
{
	char path[4096];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	fp = fopen(path, "wb");
	if (!fp || fwrite(im->b, 1, im->len, fp) != im->len || fclose(fp)) {
		perror(path);
		exit(1);
	}
	fprintf(manifest, "%s %s\n", name, kind);
	free(im->b);
	im->b = NULL;
}

/* Re-encode both footers / the header after editing their bytes in place. */
static void refoot(struct img *im)
{
	struct vhd_footer f;

	vhd_footer_decode(im->b, &f);
	vhd_footer_encode(&f, im->b);
	vhd_footer_encode(&f, im->b + im->len - 512);
}

static void rehead(struct img *im)
{
	store_be32(im->b + 512 + 36, vhd_checksum(im->b + 512, 1024, 36));
}

static void gen_header_cases(void)
{
	struct img im;

	base(&im);
	emit(&im, "valid.vhd", "valid");

	base(&im);
	im.b[100] ^= 1;
	emit(&im, "footer-checksum.vhd", "reject");

	base(&im);
	store_be32(im.b + 512 + 32, 3u << 20);
	rehead(&im);
	emit(&im, "blocksize-not-pow2.vhd", "reject");

	base(&im);
	store_be32(im.b + 512 + 32, 1u << 31);
	rehead(&im);
	emit(&im, "blocksize-huge.vhd", "reject");

	base(&im);
	store_be32(im.b + 512 + 32, 256);
	rehead(&im);
	emit(&im, "blocksize-tiny.vhd", "reject");

	base(&im);
	store_be32(im.b + 512 + 28, 1);
	rehead(&im);
	emit(&im, "entries-too-few.vhd", "reject");

	base(&im);
	store_be32(im.b + 512 + 28, 0xffffffffu);
	rehead(&im);
	emit(&im, "entries-huge.vhd", "reject");

	base(&im);
	store_be64(im.b + 512 + 16, 1ULL << 62);
	rehead(&im);
	emit(&im, "bat-offset-eof.vhd", "reject");

	base(&im);
	store_be64(im.b + 16, 1ULL << 61);
	refoot(&im);
	emit(&im, "header-offset-eof.vhd", "reject");

	base(&im);
	memcpy(im.b + 512, "cxsparsX", 8);
	emit(&im, "header-magic.vhd", "reject");

	base(&im);
	store_be64(im.b + 48, 1ULL << 60);
	refoot(&im);
	emit(&im, "size-huge.vhd", "reject");

	base(&im);
	store_be32(im.b + 60, 5);
	refoot(&im);
	emit(&im, "type-unknown.vhd", "reject");

	base(&im);
	im.len = 200;
	emit(&im, "tiny.vhd", "reject");

	/* qemu ignores the header checksum; we open it and check reports it */
	base(&im);
	im.b[512 + 900] ^= 0x20;
	emit(&im, "header-checksum.vhd", "corrupt");
}

static void gen_bat_cases(void)
{
	struct img im;

	base(&im);
	store_be32(im.b + BAT_OFF + 4, 0x7fffff00u);
	emit(&im, "bat-entry-eof.vhd", "corrupt");

	base(&im);
	store_be32(im.b + BAT_OFF + 12, BLK0 / 512);       /* same block twice */
	emit(&im, "bat-overlap.vhd", "corrupt");

	base(&im);
	store_be32(im.b + BAT_OFF + 4, 1);                 /* a block over the header */
	emit(&im, "bat-over-metadata.vhd", "corrupt");

	base(&im);
	im.len -= BLK_SPAN;                                /* cut in the last block */
	emit(&im, "truncated.vhd", "corrupt");

	base(&im);
	memset(im.b + im.len - 512, 0, 512);               /* footer at end gone */
	emit(&im, "footer-end-missing.vhd", "corrupt");
}

/* A differencing disk: header, locator data, BAT, one block. */
static void diff_image(struct img *im, const char *locator, uint64_t loc_off,
		       const uint8_t *parent_uuid)
{
	struct vhd_footer f;
	struct vhd_dyn_header h;
	size_t n = strlen(locator);

	base_footer(&f, VHD_TYPE_DIFF, VSIZE);
	f.uuid[0] = 0x99;
	base_header(&h);
	memcpy(h.parent_uuid, parent_uuid, 16);
	h.loc[0].platform = VHD_PLAT_W2RU;
	h.loc[0].data_space = 1;
	h.loc[0].data_length = (uint32_t)(2 * n);
	h.loc[0].data_offset = loc_off;
	build(im, &f, &h);
	/* the locator text lives in the first block's bitmap sector: move the
	 * block out of the way (unallocated) and store UTF-16LE there */
	store_be32(im->b + BAT_OFF, 0xffffffffu);
	memset(im->b + BLK0, 0, 512);
	for (size_t i = 0; i < n && loc_off == BLK0; i++)
		store_le16(im->b + BLK0 + 2 * i, (uint8_t)locator[i]);
}

static void gen_chain_cases(void)
{
	struct img im;
	struct vhd_footer f;
	uint8_t self[16], other[16];

	base_footer(&f, VHD_TYPE_DIFF, VSIZE);
	memcpy(self, f.uuid, 16);
	self[0] = 0x99;
	memset(other, 0x5a, 16);

	diff_image(&im, "diff-loop.vhd", BLK0, self);
	emit(&im, "diff-loop.vhd", "loop");

	diff_image(&im, "valid.vhd", BLK0, other);     /* valid.vhd has another id */
	emit(&im, "diff-wrong-parent-id.vhd", "loop");

	diff_image(&im, "valid.vhd", 1ULL << 50, other);
	emit(&im, "diff-locator-eof.vhd", "reject");

	diff_image(&im, "missing-parent.vhd", BLK0, other);
	emit(&im, "diff-parent-missing.vhd", "loop");
}

int main(int argc, char **argv)
{
	char path[4096];

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	snprintf(path, sizeof(path), "%s/MANIFEST", outdir);
	manifest = fopen(path, "w");
	if (!manifest) {
		perror(path);
		return 1;
	}
	gen_header_cases();
	gen_bat_cases();
	gen_chain_cases();
	return fclose(manifest) ? 1 : 0;
}
