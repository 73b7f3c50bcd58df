/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_common.c - CUnit tests for the helpers every layer leans on: option strings
 * (common/opts.c), sizes (parse_size/format_size), zero detection (common/util.c),
 * the thread-local error message (common/err.c) and backing-name resolution
 * (formats/image.c).  These are the pieces whose edge cases decide whether a user's
 * "-o" line or a stored backing name is understood exactly as qemu-img would.
 */

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/escape.h"
#include "common/opts.h"
#include "common/utf16.h"
#include "common/util.h"
#include "formats/format.h"
#include "formats/reference.h"
#include "tests/unit/unit.h"

/* ---- opts ---------------------------------------------------------------- */

static void test_opts_basic(void)
{
	struct opts o = { 0 };

	CU_ASSERT_EQUAL(opts_parse(&o, "cluster_size=64k,compat=1.1"), 0);
	CU_ASSERT_EQUAL(o.n, 2);
	CU_ASSERT_STRING_EQUAL(opts_get(&o, "cluster_size"), "64k");
	CU_ASSERT_STRING_EQUAL(opts_get(&o, "compat"), "1.1");
	CU_ASSERT_PTR_NULL(opts_get(&o, "missing"));
	opts_free(&o);
	CU_ASSERT_EQUAL(o.n, 0);
	CU_ASSERT_PTR_NULL(o.v);
}

static void test_opts_comma_escape(void)
{
	struct opts o = { 0 };

	/* ",," is a literal comma inside a value, as in qemu's option syntax */
	CU_ASSERT_EQUAL(opts_parse(&o, "backing_file=a,,b.img,size=1M"), 0);
	CU_ASSERT_EQUAL(o.n, 2);
	CU_ASSERT_STRING_EQUAL(opts_get(&o, "backing_file"), "a,b.img");
	CU_ASSERT_STRING_EQUAL(opts_get(&o, "size"), "1M");
	opts_free(&o);

	CU_ASSERT_EQUAL(opts_parse(&o, "k=x,,,,y"), 0);
	CU_ASSERT_STRING_EQUAL(opts_get(&o, "k"), "x,,y");
	opts_free(&o);

	CU_ASSERT_EQUAL(opts_parse(&o, "k=end,,"), 0);
	CU_ASSERT_EQUAL(o.n, 1);
	CU_ASSERT_STRING_EQUAL(opts_get(&o, "k"), "end,");
	opts_free(&o);
}

static void test_opts_bare_and_empty(void)
{
	struct opts o = { 0 };
	bool b = false;

	/* a bare key means key=on; an empty value stays empty; empty items are skipped */
	CU_ASSERT_EQUAL(opts_parse(&o, "lazy_refcounts,x=,,"), 0);
	CU_ASSERT_STRING_EQUAL(opts_get(&o, "lazy_refcounts"), "on");
	CU_ASSERT_EQUAL(opts_get_bool(&o, "lazy_refcounts", &b), 0);
	CU_ASSERT_TRUE(b);
	opts_free(&o);

	CU_ASSERT_EQUAL(opts_parse(&o, "x=,y"), 0);
	CU_ASSERT_EQUAL(o.n, 2);
	CU_ASSERT_STRING_EQUAL(opts_get(&o, "x"), "");
	CU_ASSERT_STRING_EQUAL(opts_get(&o, "y"), "on");
	opts_free(&o);

	CU_ASSERT_EQUAL(opts_parse(&o, ",,"), 0);
	opts_free(&o);
	CU_ASSERT_EQUAL(opts_parse(&o, ""), 0);
	CU_ASSERT_EQUAL(o.n, 0);
	opts_free(&o);
}

static void test_opts_repeat_and_set(void)
{
	struct opts o = { 0 };

	/* -o a=1 -o b=2,a=3: later values replace earlier ones */
	CU_ASSERT_EQUAL(opts_parse(&o, "a=1"), 0);
	CU_ASSERT_EQUAL(opts_parse(&o, "b=2,a=3"), 0);
	CU_ASSERT_EQUAL(o.n, 2);
	CU_ASSERT_STRING_EQUAL(opts_get(&o, "a"), "3");
	CU_ASSERT_EQUAL(opts_set(&o, "b", "9"), 0);
	CU_ASSERT_EQUAL(opts_set(&o, "c", "v=w"), 0);
	CU_ASSERT_EQUAL(o.n, 3);
	CU_ASSERT_STRING_EQUAL(opts_get(&o, "b"), "9");
	CU_ASSERT_STRING_EQUAL(opts_get(&o, "c"), "v=w");
	opts_free(&o);

	/* only the first '=' separates key and value */
	CU_ASSERT_EQUAL(opts_parse(&o, "file=x=y"), 0);
	CU_ASSERT_STRING_EQUAL(opts_get(&o, "file"), "x=y");
	opts_free(&o);
}

static void test_opts_get_bool(void)
{
	static const char *const yes[] = { "on", "true", "yes", "1" };
	static const char *const no[] = { "off", "false", "no", "0" };
	struct opts o = { 0 };
	bool b;

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		b = false;
		CU_ASSERT_EQUAL(opts_set(&o, "k", yes[i]), 0);
		CU_ASSERT_EQUAL(opts_get_bool(&o, "k", &b), 0);
		CU_ASSERT_TRUE(b);
	}
	for (size_t i = 0; i < ARRAY_SIZE(no); i++) {
		b = true;
		CU_ASSERT_EQUAL(opts_set(&o, "k", no[i]), 0);
		CU_ASSERT_EQUAL(opts_get_bool(&o, "k", &b), 0);
		CU_ASSERT_FALSE(b);
	}
	err_clear();
	CU_ASSERT_EQUAL(opts_set(&o, "k", "maybe"), 0);
	CU_ASSERT_EQUAL(opts_get_bool(&o, "k", &b), -EINVAL);
	CU_ASSERT_TRUE(err_is_set());
	CU_ASSERT_PTR_NOT_NULL(strstr(err_get(), "'k'"));
	CU_ASSERT_EQUAL(opts_get_bool(&o, "absent", &b), -ENOENT);
	CU_ASSERT_EQUAL(opts_get_bool(NULL, "k", &b), -ENOENT);
	opts_free(&o);
}

static void test_opts_get_size_uint(void)
{
	struct opts o = { 0 };
	uint64_t v = 0;

	CU_ASSERT_EQUAL(opts_parse(&o, "cs=64k,big=2G,n=42,hex=0x10,bad=12abc,neg=-1,bs=huge"), 0);
	CU_ASSERT_EQUAL(opts_get_size(&o, "cs", &v), 0);
	CU_ASSERT_EQUAL(v, 65536);
	CU_ASSERT_EQUAL(opts_get_size(&o, "big", &v), 0);
	CU_ASSERT_EQUAL(v, 2 * GiB);
	CU_ASSERT_EQUAL(opts_get_uint(&o, "n", &v), 0);
	CU_ASSERT_EQUAL(v, 42);
	CU_ASSERT_EQUAL(opts_get_uint(&o, "hex", &v), 0);
	CU_ASSERT_EQUAL(v, 16);
	err_clear();
	CU_ASSERT_EQUAL(opts_get_uint(&o, "bad", &v), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_get(), "'bad'"));
	CU_ASSERT_EQUAL(opts_get_uint(&o, "neg", &v), -EINVAL);
	err_clear();
	CU_ASSERT_EQUAL(opts_get_size(&o, "bs", &v), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_get(), "'bs'"));
	CU_ASSERT_EQUAL(opts_get_size(&o, "absent", &v), -ENOENT);
	CU_ASSERT_EQUAL(opts_get_uint(&o, "absent", &v), -ENOENT);
	opts_free(&o);
}

static void test_opts_check_used(void)
{
	struct opts o = { 0 };

	CU_ASSERT_EQUAL(opts_check_used(NULL, "qcow2"), 0);
	CU_ASSERT_EQUAL(opts_check_used(&o, "qcow2"), 0);
	CU_ASSERT_EQUAL(opts_parse(&o, "compat=1.1,clustre_size=4k"), 0);
	(void)opts_get(&o, "compat");
	err_clear();
	CU_ASSERT_EQUAL(opts_check_used(&o, "qcow2"), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err_get(), "Invalid parameter 'clustre_size' for format 'qcow2'");
	/* a lookup of any kind marks the key used, even when absent values fail */
	(void)opts_get(&o, "clustre_size");
	CU_ASSERT_EQUAL(opts_check_used(&o, "qcow2"), 0);
	opts_free(&o);
}

/* ---- sizes ---------------------------------------------------------------- */

static void check_size(const char *s, uint64_t want)
{
	uint64_t v = 0xdeadbeef;
	int ret = parse_size(s, &v);

	CU_ASSERT_EQUAL(ret, 0);
	CU_ASSERT_EQUAL(v, want);
	if (ret != 0 || v != want)
		fprintf(stderr, "parse_size(\"%s\") = %d, %llu (want %llu)\n", s, ret,
			(unsigned long long)v, (unsigned long long)want);
}

static void check_size_fails(const char *s, int want)
{
	uint64_t v = 12345;
	int ret = parse_size(s, &v);

	CU_ASSERT_EQUAL(ret, want);
	CU_ASSERT_EQUAL(v, 12345); /* untouched on failure */
	if (ret != want)
		fprintf(stderr, "parse_size(\"%s\") = %d (want %d)\n", s ? s : "(null)", ret, want);
}

static void test_parse_size_suffixes(void)
{
	check_size("0", 0);
	check_size("512", 512);
	check_size("512b", 512);
	check_size("512B", 512);
	check_size("1k", KiB);
	check_size("4K", 4 * KiB);
	check_size("64k", 64 * KiB);
	check_size("1M", MiB);
	check_size("1m", MiB);
	check_size("10G", 10 * GiB);
	check_size("2T", 2 * TiB);
	check_size("1P", 1ULL << 50);
	check_size("1E", 1ULL << 60);
	check_size("15E", 15ULL << 60);
	check_size("10GiB", 10 * GiB);
	check_size("10GB", 10 * GiB);
	check_size("9223372036854775807", 9223372036854775807ULL);
}

static void test_parse_size_decimals(void)
{
	check_size("1.5G", 1536 * MiB);
	check_size("1.5k", 1536);
	check_size("0.5M", 512 * KiB);
	check_size("2.25T", 2 * TiB + TiB / 4);
	check_size("1.0G", GiB);
}

static void test_parse_size_errors(void)
{
	check_size_fails(NULL, -EINVAL);
	check_size_fails("", -EINVAL);
	check_size_fails("abc", -EINVAL);
	check_size_fails("G", -EINVAL);
	check_size_fails("-1", -EINVAL);
	check_size_fails(" 1", -EINVAL);
	check_size_fails("12x", -EINVAL);
	check_size_fails("1G2", -EINVAL);
	check_size_fails("1Gx", -EINVAL);
	check_size_fails("1.5.5", -EINVAL);
	check_size_fails("1 G", -EINVAL);
	/* overflow: past 2^64 - 1 bytes */
	check_size_fails("99999999999999999999999", -ERANGE);
	check_size_fails("16E", -ERANGE);
	check_size_fails("17179869184G", -ERANGE);
	check_size_fails("1000000P", -ERANGE);
	check_size_fails("16.5E", -ERANGE);
}

static void check_format(uint64_t v, const char *want)
{
	char buf[64];

	format_size(v, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, want);
	if (strcmp(buf, want))
		fprintf(stderr, "format_size(%llu) = \"%s\" (want \"%s\")\n",
			(unsigned long long)v, buf, want);
}

static void test_format_size(void)
{
	char small[6];

	check_format(0, "0 B");
	check_format(512, "512 B");
	check_format(1023, "1023 B");
	check_format(KiB, "1 KiB");
	check_format(192 * KiB, "192 KiB");
	check_format(MiB, "1 MiB");
	check_format(GiB, "1 GiB");
	check_format(1536 * MiB, "1.5 GiB");
	check_format(TiB, "1 TiB");
	check_format(1ULL << 60, "1 EiB");
	/* a short buffer is truncated, never overrun */
	memset(small, 'x', sizeof(small));
	format_size(192 * KiB, small, sizeof(small));
	CU_ASSERT_EQUAL(small[sizeof(small) - 1], '\0');
}

/* ---- zero detection ------------------------------------------------------- */

static void test_buffer_is_zero(void)
{
	enum { N = 4096 + 64 };
	uint8_t *raw = calloc(1, N);

	CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
	CU_ASSERT_TRUE(buffer_is_zero(raw, 0));
	CU_ASSERT_TRUE(buffer_is_zero(raw, N));
	/* every start alignment and many lengths; one non-zero byte anywhere is seen */
	for (size_t start = 0; start < 9; start++) {
		for (size_t len = 1; len <= 200; len += 7) {
			CU_ASSERT_TRUE(buffer_is_zero(raw + start, len));
			for (size_t pos = 0; pos < len; pos++) {
				raw[start + pos] = 0x80;
				if (buffer_is_zero(raw + start, len))
					CU_FAIL("non-zero byte missed");
				raw[start + pos] = 0;
			}
			/* a byte just outside the range does not count */
			raw[start + len] = 1;
			CU_ASSERT_TRUE(buffer_is_zero(raw + start, len));
			raw[start + len] = 0;
		}
	}
	/* large buffer, non-zero deep inside the unrolled loop */
	raw[3001] = 1;
	CU_ASSERT_FALSE(buffer_is_zero(raw, N));
	CU_ASSERT_TRUE(buffer_is_zero(raw, 3001));
	CU_ASSERT_TRUE(buffer_is_zero(raw + 3002, N - 3002));
	free(raw);
}

static void test_buffer_run_length(void)
{
	enum { BLK = 4096, N = 6 * BLK };
	uint8_t *buf = calloc(1, N);
	bool zero = false;

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	/* blocks: 0 0 D D 0 D */
	buf[2 * BLK + 5] = 1;
	buf[4 * BLK - 1] = 1;
	buf[5 * BLK] = 1;
	CU_ASSERT_EQUAL(buffer_run_length(buf, N, BLK, &zero), 2 * BLK);
	CU_ASSERT_TRUE(zero);
	CU_ASSERT_EQUAL(buffer_run_length(buf + 2 * BLK, N - 2 * BLK, BLK, &zero), 2 * BLK);
	CU_ASSERT_FALSE(zero);
	CU_ASSERT_EQUAL(buffer_run_length(buf + 4 * BLK, 2 * BLK, BLK, &zero), BLK);
	CU_ASSERT_TRUE(zero);
	CU_ASSERT_EQUAL(buffer_run_length(buf + 5 * BLK, BLK, BLK, &zero), BLK);
	CU_ASSERT_FALSE(zero);
	/* a short tail is counted whole */
	CU_ASSERT_EQUAL(buffer_run_length(buf, 1808, BLK, &zero), 1808);
	CU_ASSERT_TRUE(zero);
	CU_ASSERT_EQUAL(buffer_run_length(buf, 2 * BLK - 100, BLK, &zero), 2 * BLK - 100);
	CU_ASSERT_TRUE(zero);
	/* a buffer shorter than one block */
	CU_ASSERT_EQUAL(buffer_run_length(buf + 2 * BLK, 100, BLK, &zero), 100);
	CU_ASSERT_FALSE(zero);
	CU_ASSERT_EQUAL(buffer_run_length(buf + 2 * BLK, 5, BLK, &zero), 5);
	CU_ASSERT_TRUE(zero);
	CU_ASSERT_EQUAL(buffer_run_length(buf + 2 * BLK, 6, BLK, &zero), 6);
	CU_ASSERT_FALSE(zero);
	/* with a small block, runs split inside the buffer */
	CU_ASSERT_EQUAL(buffer_run_length(buf + 2 * BLK, 64, 4, &zero), 4);
	CU_ASSERT_TRUE(zero);
	CU_ASSERT_EQUAL(buffer_run_length(buf + 2 * BLK + 4, 64, 4, &zero), 4);
	CU_ASSERT_FALSE(zero);
	/* data in a partial tail block ends a zero run there */
	CU_ASSERT_EQUAL(buffer_run_length(buf, 2 * BLK + 10, BLK, &zero), 2 * BLK);
	CU_ASSERT_TRUE(zero);
	free(buf);
}

/* ---- errors --------------------------------------------------------------- */

static void test_err_basic(void)
{
	err_clear();
	CU_ASSERT_FALSE(err_is_set());
	CU_ASSERT_STRING_EQUAL(err_get(), "");
	CU_ASSERT_EQUAL(err_set(-EINVAL, "disk.qcow2", "bad L1 at %#x", 0x1000), -EINVAL);
	CU_ASSERT_TRUE(err_is_set());
	CU_ASSERT_STRING_EQUAL(err_get(), "disk.qcow2: bad L1 at 0x1000");
	/* the first message wins for err_set_default */
	CU_ASSERT_EQUAL(err_set_default(-EIO, "x", "generic"), -EIO);
	CU_ASSERT_STRING_EQUAL(err_get(), "disk.qcow2: bad L1 at 0x1000");
	err_clear();
	CU_ASSERT_EQUAL(err_set_default(-EIO, "x", "generic"), -EIO);
	CU_ASSERT_STRING_EQUAL(err_get(), "x: generic");
	/* no location, or an empty one */
	err_set(-ENOENT, NULL, "plain");
	CU_ASSERT_STRING_EQUAL(err_get(), "plain");
	err_set(-ENOENT, "", "plain2");
	CU_ASSERT_STRING_EQUAL(err_get(), "plain2");
	err_copy("carried");
	CU_ASSERT_STRING_EQUAL(err_get(), "carried");
	err_copy(NULL);
	CU_ASSERT_FALSE(err_is_set());
}

static void test_err_truncates(void)
{
	char *longname = malloc(3 * ERR_MSG_MAX);

	CU_ASSERT_PTR_NOT_NULL_FATAL(longname);
	memset(longname, 'a', 3 * ERR_MSG_MAX - 1);
	longname[3 * ERR_MSG_MAX - 1] = '\0';
	err_set(-EINVAL, longname, "tail %s", longname);
	CU_ASSERT_EQUAL(strlen(err_get()), ERR_MSG_MAX - 1);
	err_set(-EINVAL, "f", "%s", longname);
	CU_ASSERT_EQUAL(strlen(err_get()), ERR_MSG_MAX - 1);
	CU_ASSERT_EQUAL(strncmp(err_get(), "f: aaa", 6), 0);
	free(longname);
	err_clear();
}

static void *err_thread(void *arg)
{
	char *seen = arg;

	/* a fresh thread starts without a message and sets its own */
	strcpy(seen, err_is_set() ? "set" : "clear");
	err_set(-EIO, "worker", "failed");
	strcat(seen, err_get());
	return NULL;
}

static void test_err_thread_local(void)
{
	char seen[256] = "";
	pthread_t t;

	err_set(-EINVAL, "main", "mine");
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, err_thread, seen), 0);
	pthread_join(t, NULL);
	CU_ASSERT_STRING_EQUAL(seen, "clearworker: failed");
	CU_ASSERT_STRING_EQUAL(err_get(), "main: mine");
	err_clear();
}

/* ---- backing names -------------------------------------------------------- */

static void check_resolve(const char *image, const char *backing, const char *want)
{
	char *got = image_resolve_backing(image, backing);

	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_STRING_EQUAL(got, want);
	if (strcmp(got, want))
		fprintf(stderr, "resolve(%s, %s) = %s (want %s)\n", image, backing, got, want);
	free(got);
}

/* UTF-8 -> UTF-16LE -> UTF-8: ASCII, 2- and 3-byte sequences and a non-BMP code
 * point (a surrogate pair); an invalid byte becomes '?'. */
static void test_utf16_round_trip(void)
{
	const char *text = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";   /* a é € 😀 */
	size_t len;
	uint8_t *u = utf8_to_utf16le(text, &len);
	char *back;

	CU_ASSERT_EQUAL_FATAL(len, 12);   /* a, é, €, two surrogates, NUL */
	CU_ASSERT_EQUAL(u[6], 0x3d);
	CU_ASSERT_EQUAL(u[7], 0xd8);
	CU_ASSERT_EQUAL(u[8], 0x00);
	CU_ASSERT_EQUAL(u[9], 0xde);
	back = utf16_to_utf8(u, len, false);
	CU_ASSERT_STRING_EQUAL(back, text);
	free(back);
	free(u);
	u = utf8_to_utf16le("x\xffy", &len);
	CU_ASSERT_EQUAL(len, 8);
	back = utf16_to_utf8(u, len, false);
	CU_ASSERT_STRING_EQUAL(back, "x?y");
	free(back);
	free(u);
}

static void test_escape_ctrl(void)
{
	char out[64], tiny[5];
	char *d;

	CU_ASSERT_STRING_EQUAL(str_escape_ctrl("base.qcow2", out, sizeof(out)), "base.qcow2");
	CU_ASSERT_STRING_EQUAL(str_escape_ctrl("a\nb\x1b[2Jc\td\r", out, sizeof(out)),
			       "a\\nb\\x1b[2Jc\\td\\r");
	CU_ASSERT_STRING_EQUAL(str_escape_ctrl("\x01\x7f", out, sizeof(out)), "\\x01\\x7f");
	/* Windows paths and UTF-8 stay as they are */
	CU_ASSERT_STRING_EQUAL(str_escape_ctrl("C:\\VMs\\d\xc3\xa9.vhd", out, sizeof(out)),
			       "C:\\VMs\\d\xc3\xa9.vhd");
	/* cut short, never in the middle of an escape */
	CU_ASSERT_STRING_EQUAL(str_escape_ctrl("ab\ncd", tiny, sizeof(tiny)), "ab\\n");
	CU_ASSERT_STRING_EQUAL(str_escape_ctrl("abc\n", tiny, sizeof(tiny)), "abc");
	d = str_escape_ctrl_dup("x\x1by");
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_STRING_EQUAL(d, "x\\x1by");
	free(d);
}

static void test_err_reword_open(void)
{
	err_clear();
	err_set(-EINVAL, "a.qcow2", "bad header");
	CU_ASSERT_EQUAL(err_reword_open(-EINVAL, "a.qcow2"), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err_get(), "Could not open 'a.qcow2': bad header");
	/* already worded: unchanged */
	CU_ASSERT_EQUAL(err_reword_open(-EINVAL, "a.qcow2"), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err_get(), "Could not open 'a.qcow2': bad header");
	/* a message naming another file keeps it */
	err_set(-ENOENT, "ext.vmdk", "No such file or directory");
	err_reword_open(-ENOENT, "d.vmdk");
	CU_ASSERT_STRING_EQUAL(err_get(), "Could not open 'd.vmdk': ext.vmdk: No such file or directory");
	/* no message: the errno's words */
	err_clear();
	err_reword_open(-ENOENT, "x");
	CU_ASSERT_STRING_EQUAL(err_get(), "Could not open 'x': No such file or directory");
	err_clear();
}

static void test_resolve_backing(void)
{
	/* relative names are relative to the image's folder, not the cwd */
	check_resolve("dir/top.qcow2", "base.qcow2", "dir/base.qcow2");
	check_resolve("/var/lib/images/top.qcow2", "base.qcow2", "/var/lib/images/base.qcow2");
	check_resolve("a/b/top.qcow2", "../base.raw", "a/b/../base.raw");
	check_resolve("top.qcow2", "base.qcow2", "base.qcow2");
	check_resolve("./top.qcow2", "base.qcow2", "base.qcow2");
	/* absolute names and URLs are kept as stored */
	check_resolve("dir/top.qcow2", "/abs/base.qcow2", "/abs/base.qcow2");
	check_resolve("dir/top.qcow2", "nfs://server/export/base.qcow2",
		      "nfs://server/export/base.qcow2");
	check_resolve("dir/top.qcow2", "rbd:pool/base", "rbd:pool/base");
	check_resolve("dir/top.qcow2", "file:base.qcow2", "file:base.qcow2");
	/* an image opened by URL: a relative name lies beside it at the same place,
	 * never in the current folder */
	check_resolve("nfs://server/export/top.qcow2", "base.qcow2", "nfs://server/export/base.qcow2");
	check_resolve("nfs://h/exp/dir/top.qcow2", "sub/base.qcow2", "nfs://h/exp/dir/sub/base.qcow2");
	check_resolve("nfs://h/exp/top.qcow2?uid=0&gid=0", "base.qcow2",
		      "nfs://h/exp/base.qcow2?uid=0&gid=0");
	check_resolve("nfs://h", "base.qcow2", "nfs://h/base.qcow2");
	check_resolve("file:/d/top.qcow2", "base.qcow2", "/d/base.qcow2");
	check_resolve("file:///d/top.qcow2", "base.qcow2", "/d/base.qcow2");
	check_resolve("ssh://root@esxi/vmfs/volumes/ds1/vm/vm.vmdk?identity=/k", "vm-flat.vmdk",
		      "ssh://root@esxi/vmfs/volumes/ds1/vm/vm-flat.vmdk?identity=/k");
	/* on an SSH host an absolute name is that host's, never a local file */
	check_resolve("ssh://root@esxi:2222/vmfs/volumes/ds1/vm/vm.vmx?identity=/k",
		      "/vmfs/volumes/ds2/vm/vm_1.vmdk",
		      "ssh://root@esxi:2222/vmfs/volumes/ds2/vm/vm_1.vmdk?identity=/k");
	check_resolve("ssh://h/d/top.qcow2", "/srv/base.qcow2", "ssh://h/srv/base.qcow2");
	check_resolve("rbd:pool/top", "base", "rbd:pool/base");
	check_resolve("rbd:pool/ns/top:id=admin:conf=/etc/ceph/ceph.conf", "base",
		      "rbd:pool/ns/base:id=admin:conf=/etc/ceph/ceph.conf");
}

static void test_ref_classify(void)
{
	CU_ASSERT_TRUE(ref_has_scheme("file:/etc/passwd"));
	CU_ASSERT_TRUE(ref_has_scheme("rbd:pool/img:log_file=/x"));
	CU_ASSERT_TRUE(ref_has_scheme("nfs://h/e/x"));
	CU_ASSERT_TRUE(ref_has_scheme("json:{\"driver\":\"raw\"}"));
	CU_ASSERT_TRUE(ref_has_scheme("svn+ssh://h/x"));
	CU_ASSERT_FALSE(ref_has_scheme("./json:x"));
	CU_ASSERT_FALSE(ref_has_scheme("/abs:x"));
	CU_ASSERT_FALSE(ref_has_scheme("base.qcow2"));
	CU_ASSERT_FALSE(ref_has_scheme("1a:b"));

	CU_ASSERT_TRUE(ref_is_confined("disk-flat.vmdk"));
	CU_ASSERT_TRUE(ref_is_confined("sub/disk-flat.vmdk"));
	CU_ASSERT_TRUE(ref_is_confined("a..b.vmdk"));
	CU_ASSERT_FALSE(ref_is_confined("../disk-flat.vmdk"));
	CU_ASSERT_FALSE(ref_is_confined("sub/../../x"));
	CU_ASSERT_FALSE(ref_is_confined("sub\\..\\x"));
	CU_ASSERT_FALSE(ref_is_confined("/etc/passwd"));
	CU_ASSERT_FALSE(ref_is_confined(""));
}

static void test_ref_policy(void)
{
	/* backing files: local paths as qemu allows, no schemes */
	CU_ASSERT_EQUAL(ref_check("t", REF_BACKING, "../b.qcow2", 0), 0);
	CU_ASSERT_EQUAL(ref_check("t", REF_BACKING, "/abs/b.qcow2", 0), 0);
	CU_ASSERT_EQUAL(ref_check("t", REF_BACKING, "nfs://h/e/b", 0), -EPERM);
	CU_ASSERT_STRING_EQUAL(err_get(),
			       "t: Could not open 'nfs://h/e/b': backing file names a URL or protocol; refused (--allow-ref-urls allows it)");
	CU_ASSERT_EQUAL(ref_check("t", REF_BACKING, "nfs://h/e/b", IMG_ALLOW_REF_URLS), 0);
	CU_ASSERT_EQUAL(ref_check("t", REF_BACKING, "b.qcow2", IMG_UNTRUSTED), -EPERM);
	/* extents and parents stay in the folder */
	CU_ASSERT_EQUAL(ref_check("d.vmdk", REF_EXTENT, "d-flat.vmdk", 0), 0);
	CU_ASSERT_EQUAL(ref_check("d.vmdk", REF_EXTENT, "file:/etc/passwd", 0), -EPERM);
	CU_ASSERT_EQUAL(ref_check("d.vmdk", REF_EXTENT, "file:/etc/passwd", IMG_ALLOW_REF_PATHS),
			-EPERM);
	CU_ASSERT_EQUAL(ref_check("d.vmdk", REF_EXTENT, "../../x", 0), -EPERM);
	CU_ASSERT_EQUAL(ref_check("d.vmdk", REF_EXTENT, "../../x", IMG_ALLOW_REF_PATHS), 0);
	CU_ASSERT_EQUAL(ref_check("c.vhd", REF_PARENT, "/p.vhd", 0), -EPERM);
	CU_ASSERT_EQUAL(ref_check("c.vhd", REF_PARENT, "p.vhd", IMG_UNTRUSTED | IMG_ALLOW_REF_PATHS),
			-EPERM);
	/* a name from an image is shown on one line */
	CU_ASSERT_EQUAL(ref_check("d.vmdk", REF_EXTENT, "/x\ny", 0), -EPERM);
	CU_ASSERT_PTR_NULL(strchr(err_get(), '\n'));
	err_clear();
}

/* ---- runner --------------------------------------------------------------- */

struct test_def {
	const char *name;
	CU_TestFunc fn;
};

static const struct test_def common_tests[] = {
	{ "opts: basic parse and lookup", test_opts_basic },
	{ "opts: ,, escapes", test_opts_comma_escape },
	{ "opts: bare keys and empty values", test_opts_bare_and_empty },
	{ "opts: repeated -o and opts_set", test_opts_repeat_and_set },
	{ "opts: get_bool", test_opts_get_bool },
	{ "opts: get_size and get_uint", test_opts_get_size_uint },
	{ "opts: check_used", test_opts_check_used },
	{ "parse_size: suffixes", test_parse_size_suffixes },
	{ "parse_size: decimals", test_parse_size_decimals },
	{ "parse_size: garbage and overflow", test_parse_size_errors },
	{ "format_size", test_format_size },
	{ "utf16: UTF-8 round trip, surrogates, invalid bytes", test_utf16_round_trip },
	{ "buffer_is_zero", test_buffer_is_zero },
	{ "buffer_run_length", test_buffer_run_length },
	{ "err: set, default, copy", test_err_basic },
	{ "err: long messages truncate", test_err_truncates },
	{ "err: thread-local", test_err_thread_local },
	{ "image_resolve_backing", test_resolve_backing },
	{ "str_escape_ctrl: control characters of image-supplied names", test_escape_ctrl },
	{ "err_reword_open: qemu-img's Could not open prefix", test_err_reword_open },
	{ "reference: scheme and folder tests", test_ref_classify },
	{ "reference: the policy", test_ref_policy },
};

UNIT_MAIN("common", common_tests, NULL)
