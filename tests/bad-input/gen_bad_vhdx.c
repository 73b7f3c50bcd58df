/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gen_bad_vhdx.c - write malformed VHDX images for the bad-input suite.
 *
 * usage: gen_bad_vhdx OUTDIR
 *
 * Every image starts from a small valid dynamic disk made by the library (8 MiB,
 * 1 MiB blocks, data in blocks 0 and 2), then one thing is broken and the
 * checksums are recomputed unless the damage is the checksum.  OUTDIR/MANIFEST
 * lists "name kind" per line with the kinds of gen_bad_qcow2 (valid, reject,
 * corrupt, either, loop, any); open them with -f vhdx.
 *
 * Base layout (vhdx_create): headers at 64/128 KiB, region tables at 192/256 KiB,
 * log 1 MiB at 1 MiB, metadata at 2 MiB, BAT at 3 MiB, blocks from 4 MiB.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bswap.h"
#include "common/err.h"
#include "common/opts.h"
#include "formats/format.h"
#include "formats/vhdx/vhdx.h"

#define MB (1024u * 1024)
#define LOG_OFF (1 * MB)
#define META_OFF (2 * MB)
#define BAT_OFF (3 * MB)

struct img {
	uint8_t *b;
	size_t len;
};

static FILE *manifest;
static const char *outdir;
static struct img base_img;

static void die(const char *what)
{
	fprintf(stderr, "gen_bad_vhdx: %s: %s\n", what, err_get());
	exit(1);
}

static void make_base(void)
{
	char path[4096];
	struct opts o = { 0 };
	struct image *img;
	uint8_t *buf = malloc(MB);
	FILE *fp;

	snprintf(path, sizeof(path), "%s/.base.vhdx", outdir);
	if (!buf || opts_parse(&o, "block_size=1M") < 0 ||
	    image_create(path, "vhdx", 8 * MB, &o) < 0)
		die("create");
	opts_free(&o);
	if (image_open(path, "vhdx", IMG_RDWR, &img) < 0)
		die("open");
	for (int k = 0; k < 2; k++) {
		for (uint32_t i = 0; i < MB; i++)
			buf[i] = (uint8_t)(i * 7 + k);
		if (image_write(img, buf, (uint64_t)k * 2 * MB, MB) < 0)
			die("write");
	}
	image_close(img);
	free(buf);
	fp = fopen(path, "rb");
	if (!fp)
		die("reopen");
	fseek(fp, 0, SEEK_END);
	base_img.len = (size_t)ftell(fp);
	rewind(fp);
	base_img.b = malloc(base_img.len);
	if (!base_img.b || fread(base_img.b, 1, base_img.len, fp) != base_img.len)
		die("read");
	fclose(fp);
	remove(path);
}

static void base(struct img *im)
{
	im->len = base_img.len;
	im->b = malloc(im->len);
	if (!im->b)
		exit(1);
	memcpy(im->b, base_img.b, im->len);
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

static void recrc(struct img *im, size_t off, size_t len)
{
	store_le32(im->b + off + 4, vhdx_checksum(im->b + off, len, 4));
}

static void fix_headers(struct img *im)
{
	recrc(im, VHDX_HEADER1_OFF, VHDX_HEADER_SIZE);
	recrc(im, VHDX_HEADER2_OFF, VHDX_HEADER_SIZE);
}

static void fix_regions(struct img *im)
{
	recrc(im, VHDX_REGION1_OFF, VHDX_REGION_SIZE);
	memcpy(im->b + VHDX_REGION2_OFF, im->b + VHDX_REGION1_OFF, VHDX_REGION_SIZE);
}

static void gen_header_cases(void)
{
	struct img im;

	base(&im);
	emit(&im, "valid.vhdx", "valid");

	base(&im);
	im.b[VHDX_HEADER1_OFF + 4] ^= 1;
	im.b[VHDX_HEADER2_OFF + 4] ^= 1;
	emit(&im, "header-crc-both.vhdx", "reject");

	base(&im);   /* the current header (2) is damaged: header 1 still opens */
	im.b[VHDX_HEADER2_OFF + 100] ^= 1;
	emit(&im, "header-crc-one.vhdx", "corrupt");

	base(&im);
	memcpy(im.b, "vhdxfilX", 8);
	emit(&im, "bad-file-id.vhdx", "reject");

	base(&im);
	store_le16(im.b + VHDX_HEADER1_OFF + 66, 2);
	store_le16(im.b + VHDX_HEADER2_OFF + 66, 2);
	fix_headers(&im);
	emit(&im, "header-version.vhdx", "reject");

	base(&im);   /* log beyond the end of the file */
	store_le64(im.b + VHDX_HEADER1_OFF + 72, 1024ULL * MB);
	store_le64(im.b + VHDX_HEADER2_OFF + 72, 1024ULL * MB);
	im.b[VHDX_HEADER1_OFF + 48] = im.b[VHDX_HEADER2_OFF + 48] = 1;
	fix_headers(&im);
	emit(&im, "log-past-eof.vhdx", "reject");

	base(&im);
	im.len = 200 * 1024;
	emit(&im, "truncated-200k.vhdx", "reject");
}

static void gen_region_cases(void)
{
	struct img im;

	base(&im);
	im.b[VHDX_REGION1_OFF + 20] ^= 1;
	im.b[VHDX_REGION2_OFF + 20] ^= 1;
	emit(&im, "region-crc-both.vhdx", "reject");

	base(&im);   /* BAT region moved onto the metadata region */
	store_le64(im.b + VHDX_REGION1_OFF + 32, META_OFF);
	fix_regions(&im);
	emit(&im, "region-overlap.vhdx", "reject");

	base(&im);   /* metadata region inside the log */
	store_le64(im.b + VHDX_REGION1_OFF + 64, LOG_OFF);
	fix_regions(&im);
	emit(&im, "region-overlap-log.vhdx", "reject");

	base(&im);
	store_le32(im.b + VHDX_REGION1_OFF + 8, 100000);
	fix_regions(&im);
	emit(&im, "region-count-huge.vhdx", "reject");

	base(&im);
	store_le64(im.b + VHDX_REGION1_OFF + 32, 1ULL << 50);
	fix_regions(&im);
	emit(&im, "region-bat-past-eof.vhdx", "reject");
}

static void gen_meta_cases(void)
{
	struct img im;
	uint8_t *items = NULL;

	base(&im);
	items = im.b + META_OFF + VHDX_METADATA_TABLE_SIZE;
	store_le32(items, 3 * MB);
	emit(&im, "block-size-bad.vhdx", "reject");

	base(&im);
	store_le64(im.b + META_OFF + VHDX_METADATA_TABLE_SIZE + 8, 1ULL << 62);
	emit(&im, "disk-size-huge.vhdx", "reject");

	base(&im);   /* item 1 (disk size) points past the metadata region */
	store_le32(im.b + META_OFF + 32 + 32 + 16, 0xfffffff0u);
	emit(&im, "meta-item-outside.vhdx", "reject");

	base(&im);
	store_le16(im.b + META_OFF + 10, 60000);
	emit(&im, "meta-count-huge.vhdx", "reject");

	base(&im);   /* an unknown item marked required */
	im.b[META_OFF + 32 + 2 * 32] ^= 0x55;
	emit(&im, "meta-unknown-required.vhdx", "reject");

	base(&im);   /* has_parent without a locator */
	store_le32(im.b + META_OFF + VHDX_METADATA_TABLE_SIZE + 4, 2);
	emit(&im, "diff-no-locator.vhdx", "reject");
}

static void gen_bat_cases(void)
{
	struct img im;

	base(&im);
	store_le64(im.b + BAT_OFF, (4096ULL * MB) | 6);
	emit(&im, "bat-past-eof.vhdx", "either");

	base(&im);
	store_le64(im.b + BAT_OFF, 0 | 6);
	emit(&im, "bat-into-header.vhdx", "either");

	base(&im);
	store_le64(im.b + BAT_OFF + 8, 4);
	emit(&im, "bat-bad-state.vhdx", "reject");

	base(&im);
	store_le64(im.b + BAT_OFF + 8, (4ULL * MB) | 7);
	emit(&im, "bat-partial-no-parent.vhdx", "reject");

	base(&im);   /* blocks 0 and 2 share one place */
	memcpy(im.b + BAT_OFF + 16, im.b + BAT_OFF, 8);
	emit(&im, "bat-overlap.vhdx", "corrupt");
}

/* One log entry of zero descriptors at sector sec. */
static void put_entry(struct img *im, const uint8_t *guid, uint32_t sec, uint32_t len,
		      uint32_t tail, uint64_t seq, uint64_t zoff, bool good_crc)
{
	uint8_t *e = im->b + LOG_OFF + (size_t)sec * 4096;

	memset(e, 0, len);
	memcpy(e, "loge", 4);
	store_le32(e + 8, len);
	store_le32(e + 12, tail);
	store_le64(e + 16, seq);
	store_le32(e + 24, 1);
	memcpy(e + 32, guid, 16);
	store_le64(e + 48, im->len);
	store_le64(e + 56, im->len);
	memcpy(e + 64, "zero", 4);
	store_le64(e + 72, 4096);
	store_le64(e + 80, zoff);
	store_le64(e + 88, seq);
	store_le32(e + 4, vhdx_checksum(e, len, 4) ^ (good_crc ? 0 : 1));
}

static void with_log_guid(struct img *im, const uint8_t *guid)
{
	memcpy(im->b + VHDX_HEADER1_OFF + 48, guid, 16);
	memcpy(im->b + VHDX_HEADER2_OFF + 48, guid, 16);
	fix_headers(im);
}

static void gen_log_cases(void)
{
	static const uint8_t g[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	uint64_t unused = 7 * MB;   /* zeroing past the blocks: harmless */
	struct img im;

	base(&im);   /* a whole-log circle of 256 entries: bounded walk, replays */
	with_log_guid(&im, g);
	for (uint32_t i = 0; i < 256; i++)
		put_entry(&im, g, i, 4096, 0, 100 + i, unused, true);
	emit(&im, "log-full-circle.vhdx", "corrupt");   /* check: needs replay */

	base(&im);   /* the same circle, tails pointing round and round */
	with_log_guid(&im, g);
	for (uint32_t i = 0; i < 256; i++)
		put_entry(&im, g, i, 4096, ((i + 1) % 256) * 4096, 100 + i, unused, true);
	emit(&im, "log-loop.vhdx", "any");

	base(&im);   /* an entry that wraps past the end of the log */
	with_log_guid(&im, g);
	put_entry(&im, g, 255, 4096, 255 * 4096, 9, unused, true);
	store_le32(im.b + LOG_OFF + 255 * 4096 + 8, 8192);
	emit(&im, "log-wrap-torn.vhdx", "reject");

	base(&im);
	with_log_guid(&im, g);
	put_entry(&im, g, 0, 4096, 0, 5, unused, false);
	emit(&im, "log-bad-crc.vhdx", "reject");

	base(&im);   /* a valid entry that zeroes the headers */
	with_log_guid(&im, g);
	put_entry(&im, g, 0, 4096, 0, 5, 64 * 1024, true);
	emit(&im, "log-writes-header.vhdx", "reject");

	base(&im);   /* a valid entry that zeroes the BAT: block 0 reads as zeros */
	with_log_guid(&im, g);
	put_entry(&im, g, 0, 4096, 0, 5, BAT_OFF, true);
	emit(&im, "log-zero-bat.vhdx", "corrupt");
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
	make_base();
	gen_header_cases();
	gen_region_cases();
	gen_meta_cases();
	gen_bat_cases();
	gen_log_cases();
	free(base_img.b);
	return fclose(manifest) ? 1 : 0;
}
