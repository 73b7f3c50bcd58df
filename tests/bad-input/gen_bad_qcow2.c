/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gen_bad_qcow2.c - write malformed qcow2 images for the bad-input suite.
 *
 * usage: gen_bad_qcow2 OUTDIR
 *
 * Every image starts from a small valid image built here (so the suite does not
 * depend on which qemu version made it), then one thing is broken.  Besides the
 * images, OUTDIR/MANIFEST lists "name kind" per line; run.sh checks each kind:
 *   valid     everything succeeds and check is clean (a control)
 *   reject    the image must be refused: every command fails with one message
 *   corrupt   the image opens; check must exit 2
 *   either    refusing it or opening it with check exiting 2 are both fine
 *   readfail  opens and checks clean (check does not decompress), reading fails
 *   loop      a backing chain loop: convert must fail
 *   any       only "no crash, clean error messages" is required
 *   badbitmaps   bitmaps QEMU cannot load (directory or table): info, convert and
 *             map are refused, as QEMU refuses the open
 *   badbitmaptable  a bitmap's data cluster lies past the end of the file: reads
 *             work (zeros, as in QEMU), a read-write open is refused
 *
 * Base layout (64 KiB clusters, 16 MiB virtual, refcount_order 4):
 *   0 header   1 refcount table   2 refcount block   3 L1   4 L2
 *   5 data (guest cluster 0)   6 deflate data (guest cluster 1, compressed)
 * guest cluster 2 is a plain zero cluster.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/bswap.h"

#define CB 16
#define CS (1u << CB)
#define NCL 7
#define VSIZE (16u << 20)
#define COPIED (1ULL << 63)
#define COMPRESSED (1ULL << 62)

struct img {
	uint8_t *b;
	size_t len;      /* file length */
	size_t ext_end;  /* where the next header extension goes */
};

static const char *outdir;
static FILE *manifest;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static uint8_t *cl(struct img *im, unsigned n)
{
	return im->b + (size_t)n * CS;
}

/* Grow the file to n clusters (zero-filled). */
static void resize_clusters(struct img *im, unsigned n)
{
	size_t len = (size_t)n * CS;

	im->b = realloc(im->b, len);
	if (!im->b)
		die("realloc");
	if (len > im->len)
		memset(im->b + im->len, 0, len - im->len);
	im->len = len;
}

static void set_refcount(struct img *im, unsigned cluster, uint16_t rc)
{
	store_be16(cl(im, 2) + 2 * cluster, rc);
}

static void add_ext(struct img *im, uint32_t type, const void *data, uint32_t len)
{
	uint8_t *p = im->b + im->ext_end;

	store_be32(p, type);
	store_be32(p + 4, len);
	memcpy(p + 8, data, len);
	im->ext_end += 8 + ((len + 7) & ~7u);
	store_be64(im->b + im->ext_end, 0);   /* end marker */
}

static size_t deflate_raw(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	z_stream z;
	size_t n;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		die("deflateInit2");
	z.next_in = (uint8_t *)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		die("deflate");
	n = cap - z.avail_out;
	deflateEnd(&z);
	return n;
}

static uint64_t compressed_entry(uint64_t off, size_t len)
{
	uint64_t nsect = (len + 511) / 512 - 1;   /* additional sectors */

	return COMPRESSED | (nsect << (62 - (CB - 8))) | off;
}

static void build_base(struct img *im)
{
	uint8_t *h, data[CS];
	size_t clen;
	unsigned i;

	memset(im, 0, sizeof(*im));
	resize_clusters(im, NCL);

	h = cl(im, 0);
	store_be32(h, 0x514649fb);
	store_be32(h + 4, 3);
	store_be32(h + 20, CB);
	store_be64(h + 24, VSIZE);
	store_be32(h + 36, 1);                 /* l1_size: one L2 covers 512 MiB */
	store_be64(h + 40, 3 * CS);            /* L1 */
	store_be64(h + 48, 1 * CS);            /* refcount table */
	store_be32(h + 56, 1);
	store_be32(h + 96, 4);                 /* refcount_order */
	store_be32(h + 100, 112);              /* header_length */
	im->ext_end = 112;                     /* end marker: already zero */

	store_be64(cl(im, 1), 2 * CS);         /* refcount table -> block */
	for (i = 0; i < NCL; i++)
		set_refcount(im, i, 1);
	store_be64(cl(im, 3), COPIED | 4 * CS); /* L1[0] -> L2 */

	for (i = 0; i < CS; i++)
		data[i] = (uint8_t)(i * 7 + 1);
	memcpy(cl(im, 5), data, CS);
	store_be64(cl(im, 4), COPIED | 5 * CS);

	memset(data, 0x5a, CS);
	clen = deflate_raw(data, CS, cl(im, 6), CS);
	store_be64(cl(im, 4) + 8, compressed_entry(6 * CS, clen));

	store_be64(cl(im, 4) + 16, 1);         /* ZERO flag, no host cluster */
}

static void write_file(const char *name, const void *buf, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	f = fopen(path, "wb");
	if (!f)
		die(path);
	if (len && fwrite(buf, 1, len, f) != len)
		die(path);
	if (fclose(f))
		die(path);
}

static void emit(struct img *im, const char *name, const char *kind)
{
	write_file(name, im->b, im->len);
	fprintf(manifest, "%s %s\n", name, kind);
	free(im->b);
	im->b = NULL;
}

static void emit_truncated(size_t len)
{
	struct img im;
	char name[64];

	build_base(&im);
	snprintf(name, sizeof(name), "truncated-header-%zu.qcow2", len);
	im.len = len;
	emit(&im, name, "reject");
}

/* A snapshot table in cluster 7 with one entry (extra_data_size given). */
static void add_snapshot_table(struct img *im, uint32_t nb, uint64_t table_off,
			       uint32_t extra)
{
	uint8_t *t;

	resize_clusters(im, 8);
	set_refcount(im, 7, 1);
	t = cl(im, 7);
	store_be64(t, 3 * CS);        /* shares the active L1: refcounts are off, */
	store_be32(t + 8, 1);         /* but open is what these cases exercise */
	store_be16(t + 12, 1);        /* id_str_size */
	store_be16(t + 14, 2);        /* name_size */
	store_be32(t + 36, extra);
	if (extra <= 1024) {
		store_be64(t + 40 + 8, VSIZE);   /* disk_size */
		memcpy(t + 40 + extra, "1s1", 3);
	}
	store_be32(cl(im, 0) + 60, nb);
	store_be64(cl(im, 0) + 64, table_off);
}

static void add_backing(struct img *im, const char *name)
{
	uint8_t *h = cl(im, 0);
	size_t off;

	add_ext(im, 0xe2792aca, "qcow2", 5);
	off = im->ext_end + 8;
	memcpy(h + off, name, strlen(name));
	store_be64(h + 8, off);
	store_be32(h + 16, (uint32_t)strlen(name));
}

static void add_feature_table(struct img *im, int type, int bit, const char *bitname)
{
	uint8_t t[3 * 48];

	memset(t, 0, sizeof(t));
	t[0] = 0; t[1] = 0; memcpy(t + 2, "dirty bit", 9);
	t[48] = 0; t[49] = 1; memcpy(t + 50, "corrupt bit", 11);
	t[96] = (uint8_t)type; t[97] = (uint8_t)bit; memcpy(t + 98, bitname, strlen(bitname));
	add_ext(im, 0x6803f857, t, sizeof(t));
}

static void gen_header_cases(void)
{
	static const size_t trunc[] = { 0, 3, 4, 20, 48, 71, 100, 111 };
	struct img im;
	unsigned i;

	for (i = 0; i < sizeof(trunc) / sizeof(trunc[0]); i++)
		emit_truncated(trunc[i]);

	build_base(&im);
	store_be32(cl(&im, 0), 0x514649fa);
	emit(&im, "bad-magic.qcow2", "reject");

	build_base(&im);
	store_be32(cl(&im, 0) + 4, 1);
	emit(&im, "version-1.qcow2", "reject");
	build_base(&im);
	store_be32(cl(&im, 0) + 4, 4);
	emit(&im, "version-4.qcow2", "reject");

	build_base(&im);
	store_be32(cl(&im, 0) + 20, 8);
	emit(&im, "cluster-bits-8.qcow2", "reject");
	build_base(&im);
	store_be32(cl(&im, 0) + 20, 22);
	emit(&im, "cluster-bits-22.qcow2", "reject");
	build_base(&im);
	store_be32(cl(&im, 0) + 20, 63);
	emit(&im, "cluster-bits-63.qcow2", "reject");

	build_base(&im);
	store_be32(cl(&im, 0) + 96, 7);
	emit(&im, "refcount-order-7.qcow2", "reject");

	build_base(&im);
	store_be32(cl(&im, 0) + 100, 96);
	emit(&im, "header-length-96.qcow2", "reject");
	build_base(&im);
	store_be32(cl(&im, 0) + 100, 108);
	emit(&im, "header-length-108.qcow2", "any");
	build_base(&im);
	store_be32(cl(&im, 0) + 100, 109);
	emit(&im, "header-length-unaligned.qcow2", "any");
	build_base(&im);
	store_be32(cl(&im, 0) + 100, CS + 8);
	emit(&im, "header-length-over-cluster.qcow2", "reject");

	build_base(&im);
	store_be64(cl(&im, 0) + 72, 1ULL << 10);
	emit(&im, "incompat-unknown.qcow2", "reject");
	build_base(&im);
	store_be64(cl(&im, 0) + 72, 1ULL << 10);
	add_feature_table(&im, 0, 10, "frobnicated clusters");
	emit(&im, "incompat-unknown-named.qcow2", "reject");
	build_base(&im);
	store_be64(cl(&im, 0) + 72, 1ULL << 63);
	emit(&im, "incompat-bit63.qcow2", "reject");

	build_base(&im);
	store_be32(cl(&im, 0) + 32, 1);
	/* AES-CBC needs no header: info shows it (as qemu-img's), reading
	 * without encrypt.key-secret is refused */
	emit(&im, "encrypted-aes.qcow2", "either");
	build_base(&im);
	store_be32(cl(&im, 0) + 32, 2);
	emit(&im, "encrypted-luks-no-header.qcow2", "reject");
	build_base(&im);
	store_be32(cl(&im, 0) + 32, 77);
	emit(&im, "encrypted-unknown-method.qcow2", "reject");

	build_base(&im);
	store_be64(cl(&im, 0) + 72, 1ULL << 2);
	emit(&im, "external-data-file.qcow2", "reject");

	build_base(&im);
	store_be64(cl(&im, 0) + 72, 0);
	cl(&im, 0)[104] = 1;   /* zstd without incompatible bit 3 */
	emit(&im, "zstd-without-incompat-bit.qcow2", "reject");
	build_base(&im);
	cl(&im, 0)[104] = 9;
	store_be64(cl(&im, 0) + 72, 1ULL << 3);
	emit(&im, "compression-type-unknown.qcow2", "reject");

	build_base(&im);
	store_be32(cl(&im, 0) + 112, 0x12345678);
	store_be32(cl(&im, 0) + 116, 0x100000);   /* runs past the cluster */
	emit(&im, "extension-past-cluster.qcow2", "reject");
	build_base(&im);
	store_be32(cl(&im, 0) + 112, 0xe2792aca);
	store_be32(cl(&im, 0) + 116, 0xfffffff8);  /* wraps a 32-bit offset */
	emit(&im, "extension-length-wraps.qcow2", "reject");
}

static void gen_table_cases(void)
{
	struct img im;

	build_base(&im);
	store_be32(cl(&im, 0) + 36, 0x2000000);   /* 256 MiB of L1 */
	emit(&im, "l1-size-huge.qcow2", "reject");
	build_base(&im);
	store_be32(cl(&im, 0) + 36, 0xffffffff);
	emit(&im, "l1-size-max.qcow2", "reject");
	build_base(&im);
	store_be64(cl(&im, 0) + 24, 1ULL << 40);  /* 1 TiB needs 2048 entries */
	emit(&im, "l1-size-too-small.qcow2", "reject");
	build_base(&im);
	store_be64(cl(&im, 0) + 24, 1ULL << 62);
	emit(&im, "virtual-size-huge.qcow2", "reject");
	build_base(&im);
	store_be64(cl(&im, 0) + 40, 3 * CS + 8);
	emit(&im, "l1-unaligned.qcow2", "reject");
	build_base(&im);
	store_be64(cl(&im, 0) + 40, 1000ULL * CS);
	emit(&im, "l1-past-eof.qcow2", "either");
	build_base(&im);
	store_be64(cl(&im, 0) + 40, 0xffffffffffff0000ULL);
	emit(&im, "l1-offset-overflow.qcow2", "reject");

	build_base(&im);
	store_be64(cl(&im, 0) + 48, CS + 512);
	emit(&im, "reftable-unaligned.qcow2", "reject");
	build_base(&im);
	store_be64(cl(&im, 0) + 48, 4 * CS);      /* on top of the L2 table */
	emit(&im, "reftable-overlaps-l2.qcow2", "either");
	build_base(&im);
	store_be64(cl(&im, 0) + 48, 0);           /* on top of the header */
	emit(&im, "reftable-overlaps-header.qcow2", "either");
	build_base(&im);
	store_be32(cl(&im, 0) + 56, 0x1000000);   /* 1 TiB of refcount table */
	emit(&im, "reftable-clusters-huge.qcow2", "reject");
	build_base(&im);
	store_be64(cl(&im, 1), 1000ULL * CS);
	emit(&im, "reftable-entry-past-eof.qcow2", "either");
	build_base(&im);
	store_be64(cl(&im, 1), 2 * CS + 4096);
	emit(&im, "reftable-entry-unaligned.qcow2", "either");

	build_base(&im);
	store_be64(cl(&im, 4), COPIED | 1000ULL * CS);
	emit(&im, "l2-entry-past-eof.qcow2", "corrupt");
	build_base(&im);
	store_be64(cl(&im, 4), COPIED | 5 * CS | 2);
	emit(&im, "l2-entry-reserved-bits.qcow2", "corrupt");
	build_base(&im);
	store_be64(cl(&im, 4), COPIED | (5 * CS + 4096));
	emit(&im, "l2-entry-unaligned.qcow2", "corrupt");
	build_base(&im);
	store_be64(cl(&im, 4), COPIED | 1 * CS);   /* data on the refcount table */
	emit(&im, "l2-entry-overlaps-reftable.qcow2", "corrupt");
	build_base(&im);
	store_be64(cl(&im, 3), COPIED | 1000ULL * CS);
	emit(&im, "l1-entry-past-eof.qcow2", "corrupt");
	build_base(&im);
	store_be64(cl(&im, 3), COPIED | 4 * CS | 0x100000000000000ULL);
	emit(&im, "l1-entry-reserved-bits.qcow2", "corrupt");

	/* compressed data placed in the last cluster, claiming 256 sectors */
	build_base(&im);
	store_be64(cl(&im, 4) + 8, COMPRESSED | (255ULL << (62 - (CB - 8))) | 6 * CS);
	emit(&im, "compressed-past-eof.qcow2", "corrupt");
	build_base(&im);
	memset(cl(&im, 6), 0xff, CS);             /* deflate block type 3: invalid */
	emit(&im, "compressed-garbage.qcow2", "readfail");
	build_base(&im);
	store_be64(cl(&im, 4) + 8, compressed_entry(6 * CS, 64) | COPIED);
	emit(&im, "compressed-copied-flag.qcow2", "corrupt");
}

static void gen_snapshot_cases(void)
{
	struct img im;

	build_base(&im);
	add_snapshot_table(&im, 0x7fffffff, 7 * CS, 24);
	emit(&im, "snapshots-count-huge.qcow2", "reject");
	build_base(&im);
	add_snapshot_table(&im, 1, 1000ULL * CS, 24);
	emit(&im, "snapshot-table-past-eof.qcow2", "either");
	build_base(&im);
	add_snapshot_table(&im, 1, 7 * CS, 2000);
	emit(&im, "snapshot-extra-data-too-big.qcow2", "reject");
	build_base(&im);
	add_snapshot_table(&im, 1, 7 * CS + 4, 24);
	emit(&im, "snapshot-table-unaligned.qcow2", "reject");
	build_base(&im);
	add_snapshot_table(&im, 1, 7 * CS, 24);
	store_be32(cl(&im, 7) + 8, 0x10000000);   /* snapshot L1 of 2 GiB */
	emit(&im, "snapshot-l1-size-huge.qcow2", "either");
}

/* One persistent bitmap "b1" (64 KiB granularity, enabled): directory in cluster
 * 7, table in 8, data in 9 (guest cluster 0 dirty).  Returns the directory entry
 * for the case to break. */
static uint8_t *add_bitmap(struct img *im)
{
	uint8_t ext[24], *e;

	resize_clusters(im, 10);
	set_refcount(im, 7, 1);
	set_refcount(im, 8, 1);
	set_refcount(im, 9, 1);
	store_be64(cl(im, 0) + 88, 1);        /* autoclear: bitmaps */
	memset(ext, 0, sizeof(ext));
	store_be32(ext, 1);                   /* nb_bitmaps */
	store_be64(ext + 8, 32);              /* directory size */
	store_be64(ext + 16, 7 * CS);         /* directory offset */
	add_ext(im, 0x23852875, ext, sizeof(ext));
	e = cl(im, 7);
	store_be64(e, 8 * CS);                /* table offset */
	store_be32(e + 8, 1);                 /* 256 bits fit one cluster */
	store_be32(e + 12, 2);                /* flags: auto */
	e[16] = 1;                            /* type: dirty tracking */
	e[17] = 16;                           /* granularity 2^16 */
	store_be16(e + 18, 2);
	memcpy(e + 24, "b1", 2);
	store_be64(cl(im, 8), 9 * CS);
	cl(im, 9)[0] = 1;
	return e;
}

/* the bitmaps header extension's fields (it is the first extension) */
static uint8_t *bitmap_ext(struct img *im)
{
	return cl(im, 0) + 112 + 8;
}

static void gen_bitmap_cases(void)
{
	struct img im;
	uint8_t *e, entry[24];

	build_base(&im);
	add_bitmap(&im);
	emit(&im, "valid-bitmap.qcow2", "valid");
	build_base(&im);
	add_bitmap(&im);
	store_be64(cl(&im, 0) + 88, 0);       /* stale: QEMU ignores the extension */
	store_be64(bitmap_ext(&im) + 16, 12345);
	set_refcount(&im, 7, 0);
	set_refcount(&im, 8, 0);
	set_refcount(&im, 9, 0);
	emit(&im, "bitmap-stale-garbage.qcow2", "valid");

	build_base(&im);
	add_bitmap(&im);
	store_be32(bitmap_ext(&im), 0x7fffffff);
	emit(&im, "bitmap-count-huge.qcow2", "badbitmaps");
	build_base(&im);
	add_bitmap(&im);
	store_be32(bitmap_ext(&im), 0);
	emit(&im, "bitmap-count-zero.qcow2", "badbitmaps");
	build_base(&im);
	add_bitmap(&im);
	store_be32(bitmap_ext(&im), 2);       /* a second entry that is not there */
	emit(&im, "bitmap-count-past-dir.qcow2", "badbitmaps");
	build_base(&im);
	add_bitmap(&im);
	store_be64(bitmap_ext(&im) + 8, 0xffffffffffffULL);
	emit(&im, "bitmap-dir-size-huge.qcow2", "badbitmaps");
	build_base(&im);
	add_bitmap(&im);
	store_be64(bitmap_ext(&im) + 16, 7 * CS + 8);
	emit(&im, "bitmap-dir-unaligned.qcow2", "badbitmaps");
	build_base(&im);
	add_bitmap(&im);
	store_be64(bitmap_ext(&im) + 16, 1000ULL * CS);
	emit(&im, "bitmap-dir-past-eof.qcow2", "badbitmaps");
	build_base(&im);
	add_bitmap(&im);
	store_be32(cl(&im, 0) + 112 + 4, 16);  /* extension length */
	emit(&im, "bitmap-ext-length.qcow2", "badbitmaps");

	build_base(&im);
	e = add_bitmap(&im);
	e[17] = 40;
	emit(&im, "bitmap-granularity-huge.qcow2", "badbitmaps");
	build_base(&im);
	e = add_bitmap(&im);
	e[17] = 8;
	emit(&im, "bitmap-granularity-small.qcow2", "badbitmaps");
	build_base(&im);
	e = add_bitmap(&im);
	store_be16(e + 18, 2000);
	store_be64(bitmap_ext(&im) + 8, 2032);
	emit(&im, "bitmap-name-too-long.qcow2", "badbitmaps");
	build_base(&im);
	e = add_bitmap(&im);
	store_be16(e + 18, 0);
	emit(&im, "bitmap-name-empty.qcow2", "badbitmaps");
	build_base(&im);
	e = add_bitmap(&im);
	store_be32(e + 20, 0xffffffff);       /* extra data beyond the directory */
	emit(&im, "bitmap-extra-huge.qcow2", "badbitmaps");
	build_base(&im);
	e = add_bitmap(&im);
	store_be32(e + 8, 0x40000000);        /* table of 8 GiB */
	emit(&im, "bitmap-table-size-huge.qcow2", "badbitmaps");
	build_base(&im);
	e = add_bitmap(&im);
	store_be64(e, 1000ULL * CS);
	emit(&im, "bitmap-table-past-eof.qcow2", "badbitmaps");
	build_base(&im);
	e = add_bitmap(&im);
	store_be32(e + 12, 0x80000002);
	emit(&im, "bitmap-flags-reserved.qcow2", "badbitmaps");
	build_base(&im);
	e = add_bitmap(&im);
	e[16] = 7;
	emit(&im, "bitmap-type-unknown.qcow2", "badbitmaps");

	/* 65535 entries (a directory of 2 MiB in clusters 10-41) sharing one
	 * 32 KiB table of a 1 TiB disk: 2 GiB of tables, and 65535 names */
	build_base(&im);
	e = add_bitmap(&im);
	store_be64(cl(&im, 0) + 24, 1ULL << 40);
	store_be32(cl(&im, 0) + 36, 2048);
	e[17] = 9;
	store_be32(e + 8, 4096);
	store_be16(e + 18, 3);
	memcpy(entry, e, sizeof(entry));      /* e moves with the realloc below */
	resize_clusters(&im, 10 + 32);
	for (unsigned i = 0; i < 65535; i++) {
		uint8_t *d = cl(&im, 10) + (size_t)i * 32;

		memcpy(d, entry, sizeof(entry));
		d[24] = (uint8_t)(1 + i % 255);       /* unique names without NUL */
		d[25] = (uint8_t)(1 + i / 255 % 255);
		d[26] = (uint8_t)(1 + i / 65025);
	}
	store_be32(bitmap_ext(&im), 65535);
	store_be64(bitmap_ext(&im) + 8, 65535ULL * 32);
	store_be64(bitmap_ext(&im) + 16, 10ULL * CS);
	emit(&im, "bitmap-tables-shared-huge.qcow2", "badbitmaps");

	build_base(&im);
	add_bitmap(&im);
	store_be64(cl(&im, 8), 1000ULL * CS);  /* data cluster past the end */
	emit(&im, "bitmap-entry-past-eof.qcow2", "badbitmaptable");
	build_base(&im);
	add_bitmap(&im);
	store_be64(cl(&im, 8), 9 * CS + 2);   /* reserved bits */
	emit(&im, "bitmap-entry-reserved.qcow2", "badbitmaps");
	build_base(&im);
	add_bitmap(&im);
	store_be64(cl(&im, 8), 9 * CS + 512);  /* not cluster aligned */
	emit(&im, "bitmap-entry-unaligned.qcow2", "badbitmaps");
}

static void gen_backing_cases(void)
{
	struct img im;
	char big[2048];

	build_base(&im);
	add_backing(&im, "loop-b.qcow2");
	emit(&im, "loop-a.qcow2", "loop");
	build_base(&im);
	add_backing(&im, "loop-a.qcow2");
	emit(&im, "loop-b.qcow2", "loop");
	build_base(&im);
	add_backing(&im, "loop-self.qcow2");
	emit(&im, "loop-self.qcow2", "loop");

	build_base(&im);
	memset(big, 'x', sizeof(big));
	memcpy(cl(&im, 0) + 512, big, sizeof(big));
	store_be64(cl(&im, 0) + 8, 512);
	store_be32(cl(&im, 0) + 16, 2000);
	emit(&im, "backing-name-too-long.qcow2", "reject");
	build_base(&im);
	store_be64(cl(&im, 0) + 8, CS - 10);
	store_be32(cl(&im, 0) + 16, 100);
	emit(&im, "backing-name-past-cluster.qcow2", "reject");
	build_base(&im);
	add_backing(&im, "does-not-exist.qcow2");
	emit(&im, "backing-missing.qcow2", "any");
}

int main(int argc, char **argv)
{
	struct img im;
	char path[4096];

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	snprintf(path, sizeof(path), "%s/MANIFEST", outdir);
	manifest = fopen(path, "w");
	if (!manifest)
		die(path);

	build_base(&im);
	emit(&im, "valid.qcow2", "valid");
	build_base(&im);
	add_feature_table(&im, 1, 0, "lazy refcounts");
	emit(&im, "valid-feature-table.qcow2", "valid");

	gen_header_cases();
	gen_table_cases();
	gen_snapshot_cases();
	gen_backing_cases();
	gen_bitmap_cases();

	if (fclose(manifest))
		die(path);
	return 0;
}
