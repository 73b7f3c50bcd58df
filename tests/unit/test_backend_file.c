/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_backend_file.c - the file backend and the raw format on real files:
 * exact transfers, zeros past EOF, hole reporting, zeroing/punching, O_DIRECT with
 * unaligned requests, cache-mode names, and raw create/preallocation/resize.
 */
#include "backends/backend.h"
#include "formats/format.h"
#include "common/err.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tests/unit/unit.h"

static void fill(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 31 + seed);
}

static void test_rw_and_eof(void)
{
	struct backend *be;
	uint8_t w[10000], r[12000];
	uint64_t size;

	CU_ASSERT_FATAL(backend_open(path_of("a"), BE_RDWR | BE_CREATE, &be) == 0);
	CU_ASSERT(be->zero_init);
	fill(w, sizeof(w), 1);
	CU_ASSERT(backend_pwrite(be, w, sizeof(w), 123) == 0);
	CU_ASSERT(backend_size(be, &size) == 0);
	CU_ASSERT(size == 10123);
	memset(r, 0xff, sizeof(r));
	CU_ASSERT(backend_pread(be, r, sizeof(r), 123) == 0);
	CU_ASSERT(memcmp(r, w, sizeof(w)) == 0);
	/* past EOF reads as zeros */
	CU_ASSERT(buffer_is_zero(r + sizeof(w), sizeof(r) - sizeof(w)));
	CU_ASSERT(backend_flush(be) == 0);
	backend_close(be);
}

static void test_readonly_refuses_write(void)
{
	struct backend *be;
	uint8_t b[16] = { 0 };

	CU_ASSERT_FATAL(backend_open(path_of("a"), 0, &be) == 0);
	err_clear();
	CU_ASSERT(backend_pwrite(be, b, sizeof(b), 0) == -EBADF);
	CU_ASSERT(strstr(err_get(), "read-only") != NULL);
	backend_close(be);
}

static void test_missing_file_message(void)
{
	struct backend *be;

	err_clear();
	CU_ASSERT(backend_open(path_of("does-not-exist"), 0, &be) == -ENOENT);
	CU_ASSERT(strstr(err_get(), "does-not-exist") != NULL);
}

static void test_holes_and_zeroes(void)
{
	struct backend *be;
	uint8_t *buf = malloc(1 * MiB);
	bool data;
	uint64_t run;

	fill(buf, 1 * MiB, 7);
	CU_ASSERT_FATAL(backend_open(path_of("h"), BE_RDWR | BE_CREATE, &be) == 0);
	CU_ASSERT(backend_truncate(be, 8 * MiB) == 0);
	CU_ASSERT(backend_pwrite(be, buf, 1 * MiB, 4 * MiB) == 0);
	CU_ASSERT(backend_extent(be, 0, 8 * MiB, &data, &run) == 0);
	CU_ASSERT(!data);
	CU_ASSERT(run == 4 * MiB);
	CU_ASSERT(backend_extent(be, 4 * MiB, 4 * MiB, &data, &run) == 0);
	CU_ASSERT(data);
	CU_ASSERT(run == 1 * MiB);
	/* punch the middle of the data: a hole again, reads zeros */
	CU_ASSERT(backend_write_zeroes(be, 4 * MiB + 256 * KiB, 512 * KiB, BE_ZERO_MAY_UNMAP) == 0);
	CU_ASSERT(backend_extent(be, 4 * MiB + 256 * KiB, 512 * KiB, &data, &run) == 0);
	CU_ASSERT(!data);
	CU_ASSERT(backend_pread(be, buf, 512 * KiB, 4 * MiB + 256 * KiB) == 0);
	CU_ASSERT(buffer_is_zero(buf, 512 * KiB));
	/* zeroing past the end extends the file */
	CU_ASSERT(backend_write_zeroes(be, 8 * MiB, 1 * MiB, BE_ZERO_MAY_UNMAP) == 0);
	CU_ASSERT(backend_size(be, &run) == 0);
	CU_ASSERT(run == 9 * MiB);
	backend_close(be);
	free(buf);
}

static void test_direct_unaligned(void)
{
	struct backend *be;
	uint8_t w[1000], r[1000];
	uint64_t size;

	CU_ASSERT_FATAL(backend_open(path_of("d"), BE_RDWR | BE_CREATE, &be) == 0);
	backend_close(be);
	if (backend_open(path_of("d"), BE_RDWR | BE_NOCACHE, &be) < 0) {
		/* The filesystem has no O_DIRECT: the error must say so. */
		CU_ASSERT(strstr(err_get(), "O_DIRECT") != NULL);
		return;
	}
	CU_ASSERT(be->align >= 512);
	fill(w, sizeof(w), 3);
	CU_ASSERT(backend_pwrite(be, w, sizeof(w), 4097) == 0);
	CU_ASSERT(backend_size(be, &size) == 0);
	CU_ASSERT(size == 4097 + sizeof(w));
	CU_ASSERT(backend_pread(be, r, sizeof(r), 4097) == 0);
	CU_ASSERT(memcmp(r, w, sizeof(w)) == 0);
	backend_close(be);
}

static void test_cache_modes(void)
{
	int f;

	CU_ASSERT(backend_cache_flags("none", &f) == 0 && f == BE_NOCACHE);
	CU_ASSERT(backend_cache_flags("directsync", &f) == 0 && f == (BE_NOCACHE | BE_DSYNC));
	CU_ASSERT(backend_cache_flags("writeback", &f) == 0 && f == 0);
	CU_ASSERT(backend_cache_flags("unsafe", &f) == 0 && f == BE_NOFLUSH);
	CU_ASSERT(backend_cache_flags("bogus", &f) == -EINVAL);
}

static void test_raw_create_prealloc(void)
{
	struct opts o = { 0 };
	struct image *img;
	struct block_status bs;
	struct stat st;

	CU_ASSERT(image_create(path_of("r.raw"), "raw", 3 * MiB, NULL) == 0);
	CU_ASSERT(stat(path_of("r.raw"), &st) == 0 && st.st_size == 3 * (off_t)MiB);
	CU_ASSERT(st.st_blocks == 0);
	CU_ASSERT(opts_parse(&o, "preallocation=falloc") == 0);
	CU_ASSERT(image_create(path_of("f.raw"), "raw", 3 * MiB, &o) == 0);
	opts_free(&o);
	CU_ASSERT(stat(path_of("f.raw"), &st) == 0 && st.st_blocks * 512 >= 3 * (off_t)MiB);
	CU_ASSERT(opts_parse(&o, "preallocation=metadata") == 0);
	CU_ASSERT(image_create(path_of("m.raw"), "raw", 3 * MiB, &o) == -EINVAL);
	opts_free(&o);
	CU_ASSERT(opts_parse(&o, "cluster_size=4k") == 0);
	err_clear();
	CU_ASSERT(image_create(path_of("m.raw"), "raw", 3 * MiB, &o) == -EINVAL);
	CU_ASSERT(strstr(err_get(), "cluster_size") != NULL);
	opts_free(&o);

	CU_ASSERT_FATAL(image_open(path_of("r.raw"), "raw", IMG_RDWR, &img) == 0);
	CU_ASSERT(img->size == 3 * MiB);
	CU_ASSERT(image_block_status(img, 0, img->size, &bs) == 0);
	CU_ASSERT(bs.flags & BS_ZERO);
	CU_ASSERT(bs.length == 3 * MiB);
	CU_ASSERT(image_resize(img, 5 * MiB, PREALLOC_OFF, false) == 0);
	CU_ASSERT(image_resize(img, 1 * MiB, PREALLOC_OFF, false) == -EINVAL);
	CU_ASSERT(image_resize(img, 1 * MiB, PREALLOC_OFF, true) == 0);
	CU_ASSERT(img->size == 1 * MiB);
	image_close(img);
}

static void test_raw_probe_refuses_write(void)
{
	struct image *img;

	err_clear();
	CU_ASSERT(image_open(path_of("r.raw"), NULL, IMG_RDWR, &img) == -EINVAL);
	CU_ASSERT(strstr(err_get(), "-f raw") != NULL);
	CU_ASSERT_FATAL(image_open(path_of("r.raw"), NULL, 0, &img) == 0);
	CU_ASSERT(strcmp(img->ops->name, "raw") == 0);
	image_close(img);
}

static const struct unit_test tests[] = {
	{ "read/write and zeros past EOF", test_rw_and_eof },
	{ "read-only refuses writes", test_readonly_refuses_write },
	{ "missing file names the file", test_missing_file_message },
	{ "holes, punch and zeroing", test_holes_and_zeroes },
	{ "O_DIRECT with unaligned requests", test_direct_unaligned },
	{ "cache mode names", test_cache_modes },
	{ "raw create, preallocation, resize", test_raw_create_prealloc },
	{ "probed raw is never written", test_raw_probe_refuses_write },
};

UNIT_MAIN("backend_file_and_raw", tests, NULL)
