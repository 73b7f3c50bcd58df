/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_copy.c - CUnit tests for the copy engine (convert/copy.c) and the compare
 * engine (convert/compare.c) on raw images: holes stay holes in the target, zero
 * runs inside data are detected (and written with -S 0), sources concatenate, an
 * existing non-zero target gets its zero ranges cleared, and any number of
 * workers produces the same bytes.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/util.h"
#include "convert/compare.h"
#include "convert/copy.h"
#include "formats/format.h"
#include "tests/unit/unit.h"

/* Fill [off, off+len) of a file with a byte pattern (0 writes real zeros). */
static void fill(const char *file, uint64_t off, uint64_t len, int seed)
{
	int fd = open(file, O_WRONLY);
	uint8_t *buf = malloc(len);

	for (uint64_t i = 0; i < len; i++)
		buf[i] = seed ? (uint8_t)((i * 131 + seed) % 251 + 1) : 0;
	CU_ASSERT_EQUAL((uint64_t)pwrite(fd, buf, len, (off_t)off), len);
	close(fd);
	free(buf);
}

static uint64_t allocated(const char *file)
{
	struct stat st;

	if (stat(file, &st))
		return UINT64_MAX;
	return (uint64_t)st.st_blocks * 512;
}

/* A 64 MiB raw source: 4 MiB data at 1 MiB, 8 MiB of written zeros at 8 MiB,
 * 12 KiB data at 30 MiB + 4 KiB, a hole everywhere else. */
static void make_source(const char *file)
{
	CU_ASSERT_EQUAL_FATAL(image_create(file, "raw", 64 * MiB, NULL), 0);
	fill(file, 1 * MiB, 4 * MiB, 7);
	fill(file, 8 * MiB, 8 * MiB, 0);
	fill(file, 30 * MiB + 4096, 12288, 9);
}

static bool files_equal(const char *a, const char *b)
{
	struct image *x, *y;
	uint64_t mismatch;
	struct compare_params cp = { 0 };
	int ret;

	if (image_open(a, "raw", 0, &x))
		return false;
	if (image_open(b, "raw", 0, &y)) {
		image_close(x);
		return false;
	}
	cp.a = x;
	cp.b = y;
	ret = compare_run(&cp, &mismatch);
	image_close(x);
	image_close(y);
	return ret == 0;
}

static int copy_files(const char **srcs, int n, const char *dst, bool create, bool zeroed,
		      uint64_t sparse, int workers)
{
	struct image *src[4] = { 0 }, *d = NULL;
	struct copy_params p = { 0 };
	int ret = 0;

	for (int i = 0; i < n && ret == 0; i++)
		ret = image_open(srcs[i], "raw", 0, &src[i]);
	if (ret == 0 && create)
		ret = image_create(dst, "raw", copy_total_size(src, n), NULL);
	if (ret == 0)
		ret = image_open(dst, "raw", IMG_RDWR, &d);
	if (ret == 0) {
		p.src = src;
		p.nb_src = n;
		p.dst = d;
		p.min_sparse = sparse;
		p.target_zeroed = zeroed;
		p.workers = workers;
		ret = copy_run(&p);
	}
	image_close(d);
	for (int i = 0; i < n; i++)
		image_close(src[i]);
	return ret;
}

static void test_holes_and_zero_runs(void)
{
	const char *src = path_of("src.raw");

	make_source(src);
	CU_ASSERT_EQUAL(copy_files(&src, 1, path_of("dst.raw"), true, true, 4096, 0), 0);
	CU_ASSERT(files_equal(src, path_of("dst.raw")));
	/* 4 MiB + 12 KiB of data; neither the hole nor the written zeros allocate */
	CU_ASSERT(allocated(path_of("dst.raw")) < 5 * MiB);
	CU_ASSERT(allocated(src) >= 12 * MiB);
}

static void test_sparse_off(void)
{
	const char *src = path_of("src.raw");

	CU_ASSERT_EQUAL(copy_files(&src, 1, path_of("dst0.raw"), true, true, 0, 0), 0);
	CU_ASSERT(files_equal(src, path_of("dst0.raw")));
	/* -S 0: a fully allocated target, holes included (as qemu-img -S 0) */
	CU_ASSERT(allocated(path_of("dst0.raw")) >= 64 * MiB);
}

static void test_workers_identical(void)
{
	const char *src = path_of("src.raw");

	CU_ASSERT_EQUAL(copy_files(&src, 1, path_of("w1.raw"), true, true, 4096, 1), 0);
	CU_ASSERT_EQUAL(copy_files(&src, 1, path_of("w16.raw"), true, true, 4096, 16), 0);
	CU_ASSERT(files_equal(path_of("w1.raw"), path_of("w16.raw")));
	CU_ASSERT(files_equal(src, path_of("w16.raw")));
}

static void test_concatenation(void)
{
	const char *srcs[3] = { path_of("c1.raw"), path_of("c2.raw"), path_of("c3.raw") };
	struct image *d;
	uint8_t *buf = malloc(4096), *want = malloc(4096);

	/* odd sizes so that sources meet inside a cluster/sector */
	CU_ASSERT_EQUAL_FATAL(image_create(srcs[0], "raw", 3 * MiB + 1000, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(image_create(srcs[1], "raw", 5000, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(image_create(srcs[2], "raw", 2 * MiB, NULL), 0);
	fill(srcs[0], 3 * MiB - 2000, 3000, 3);
	fill(srcs[1], 0, 5000, 4);
	fill(srcs[2], MiB, 4096, 5);
	CU_ASSERT_EQUAL(copy_files(srcs, 3, path_of("cat.raw"), true, true, 4096, 4), 0);
	CU_ASSERT_EQUAL_FATAL(image_open(path_of("cat.raw"), "raw", 0, &d), 0);
	CU_ASSERT_EQUAL(d->size, 3 * MiB + 1000 + 5000 + 2 * MiB);
	/* the second source starts right after the first */
	CU_ASSERT_EQUAL(image_read(d, buf, 3 * MiB + 1000, 4096), 0);
	for (int i = 0; i < 4096; i++)
		want[i] = (uint8_t)(((uint64_t)i * 131 + 4) % 251 + 1);
	CU_ASSERT_EQUAL(memcmp(buf, want, 4096), 0);
	CU_ASSERT_EQUAL(image_read(d, buf, 3 * MiB + 6000 + MiB, 4096), 0);
	for (int i = 0; i < 4096; i++)
		want[i] = (uint8_t)(((uint64_t)i * 131 + 5) % 251 + 1);
	CU_ASSERT_EQUAL(memcmp(buf, want, 4096), 0);
	image_close(d);
	free(buf);
	free(want);
}

static void test_existing_target_zeroed(void)
{
	const char *src = path_of("src.raw");
	const char *dst = path_of("old.raw");

	/* an existing target full of garbage: zero ranges must be written */
	CU_ASSERT_EQUAL_FATAL(image_create(dst, "raw", 64 * MiB, NULL), 0);
	fill(dst, 0, 64 * MiB, 11);
	CU_ASSERT_EQUAL(copy_files(&src, 1, dst, false, false, 4096, 0), 0);
	CU_ASSERT(files_equal(src, dst));
}

static void test_target_too_small(void)
{
	const char *src = path_of("src.raw");
	const char *dst = path_of("small.raw");

	CU_ASSERT_EQUAL_FATAL(image_create(dst, "raw", MiB, NULL), 0);
	CU_ASSERT_EQUAL(copy_files(&src, 1, dst, false, false, 4096, 0), -ENOSPC);
	CU_ASSERT(strstr(err_get(), "smaller") != NULL);
}

static void test_compare_mismatch(void)
{
	const char *src = path_of("src.raw");
	struct image *a, *b;
	struct compare_params cp = { 0 };
	uint64_t at = 0;

	fill(path_of("w1.raw"), 40 * MiB + 777, 1, 3);
	CU_ASSERT_EQUAL_FATAL(image_open(src, "raw", 0, &a), 0);
	CU_ASSERT_EQUAL_FATAL(image_open(path_of("w1.raw"), "raw", 0, &b), 0);
	cp.a = a;
	cp.b = b;
	CU_ASSERT_EQUAL(compare_run(&cp, &at), 1);
	CU_ASSERT_EQUAL(at, 40 * MiB + 512);
	image_close(a);
	image_close(b);
}

static const struct unit_test tests[] = {
	{ "holes and zero runs", test_holes_and_zero_runs },
	{ "sparse detection off", test_sparse_off },
	{ "workers give identical output", test_workers_identical },
	{ "concatenation", test_concatenation },
	{ "existing target gets zeroed", test_existing_target_zeroed },
	{ "target too small", test_target_too_small },
	{ "compare finds first mismatch", test_compare_mismatch },
};

UNIT_MAIN("copy", tests, NULL)
