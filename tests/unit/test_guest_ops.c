/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_guest_ops.c - CUnit tests for the pure parts of customize and sysprep
 * (guest/customize.h, guest/sysprep.h): option value parsing, the
 * --operations list, and password hashing with crypt(3).  The parts that need a
 * guest are tested by tests/guest/run.sh on the fixture guest.
 */

#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "guest/customize.h"
#include "guest/sysprep.h"
#include "tests/unit/unit.h"

static void test_parse_split(void)
{
	struct cust_op op;

	CU_ASSERT_EQUAL(customize_parse_op(CUST_WRITE, "/etc/motd:a:b", &op), 0);
	CU_ASSERT_STRING_EQUAL(op.a, "/etc/motd");
	CU_ASSERT_STRING_EQUAL(op.b, "a:b");   /* only the first colon splits */
	customize_free_op(&op);
	CU_ASSERT_EQUAL(customize_parse_op(CUST_WRITE, "/etc/empty:", &op), 0);
	CU_ASSERT_STRING_EQUAL(op.b, "");
	customize_free_op(&op);
	CU_ASSERT_EQUAL(customize_parse_op(CUST_WRITE, "etc/motd:x", &op), -EINVAL);
	CU_ASSERT_EQUAL(customize_parse_op(CUST_WRITE, "/etc/motd", &op), -EINVAL);
	CU_ASSERT_EQUAL(customize_parse_op(CUST_APPEND_LINE, ":x", &op), -EINVAL);
	CU_ASSERT_EQUAL(customize_parse_op(CUST_UPLOAD, "/host/f:/guest/f", &op), 0);
	CU_ASSERT_STRING_EQUAL(op.a, "/host/f");
	CU_ASSERT_STRING_EQUAL(op.b, "/guest/f");
	customize_free_op(&op);
	CU_ASSERT_EQUAL(customize_parse_op(CUST_UPLOAD, "f:relative", &op), -EINVAL);
	CU_ASSERT_EQUAL(customize_parse_op(CUST_LINK, "/target:/link", &op), 0);
	customize_free_op(&op);
	CU_ASSERT_EQUAL(customize_parse_op(CUST_LINK, "/target:", &op), -EINVAL);
	err_clear();
}

static void test_parse_values(void)
{
	struct cust_op op;

	CU_ASSERT_EQUAL(customize_parse_op(CUST_CHMOD, "0755:/usr/bin/x", &op), 0);
	CU_ASSERT_EQUAL(op.mode, 0755);
	customize_free_op(&op);
	CU_ASSERT_EQUAL(customize_parse_op(CUST_CHMOD, "0855:/x", &op), -EINVAL);
	CU_ASSERT_EQUAL(customize_parse_op(CUST_CHMOD, "17777:/x", &op), -EINVAL);
	CU_ASSERT_EQUAL(customize_parse_op(CUST_CHMOD, ":/x", &op), -EINVAL);
	CU_ASSERT_EQUAL(customize_parse_op(CUST_HOSTNAME, "web-01.example.com", &op), 0);
	customize_free_op(&op);
	CU_ASSERT_EQUAL(customize_parse_op(CUST_HOSTNAME, "a b", &op), -EINVAL);
	CU_ASSERT_EQUAL(customize_parse_op(CUST_HOSTNAME, "", &op), -EINVAL);
	CU_ASSERT_EQUAL(customize_parse_op(CUST_TIMEZONE, "Europe/Paris", &op), 0);
	customize_free_op(&op);
	CU_ASSERT_EQUAL(customize_parse_op(CUST_TIMEZONE, "../../etc/shadow", &op), -EINVAL);
	CU_ASSERT_EQUAL(customize_parse_op(CUST_DELETE, "/", &op), -EINVAL);
	CU_ASSERT_EQUAL(customize_parse_op(CUST_DELETE, "//", &op), -EINVAL);
	CU_ASSERT_EQUAL(customize_parse_op(CUST_DELETE, "/tmp/x", &op), 0);
	customize_free_op(&op);
	CU_ASSERT_EQUAL(customize_parse_op(CUST_ROOT_PASSWORD, "password:s3cret", &op), 0);
	CU_ASSERT_EQUAL(op.pw_kind, 0);
	CU_ASSERT_STRING_EQUAL(op.a, "s3cret");
	customize_free_op(&op);
	CU_ASSERT_EQUAL(customize_parse_op(CUST_ROOT_PASSWORD, "file:/root/pw", &op), 0);
	CU_ASSERT_EQUAL(op.pw_kind, 1);
	customize_free_op(&op);
	CU_ASSERT_EQUAL(customize_parse_op(CUST_ROOT_PASSWORD, "s3cret", &op), -EINVAL);
	/* the rejected password must not be echoed in the message */
	CU_ASSERT_PTR_NULL(strstr(err_get(), "s3cret"));
	CU_ASSERT_EQUAL(customize_parse_op(CUST_SSH_INJECT, "alice:file:/k.pub", &op), 0);
	CU_ASSERT_STRING_EQUAL(op.a, "alice");
	CU_ASSERT_STRING_EQUAL(op.b, "/k.pub");
	customize_free_op(&op);
	CU_ASSERT_EQUAL(customize_parse_op(CUST_SSH_INJECT, "alice", &op), -EINVAL);
	CU_ASSERT_EQUAL(customize_parse_op(CUST_SSH_INJECT, "alice:string:x", &op), -EINVAL);
	CU_ASSERT_EQUAL(customize_parse_op(CUST_RUN_COMMAND, "", &op), -EINVAL);
	err_clear();
}

static void test_hash(void)
{
	char *h = NULL;
	struct crypt_data cd;

	CU_ASSERT_EQUAL(customize_hash_password("secret", "$6$", &h), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL(strncmp(h, "$6$", 3), 0);
	memset(&cd, 0, sizeof(cd));
	CU_ASSERT_STRING_EQUAL(crypt_r("secret", h, &cd), h);
	memset(&cd, 0, sizeof(cd));
	CU_ASSERT_STRING_NOT_EQUAL(crypt_r("Secret", h, &cd), h);
	free(h);
	CU_ASSERT_EQUAL(customize_hash_password("secret", "$y$", &h), 0);
	CU_ASSERT_EQUAL(strncmp(h, "$y$", 3), 0);
	free(h);
	err_clear();
}

static size_t find_op(const char *name)
{
	for (size_t i = 0; i < sysprep_nops; i++)
		if (!strcmp(sysprep_ops[i].name, name))
			return i;
	return (size_t)-1;
}

static void test_sysprep_ops(void)
{
	bool on[64];
	size_t lock = find_op("root-password-lock"), mid = find_op("machine-id");
	size_t users = find_op("user-account"), logs = find_op("logfiles");

	CU_ASSERT_FATAL(sysprep_nops <= 64);
	CU_ASSERT_FATAL(lock != (size_t)-1 && mid != (size_t)-1 && users != (size_t)-1 &&
			logs != (size_t)-1);
	sysprep_default_operations(on);
	CU_ASSERT_TRUE(on[mid]);
	CU_ASSERT_FALSE(on[lock]);
	CU_ASSERT_FALSE(on[users]);
	CU_ASSERT_EQUAL(sysprep_parse_operations("machine-id", on), 0);
	CU_ASSERT_TRUE(on[mid]);
	CU_ASSERT_FALSE(on[logs]);
	CU_ASSERT_EQUAL(sysprep_parse_operations("defaults,-logfiles,root-password-lock", on), 0);
	CU_ASSERT_TRUE(on[mid]);
	CU_ASSERT_FALSE(on[logs]);
	CU_ASSERT_TRUE(on[lock]);
	CU_ASSERT_FALSE(on[users]);
	CU_ASSERT_EQUAL(sysprep_parse_operations("all", on), 0);
	CU_ASSERT_TRUE(on[users]);
	CU_ASSERT_EQUAL(sysprep_parse_operations("no-such-op", on), -EINVAL);
	CU_ASSERT_EQUAL(sysprep_parse_operations("machine-id,-machine-id", on), -EINVAL);
	CU_ASSERT_EQUAL(sysprep_parse_operations(",", on), -EINVAL);
	err_clear();
}

/* The scheme the guest's own passwd would use: PAM first, then login.defs, then
 * root's current hash, then SHA-512. */
static void test_password_scheme(void)
{
	const char *pam = "password\t[success=1 default=ignore]\tpam_unix.so obscure yescrypt\n";
	const char *defs = "# comment\nENCRYPT_METHOD SHA512\n";

	CU_ASSERT_STRING_EQUAL(customize_password_scheme(pam, defs, "$6$salt$x"), "$y$");
	CU_ASSERT_STRING_EQUAL(customize_password_scheme(NULL, defs, "$y$j9T$x"), "$6$");
	CU_ASSERT_STRING_EQUAL(customize_password_scheme(NULL, NULL, "$y$j9T$salt$hash"), "$y$");
	CU_ASSERT_STRING_EQUAL(customize_password_scheme(NULL, NULL, NULL), "$6$");
	CU_ASSERT_STRING_EQUAL(customize_password_scheme("", "", "*"), "$6$");
}

static const struct unit_test tests[] = {
	{ "customize value splitting", test_parse_split },
	{ "customize value checks", test_parse_values },
	{ "password hashing", test_hash },
	{ "password scheme", test_password_scheme },
	{ "sysprep --operations", test_sysprep_ops },
};

UNIT_MAIN("guest_ops", tests, NULL)
