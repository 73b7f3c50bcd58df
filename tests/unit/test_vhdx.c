/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_vhdx.c - CUnit tests for the VHDX format: CRC-32C against published check
 * values, GUID byte order, header encode/decode and the choice of the current
 * header, create options, writes (partial, unaligned, from several threads) read
 * back after reopening, block status of holes and data, fixed layout, write
 * GUIDs renewed by a write session, and malformed images refused.
 */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/bswap.h"
#include "common/err.h"
#include "common/opts.h"
#include "common/util.h"
#include "formats/format.h"
#include "formats/vhdx/vhdx.h"
#include "tests/unit/unit.h"

static int create(const char *name, uint64_t size, const char *o)
{
	struct opts opts = { 0 };
	int ret = o ? opts_parse(&opts, o) : 0;

	if (ret == 0)
		ret = image_create(path_of(name), "vhdx", size, &opts);
	opts_free(&opts);
	return ret;
}

static void test_crc32c(void)
{
	static const uint8_t zeros[32], ones[32] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	/* the standard check value and the RFC 3720 (iSCSI) test vectors */
	CU_ASSERT_EQUAL(vhdx_crc32c(0, "123456789", 9), 0xe3069283u);
	CU_ASSERT_EQUAL(vhdx_crc32c(0, zeros, 32), 0x8a9136aau);
	CU_ASSERT_EQUAL(vhdx_crc32c(0, ones, 32), 0x62a8ab43u);
	/* continuing over pieces equals one pass */
	CU_ASSERT_EQUAL(vhdx_crc32c(vhdx_crc32c(0, "1234", 4), "56789", 5), 0xe3069283u);
}

static void test_guid_and_header(void)
{
	struct vhdx_header h = { 0 }, d;
	uint8_t buf[VHDX_HEADER_SIZE];
	char txt[40];

	/* the BAT region GUID as MS-VHDX spells it */
	vhdx_guid_format(&vhdx_guid_bat_region, txt);
	CU_ASSERT_STRING_EQUAL(txt, "{2dc27766-f623-4200-9d64-115e9bfd4a08}");
	CU_ASSERT_EQUAL(vhdx_guid_bat_region.b[0], 0x66);
	h.seq = 77;
	h.version = 1;
	h.log_length = 1 << 20;
	h.log_offset = 1 << 20;
	vhdx_guid_random(&h.data_write_guid);
	vhdx_header_encode(&h, buf);
	CU_ASSERT(vhdx_header_valid(buf));
	vhdx_header_decode(buf, &d);
	CU_ASSERT_EQUAL(d.seq, 77);
	CU_ASSERT(vhdx_guid_eq(&d.data_write_guid, &h.data_write_guid));
	buf[200] ^= 1;
	CU_ASSERT(!vhdx_header_valid(buf));
}

static void test_current_header(void)
{
	struct backend *be;
	struct vhdx_header h;
	uint8_t buf[VHDX_HEADER_SIZE];
	int slot = -1;

	CU_ASSERT_EQUAL_FATAL(create("h.vhdx", 8 << 20, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(backend_open(path_of("h.vhdx"), BE_RDWR, &be), 0);
	CU_ASSERT_EQUAL(vhdx_read_current_header(be, "h", &h, &slot), 0);
	CU_ASSERT_EQUAL(slot, 1);
	CU_ASSERT_EQUAL(h.seq, 2);
	/* damage header 2: header 1 (older) takes over */
	CU_ASSERT_EQUAL(backend_pread(be, buf, sizeof(buf), VHDX_HEADER2_OFF), 0);
	buf[300] ^= 0xff;
	CU_ASSERT_EQUAL(backend_pwrite(be, buf, sizeof(buf), VHDX_HEADER2_OFF), 0);
	CU_ASSERT_EQUAL(vhdx_read_current_header(be, "h", &h, &slot), 0);
	CU_ASSERT_EQUAL(slot, 0);
	CU_ASSERT_EQUAL(h.seq, 1);
	backend_close(be);
}

static void test_create_options(void)
{
	struct image *img;

	CU_ASSERT_EQUAL(create("o1.vhdx", 64 << 20, "block_size=3M"), -EINVAL);
	CU_ASSERT_EQUAL(create("o2.vhdx", 64 << 20, "log_size=1536K"), -EINVAL);
	CU_ASSERT_EQUAL(create("o3.vhdx", 64 << 20, "subformat=sparse"), -EINVAL);
	CU_ASSERT_EQUAL(create("o4.vhdx", 64 << 20, "bogus=1"), -EINVAL);
	CU_ASSERT_EQUAL(create("o5.vhdx", 1000, NULL), -EINVAL);   /* not whole sectors */
	CU_ASSERT_EQUAL_FATAL(create("o6.vhdx", 3ULL << 30,
				     "block_size=2M,log_size=4M,logical_sector_size=4096"), 0);
	CU_ASSERT_EQUAL_FATAL(image_open(path_of("o6.vhdx"), NULL, 0, &img), 0);
	CU_ASSERT_STRING_EQUAL(img->ops->name, "vhdx");
	CU_ASSERT_EQUAL(img->size, 3ULL << 30);
	CU_ASSERT_EQUAL(img->cluster_size, 2u << 20);
	image_close(img);
	/* qemu-img's default block sizes by disk size */
	CU_ASSERT_EQUAL_FATAL(create("o7.vhdx", 2ULL << 30, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(image_open(path_of("o7.vhdx"), NULL, 0, &img), 0);
	CU_ASSERT_EQUAL(img->cluster_size, 16u << 20);
	image_close(img);
}

struct wjob {
	struct image *img;
	int id;
	int ret;
};

#define WSIZE (24ULL << 20)

static uint8_t pat(uint64_t off)
{
	return (uint8_t)((off * 131 + off / 4099) | 1);
}

/* Thread id writes every 4th 100000-byte piece: pieces cross block boundaries. */
static void *writer(void *arg)
{
	struct wjob *j = arg;
	uint8_t *buf = malloc(100000);

	for (uint64_t off = (uint64_t)j->id * 100000; off < WSIZE && j->ret == 0;
	     off += 4 * 100000) {
		size_t n = (size_t)MIN(100000ULL, WSIZE - off);

		for (size_t i = 0; i < n; i++)
			buf[i] = pat(off + i);
		j->ret = image_write(j->img, buf, off, n);
	}
	free(buf);
	return NULL;
}

static void check_pattern(const char *name, uint64_t size)
{
	struct image *img;
	uint8_t *buf = malloc(1 << 20);
	bool ok = true;

	CU_ASSERT_EQUAL_FATAL(image_open(path_of(name), "vhdx", 0, &img), 0);
	for (uint64_t off = 0; off < size; off += 1 << 20) {
		CU_ASSERT_EQUAL(image_read(img, buf, off, 1 << 20), 0);
		for (size_t i = 0; i < 1 << 20; i++)
			if (buf[i] != (off + i < WSIZE ? pat(off + i) : 0))
				ok = false;
	}
	CU_ASSERT(ok);
	image_close(img);
	free(buf);
}

static void parallel_writes(const char *name, const char *o)
{
	struct image *img;
	pthread_t t[4];
	struct wjob j[4];

	CU_ASSERT_EQUAL_FATAL(create(name, 40 << 20, o), 0);
	CU_ASSERT_EQUAL_FATAL(image_open(path_of(name), "vhdx", IMG_RDWR, &img), 0);
	for (int i = 0; i < 4; i++) {
		j[i] = (struct wjob){ img, i, 0 };
		pthread_create(&t[i], NULL, writer, &j[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT_EQUAL(j[i].ret, 0);
	}
	image_close(img);
	check_pattern(name, 40 << 20);
}

static void test_parallel_writes(void)
{
	parallel_writes("pd.vhdx", "block_size=1M");
	parallel_writes("pf.vhdx", "subformat=fixed,block_size=2M");
}

static void test_status_and_session(void)
{
	struct image *img;
	struct block_status bs;
	struct backend *be;
	struct vhdx_header h0, h1;
	uint8_t buf[4096];

	CU_ASSERT_EQUAL_FATAL(create("s.vhdx", 16 << 20, "block_size=1M"), 0);
	CU_ASSERT_EQUAL_FATAL(backend_open(path_of("s.vhdx"), 0, &be), 0);
	CU_ASSERT_EQUAL(vhdx_read_current_header(be, "s", &h0, NULL), 0);
	backend_close(be);
	CU_ASSERT_EQUAL_FATAL(image_open(path_of("s.vhdx"), "vhdx", IMG_RDWR, &img), 0);
	CU_ASSERT(img->zero_init);
	memset(buf, 0xab, sizeof(buf));
	CU_ASSERT_EQUAL(image_write(img, buf, (5 << 20) + 512, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(image_block_status(img, 0, 16 << 20, &bs), 0);
	CU_ASSERT_EQUAL(bs.length, 5u << 20);
	CU_ASSERT(bs.flags & BS_ZERO);
	CU_ASSERT_EQUAL(image_block_status(img, 5 << 20, 11 << 20, &bs), 0);
	CU_ASSERT_EQUAL(bs.length, 1u << 20);
	CU_ASSERT(bs.flags & BS_DATA);
	CU_ASSERT(bs.flags & BS_OFFSET_VALID);
	/* zeroing a hole allocates nothing */
	CU_ASSERT_EQUAL(image_write_zeroes(img, 8 << 20, 1 << 20, 0), 0);
	CU_ASSERT_EQUAL(image_block_status(img, 8 << 20, 1 << 20, &bs), 0);
	CU_ASSERT(bs.flags & BS_ZERO);
	image_close(img);
	/* the write session renewed the data write GUID */
	CU_ASSERT_EQUAL_FATAL(backend_open(path_of("s.vhdx"), 0, &be), 0);
	CU_ASSERT_EQUAL(vhdx_read_current_header(be, "s", &h1, NULL), 0);
	backend_close(be);
	CU_ASSERT(!vhdx_guid_eq(&h0.data_write_guid, &h1.data_write_guid));
	CU_ASSERT(h1.seq > h0.seq);
}

static void patch(const char *name, uint64_t off, const void *data, size_t len)
{
	int fd = open(path_of(name), O_RDWR);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pwrite(fd, data, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void expect_open_error(const char *name, const char *needle)
{
	struct image *img = NULL;
	int ret;

	err_clear();
	ret = image_open(path_of(name), "vhdx", 0, &img);
	CU_ASSERT(ret < 0);
	if (ret == 0) {
		image_close(img);
		return;
	}
	if (!strstr(err_get(), needle))
		fprintf(stderr, "\n  %s: unexpected message: %s\n", name, err_get());
	CU_ASSERT_PTR_NOT_NULL(strstr(err_get(), needle));
}

static void test_bad_inputs(void)
{
	uint8_t e[8];

	CU_ASSERT_EQUAL_FATAL(create("b1.vhdx", 8 << 20, "block_size=1M"), 0);
	patch("b1.vhdx", VHDX_HEADER1_OFF + 9, "x", 1);
	patch("b1.vhdx", VHDX_HEADER2_OFF + 9, "x", 1);
	expect_open_error("b1.vhdx", "no valid VHDX header");

	CU_ASSERT_EQUAL_FATAL(create("b2.vhdx", 8 << 20, "block_size=1M"), 0);
	store_le64(e, (1ULL << 40) | VHDX_PAYLOAD_FULLY_PRESENT);
	patch("b2.vhdx", 3 << 20, e, 8);
	expect_open_error("b2.vhdx", "beyond the end of the file");

	CU_ASSERT_EQUAL_FATAL(create("b3.vhdx", 8 << 20, "block_size=1M"), 0);
	patch("b3.vhdx", VHDX_REGION1_OFF + 30, "x", 1);
	patch("b3.vhdx", VHDX_REGION2_OFF + 30, "x", 1);
	expect_open_error("b3.vhdx", "region tables are damaged");

	/* one damaged region table copy: the other one opens */
	CU_ASSERT_EQUAL_FATAL(create("b4.vhdx", 8 << 20, "block_size=1M"), 0);
	patch("b4.vhdx", VHDX_REGION1_OFF + 30, "x", 1);
	{
		struct image *img;

		CU_ASSERT_EQUAL(image_open(path_of("b4.vhdx"), "vhdx", 0, &img), 0);
		if (img)
			image_close(img);
	}
}

static const struct unit_test tests[] = {
	{ "CRC-32C check values", test_crc32c },
	{ "GUID byte order and header round trip", test_guid_and_header },
	{ "current header: higher valid sequence", test_current_header },
	{ "create options", test_create_options },
	{ "parallel unaligned writes, dynamic and fixed", test_parallel_writes },
	{ "block status and write session GUIDs", test_status_and_session },
	{ "malformed images", test_bad_inputs },
};

UNIT_MAIN("vhdx", tests, NULL)
