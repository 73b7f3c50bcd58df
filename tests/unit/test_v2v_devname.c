/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_v2v_devname.c - CUnit tests for the pure text work of v2v
 * (v2v/linux/devname.c: which device names a conversion rewrites, and where)
 * and the growable string it builds with (common/strbuf.h).  The conversion of a
 * real guest is tested by tests/v2v/ on the fixture.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "v2v/v2v.h"
#include "tests/unit/unit.h"

static void test_parse(void)
{
	int disk, part;

	CU_ASSERT_EQUAL(v2v_devname_parse("/dev/sda1", &disk, &part), 0);
	CU_ASSERT_EQUAL(disk, 0);
	CU_ASSERT_EQUAL(part, 1);
	CU_ASSERT_EQUAL(v2v_devname_parse("/dev/hdb", &disk, &part), 0);
	CU_ASSERT_EQUAL(disk, 1);
	CU_ASSERT_EQUAL(part, 0);
	CU_ASSERT_EQUAL(v2v_devname_parse("/dev/xvdc12", &disk, &part), 0);
	CU_ASSERT_EQUAL(disk, 2);
	CU_ASSERT_EQUAL(part, 12);
	CU_ASSERT_NOT_EQUAL(v2v_devname_parse("/dev/vda1", &disk, &part), 0);
	CU_ASSERT_NOT_EQUAL(v2v_devname_parse("/dev/null", &disk, &part), 0);
	CU_ASSERT_NOT_EQUAL(v2v_devname_parse("/dev/", &disk, &part), 0);
}

/* map: /dev/sdXN -> UUID=disk-part */
static char *to_uuid(void *arg, const char *name, int disk, int part)
{
	char *s;

	(*(int *)arg)++;
	if (asprintf(&s, "UUID=%d-%d", disk, part) < 0)
		return NULL;
	return s;
}

static void expect_rewrite(const char *in, const char *want, int want_count)
{
	int calls = 0, count = -1;
	char *out = NULL;

	CU_ASSERT_EQUAL_FATAL(v2v_devname_rewrite(in, to_uuid, &calls, &out, &count), 0);
	CU_ASSERT_STRING_EQUAL(out, want);
	CU_ASSERT_EQUAL(count, want_count);
	free(out);
}

static void test_rewrite(void)
{
	expect_rewrite("/dev/sda1 / ext4 errors=remount-ro 0 1\n",
		       "UUID=0-1 / ext4 errors=remount-ro 0 1\n", 1);
	expect_rewrite("linux /vmlinuz root=/dev/sda1 ro resume=/dev/sdb2 quiet",
		       "linux /vmlinuz root=UUID=0-1 ro resume=UUID=1-2 quiet", 2);
	/* not device names: inside a longer path, or already virtio */
	expect_rewrite("/mnt/dev/sda1 /dev/vda1 /dev/null", "/mnt/dev/sda1 /dev/vda1 /dev/null", 0);
	expect_rewrite("", "", 0);
	expect_rewrite("no names at all\n", "no names at all\n", 0);
	expect_rewrite("ends with /dev/", "ends with /dev/", 0);
}

static void test_strbuf(void)
{
	struct strbuf b = { 0 };

	CU_ASSERT_STRING_EQUAL(strbuf_str(&b), "");
	CU_ASSERT_EQUAL(strbuf_add(&b, "ab", 2), 0);
	for (int i = 0; i < 1000; i++)
		CU_ASSERT_EQUAL(strbuf_printf(&b, "%d,", i), 0);
	CU_ASSERT_EQUAL(strncmp(strbuf_str(&b), "ab0,1,2,", 8), 0);
	CU_ASSERT_EQUAL(b.len, strlen(b.s));
	char *s = strbuf_take(&b);
	CU_ASSERT_PTR_NOT_NULL(s);
	CU_ASSERT_PTR_NULL(b.s);
	CU_ASSERT_EQUAL(strlen(s), 2 + 10 * 2 + 90 * 3 + 900 * 4);
	free(s);
	strbuf_free(&b);
}

static const struct unit_test tests[] = {
	{ "device name parsing", test_parse },
	{ "device name rewriting", test_rewrite },
	{ "strbuf", test_strbuf },
};

UNIT_MAIN("v2v_devname", tests, NULL)
