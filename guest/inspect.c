/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * inspect.c - guest inspection (see inspect.h).  libguestfs finds the OS, its
 * version and mountpoints; the rest is read from the guest's own files: the
 * bootloader configuration, /boot, the hypervisor agents' files and units, and the
 * network configuration files, each read with a size cap (they are untrusted).
 * For Windows, libguestfs also reads the registry (system root, current control set,
 * hives, drive letters from MountedDevices, installed applications); the agents are
 * found by installed application and by file, on the case-insensitive NTFS.
 */
#include "guest/inspect.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "common/err.h"
#include "guest/agents.h"

#ifndef HAVE_LIBGUESTFS

int guest_inspect(struct guest *gu, struct json_object **out)
{
	return err_set(-ENOTSUP, NULL, "imgtool was built without libguestfs");
}

#else

#define CONF_MAX (1u << 20)   /* no configuration file we parse is bigger */
#define ESP_GUID "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"

static void add_str(struct json_object *o, const char *key, const char *val)
{
	json_object_object_add(o, key, val ? json_object_new_string(val) : NULL);
}

/* A libguestfs string result: added when not NULL or "unknown", then freed. */
static void add_gstr(struct json_object *o, const char *key, char *val)
{
	add_str(o, key, val && strcmp(val, "unknown") ? val : NULL);
	free(val);
}

/* Is line (up to end) a kernel command line: GRUB's linux/linux16/linuxefi/kernel,
 * syslinux's append?  GRUB's "set root='hd0,msdos1'" is not one. */
static bool is_kernel_line(const char *line, const char *end)
{
	static const char *const kw[] = { "linux", "linux16", "linuxefi", "kernel", "append" };
	size_t n;

	line += strspn(line, " \t");
	n = strcspn(line, " \t\r\n");
	if (line + n > end)
		return false;
	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
		if (strlen(kw[i]) == n && !strncasecmp(line, kw[i], n))
			return true;
	return false;
}

/* The value of the first "root=" word on a kernel line of text (the bootloader
 * configuration). */
static char *find_root_param(const char *text)
{
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *end = l + strcspn(l, "\n");

		if (!is_kernel_line(l, end))
			continue;
		for (const char *p = l; (p = strstr(p, "root=")) && p < end; p += 5) {
			if (!isspace((unsigned char)p[-1]))
				continue;
			return strndup(p + 5, strcspn(p + 5, " \t\r\n\"'"));
		}
	}
	return NULL;
}

static struct json_object *inspect_bootloader(struct guest *gu)
{
	static const struct { const char *type, *path; } confs[] = {
		{ "extlinux", "/boot/extlinux/extlinux.conf" },
		{ "extlinux", "/boot/extlinux.conf" },
		{ "extlinux", "/extlinux.conf" },
		{ "syslinux", "/boot/syslinux/syslinux.cfg" },
		{ "syslinux", "/syslinux/syslinux.cfg" },
		{ "syslinux", "/syslinux.cfg" },
		{ "grub2", "/boot/grub/grub.cfg" },
		{ "grub2", "/boot/grub2/grub.cfg" },
		{ "grub", "/boot/grub/menu.lst" },
		{ "grub", "/boot/grub/grub.conf" },
	};
	struct json_object *o;
	char *text = NULL, *root;

	for (size_t i = 0; i < sizeof(confs) / sizeof(confs[0]); i++) {
		if (guest_read(gu, confs[i].path, CONF_MAX, &text, NULL))
			continue;
		o = json_object_new_object();
		add_str(o, "type", confs[i].type);
		add_str(o, "config", confs[i].path);
		root = find_root_param(text);
		add_str(o, "root_param", root);
		free(root);
		free(text);
		return o;
	}
	/* UEFI GRUB keeps its configuration on the ESP */
	char **v = guest_glob(gu, "/boot/efi/EFI/*/grub.cfg");

	o = NULL;
	if (guest_strv_len(v)) {
		o = json_object_new_object();
		add_str(o, "type", "grub2-efi");
		add_str(o, "config", v[0]);
		add_str(o, "root_param", NULL);
	}
	guest_free_strv(v);
	err_clear();
	return o;
}

/* The init system /sbin/init is: systemd, busybox, upstart, sysvinit, or NULL. */
static const char *init_system(struct guest *gu)
{
	char *target = guestfs_readlink(guest_h(gu), "/sbin/init");
	const char *s = NULL;

	if (target) {
		s = strstr(target, "systemd") ? "systemd" : strstr(target, "busybox") ? "busybox"
		    : strstr(target, "upstart") ? "upstart" : NULL;
		free(target);
	}
	err_clear();
	if (!s && guest_is_file(gu, "/sbin/init") && guest_exists(gu, "/etc/inittab"))
		s = "sysvinit";
	return s;
}

/* The EFI system partition's device, or NULL. */
static char *find_esp(struct guest *gu)
{
	guestfs_h *g = guest_h(gu);
	char **parts = guestfs_list_partitions(g);
	char *esp = NULL;

	for (size_t i = 0; parts && parts[i] && !esp; i++) {
		char *dev = guestfs_part_to_dev(g, parts[i]);
		int num = guestfs_part_to_partnum(g, parts[i]);
		char *pt = dev ? guestfs_part_get_parttype(g, dev) : NULL;

		if (pt && num > 0 && !strcmp(pt, "gpt")) {
			char *t = guestfs_part_get_gpt_type(g, dev, num);

			if (t && !strcasecmp(t, ESP_GUID))
				esp = strdup(parts[i]);
			free(t);
		} else if (pt && num > 0 && !strcmp(pt, "msdos")) {
			if (guestfs_part_get_mbr_id(g, dev, num) == 0xef)
				esp = strdup(parts[i]);
		}
		free(pt);
		free(dev);
	}
	guest_free_strv(parts);
	return esp;
}

static void inspect_boot_files(struct guest *gu, struct json_object *o)
{
	struct json_object *k = json_object_new_array(), *i = json_object_new_array();
	char **v = guestfs_ls(guest_h(gu), "/boot");
	char path[4096];

	for (size_t n = 0; v && v[n]; n++) {
		snprintf(path, sizeof(path), "/boot/%s", v[n]);
		if (!strncmp(v[n], "vmlinuz", 7) || !strncmp(v[n], "vmlinux", 7) ||
		    !strncmp(v[n], "bzImage", 7))
			json_object_array_add(k, json_object_new_string(path));
		else if (!strncmp(v[n], "initrd", 6) || !strncmp(v[n], "initramfs", 9))
			json_object_array_add(i, json_object_new_string(path));
	}
	guest_free_strv(v);
	json_object_object_add(o, "kernels", k);
	json_object_object_add(o, "initramfs", i);
}

/* The agent already reported under name, or NULL. */
static struct json_object *find_agent(struct json_object *arr, const char *name)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *o = json_object_array_get_idx(arr, i);

		if (!strcmp(json_object_get_string(json_object_object_get(o, "name")), name))
			return o;
	}
	return NULL;
}

static struct json_object *inspect_agents(struct guest *gu)
{
	struct json_object *arr = json_object_new_array();

	for (size_t a = 0; a < guest_nb_agents; a++) {
		const struct guest_agent *d = &guest_agents[a];
		struct json_object *files, *o, *pf;

		if (!d->linux_files[0])
			continue;
		files = json_object_new_array();
		for (size_t p = 0; d->linux_files[p]; p++) {
			char **v = guest_glob(gu, d->linux_files[p]);

			for (size_t i = 0; v && v[i]; i++)
				json_object_array_add(files, json_object_new_string(v[i]));
			guest_free_strv(v);
		}
		if (!json_object_array_length(files)) {
			json_object_put(files);
			continue;
		}
		o = d->linux_part_of ? find_agent(arr, d->linux_part_of) : NULL;
		if (o && json_object_object_get_ex(o, "files", &pf)) {
			for (size_t i = 0; i < json_object_array_length(files); i++)
				json_object_array_add(pf, json_object_get(
					json_object_array_get_idx(files, i)));
			json_object_put(files);
			continue;
		}
		o = json_object_new_object();
		add_str(o, "name", d->name);
		add_str(o, "hypervisor", d->hypervisor);
		json_object_object_add(o, "files", files);
		json_object_array_add(arr, o);
	}
	err_clear();
	return arr;
}

static bool is_mac_at(const char *p)
{
	for (int i = 0; i < 17; i++) {
		if (i % 3 == 2 ? p[i] != ':' : !isxdigit((unsigned char)p[i]))
			return false;
	}
	return !isxdigit((unsigned char)p[17]) && p[17] != ':';
}

static void add_unique(struct json_object *arr, const char *s, size_t n)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		const char *e = json_object_get_string(json_object_array_get_idx(arr, i));

		if (strlen(e) == n && !strncmp(e, s, n))
			return;
	}
	json_object_array_add(arr, json_object_new_string_len(s, (int)n));
}

static size_t indent_of(const char *line)
{
	size_t n = 0;

	while (line[n] == ' ')
		n++;
	return n;
}

/* Interface names of one configuration line, by the file's kind. */
static void parse_net_line(const char *kind, const char *line, struct json_object *ifs,
			   long *eth_indent, long *child_indent)
{
	const char *t = line + strspn(line, " \t");
	size_t n;

	if (!strcmp(kind, "ifupdown")) {
		static const char *const kw[] = { "iface ", "auto ", "allow-hotplug ",
						  "allow-auto " };

		for (size_t k = 0; k < 4; k++) {
			if (strncmp(t, kw[k], strlen(kw[k])))
				continue;
			t += strlen(kw[k]);
			t += strspn(t, " \t");
			n = strcspn(t, " \t\r");
			if (n && strncmp(t, "lo", n ? n : 1))
				add_unique(ifs, t, n);
		}
	} else if (!strcmp(kind, "ifcfg") && !strncmp(t, "DEVICE=", 7)) {
		t += 7 + (t[7] == '"');
		add_unique(ifs, t, strcspn(t, "\"\r "));
	} else if (!strcmp(kind, "networkmanager") && !strncmp(t, "interface-name=", 15)) {
		add_unique(ifs, t + 15, strcspn(t + 15, "\r "));
	} else if (!strcmp(kind, "systemd-networkd") && !strncmp(t, "Name=", 5)) {
		add_unique(ifs, t + 5, strcspn(t + 5, "\r "));
	} else if (!strcmp(kind, "udev-rules")) {
		const char *p = strstr(t, "NAME=\"");

		if (p)
			add_unique(ifs, p + 6, strcspn(p + 6, "\""));
	} else if (!strcmp(kind, "netplan") && *t && *t != '#') {
		long ind = (long)indent_of(line);

		if (*eth_indent >= 0 && ind <= *eth_indent)
			*eth_indent = *child_indent = -1;
		if (!strncmp(t, "ethernets:", 10) || !strncmp(t, "bonds:", 6) ||
		    !strncmp(t, "bridges:", 8) || !strncmp(t, "vlans:", 6)) {
			*eth_indent = ind;
			return;
		}
		if (*eth_indent < 0)
			return;
		if (*child_indent < 0)
			*child_indent = ind;
		n = strcspn(t, ":");
		if (ind == *child_indent && t[n] == ':')
			add_unique(ifs, t, n);
	}
}

static struct json_object *inspect_net_file(struct guest *gu, const char *path,
					    const char *kind)
{
	struct json_object *o, *ifs, *macs;
	long eth = -1, child = -1;
	char *text, *save = NULL;

	if (guest_read(gu, path, CONF_MAX, &text, NULL)) {
		err_clear();
		return NULL;
	}
	o = json_object_new_object();
	ifs = json_object_new_array();
	macs = json_object_new_array();
	add_str(o, "file", path);
	add_str(o, "kind", kind);
	for (const char *p = text; *p; p++) {
		if (p + 17 <= text + strlen(text) && is_mac_at(p) &&
		    (p == text || (!isxdigit((unsigned char)p[-1]) && p[-1] != ':')))
			add_unique(macs, p, 17);
	}
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[strspn(line, " \t")] != '#')
			parse_net_line(kind, line, ifs, &eth, &child);
	}
	free(text);
	json_object_object_add(o, "interfaces", ifs);
	json_object_object_add(o, "macs", macs);
	return o;
}

static struct json_object *inspect_network(struct guest *gu)
{
	static const struct { const char *kind, *pattern; } files[] = {
		{ "ifupdown", "/etc/network/interfaces" },
		{ "ifupdown", "/etc/network/interfaces.d/*" },
		{ "netplan", "/etc/netplan/*.yaml" },
		{ "networkmanager", "/etc/NetworkManager/system-connections/*" },
		{ "ifcfg", "/etc/sysconfig/network-scripts/ifcfg-*" },
		{ "ifcfg", "/etc/sysconfig/network/ifcfg-*" },
		{ "systemd-networkd", "/etc/systemd/network/*.network" },
		{ "systemd-networkd", "/etc/systemd/network/*.link" },
		{ "udev-rules", "/etc/udev/rules.d/70-persistent-net.rules" },
	};
	struct json_object *arr = json_object_new_array();

	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		char **v = guest_glob(gu, files[f].pattern);

		for (size_t i = 0; v && v[i]; i++) {
			struct json_object *o = inspect_net_file(gu, v[i], files[f].kind);

			if (o)
				json_object_array_add(arr, o);
		}
		guest_free_strv(v);
	}
	err_clear();
	return arr;
}

/* The device /etc/fstab mounts on /, as written (e.g. /dev/sda1, UUID=...). */
static char *fstab_root(struct guest *gu)
{
	char *text, *save = NULL, *res = NULL;

	if (guest_read(gu, "/etc/fstab", CONF_MAX, &text, NULL)) {
		err_clear();
		return NULL;
	}
	for (char *l = strtok_r(text, "\n", &save); l && !res; l = strtok_r(NULL, "\n", &save)) {
		char dev[512], mp[512];

		if (l[strspn(l, " \t")] == '#')
			continue;
		if (sscanf(l, "%511s %511s", dev, mp) == 2 && !strcmp(mp, "/"))
			res = strdup(dev);
	}
	free(text);
	return res;
}

static void add_reason(struct json_object *arr, const char *s)
{
	json_object_array_add(arr, json_object_new_string(s));
}

/* ---- Windows: what libguestfs reads from the registry, applications, agents ---- */

/* path as it is on the guest's case-insensitive file system, when it exists */
static char *win_path(struct guest *gu, const char *path)
{
	char *p = guest_case_path(gu, path);

	if (p && !guest_exists(gu, p)) {
		free(p);
		p = NULL;
	}
	err_clear();
	return p;
}

/* The installed applications (HKLM\SOFTWARE\...\Uninstall), as libguestfs lists them. */
static struct json_object *win_applications(struct guest *gu)
{
	struct guestfs_application2_list *l =
		guestfs_inspect_list_applications2(guest_h(gu), gu->root);
	struct json_object *arr = json_object_new_array();

	for (uint32_t i = 0; l && i < l->len; i++) {
		struct guestfs_application2 *a = &l->val[i];
		struct json_object *o = json_object_new_object();

		add_str(o, "name", a->app2_name);
		add_str(o, "display_name", *a->app2_display_name ? a->app2_display_name : NULL);
		add_str(o, "version", *a->app2_version ? a->app2_version : NULL);
		add_str(o, "publisher", *a->app2_publisher ? a->app2_publisher : NULL);
		add_str(o, "install_path", *a->app2_install_path ? a->app2_install_path : NULL);
		json_object_array_add(arr, o);
	}
	if (l)
		guestfs_free_application2_list(l);
	err_clear();
	return arr;
}

/* The application of apps whose display name starts with one of prefixes, or NULL. */
static struct json_object *find_app(struct json_object *apps, const char *const *prefixes)
{
	for (size_t i = 0; i < json_object_array_length(apps); i++) {
		struct json_object *a = json_object_array_get_idx(apps, i), *d;

		if (!json_object_object_get_ex(a, "display_name", &d) || !d)
			continue;
		for (size_t p = 0; prefixes[p]; p++)
			if (!strncasecmp(json_object_get_string(d), prefixes[p], strlen(prefixes[p])))
				return a;
	}
	return NULL;
}

/* Hypervisor agents of a Windows guest: by installed application or by file. */
static struct json_object *win_agents(struct guest *gu, const char *sysroot,
				      struct json_object *apps)
{
	struct json_object *arr = json_object_new_array();
	char path[4096];

	for (size_t a = 0; a < guest_nb_agents; a++) {
		const struct guest_agent *d = &guest_agents[a];
		struct json_object *files, *app, *o;

		if (!d->windows_apps[0] && !d->windows_files[0])
			continue;
		files = json_object_new_array();
		for (size_t p = 0; d->windows_files[p]; p++) {
			const char *f = d->windows_files[p];
			char *real;

			snprintf(path, sizeof(path), "%s%s",
				 f[1] == 'S' ? sysroot : "/Program Files", f + 2);
			if ((real = win_path(gu, path))) {
				json_object_array_add(files, json_object_new_string(real));
				free(real);
			}
		}
		app = find_app(apps, d->windows_apps);
		if (!app && !json_object_array_length(files)) {
			json_object_put(files);
			continue;
		}
		o = json_object_new_object();
		add_str(o, "name", d->name);
		add_str(o, "hypervisor", d->hypervisor);
		json_object_object_add(o, "files", files);
		if (app) {
			json_object_object_add(o, "display_name", json_object_get(
				json_object_object_get(app, "display_name")));
			json_object_object_add(o, "version", json_object_get(
				json_object_object_get(app, "version")));
		}
		json_object_array_add(arr, o);
	}
	return arr;
}

/* The Windows facts: variant, system root, control set, hives, drive letters,
 * applications and agents (which replace the Linux agent search). */
static void inspect_windows(struct guest *gu, struct json_object *o)
{
	guestfs_h *g = guest_h(gu);
	struct json_object *drives = json_object_new_object(), *apps;
	char *sysroot = guestfs_inspect_get_windows_systemroot(g, gu->root);
	char **v;

	add_gstr(o, "product_variant", guestfs_inspect_get_product_variant(g, gu->root));
	add_str(o, "windows_systemroot", sysroot);
	add_gstr(o, "windows_current_control_set",
		 guestfs_inspect_get_windows_current_control_set(g, gu->root));
	add_gstr(o, "windows_software_hive", guestfs_inspect_get_windows_software_hive(g, gu->root));
	add_gstr(o, "windows_system_hive", guestfs_inspect_get_windows_system_hive(g, gu->root));
	v = guestfs_inspect_get_drive_mappings(g, gu->root);
	for (size_t i = 0; v && v[i] && v[i + 1]; i += 2)
		json_object_object_add(drives, v[i], json_object_new_string(v[i + 1]));
	guest_free_strv(v);
	json_object_object_add(o, "drive_mappings", drives);
	err_clear();
	apps = win_applications(gu);
	json_object_object_add(o, "applications", apps);
	json_object_object_add(o, "agents", win_agents(gu, sysroot ? sysroot : "/Windows", apps));
	free(sysroot);
	err_clear();
}

/* Why this Windows guest cannot be converted even with virtio-win (into why), and
 * what the conversion needs (into needs). */
static void assess_windows(struct json_object *o, struct json_object *why,
			   struct json_object *needs, struct json_object *notes)
{
	struct json_object *v;
	const char *arch = NULL;
	int major = 0;

	if (json_object_object_get_ex(o, "version", &v) && v)
		major = atoi(json_object_get_string(v));
	if (json_object_object_get_ex(o, "arch", &v) && v)
		arch = json_object_get_string(v);
	if (major < 6)
		add_reason(why, "Windows before Vista/2008 (NT 6.0): the virtio-win drivers do not support it");
	if (!arch || (strcmp(arch, "x86_64") && strcmp(arch, "i386")))
		add_reason(why, "Windows architecture unknown or not x86 (cmd.exe unreadable)");
	if (!json_object_object_get_ex(o, "windows_system_hive", &v) || !v ||
	    !json_object_object_get_ex(o, "windows_software_hive", &v) || !v)
		add_reason(why, "the SYSTEM or SOFTWARE registry hive was not found");
	else if (!json_object_object_get_ex(o, "windows_current_control_set", &v) || !v)
		add_reason(why, "the SYSTEM hive names no current control set (Select\\Current)");
	add_reason(needs, "--virtio-win DIR");
	add_reason(notes, "Windows needs the virtio storage and network drivers (viostor or vioscsi, "
		   "netkvm): give --virtio-win DIR (the content of the virtio-win ISO)");
}

/* Can imgtool convert this guest to KVM, and what will the conversion change? */
static void assess(struct json_object *o)
{
	struct json_object *why = json_object_new_array(), *notes = json_object_new_array();
	struct json_object *v, *needs = NULL;
	const char *type = NULL;
	char buf[512];

	if (json_object_object_get_ex(o, "os_type", &v))
		type = json_object_get_string(v);
	if (type && !strcmp(type, "linux")) {
		struct json_object *bl = NULL, *k = NULL;

		json_object_object_get_ex(o, "bootloader", &bl);
		json_object_object_get_ex(o, "kernels", &k);
		if (!bl)
			add_reason(why, "no bootloader configuration found (extlinux, syslinux or GRUB)");
		if (!k || !json_object_array_length(k))
			add_reason(why, "no kernel found in /boot");
	} else if (type && !strcmp(type, "windows")) {
		needs = json_object_new_array();
		assess_windows(o, why, needs, notes);
	} else {
		snprintf(buf, sizeof(buf), "unsupported operating system type: %s",
			 type ? type : "unknown");
		add_reason(why, buf);
	}
	if (json_object_object_get_ex(o, "fstab_root", &v) && v &&
	    !strncmp(json_object_get_string(v), "/dev/sd", 7)) {
		snprintf(buf, sizeof(buf), "/etc/fstab mounts / from %s, a name that changes on virtio",
			 json_object_get_string(v));
		add_reason(notes, buf);
	}
	if (json_object_object_get_ex(o, "agents", &v)) {
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			struct json_object *a = json_object_array_get_idx(v, i), *h, *n;

			json_object_object_get_ex(a, "hypervisor", &h);
			json_object_object_get_ex(a, "name", &n);
			if (strcmp(json_object_get_string(h), "kvm")) {
				snprintf(buf, sizeof(buf), "%s is installed: useless on KVM",
					 json_object_get_string(n));
				add_reason(notes, buf);
			}
		}
	}
	json_object_object_add(o, "convertible", json_object_new_boolean(!json_object_array_length(why)));
	json_object_object_add(o, "not_convertible_because", why);
	/* what the conversion must be given (Windows: the drivers), absent for Linux */
	if (needs)
		json_object_object_add(o, "convertible_requires", needs);
	json_object_object_add(o, "notes", notes);
}

int guest_inspect(struct guest *gu, struct json_object **out)
{
	guestfs_h *g = guest_h(gu);
	struct json_object *o = json_object_new_object(), *mps;
	char **v;
	char *s, *esp, buf[64];
	int maj, min;
	bool is_windows;

	add_str(o, "root", gu->root);
	s = guestfs_inspect_get_type(g, gu->root);
	is_windows = s && !strcmp(s, "windows");
	add_gstr(o, "os_type", s);
	add_gstr(o, "distro", guestfs_inspect_get_distro(g, gu->root));
	add_gstr(o, "product_name", guestfs_inspect_get_product_name(g, gu->root));
	maj = guestfs_inspect_get_major_version(g, gu->root);
	min = guestfs_inspect_get_minor_version(g, gu->root);
	snprintf(buf, sizeof(buf), "%d.%d", maj, min);
	add_str(o, "version", maj > 0 || min > 0 ? buf : NULL);
	add_gstr(o, "arch", guestfs_inspect_get_arch(g, gu->root));
	add_gstr(o, "hostname", guestfs_inspect_get_hostname(g, gu->root));
	add_gstr(o, "package_format", guestfs_inspect_get_package_format(g, gu->root));
	add_gstr(o, "root_filesystem", guestfs_vfs_type(g, gu->root));
	s = fstab_root(gu);
	add_str(o, "fstab_root", s);
	free(s);
	mps = json_object_new_object();
	v = guestfs_inspect_get_mountpoints(g, gu->root);
	for (size_t i = 0; v && v[i] && v[i + 1]; i += 2)
		json_object_object_add(mps, v[i], json_object_new_string(v[i + 1]));
	guest_free_strv(v);
	json_object_object_add(o, "mountpoints", mps);
	json_object_object_add(o, "bootloader", inspect_bootloader(gu));
	esp = find_esp(gu);
	add_str(o, "firmware", esp ? "uefi" : "bios");
	add_str(o, "esp", esp);
	free(esp);
	inspect_boot_files(gu, o);
	add_str(o, "init", init_system(gu));
	if (is_windows)
		inspect_windows(gu, o);
	else
		json_object_object_add(o, "agents", inspect_agents(gu));
	json_object_object_add(o, "network", inspect_network(gu));
	assess(o);
	err_clear();
	*out = o;
	return 0;
}

#endif

static const char *str_of(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return "-";
	return json_object_get_string(v);
}

static void print_list(const char *label, struct json_object *arr)
{
	size_t n = arr ? json_object_array_length(arr) : 0;

	printf("%s", label);
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i ? ", " : "", json_object_get_string(json_object_array_get_idx(arr, i)));
	printf("%s\n", n ? "" : "none");
}

/* The Windows lines: variant, system root, control set, drive letters, applications. */
static void print_windows(struct json_object *o)
{
	struct json_object *v = NULL;

	printf("product variant: %s\n", str_of(o, "product_variant"));
	printf("systemroot:      %s\n", str_of(o, "windows_systemroot"));
	printf("control set:     %s\n", str_of(o, "windows_current_control_set"));
	printf("drive letters:  ");
	if (json_object_object_get_ex(o, "drive_mappings", &v) && v && json_object_object_length(v)) {
		json_object_object_foreach(v, letter, dev)
			printf(" %s: %s", letter, json_object_get_string(dev));
	} else {
		printf(" none");
	}
	printf("\n");
	printf("applications:");
	if (json_object_object_get_ex(o, "applications", &v) && v && json_object_array_length(v)) {
		printf("\n");
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			struct json_object *a = json_object_array_get_idx(v, i);

			printf("  %s %s (%s)\n", str_of(a, "display_name"), str_of(a, "version"),
			       str_of(a, "publisher"));
		}
	} else {
		printf("    none\n");
	}
}

void inspect_print_human(struct json_object *o)
{
	struct json_object *v = NULL, *bl = NULL;

	printf("root device:     %s\n", str_of(o, "root"));
	printf("os type:         %s\n", str_of(o, "os_type"));
	printf("distribution:    %s\n", str_of(o, "distro"));
	printf("product name:    %s\n", str_of(o, "product_name"));
	printf("version:         %s\n", str_of(o, "version"));
	printf("architecture:    %s\n", str_of(o, "arch"));
	printf("hostname:        %s\n", str_of(o, "hostname"));
	if (json_object_object_get_ex(o, "windows_systemroot", NULL))
		print_windows(o);
	printf("package format:  %s\n", str_of(o, "package_format"));
	printf("root filesystem: %s\n", str_of(o, "root_filesystem"));
	printf("fstab root:      %s\n", str_of(o, "fstab_root"));
	if (json_object_object_get_ex(o, "mountpoints", &v) && v) {
		printf("mountpoints:\n");
		json_object_object_foreach(v, mp, dev)
			printf("  %-14s %s\n", mp, json_object_get_string(dev));
	}
	if (json_object_object_get_ex(o, "bootloader", &bl) && bl)
		printf("bootloader:      %s (%s, root=%s)\n", str_of(bl, "type"),
		       str_of(bl, "config"), str_of(bl, "root_param"));
	else
		printf("bootloader:      none found\n");
	printf("firmware:        %s", str_of(o, "firmware"));
	if (json_object_object_get_ex(o, "esp", &v) && v)
		printf(" (EFI system partition %s)", json_object_get_string(v));
	printf("\n");
	json_object_object_get_ex(o, "kernels", &v);
	print_list("kernels:         ", v);
	json_object_object_get_ex(o, "initramfs", &v);
	print_list("initramfs:       ", v);
	printf("init:            %s\n", str_of(o, "init"));
	printf("agents:");
	if (json_object_object_get_ex(o, "agents", &v) && v && json_object_array_length(v)) {
		printf("\n");
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			struct json_object *a = json_object_array_get_idx(v, i), *f = NULL;

			json_object_object_get_ex(a, "files", &f);
			printf("  %s (%s): ", str_of(a, "name"), str_of(a, "hypervisor"));
			/* Windows agents are also installed applications, with a version */
			if (json_object_object_get_ex(a, "display_name", NULL))
				printf("installed: %s %s, ", str_of(a, "display_name"),
				       str_of(a, "version"));
			if (json_object_array_length(f))
				printf("%zu file(s), e.g. %s\n", json_object_array_length(f),
				       json_object_get_string(json_object_array_get_idx(f, 0)));
			else
				printf("no file found\n");
		}
	} else {
		printf("          none\n");
	}
	printf("network:");
	if (json_object_object_get_ex(o, "network", &v) && v && json_object_array_length(v)) {
		printf("\n");
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			struct json_object *n = json_object_array_get_idx(v, i), *x = NULL;

			printf("  %s (%s)\n", str_of(n, "file"), str_of(n, "kind"));
			json_object_object_get_ex(n, "interfaces", &x);
			print_list("    interfaces: ", x);
			json_object_object_get_ex(n, "macs", &x);
			print_list("    MACs:       ", x);
		}
	} else {
		printf("         no configuration found\n");
	}
	json_object_object_get_ex(o, "convertible", &v);
	printf("convertible:     %s", json_object_get_boolean(v) ? "yes" : "no");
	if (json_object_get_boolean(v) &&
	    json_object_object_get_ex(o, "convertible_requires", &v) && v)
		for (size_t i = 0; i < json_object_array_length(v); i++)
			printf("%s%s", i ? ", " : ", with ",
			       json_object_get_string(json_object_array_get_idx(v, i)));
	printf("\n");
	if (json_object_object_get_ex(o, "not_convertible_because", &v) && v)
		for (size_t i = 0; i < json_object_array_length(v); i++)
			printf("  because: %s\n", json_object_get_string(json_object_array_get_idx(v, i)));
	if (json_object_object_get_ex(o, "notes", &v) && v)
		for (size_t i = 0; i < json_object_array_length(v); i++)
			printf("  note: %s\n", json_object_get_string(json_object_array_get_idx(v, i)));
}
