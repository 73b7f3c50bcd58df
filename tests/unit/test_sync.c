/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_sync.c - CUnit tests for `imgtool sync`'s digest stream (convert/sync_digests.c)
 * and engine (convert/sync.c): a stream reads back as written, zero blocks merge
 * into runs (an empty disk is a few bytes), every damaged stream is refused with
 * its own message, and a sync by stream writes exactly the blocks that differ.
 * They run under ASan/UBSan with the rest of the unit suite.
 */

#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "convert/sync.h"
#include "convert/sync_digests.h"
#include "formats/format.h"
#include "tests/unit/unit.h"

#define BS 4096u

/* Write a stream of nblocks blocks to path: block i holds data when data[i]. */
static void write_stream(const char *path, uint64_t size, const bool *data)
{
	struct digest_writer *w = NULL;
	uint64_t n = (size + BS - 1) / BS;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	uint8_t d[SYNC_DIGEST_LEN];

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(digest_writer_open(fd, path, BS, size, &w), 0);
	for (uint64_t i = 0; i < n; i++) {
		memset(d, (int)i, sizeof(d));
		CU_ASSERT_EQUAL(digest_writer_block(w, !data[i], d), 0);
	}
	CU_ASSERT_EQUAL(digest_writer_finish(w), 0);
	digest_writer_free(w);
	close(fd);
}

/* Read path back (checking each block against data when check); 0, or the first
 * error. */
static int read_stream(const char *path, uint64_t size, const bool *data, bool check)
{
	struct digest_reader *r = NULL;
	int fd = open(path, O_RDONLY), ret;
	uint8_t d[SYNC_DIGEST_LEN], want[SYNC_DIGEST_LEN];

	CU_ASSERT_FATAL(fd >= 0);
	ret = digest_reader_open(fd, path, &r);
	if (!ret) {
		CU_ASSERT_EQUAL(digest_reader_size(r), size);
		CU_ASSERT_EQUAL(digest_reader_block_size(r), BS);
	}
	for (uint64_t i = 0; !ret && i < (size + BS - 1) / BS; i++) {
		bool zero;

		ret = digest_reader_next(r, &zero, d);
		if (ret)
			break;
		if (!check)
			continue;
		CU_ASSERT_EQUAL(zero, !data[i]);
		memset(want, (int)i, sizeof(want));
		if (!zero) {
			CU_ASSERT_EQUAL(memcmp(d, want, sizeof(d)), 0);
		}
	}
	if (!ret)
		ret = digest_reader_finish(r);
	digest_reader_free(r);
	close(fd);
	return ret;
}

static void test_round_trip(void)
{
	bool data[40] = { 0 };
	uint64_t size = 39 * BS + 100;   /* the last block is short */

	for (int i = 0; i < 40; i++)
		data[i] = i % 7 == 1 || i == 39 || (i >= 10 && i < 13);
	write_stream(path_of("rt.dg"), size, data);
	CU_ASSERT_EQUAL(read_stream(path_of("rt.dg"), size, data, true), 0);
}

static void test_empty_disk_is_small(void)
{
	static bool none[1 << 16];
	struct stat st;

	write_stream(path_of("empty.dg"), (uint64_t)BS << 16, none);
	CU_ASSERT_EQUAL(stat(path_of("empty.dg"), &st), 0);
	/* header, one zero run, trailer */
	CU_ASSERT_EQUAL(st.st_size, 32 + 5 + 41);
	CU_ASSERT_EQUAL(read_stream(path_of("empty.dg"), (uint64_t)BS << 16, none, true), 0);
}

/* Damage byte at of a good stream (or cut it there); the reader's message. */
static const char *damaged(int at, int value, bool cut)
{
	static char msg[ERR_MSG_MAX];
	bool data[8] = { true, false, false, true, true, false, true, true };
	int fd, ret;

	write_stream(path_of("d.dg"), 8 * BS, data);
	fd = open(path_of("d.dg"), O_RDWR);
	CU_ASSERT_FATAL(fd >= 0);
	if (cut) {
		CU_ASSERT_EQUAL(ftruncate(fd, at), 0);
	} else {
		CU_ASSERT_EQUAL(pwrite(fd, &(uint8_t){ (uint8_t)value }, 1, at), 1);
	}
	close(fd);
	err_clear();
	ret = read_stream(path_of("d.dg"), 8 * BS, data, false);
	CU_ASSERT(ret < 0);
	snprintf(msg, sizeof(msg), "%s", err_get());
	return msg;
}

static void test_damaged_streams(void)
{
	CU_ASSERT_PTR_NOT_NULL(strstr(damaged(0, 'X', false), "not an imgtool digest stream"));
	CU_ASSERT_PTR_NOT_NULL(strstr(damaged(8, 9, false), "version 9"));
	CU_ASSERT_PTR_NOT_NULL(strstr(damaged(24, 2, false), "not SHA-256"));
	CU_ASSERT_PTR_NOT_NULL(strstr(damaged(32, 'Q', false), "garbled at byte 32"));
	/* block 1 starts a run of two zero blocks: make it 200 */
	CU_ASSERT_PTR_NOT_NULL(strstr(damaged(32 + 33 + 1, 200, false), "a run of 200 zero"));
	CU_ASSERT_PTR_NOT_NULL(strstr(damaged(40, 0x55, false), "does not match its trailer"));
	CU_ASSERT_PTR_NOT_NULL(strstr(damaged(20, 0, true), "truncated at byte 20"));
	CU_ASSERT_PTR_NOT_NULL(strstr(damaged(70, 0, true), "truncated at byte 70"));
}

/* A sync by stream writes exactly the blocks whose digests differ. */
static void test_sync_by_stream(void)
{
	struct sync_params p = { .workers = 3 };
	struct sync_stats st = { 0 };
	int fd;

	CU_ASSERT_EQUAL_FATAL(run("head -c 3M /dev/urandom >src.raw && cp src.raw dst.raw && "
				  "printf xxxxxxxxxxxxxxxx | dd of=src.raw bs=1 seek=5000 conv=notrunc && "
				  "dd if=/dev/zero of=src.raw bs=64k count=2 seek=20 conv=notrunc"), 0);
	CU_ASSERT_EQUAL_FATAL(image_open(path_of("src.raw"), "raw", 0, &p.src), 0);
	fd = open(path_of("src.dg"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CU_ASSERT_EQUAL(sync_print_digests(p.src, 0, fd, "src.dg", 2, NULL), 0);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(image_open(path_of("dst.raw"), "raw", IMG_RDWR, &p.dst), 0);
	fd = open(path_of("src.dg"), O_RDONLY);
	CU_ASSERT_EQUAL_FATAL(digest_reader_open(fd, "src.dg", &p.digests), 0);
	p.stats = &st;
	CU_ASSERT_EQUAL(sync_run(&p), 0);
	CU_ASSERT_EQUAL(st.written, 64 * 1024);      /* the block with the 'x' */
	CU_ASSERT_EQUAL(st.blocks_written, 1);
	CU_ASSERT_EQUAL(st.zeroed, 128 * 1024);      /* the two blocks made zeros */
	CU_ASSERT_EQUAL(st.src_read, 64 * 1024);     /* only what differed */
	CU_ASSERT_EQUAL(st.compared, 3u << 20);
	digest_reader_free(p.digests);
	close(fd);
	image_close(p.dst);
	image_close(p.src);
	CU_ASSERT_EQUAL(run("cmp src.raw dst.raw"), 0);
}

static const struct unit_test sync_tests[] = {
	{ "digest stream: round trip, short last block", test_round_trip },
	{ "digest stream: an empty disk is one zero run", test_empty_disk_is_small },
	{ "digest stream: every damage refused with its message", test_damaged_streams },
	{ "sync by stream: only the differing blocks", test_sync_by_stream },
};

UNIT_MAIN("sync", sync_tests, NULL)
