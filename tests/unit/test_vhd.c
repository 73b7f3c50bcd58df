/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_vhd.c - CUnit tests for the VHD ("vpc") format: CHS geometry and the create
 * size rounding against values qemu-img 7.2 writes, checksums against a footer
 * qemu-img wrote, footer/header round trips, the virtual-size rule by creator,
 * writes (partial, unaligned, from several threads) read back after reopening,
 * write_zeroes on holes, and malformed images refused with one clear message.
 */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bswap.h"
#include "common/err.h"
#include "common/opts.h"
#include "common/util.h"
#include "formats/format.h"
#include "formats/vhd/vhd.h"
#include "tests/unit/unit.h"

/* ---- geometry ------------------------------------------------------------ */

/* requested size -> (virtual size, C, H, S) from footers qemu-img 7.2 wrote */
static const struct {
	uint64_t req, virt;
	unsigned c, h, s;
} qemu_sizes[] = {
	{ 1000ULL, 34816ULL, 1, 4, 17 },
	{ 3145728ULL, 3168256ULL, 91, 4, 17 },
	{ 67108864ULL, 67125248ULL, 964, 8, 17 },
	{ 1073741824ULL, 1073995776ULL, 2081, 16, 63 },
	{ 10737418240ULL, 10737893376ULL, 20806, 16, 63 },
	{ 136365211648ULL, 136365219840ULL, 65279, 16, 255 },
	{ 136314880000ULL, 136315084800ULL, 65255, 16, 255 },
	{ 214748364800ULL, 214748364800ULL, 65535, 16, 255 },
	{ 2190433320960ULL, 2190433320960ULL, 65535, 16, 255 },
};

static void test_geometry_like_qemu(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(qemu_sizes); i++) {
		uint64_t sectors;
		uint16_t c;
		uint8_t h, s;

		CU_ASSERT_EQUAL_FATAL(vhd_rounded_sectors(qemu_sizes[i].req, false, &sectors,
							  &c, &h, &s), 0);
		CU_ASSERT_EQUAL(sectors * 512, qemu_sizes[i].virt);
		CU_ASSERT_EQUAL(c, qemu_sizes[i].c);
		CU_ASSERT_EQUAL(h, qemu_sizes[i].h);
		CU_ASSERT_EQUAL(s, qemu_sizes[i].s);
	}
}

static void test_geometry_spec(void)
{
	uint16_t c;
	uint8_t h, s;
	uint64_t sectors;

	/* the spec algorithm rounds down: 64 MiB is 963 x 8 x 17 (130968 sectors) */
	vhd_chs_geometry(131072, &c, &h, &s);
	CU_ASSERT(c == 963 && h == 8 && s == 17);
	/* beyond the maximum it clamps */
	vhd_chs_geometry(VHD_MAX_GEOMETRY * 2, &c, &h, &s);
	CU_ASSERT(c == 65535 && h == 16 && s == 255);
	/* force_size keeps the size, geometry is the maximum */
	CU_ASSERT_EQUAL(vhd_rounded_sectors(64 * MiB, true, &sectors, &c, &h, &s), 0);
	CU_ASSERT(sectors == 131072 && c == 65535 && h == 16 && s == 255);
	CU_ASSERT_EQUAL(vhd_rounded_sectors(1000, true, &sectors, &c, &h, &s), 0);
	CU_ASSERT_EQUAL(sectors, 2);
	/* 2040 GiB is the limit */
	CU_ASSERT_EQUAL(vhd_rounded_sectors(2040 * GiB + 512, true, &sectors, &c, &h, &s),
			-EFBIG);
	CU_ASSERT_EQUAL(vhd_rounded_sectors(2040 * GiB + 512, false, &sectors, &c, &h, &s),
			-EFBIG);
}

/* ---- checksum and round trips -------------------------------------------- */

/* the first 84 bytes of a footer qemu-img 7.2 wrote (create -f vpc x 64M) */
static const char qemu_footer_hex[] =
	"636f6e6563746978000000020001000000000000000002003294f8a871656d75"
	"000500035769326b00000000040040000000000004004000" "03c4081100000003"
	"ffffedaea19b52471de9453dadc6f18dd2762942";

static void hex_to_bytes(const char *hex, uint8_t *out)
{
	for (size_t i = 0; hex[2 * i]; i++) {
		unsigned v;

		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

static void test_checksum_qemu_footer(void)
{
	uint8_t buf[512] = { 0 }, again[512];
	struct vhd_footer f;

	hex_to_bytes(qemu_footer_hex, buf);
	CU_ASSERT(vhd_footer_cookie_ok(buf));
	CU_ASSERT(vhd_footer_checksum_ok(buf));
	CU_ASSERT_EQUAL(vhd_checksum(buf, 512, 64), 0xffffedaeu);
	vhd_footer_decode(buf, &f);
	CU_ASSERT_EQUAL(f.cur_size, 67125248ULL);
	CU_ASSERT(f.cyls == 964 && f.heads == 8 && f.spt == 17);
	CU_ASSERT_EQUAL(f.type, VHD_TYPE_DYNAMIC);
	CU_ASSERT_EQUAL(f.data_offset, 512);
	CU_ASSERT(!memcmp(f.creator_app, "qemu", 4));
	CU_ASSERT(vhd_size_uses_chs(&f));
	CU_ASSERT_EQUAL(vhd_footer_virtual_size(&f), 67125248ULL);
	/* encode gives the same bytes back */
	vhd_footer_encode(&f, again);
	CU_ASSERT(!memcmp(buf, again, 512));
	/* one flipped byte breaks the checksum */
	buf[100] ^= 1;
	CU_ASSERT(!vhd_footer_checksum_ok(buf));
}

static void test_dyn_header_roundtrip(void)
{
	struct vhd_dyn_header h = { 0 }, back;
	uint8_t buf[1024], again[1024];

	memcpy(h.cookie, VHD_DYN_COOKIE, 8);
	h.data_offset = UINT64_MAX;
	h.table_offset = 1536;
	h.version = VHD_VERSION;
	h.max_entries = 33;
	h.block_size = 2 * MiB;
	for (int i = 0; i < 16; i++)
		h.parent_uuid[i] = (uint8_t)(i * 7);
	h.parent_timestamp = 12345;
	h.parent_name[1] = 'p';
	h.loc[0].platform = VHD_PLAT_W2RU;
	h.loc[0].data_space = 1;
	h.loc[0].data_length = 24;
	h.loc[0].data_offset = 4096;
	vhd_dyn_header_encode(&h, buf);
	CU_ASSERT(vhd_dyn_header_checksum_ok(buf));
	/* qemu-img's empty 64M header has checksum 0xfffff456 */
	{
		struct vhd_dyn_header q = { 0 };
		uint8_t qb[1024];

		memcpy(q.cookie, VHD_DYN_COOKIE, 8);
		q.data_offset = UINT64_MAX;
		q.table_offset = 1536;
		q.version = VHD_VERSION;
		q.max_entries = 33;
		q.block_size = 2 * MiB;
		vhd_dyn_header_encode(&q, qb);
		CU_ASSERT_EQUAL(load_be32(qb + 36), 0xfffff456u);
	}
	vhd_dyn_header_decode(buf, &back);
	vhd_dyn_header_encode(&back, again);
	CU_ASSERT(!memcmp(buf, again, 1024));
	CU_ASSERT_EQUAL(back.loc[0].platform, VHD_PLAT_W2RU);
	CU_ASSERT_EQUAL(back.loc[0].data_offset, 4096);
	CU_ASSERT_EQUAL(back.max_entries, 33);
	CU_ASSERT_EQUAL(vhd_bitmap_size(2 * MiB), 512);
	CU_ASSERT_EQUAL(vhd_bitmap_size(512), 512);
	CU_ASSERT_EQUAL(vhd_bitmap_size(256 * MiB), 65536);
}

static void test_size_rule_by_creator(void)
{
	struct vhd_footer f = { 0 };

	f.cur_size = 100 * MiB;
	vhd_chs_geometry(f.cur_size / 512, &f.cyls, &f.heads, &f.spt);
	memcpy(f.creator_app, "win ", 4);
	CU_ASSERT_EQUAL(vhd_footer_virtual_size(&f), 100 * MiB);
	memcpy(f.creator_app, "wa\0\0", 4);      /* Azure: current_size (qemu 10 rule) */
	CU_ASSERT_EQUAL(vhd_footer_virtual_size(&f), 100 * MiB);
	memcpy(f.creator_app, "d2v ", 4);
	CU_ASSERT_EQUAL(vhd_footer_virtual_size(&f), 100 * MiB);
	memcpy(f.creator_app, "vpc ", 4);       /* Virtual PC: CHS */
	CU_ASSERT_EQUAL(vhd_footer_virtual_size(&f),
			(uint64_t)f.cyls * f.heads * f.spt * 512);
	CU_ASSERT(vhd_footer_virtual_size(&f) < 100 * MiB);
	memcpy(f.creator_app, "qemu", 4);
	f.cyls = 65535;
	f.heads = 16;
	f.spt = 255;                              /* maximum geometry: current_size */
	CU_ASSERT_EQUAL(vhd_footer_virtual_size(&f), 100 * MiB);
}

/* ---- create, write, read ------------------------------------------------- */

static int create(const char *name, uint64_t size, const char *o)
{
	struct opts opts = { 0 };
	int ret = 0;

	if (o)
		ret = opts_parse(&opts, o);
	if (ret == 0)
		ret = image_create(path_of(name), "vpc", size, &opts);
	opts_free(&opts);
	return ret;
}

static uint64_t file_size(const char *name)
{
	struct stat st;

	return stat(path_of(name), &st) == 0 ? (uint64_t)st.st_size : 0;
}

static void test_create_options(void)
{
	struct image *img;

	CU_ASSERT_EQUAL(create("c1.vhd", 64 * MiB, NULL), 0);
	CU_ASSERT_EQUAL(file_size("c1.vhd"), 2560);
	CU_ASSERT_EQUAL(create("c2.vhd", 64 * MiB, "subformat=fixed"), 0);
	CU_ASSERT_EQUAL(file_size("c2.vhd"), 67125248 + 512);
	CU_ASSERT_EQUAL(create("c3.vhd", 64 * MiB + 1, "azure=on"), 0);
	CU_ASSERT_EQUAL(file_size("c3.vhd"), 65 * MiB + 512);
	CU_ASSERT_EQUAL(create("c4.vhd", 64 * MiB, "subformat=bogus"), -EINVAL);
	CU_ASSERT(strstr(err_get(), "subformat") != NULL);
	CU_ASSERT_EQUAL(create("c4.vhd", 64 * MiB, "cluster_size=64k"), -EINVAL);
	CU_ASSERT_EQUAL(create("c4.vhd", 64 * MiB, "azure=on,subformat=dynamic"), -EINVAL);
	CU_ASSERT_EQUAL(create("c4.vhd", 2041 * GiB, NULL), -EFBIG);
	CU_ASSERT_EQUAL(create("c5.vhd", 37 * MiB + 3584, "hyperv=on"), 0);
	CU_ASSERT_EQUAL_FATAL(image_open(path_of("c5.vhd"), "vhd", 0, &img), 0);
	CU_ASSERT_EQUAL(img->size, 37 * MiB + 3584);
	CU_ASSERT_EQUAL(img->cluster_size, 2 * MiB);
	image_close(img);
	CU_ASSERT_EQUAL_FATAL(image_open(path_of("c3.vhd"), "vpc", 0, &img), 0);
	CU_ASSERT_EQUAL(img->size, 65 * MiB);
	image_close(img);
}

static void fill(uint8_t *buf, size_t len, uint64_t off, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(((off + i) * 2654435761u) >> 13) ^ (uint8_t)seed;
}

struct writer {
	struct image *img;
	int id;
	int ret;
};

/* Each thread writes its own stripes, some sharing blocks with other threads,
 * at unaligned offsets. */
static void *writer_main(void *arg)
{
	struct writer *w = arg;
	uint8_t *buf = malloc(300 * 1024);

	for (int i = 0; i < 24 && w->ret == 0; i++) {
		uint64_t off = ((uint64_t)i * 4 + (uint64_t)w->id) * 700 * 1024 + 333;
		size_t len = 300 * 1024;

		fill(buf, len, off, 1);
		w->ret = image_write(w->img, buf, off, len);
	}
	free(buf);
	return NULL;
}

static void test_parallel_writes(void)
{
	struct image *img;
	struct writer w[4];
	pthread_t t[4];
	uint8_t *buf, *want;
	uint64_t size;
	struct check_result res;

	CU_ASSERT_EQUAL_FATAL(create("p.vhd", 80 * MiB, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(image_open(path_of("p.vhd"), "vpc", IMG_RDWR, &img), 0);
	size = img->size;
	for (int i = 0; i < 4; i++) {
		w[i] = (struct writer){ .img = img, .id = i };
		pthread_create(&t[i], NULL, writer_main, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT_EQUAL(w[i].ret, 0);
	}
	image_close(img);

	CU_ASSERT_EQUAL_FATAL(image_open(path_of("p.vhd"), NULL, IMG_CHECK, &img), 0);
	CU_ASSERT_STRING_EQUAL(img->ops->name, "vpc");
	CU_ASSERT_EQUAL(image_check(img, 0, &res), 0);
	CU_ASSERT_EQUAL(res.corruptions, 0);
	CU_ASSERT_EQUAL(res.leaks, 0);
	buf = malloc(size);
	want = calloc(1, size);
	for (int i = 0; i < 24 * 4; i++) {
		uint64_t off = (uint64_t)i * 700 * 1024 + 333;

		fill(want + off, 300 * 1024, off, 1);
	}
	CU_ASSERT_EQUAL(image_read(img, buf, 0, size), 0);
	CU_ASSERT(!memcmp(buf, want, size));
	free(buf);
	free(want);
	image_close(img);
}

static void test_write_zeroes_holes(void)
{
	struct image *img;
	uint8_t buf[4096];
	uint64_t before;
	struct block_status bs;

	CU_ASSERT_EQUAL_FATAL(create("z.vhd", 16 * MiB, NULL), 0);
	before = file_size("z.vhd");
	CU_ASSERT_EQUAL_FATAL(image_open(path_of("z.vhd"), "vpc", IMG_RDWR, &img), 0);
	CU_ASSERT(img->zero_init);
	/* zeroing holes allocates nothing */
	CU_ASSERT_EQUAL(image_write_zeroes(img, 0, 8 * MiB, IMG_ZERO_MAY_UNMAP), 0);
	CU_ASSERT_EQUAL(file_size("z.vhd"), before);
	/* an allocated block gets its data zeroed */
	memset(buf, 0xab, sizeof(buf));
	CU_ASSERT_EQUAL(image_write(img, buf, 2 * MiB + 512, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(file_size("z.vhd"), before + 2 * MiB + 512);
	CU_ASSERT_EQUAL(image_block_status(img, 2 * MiB, 4096, &bs), 0);
	CU_ASSERT(bs.flags & BS_DATA);
	CU_ASSERT_EQUAL(image_block_status(img, 0, 16 * MiB, &bs), 0);
	CU_ASSERT_EQUAL(bs.length, 2 * MiB);
	CU_ASSERT(bs.flags & BS_ZERO);
	CU_ASSERT_EQUAL(image_write_zeroes(img, 2 * MiB + 1024, 1024, 0), 0);
	CU_ASSERT_EQUAL(image_read(img, buf, 2 * MiB + 512, sizeof(buf)), 0);
	CU_ASSERT(buf[0] == 0xab && buf[511] == 0xab);
	CU_ASSERT(buf[512] == 0 && buf[1535] == 0 && buf[1536] == 0xab);
	image_close(img);
}

/* ---- malformed images ---------------------------------------------------- */

static void patch(const char *name, uint64_t off, const void *data, size_t len)
{
	int fd = open(path_of(name), O_WRONLY);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pwrite(fd, data, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void put_be32_at(const char *name, uint64_t off, uint32_t v)
{
	uint8_t b[4];

	store_be32(b, v);
	patch(name, off, b, 4);
}

/* Recompute the dynamic header checksum at 512 after a patch. */
static void fix_header(const char *name)
{
	uint8_t h[1024];
	int fd = open(path_of(name), O_RDWR);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pread(fd, h, sizeof(h), 512), (ssize_t)sizeof(h));
	store_be32(h + 36, vhd_checksum(h, 1024, 36));
	CU_ASSERT_EQUAL(pwrite(fd, h, sizeof(h), 512), (ssize_t)sizeof(h));
	close(fd);
}

static void expect_open_error(const char *name, const char *what)
{
	struct image *img = NULL;
	int ret = image_open(path_of(name), "vpc", 0, &img);

	CU_ASSERT(ret < 0);
	if (ret >= 0) {
		image_close(img);
		return;
	}
	CU_ASSERT(strstr(err_get(), what) != NULL);
	CU_ASSERT(strstr(err_get(), name) != NULL);   /* the message names the file */
	CU_ASSERT(strchr(err_get(), '\n') == NULL);  /* one line */
	if (!strstr(err_get(), what))
		fprintf(stderr, "\nunexpected message: %s\n", err_get());
}

static void test_bad_inputs(void)
{
	uint8_t one = 1;

	CU_ASSERT_EQUAL_FATAL(create("b1.vhd", 64 * MiB, NULL), 0);
	patch("b1.vhd", 100, &one, 1);
	expect_open_error("b1.vhd", "Incorrect header checksum");

	CU_ASSERT_EQUAL_FATAL(create("b2.vhd", 64 * MiB, NULL), 0);
	put_be32_at("b2.vhd", 1536 + 8, 0x00200000);
	expect_open_error("b2.vhd", "beyond the end of the file");

	CU_ASSERT_EQUAL_FATAL(create("b3.vhd", 64 * MiB, NULL), 0);
	put_be32_at("b3.vhd", 512 + 32, 3 * 1024 * 1024);
	fix_header("b3.vhd");
	expect_open_error("b3.vhd", "Invalid block size");

	CU_ASSERT_EQUAL_FATAL(create("b4.vhd", 64 * MiB, NULL), 0);
	put_be32_at("b4.vhd", 512 + 32, 0x80000000u);
	fix_header("b4.vhd");
	expect_open_error("b4.vhd", "too large");

	CU_ASSERT_EQUAL_FATAL(create("b5.vhd", 64 * MiB, NULL), 0);
	put_be32_at("b5.vhd", 512 + 28, 2);
	fix_header("b5.vhd");
	expect_open_error("b5.vhd", "too small");

	CU_ASSERT_EQUAL_FATAL(create("b6.vhd", 64 * MiB, NULL), 0);
	put_be32_at("b6.vhd", 512 + 28, 0xffffff00u);
	fix_header("b6.vhd");
	expect_open_error("b6.vhd", "max_table_entries");

	CU_ASSERT_EQUAL_FATAL(create("b7.vhd", 64 * MiB, NULL), 0);
	CU_ASSERT_EQUAL(truncate(path_of("b7.vhd"), 300), 0);
	expect_open_error("b7.vhd", "file too small");

	CU_ASSERT_EQUAL_FATAL(create("b8.vhd", 64 * MiB, NULL), 0);
	patch("b8.vhd", 512, "notsparse", 8);
	expect_open_error("b8.vhd", "cxsparse");

	/* a fixed disk whose data area was cut short */
	CU_ASSERT_EQUAL_FATAL(create("b9.vhd", 64 * MiB, "subformat=fixed"), 0);
	{
		uint8_t f[512];
		int fd = open(path_of("b9.vhd"), O_RDWR);

		CU_ASSERT_EQUAL(pread(fd, f, 512, 67125248), 512);
		CU_ASSERT_EQUAL(ftruncate(fd, 1 * MiB), 0);
		CU_ASSERT_EQUAL(pwrite(fd, f, 512, 1 * MiB), 512);
		close(fd);
	}
	expect_open_error("b9.vhd", "truncated");
}

static const struct unit_test tests[] = {
	{ "geometry and rounding equal qemu-img's", test_geometry_like_qemu },
	{ "spec geometry, force_size, limits", test_geometry_spec },
	{ "checksum of a qemu-img footer", test_checksum_qemu_footer },
	{ "dynamic header round trip", test_dyn_header_roundtrip },
	{ "virtual size rule by creator", test_size_rule_by_creator },
	{ "create options", test_create_options },
	{ "parallel unaligned writes", test_parallel_writes },
	{ "write_zeroes and block status", test_write_zeroes_holes },
	{ "malformed images", test_bad_inputs },
};

UNIT_MAIN("vhd", tests, NULL)
