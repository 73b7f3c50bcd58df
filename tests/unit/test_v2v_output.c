/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_v2v_output.c - CUnit tests for what v2v writes besides the converted guest:
 *
 *  - the -o qemu script (v2v/output/qemu.c) with hostile guest and disk names (a
 *    space, $(...), backquotes, quotes of both kinds, commas that would add qemu
 *    options, a newline in the guest's name): the script must parse under bash -n
 *    and sh -n, and running it (against stand-ins for imgtool and qemu that record
 *    their arguments) must pass every name as one argument, commas doubled inside
 *    "-drive file=", and run none of the injected commands;
 *  - exclusive creation: image_create_flags(IMG_CREATE_EXCL) and
 *    v2v_output_write() never overwrite an existing file (nor follow a symlink),
 *    remove what they could not finish, and refuse URLs;
 *  - the -i / -o tables: every name is found, an unknown one gets one message
 *    listing the known ones.
 */
#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"
#include "common/opts.h"
#include "common/util.h"
#include "formats/format.h"
#include "v2v/output/output.h"
#include "v2v/v2v.h"

static char tmpdir[] = "/tmp/test_v2v_output.XXXXXX";
static char realdir[PATH_MAX];

static char *tmp_path(const char *name)
{
	static char buf[4][PATH_MAX + 256];
	static int n;

	n = (n + 1) % 4;
	snprintf(buf[n], sizeof(buf[n]), "%s/%s", realdir, name);
	return buf[n];
}

static void write_text(const char *name, const char *text, int mode)
{
	FILE *f = fopen(tmp_path(name), "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
	CU_ASSERT_EQUAL(chmod(tmp_path(name), (mode_t)mode), 0);
}

/* The whole file (malloc'd), or NULL when it cannot be read. */
static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	if (getdelim(&s, &len, '\0', f) < 0) {
		free(s);
		s = strdup("");
	}
	fclose(f);
	return s;
}

/* The file in the scratch folder holds exactly want. */
static void expect_content(const char *name, const char *want)
{
	char *got = read_all(tmp_path(name));

	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_STRING_EQUAL(got, want);
	if (strcmp(got, want))
		fprintf(stderr, "\n  %s holds:\n%s\n  wanted:\n%s\n", name, got, want);
	free(got);
}

/* Run a shell command in the scratch folder; its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[8192];
	int len, st;
	va_list ap;

	len = snprintf(cmd, sizeof(cmd), "cd '%s' && (", realdir);
	va_start(ap, fmt);
	len += vsnprintf(cmd + len, sizeof(cmd) - (size_t)len, fmt, ap);
	va_end(ap);
	snprintf(cmd + len, sizeof(cmd) - (size_t)len, ") >>'%s/sh.log' 2>&1", realdir);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void expect_error(int ret, int want, const char *what, const char *also)
{
	CU_ASSERT_EQUAL(ret, want);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_get(), what));
	CU_ASSERT_PTR_NOT_NULL(strstr(err_get(), also));
	CU_ASSERT_PTR_NULL(strchr(err_get(), '\n'));
	if (ret != want || !strstr(err_get(), what) || !strstr(err_get(), also))
		fprintf(stderr, "\n  unexpected: ret %d, message \"%s\" (wanted %d, \"%s\", \"%s\")\n",
			ret, err_get(), want, what, also);
}

/* ---- -o qemu with hostile names ------------------------------------------ */

/* Each would run a command, split a word or add a qemu option if a name reached
 * the shell or qemu unquoted; each pwnedN file appearing means code ran. */
static const char *const hostile_disks[] = {
	"web $(touch pwned1) 'q' \"d\",x-sda.qcow2",
	"web `touch pwned2`;x,format=raw,file=etc-sdb.qcow2",
	"it's a \"b\" \\ * c,,d $HOME-sdc.qcow2",
};
static const char hostile_name[] = "web 'x' \"y\" $(touch pwned0)\ntouch pwned3";

/* A stand-in for imgtool: records its arguments (one a line) and, asked for
 * --print-cmdline, prints a command line quoted as the launcher quotes it that runs
 * the qemu stand-in, which records its own. */
static const char fake_imgtool[] =
	"#!/bin/sh\n"
	"printf '%s\\n' \"$@\" > launch.args\n"
	"case \" $* \" in *\" --print-cmdline \"*)\n"
	"  printf \"'%s/fake-qemu' 'it'\\\\''s' -drive file=disk0\\n\" \"$PWD\" ;;\n"
	"esac\n";
static const char fake_qemu[] = "#!/bin/sh\nprintf '%s\\n' \"$@\" > qemu.args\n";

static void make_target(struct v2v_target *t, char **disks, int n)
{
	for (int i = 0; i < n; i++) {
		disks[i] = strdup(tmp_path(hostile_disks[i]));
		write_text(hostile_disks[i], "", 0644);   /* realpath() finds it */
	}
	*t = (struct v2v_target){
		.disks = disks, .nb_disks = n, .format = "qcow2", .name = hostile_name,
		.dir = realdir, .bus = V2V_BUS_VIRTIO, .memory_mib = 2048, .vcpus = 2,
		.rtc_localtime = true,
	};
}

static void free_disks(char **disks, int n)
{
	for (int i = 0; i < n; i++)
		free(disks[i]);
}

/* Write the script for n hostile disks, check it parses, run it. */
static void run_script(int n)
{
	struct v2v_target t;
	char *disks[3];
	FILE *f;

	make_target(&t, disks, n);
	f = fopen(tmp_path("guest.sh"), "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(v2v_qemu_script_write(&t, tmp_path("fake-imgtool"), f), 0);
	fclose(f);
	free_disks(disks, n);
	CU_ASSERT_EQUAL(sh("bash -n guest.sh"), 0);
	CU_ASSERT_EQUAL(sh("sh -n guest.sh"), 0);
	CU_ASSERT_EQUAL(sh("rm -f launch.args qemu.args && sh guest.sh --snapshot"), 0);
	for (int i = 0; i < 4; i++) {
		char marker[16];

		snprintf(marker, sizeof(marker), "pwned%d", i);
		CU_ASSERT_NOT_EQUAL(access(tmp_path(marker), F_OK), 0);
	}
}

static void test_qemu_script_one_disk(void)
{
	char want[2 * PATH_MAX], *got;

	write_text("fake-imgtool", fake_imgtool, 0755);
	run_script(1);
	snprintf(want, sizeof(want), "launch\n-f\nqcow2\n--bus\nvirtio\n--memory\n2048\n--cpus\n2\n"
		 "--rtc\nlocaltime\n--snapshot\n%s\n", tmp_path(hostile_disks[0]));
	expect_content("launch.args", want);
	/* the comment line stays one line: the name's newline is not a command */
	got = read_all(tmp_path("guest.sh"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_PTR_NOT_NULL(strstr(got, "# web 'x' \"y\" $(touch pwned0)?touch pwned3: converted"));
	CU_ASSERT_PTR_NULL(strstr(got, "eval \"exec"));
	free(got);
}

/* qemu's "-drive file=" value: commas doubled. */
static void qemu_value(const char *s, char *out)
{
	for (; *s; s++) {
		*out++ = *s;
		if (*s == ',')
			*out++ = ',';
	}
	*out = '\0';
}

static void test_qemu_script_three_disks(void)
{
	char want[6 * PATH_MAX], v1[2 * PATH_MAX], v2[2 * PATH_MAX];

	write_text("fake-imgtool", fake_imgtool, 0755);
	write_text("fake-qemu", fake_qemu, 0755);
	run_script(3);
	snprintf(want, sizeof(want), "launch\n-f\nqcow2\n--bus\nvirtio\n--memory\n2048\n--cpus\n2\n"
		 "--rtc\nlocaltime\n--print-cmdline\n--snapshot\n%s\n", tmp_path(hostile_disks[0]));
	expect_content("launch.args", want);
	qemu_value(tmp_path(hostile_disks[1]), v1);
	qemu_value(tmp_path(hostile_disks[2]), v2);
	snprintf(want, sizeof(want), "it's\n-drive\nfile=disk0\n"
		 "-drive\nfile=%s,format=qcow2,if=none,id=disk1\n-device\nvirtio-blk-pci,drive=disk1\n"
		 "-drive\nfile=%s,format=qcow2,if=none,id=disk2\n-device\nvirtio-blk-pci,drive=disk2\n",
		 v1, v2);
	expect_content("qemu.args", want);
}

/* ---- exclusive creation --------------------------------------------------- */

static void test_image_create_excl(void)
{
	struct opts o = { 0 };
	struct image *img;

	/* an existing file is refused and left as it was */
	write_text("precious.qcow2", "precious", 0644);
	expect_error(image_create_flags(tmp_path("precious.qcow2"), "qcow2", 1 << 20, &o,
					IMG_CREATE_EXCL), -EEXIST, "precious.qcow2", "already exists");
	expect_content("precious.qcow2", "precious");
	/* a symlink is not followed, not even to a file that does not exist yet */
	CU_ASSERT_EQUAL(symlink(tmp_path("target.qcow2"), tmp_path("link.qcow2")), 0);
	expect_error(image_create_flags(tmp_path("link.qcow2"), "qcow2", 1 << 20, &o,
					IMG_CREATE_EXCL), -EEXIST, "link.qcow2", "already exists");
	CU_ASSERT_NOT_EQUAL(access(tmp_path("target.qcow2"), F_OK), 0);
	/* a new name is created, and is the image asked for */
	CU_ASSERT_EQUAL_FATAL(image_create_flags(tmp_path("new.qcow2"), "qcow2", 1 << 20, &o,
						 IMG_CREATE_EXCL), 0);
	CU_ASSERT_EQUAL_FATAL(image_open(tmp_path("new.qcow2"), NULL, 0, &img), 0);
	CU_ASSERT_STRING_EQUAL(img->ops->name, "qcow2");
	CU_ASSERT_EQUAL(img->size, 1 << 20);
	image_close(img);
	CU_ASSERT_EQUAL(sh("qemu-img check -q new.qcow2"), 0);
	/* a create that fails leaves no file behind, and names the file, not a descriptor */
	CU_ASSERT_EQUAL(opts_parse(&o, "no_such_option=1"), 0);
	CU_ASSERT(image_create_flags(tmp_path("failed.qcow2"), "qcow2", 1 << 20, &o,
				     IMG_CREATE_EXCL) < 0);
	CU_ASSERT_PTR_NULL(strstr(err_get(), "/proc/self/fd"));
	CU_ASSERT_NOT_EQUAL(access(tmp_path("failed.qcow2"), F_OK), 0);
	opts_free(&o);
	/* only a local file can be created exclusively */
	expect_error(image_create_flags("nfs://127.0.0.1/export/x.qcow2", "qcow2", 1 << 20, &o,
					IMG_CREATE_EXCL), -ENOTSUP, "nfs://", "local file");
	/* without the flag, image_create still replaces (qemu-img create's behaviour) */
	CU_ASSERT_EQUAL(image_create(tmp_path("precious.qcow2"), "raw", 4096, &o), 0);
}

static void test_output_write_excl(void)
{
	struct v2v_report *r = v2v_report_new();
	struct v2v_target t;
	char *disks[1];
	struct stat st;

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	make_target(&t, disks, 1);
	t.name = "guest";
	/* NAME.sh, NAME.xml already there: refused before anything is written */
	write_text("guest.sh", "mine", 0644);
	expect_error(v2v_output_write(&v2v_output_qemu, &t, r), -EEXIST, "guest.sh", "already exists");
	write_text("guest.xml", "mine", 0644);
	expect_error(v2v_output_write(&v2v_output_local, &t, r), -EEXIST, "guest.xml", "already exists");
	expect_content("guest.sh", "mine");
	expect_content("guest.xml", "mine");
	CU_ASSERT_EQUAL(v2v_report_nb_changes(r), 0);
	/* a free name: written, executable, recorded, and it parses */
	CU_ASSERT_EQUAL(unlink(tmp_path("guest.sh")), 0);
	CU_ASSERT_EQUAL(v2v_output_write(&v2v_output_qemu, &t, r), 0);
	CU_ASSERT_EQUAL_FATAL(stat(tmp_path("guest.sh"), &st), 0);
	CU_ASSERT(st.st_mode & S_IXUSR);
	CU_ASSERT_EQUAL(v2v_report_nb_changes(r), 1);
	CU_ASSERT_EQUAL(sh("bash -n guest.sh"), 0);
	free_disks(disks, 1);
	v2v_report_free(r);
}

/* ---- the tables ------------------------------------------------------------ */

static void test_tables(void)
{
	static const char *const inputs[] = { "disk", "vmx", "ova" };
	static const char *const outputs[] = { "local", "libvirt", "qemu" };

	for (size_t i = 0; i < ARRAY_SIZE(inputs); i++) {
		const struct v2v_input_ops *in = v2v_input_find(inputs[i]);

		CU_ASSERT_PTR_NOT_NULL_FATAL(in);
		CU_ASSERT_STRING_EQUAL(in->name, inputs[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(outputs); i++) {
		const struct v2v_output_ops *out = v2v_output_find(outputs[i]);

		CU_ASSERT_PTR_NOT_NULL_FATAL(out);
		CU_ASSERT_STRING_EQUAL(out->name, outputs[i]);
	}
	CU_ASSERT_TRUE(v2v_input_find("disk")->takes_format);
	CU_ASSERT_FALSE(v2v_input_find("ova")->takes_format);
	CU_ASSERT_TRUE(v2v_output_find("libvirt")->takes_uri);
	CU_ASSERT_FALSE(v2v_output_find("qemu")->takes_uri);
	err_clear();
	CU_ASSERT_PTR_NULL(v2v_input_find("floppy"));
	CU_ASSERT_STRING_EQUAL(err_get(), "-i must be disk, vmx or ova, not 'floppy'");
	err_clear();
	CU_ASSERT_PTR_NULL(v2v_output_find("nowhere"));
	CU_ASSERT_STRING_EQUAL(err_get(), "-o must be local, libvirt or qemu, not 'nowhere'");
}

static const struct {
	const char *name;
	void (*fn)(void);
} output_tests[] = {
	{ "-o qemu script, one disk, hostile names", test_qemu_script_one_disk },
	{ "-o qemu script, three disks, hostile names", test_qemu_script_three_disks },
	{ "image_create_flags IMG_CREATE_EXCL", test_image_create_excl },
	{ "v2v_output_write never overwrites", test_output_write_excl },
	{ "-i and -o tables", test_tables },
};

int main(void)
{
	CU_pSuite suite;
	unsigned failures;
	char cmd[300];

	if (!mkdtemp(tmpdir) || !realpath(tmpdir, realdir))
		return 1;
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("v2v_output", NULL, NULL);
	if (!suite)
		goto fail;
	for (size_t i = 0; i < ARRAY_SIZE(output_tests); i++)
		if (!CU_add_test(suite, output_tests[i].name, output_tests[i].fn))
			goto fail;
	CU_basic_set_mode(CU_BRM_NORMAL);
	CU_basic_run_tests();
	failures = CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		return 1;
	return failures ? 1 : 0;
fail:
	CU_cleanup_registry();
	return 1;
}
