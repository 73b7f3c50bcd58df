/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_launcher.c - CUnit tests for the launcher's pure parts (launcher/launch.h):
 * option-name parsing, the cache/aio rule (aio=native only with O_DIRECT), shell
 * quoting of the printed command line, the qemu argv for each bus, and the libvirt
 * XML's escaping.  The booting parts are tested by tests/launcher/run.sh.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "launcher/launch.h"
#include "tests/unit/unit.h"

static void test_parse_names(void)
{
	enum launch_bus bus;
	enum launch_net net;
	enum launch_accel accel;
	enum launch_firmware fw;
	const char *name;
	int vnc;

	CU_ASSERT_EQUAL(launch_parse_bus("virtio-scsi", &bus), 0);
	CU_ASSERT_EQUAL(bus, LAUNCH_BUS_VIRTIO_SCSI);
	CU_ASSERT_EQUAL(launch_parse_bus("scsi", &bus), -EINVAL);
	CU_ASSERT_EQUAL(launch_parse_net("bridge=br0", &net, &name), 0);
	CU_ASSERT_EQUAL(net, LAUNCH_NET_BRIDGE);
	CU_ASSERT_STRING_EQUAL(name, "br0");
	CU_ASSERT_EQUAL(launch_parse_net("tap=", &net, &name), -EINVAL);
	CU_ASSERT_EQUAL(launch_parse_net("tap=a,b", &net, &name), -EINVAL);
	CU_ASSERT_EQUAL(launch_parse_net("tap=0123456789abcdef", &net, &name), -EINVAL);
	CU_ASSERT_EQUAL(launch_parse_accel("kvm", &accel), 0);
	CU_ASSERT_EQUAL(accel, LAUNCH_ACCEL_KVM);
	CU_ASSERT_EQUAL(launch_parse_accel("hvf", &accel), -EINVAL);
	CU_ASSERT_EQUAL(launch_parse_firmware("uefi", &fw), 0);
	CU_ASSERT_EQUAL(fw, LAUNCH_FW_UEFI);
	CU_ASSERT_EQUAL(launch_parse_console("vnc=:7", &vnc), 0);
	CU_ASSERT_EQUAL(vnc, 7);
	CU_ASSERT_EQUAL(launch_parse_console("serial", &vnc), 0);
	CU_ASSERT_EQUAL(vnc, -1);
	CU_ASSERT_EQUAL(launch_parse_console("vnc=:", &vnc), -EINVAL);
	CU_ASSERT_EQUAL(launch_parse_console("vnc=:-1", &vnc), -EINVAL);
	CU_ASSERT_EQUAL(launch_parse_console("vnc=:99999", &vnc), -EINVAL);
	err_clear();
}

static void test_cache_aio(void)
{
	CU_ASSERT_EQUAL(launch_check_cache_aio("none", "native"), 0);
	CU_ASSERT_EQUAL(launch_check_cache_aio("directsync", "native"), 0);
	CU_ASSERT_EQUAL(launch_check_cache_aio("writeback", "native"), -EINVAL);
	CU_ASSERT_EQUAL(launch_check_cache_aio("writeback", "io_uring"), 0);
	CU_ASSERT_EQUAL(launch_check_cache_aio("unsafe", NULL), 0);
	CU_ASSERT_EQUAL(launch_check_cache_aio("fast", NULL), -EINVAL);
	CU_ASSERT_EQUAL(launch_check_cache_aio("none", "posix"), -EINVAL);
	err_clear();
}

static void test_urls(void)
{
	CU_ASSERT_TRUE(launch_is_url("nfs://h/e/d.img"));
	CU_ASSERT_TRUE(launch_is_url("iscsi://h/iqn.x/0"));
	CU_ASSERT_TRUE(launch_is_url("rbd:pool/img"));
	CU_ASSERT_FALSE(launch_is_url("/tmp/nfs://x"));
	CU_ASSERT_FALSE(launch_is_url("disk.qcow2"));
}

static void test_shell_join(void)
{
	struct strv s = { 0 };
	char *line;

	strv_add(&s, "qemu");
	strv_add(&s, "-drive");
	strv_add(&s, "file=a b,,c");
	strv_add(&s, "it's");
	strv_add(&s, "%s", "");
	line = strv_join_shell(&s);
	CU_ASSERT_STRING_EQUAL(line, "qemu -drive 'file=a b,,c' 'it'\\''s' ''");
	free(line);
	CU_ASSERT_EQUAL(s.n, 5);
	CU_ASSERT_PTR_NULL(s.v[5]);
	strv_free(&s);
}

static struct launch_config base_cfg(void)
{
	struct launch_config c = {
		.qemu = "qemu-system-x86_64", .name = "g", .image = "/i/d,x.qcow2",
		.format = "qcow2", .memory_mib = 256, .cpus = 2, .cache = "none",
		.aio = "native", .vnc_display = -1, .accel = LAUNCH_ACCEL_TCG,
	};

	return c;
}

static char *argv_line(const struct launch_config *c)
{
	struct strv s = { 0 };
	char *line;

	if (launch_build_argv(c, &s))
		return NULL;
	line = strv_join_shell(&s);
	strv_free(&s);
	return line;
}

static void test_argv(void)
{
	struct launch_config c = base_cfg();
	char *l;

	l = argv_line(&c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_PTR_NOT_NULL(strstr(l, "file=/i/d,,x.qcow2,format=qcow2,"));
	CU_ASSERT_PTR_NOT_NULL(strstr(l, "virtio-blk-pci,drive=disk0,bootindex=1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(l, "-accel tcg -m 256 -smp 2 -nodefaults"));
	CU_ASSERT_PTR_NULL(strstr(l, "-cpu"));
	free(l);

	c.accel = LAUNCH_ACCEL_KVM;
	c.bus = LAUNCH_BUS_IDE;
	c.net = LAUNCH_NET_NONE;
	l = argv_line(&c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_PTR_NOT_NULL(strstr(l, "-accel kvm -cpu host"));
	CU_ASSERT_PTR_NOT_NULL(strstr(l, "ide-hd,drive=disk0,bus=ide.0,unit=0,bootindex=1"));
	CU_ASSERT_PTR_NULL(strstr(l, "-netdev"));
	free(l);

	/* an unresolved accelerator never reaches qemu */
	c.accel = LAUNCH_ACCEL_AUTO;
	CU_ASSERT_PTR_NULL(argv_line(&c));
	err_clear();
}

static void test_xml_escape(void)
{
	struct launch_config c = base_cfg();
	char path[] = "/tmp/imgtool-unit-xml.XXXXXX";
	char img[] = "/tmp/imgtool-unit-img&<x>.XXXXXX";
	char buf[8192];
	size_t n;
	FILE *f;
	int fd;

	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	fd = mkstemps(img, 0);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	c.image = img;
	c.name = "a'b<c>";
	CU_ASSERT_EQUAL(launch_write_libvirt_xml(&c, path), 0);
	f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "<name>a&apos;b&lt;c&gt;</name>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "imgtool-unit-img&amp;&lt;x&gt;."));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "type='qcow2' cache='none' io='native'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "<target dev='vda' bus='virtio'/>"));
	unlink(path);
	unlink(img);
}

static const struct unit_test tests[] = {
	{ "parse option names", test_parse_names },
	{ "cache/aio rule", test_cache_aio },
	{ "image URLs", test_urls },
	{ "shell quoting", test_shell_join },
	{ "qemu argv", test_argv },
	{ "libvirt xml escaping", test_xml_escape },
};

UNIT_MAIN("launcher", tests, NULL)
