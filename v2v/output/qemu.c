/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qemu.c - -o qemu: DIR/NAME.sh, a script that boots the converted guest with
 * `imgtool launch` (the imgtool that converted it), passing its own arguments on.
 *
 * Names and paths come from the source (a .vmx's or OVF's guest name, the disks'
 * file names) and so may hold anything: every word is shell-quoted (single quotes,
 * a quote inside as '\'') and a path inside a qemu "-drive file=..." list has its
 * commas doubled as qemu's option syntax wants; the guest's name in the comment has
 * its control characters replaced (a newline would end the comment).  Nothing from
 * the source passes through eval.  launch boots one disk: with several, the script
 * takes launch's qemu command line (--print-cmdline, quoted by the launcher) and
 * appends the other disks on the same bus.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/err.h"
#include "launcher/launch.h"
#include "v2v/output/output.h"

/* The imgtool that runs now, so the script boots with the same build. */
static void self_path(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);

	if (n <= 0)
		snprintf(buf, len, "imgtool");
	else
		buf[n] = '\0';
}

/* The disk's absolute path where it exists (the script may run from anywhere). */
static void abs_path(const char *disk, char *buf)
{
	if (!realpath(disk, buf))
		snprintf(buf, PATH_MAX, "%s", disk);
}

/* Write the words of s quoted for the shell, then free them. */
static int put_words(FILE *f, struct strv *s, int r)
{
	char *line = r ? NULL : strv_join_shell(s);

	if (!r && !line)
		r = err_set(-ENOMEM, NULL, "out of memory");
	if (line)
		fputs(line, f);
	free(line);
	strv_free(s);
	return r;
}

static int put_launch_words(FILE *f, const struct v2v_target *t, const char *imgtool)
{
	struct strv s = { 0 };
	int r;

	r = strv_add(&s, "%s", imgtool) ?: strv_add(&s, "launch") ?:
	    strv_add(&s, "-f") ?: strv_add(&s, "%s", t->format) ?:
	    strv_add(&s, "--bus") ?: strv_add(&s, t->bus == V2V_BUS_VIRTIO ? "virtio" : "virtio-scsi") ?:
	    strv_add(&s, "--memory") ?: strv_add(&s, "%llu", (unsigned long long)t->memory_mib) ?:
	    strv_add(&s, "--cpus") ?: strv_add(&s, "%d", t->vcpus);
	if (!r && t->uefi)
		r = strv_add(&s, "--firmware") ?: strv_add(&s, "uefi");
	if (!r && t->rtc_localtime)
		r = strv_add(&s, "--rtc") ?: strv_add(&s, "localtime");
	return put_words(f, &s, r);
}

static int put_disk_word(FILE *f, const char *disk)
{
	char abs[PATH_MAX];
	struct strv s = { 0 };

	abs_path(disk, abs);
	return put_words(f, &s, strv_add(&s, "%s", abs));
}

/* Disk i (> 0) as qemu options: -drive file=PATH,... -device ... */
static int put_extra_disk(FILE *f, const struct v2v_target *t, int i)
{
	char abs[PATH_MAX], *file;
	struct strv s = { 0 };
	int r;

	abs_path(t->disks[i], abs);
	file = launch_qemu_escape(abs);
	if (!file)
		return err_set(-ENOMEM, NULL, "out of memory");
	r = strv_add(&s, "-drive") ?:
	    strv_add(&s, "file=%s,format=%s,if=none,id=disk%d", file, t->format, i) ?:
	    strv_add(&s, "-device") ?:
	    strv_add(&s, "%s,drive=disk%d",
		     t->bus == V2V_BUS_VIRTIO ? "virtio-blk-pci" : "scsi-hd,bus=scsi0.0", i);
	free(file);
	fputc(' ', f);
	return put_words(f, &s, r);
}

/* The guest's name on a comment line: no control character may end the line. */
static void put_comment_text(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

int v2v_qemu_script_write(const struct v2v_target *t, const char *imgtool, FILE *f)
{
	int r;

	fputs("#!/bin/sh\n# ", f);
	put_comment_text(f, t->name);
	fputs(": converted by imgtool v2v; boots it under imgtool launch.\n"
	      "# Extra options (--wait-for TEXT, --timeout S, --snapshot, --accel ...) are\n"
	      "# passed on.  The NIC is at PCI slot 3 (interface ens3) with the default\n"
	      "# serial console.\nset -e\n", f);
	if (t->nb_disks == 1) {
		fputs("exec ", f);
		r = put_launch_words(f, t, imgtool);
		fputs(" \"$@\" ", f);
		r = r ?: put_disk_word(f, t->disks[0]);
		fputc('\n', f);
		return r;
	}
	fputs("cmd=$(", f);
	r = put_launch_words(f, t, imgtool);
	fputs(" --print-cmdline \"$@\" ", f);
	r = r ?: put_disk_word(f, t->disks[0]);
	/* launch's own output, quoted by the launcher: the one thing eval reads */
	fputs(")\neval \"set -- $cmd\"\nexec \"$@\"", f);
	for (int i = 1; !r && i < t->nb_disks; i++)
		r = put_extra_disk(f, t, i);
	fputc('\n', f);
	return r;
}

static int write_script(const struct v2v_target *t, FILE *f)
{
	char self[PATH_MAX];

	self_path(self, sizeof(self));
	return v2v_qemu_script_write(t, self, f);
}

const struct v2v_output_ops v2v_output_qemu = {
	.name = "qemu",
	.suffix = "sh",
	.mode = 0755,
	.written = "launch script written",
	.write = write_script,
};
