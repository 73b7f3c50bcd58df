/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * v2v_windows_firstboot.c - what a converted Windows guest does itself on its first
 * boot on KVM.  Offline, only the boot storage driver can be made to work (its
 * .sys and registry entries, v2v_windows.c); the other drivers are staged in
 * %SystemRoot%\Drivers\VirtIO and installed by Windows's own pnputil, and VMware
 * Tools is removed by its own MSI uninstaller, both at the first boot.
 *
 * The layout is virt-v2v's (firstboot.ml), so that a guest converted by either
 * looks the same: C:\Program Files\Guestfs\Firstboot holds firstboot.bat, which
 * runs each scripts\*.bat once in name order (logging to log.txt, moving each
 * finished script to scripts-done; a script exiting 249 is retried next boot).
 * How firstboot.bat is started is decided by the registry step: as a service
 * through rhsrvany.exe/pvvxsvc.exe when one is available (at boot, as SYSTEM),
 * otherwise from HKLM RunOnce (at the first administrator logon; said in a warning).
 * Windows's cmd.exe wants CRLF line ends.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "guest/guest.h"
#include "v2v/v2v.h"
#include "v2v/windows/windows.h"

#define FB_DIR_WIN "C:\\Program Files\\Guestfs\\Firstboot"

/* msiexec /i (install) or /x: VMware Tools's UninstallString is "MsiExec.exe
 * /I{GUID}", which would repair, not remove. */
char *v2v_win_vmware_uninstall_command(const struct win_uninstall *u)
{
	const char *n = u->name ? u->name : "";
	size_t nl = strlen(n);
	bool guid = nl == 38 && n[0] == '{' && n[37] == '}';
	bool msi = u->command && strcasestr(u->command, "msiexec");
	char *out = NULL;

	if (guid && (msi || !u->command))
		return asprintf(&out, "msiexec.exe /x %s /qn /norestart REBOOT=ReallySuppress", n) < 0
			? NULL : out;
	if (!u->command)
		return NULL;
	if (msi) {
		char *c = strdup(u->command);

		for (char *p = c; p && (p = strcasestr(p, "/i")); p += 2)
			p[1] = 'x';
		if (c && asprintf(&out, "%s /qn /norestart REBOOT=ReallySuppress", c) < 0)
			out = NULL;
		free(c);
		return out;
	}
	return strdup(u->command);
}

#ifdef HAVE_LIBGUESTFS

/* text with LF line ends -> CRLF (malloc'd) */
static char *crlf(const char *text, size_t *len)
{
	size_t n = strlen(text), lines = 0, k = 0;
	char *out;

	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	out = malloc(n + lines + 1);
	if (!out)
		return NULL;
	for (const char *p = text; *p; p++) {
		if (*p == '\n')
			out[k++] = '\r';
		out[k++] = *p;
	}
	out[k] = '\0';
	*len = k;
	return out;
}

static int write_script(struct win_firstboot *fb, const char *path, const char *text,
			const char *what, const char *summary)
{
	size_t len;
	char *d = crlf(text, &len);
	int r = 0;

	if (!d)
		return -ENOMEM;
	if (guestfs_write(guest_h(fb->gu), path, d, len) < 0)
		r = guest_err(fb->gu, path);
	free(d);
	if (!r)
		v2v_change(fb->r, path, what, NULL, summary);
	return r;
}

static const char pnputil_script[] =
	"@echo off\n"
	"rem imgtool v2v: install the virtio-win drivers staged in %SystemRoot%\\Drivers\\VirtIO\n"
	"rem into the driver store, so that PnP binds netkvm, balloon... to their devices.\n"
	"setlocal EnableDelayedExpansion\n"
	"set \"pnputil=%SystemRoot%\\System32\\pnputil.exe\"\n"
	"rem a 32-bit cmd.exe on 64-bit Windows sees the 64-bit System32 as Sysnative\n"
	"if exist \"%SystemRoot%\\Sysnative\\pnputil.exe\" set \"pnputil=%SystemRoot%\\Sysnative\\pnputil.exe\"\n"
	"set result=0\n"
	"for %%i in (\"%SystemRoot%\\Drivers\\VirtIO\\*.inf\") do (\n"
	"  echo pnputil -i -a %%~nxi\n"
	"  \"!pnputil!\" -i -a \"%%i\"\n"
	"  set rc=!errorlevel!\n"
	"  rem 259: no device uses it yet (the package is in the store anyway); 3010: reboot\n"
	"  if !rc! neq 0 if !rc! neq 259 if !rc! neq 3010 set result=249\n"
	")\n"
	"exit /b !result!\n";

/* The runner, started by the service or RunOnce (fb->service_image says which). */
static char *runner_script(const struct win_firstboot *fb)
{
	char *s = NULL;
	const char *done = *fb->service_image ?
		"rem the work is done: the service removes itself\n"
		"\"%fb%\\%srvany%\" -s firstboot uninstall\n" :
		"rem started from RunOnce: Windows has already removed the entry\n";
	const char *srvany = strrchr(fb->service_image, '\\');
	char exe[64] = "";

	if (*fb->service_image && srvany)
		snprintf(exe, sizeof(exe), "%.*s", (int)strcspn(srvany + 1, " "), srvany + 1);
	if (asprintf(&s,
		"@echo off\n"
		"rem imgtool v2v: the first-boot work on KVM.  Each scripts\\*.bat runs once, in\n"
		"rem name order, and moves to scripts-done; one exiting 249 is kept for next boot.\n"
		"setlocal EnableDelayedExpansion\n"
		"set \"fb=%s\"\n"
		"set \"srvany=%s\"\n"
		"call :main >> \"%%fb%%\\log.txt\" 2>&1\n"
		"exit /b 0\n"
		":main\n"
		"echo %%date%% %%time%% imgtool v2v first boot\n"
		"if not exist \"%%fb%%\\scripts-done\" mkdir \"%%fb%%\\scripts-done\"\n"
		"set reboot=0\n"
		"for %%%%s in (\"%%fb%%\\scripts\\*.bat\") do (\n"
		"  echo running %%%%~nxs\n"
		"  pushd \"%%fb%%\\scripts\"\n"
		"  call \"%%%%s\"\n"
		"  set rc=!errorlevel!\n"
		"  popd\n"
		"  echo %%%%~nxs exited !rc!\n"
		"  if !rc! equ 3010 set reboot=1\n"
		"  if !rc! neq 249 move /y \"%%%%s\" \"%%fb%%\\scripts-done\\\"\n"
		")\n"
		"if exist \"%%fb%%\\scripts\\*.bat\" exit /b 0\n"
		"type nul > \"%%fb%%\\complete\"\n"
		"%s"
		"if !reboot! equ 1 shutdown /r /t 10 /c \"imgtool v2v: drivers installed\"\n"
		"exit /b 0\n", fb->dir_win, exe, done) < 0)
		return NULL;
	return s;
}

/* mkdir -p of "/Program Files/Guestfs/Firstboot/scripts" keeping the guest's case
 * for the parts that exist. */
static int make_dir(struct win_firstboot *fb, char *dir, size_t len)
{
	guestfs_h *g = guest_h(fb->gu);
	char *p = guest_case_path(fb->gu, "/Program Files/Guestfs/Firstboot");

	if (!p)
		return -EIO;
	snprintf(dir, len, "%s", p);
	free(p);
	if (guestfs_mkdir_p(g, dir) < 0)
		return guest_err(fb->gu, dir);
	return 0;
}

static int vmware_scripts(struct win_firstboot *fb, const char *dir)
{
	for (size_t i = 0; i < fb->nb_vmware; i++) {
		const struct win_uninstall *u = &fb->vmware[i];
		char *cmd = v2v_win_vmware_uninstall_command(u), *text = NULL, path[1024];
		int r;

		if (!cmd)
			return err_set(-EINVAL, fb->gu->image, "VMware Tools (%s): no uninstall "
				       "command in the registry", u->name);
		snprintf(path, sizeof(path), "%s/scripts/0200-uninstall-vmware-tools-%zu.bat", dir, i + 1);
		if (asprintf(&text,
			"@echo off\n"
			"rem imgtool v2v: %s is of no use on KVM: remove it with its own uninstaller\n"
			"echo uninstalling %s\n"
			"%s\n"
			"set rc=%%errorlevel%%\n"
			"rem 1605: not installed any more; 3010: removed, reboot wanted\n"
			"if %%rc%% equ 0 exit /b 0\n"
			"if %%rc%% equ 1605 exit /b 0\n"
			"if %%rc%% equ 3010 exit /b 3010\n"
			"exit /b 249\n", u->display, u->display, cmd) < 0)
			text = NULL;
		r = text ? write_script(fb, path, text, "first-boot script: uninstall VMware Tools "
					"(HKLM\\SOFTWARE\\...\\Uninstall entry)", cmd) : -ENOMEM;
		free(text);
		free(cmd);
		if (r)
			return r;
	}
	return 0;
}

int v2v_win_firstboot_files(struct win_firstboot *fb)
{
	guestfs_h *g = guest_h(fb->gu);
	char dir[512], path[1024], *runner;
	const char *exe = NULL;
	int r;

	snprintf(fb->dir_win, sizeof(fb->dir_win), "%s", FB_DIR_WIN);
	snprintf(fb->command, sizeof(fb->command), "cmd.exe /c \"%s\\firstboot.bat\"", FB_DIR_WIN);
	fb->service_image[0] = '\0';
	if ((r = make_dir(fb, dir, sizeof(dir))))
		return r;
	snprintf(path, sizeof(path), "%s/scripts", dir);
	if (guestfs_mkdir_p(g, path) < 0)
		return guest_err(fb->gu, path);
	if (fb->srvany) {
		exe = strrchr(fb->srvany, '/');
		exe = exe ? exe + 1 : fb->srvany;
		snprintf(path, sizeof(path), "%s/%s", dir, exe);
		if (guestfs_upload(g, fb->srvany, path) < 0)
			return guest_err(fb->gu, path);
		v2v_change(fb->r, path, "service wrapper that starts firstboot.bat at boot",
			   NULL, fb->srvany);
		snprintf(fb->service_image, sizeof(fb->service_image), "%s\\%s -s firstboot",
			 FB_DIR_WIN, exe);
	}
	snprintf(path, sizeof(path), "%s/scripts/0100-pnputil-install-drivers.bat", dir);
	r = write_script(fb, path, pnputil_script, "first-boot script: pnputil installs the "
			 "drivers staged in %SystemRoot%\\Drivers\\VirtIO",
			 "pnputil -i -a %SystemRoot%\\Drivers\\VirtIO\\*.inf");
	if (!r)
		r = vmware_scripts(fb, dir);
	if (r)
		return r;
	if (!(runner = runner_script(fb)))
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/firstboot.bat", dir);
	r = write_script(fb, path, runner, "first-boot runner (runs scripts\\*.bat once each)",
			 fb->command);
	free(runner);
	return r;
}

#endif
