/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_vmdk.c - CUnit tests for the vmdk format: the lenient descriptor parser and
 * its writer, extent path confinement, the hosted sparse header (round trip and the
 * values that must be refused), and small end-to-end images through the public
 * API (sparse writes at odd offsets, zeroed grains, a streamOptimized image written
 * out of order and read back).
 */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/util.h"
#include "formats/format.h"
#include "formats/vmdk/vmdk.h"
#include "tests/unit/unit.h"

/* ---- descriptor ---------------------------------------------------------- */

static const char vmware_desc[] =
	"# Disk DescriptorFile\r\n"
	"VERSION=1\r\n"
	"encoding = \"windows-1252\"\r\n"
	"cid\t=\t0a0B0c0D\r\n"
	"parentcid = ffffffff\r\n"
	"isNativeSnapshot=\"no\"\r\n"
	"createType = \"twoGbMaxExtentSparse\"  # trailing comment\r\n"
	"\r\n"
	"   # Extent description\r\n"
	"rw\t4192256\tsparse\t\"disk name-s001.vmdk\"\r\n"
	"RDONLY 100 FLAT \"flat.vmdk\" 2048\r\n"
	"NOACCESS 50 FLAT \"gone.vmdk\" 0\r\n"
	"RW 64 ZERO\r\n"
	"RW 10 VMFS \"x-flat.vmdk\"\r\n"
	"\r\n"
	"#DDB\r\n"
	"ddb.adapterType\t=\t\"lsilogic\"\r\n"
	"DDB.Geometry.Heads = \"255\"\r\n"
	"ddb.future.thing = \"1\"\r\n"
	"some stray words without an equals sign\r\n";

static void test_desc_lenient(void)
{
	struct vmdk_desc d;

	CU_ASSERT_EQUAL_FATAL(vmdk_desc_parse(vmware_desc, sizeof(vmware_desc) - 1, "t", &d), 0);
	CU_ASSERT_EQUAL(d.version, 1);
	CU_ASSERT_EQUAL(d.cid, 0x0a0b0c0du);
	CU_ASSERT_EQUAL(d.parent_cid, 0xffffffffu);
	CU_ASSERT_STRING_EQUAL(d.create_type, "twoGbMaxExtentSparse");
	CU_ASSERT_STRING_EQUAL(d.encoding, "windows-1252");
	CU_ASSERT_PTR_NULL(d.parent_hint);
	CU_ASSERT_EQUAL_FATAL(d.n_ext, 5);
	CU_ASSERT_EQUAL(d.ext[0].access, VMDK_RW);
	CU_ASSERT_EQUAL(d.ext[0].type, VMDK_EXT_SPARSE);
	CU_ASSERT_EQUAL(d.ext[0].sectors, 4192256);
	CU_ASSERT_STRING_EQUAL(d.ext[0].filename, "disk name-s001.vmdk");
	CU_ASSERT_EQUAL(d.ext[1].access, VMDK_RDONLY);
	CU_ASSERT_EQUAL(d.ext[1].type, VMDK_EXT_FLAT);
	CU_ASSERT_EQUAL(d.ext[1].offset, 2048);
	CU_ASSERT_EQUAL(d.ext[2].access, VMDK_NOACCESS);
	CU_ASSERT_EQUAL(d.ext[3].type, VMDK_EXT_ZERO);
	CU_ASSERT_PTR_NULL(d.ext[3].filename);
	CU_ASSERT_EQUAL(d.ext[4].type, VMDK_EXT_VMFS);
	CU_ASSERT_EQUAL(d.n_ddb, 3);
	CU_ASSERT_STRING_EQUAL(d.ddb[0].value, "lsilogic");
	vmdk_desc_free(&d);
}

static void test_desc_delta(void)
{
	static const char t[] = "version=1\nCID=2\nparentCID=1\ncreateType=\"monolithicSparse\"\n"
				"parentFileNameHint=\"base dir/disk.vmdk\"\nRW 8 SPARSE \"d.vmdk\"\n";
	struct vmdk_desc d;

	CU_ASSERT_EQUAL_FATAL(vmdk_desc_parse(t, sizeof(t) - 1, "t", &d), 0);
	CU_ASSERT_EQUAL(d.parent_cid, 1);
	CU_ASSERT_STRING_EQUAL(d.parent_hint, "base dir/disk.vmdk");
	vmdk_desc_free(&d);
}

static void expect_bad_desc(const char *text, int want)
{
	struct vmdk_desc d;
	int ret;

	err_clear();
	ret = vmdk_desc_parse(text, strlen(text), "bad.vmdk", &d);
	CU_ASSERT_EQUAL(ret, want);
	CU_ASSERT_TRUE(err_is_set());
	CU_ASSERT_EQUAL(strncmp(err_get(), "bad.vmdk: ", 10), 0);
	CU_ASSERT_PTR_NULL(strchr(err_get(), '\n'));
}

static void test_desc_bad(void)
{
	char *big;

	expect_bad_desc("createType=\"x\"\n", -EINVAL);                   /* no extents */
	expect_bad_desc("RW 8 FLAT \"a\" 0\n", -EINVAL);                   /* no createType */
	expect_bad_desc("createType=\"x\"\nRW -8 FLAT \"a\" 0\n", -EINVAL);
	expect_bad_desc("createType=\"x\"\nRW 8 NONSENSE \"a\" 0\n", -ENOTSUP);
	expect_bad_desc("createType=\"x\"\nRW 8 FLAT \"a 0\n", -EINVAL);
	expect_bad_desc("createType=\"x\"\nRW 8 FLAT \"a\" zz\n", -EINVAL);
	expect_bad_desc("createType=\"x\"\nRW 8 FLAT\n", -EINVAL);         /* no file */
	expect_bad_desc("CID=xyz\ncreateType=\"x\"\nRW 8 ZERO\n", -EINVAL);
	big = malloc(VMDK_MAX_DESC_BYTES + 10);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, '#', VMDK_MAX_DESC_BYTES + 9);
	big[VMDK_MAX_DESC_BYTES + 9] = '\0';
	expect_bad_desc(big, -EFBIG);
	free(big);
}

static void test_desc_probe(void)
{
	static const uint8_t a[] = "# Disk DescriptorFile\nversion=1\n";
	static const uint8_t b[] = "\n\nversion=1\ncreateType=\"vmfs\"\n";
	static const uint8_t c[] = "hello world, not a descriptor";
	static const uint8_t d[] = "createType\0binary";

	CU_ASSERT_TRUE(vmdk_desc_probe(a, sizeof(a) - 1));
	CU_ASSERT_TRUE(vmdk_desc_probe(b, sizeof(b) - 1));
	CU_ASSERT_FALSE(vmdk_desc_probe(c, sizeof(c) - 1));
	CU_ASSERT_FALSE(vmdk_desc_probe(d, sizeof(d) - 1));
}

static void test_desc_write_roundtrip(void)
{
	struct vmdk_desc_extent ext[2] = {
		{ VMDK_RW, VMDK_EXT_FLAT, 4194304, "d-f001.vmdk", 0 },
		{ VMDK_RW, VMDK_EXT_FLAT, 100, "d-f002.vmdk", 0 },
	};
	struct vmdk_desc_params p = {
		.cid = 0xdeadbeef, .parent_cid = 0xffffffff, .create_type = "twoGbMaxExtentFlat",
		.ext = ext, .n_ext = 2, .adapter = "lsilogic", .hwversion = "6",
		.toolsversion = "2147483647", .capacity = 4194404,
	};
	struct vmdk_desc d;
	char *text = vmdk_desc_write(&p);

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "ddb.geometry.heads = \"255\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "ddb.geometry.cylinders = \"261\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "RW 100 FLAT \"d-f002.vmdk\" 0"));
	CU_ASSERT_EQUAL_FATAL(vmdk_desc_parse(text, strlen(text), "t", &d), 0);
	CU_ASSERT_EQUAL(d.cid, 0xdeadbeefu);
	CU_ASSERT_EQUAL(d.n_ext, 2);
	CU_ASSERT_EQUAL(d.ext[1].sectors, 100);
	CU_ASSERT_STRING_EQUAL(d.create_type, "twoGbMaxExtentFlat");
	vmdk_desc_free(&d);
	free(text);
}

/* ---- sparse header -------------------------------------------------------- */

static struct vmdk_header good_header(void)
{
	struct vmdk_header h = {
		.version = 1, .flags = VMDK_FLAG_NL_DETECT | VMDK_FLAG_RGD, .capacity = 204800,
		.grain_size = 128, .desc_offset = 1, .desc_size = 20, .num_gtes = 512,
		.rgd_offset = 21, .gd_offset = 38, .overhead = 128,
	};
	return h;
}

static void test_header_roundtrip(void)
{
	struct vmdk_header h = good_header(), g;
	uint8_t b[512];

	h.compress_algo = 1;
	h.flags |= VMDK_FLAG_COMPRESSED | VMDK_FLAG_MARKERS;
	h.gd_offset = VMDK_GD_AT_END;
	vmdk_header_encode(&h, b);
	CU_ASSERT_EQUAL(memcmp(b, "KDMV", 4), 0);
	CU_ASSERT_EQUAL(memcmp(b + 73, "\n \r\n", 4), 0);
	vmdk_header_decode(b, &g);
	CU_ASSERT_EQUAL(g.version, h.version);
	CU_ASSERT_EQUAL(g.flags, h.flags);
	CU_ASSERT_EQUAL(g.capacity, h.capacity);
	CU_ASSERT_EQUAL(g.grain_size, h.grain_size);
	CU_ASSERT_EQUAL(g.desc_offset, h.desc_offset);
	CU_ASSERT_EQUAL(g.desc_size, h.desc_size);
	CU_ASSERT_EQUAL(g.num_gtes, h.num_gtes);
	CU_ASSERT_EQUAL(g.rgd_offset, h.rgd_offset);
	CU_ASSERT_EQUAL(g.gd_offset, h.gd_offset);
	CU_ASSERT_EQUAL(g.overhead, h.overhead);
	CU_ASSERT_EQUAL(g.compress_algo, h.compress_algo);
}

static void expect_bad_header(struct vmdk_header h, int want)
{
	err_clear();
	CU_ASSERT_EQUAL(vmdk_header_validate(&h, "h.vmdk", 1 << 20), want);
	CU_ASSERT_TRUE(err_is_set());
}

static void test_header_bad(void)
{
	struct vmdk_header h = good_header();

	CU_ASSERT_EQUAL(vmdk_header_validate(&h, "h.vmdk", 1 << 20), 0);
	h = good_header(); h.version = 4; expect_bad_header(h, -ENOTSUP);
	h = good_header(); h.version = 0; expect_bad_header(h, -ENOTSUP);
	h = good_header(); h.flags |= 0x40000; expect_bad_header(h, -ENOTSUP);
	h = good_header(); h.grain_size = 100; expect_bad_header(h, -EINVAL);
	h = good_header(); h.grain_size = 0; expect_bad_header(h, -EINVAL);
	h = good_header(); h.grain_size = 1ULL << 22; expect_bad_header(h, -EINVAL);
	/* 1 MiB grains are the cap: qemu's 1 GiB would be a memory bomb */
	h = good_header(); h.grain_size = 2048;
	CU_ASSERT_EQUAL(vmdk_header_validate(&h, "h.vmdk", 1 << 20), 0);
	h = good_header(); h.grain_size = 4096; expect_bad_header(h, -EINVAL);
	h = good_header(); h.grain_size = 1ULL << 21; expect_bad_header(h, -EINVAL);
	h = good_header(); h.num_gtes = 4096; expect_bad_header(h, -EINVAL);
	h = good_header(); h.capacity = 0; expect_bad_header(h, -EFBIG);
	h = good_header(); h.capacity = 1ULL << 62; expect_bad_header(h, -EFBIG);
	h = good_header(); h.flags |= VMDK_FLAG_COMPRESSED; h.compress_algo = 2;
	expect_bad_header(h, -ENOTSUP);
	h = good_header(); h.gd_offset = 1ULL << 40; expect_bad_header(h, -EINVAL);
}

/* ---- end to end ------------------------------------------------------------ */

static void fill(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)((i * 131 + seed * 7 + (i >> 9)) & 0xff);
}

static void roundtrip(const char *name, const char *o)
{
	const uint64_t size = 5 * MiB + 3 * 512;
	struct opts opts = { 0 };
	struct image *img;
	uint8_t *ref = calloc(1, size), *buf = malloc(size);
	static const struct { uint64_t off, len; } w[] = {
		{ 0, 65536 }, { 3 * 65536 + 100, 70000 }, { 2 * MiB, 1 * MiB },
		{ 5 * MiB, 3 * 512 }, { 4 * MiB + 65536, 65536 }, { 1 * MiB + 512, 512 },
	};

	CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	if (o)
		CU_ASSERT_EQUAL(opts_parse(&opts, o), 0);
	CU_ASSERT_EQUAL_FATAL(image_create(path_of(name), "vmdk", size, &opts), 0);
	opts_free(&opts);
	CU_ASSERT_EQUAL_FATAL(image_open(path_of(name), NULL, IMG_RDWR, &img), 0);
	CU_ASSERT_STRING_EQUAL(img->ops->name, "vmdk");
	CU_ASSERT_EQUAL(img->size, size);
	/* written in reverse so a stream must reorder */
	for (int i = (int)ARRAY_SIZE(w) - 1; i >= 0; i--) {
		fill(ref + w[i].off, w[i].len, (unsigned)i);
		CU_ASSERT_EQUAL(image_write(img, ref + w[i].off, w[i].off, w[i].len), 0);
	}
	CU_ASSERT_EQUAL(image_flush(img), 0);
	image_close(img);
	CU_ASSERT_EQUAL_FATAL(image_open(path_of(name), NULL, 0, &img), 0);
	CU_ASSERT_EQUAL(image_read(img, buf, 0, size), 0);
	CU_ASSERT_EQUAL(memcmp(buf, ref, size), 0);
	image_close(img);
	free(ref);
	free(buf);
}

static void test_sparse_roundtrip(void)
{
	roundtrip("sparse.vmdk", NULL);
}

static void test_stream_roundtrip(void)
{
	roundtrip("stream.vmdk", "subformat=streamOptimized");
}

/* Reading a compressed grain 4 KiB at a time inflates it once (the grain cache);
 * whole-grain reads bypass the cache and inflate once per read. */
static void test_stream_small_reads(void)
{
	const uint64_t size = 4 * 65536;
	struct opts opts = { 0 };
	struct image *img;
	uint8_t *ref = malloc(size), *buf = malloc(size);

	CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	fill(ref, size, 14);
	CU_ASSERT_EQUAL(opts_parse(&opts, "subformat=streamOptimized"), 0);
	CU_ASSERT_EQUAL_FATAL(image_create(path_of("small.vmdk"), "vmdk", size, &opts), 0);
	opts_free(&opts);
	CU_ASSERT_EQUAL_FATAL(image_open(path_of("small.vmdk"), NULL, IMG_RDWR, &img), 0);
	CU_ASSERT_EQUAL(image_write(img, ref, 0, size), 0);
	image_close(img);
	CU_ASSERT_EQUAL_FATAL(image_open(path_of("small.vmdk"), NULL, 0, &img), 0);
	for (uint64_t off = 0; off < size; off += 4096)
		CU_ASSERT_EQUAL(image_read(img, buf + off, off, 4096), 0);
	CU_ASSERT_EQUAL(memcmp(buf, ref, size), 0);
	CU_ASSERT_EQUAL(vmdk_grain_cache_inflates(img->priv), 4);
	/* the same again: every piece comes from the cache (4 grains, 4 slots) */
	for (uint64_t off = 0; off < size; off += 4096)
		CU_ASSERT_EQUAL(image_read(img, buf + off, off, 4096), 0);
	CU_ASSERT_EQUAL(vmdk_grain_cache_inflates(img->priv), 4);
	CU_ASSERT_EQUAL(image_read(img, buf, 0, size), 0);
	CU_ASSERT_EQUAL(memcmp(buf, ref, size), 0);
	CU_ASSERT_EQUAL(vmdk_grain_cache_inflates(img->priv), 8);
	image_close(img);
	free(ref);
	free(buf);
}

static void test_split_roundtrip(void)
{
	roundtrip("split.vmdk", "subformat=twoGbMaxExtentSparse");
	roundtrip("flat.vmdk", "subformat=monolithicFlat,adapter_type=lsilogic");
}

static void test_zeroed_grain(void)
{
	struct opts opts = { 0 };
	struct image *img;
	struct block_status bs;
	uint8_t *b = malloc(65536);

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(opts_parse(&opts, "zeroed_grain=on"), 0);
	CU_ASSERT_EQUAL_FATAL(image_create(path_of("zg.vmdk"), "vmdk", 1 * MiB, &opts), 0);
	opts_free(&opts);
	CU_ASSERT_EQUAL_FATAL(image_open(path_of("zg.vmdk"), "vmdk", IMG_RDWR, &img), 0);
	memset(b, 0x77, 65536);
	CU_ASSERT_EQUAL(image_write(img, b, 65536, 65536), 0);
	CU_ASSERT_EQUAL(image_write_zeroes(img, 65536, 65536, 0), 0);
	CU_ASSERT_EQUAL(image_read(img, b, 65536, 65536), 0);
	CU_ASSERT_TRUE(buffer_is_zero(b, 65536));
	CU_ASSERT_EQUAL(image_block_status(img, 65536, 65536, &bs), 0);
	CU_ASSERT_EQUAL(bs.flags, BS_ZERO | BS_ALLOCATED);
	CU_ASSERT_EQUAL(image_block_status(img, 0, 65536, &bs), 0);
	CU_ASSERT_EQUAL(bs.flags & BS_ALLOCATED, 0);
	image_close(img);
	free(b);
}

static void test_create_bad_opts(void)
{
	const char *bad[] = { "subformat=nope", "adapter_type=scsi", "compat6,hwversion=4",
			      "frobnicate=1", "preallocation=full",
			      "subformat=streamOptimized,backing_file=x.vmdk" };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct opts o = { 0 };

		CU_ASSERT_EQUAL(opts_parse(&o, bad[i]), 0);
		err_clear();
		CU_ASSERT_TRUE(image_create(path_of("bad.vmdk"), "vmdk", MiB, &o) < 0);
		CU_ASSERT_TRUE(err_is_set());
		opts_free(&o);
	}
}

static const struct unit_test vmdk_tests[] = {
	{ "descriptor: lenient parsing", test_desc_lenient },
	{ "descriptor: delta disk", test_desc_delta },
	{ "descriptor: bad input", test_desc_bad },
	{ "descriptor: probe", test_desc_probe },
	{ "descriptor: writer round trip", test_desc_write_roundtrip },
	{ "sparse header round trip", test_header_roundtrip },
	{ "sparse header bad values", test_header_bad },
	{ "monolithicSparse write/read", test_sparse_roundtrip },
	{ "streamOptimized out-of-order write/read", test_stream_roundtrip },
	{ "streamOptimized 4 KiB reads inflate each grain once", test_stream_small_reads },
	{ "twoGbMaxExtentSparse and monolithicFlat", test_split_roundtrip },
	{ "zeroed grain", test_zeroed_grain },
	{ "create: bad options", test_create_bad_opts },
};

UNIT_MAIN("vmdk", vmdk_tests, NULL)
