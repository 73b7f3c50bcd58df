/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_rofmts.c - the pieces the read-only formats (dmg, cloop, bochs) share, and
 * their reads at odd offsets:
 *   - decompress.c: a unit must decompress to exactly its size; longer (a bomb),
 *     shorter or garbage is -EIO, for zlib and bzip2;
 *   - unit_cache.c: whole units bypass the cache, parts of one unit decompress it
 *     once, a loader's error is passed on and nothing stale is served, threads
 *     reading parts at once all get the right bytes;
 *   - each format's fixture (fixtures/make-*.py, run from the source tree) read
 *     in pieces that straddle units, sectors and extents equals its raw disk.
 */
#include "formats/decompress.h"
#include "formats/format.h"
#include "formats/unit_cache.h"
#include "common/err.h"
#include "common/util.h"
#include "tests/unit/unit.h"

#ifdef HAVE_BZIP2
#include <bzlib.h>
#endif
#include <errno.h>
#include <pthread.h>
#include <unistd.h>
#include <zlib.h>

#define UNIT 4096u

static void test_zlib_exact(void)
{
	uint8_t src[UNIT], z[UNIT * 2], out[UNIT * 2];
	uLongf zlen = sizeof(z);

	for (unsigned i = 0; i < UNIT; i++)
		src[i] = (uint8_t)(i * 7 / 13);
	CU_ASSERT_FATAL(compress(z, &zlen, src, UNIT) == Z_OK);
	CU_ASSERT(zlib_inflate_exact(z, zlen, out, UNIT) == 0);
	CU_ASSERT(memcmp(out, src, UNIT) == 0);
	/* more output than the unit holds: refused, nothing written past it */
	out[UNIT / 2] = 0xee;
	CU_ASSERT(zlib_inflate_exact(z, zlen, out, UNIT / 2) == -EIO);
	CU_ASSERT(out[UNIT / 2] == 0xee);
	/* less output than the unit holds */
	CU_ASSERT(zlib_inflate_exact(z, zlen, out, UNIT + 1) == -EIO);
	/* a truncated stream and garbage */
	CU_ASSERT(zlib_inflate_exact(z, zlen / 2, out, UNIT) == -EIO);
	memset(z, 0x5a, 64);
	CU_ASSERT(zlib_inflate_exact(z, 64, out, UNIT) == -EIO);
}

static void test_bz2_exact(void)
{
#ifdef HAVE_BZIP2
	char src[UNIT], b[UNIT * 2];
	uint8_t out[UNIT * 2];
	unsigned blen = sizeof(b);

	for (unsigned i = 0; i < UNIT; i++)
		src[i] = (char)(i % 251);
	CU_ASSERT_FATAL(BZ2_bzBuffToBuffCompress(b, &blen, src, UNIT, 9, 0, 0) == BZ_OK);
	CU_ASSERT(bz2_decompress_exact((uint8_t *)b, blen, out, UNIT) == 0);
	CU_ASSERT(memcmp(out, src, UNIT) == 0);
	CU_ASSERT(bz2_decompress_exact((uint8_t *)b, blen, out, UNIT / 2) == -EIO);
	CU_ASSERT(bz2_decompress_exact((uint8_t *)b, blen, out, UNIT + 512) == -EIO);
	CU_ASSERT(bz2_decompress_exact((uint8_t *)b, blen - 8, out, UNIT) == -EIO);
#else
	UNIT_SKIP("built without libbz2");
#endif
}

/* a loader whose unit idx holds bytes (idx + offset) % 256, counting its calls;
 * unit 13 fails */
static int loads;

static int fake_load(void *opaque, uint64_t idx, uint8_t *out, size_t len)
{
	__atomic_add_fetch(&loads, 1, __ATOMIC_SEQ_CST);
	if (idx == 13)
		return err_set(-EIO, "fake", "unit 13 is broken");
	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)(idx + i);
	return 0;
}

static bool bytes_ok(const uint8_t *p, uint64_t idx, size_t off, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)(idx + off + i))
			return false;
	return true;
}

static void test_unit_cache(void)
{
	struct unit_cache c;
	uint8_t buf[UNIT];

	CU_ASSERT_FATAL(unit_cache_init(&c, UNIT) == 0);
	loads = 0;
	/* parts of unit 3: one decompression */
	CU_ASSERT(unit_cache_read(&c, 3, UNIT, fake_load, NULL, 100, buf, 512) == 0);
	CU_ASSERT(bytes_ok(buf, 3, 100, 512));
	CU_ASSERT(unit_cache_read(&c, 3, UNIT, fake_load, NULL, 3000, buf, 1096) == 0);
	CU_ASSERT(bytes_ok(buf, 3, 3000, 1096));
	CU_ASSERT(loads == 1);
	/* a whole unit straight to the reader, cache untouched */
	CU_ASSERT(unit_cache_read(&c, 5, UNIT, fake_load, NULL, 0, buf, UNIT) == 0);
	CU_ASSERT(bytes_ok(buf, 5, 0, UNIT));
	CU_ASSERT(unit_cache_read(&c, 3, UNIT, fake_load, NULL, 1, buf, 1) == 0);
	CU_ASSERT(loads == 2);
	/* an error is passed on; the next read of another unit loads it afresh */
	CU_ASSERT(unit_cache_read(&c, 13, UNIT, fake_load, NULL, 1, buf, 8) == -EIO);
	CU_ASSERT(strstr(err_get(), "unit 13") != NULL);
	CU_ASSERT(unit_cache_read(&c, 3, UNIT, fake_load, NULL, 8, buf, 8) == 0);
	CU_ASSERT(bytes_ok(buf, 3, 8, 8));
	CU_ASSERT(loads == 4);
	/* a unit larger than the cache is refused, not overflowed */
	CU_ASSERT(unit_cache_read(&c, 4, UNIT * 2, fake_load, NULL, 8, buf, 8) == -EIO);
	unit_cache_free(&c);
}

static struct unit_cache shared;
static int thread_bad;

static void *reader(void *arg)
{
	uint8_t buf[700];
	uintptr_t t = (uintptr_t)arg;

	for (unsigned i = 0; i < 2000; i++) {
		uint64_t idx = (t + i) % 5;
		size_t off = (i * 37 + t * 101) % (UNIT - sizeof(buf));

		if (unit_cache_read(&shared, idx, UNIT, fake_load, NULL, off, buf, sizeof(buf)) ||
		    !bytes_ok(buf, idx, off, sizeof(buf)))
			__atomic_store_n(&thread_bad, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

static void test_unit_cache_threads(void)
{
	pthread_t th[4];

	CU_ASSERT_FATAL(unit_cache_init(&shared, UNIT) == 0);
	thread_bad = 0;
	for (uintptr_t i = 0; i < 4; i++)
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, reader, (void *)i) == 0);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	CU_ASSERT(thread_bad == 0);
	unit_cache_free(&shared);
}

/* read IMG in pieces of odd sizes at odd offsets; compare with RAW */
static void read_in_pieces(const char *img_name, const char *raw_name)
{
	struct image *img;
	FILE *f = fopen(path_of(raw_name), "rb");
	uint8_t *want, *got;
	long size;

	CU_ASSERT_FATAL(f != NULL);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	want = malloc((size_t)size);
	got = malloc((size_t)size);
	CU_ASSERT_FATAL(want && got && fread(want, 1, (size_t)size, f) == (size_t)size);
	fclose(f);
	CU_ASSERT_FATAL(image_open(path_of(img_name), NULL, 0, &img) == 0);
	CU_ASSERT(img->size == (uint64_t)size);
	memset(got, 0xcc, (size_t)size);
	for (uint64_t off = 0, step = 1; off < img->size; step = step * 3 % 100003 + 511) {
		size_t n = (size_t)MIN(step, img->size - off);

		if (image_read(img, got + off, off, n) < 0) {
			CU_FAIL("read failed");
			fprintf(stderr, "%s: %s\n", img_name, err_get());
			break;
		}
		off += n;
	}
	CU_ASSERT(memcmp(got, want, (size_t)size) == 0);
	image_close(img);
	free(want);
	free(got);
}

static bool have_fixtures(void)
{
	return access("fixtures/make-dmg.py", R_OK) == 0 &&
	       access("fixtures/make-cloop.py", R_OK) == 0 &&
	       access("fixtures/make-bochs.py", R_OK) == 0;
}

static void make_fixtures(const char *fmt)
{
	char top[4096];

	if (!have_fixtures() || !getcwd(top, sizeof(top)))
		UNIT_SKIP("run from the source tree (fixtures/make-%s.py)", fmt);
	CU_ASSERT_FATAL(run("python3 '%s/fixtures/make-%s.py' .", top, fmt) == 0);
}

static void test_dmg_pieces(void)
{
	make_fixtures("dmg");
	read_in_pieces("plist.dmg", "plist.raw");
	read_in_pieces("rsrc.dmg", "rsrc.raw");
	if (bz2_available())
		read_in_pieces("bzip2.dmg", "bzip2.raw");
}

static void test_cloop_pieces(void)
{
	make_fixtures("cloop");
	read_in_pieces("small.cloop", "small.raw");
	read_in_pieces("big-block.cloop", "big-block.raw");
}

static void test_bochs_pieces(void)
{
	make_fixtures("bochs");
	read_in_pieces("growing.bochs", "growing.raw");
	read_in_pieces("v1.bochs", "v1.raw");
}

static const struct unit_test tests[] = {
	{ "zlib units decompress exactly", test_zlib_exact },
	{ "bzip2 units decompress exactly", test_bz2_exact },
	{ "unit cache: whole, parts, errors", test_unit_cache },
	{ "unit cache: threads", test_unit_cache_threads },
	{ "dmg read in odd pieces", test_dmg_pieces },
	{ "cloop read in odd pieces", test_cloop_pieces },
	{ "bochs read in odd pieces", test_bochs_pieces },
};

UNIT_MAIN("rofmts", tests, NULL)
