/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/unit.h - what every CUnit test binary shares, so that each file holds
 * only its tests:
 *   unit_dir, path_of(NAME)  a scratch folder made for the run (in /var/tmp: O_DIRECT
 *                            works there, unlike on a tmpfs /tmp) and a path in it
 *   run(FMT, ...)            a shell command in the scratch folder; its output is
 *                            shown only when it fails; returns its exit status
 *   UNIT_SKIP(FMT, ...)      end the running test as skipped (a prerequisite is
 *                            missing): tests/unit/run.sh counts a SKIP with the
 *                            reason, not a pass
 *   UNIT_MAIN(NAME, TESTS, INIT)  main(): registers the array TESTS (elements with
 *                            .name and .fn) as suite NAME (INIT: CUnit's suite init,
 *                            or NULL), runs it, removes the scratch folder (kept and
 *                            named when a test failed), exits 1 on any failure.
 * Header only: each test file is its own program.
 */
#ifndef IMGTOOL_TESTS_UNIT_H
#define IMGTOOL_TESTS_UNIT_H

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* one entry of a test file's table of tests */
struct unit_test {
	const char *name;
	CU_TestFunc fn;
};

static char unit_dir[64];
static CU_pSuite unit_suite;

/* path_of(NAME): NAME in the scratch folder; eight results may be held at once */
static inline const char *path_of(const char *name)
{
	static char buf[8][512];
	static unsigned n;
	char *p = buf[n++ % 8];

	snprintf(p, sizeof(buf[0]), "%s/%s", unit_dir, name);
	return p;
}

static inline __attribute__((format(printf, 1, 2))) int run(const char *fmt, ...)
{
	char cmd[4096], full[4400];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "cd '%s' && (%s) >'%s/run.log' 2>&1", unit_dir, cmd,
		 unit_dir);
	st = system(full);
	st = st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if (st != 0) {
		fprintf(stderr, "\n  '%s' exited %d:\n", cmd, st);
		snprintf(full, sizeof(full), "tail -n 20 '%s/run.log' >&2", unit_dir);
		if (system(full) != 0)
			fprintf(stderr, "  (no output)\n");
	}
	return st;
}

static inline __attribute__((format(printf, 1, 2))) void unit_skip(const char *fmt, ...)
{
	CU_pTest t = CU_get_current_test();
	va_list ap;

	printf("\nSKIP %s: ", t ? t->pName : "?");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}
#define UNIT_SKIP(...)                 \
	do {                           \
		unit_skip(__VA_ARGS__); \
		return;                \
	} while (0)

static inline int unit_begin(const char *name, CU_InitializeFunc init)
{
	snprintf(unit_dir, sizeof(unit_dir), "/var/tmp/imgtool-unit-%s-XXXXXX", name);
	if (!mkdtemp(unit_dir)) {
		perror(unit_dir);
		return -1;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return -1;
	unit_suite = CU_add_suite(name, init, NULL);
	return unit_suite ? 0 : -1;
}

static inline int unit_add(const char *name, CU_TestFunc fn)
{
	return CU_add_test(unit_suite, name, fn) ? 0 : -1;
}

static inline int unit_end(void)
{
	unsigned failed;
	char cmd[128];

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_tests_failed() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	if (failed) {
		fprintf(stderr, "test files kept in %s\n", unit_dir);
		return 1;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", unit_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", unit_dir);
	return 0;
}

#define UNIT_MAIN(suite_name, test_table, suite_init)                          \
	int main(void)                                                          \
	{                                                                       \
		if (unit_begin(suite_name, suite_init) < 0)                     \
			return 2;                                               \
		for (size_t i_ = 0; i_ < sizeof(test_table) / sizeof((test_table)[0]); i_++) \
			if (unit_add((test_table)[i_].name, (test_table)[i_].fn) < 0) \
				return 2;                                       \
		return unit_end();                                              \
	}

#endif
