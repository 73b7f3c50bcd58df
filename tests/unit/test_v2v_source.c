/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_v2v_source.c - CUnit tests for the v2v input readers: the .vmx reader
 * (v2v_vmx.c), the OVF units and descriptor parser (v2v_ovf.c), the tar lister
 * (v2v_tar.c), the OVA/OVF-folder reader with its manifest check (v2v_ova.c), and
 * opening a disk in place inside an OVA (backends/slice, image_open_backend).
 *
 * Every input is written by the test into a scratch folder: good ones (VMware's
 * quoting, CRLF, mixed-case keys, ustar/pax/GNU tars) and bad ones (missing or
 * binary files, absurd numbers, over-long lines, tampered manifests, missing and
 * truncated members, gzip'd archives).  A bad input must give one error message
 * naming the file, and never a crash (the unit suite also runs under ASan/UBSan).
 * OVAs are packed with tar(1) and their disks written by qemu-img, as a user's
 * tools would.
 *
 * With IMGTOOL_V2V_FIXTURES="OVA SHA1-OVA VMX OVF-FOLDER" (fixtures/make-ova.sh's
 * output; tests/v2v/test_inputs.sh sets it) the real fixtures are read too and
 * their disks compared with the guest disk.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/slice/slice.h"
#include "common/err.h"
#include "common/util.h"
#include "v2v/input/ovf.h"
#include "v2v/input/input.h"
#include "v2v/input/tar.h"
#include "formats/format.h"
#include "tests/unit/unit.h"

static void write_file(const char *name, const void *data, size_t len)
{
	FILE *f = fopen(path_of(name), "wb");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void write_text(const char *name, const char *text)
{
	write_file(name, text, strlen(text));
}

/* Run a shell command in the scratch folder; true on success. */
/* The call failed with one message line naming `what`. */
static void expect_error(int ret, const char *what, const char *also)
{
	CU_ASSERT(ret < 0);
	CU_ASSERT_TRUE(err_is_set());
	CU_ASSERT_PTR_NOT_NULL(strstr(err_get(), what));
	if (also)
		CU_ASSERT_PTR_NOT_NULL(strstr(err_get(), also));
	CU_ASSERT_PTR_NULL(strchr(err_get(), '\n'));
	if (ret >= 0 || !strstr(err_get(), what) || (also && !strstr(err_get(), also)))
		fprintf(stderr, "\n  unexpected: ret %d, message \"%s\" (wanted \"%s\" / \"%s\")\n",
			ret, err_get(), what, also ? also : "");
}

/* ---- .vmx ----------------------------------------------------------------- */

static const char good_vmx[] =
	".encoding = \"UTF-8\"\r\n"
	"# a comment line\r\n"
	"config.version = \"8\"\r\n"
	"DisplayName = \"web |22one|22/x\"   # trailing comment\r\n"
	"memSize = \"4096\"\r\n"
	"numvcpus = \"4\"\r\n"
	"firmware = \"efi\"\r\n"
	"scsi0.present = \"TRUE\"\r\n"
	"scsi0.virtualDev = \"pvscsi\"\r\n"
	"scsi0:1.present = \"TRUE\"\r\n"
	"scsi0:1.fileName = \"second.vmdk\"\r\n"
	"SCSI0:0.Present = \"true\"\r\n"
	"scsi0:0.fileName = \"first.vmdk\"\r\n"
	"scsi0:0.deviceType = \"scsi-hardDisk\"\r\n"
	"scsi1.present = \"FALSE\"\r\n"
	"scsi1:0.present = \"TRUE\"\r\n"
	"scsi1:0.fileName = \"gone-controller.vmdk\"\r\n"
	"sata0.present = \"TRUE\"\r\n"
	"sata0:2.present = \"TRUE\"\r\n"
	"sata0:2.fileName = \"sata.vmdk\"\r\n"
	"sata0:3.present = \"TRUE\"\r\n"
	"sata0:3.deviceType = \"cdrom-image\"\r\n"
	"sata0:3.fileName = \"/nonexistent/debian.iso\"\r\n"
	"ide0:0.present = \"TRUE\"\r\n"
	"ide0:0.fileName = \"ide.vmdk\"\r\n"
	"ide1:0.present = \"TRUE\"\r\n"
	"ide1:0.fileName = \"setup.iso\"\r\n"
	"floppy0.present = \"TRUE\"\r\n"
	"nvme0:0.present = \"TRUE\"\r\n"
	"nvme0:0.fileName = \"nvme.vmdk\"\r\n"
	"nvme0:1.present = \"FALSE\"\r\n"
	"nvme0:1.fileName = \"absent.vmdk\"\r\n"
	"ethernet1.present = \"TRUE\"\r\n"
	"ethernet1.virtualDev = \"e1000e\"\r\n"
	"ethernet1.addressType = \"generated\"\r\n"
	"ethernet1.generatedAddress = \"00:0C:29:AA:BB:CC\"\r\n"
	"ethernet0.present = \"TRUE\"\r\n"
	"ethernet0.virtualDev = \"vmxnet3\"\r\n"
	"ethernet0.addressType = \"static\"\r\n"
	"ethernet0.address = \"00-50-56-01-02-03\"\r\n"
	"ethernet0.networkName = \"VM Network\"\r\n"
	"ethernet2.present = \"FALSE\"\r\n";

static void make_disk_files(void)
{
	const char *names[] = { "first.vmdk", "second.vmdk", "sata.vmdk", "ide.vmdk", "nvme.vmdk" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		write_text(names[i], "x");
}

static void test_vmx_good(void)
{
	struct v2v_source s;
	char want[600];

	make_disk_files();
	write_text("good.vmx", good_vmx);
	CU_ASSERT_EQUAL_FATAL(v2v_source_from_vmx(path_of("good.vmx"), &s), 0);
	CU_ASSERT_STRING_EQUAL(s.name, "web \"one\"_x");
	CU_ASSERT_EQUAL(s.memory_mib, 4096);
	CU_ASSERT_EQUAL(s.vcpus, 4);
	CU_ASSERT_EQUAL(s.firmware, V2V_FW_UEFI);
	CU_ASSERT_EQUAL_FATAL(s.nb_disks, 5);
	const char *order[] = { "first", "second", "sata", "nvme", "ide" };
	const char *bus[] = { "scsi", "scsi", "sata", "nvme", "ide" };
	for (int i = 0; i < 5; i++) {
		snprintf(want, sizeof(want), "%s/%s.vmdk", unit_dir, order[i]);
		CU_ASSERT_STRING_EQUAL(s.disks[i].path, want);
		CU_ASSERT_STRING_EQUAL(s.disks[i].controller, bus[i]);
		CU_ASSERT_EQUAL(s.disks[i].offset, 0);
		CU_ASSERT_EQUAL(s.disks[i].length, 0);
	}
	CU_ASSERT_STRING_EQUAL(s.disks[0].controller_model, "pvscsi");
	CU_ASSERT_PTR_NULL(s.disks[2].controller_model);
	CU_ASSERT_EQUAL_FATAL(s.nb_nics, 2);
	CU_ASSERT_STRING_EQUAL(s.nics[0].model, "vmxnet3");
	CU_ASSERT_STRING_EQUAL(s.nics[0].mac, "00:50:56:01:02:03");
	CU_ASSERT_STRING_EQUAL(s.nics[0].network, "VM Network");
	CU_ASSERT_STRING_EQUAL(s.nics[1].model, "e1000e");
	CU_ASSERT_STRING_EQUAL(s.nics[1].mac, "00:0c:29:aa:bb:cc");
	CU_ASSERT_PTR_NULL(s.nics[1].network);
	v2v_source_free(&s);
}

static void test_vmx_defaults(void)
{
	struct v2v_source s;

	write_text("only.vmdk", "x");
	write_text("min.vmx", "scsi0:0.present = \"TRUE\"\nscsi0:0.fileName = \"only.vmdk\"\n");
	CU_ASSERT_EQUAL_FATAL(v2v_source_from_vmx(path_of("min.vmx"), &s), 0);
	CU_ASSERT_STRING_EQUAL(s.name, "min");
	CU_ASSERT_EQUAL(s.memory_mib, 0);
	CU_ASSERT_EQUAL(s.vcpus, 1);
	CU_ASSERT_EQUAL(s.firmware, V2V_FW_BIOS);
	CU_ASSERT_EQUAL(s.nb_disks, 1);
	CU_ASSERT_EQUAL(s.nb_nics, 0);
	v2v_source_free(&s);
}

static void expect_bad_vmx(const char *text, size_t len, const char *also)
{
	struct v2v_source s;

	write_file("bad.vmx", text, len == SIZE_MAX ? strlen(text) : len);
	err_clear();
	expect_error(v2v_source_from_vmx(path_of("bad.vmx"), &s), path_of("bad.vmx"), also);
	CU_ASSERT_EQUAL(s.nb_disks, 0);
	CU_ASSERT_PTR_NULL(s.name);
}

#define DISK0 "scsi0:0.present = \"TRUE\"\nscsi0:0.fileName = \"only.vmdk\"\n"

static void test_vmx_bad(void)
{
	struct v2v_source s;
	static const char garbage[] = "scsi0:0.present = \"TRUE\"\n\x7f" "ELF\x02\x01\x01\0\0\0";
	char *big;

	write_text("only.vmdk", "x");
	err_clear();
	expect_error(v2v_source_from_vmx(path_of("missing.vmx"), &s), path_of("missing.vmx"), NULL);
	expect_bad_vmx("", 0, "no hard disk");
	expect_bad_vmx("displayName = \"x\"\nscsi0:0.present = \"TRUE\"\nscsi0:0.fileName = \"nope.vmdk\"\n",
		       SIZE_MAX, "nope.vmdk");
	expect_bad_vmx("scsi0:0.present = \"TRUE\"\n", SIZE_MAX, "fileName");
	expect_bad_vmx(DISK0 "memsize = \"99999999999999999999999\"\n", SIZE_MAX, "memsize");
	expect_bad_vmx(DISK0 "memsize = \"-4\"\n", SIZE_MAX, "memsize");
	expect_bad_vmx(DISK0 "numvcpus = \"0\"\n", SIZE_MAX, "numvcpus");
	expect_bad_vmx(DISK0 "numvcpus = \"100000\"\n", SIZE_MAX, "numvcpus");
	expect_bad_vmx(DISK0 "ethernet0.present = \"TRUE\"\nethernet0.address = \"00:50:56\"\n",
		       SIZE_MAX, "MAC");
	expect_bad_vmx(DISK0 "ethernet7777.present = \"TRUE\"\n", SIZE_MAX, "ethernet7777");
	expect_bad_vmx("scsi9:0.present = \"TRUE\"\nscsi9:0.fileName = \"only.vmdk\"\n", SIZE_MAX,
		       "scsi9:0");
	expect_bad_vmx("ide0:5.present = \"TRUE\"\nide0:5.fileName = \"only.vmdk\"\n", SIZE_MAX,
		       "ide0:5");
	expect_bad_vmx(DISK0 "displayName = \"unterminated\n", SIZE_MAX, "line 3");
	expect_bad_vmx(DISK0 "just some words\n", SIZE_MAX, "line 3");
	expect_bad_vmx(DISK0 "bad key! = \"1\"\n", SIZE_MAX, "line 3");
	expect_bad_vmx(garbage, sizeof(garbage) - 1, "binary");
	big = malloc(40000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, 'a', 39999);
	big[39999] = '\0';
	memcpy(big, "annotation = \"", 14);
	expect_bad_vmx(big, 39999, "longer");
	free(big);
}

#undef DISK0

/* ---- OVF units and descriptor --------------------------------------------- */

static void test_ovf_units(void)
{
	uint64_t m;

	CU_ASSERT_EQUAL(ovf_parse_units(NULL, &m), 0);
	CU_ASSERT_EQUAL(m, 1);
	CU_ASSERT_EQUAL(ovf_parse_units("byte * 2^30", &m), 0);
	CU_ASSERT_EQUAL(m, 1ull << 30);
	CU_ASSERT_EQUAL(ovf_parse_units("byte*2^20", &m), 0);
	CU_ASSERT_EQUAL(m, 1ull << 20);
	CU_ASSERT_EQUAL(ovf_parse_units("byte * 1024", &m), 0);
	CU_ASSERT_EQUAL(m, 1024);
	CU_ASSERT_EQUAL(ovf_parse_units("byte * 10^3 * 2", &m), 0);
	CU_ASSERT_EQUAL(m, 2000);
	CU_ASSERT_EQUAL(ovf_parse_units("MegaBytes", &m), 0);
	CU_ASSERT_EQUAL(m, 1ull << 20);
	CU_ASSERT_EQUAL(ovf_parse_units("bytes", &m), 0);
	CU_ASSERT_EQUAL(m, 1);
	CU_ASSERT_EQUAL(ovf_parse_units("byte * 2^99", &m), -EINVAL);
	CU_ASSERT_EQUAL(ovf_parse_units("byte * 2^", &m), -EINVAL);
	CU_ASSERT_EQUAL(ovf_parse_units("byte / 2", &m), -EINVAL);
	CU_ASSERT_EQUAL(ovf_parse_units("hertz * 10^6", &m), -EINVAL);
	CU_ASSERT_EQUAL(ovf_parse_units("byte * 0", &m), -EINVAL);
}

#ifdef HAVE_OVA
#define OVF_HEAD \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
	"<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" " \
	"xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\" " \
	"xmlns:rasd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData\" " \
	"xmlns:vmw=\"http://www.vmware.com/schema/ovf\">\n"

#define ITEM(rt, extra) "<Item><rasd:ResourceType>" #rt "</rasd:ResourceType>" extra "</Item>\n"

static const char good_ovf[] =
	OVF_HEAD
	"<References>\n"
	" <File ovf:href=\"a.vmdk\" ovf:id=\"f1\" ovf:size=\"1\"/>\n"
	" <File ovf:href=\"b.vmdk\" ovf:id=\"f2\"/>\n"
	" <File ovf:href=\"c.img\" ovf:id=\"f3\"/>\n"
	"</References>\n"
	"<DiskSection><Info>d</Info>\n"
	" <Disk ovf:capacity=\"2\" ovf:capacityAllocationUnits=\"byte * 2^30\" ovf:diskId=\"d1\" ovf:fileRef=\"f1\" "
	"ovf:format=\"http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized\"/>\n"
	" <Disk ovf:capacity=\"1048576\" ovf:diskId=\"d2\" ovf:fileRef=\"f2\"/>\n"
	" <Disk ovf:capacity=\"${size}\" ovf:diskId=\"d3\" ovf:fileRef=\"f3\"/>\n"
	"</DiskSection>\n"
	"<VirtualSystem ovf:id=\"vm-id\"><Info>x</Info><Name> web02 </Name>\n"
	"<VirtualHardwareSection><Info>hw</Info>\n"
	ITEM(3, "<rasd:VirtualQuantity>3</rasd:VirtualQuantity>")
	ITEM(4, "<rasd:AllocationUnits>byte * 2^30</rasd:AllocationUnits><rasd:VirtualQuantity>2</rasd:VirtualQuantity>")
	ITEM(5, "<rasd:InstanceID>10</rasd:InstanceID>")
	ITEM(17, "<rasd:InstanceID>11</rasd:InstanceID><rasd:Parent>10</rasd:Parent>"
		 "<rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:HostResource>ovf:/disk/d2</rasd:HostResource>")
	ITEM(6, "<rasd:InstanceID>20</rasd:InstanceID><rasd:ResourceSubType>VirtualSCSI</rasd:ResourceSubType>")
	ITEM(17, "<rasd:InstanceID>21</rasd:InstanceID><rasd:Parent>20</rasd:Parent>"
		 "<rasd:AddressOnParent>1</rasd:AddressOnParent><rasd:HostResource>ovf:/disk/d1</rasd:HostResource>")
	ITEM(15, "<rasd:InstanceID>22</rasd:InstanceID><rasd:Parent>10</rasd:Parent>")
	ITEM(10, "<rasd:InstanceID>30</rasd:InstanceID><rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType>"
		 "<rasd:Connection>VM Network</rasd:Connection><rasd:Address>00:50:56:AA:00:01</rasd:Address>")
	ITEM(10, "<rasd:InstanceID>31</rasd:InstanceID><rasd:ResourceSubType>E1000</rasd:ResourceSubType>")
	"<vmw:Config ovf:required=\"false\" vmw:key=\"firmware\" vmw:value=\"efi\"/>\n"
	"</VirtualHardwareSection></VirtualSystem></Envelope>\n";

static void test_ovf_good(void)
{
	struct v2v_source s;

	CU_ASSERT_EQUAL_FATAL(ovf_parse("t.ovf", good_ovf, sizeof(good_ovf) - 1, &s), 0);
	CU_ASSERT_STRING_EQUAL(s.name, "web02");
	CU_ASSERT_EQUAL(s.vcpus, 3);
	CU_ASSERT_EQUAL(s.memory_mib, 2048);
	CU_ASSERT_EQUAL(s.firmware, V2V_FW_UEFI);
	CU_ASSERT_EQUAL_FATAL(s.nb_disks, 3);
	/* the scsi disk first, then the ide one, then the one no drive names */
	CU_ASSERT_STRING_EQUAL(s.disks[0].path, "a.vmdk");
	CU_ASSERT_STRING_EQUAL(s.disks[0].controller, "scsi");
	CU_ASSERT_STRING_EQUAL(s.disks[0].controller_model, "pvscsi");
	CU_ASSERT_STRING_EQUAL(s.disks[0].format, "vmdk");
	CU_ASSERT_EQUAL(s.disks[0].capacity, 2ull << 30);
	CU_ASSERT_STRING_EQUAL(s.disks[1].path, "b.vmdk");
	CU_ASSERT_STRING_EQUAL(s.disks[1].controller, "ide");
	CU_ASSERT_PTR_NULL(s.disks[1].format);
	CU_ASSERT_EQUAL(s.disks[1].capacity, 1048576);
	CU_ASSERT_STRING_EQUAL(s.disks[2].path, "c.img");
	CU_ASSERT_PTR_NULL(s.disks[2].controller);
	CU_ASSERT_EQUAL(s.disks[2].capacity, 0);
	CU_ASSERT_EQUAL_FATAL(s.nb_nics, 2);
	CU_ASSERT_STRING_EQUAL(s.nics[0].model, "vmxnet3");
	CU_ASSERT_STRING_EQUAL(s.nics[0].mac, "00:50:56:aa:00:01");
	CU_ASSERT_STRING_EQUAL(s.nics[0].network, "VM Network");
	CU_ASSERT_STRING_EQUAL(s.nics[1].model, "e1000");
	CU_ASSERT_PTR_NULL(s.nics[1].mac);
	v2v_source_free(&s);
}

static void expect_bad_ovf(const char *text, const char *also)
{
	struct v2v_source s;

	err_clear();
	expect_error(ovf_parse("bad.ovf", text, strlen(text), &s), "bad.ovf", also);
	CU_ASSERT_EQUAL(s.nb_disks, 0);
}

#define VS(hw) "<VirtualSystem ovf:id=\"v\"><VirtualHardwareSection>" hw "</VirtualHardwareSection></VirtualSystem></Envelope>"
#define ONE_DISK(attrs) \
	"<References><File ovf:href=\"a.vmdk\" ovf:id=\"f1\" " attrs "/></References>" \
	"<DiskSection><Disk ovf:diskId=\"d1\" ovf:fileRef=\"f1\" ovf:capacity=\"1\"/></DiskSection>"

static void test_ovf_bad(void)
{
	expect_bad_ovf("", NULL);
	expect_bad_ovf("\x01\x02garbage<<<", "not a valid OVF");
	expect_bad_ovf("<Envelope><unclosed></Envelope>", "not a valid OVF");
	expect_bad_ovf("<Other/>", "Envelope");
	expect_bad_ovf(OVF_HEAD "</Envelope>", "VirtualSystem");
	expect_bad_ovf(OVF_HEAD VS(""), "no disk");
	expect_bad_ovf("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
		       "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>"
		       "<Envelope>&lol2;</Envelope>", "DOCTYPE");
	expect_bad_ovf(OVF_HEAD ONE_DISK("ovf:compression=\"gzip\"") VS(""), "compressed");
	expect_bad_ovf(OVF_HEAD ONE_DISK("ovf:chunkSize=\"1000\"") VS(""), "chunk");
	expect_bad_ovf(OVF_HEAD "<References/><DiskSection><Disk ovf:diskId=\"d1\" ovf:fileRef=\"zz\"/></DiskSection>"
		       VS(""), "d1");
	expect_bad_ovf(OVF_HEAD "<References><File ovf:href=\"a\" ovf:id=\"f1\"/></References><DiskSection>"
		       "<Disk ovf:diskId=\"d1\" ovf:fileRef=\"f1\" ovf:capacity=\"99999999999\" "
		       "ovf:capacityAllocationUnits=\"byte * 2^40\"/></DiskSection>" VS(""), "absurd");
	expect_bad_ovf(OVF_HEAD "<References><File ovf:href=\"a\" ovf:id=\"f1\"/></References><DiskSection>"
		       "<Disk ovf:diskId=\"d1\" ovf:fileRef=\"f1\" ovf:capacity=\"1\" "
		       "ovf:capacityAllocationUnits=\"furlongs\"/></DiskSection>" VS(""), "furlongs");
	expect_bad_ovf(OVF_HEAD ONE_DISK("") VS(ITEM(3, "<rasd:VirtualQuantity>0</rasd:VirtualQuantity>")),
		       "vCPUs");
	expect_bad_ovf(OVF_HEAD ONE_DISK("") VS(ITEM(4, "<rasd:VirtualQuantity>99999999999999999</rasd:VirtualQuantity>")),
		       "memory");
	expect_bad_ovf(OVF_HEAD ONE_DISK("") VS(ITEM(4, "<rasd:VirtualQuantity>lots</rasd:VirtualQuantity>")),
		       "memory");
	expect_bad_ovf(OVF_HEAD ONE_DISK("") VS(ITEM(17, "<rasd:HostResource>ovf:/disk/d9</rasd:HostResource>")),
		       "d9");
}

/* ---- OVAs ----------------------------------------------------------------- */

#define DISK_MB 4

/* pkg/: a streamOptimized vmdk (written by qemu-img from a pattern), its OVF and
 * a SHA256 manifest; the OVA is packed by the caller in the format it tests. */
static void make_package(const char *algo)
{
	static const char ovf_fmt[] =
		OVF_HEAD
		"<References><File ovf:href=\"%s\" ovf:id=\"file1\"/></References>\n"
		"<DiskSection><Disk ovf:capacity=\"%d\" ovf:capacityAllocationUnits=\"byte * 2^20\" "
		"ovf:diskId=\"vmdisk1\" ovf:fileRef=\"file1\" "
		"ovf:format=\"http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized\"/></DiskSection>\n"
		"<VirtualSystem ovf:id=\"pkg\"><Name>pkg-vm</Name><VirtualHardwareSection>\n"
		ITEM(6, "<rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType>")
		ITEM(17, "<rasd:InstanceID>4</rasd:InstanceID><rasd:Parent>3</rasd:Parent>"
			 "<rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>")
		"</VirtualHardwareSection></VirtualSystem></Envelope>\n";
	/* a disk name longer than ustar's 100 bytes, for the pax and GNU variants */
	static const char disk[] =
		"pkg-disk1-with-a-name-longer-than-one-hundred-bytes-so-that-pax-and-gnu-tar-must-use-"
		"their-long-name-headers.vmdk";
	char ovf[4096], *raw;

	raw = malloc(DISK_MB << 20);
	CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
	memset(raw, 0, DISK_MB << 20);
	for (int i = 0; i < DISK_MB << 20; i += 4096)
		if ((i / 4096) % 3)
			memset(raw + i, 'a' + (i / 4096) % 26, 4096);
	write_file("pattern.raw", raw, DISK_MB << 20);
	free(raw);
	CU_ASSERT_FATAL(!run("rm -rf pkg && mkdir pkg && qemu-img convert -f raw -O vmdk -o subformat=streamOptimized pattern.raw 'pkg/%s'",
			   disk));
	snprintf(ovf, sizeof(ovf), ovf_fmt, disk, DISK_MB);
	write_text("pkg/pkg.ovf", ovf);
	CU_ASSERT_FATAL(!run("cd pkg && for f in pkg.ovf *.vmdk; do echo \"%s($f)= $(%ssum \"$f\" | cut -d' ' -f1)\"; done > pkg.mf",
			   algo, !strcmp(algo, "SHA1") ? "sha1" : "sha256"));
}

static bool pack(const char *ova, const char *format)
{
	return !run("tar --format=%s -cf '%s' -C pkg pkg.ovf pkg.mf $(cd pkg && ls *.vmdk)", format, ova);
}

/* The OVA's disk, opened in place, reads as the pattern. */
static void check_disk_reads_back(const struct v2v_disk *d)
{
	struct image *img, *ref;
	char *a, *b;

	CU_ASSERT_EQUAL_FATAL(v2v_disk_open(d, &img), 0);
	CU_ASSERT_EQUAL_FATAL(image_open(path_of("pattern.raw"), "raw", 0, &ref), 0);
	CU_ASSERT_EQUAL(img->size, (uint64_t)DISK_MB << 20);
	a = malloc(1 << 20);
	b = malloc(1 << 20);
	for (uint64_t off = 0; a && b && off < ((uint64_t)DISK_MB << 20); off += 1 << 20) {
		CU_ASSERT_EQUAL(image_read(img, a, off, 1 << 20), 0);
		CU_ASSERT_EQUAL(image_read(ref, b, off, 1 << 20), 0);
		CU_ASSERT_EQUAL(memcmp(a, b, 1 << 20), 0);
	}
	/* the disk is a source: never written */
	CU_ASSERT(image_write(img, a, 0, 512) < 0);
	free(a);
	free(b);
	image_close(ref);
	image_close(img);
}

static void test_ova_formats(void)
{
	const char *formats[] = { "ustar", "pax", "gnu" };
	struct v2v_source s;

	make_package("SHA256");
	for (size_t i = 0; i < ARRAY_SIZE(formats); i++) {
		char name[64];

		snprintf(name, sizeof(name), "pkg-%s.ova", formats[i]);
		if (!strcmp(formats[i], "ustar")) {
			/* ustar cannot hold the long name: pack a short-named copy */
			CU_ASSERT_FATAL(!run("rm -rf u && cp -r pkg u && cd u && long=$(ls *.vmdk) && "
					   "mv \"$long\" d.vmdk && sed -i \"s/$long/d.vmdk/\" pkg.ovf && "
					   "for f in pkg.ovf d.vmdk; do echo \"SHA256($f)= $(sha256sum $f | cut -d' ' -f1)\"; done > pkg.mf && "
					   "tar --format=ustar -cf '../%s' pkg.ovf pkg.mf d.vmdk", name));
		} else {
			CU_ASSERT_FATAL(pack(name, formats[i]));
		}
		err_clear();
		CU_ASSERT_EQUAL_FATAL(v2v_source_from_ova(path_of(name), &s), 0);
		CU_ASSERT_STRING_EQUAL(s.name, "pkg-vm");
		CU_ASSERT_EQUAL_FATAL(s.nb_disks, 1);
		CU_ASSERT_STRING_EQUAL(s.disks[0].path, path_of(name));
		CU_ASSERT(s.disks[0].offset > 0 && s.disks[0].offset % 512 == 0);
		CU_ASSERT(s.disks[0].length > 0);
		CU_ASSERT_STRING_EQUAL(s.disks[0].controller, "scsi");
		CU_ASSERT_STRING_EQUAL(s.disks[0].controller_model, "lsilogic");
		CU_ASSERT_EQUAL(s.disks[0].capacity, (uint64_t)DISK_MB << 20);
		check_disk_reads_back(&s.disks[0]);
		v2v_source_free(&s);
	}
}

static void test_ova_folder_and_sha1(void)
{
	struct v2v_source s;

	make_package("SHA1");
	CU_ASSERT_FATAL(pack("sha1.ova", "pax"));
	CU_ASSERT_EQUAL_FATAL(v2v_source_from_ova(path_of("sha1.ova"), &s), 0);
	v2v_source_free(&s);
	/* the folder, and its .ovf named directly */
	CU_ASSERT_EQUAL_FATAL(v2v_source_from_ova(path_of("pkg"), &s), 0);
	CU_ASSERT_EQUAL_FATAL(s.nb_disks, 1);
	CU_ASSERT_EQUAL(s.disks[0].offset, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(s.disks[0].path, "/pkg/pkg-disk1"));
	check_disk_reads_back(&s.disks[0]);
	v2v_source_free(&s);
	CU_ASSERT_EQUAL(v2v_source_from_ova(path_of("pkg/pkg.ovf"), &s), 0);
	v2v_source_free(&s);
}

static void expect_bad_ova(const char *name, const char *also)
{
	struct v2v_source s;

	err_clear();
	expect_error(v2v_source_from_ova(path_of(name), &s), path_of(name), also);
	CU_ASSERT_EQUAL(s.nb_disks, 0);
}

/* Recompute a tar header's checksum after patching it. */
static void fix_tar_checksum(uint8_t *h)
{
	unsigned sum = 0;

	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
}

static void test_ova_bad(void)
{
	uint8_t hdr[512];
	FILE *f;

	make_package("SHA256");
	/* one byte of the disk changed after the manifest was written */
	CU_ASSERT_FATAL(!run("cp -r pkg t && cd t && printf X | dd of=\"$(ls *.vmdk)\" bs=1 seek=70000 conv=notrunc && "
			   "tar --format=gnu -cf ../tampered-disk.ova pkg.ovf pkg.mf *.vmdk"));
	expect_bad_ova("tampered-disk.ova", "does not match");
	/* one hex digit of the manifest changed */
	CU_ASSERT_FATAL(!run("rm -rf t && cp -r pkg t && cd t && sed -i '1s/\\(= .\\)./\\1x/' pkg.mf && "
			   "tar --format=gnu -cf ../tampered-mf.ova pkg.ovf pkg.mf *.vmdk"));
	expect_bad_ova("tampered-mf.ova", "pkg.ovf");
	/* the manifest lists a file the OVA lacks */
	CU_ASSERT_FATAL(!run("rm -rf t && cp -r pkg t && cd t && echo \"SHA256(extra.iso)= $(printf %%064d 0)\" >> pkg.mf && "
			   "tar --format=gnu -cf ../listed-missing.ova pkg.ovf pkg.mf *.vmdk"));
	expect_bad_ova("listed-missing.ova", "extra.iso");
	/* a manifest line that is not one */
	CU_ASSERT_FATAL(!run("rm -rf t && cp -r pkg t && cd t && echo 'MD5 whatever' >> pkg.mf && "
			   "tar --format=gnu -cf ../bad-mf-line.ova pkg.ovf pkg.mf *.vmdk"));
	expect_bad_ova("bad-mf-line.ova", "line 3");
	/* the disk itself is missing */
	CU_ASSERT_FATAL(!run("rm -rf t && cp -r pkg t && cd t && sed -i '$d' pkg.mf && "
			   "tar --format=gnu -cf ../no-disk.ova pkg.ovf pkg.mf"));
	expect_bad_ova("no-disk.ova", "is not in the OVA");
	/* truncated in the middle of the disk */
	CU_ASSERT_FATAL(pack("trunc.ova", "gnu"));
	CU_ASSERT_FATAL(!run("truncate -s 20000 trunc.ova"));
	expect_bad_ova("trunc.ova", "truncated");
	/* gzip'd, garbage, empty, no .ovf */
	CU_ASSERT_FATAL(pack("gz.ova", "gnu") && !run("gzip -c gz.ova > gz2.ova && mv gz2.ova gz.ova"));
	expect_bad_ova("gz.ova", "gzip");
	CU_ASSERT_FATAL(!run("head -c 100000 /dev/urandom > garbage.ova"));
	expect_bad_ova("garbage.ova", "not a tar");
	write_text("empty.ova", "");
	expect_bad_ova("empty.ova", "too short");
	CU_ASSERT_FATAL(!run("tar -cf noovf.ova pattern.raw"));
	expect_bad_ova("noovf.ova", ".ovf");
	expect_bad_ova("does-not-exist.ova", NULL);
	/* a header claiming a huge member (GNU base-256 size) */
	CU_ASSERT_FATAL(pack("huge.ova", "ustar") || pack("huge.ova", "gnu"));
	f = fopen(path_of("huge.ova"), "r+b");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fread(hdr, 1, 512, f), 512);
	memset(hdr + 124, 0, 12);
	hdr[124] = 0x80;
	memset(hdr + 128, 0xff, 8);
	fix_tar_checksum(hdr);
	fseek(f, 0, SEEK_SET);
	CU_ASSERT_EQUAL(fwrite(hdr, 1, 512, f), 512);
	fclose(f);
	expect_bad_ova("huge.ova", "truncated");
	/* a compressed disk in the OVF */
	CU_ASSERT_FATAL(!run("rm -rf t && cp -r pkg t && cd t && sed -i 's/ovf:id=\"file1\"/ovf:id=\"file1\" ovf:compression=\"gzip\"/' pkg.ovf && "
			   "rm pkg.mf && tar -cf ../compressed.ova pkg.ovf *.vmdk"));
	expect_bad_ova("compressed.ova", "compressed");
	/* a folder whose manifest is wrong */
	CU_ASSERT_FATAL(!run("rm -rf t && cp -r pkg t && cd t && sed -i '1s/\\(= .\\)./\\1x/' pkg.mf"));
	expect_bad_ova("t", "does not match");
	/* a folder OVF naming a file outside it */
	CU_ASSERT_FATAL(!run("rm -rf t && cp -r pkg t && cd t && rm pkg.mf && sed -i 's/ovf:href=\"[^\"]*\"/ovf:href=\"..\\/pattern.raw\"/' pkg.ovf"));
	expect_bad_ova("t", "outside");
}

/* The OVF declares 2 MiB, the disk holds 4: a warning, not an error. */
static void test_ova_capacity_mismatch(void)
{
	struct v2v_source s;

	make_package("SHA256");
	CU_ASSERT_FATAL(!run("rm -rf t && cp -r pkg t && cd t && rm pkg.mf && sed -i 's/ovf:capacity=\"%d\"/ovf:capacity=\"2\"/' pkg.ovf && "
			   "tar --format=pax -cf ../cap.ova pkg.ovf *.vmdk", DISK_MB));
	CU_ASSERT_EQUAL(v2v_source_from_ova(path_of("cap.ova"), &s), 0);
	CU_ASSERT_EQUAL(s.nb_disks, 1);
	v2v_source_free(&s);
}

#endif /* HAVE_OVA */

/* ---- the slice backend ---------------------------------------------------- */

static void test_slice(void)
{
	struct backend *be;
	uint64_t size;
	char buf[16];
	bool data;
	uint64_t run;

	write_text("slice.bin", "0123456789abcdef");
	CU_ASSERT_EQUAL_FATAL(backend_open_slice(path_of("slice.bin"), 4, 6, "win", &be), 0);
	CU_ASSERT_EQUAL(backend_size(be, &size), 0);
	CU_ASSERT_EQUAL(size, 6);
	memset(buf, 'Z', sizeof(buf));
	CU_ASSERT_EQUAL(backend_pread(be, buf, 8, 2), 0);
	CU_ASSERT_EQUAL(memcmp(buf, "6789\0\0\0\0", 8), 0);
	CU_ASSERT_EQUAL(backend_extent(be, 0, 100, &data, &run), 0);
	CU_ASSERT_TRUE(data);
	CU_ASSERT(run >= 1 && run <= 6);
	CU_ASSERT(backend_pwrite(be, "x", 1, 0) < 0);
	backend_close(be);
	err_clear();
	expect_error(backend_open_slice(path_of("slice.bin"), 10, 7, "win2", &be), "win2", "past the end");
	expect_error(backend_open_slice(path_of("slice.bin"), UINT64_MAX, 2, "win3", &be), "win3", NULL);
}

/* ---- the real fixtures (fixtures/make-ova.sh), when given ------------------ */

static void compare_with_guest(const struct v2v_disk *d, const char *guest)
{
	struct image *a, *b;
	char *x = malloc(1 << 20), *y = malloc(1 << 20);

	CU_ASSERT_EQUAL_FATAL(v2v_disk_open(d, &a), 0);
	CU_ASSERT_EQUAL_FATAL(image_open(guest, NULL, 0, &b), 0);
	CU_ASSERT_EQUAL(a->size, b->size);
	for (uint64_t off = 0; x && y && off < a->size && off < b->size; off += 1 << 20) {
		size_t n = (size_t)MIN((uint64_t)1 << 20, a->size - off);
		CU_ASSERT_EQUAL_FATAL(image_read(a, x, off, n), 0);
		CU_ASSERT_EQUAL_FATAL(image_read(b, y, off, n), 0);
		if (memcmp(x, y, n)) {
			CU_FAIL("the disk read in place differs from the guest disk");
			break;
		}
	}
	free(x);
	free(y);
	image_close(a);
	image_close(b);
}

static void test_fixtures(void)
{
	const char *env = getenv("IMGTOOL_V2V_FIXTURES");
	char ova[512], sha1[512], vmx[512], folder[512], guest[600];
	struct v2v_source s;

	if (!env || sscanf(env, "%511s %511s %511s %511s", ova, sha1, vmx, folder) != 4)
		UNIT_SKIP("needs IMGTOOL_V2V_FIXTURES (tests/v2v/test_inputs.sh sets it)");
	snprintf(guest, sizeof(guest), "%.*s/guest-disk1.vmdk", (int)(strrchr(vmx, '/') - vmx), vmx);
	CU_ASSERT_EQUAL_FATAL(v2v_source_from_ova(ova, &s), 0);
	CU_ASSERT_EQUAL_FATAL(s.nb_disks, 1);
	CU_ASSERT(s.disks[0].offset > 0);
	compare_with_guest(&s.disks[0], guest);
	v2v_source_free(&s);
	CU_ASSERT_EQUAL(v2v_source_from_ova(sha1, &s), 0);
	v2v_source_free(&s);
	CU_ASSERT_EQUAL_FATAL(v2v_source_from_ova(folder, &s), 0);
	compare_with_guest(&s.disks[0], guest);
	v2v_source_free(&s);
	CU_ASSERT_EQUAL_FATAL(v2v_source_from_vmx(vmx, &s), 0);
	CU_ASSERT_EQUAL(s.nb_disks, 2);
	CU_ASSERT_EQUAL(s.nb_nics, 1);
	CU_ASSERT_EQUAL(s.memory_mib, 768);
	CU_ASSERT_EQUAL(s.vcpus, 2);
	for (int i = 0; i < s.nb_disks; i++) {
		struct image *img;
		CU_ASSERT_EQUAL(v2v_disk_open(&s.disks[i], &img), 0);
		if (i == 0 && img)
			CU_ASSERT_EQUAL(strcmp(s.disks[0].path, guest), 0);
		image_close(img);
	}
	v2v_source_free(&s);
}

/* Guest names from file names and URLs; a URL's query (which may hold paths) is
 * no part of the name. */
static void test_disk_names(void)
{
	static const char *const cases[][2] = {
		{ "/dev/sdb", "sdb" },
		{ "web01.vmdk", "web01" },
		{ "nfs://h/e/web01.vmdk", "web01" },
		{ "ssh://root@esxi/vmfs/volumes/ds1/web01/web01.vmdk?identity=/root/.ssh/k", "web01" },
		{ "ssh://root@srv/dev/sda?known-hosts=/etc/kh", "sda" },
		{ "/path/with.dot/disk", "disk" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct v2v_source src;

		CU_ASSERT_EQUAL_FATAL(v2v_source_from_disk(cases[i][0], NULL, &src), 0);
		CU_ASSERT_STRING_EQUAL(src.name, cases[i][1]);
		CU_ASSERT_STRING_EQUAL(src.disks[0].path, cases[i][0]);
		v2v_source_free(&src);
	}
}

static const struct unit_test v2v_tests[] = {
	{ "disk: guest names from paths and URLs", test_disk_names },
	{ "vmx: VMware's syntax, disks in controller order, NICs", test_vmx_good },
	{ "vmx: defaults", test_vmx_defaults },
	{ "vmx: bad input gives one message naming the file", test_vmx_bad },
	{ "ovf: capacity allocation units", test_ovf_units },
#ifdef HAVE_OVA
	{ "ovf: descriptor", test_ovf_good },
	{ "ovf: bad descriptors", test_ovf_bad },
	{ "ova: ustar, pax and GNU archives, disk read in place", test_ova_formats },
	{ "ova: SHA1 manifest, OVF folder", test_ova_folder_and_sha1 },
	{ "ova: tampered, missing, truncated, gzip'd, garbage", test_ova_bad },
	{ "ova: capacity mismatch is a warning", test_ova_capacity_mismatch },
#endif
	{ "slice backend", test_slice },
	{ "fixtures from make-ova.sh (when given)", test_fixtures },
};

UNIT_MAIN("v2v_source", v2v_tests, NULL)
