/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_cli_opts.c - CUnit tests for the CLI's option-value parsers (imgtool/args.c):
 * resize sizes with signs, cache mode names, -S, -m, --output.  The parsers are
 * pure functions; this file includes args.c because the CLI objects are not part
 * of libimgtool.a.
 */

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"
#include "common/util.h"
#include "formats/format.h"
#include "imgtool/args.c"
#include "tests/unit/unit.h"

static void test_resize_size(void)
{
	int sign;
	uint64_t v;

	CU_ASSERT_EQUAL(cli_parse_resize_size("+1G", &sign, &v), 0);
	CU_ASSERT_EQUAL(sign, 1);
	CU_ASSERT_EQUAL(v, GiB);
	CU_ASSERT_EQUAL(cli_parse_resize_size("-512M", &sign, &v), 0);
	CU_ASSERT_EQUAL(sign, -1);
	CU_ASSERT_EQUAL(v, 512 * MiB);
	CU_ASSERT_EQUAL(cli_parse_resize_size("10737418240", &sign, &v), 0);
	CU_ASSERT_EQUAL(sign, 0);
	CU_ASSERT_EQUAL(v, 10 * GiB);
	CU_ASSERT_EQUAL(cli_parse_resize_size("1.5G", &sign, &v), 0);
	CU_ASSERT_EQUAL(v, GiB + 512 * MiB);
	CU_ASSERT_EQUAL(cli_parse_resize_size("+", &sign, &v), -EINVAL);
	CU_ASSERT_EQUAL(cli_parse_resize_size("--1G", &sign, &v), -EINVAL);
	CU_ASSERT_EQUAL(cli_parse_resize_size("1X", &sign, &v), -EINVAL);
	CU_ASSERT_EQUAL(cli_parse_resize_size("", &sign, &v), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err_get(), "Invalid size specified");
}

static void test_apply_resize(void)
{
	uint64_t out;

	CU_ASSERT_EQUAL(cli_apply_resize(GiB, 1, GiB, &out), 0);
	CU_ASSERT_EQUAL(out, 2 * GiB);
	CU_ASSERT_EQUAL(cli_apply_resize(GiB, -1, 512 * MiB, &out), 0);
	CU_ASSERT_EQUAL(out, 512 * MiB);
	CU_ASSERT_EQUAL(cli_apply_resize(GiB, 0, 3 * GiB, &out), 0);
	CU_ASSERT_EQUAL(out, 3 * GiB);
	CU_ASSERT_EQUAL(cli_apply_resize(GiB, -1, 2 * GiB, &out), -EINVAL);
	CU_ASSERT_EQUAL(cli_apply_resize(GiB, -1, GiB, &out), -EINVAL);
	CU_ASSERT_EQUAL(cli_apply_resize(UINT64_MAX - 1, 1, 2, &out), -EINVAL);
}

static void test_cache_modes(void)
{
	int f;

	CU_ASSERT_EQUAL(cli_parse_cache("writeback", &f), 0);
	CU_ASSERT_EQUAL(f, 0);
	CU_ASSERT_EQUAL(cli_parse_cache("none", &f), 0);
	CU_ASSERT_EQUAL(f, IMG_BE_FLAGS(BE_NOCACHE));
	CU_ASSERT_EQUAL(cli_parse_cache("unsafe", &f), 0);
	CU_ASSERT_EQUAL(f, IMG_BE_FLAGS(BE_NOFLUSH));
	CU_ASSERT_EQUAL(cli_parse_cache("directsync", &f), 0);
	CU_ASSERT_EQUAL(f, IMG_BE_FLAGS(BE_NOCACHE | BE_DSYNC));
	CU_ASSERT_EQUAL(cli_parse_cache("writethrough", &f), 0);
	CU_ASSERT_EQUAL(f, IMG_BE_FLAGS(BE_DSYNC));
	/* the IMG_* low bits stay free for the open flags */
	CU_ASSERT_EQUAL(f & (IMG_RDWR | IMG_NO_BACKING | IMG_REPAIR | IMG_CHECK), 0);
	CU_ASSERT_EQUAL(cli_parse_cache("fast", &f), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err_get(), "Invalid cache option: fast");
}

static void test_sparse(void)
{
	uint64_t v;

	CU_ASSERT_EQUAL(cli_parse_sparse("0", &v), 0);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(cli_parse_sparse("4k", &v), 0);
	CU_ASSERT_EQUAL(v, 4096);
	CU_ASSERT_EQUAL(cli_parse_sparse("512", &v), 0);
	CU_ASSERT_EQUAL(cli_parse_sparse("16M", &v), 0);
	CU_ASSERT_EQUAL(v, 16 * MiB);
	CU_ASSERT_EQUAL(cli_parse_sparse("1000", &v), -EINVAL);
	CU_ASSERT_EQUAL(cli_parse_sparse("32M", &v), -EINVAL);
	CU_ASSERT_EQUAL(cli_parse_sparse("-4k", &v), -EINVAL);
}

static void test_workers(void)
{
	int n;

	CU_ASSERT_EQUAL(cli_parse_workers("1", &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(cli_parse_workers("16", &n), 0);
	CU_ASSERT_EQUAL(n, 16);
	CU_ASSERT_EQUAL(cli_parse_workers("0", &n), -EINVAL);
	CU_ASSERT_EQUAL(cli_parse_workers("17", &n), -EINVAL);
	CU_ASSERT_EQUAL(cli_parse_workers("4x", &n), -EINVAL);
	CU_ASSERT_EQUAL(cli_parse_workers("", &n), -EINVAL);
}

static void test_output_and_offset(void)
{
	enum output_format of;
	uint64_t v;

	CU_ASSERT_EQUAL(cli_parse_output("json", &of), 0);
	CU_ASSERT_EQUAL(of, OUTPUT_JSON);
	CU_ASSERT_EQUAL(cli_parse_output("human", &of), 0);
	CU_ASSERT_EQUAL(of, OUTPUT_HUMAN);
	CU_ASSERT_EQUAL(cli_parse_output("yaml", &of), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err_get(), "--output must be used with human or json as argument.");
	CU_ASSERT_EQUAL(cli_parse_offset("1M", &v), 0);
	CU_ASSERT_EQUAL(v, MiB);
	CU_ASSERT_EQUAL(cli_parse_offset("abc", &v), -EINVAL);
	CU_ASSERT_EQUAL(cli_parse_offset("16E", &v), -EINVAL);
}

static const struct unit_test tests[] = {
	{ "resize size", test_resize_size },
	{ "apply resize", test_apply_resize },
	{ "cache modes", test_cache_modes },
	{ "sparse size", test_sparse },
	{ "workers", test_workers },
	{ "output and offsets", test_output_and_offset },
};

UNIT_MAIN("cli_opts", tests, NULL)
