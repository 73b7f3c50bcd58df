/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_dl.c - CUnit tests for common/dl.c, the loader of the libraries imgtool
 * dlopen()s at first use (libguestfs, libxml2/libcrypto, libiscsi, librados/librbd).
 * Real libraries stand in for them: zlib (already linked, so its addresses are known)
 * and libxml2 (a build dependency no test binary links, so whether a failed load
 * left it mapped can be seen with RTLD_NOLOAD).
 */
#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "common/dl.h"
#include "common/err.h"
#include "tests/unit/unit.h"

#define MISSING_SONAME "libimgtool-test-missing.so.0"
#define UNLINKED_SONAME "libxml2.so.2"

static bool is_mapped(const char *soname)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_NOLOAD);

	if (!h)
		return false;
	dlclose(h);
	return true;
}

static void test_dl_resolves(void)
{
	void *version = NULL, *crc = NULL;
	const struct dl_sym syms[] = { { "zlibVersion", &version }, { "crc32", &crc }, { NULL } };
	const struct dl_lib libs[] = { { "zlib", { "libz.so.1" }, "zlib1g", syms }, { NULL } };
	struct dl_loader l = DL_LOADER(libs, -ENOTSUP);

	err_clear();
	CU_ASSERT_EQUAL(dl_load(&l, "x"), 0);
	CU_ASSERT_FALSE(err_is_set());
	/* the library the binary links: dlsym finds the very functions it calls */
	CU_ASSERT_PTR_EQUAL(version, (void *)zlibVersion);
	CU_ASSERT_PTR_EQUAL(crc, (void *)crc32);
	/* once only: a second call neither reloads nor fails */
	version = NULL;
	CU_ASSERT_EQUAL(dl_load(&l, "x"), 0);
	CU_ASSERT_PTR_NULL(version);
}

static void test_dl_soname_fallback(void)
{
	void *version = NULL;
	const struct dl_sym syms[] = { { "zlibVersion", &version }, { NULL } };
	const struct dl_lib libs[] = {
		{ "zlib", { MISSING_SONAME, "libz.so.1" }, "zlib1g", syms }, { NULL } };
	struct dl_loader l = DL_LOADER(libs, -ENOTSUP);

	CU_ASSERT_EQUAL(dl_load(&l, NULL), 0);
	CU_ASSERT_PTR_EQUAL(version, (void *)zlibVersion);
}

static void test_dl_missing_library(void)
{
	void *f = NULL;
	const struct dl_sym syms[] = { { "f", &f }, { NULL } };
	const struct dl_lib libs[] = {
		{ "libmissing", { MISSING_SONAME }, "imgtool-test-pkg", syms }, { NULL } };
	struct dl_loader l = DL_LOADER(libs, -EPROTONOSUPPORT);

	CU_ASSERT_EQUAL(dl_load(&l, "iscsi://h/t/0"), -EPROTONOSUPPORT);
	CU_ASSERT_STRING_EQUAL(err_get(), "iscsi://h/t/0: libmissing is not installed "
			       "(apt-get install imgtool-test-pkg)");
	/* every later caller gets the same answer, against its own name */
	err_clear();
	CU_ASSERT_EQUAL(dl_load(&l, NULL), -EPROTONOSUPPORT);
	CU_ASSERT_STRING_EQUAL(err_get(), "libmissing is not installed "
			       "(apt-get install imgtool-test-pkg)");
	CU_ASSERT_PTR_NULL(f);
}

static void test_dl_missing_symbol(void)
{
	void *version = NULL, *bogus = NULL;
	const struct dl_sym syms[] = {
		{ "zlibVersion", &version }, { "imgtool_no_such_symbol", &bogus }, { NULL } };
	const struct dl_lib libs[] = { { "zlib", { "libz.so.1" }, "zlib1g", syms }, { NULL } };
	struct dl_loader l = DL_LOADER(libs, -ENOTSUP);

	CU_ASSERT_EQUAL(dl_load(&l, NULL), -ENOTSUP);
	CU_ASSERT_STRING_EQUAL(err_get(), "libz.so.1 has no imgtool_no_such_symbol(): the "
			       "installed zlib is too old");
	/* all or nothing: the symbol resolved before the missing one is not kept */
	CU_ASSERT_PTR_NULL(version);
	CU_ASSERT_PTR_NULL(bogus);
}

/* The library these tests watch can be loaded and unloaded here, so a failed load
 * that leaves it mapped really is a leak. */
static void require_unlinked_library(void)
{
	void *h;

	CU_ASSERT_FATAL(!is_mapped(UNLINKED_SONAME));
	h = dlopen(UNLINKED_SONAME, RTLD_NOW | RTLD_LOCAL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	dlclose(h);
	CU_ASSERT_FATAL(!is_mapped(UNLINKED_SONAME));
}

static void test_dl_bad_symbol_closes(void)
{
	void *init = NULL, *bogus = NULL;
	const struct dl_sym syms[] = {
		{ "xmlInitParser", &init }, { "imgtool_no_such_symbol", &bogus }, { NULL } };
	const struct dl_lib libs[] = { { "libxml2", { UNLINKED_SONAME }, "libxml2", syms },
				       { NULL } };
	struct dl_loader l = DL_LOADER(libs, -ENOTSUP);

	require_unlinked_library();
	CU_ASSERT_EQUAL(dl_load(&l, NULL), -ENOTSUP);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_get(), UNLINKED_SONAME " has no imgtool_no_such_symbol()"));
	CU_ASSERT_FALSE(is_mapped(UNLINKED_SONAME));
	CU_ASSERT_PTR_NULL(init);
}

static void test_dl_second_library_missing_closes_first(void)
{
	void *init = NULL, *f = NULL;
	const struct dl_sym xml_syms[] = { { "xmlInitParser", &init }, { NULL } };
	const struct dl_sym missing_syms[] = { { "f", &f }, { NULL } };
	const struct dl_lib libs[] = {
		{ "libxml2", { UNLINKED_SONAME }, "libxml2", xml_syms },
		{ "libmissing", { MISSING_SONAME }, "imgtool-test-pkg", missing_syms },
		{ NULL } };
	struct dl_loader l = DL_LOADER(libs, -ENOTSUP);

	require_unlinked_library();
	CU_ASSERT_EQUAL(dl_load(&l, "a.ova"), -ENOTSUP);
	CU_ASSERT_STRING_EQUAL(err_get(), "a.ova: libmissing is not installed "
			       "(apt-get install imgtool-test-pkg)");
	CU_ASSERT_FALSE(is_mapped(UNLINKED_SONAME));
	CU_ASSERT_PTR_NULL(init);
}

/* ---- several threads asking at once: one load, every caller sees it done ---- */

static void *racer_version;
static const struct dl_sym racer_syms[] = { { "zlibVersion", &racer_version }, { NULL } };
static const struct dl_lib racer_libs[] = {
	{ "zlib", { "libz.so.1" }, "zlib1g", racer_syms }, { NULL } };
static struct dl_loader racer_loader = DL_LOADER(racer_libs, -ENOTSUP);

static void *racer(void *arg)
{
	int *ok = arg;

	*ok = dl_load(&racer_loader, NULL) == 0 && racer_version == (void *)zlibVersion;
	return NULL;
}

static void test_dl_threads(void)
{
	pthread_t t[8];
	int ok[8] = { 0 };

	for (int i = 0; i < 8; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, racer, &ok[i]), 0);
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT_TRUE(ok[i]);
	}
}

static const struct unit_test tests[] = {
	{ "symbols resolved to the library's own functions", test_dl_resolves },
	{ "the next soname tried when one is missing", test_dl_soname_fallback },
	{ "missing library: install hint, every call", test_dl_missing_library },
	{ "missing symbol: named, nothing kept", test_dl_missing_symbol },
	{ "missing symbol: the library is closed", test_dl_bad_symbol_closes },
	{ "second library missing: the first is closed", test_dl_second_library_missing_closes_first },
	{ "concurrent first use", test_dl_threads },
};

UNIT_MAIN("dl", tests, NULL)
