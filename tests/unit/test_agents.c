/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_agents.c - CUnit tests for the hypervisor agents table (guest/agents.c), read
 * by inspect (files, applications) and by v2v (packages to remove): the rules the
 * two readers rely on, which the compiler cannot check.  Inspect and v2v on a real
 * guest are tested by tests/guest and tests/v2v.
 */
#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include <string.h>

#include "guest/agents.h"
#include "tests/unit/unit.h"

static const struct guest_agent *find(const char *name, size_t before)
{
	for (size_t i = 0; i < before; i++)
		if (!strcmp(guest_agents[i].name, name))
			return &guest_agents[i];
	return NULL;
}

static void test_agents_complete(void)
{
	CU_ASSERT_TRUE(guest_nb_agents > 0);
	for (size_t i = 0; i < guest_nb_agents; i++) {
		const struct guest_agent *a = &guest_agents[i];

		CU_ASSERT_PTR_NOT_NULL_FATAL(a->name);
		CU_ASSERT_PTR_NOT_NULL(a->hypervisor);
		/* an agent nothing can find is dead weight */
		CU_ASSERT_TRUE(a->linux_files[0] || a->windows_apps[0] || a->windows_files[0]);
		CU_ASSERT_PTR_NULL(find(a->name, i));   /* names are unique */
		for (size_t f = 0; a->windows_files[f]; f++)
			CU_ASSERT_TRUE(!strncmp(a->windows_files[f], "%S/", 3) ||
				       !strncmp(a->windows_files[f], "%P/", 3));
		for (size_t f = 0; a->linux_files[f]; f++)
			CU_ASSERT_EQUAL(a->linux_files[f][0], '/');
		if (a->linux_uninstaller) {
			CU_ASSERT_EQUAL(a->linux_uninstaller[0], '/');
			CU_ASSERT_PTR_NOT_NULL(a->uninstalled_title);
		}
	}
}

/* inspect merges an agent's files into the one it is part of, which must already
 * have been reported: an earlier Linux agent */
static void test_agents_part_of_earlier(void)
{
	int seen = 0;

	for (size_t i = 0; i < guest_nb_agents; i++) {
		const struct guest_agent *a = &guest_agents[i], *whole;

		if (!a->linux_part_of)
			continue;
		seen++;
		whole = find(a->linux_part_of, i);
		CU_ASSERT_PTR_NOT_NULL_FATAL(whole);
		CU_ASSERT_PTR_NOT_NULL(whole->linux_files[0]);
	}
	CU_ASSERT_TRUE(seen > 0);   /* vmware-tools is part of open-vm-tools */
}

/* The packages v2v asks the guest's package manager about, in table order: the
 * same list, in the same order, as before the table existed. */
static void test_agents_package_lists(void)
{
	static const char *const dpkg[] = {
		"open-vm-tools-desktop", "open-vm-tools-sdmp", "open-vm-tools-dev",
		"open-vm-tools", "hyperv-daemons", "virtualbox-guest-x11",
		"virtualbox-guest-utils", "virtualbox-guest-dkms", NULL };
	static const char *const rpm[] = {
		"open-vm-tools-desktop", "open-vm-tools-sdmp", "open-vm-tools",
		"hyperv-daemons", "hyperv-daemons-license", "hypervkvpd", "hypervvssd",
		"hypervfcopyd", "hyperv-tools", "virtualbox-guest-additions", NULL };
	size_t d = 0, r = 0;

	for (size_t i = 0; i < guest_nb_agents; i++) {
		const struct guest_agent *a = &guest_agents[i];

		for (size_t p = 0; a->dpkg_packages[p]; p++, d++) {
			CU_ASSERT_PTR_NOT_NULL_FATAL(dpkg[d]);
			CU_ASSERT_STRING_EQUAL(a->dpkg_packages[p], dpkg[d]);
		}
		for (size_t p = 0; a->rpm_packages[p]; p++, r++) {
			CU_ASSERT_PTR_NOT_NULL_FATAL(rpm[r]);
			CU_ASSERT_STRING_EQUAL(a->rpm_packages[p], rpm[r]);
		}
		/* KVM's own agent stays */
		if (!strcmp(a->hypervisor, "kvm"))
			CU_ASSERT_TRUE(!a->dpkg_packages[0] && !a->rpm_packages[0]);
	}
	CU_ASSERT_PTR_NULL(dpkg[d]);
	CU_ASSERT_PTR_NULL(rpm[r]);
}

static const struct unit_test tests[] = {
	{ "every agent named and findable", test_agents_complete },
	{ "linux_part_of names an earlier Linux agent", test_agents_part_of_earlier },
	{ "v2v's package lists", test_agents_package_lists },
};

UNIT_MAIN("agents", tests, NULL)
