/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_v2v_windows.c - CUnit tests for the pure parts of the Windows conversion
 * (v2v/windows/drivers.c: which virtio-win folder serves which Windows,
 * which files of a tree are picked; v2v/windows/registry.c: registry
 * strings and the notation changes are reported in; the VMware Tools uninstall
 * command).  The conversion itself is tested by tests/v2v/test_windows.sh.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/utf16.h"
#include "v2v/windows/windows.h"
#include "tests/unit/unit.h"

static void test_os_dir(void)
{
	CU_ASSERT_STRING_EQUAL(v2v_win_os_dir(10, 0, true, "Windows Server 2019 Standard", 17763), "2k19");
	CU_ASSERT_STRING_EQUAL(v2v_win_os_dir(10, 0, true, "Windows Server 2016 Datacenter", 14393), "2k16");
	CU_ASSERT_STRING_EQUAL(v2v_win_os_dir(10, 0, true, "Windows Server 2022 Standard", 20348), "2k22");
	CU_ASSERT_STRING_EQUAL(v2v_win_os_dir(10, 0, true, "Windows Server 2025 Standard", 26100), "2k25");
	CU_ASSERT_STRING_EQUAL(v2v_win_os_dir(10, 0, false, "Windows 10 Pro", 19045), "w10");
	/* a server product name without its year: the build tells */
	CU_ASSERT_STRING_EQUAL(v2v_win_os_dir(10, 0, true, "Windows Server Datacenter", 20348), "2k22");
	CU_ASSERT_STRING_EQUAL(v2v_win_os_dir(10, 0, true, "Windows Server Standard", 17763), "2k19");
	CU_ASSERT_STRING_EQUAL(v2v_win_os_dir(10, 0, true, NULL, 14393), "2k16");
	/* Windows 11 still calls itself "Windows 10" in the registry: the build tells */
	CU_ASSERT_STRING_EQUAL(v2v_win_os_dir(10, 0, false, "Windows 10 Pro", 22631), "w11");
	CU_ASSERT_STRING_EQUAL(v2v_win_os_dir(6, 3, true, "Windows Server 2012 R2", 9600), "2k12R2");
	CU_ASSERT_STRING_EQUAL(v2v_win_os_dir(6, 3, false, "Windows 8.1", 9600), "w8.1");
	CU_ASSERT_STRING_EQUAL(v2v_win_os_dir(6, 1, false, "Windows 7", 7601), "w7");
	CU_ASSERT_STRING_EQUAL(v2v_win_os_dir(6, 1, true, "Windows Server 2008 R2", 7601), "2k8R2");
	CU_ASSERT_PTR_NULL(v2v_win_os_dir(6, 0, false, "Windows Vista", 6002));
	CU_ASSERT_PTR_NULL(v2v_win_os_dir(5, 1, false, "Windows XP", 2600));
	CU_ASSERT_STRING_EQUAL(v2v_win_arch_dir("x86_64"), "amd64");
	CU_ASSERT_STRING_EQUAL(v2v_win_arch_dir("i386"), "x86");
	CU_ASSERT_PTR_NULL(v2v_win_arch_dir("aarch64"));
}

static void test_path_matches(void)
{
	/* the ISO's layout and the packaged one, any case */
	CU_ASSERT_TRUE(v2v_win_path_matches("viostor/2k19/amd64/viostor.sys", "2k19", "amd64"));
	CU_ASSERT_TRUE(v2v_win_path_matches("NetKVM/2K19/AMD64/netkvm.inf", "2k19", "amd64"));
	CU_ASSERT_TRUE(v2v_win_path_matches("drivers/by-os/amd64/2k19/netkvm.inf", "2k19", "amd64"));
	CU_ASSERT_TRUE(v2v_win_path_matches("viostor/w7/i386/viostor.sys", "w7", "x86"));
	CU_ASSERT_FALSE(v2v_win_path_matches("viostor/2k16/amd64/viostor.sys", "2k19", "amd64"));
	CU_ASSERT_FALSE(v2v_win_path_matches("viostor/2k19/x86/viostor.sys", "2k19", "amd64"));
	/* w8 is not w8.1, 2k8 is not 2k8R2: whole path elements only */
	CU_ASSERT_FALSE(v2v_win_path_matches("viostor/w8.1/amd64/viostor.sys", "w8", "amd64"));
	CU_ASSERT_FALSE(v2v_win_path_matches("viostor/2k8R2/amd64/viostor.sys", "2k8", "amd64"));
	CU_ASSERT_FALSE(v2v_win_path_matches("NetKVM/2k19/amd64/netkvm.pdb", "2k19", "amd64"));
	CU_ASSERT_FALSE(v2v_win_path_matches("sriov/2k19/amd64/netkvm.inf", "2k19", "amd64"));
	CU_ASSERT_FALSE(v2v_win_path_matches("NetKVM/2k19/amd64/vioprot.inf", "2k19", "amd64"));
	CU_ASSERT_FALSE(v2v_win_path_matches("guest-agent/qemu-ga-x86_64.msi", "2k19", "amd64"));
}

static void put(const char *top, const char *rel, const char *text)
{
	char path[512], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	for (slash = strchr(path + strlen(top) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void test_find_files(void)
{
	char top[] = "/tmp/imgtool-vw-XXXXXX", cmd[64];
	struct win_files fs = { 0 };

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(top));
	put(top, "viostor/2k19/amd64/viostor.sys", "a");
	put(top, "viostor/2k19/amd64/VIOSTOR.INF", "b");
	put(top, "viostor/2k16/amd64/viostor.sys", "c");
	put(top, "NetKVM/2k19/amd64/netkvm.pdb", "d");
	put(top, "drivers/by-os/amd64/2k19/viostor.sys", "e");  /* same name: first path wins */
	CU_ASSERT_EQUAL(v2v_win_find_files(top, "2k19", "amd64", &fs), 0);
	CU_ASSERT_EQUAL(fs.n, 2);
	CU_ASSERT_PTR_NOT_NULL(v2v_win_file(&fs, "viostor.inf"));   /* names lower-cased */
	CU_ASSERT_PTR_NOT_NULL_FATAL(v2v_win_file(&fs, "viostor.sys"));
	CU_ASSERT_PTR_NOT_NULL(strstr(v2v_win_file(&fs, "viostor.sys")->host, "/drivers/by-os/"));
	CU_ASSERT_PTR_NULL(v2v_win_file(&fs, "netkvm.pdb"));
	v2v_win_files_free(&fs);
	CU_ASSERT_NOT_EQUAL(v2v_win_find_files("/nonexistent-virtio-win", "2k19", "amd64", &fs), 0);
	v2v_win_files_free(&fs);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

static void test_strings(void)
{
	size_t len;
	char *d = (char *)utf8_to_utf16le("SCSI miniport", &len), *s, buf[128];

	CU_ASSERT_EQUAL(len, 28);
	CU_ASSERT_EQUAL(memcmp(d, "S\0C\0S\0I\0 \0", 10), 0);
	CU_ASSERT_EQUAL(d[26], 0);
	CU_ASSERT_EQUAL(d[27], 0);
	s = reg_utf8(d, len);
	CU_ASSERT_STRING_EQUAL(s, "SCSI miniport");
	free(s);
	reg_format(REG_T_EXPAND_SZ, d, len, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "expand:\"SCSI miniport\"");
	free(d);
	d = (char *)utf8_to_utf16le("\xc3\xa9t\xc3\xa9", &len);          /* UTF-8 "été" */
	CU_ASSERT_EQUAL(len, 8);
	CU_ASSERT_EQUAL((unsigned char)d[0], 0xe9);
	s = reg_utf8(d, len);
	CU_ASSERT_STRING_EQUAL(s, "\xc3\xa9t\xc3\xa9");
	free(s);
	free(d);
	reg_format(REG_T_DWORD, "\x01\x00\x00\x00", 4, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "dword:00000001");
	reg_format(REG_T_BINARY, "\x01\xff\x00\x00", 4, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "hex:01,ff,00,00");
	reg_format(REG_T_MULTI_SZ, "a\0\0\0b\0\0\0\0\0", 10, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "multi:\"a|b\"");
	reg_format(REG_T_BINARY, "\x01\x02\x03\x04\x05\x06\x07\x08", 8, buf, 12);   /* cut short */
	CU_ASSERT_EQUAL(strlen(buf), 11);
	CU_ASSERT_STRING_EQUAL(buf + 8, "...");
}

static void test_vmware_uninstall(void)
{
	struct win_uninstall u = { .name = "{4F2D3B7A-9C61-4E8B-A5D2-7B1E0C93F6A4}",
				   .display = "VMware Tools",
				   .command = "MsiExec.exe /I{4F2D3B7A-9C61-4E8B-A5D2-7B1E0C93F6A4}" };
	char *c = v2v_win_vmware_uninstall_command(&u);

	CU_ASSERT_STRING_EQUAL(c, "msiexec.exe /x {4F2D3B7A-9C61-4E8B-A5D2-7B1E0C93F6A4} /qn "
			       "/norestart REBOOT=ReallySuppress");
	free(c);
	/* not named by its product code: /I (which would repair) becomes /x */
	u.name = "VMware Tools";
	c = v2v_win_vmware_uninstall_command(&u);
	CU_ASSERT_STRING_EQUAL(c, "MsiExec.exe /x{4F2D3B7A-9C61-4E8B-A5D2-7B1E0C93F6A4} /qn "
			       "/norestart REBOOT=ReallySuppress");
	free(c);
	u.command = NULL;
	CU_ASSERT_PTR_NULL(v2v_win_vmware_uninstall_command(&u));
}

static const struct unit_test tests[] = {
	{ "virtio-win folder for a Windows version", test_os_dir },
	{ "virtio-win files for a version and arch", test_path_matches },
	{ "virtio-win tree walk", test_find_files },
	{ "registry strings and notation", test_strings },
	{ "VMware Tools uninstall command", test_vmware_uninstall },
};

UNIT_MAIN("v2v_windows", tests, NULL)
