/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_create_opts.c - CUnit tests for the formats' -o option tables
 * (formats/format.h create_opts/amend_opts, formats/create_opts.c): every table
 * is well formed; image_create() refuses an undeclared option and a value of the
 * wrong type for every format, in qemu-img's words, before any file exists;
 * every declared option of every format is accepted by its create(); amend
 * tells creation-only options from unknown ones.
 */
#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/secret.h"
#include "common/opts.h"
#include "common/util.h"
#include "formats/format.h"

static char dir[] = "/tmp/imgtool-create-opts-XXXXXX";

static char *path_of(const char *name)
{
	static char buf[4][256];
	static int n;
	char *p = buf[n++ % 4];

	snprintf(p, 256, "%s/%s", dir, name);
	return p;
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Names, help texts, types and enum values present; no name twice. */
static void check_table(const char *fmt, const struct create_opt *t)
{
	for (int i = 0; t[i].name; i++) {
		CU_ASSERT_PTR_NOT_NULL(t[i].help);
		CU_ASSERT_TRUE(t[i].type <= OPT_TYPE_ENUM);
		if (t[i].type == OPT_TYPE_ENUM)
			CU_ASSERT_TRUE(t[i].values && t[i].values[0]);
		for (int j = 0; j < i; j++)
			if (!strcmp(t[i].name, t[j].name)) {
				fprintf(stderr, "%s: option %s declared twice\n", fmt, t[i].name);
				CU_FAIL("option declared twice");
			}
	}
}

static void test_tables(void)
{
	for (int i = 0; format_registry[i]; i++) {
		const struct format_ops *ops = format_registry[i];

		if (!ops->create) {
			/* a read-only format (qcow, parallels, dmg, cloop, bochs) declares nothing */
			CU_ASSERT_PTR_NULL(ops->create_opts);
			CU_ASSERT_PTR_NULL(ops->amend_opts);
			continue;
		}
		CU_ASSERT_PTR_NOT_NULL_FATAL(ops->create_opts);
		check_table(ops->name, ops->create_opts);
		CU_ASSERT_PTR_NOT_NULL(create_opt_find(ops->create_opts, "size"));
		CU_ASSERT_PTR_NOT_NULL(create_opt_find(ops->create_opts, "nocow"));
		CU_ASSERT_PTR_NULL(create_opt_find(ops->create_opts, "no_such_option"));
		/* amend exists exactly where amend options are declared */
		CU_ASSERT_EQUAL(ops->amend == NULL, ops->amend_opts == NULL);
		if (ops->amend_opts)
			check_table(ops->name, ops->amend_opts);
	}
}

/* image_create(fmt, "-o spec") fails with exactly msg (after "FILE: ") and leaves
 * no file. */
static void expect_refused(const char *fmt, const char *spec, const char *msg)
{
	struct opts o = { 0 };
	char want[512];
	char *path = path_of("refused.img");

	CU_ASSERT_EQUAL_FATAL(opts_parse(&o, spec), 0);
	err_clear();
	CU_ASSERT_EQUAL(image_create(path, fmt, MiB, &o), -EINVAL);
	snprintf(want, sizeof(want), "%s: %s", path, msg);
	if (strcmp(err_get(), want))
		fprintf(stderr, "%s -o %s: got '%s', want '%s'\n", fmt, spec, err_get(), want);
	CU_ASSERT_STRING_EQUAL(err_get(), want);
	CU_ASSERT_FALSE(exists(path));
	unlink(path);
	opts_free(&o);
}

/* A read-only format refuses to create, whatever the options, in qemu-img's
 * words, and leaves no file. */
static void read_only_refused(const char *fmt)
{
	struct opts o = { 0 };
	char want[512];
	char *path = path_of("refused.img");

	err_clear();
	CU_ASSERT_EQUAL(image_create(path, fmt, MiB, &o), -ENOTSUP);
	snprintf(want, sizeof(want), "%s: Format driver '%s' does not support image creation",
		 path, fmt);
	CU_ASSERT_STRING_EQUAL(err_get(), want);
	CU_ASSERT_FALSE(exists(path));
	unlink(path);
}

static void test_refused(void)
{
	for (int i = 0; format_registry[i]; i++) {
		const char *fmt = format_registry[i]->name;

		if (!format_registry[i]->create) {
			read_only_refused(fmt);
			continue;
		}
		expect_refused(fmt, "no_such_option=1", "Invalid parameter 'no_such_option'");
		expect_refused(fmt, "nocow=maybe", "Parameter 'nocow' expects 'on' or 'off'");
		expect_refused(fmt, "size=lots", "Parameter 'size' expects a size (a number "
			       "with an optional suffix k, M, G, T)");
	}
	expect_refused("qcow2", "refcount_bits=many", "Parameter 'refcount_bits' expects a number");
	expect_refused("qcow2", "preallocation=some",
		       "Parameter 'preallocation' does not accept value 'some'");
	expect_refused("vpc", "subformat=dynamix",
		       "Parameter 'subformat' does not accept value 'dynamix'");
	expect_refused("vpc", "backing_file=base.img", "Invalid parameter 'backing_file'");
	expect_refused("vhdx", "preallocation=full", "Invalid parameter 'preallocation'");
}

/* Every bool option of every format set to off, alone: the format's create
 * takes what its table declares. */
static void test_declared_accepted(void)
{
	/* luks cannot be created without its passphrase */
	secret_define("secret,id=unit,data=passphrase");
	for (int i = 0; format_registry[i]; i++) {
		const struct format_ops *ops = format_registry[i];

		for (const struct create_opt *d = ops->create_opts; d && d->name; d++) {
			struct opts o = { 0 };
			char spec[128];
			char *path = path_of("accepted.img");
			int ret;

			if (d->type != OPT_TYPE_BOOL)
				continue;
			snprintf(spec, sizeof(spec), "%s=off%s", d->name,
				 strcmp(ops->name, "luks") ? "" : ",key-secret=unit,iter-time=1");
			CU_ASSERT_EQUAL_FATAL(opts_parse(&o, spec), 0);
			err_clear();
			ret = image_create(path, ops->name, MiB, &o);
			if (ret)
				fprintf(stderr, "%s -o %s: %s\n", ops->name, spec, err_get());
			CU_ASSERT_EQUAL(ret, 0);
			CU_ASSERT_TRUE(exists(path));
			unlink(path);
			opts_free(&o);
		}
	}
}

static void amend_refused(struct image *img, const char *spec, int want_ret,
			  const char *msg)
{
	struct opts o = { 0 };

	CU_ASSERT_EQUAL_FATAL(opts_parse(&o, spec), 0);
	err_clear();
	CU_ASSERT_EQUAL(image_amend(img, &o), want_ret);
	CU_ASSERT_STRING_EQUAL(err_get(), msg);
	opts_free(&o);
}

static void test_amend(void)
{
	struct image *img;

	CU_ASSERT_EQUAL_FATAL(image_create(path_of("a.qcow2"), "qcow2", MiB, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(image_open(path_of("a.qcow2"), "qcow2", IMG_RDWR, &img), 0);
	amend_refused(img, "cluster_size=4k", -ENOTSUP, "Invalid parameter 'cluster_size'");
	CU_ASSERT_PTR_NOT_NULL_FATAL(err_get_hint());
	CU_ASSERT_STRING_EQUAL(err_get_hint(), "This option is only supported for image creation");
	amend_refused(img, "no_such_option=1", -EINVAL, "Invalid parameter 'no_such_option'");
	amend_refused(img, "lazy_refcounts=maybe", -EINVAL,
		      "Parameter 'lazy_refcounts' expects 'on' or 'off'");
	image_close(img);
	unlink(path_of("a.qcow2"));
}

int main(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{ "tables well formed", test_tables },
		{ "create refuses undeclared and mistyped options", test_refused },
		{ "create takes every declared bool option", test_declared_accepted },
		{ "amend refuses creation-only and unknown options", test_amend },
	};
	CU_pSuite suite;
	unsigned failures;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("create_opts", NULL, NULL);
	for (size_t i = 0; suite && i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(suite, tests[i].name, tests[i].fn);
	CU_basic_set_mode(CU_BRM_NORMAL);
	CU_basic_run_tests();
	failures = CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	rmdir(dir);
	return failures ? 1 : 0;
}
