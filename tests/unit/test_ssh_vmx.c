/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_ssh_vmx.c - `v2v -i vmx` reading a VM folder over ssh:// gives the same
 * source as reading the same folder locally: the settings, the disks in order,
 * and every disk's bytes (a vmdk snapshot delta over its base, descriptors and
 * extents all read through the ssh backend).
 *
 * Needs a real sshd serving the folder: tests/backends/ssh.sh lays out an
 * ESXi-like datastore and runs this with SSH_VMX_LOCAL (the .vmx's local path)
 * and SSH_VMX_URL (the same file as ssh://...); without them the test is
 * counted as skipped.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "formats/format.h"
#include "v2v/input/input.h"
#include "tests/unit/unit.h"

static void same_disk_bytes(const struct v2v_disk *a, const struct v2v_disk *b)
{
	struct image *ia = NULL, *ib = NULL;
	const size_t chunk = 1 << 20;
	char *ba = malloc(chunk), *bb = malloc(chunk);

	CU_ASSERT_PTR_NOT_NULL_FATAL(ba);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bb);
	CU_ASSERT_EQUAL_FATAL(v2v_disk_open(a, &ia), 0);
	if (v2v_disk_open(b, &ib) < 0)
		fprintf(stderr, "\n%s\n", err_get());
	CU_ASSERT_PTR_NOT_NULL_FATAL(ib);
	CU_ASSERT_EQUAL(ia->size, ib->size);
	CU_ASSERT_STRING_EQUAL(ia->ops->name, ib->ops->name);
	/* the remote chain is the local one, a layer for a layer */
	CU_ASSERT_EQUAL(!ia->backing, !ib->backing);
	for (uint64_t off = 0; off < ia->size && off < ib->size; off += chunk) {
		size_t n = (size_t)(ia->size - off < chunk ? ia->size - off : chunk);

		CU_ASSERT_EQUAL_FATAL(image_read(ia, ba, off, n), 0);
		CU_ASSERT_EQUAL_FATAL(image_read(ib, bb, off, n), 0);
		if (memcmp(ba, bb, n)) {
			CU_FAIL("the disk's bytes differ over ssh://");
			break;
		}
	}
	image_close(ia);
	image_close(ib);
	free(ba);
	free(bb);
}

static void test_vmx_over_ssh(void)
{
	const char *local = getenv("SSH_VMX_LOCAL"), *url = getenv("SSH_VMX_URL");
	struct v2v_source l, r;

	if (!local || !url)
		UNIT_SKIP("no sshd (SSH_VMX_LOCAL, SSH_VMX_URL: run by tests/backends)");
	CU_ASSERT_EQUAL_FATAL(v2v_source_from_vmx(local, &l), 0);
	if (v2v_source_from_vmx(url, &r) < 0) {
		fprintf(stderr, "\n%s\n", err_get());
		CU_FAIL_FATAL("the .vmx over ssh:// did not open");
	}
	CU_ASSERT_STRING_EQUAL(l.name, r.name);
	CU_ASSERT_EQUAL(l.memory_mib, r.memory_mib);
	CU_ASSERT_EQUAL(l.vcpus, r.vcpus);
	CU_ASSERT_EQUAL(l.nb_nics, r.nb_nics);
	CU_ASSERT_EQUAL_FATAL(l.nb_disks, r.nb_disks);
	CU_ASSERT(l.nb_disks >= 2);
	for (int i = 0; i < l.nb_disks; i++) {
		CU_ASSERT_STRING_EQUAL(l.disks[i].controller, r.disks[i].controller);
		CU_ASSERT_PTR_NOT_NULL(strstr(r.disks[i].path, "ssh://"));
		same_disk_bytes(&l.disks[i], &r.disks[i]);
	}
	v2v_source_free(&l);
	v2v_source_free(&r);
}

/* A .vmx naming a disk that is not on the server: refused at once, naming it. */
static void test_vmx_missing_disk_over_ssh(void)
{
	const char *url = getenv("SSH_VMX_MISSING_URL");
	struct v2v_source r;

	if (!url)
		UNIT_SKIP("no sshd (SSH_VMX_MISSING_URL: run by tests/backends)");
	CU_ASSERT_EQUAL(v2v_source_from_vmx(url, &r), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_get(), "not found"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err_get(), "scsi0:0"));
}

static const struct unit_test vmx_tests[] = {
	{ "vmx over ssh:// = the local folder", test_vmx_over_ssh },
	{ "vmx over ssh://: a missing disk", test_vmx_missing_disk_over_ssh },
};

UNIT_MAIN("ssh_vmx", vmx_tests, NULL)
