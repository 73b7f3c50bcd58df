/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_checksum_feed.c - CUnit tests for the digest fed by the copy engine
 * (convert/checksum_feed.c): ranges handed in shuffled, cut anywhere (not on
 * block or segment boundaries), some as zero ranges, give checksum_run()'s
 * digest; a copy run with on_source gives the source's digest; a feed that
 * missed a range refuses to give a digest.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/util.h"
#include "convert/checksum.h"
#include "convert/checksum_feed.h"
#include "convert/copy.h"
#include "formats/format.h"
#include "tests/unit/unit.h"

/* Two segments and a bit: the last segment and the last block are short. */
#define SIZE (130 * MiB + 1536)

/* Data at offsets that fall inside blocks and across a segment boundary. */
static void make_source(const char *file)
{
	static const uint64_t at[][2] = {
		{ 4096, 100000 }, { 3 * MiB + 512, 2 * MiB }, { 64 * MiB - 7000, 20000 },
		{ 100 * MiB, 4 * MiB }, { SIZE - 3000, 3000 },
	};
	int fd;

	CU_ASSERT_EQUAL_FATAL(image_create(file, "raw", SIZE, NULL), 0);
	fd = open(file, O_WRONLY);
	CU_ASSERT_FATAL(fd >= 0);
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		uint8_t *buf = malloc(at[i][1]);

		for (uint64_t k = 0; k < at[i][1]; k++)
			buf[k] = (uint8_t)((k * 37 + i) % 253 + 1);
		CU_ASSERT_EQUAL(pwrite(fd, buf, at[i][1], (off_t)at[i][0]), (ssize_t)at[i][1]);
		free(buf);
	}
	close(fd);
}

static void digest_of(const char *file, char *hex)
{
	struct checksum_params p = { 0 };

	CU_ASSERT_EQUAL_FATAL(image_open(file, "raw", 0, &p.img), 0);
	CU_ASSERT_EQUAL(checksum_run(&p, hex), 0);
	image_close(p.img);
}

static void test_shuffled_pieces(void)
{
	const char *src = path_of("feed.raw");
	char want[CHECKSUM_HEX_LEN + 1], got[CHECKSUM_HEX_LEN + 1];
	uint64_t (*piece)[2] = calloc(4096, sizeof(*piece));
	struct checksum_feed *f;
	struct image *img;
	uint8_t *data = malloc(SIZE);
	size_t n = 0;

	make_source(src);
	digest_of(src, want);
	CU_ASSERT_EQUAL_FATAL(image_open(src, "raw", 0, &img), 0);
	CU_ASSERT_EQUAL_FATAL(image_read(img, data, 0, SIZE), 0);
	image_close(img);
	srand(11);
	for (uint64_t off = 0; off < SIZE; n++) {
		uint64_t len = MIN((uint64_t)(rand() % (3 * MiB)) + 1, SIZE - off);

		piece[n][0] = off;
		piece[n][1] = len;
		off += len;
	}
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)rand() % (i + 1);
		uint64_t t0 = piece[i][0], t1 = piece[i][1];

		piece[i][0] = piece[j][0];
		piece[i][1] = piece[j][1];
		piece[j][0] = t0;
		piece[j][1] = t1;
	}
	f = checksum_feed_new(SIZE, src);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *b = data + piece[i][0];

		/* a piece of zeros is handed in as a zero range every other time */
		if (buffer_is_zero(b, (size_t)piece[i][1]) && i % 2)
			b = NULL;
		CU_ASSERT_EQUAL(checksum_feed_add(f, piece[i][0], b, piece[i][1]), 0);
	}
	CU_ASSERT_EQUAL(checksum_feed_finish(f, got), 0);
	CU_ASSERT_STRING_EQUAL(got, want);
	checksum_feed_free(f);
	free(piece);
	free(data);
}

static int feed_cb(void *opaque, uint64_t off, const uint8_t *buf, uint64_t len)
{
	return checksum_feed_add(opaque, off, buf, len);
}

static void test_copy_feeds_digest(void)
{
	const char *src = path_of("feed.raw"), *dst = path_of("feed.qcow2");
	char want[CHECKSUM_HEX_LEN + 1], got[CHECKSUM_HEX_LEN + 1];
	struct copy_params cp = { 0 };
	struct image *s, *d;

	make_source(src);
	digest_of(src, want);
	CU_ASSERT_EQUAL_FATAL(image_create(dst, "qcow2", SIZE, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(image_open(src, "raw", 0, &s), 0);
	CU_ASSERT_EQUAL_FATAL(image_open(dst, "qcow2", IMG_RDWR, &d), 0);
	cp.src = &s;
	cp.nb_src = 1;
	cp.dst = d;
	cp.min_sparse = COPY_DEFAULT_SPARSE;
	cp.target_zeroed = d->zero_init;
	cp.on_source_opaque = checksum_feed_new(SIZE, src);
	cp.on_source = feed_cb;
	CU_ASSERT_EQUAL(copy_run(&cp), 0);
	CU_ASSERT_EQUAL(checksum_feed_finish(cp.on_source_opaque, got), 0);
	CU_ASSERT_STRING_EQUAL(got, want);
	checksum_feed_free(cp.on_source_opaque);
	image_close(d);
	image_close(s);
}

static void test_missing_range(void)
{
	char hex[CHECKSUM_HEX_LEN + 1];
	struct checksum_feed *f = checksum_feed_new(SIZE, "x");

	CU_ASSERT_EQUAL(checksum_feed_add(f, 0, NULL, 64 * MiB), 0);
	CU_ASSERT_EQUAL(checksum_feed_add(f, 64 * MiB + 4096, NULL, SIZE - 64 * MiB - 4096), 0);
	CU_ASSERT_EQUAL(checksum_feed_finish(f, hex), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_get(), "misses bytes from offset 0x4000000"));
	CU_ASSERT_EQUAL(checksum_feed_add(f, SIZE - 10, NULL, 11), -EINVAL);
	checksum_feed_free(f);
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{ "shuffled pieces give checksum_run's digest", test_shuffled_pieces },
	{ "a copy feeds the source's digest", test_copy_feeds_digest },
	{ "a missing range gives no digest", test_missing_range },
};

UNIT_MAIN("checksum_feed", tests, NULL)
