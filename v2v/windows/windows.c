/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * v2v_windows.c - make a Windows guest copied from VMware (or Hyper-V, VirtualBox)
 * boot on KVM with virtio, in the conversion's one libguestfs session:
 *
 *   check      every fact and every file needed is gathered first (version,
 *              architecture, hives, the virtio-win drivers for this version,
 *              VMware Tools's uninstaller); anything missing refuses the
 *              conversion before the guest is touched, naming what is missing
 *   drivers    the drivers for this version and architecture are staged in
 *              %SystemRoot%\Drivers\VirtIO (where pnputil and PnP find them) and
 *              the boot storage driver (viostor, or vioscsi for virtio-scsi) is
 *              copied into %SystemRoot%\System32\drivers
 *   firstboot  the scripts Windows runs at its first boot on KVM: pnputil installs
 *              the staged drivers, VMware Tools is uninstalled
 *   registry   SYSTEM: the storage driver as a boot-start service, bound to the
 *              virtio PCI IDs (legacy and modern) through the DriverDatabase
 *              (Windows 8 and later) or the CriticalDeviceDatabase (before), crash
 *              auto-reboot off (a 0x7B stays on screen), the first-boot service;
 *              SOFTWARE: DevicePath gets %SystemRoot%\Drivers\VirtIO, RunOnce
 *
 * Only the storage driver can be made to work offline: Windows cannot boot without
 * it, while the others are installed by Windows itself.  Every change is recorded
 * (v2v_report.c); the facts follow virt-v2v (see v2v_windows.h).
 */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/err.h"
#include "guest/guest.h"
#include "v2v/v2v.h"
#include "v2v/windows/windows.h"

#ifdef HAVE_LIBGUESTFS

#define MAX_VMWARE 8
#define SCSI_CLASS_GUID "{4D36E97B-E325-11CE-BFC1-08002BE10318}"
#define DRIVERS_VIRTIO "%SystemRoot%\\Drivers\\VirtIO"
#define UNINSTALL_KEY "Microsoft\\Windows\\CurrentVersion\\Uninstall"
#define CURRENT_VERSION_KEY "Microsoft\\Windows\\CurrentVersion"

/* Where virt-v2v looks for the service wrapper that runs firstboot.bat at boot. */
static const char *const srvany_dirs[] = { NULL /* --virtio-win DIR */, "/usr/share/virt-tools" };
static const char *const srvany_names[] = { "rhsrvany.exe", "pvvxsvc.exe" };

struct win {
	struct guest *gu;
	guestfs_h *g;
	struct v2v_report *r;
	const struct v2v_windows_opts *o;
	int major, minor;
	long build;
	char *arch, *product, *variant, *systemroot, *ccs, *system_hive, *software_hive;
	const char *os_dir, *arch_dir;
	const char *storage;      /* viostor | vioscsi */
	struct win_files files;
	struct win_uninstall vmware[MAX_VMWARE];
	size_t nb_vmware;
	bool has_ddb;             /* SYSTEM\DriverDatabase: Windows 8 and later */
	bool rtc_localtime;
	char srvany[PATH_MAX];
	struct win_firstboot fb;
};

/* ---------------------------------------------------------------- check */

static int facts(struct win *w)
{
	guestfs_h *g = w->g;
	const char *root = w->gu->root;

	w->major = guestfs_inspect_get_major_version(g, root);
	w->minor = guestfs_inspect_get_minor_version(g, root);
	w->arch = guestfs_inspect_get_arch(g, root);
	w->product = guestfs_inspect_get_product_name(g, root);
	w->variant = guestfs_inspect_get_product_variant(g, root);
	w->systemroot = guestfs_inspect_get_windows_systemroot(g, root);
	w->ccs = guestfs_inspect_get_windows_current_control_set(g, root);
	w->system_hive = guestfs_inspect_get_windows_system_hive(g, root);
	w->software_hive = guestfs_inspect_get_windows_software_hive(g, root);
	if (w->major < 0 || w->minor < 0 || !w->arch || !w->product || !w->variant ||
	    !w->systemroot || !w->ccs || !w->system_hive || !w->software_hive)
		return err_set(-ENOTSUP, w->gu->image, "Windows guest: inspection could not "
			       "tell %s: %s; nothing was converted",
			       !w->systemroot ? "%SystemRoot%" : !w->ccs ? "the current control set" :
			       !w->system_hive || !w->software_hive ? "where the registry hives are" :
			       "its version", guestfs_last_error(g));
	return 0;
}

static bool can_uninstall(const struct win_uninstall *u)
{
	char *cmd = v2v_win_vmware_uninstall_command(u);

	free(cmd);
	return cmd != NULL;
}

/* The VMware Tools entries of one Uninstall key. */
static int find_vmware(struct win *w, struct hive *h, const char *key)
{
	struct guestfs_hivex_node_list *kids;
	int64_t node;
	int r = hive_node(h, key, false, &node);

	if (r)
		return r == -ENOENT ? 0 : r;
	kids = guestfs_hivex_node_children(w->g, node);
	if (!kids)
		return err_set(-EIO, w->gu->image, "HKLM\\SOFTWARE\\%s: %s", key,
			       guestfs_last_error(w->g));
	for (uint32_t i = 0; i < kids->len && w->nb_vmware < MAX_VMWARE; i++) {
		int64_t k = kids->val[i].hivex_node_h;
		char *disp = hive_get_string(h, k, "DisplayName");
		struct win_uninstall *u = &w->vmware[w->nb_vmware];

		if (!disp || !strstr(disp, "VMware Tools")) {
			free(disp);
			continue;
		}
		u->display = disp;
		u->name = guestfs_hivex_node_name(w->g, k);
		u->command = hive_get_string(h, k, "UninstallString");
		w->nb_vmware++;
		if (!u->name)
			r = err_set(-EIO, w->gu->image, "HKLM\\SOFTWARE\\%s: %s", key,
				    guestfs_last_error(w->g));
		else if (!can_uninstall(u))
			r = err_set(-ENOTSUP, w->gu->image, "%s is installed but HKLM\\SOFTWARE\\%s\\%s "
				    "has no UninstallString: it cannot be removed at first boot; "
				    "uninstall it in the source VM; nothing was converted",
				    disp, key, u->name);
		if (r)
			break;
	}
	guestfs_free_hivex_node_list(kids);
	return r;
}

/* SOFTWARE, read-only: the build number (Windows 11 is "10.0"), VMware Tools. */
static int read_software(struct win *w)
{
	struct hive h;
	int64_t node;
	int r = hive_open(&h, w->gu, w->r, w->software_hive, "HKLM\\SOFTWARE", false);

	if (r)
		return r;
	if (!hive_node(&h, "Microsoft\\Windows NT\\CurrentVersion", false, &node)) {
		char *b = hive_get_string(&h, node, "CurrentBuildNumber");

		w->build = b ? strtol(b, NULL, 10) : 0;
		free(b);
	}
	err_clear();
	r = find_vmware(w, &h, UNINSTALL_KEY);
	if (!r)
		r = find_vmware(w, &h, "WOW6432Node\\" UNINSTALL_KEY);
	hive_close(&h, false);
	return r;
}

/* SYSTEM, read-only: DriverDatabase (Windows 8+), the RTC's time base, Services. */
static int read_system(struct win *w)
{
	struct hive h;
	int64_t node, type;
	char key[256], *data = NULL;
	size_t len;
	int r = hive_open(&h, w->gu, w->r, w->system_hive, "HKLM\\SYSTEM", false);

	if (r)
		return r;
	w->has_ddb = !hive_node(&h, "DriverDatabase", false, &node);
	snprintf(key, sizeof(key), "%s\\Services", w->ccs);
	r = hive_node(&h, key, false, &node);
	if (r == -ENOENT)
		r = err_set(-ENOTSUP, w->gu->image, "HKLM\\SYSTEM\\%s is missing from %s: not a "
			    "Windows registry that can boot; nothing was converted", key, w->system_hive);
	/* Windows keeps the RTC in local time unless RealTimeIsUniversal says UTC */
	snprintf(key, sizeof(key), "%s\\Control\\TimeZoneInformation", w->ccs);
	w->rtc_localtime = true;
	if (!r && !hive_node(&h, key, false, &node) &&
	    !hive_get(&h, node, "RealTimeIsUniversal", &type, &data, &len))
		w->rtc_localtime = !(len >= 1 && data[0] == 1);
	free(data);
	if (!r)
		err_clear();
	hive_close(&h, false);
	return r;
}

/* drv: the driver's file names; folder: its folder on the ISO (NetKVM for netkvm) */
static int need_driver(struct win *w, const char *drv, const char *folder)
{
	char sys[32], inf[32];

	snprintf(sys, sizeof(sys), "%s.sys", drv);
	snprintf(inf, sizeof(inf), "%s.inf", drv);
	if (v2v_win_file(&w->files, sys) && v2v_win_file(&w->files, inf))
		return 0;
	return err_set(-ENOENT, w->o->virtio_win, "no %s driver for %s (Windows %d.%d %s, "
		       "%s) in the virtio-win tree: looked for %s and %s in %s/%s/%s/%s "
		       "(or any folder whose path names both %s and %s, as in "
		       "drivers/by-os/%s/%s); nothing was converted",
		       drv, w->product, w->major, w->minor, w->variant, w->arch, sys, inf,
		       w->o->virtio_win, folder, w->os_dir, w->arch_dir, w->os_dir, w->arch_dir,
		       w->arch_dir, w->os_dir);
}

static void find_srvany(struct win *w)
{
	w->srvany[0] = '\0';
	for (size_t d = 0; d < sizeof(srvany_dirs) / sizeof(*srvany_dirs); d++)
		for (size_t n = 0; n < sizeof(srvany_names) / sizeof(*srvany_names); n++) {
			const char *dir = srvany_dirs[d] ? srvany_dirs[d] : w->o->virtio_win;

			snprintf(w->srvany, sizeof(w->srvany), "%s/%s", dir, srvany_names[n]);
			if (!access(w->srvany, R_OK))
				return;
		}
	w->srvany[0] = '\0';
}

static int drivers_for_guest(struct win *w)
{
	bool server = strstr(w->variant, "Server") != NULL;
	int r;

	w->os_dir = v2v_win_os_dir(w->major, w->minor, server, w->product, w->build);
	if (!w->os_dir)
		return err_set(-ENOTSUP, w->gu->image, "%s (Windows %d.%d %s): virtio-win has no "
			       "drivers for this version; nothing was converted", w->product,
			       w->major, w->minor, w->variant);
	r = v2v_win_find_files(w->o->virtio_win, w->os_dir, w->arch_dir, &w->files);
	if (!r)
		r = need_driver(w, w->storage, w->storage);
	if (!r)
		r = need_driver(w, "netkvm", "NetKVM");
	return r;
}

static int step_check(struct win *w, char *detail, size_t dlen)
{
	int r = facts(w);

	if (r)
		return r;
	if (w->major < 6)
		return err_set(-ENOTSUP, w->gu->image, "%s is Windows %d.%d: versions before "
			       "Windows Vista/Server 2008 (6.0) cannot be converted (virtio-win has "
			       "no drivers for them); nothing was converted", w->product,
			       w->major, w->minor);
	w->arch_dir = v2v_win_arch_dir(w->arch);
	if (!w->arch_dir)
		return err_set(-ENOTSUP, w->gu->image, "%s: architecture %s cannot be converted "
			       "(x86_64 and i386 only); nothing was converted", w->product, w->arch);
	if ((r = read_software(w)) || (r = read_system(w)) || (r = drivers_for_guest(w)))
		return r;
	find_srvany(w);
	snprintf(detail, dlen, "%s (%d.%d build %ld, %s) -> virtio-win %s/%s: %zu files, "
		 "%s; VMware Tools: %s", w->product, w->major, w->minor, w->build, w->arch,
		 w->os_dir, w->arch_dir, w->files.n, w->has_ddb ? "DriverDatabase" :
		 "CriticalDeviceDatabase", w->nb_vmware ? "to uninstall" : "not installed");
	return 0;
}

/* ---------------------------------------------------------------- drivers */

static int upload(struct win *w, const struct win_file *f, const char *path, const char *what)
{
	char after[PATH_MAX + 64];

	if (guestfs_upload(w->g, f->host, path) < 0)
		return guest_err(w->gu, path);
	snprintf(after, sizeof(after), "%s (%llu bytes)", f->host, (unsigned long long)f->size);
	v2v_change(w->r, path, what, NULL, after);
	return 0;
}

static int step_drivers(struct win *w, char *detail, size_t dlen)
{
	char dir[PATH_MAX], path[PATH_MAX + 256], *p;
	const struct win_file *sys;
	int r = 0;

	snprintf(path, sizeof(path), "%s/Drivers/VirtIO", w->systemroot);
	if (!(p = guest_case_path(w->gu, path)))
		return -EIO;
	snprintf(dir, sizeof(dir), "%s", p);
	free(p);
	if (guestfs_mkdir_p(w->g, dir) < 0)
		return guest_err(w->gu, dir);
	for (size_t i = 0; !r && i < w->files.n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, w->files.f[i].name);
		r = upload(w, &w->files.f[i], path, "virtio-win driver file staged for pnputil");
	}
	if (r)
		return r;
	snprintf(path, sizeof(path), "%s/System32/drivers/%s.sys", w->systemroot, w->storage);
	if (!(p = guest_case_path(w->gu, path)))
		return -EIO;
	sys = v2v_win_file(&w->files, strrchr(path, '/') + 1);
	r = upload(w, sys, p, "boot storage driver (loaded before PnP runs)");
	snprintf(detail, dlen, "%zu files in %s, %s.sys in System32\\drivers", w->files.n, dir,
		 w->storage);
	free(p);
	return r;
}

/* ---------------------------------------------------------------- firstboot */

static int step_firstboot(struct win *w, char *detail, size_t dlen)
{
	int r;

	w->fb = (struct win_firstboot){
		.gu = w->gu, .r = w->r, .systemroot = w->systemroot,
		.srvany = *w->srvany ? w->srvany : NULL,
		.vmware = w->vmware, .nb_vmware = w->nb_vmware,
	};
	r = v2v_win_firstboot_files(&w->fb);
	if (!r && !*w->srvany)
		v2v_warn(w->r, "no rhsrvany.exe or pvvxsvc.exe in %s or /usr/share/virt-tools: the "
			 "first-boot work (pnputil, VMware Tools removal) starts from HKLM RunOnce, at "
			 "the first logon of an administrator, not at boot", w->o->virtio_win);
	snprintf(detail, dlen, "pnputil%s, started by %s", w->nb_vmware ?
		 ", VMware Tools uninstall" : "", *w->srvany ? "the firstboot service" : "RunOnce");
	return r;
}

/* ---------------------------------------------------------------- registry */

struct pci_ids { const char *legacy, *modern; };

static struct pci_ids storage_ids(const char *drv)
{
	if (!strcmp(drv, "vioscsi"))
		return (struct pci_ids){ "VEN_1AF4&DEV_1004&REV_00", "VEN_1AF4&DEV_1048&REV_01" };
	return (struct pci_ids){ "VEN_1AF4&DEV_1001&REV_00", "VEN_1AF4&DEV_1042&REV_01" };
}

/* Before Windows 8: the CriticalDeviceDatabase binds a PCI ID to a service. */
static int cdd_entries(struct win *w, struct hive *h, const char *id)
{
	char key[256];
	int r;

	snprintf(key, sizeof(key), "%s\\Control\\CriticalDeviceDatabase\\PCI#%s", w->ccs, id);
	r = hive_set_sz(h, key, "Service", REG_T_SZ, w->storage);
	return r ? r : hive_set_sz(h, key, "ClassGUID", REG_T_SZ, SCSI_CLASS_GUID);
}

/* A GUID in Windows's binary layout (the first three fields little-endian). */
static void guid_bytes(const char *guid, unsigned char out[16])
{
	static const int order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
	unsigned char raw[16];
	int k = 0;

	for (const char *p = guid; *p && k < 16; p++)
		if (p[0] != '{' && p[0] != '-' && p[0] != '}' && p[1]) {
			unsigned v;

			sscanf(p, "%2x", &v);
			raw[k++] = (unsigned char)v;
			p++;
		}
	for (int i = 0; i < 16; i++)
		out[i] = raw[order[i]];
}

/* Windows 8 and later: a driver package in the DriverDatabase whose descriptors
 * name the PCI IDs and whose configuration names the service. */
static int ddb_entries(struct win *w, struct hive *h, const char *id)
{
	const char *inf = "guestor.inf", *conf = "guestor_conf";
	char label[96], key[256];
	const char *labels[] = { label, NULL }, *confs[] = { conf, NULL };
	unsigned char version[48] = { 0x00, 0xff, 0x09, 0x00 }, ids[4] = { 0x01, 0xff, 0x00, 0x00 };
	int r;

	snprintf(label, sizeof(label), "%s_%s_0000000000000000", inf, w->arch_dir);
	guid_bytes(SCSI_CLASS_GUID, version + 8);   /* the driver's class, then zeros */
	snprintf(key, sizeof(key), "DriverDatabase\\DriverInfFiles\\%s", inf);
	if ((r = hive_set_multi_sz(h, key, "", labels)) ||
	    (r = hive_set_sz(h, key, "Active", REG_T_SZ, label)) ||
	    (r = hive_set_multi_sz(h, key, "Configurations", confs)))
		return r;
	snprintf(key, sizeof(key), "DriverDatabase\\DeviceIds\\PCI\\%s", id);
	if ((r = hive_set(h, key, inf, REG_T_BINARY, ids, sizeof(ids))))
		return r;
	snprintf(key, sizeof(key), "DriverDatabase\\DriverPackages\\%s", label);
	if ((r = hive_set(h, key, "Version", REG_T_BINARY, version, sizeof(version))))
		return r;
	snprintf(key, sizeof(key), "DriverDatabase\\DriverPackages\\%s\\Configurations\\%s",
		 label, conf);
	if ((r = hive_set_dword(h, key, "ConfigFlags", 0)) ||
	    (r = hive_set_sz(h, key, "Service", REG_T_SZ, w->storage)))
		return r;
	snprintf(key, sizeof(key), "DriverDatabase\\DriverPackages\\%s\\Descriptors\\PCI\\%s",
		 label, id);
	return hive_set_sz(h, key, "Configuration", REG_T_SZ, conf);
}

/* The storage driver as a boot-start kernel driver (Start 0, Type 1). */
static int storage_service(struct win *w, struct hive *h)
{
	struct pci_ids ids = storage_ids(w->storage);
	char key[256], image[64];
	int r;

	snprintf(key, sizeof(key), "%s\\Services\\%s", w->ccs, w->storage);
	snprintf(image, sizeof(image), "system32\\drivers\\%s.sys", w->storage);
	if ((r = hive_set_dword(h, key, "Type", 1)) || (r = hive_set_dword(h, key, "Start", 0)) ||
	    (r = hive_set_dword(h, key, "ErrorControl", 1)) ||
	    (r = hive_set_sz(h, key, "Group", REG_T_SZ, "SCSI miniport")) ||
	    (r = hive_set_sz(h, key, "ImagePath", REG_T_EXPAND_SZ, image)))
		return r;
	if (w->has_ddb)
		return (r = ddb_entries(w, h, ids.legacy)) ? r : ddb_entries(w, h, ids.modern);
	return (r = cdd_entries(w, h, ids.legacy)) ? r : cdd_entries(w, h, ids.modern);
}

/* The service that runs firstboot.bat at boot through rhsrvany/pvvxsvc. */
static int firstboot_service(struct win *w, struct hive *h)
{
	char key[256], params[300];
	int r;

	snprintf(key, sizeof(key), "%s\\Services\\firstboot", w->ccs);
	snprintf(params, sizeof(params), "%s\\Parameters", key);
	if ((r = hive_set_dword(h, key, "Type", 0x10)) || (r = hive_set_dword(h, key, "Start", 2)) ||
	    (r = hive_set_dword(h, key, "ErrorControl", 1)) ||
	    (r = hive_set_sz(h, key, "ImagePath", REG_T_SZ, w->fb.service_image)) ||
	    (r = hive_set_sz(h, key, "DisplayName", REG_T_SZ, "imgtool v2v first boot")) ||
	    (r = hive_set_sz(h, key, "ObjectName", REG_T_SZ, "LocalSystem")) ||
	    (r = hive_set_sz(h, params, "CommandLine", REG_T_SZ, w->fb.command)))
		return r;
	return hive_set_sz(h, params, "PWD", REG_T_SZ, w->fb.dir_win);
}

static int update_system(struct win *w)
{
	struct hive h;
	int64_t node;
	char key[256];
	int r = hive_open(&h, w->gu, w->r, w->system_hive, "HKLM\\SYSTEM", true);

	if (r)
		return r;
	r = storage_service(w, &h);
	snprintf(key, sizeof(key), "%s\\Control\\CrashControl", w->ccs);
	if (!r && !hive_node(&h, key, false, &node))
		r = hive_set_dword(&h, key, "AutoReboot", 0);
	else if (!r)
		err_clear();
	if (!r && *w->fb.service_image)
		r = firstboot_service(w, &h);
	if (r) {
		hive_close(&h, false);
		return r;
	}
	return hive_close(&h, true);
}

/* DevicePath lists where PnP looks for drivers: add the staging folder once. */
static int device_path(struct win *w, struct hive *h)
{
	int64_t node, type;
	char *data = NULL, *cur = NULL, *nw = NULL;
	size_t len;
	int r = hive_node(h, CURRENT_VERSION_KEY, false, &node);

	if (r == -ENOENT)
		return err_set(-ENOTSUP, w->gu->image, "HKLM\\SOFTWARE\\%s is missing",
			       CURRENT_VERSION_KEY);
	if (!r)
		r = hive_get(h, node, "DevicePath", &type, &data, &len);
	if (r == -ENOENT) {
		type = REG_T_EXPAND_SZ;
		r = 0;
		cur = strdup("%SystemRoot%\\inf");
	} else if (!r) {
		cur = reg_utf8(data, len);
	}
	free(data);
	if (!r && !cur)
		r = -ENOMEM;
	if (!r && strcasestr(cur, DRIVERS_VIRTIO) == NULL) {
		r = asprintf(&nw, "%s;%s", cur, DRIVERS_VIRTIO) < 0 ? -ENOMEM : 0;
		if (!r)
			r = hive_set_sz(h, CURRENT_VERSION_KEY, "DevicePath",
					type == REG_T_SZ ? REG_T_SZ : REG_T_EXPAND_SZ, nw);
	}
	free(cur);
	free(nw);
	return r;
}

static int update_software(struct win *w)
{
	struct hive h;
	int r = hive_open(&h, w->gu, w->r, w->software_hive, "HKLM\\SOFTWARE", true);

	if (r)
		return r;
	r = device_path(w, &h);
	if (!r && !*w->fb.service_image)
		r = hive_set_sz(&h, CURRENT_VERSION_KEY "\\RunOnce", "imgtool-v2v-firstboot",
				REG_T_SZ, w->fb.command);
	if (r) {
		hive_close(&h, false);
		return r;
	}
	return hive_close(&h, true);
}

static int step_registry(struct win *w, char *detail, size_t dlen)
{
	int r = update_system(w);

	if (!r)
		r = update_software(w);
	snprintf(detail, dlen, "Services\\%s (boot start), %s for the virtio PCI IDs, DevicePath, "
		 "%s", w->storage, w->has_ddb ? "DriverDatabase" : "CriticalDeviceDatabase",
		 *w->fb.service_image ? "firstboot service" : "RunOnce");
	return r;
}

/* ---------------------------------------------------------------- the steps */

static void record(struct win *w)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();

	json_object_object_add(o, "version", json_object_new_string(w->os_dir ? w->os_dir : "?"));
	json_object_object_add(o, "build", json_object_new_int64(w->build));
	json_object_object_add(o, "storage_driver", json_object_new_string(w->storage));
	json_object_object_add(o, "driver_registration", json_object_new_string(
		w->has_ddb ? "DriverDatabase" : "CriticalDeviceDatabase"));
	json_object_object_add(o, "rtc", json_object_new_string(w->rtc_localtime ? "localtime" : "utc"));
	json_object_object_add(o, "firstboot", json_object_new_string(
		*w->srvany ? "service" : "RunOnce"));
	for (size_t i = 0; i < w->files.n; i++)
		json_object_array_add(a, json_object_new_string(w->files.f[i].name));
	json_object_object_add(o, "drivers_staged", a);
	v2v_report_set(w->r, "windows", o);
}

static void free_win(struct win *w)
{
	free(w->arch);
	free(w->product);
	free(w->variant);
	free(w->systemroot);
	free(w->ccs);
	free(w->system_hive);
	free(w->software_hive);
	v2v_win_files_free(&w->files);
	for (size_t i = 0; i < w->nb_vmware; i++) {
		free(w->vmware[i].name);
		free(w->vmware[i].display);
		free(w->vmware[i].command);
	}
}

int v2v_convert_windows(struct guest *gu, const struct v2v_windows_opts *o,
			struct v2v_report *r, bool *rtc_localtime)
{
	static const struct {
		const char *name;
		int (*fn)(struct win *, char *, size_t);
	} steps[] = {
		{ "windows check", step_check },
		{ "windows drivers", step_drivers },
		{ "windows firstboot", step_firstboot },
		{ "windows registry", step_registry },
	};
	struct win w = { .gu = gu, .g = guest_h(gu), .r = r, .o = o,
			 .storage = o->bus == V2V_BUS_VIRTIO_SCSI ? "vioscsi" : "viostor" };
	int ret = 0;

	if (!o->virtio_win)
		return err_set(-ENOTSUP, gu->image, "a Windows guest needs the virtio-win drivers: "
			       "give --virtio-win DIR; nothing was converted");
	for (size_t i = 0; !ret && i < sizeof(steps) / sizeof(*steps); i++) {
		char detail[512] = "";

		v2v_step_begin(r, steps[i].name);
		ret = steps[i].fn(&w, detail, sizeof(detail));
		v2v_step_end(r, ret, "%s", detail);
	}
	if (w.os_dir)
		record(&w);
	*rtc_localtime = w.rtc_localtime;
	free_win(&w);
	return ret;
}

#else

int v2v_convert_windows(struct guest *gu, const struct v2v_windows_opts *o,
			struct v2v_report *r, bool *rtc_localtime)
{
	return err_set(-ENOTSUP, NULL, "imgtool was built without libguestfs");
}

#endif
