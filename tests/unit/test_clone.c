/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_clone.c - CUnit tests for the pure parts of imgtool clone: clone names and
 * --name-pattern (clone/clone.h), and the random identifiers every clone gets
 * (common/random.h: UUIDs and MACs), and a partition moved to another clone's disk
 * (guest_device_on_disk).  Everything that needs a guest is tested by
 * tests/clone/ on the fixture guest.
 */
#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include <errno.h>
#include <string.h>

#include "clone/clone.h"
#include "common/err.h"
#include "common/random.h"
#include "guest/guest.h"
#include "tests/unit/unit.h"

static void test_names(void)
{
	CU_ASSERT_TRUE(clone_name_valid("web01"));
	CU_ASSERT_TRUE(clone_name_valid("a"));
	CU_ASSERT_TRUE(clone_name_valid("db-EU-3"));
	CU_ASSERT_FALSE(clone_name_valid(""));
	CU_ASSERT_FALSE(clone_name_valid("-web"));
	CU_ASSERT_FALSE(clone_name_valid("web-"));
	CU_ASSERT_FALSE(clone_name_valid("web.example"));   /* a file name extension */
	CU_ASSERT_FALSE(clone_name_valid("a/b"));
	CU_ASSERT_FALSE(clone_name_valid("web 1"));
	CU_ASSERT_FALSE(clone_name_valid("0123456789012345678901234567890123456789012345678901234567890123"));
}

static void test_pattern(void)
{
	char out[64];

	CU_ASSERT_EQUAL(clone_name_format("web%02d", 3, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "web03");
	CU_ASSERT_EQUAL(clone_name_format("node-%d-eu", 12, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "node-12-eu");
	CU_ASSERT_EQUAL(clone_name_format("%3d", 7, out, sizeof(out)), -EINVAL);   /* spaces */
	CU_ASSERT_EQUAL(clone_name_format("web", 1, out, sizeof(out)), -EINVAL);
	CU_ASSERT_EQUAL(clone_name_format("web%d%d", 1, out, sizeof(out)), -EINVAL);
	CU_ASSERT_EQUAL(clone_name_format("web%s", 1, out, sizeof(out)), -EINVAL);
	CU_ASSERT_EQUAL(clone_name_format("web%n", 1, out, sizeof(out)), -EINVAL);
	CU_ASSERT_EQUAL(clone_name_format("web%.5d", 1, out, sizeof(out)), -EINVAL);
	CU_ASSERT_EQUAL(clone_name_format("web%%%d", 1, out, sizeof(out)), -EINVAL);   /* '%' */
	CU_ASSERT_EQUAL(clone_name_format("web%d", 1, out, 4), -EINVAL);   /* too long */
	CU_ASSERT_TRUE(strstr(err_get(), "--name-pattern") != NULL);
	err_clear();
}

/* clones share one appliance: partition N of disk 0 is partition N of clone i's */
static void test_device_on_disk(void)
{
	char out[64];

	CU_ASSERT_TRUE(guest_device_on_disk("/dev/sdf1", 0, out, sizeof(out)));
	CU_ASSERT_STRING_EQUAL(out, "/dev/sda1");
	CU_ASSERT_TRUE(guest_device_on_disk("/dev/sda2", 27, out, sizeof(out)));
	CU_ASSERT_STRING_EQUAL(out, "/dev/sdab2");
	CU_ASSERT_TRUE(guest_device_on_disk("/dev/sdaa", 1, out, sizeof(out)));
	CU_ASSERT_STRING_EQUAL(out, "/dev/sdb");
	CU_ASSERT_FALSE(guest_device_on_disk("/dev/vda1", 0, out, sizeof(out)));
	CU_ASSERT_FALSE(guest_device_on_disk("/dev/sda1x", 0, out, sizeof(out)));
	CU_ASSERT_FALSE(guest_device_on_disk("/dev/mapper/vg-root", 0, out, sizeof(out)));
}

static void test_random_ids(void)
{
	char u1[UUID_STR_LEN], u2[UUID_STR_LEN], m[MAC_STR_LEN];

	CU_ASSERT_EQUAL(random_uuid_str(u1), 0);
	CU_ASSERT_EQUAL(random_uuid_str(u2), 0);
	CU_ASSERT_EQUAL(strlen(u1), 36);
	CU_ASSERT_STRING_NOT_EQUAL(u1, u2);
	CU_ASSERT_TRUE(u1[8] == '-' && u1[13] == '-' && u1[18] == '-' && u1[23] == '-');
	CU_ASSERT_EQUAL(u1[14], '4');                          /* version 4 */
	CU_ASSERT_PTR_NOT_NULL(strchr("89ab", u1[19]));       /* RFC 4122 variant */
	CU_ASSERT_EQUAL(strspn(u1, "0123456789abcdef-"), 36);
	CU_ASSERT_EQUAL(random_mac_str(m), 0);
	CU_ASSERT_EQUAL(strlen(m), 17);
	CU_ASSERT_EQUAL(strncmp(m, "52:54:00:", 9), 0);
	CU_ASSERT_EQUAL(strspn(m, "0123456789abcdef:"), 17);
}

static const struct unit_test tests[] = {
	{ "clone names", test_names },
	{ "--name-pattern", test_pattern },
	{ "random UUIDs and MACs", test_random_ids },
	{ "a partition moved to another clone's disk", test_device_on_disk },
};

UNIT_MAIN("clone", tests, NULL)
