/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * v2v_windows.h - what the files converting a Windows guest share (v2v.h has the
 * one entry point, v2v_convert_windows()).  The work is split by concept:
 *
 *   v2v_windows.c           the facts about the guest, the checks made before
 *                           anything is changed, and the steps in order
 *   v2v_windows_drivers.c   the virtio-win tree on the host: which folder serves
 *                           which Windows version and architecture (pure, unit
 *                           tested), and the files picked from it
 *   v2v_windows_registry.c  the guest's registry hives through libguestfs's hivex
 *                           calls: find or create keys, set values, each change
 *                           recorded with its before and after
 *   v2v_windows_firstboot.c the work Windows must do itself on its first boot on KVM
 *                           (pnputil installs the staged drivers, VMware Tools is
 *                           uninstalled): the scripts and how they are started
 *
 * The facts (which registry entries, which folders) follow virt-v2v's conversion:
 * convert_windows.ml, inject_virtio_win.ml and firstboot.ml in libguestfs's sources.
 */
#ifndef IMGTOOL_V2V_WINDOWS_H
#define IMGTOOL_V2V_WINDOWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct v2v_report;
struct guest;

/* ---- v2v_windows_drivers.c (pure parts first) ---- */

/* The virtio-win ISO's folder name for a Windows version ("w10", "2k19", ...):
 * major.minor from the registry, server from the product variant, product the
 * product name (tells 2016/2019/2022/2025 apart), build the build number (tells
 * Windows 11 from 10).  NULL when virtio-win has no drivers for it. */
const char *v2v_win_os_dir(int major, int minor, bool server, const char *product, long build);
/* The ISO's folder name for an architecture (inspection's "x86_64", "i386"). */
const char *v2v_win_arch_dir(const char *arch);
/* Is a file of the tree (its path relative to the tree's top) meant for this
 * version and architecture: a path element equal (ignoring case) to os_dir, one
 * equal to arch_dir ("x86" also as "i386"), not a debug symbol file (.pdb) and not
 * the SR-IOV variant of netkvm (which conflicts with netkvm). */
bool v2v_win_path_matches(const char *relpath, const char *os_dir, const char *arch_dir);

struct win_file {
	char *host;          /* path on the host */
	char *name;          /* its base name, lower case (the staged name) */
	uint64_t size;
};

struct win_files {
	struct win_file *f;
	size_t n;
};

/* Every file of the tree at dir meant for os_dir/arch_dir, one per base name
 * (the first in path order); bounded walk (files, depth, sizes).  0 or -errno. */
int v2v_win_find_files(const char *dir, const char *os_dir, const char *arch_dir,
		       struct win_files *out);
const struct win_file *v2v_win_file(const struct win_files *fs, const char *name);
void v2v_win_files_free(struct win_files *fs);

/* ---- v2v_windows_registry.c ---- */

#define REG_T_SZ 1
#define REG_T_EXPAND_SZ 2
#define REG_T_BINARY 3
#define REG_T_DWORD 4
#define REG_T_MULTI_SZ 7

/* One hive open on the handle (libguestfs holds one at a time). */
struct hive {
	struct guest *gu;
	struct v2v_report *r;
	const char *name;     /* "HKLM\\SYSTEM": how changes name it */
	const char *path;     /* the hive file in the guest */
	int64_t root;
	bool write;
};

int hive_open(struct hive *h, struct guest *gu, struct v2v_report *r, const char *path,
	      const char *name, bool write);
/* Commit (when open for writing and commit is true) and close; 0 or -EIO. */
int hive_close(struct hive *h, bool commit);
/* The node at key ("A\\B\\C" under the root; "" is the root): 0 when found,
 * -ENOENT when absent (no message), created when create is true. */
int hive_node(struct hive *h, const char *key, bool create, int64_t *node);
/* A value's type and bytes (malloc'd): 0, -ENOENT (absent, no message) or -EIO. */
int hive_get(struct hive *h, int64_t node, const char *value, int64_t *type, char **data,
	     size_t *len);
/* A string value as UTF-8 (malloc'd), or NULL when absent or not a string. */
char *hive_get_string(struct hive *h, int64_t node, const char *value);
/* Set value (created with its key path when absent) and record the change as
 * "HKLM\\HIVE\\key" / value with before and after in regedit's notation. */
int hive_set(struct hive *h, const char *key, const char *value, int64_t type,
	     const void *data, size_t len);
int hive_set_dword(struct hive *h, const char *key, const char *value, uint32_t v);
int hive_set_sz(struct hive *h, const char *key, const char *value, int64_t type, const char *s);
/* strs: NULL-terminated. */
int hive_set_multi_sz(struct hive *h, const char *key, const char *value, const char *const *strs);

/* Pure helpers (unit tested): a string value's UTF-16LE as UTF-8 (malloc'd; a
 * REG_MULTI_SZ's strings one per line), and a value in regedit's notation
 * (dword:00000001, "text", hex(7):..., hex:01,ff) into buf.  Strings are encoded
 * for the registry with common/utf16.h's utf8_to_utf16le. */
char *reg_utf8(const char *data, size_t len);
void reg_format(int64_t type, const char *data, size_t len, char *buf, size_t blen);

/* ---- v2v_windows.c ---- */

/* ---- v2v_windows_firstboot.c ---- */

struct win_uninstall {
	char *name;           /* the Uninstall subkey (often the MSI product {GUID}) */
	char *display;        /* DisplayName */
	char *command;        /* UninstallString */
};

/* The first-boot work of one conversion. */
struct win_firstboot {
	struct guest *gu;
	struct v2v_report *r;
	const char *systemroot;   /* guest path of %SystemRoot% ("/Windows") */
	const char *srvany;       /* host path of rhsrvany.exe/pvvxsvc.exe, or NULL */
	const struct win_uninstall *vmware;  /* VMware Tools uninstall entries */
	size_t nb_vmware;
	/* set by v2v_win_firstboot_files(), used by the registry step */
	char dir_win[128];        /* C:\Program Files\Guestfs\Firstboot */
	char command[256];        /* what starts firstboot.bat */
	char service_image[256];  /* the service's ImagePath (srvany), or "" (RunOnce) */
};

/* Write the first-boot scripts and the runner into the guest; each recorded. */
int v2v_win_firstboot_files(struct win_firstboot *fb);
/* The VMware Tools uninstall command for an Uninstall entry (malloc'd): MSI
 * products are removed by msiexec /x {GUID} /qn, without a reboot. */
char *v2v_win_vmware_uninstall_command(const struct win_uninstall *u);

#endif
