/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * linux.c - make a Linux guest copied from VMware/Hyper-V/VirtualBox (or a
 * physical machine) boot and run on KVM with virtio, in one libguestfs session:
 *
 *   agents      remove VMware tools / open-vm-tools, Hyper-V daemons, VirtualBox
 *               additions with the guest's package manager (offline file removal
 *               when dpkg cannot run, said in the report)
 *   devices     /dev/sdX, /dev/hdX, /dev/xvdX, VMware by-path names -> UUID= (or
 *               the virtio name) in fstab, crypttab, resume, GRUB, extlinux, BLS
 *   bootloader  grub.cfg regenerated with the guest's update-grub/grub2-mkconfig,
 *               then checked to name no old device
 *   initramfs   virtio_blk/scsi/net/pci added with the guest's own tool, for every
 *               installed kernel, then checked by listing the image
 *   network     vmxnet3/e1000/hv_netvsc interface names -> the virtio NIC's name,
 *               persistent net rules removed
 *   selinux     relabel at next boot where SELinux is on
 *
 * Commands run inside the guest (chroot) through guestfs_sh, so the guest's own
 * tools and configuration decide, as on a real boot.  Each step records every
 * change (before/after) and fails with the step's name on any error.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "guest/agents.h"
#include "guest/guest.h"
#include "v2v/v2v.h"

#ifdef HAVE_LIBGUESTFS

#define MAX_CONFIG (4u << 20)  /* guest config files are small; refuse huge ones */
#define GUEST_PATH "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; "
#define VIRTIO_MODULES "virtio_blk virtio_scsi virtio_net virtio_pci"

struct lx {
	struct guest *gu;
	guestfs_h *g;
	struct v2v_report *r;
	const struct v2v_linux_opts *o;
	bool net_ifnames_off;     /* net.ifnames=0 on the kernel command line */
};

/* Run a shell command in the guest; *out (may be NULL) gets its output. */
static int run_sh(struct lx *x, const char *what, const char *cmd, char **out)
{
	size_t len = strlen(GUEST_PATH) + strlen(cmd) + 16;
	char *full = malloc(len);
	char *o;

	if (!full)
		return -ENOMEM;
	snprintf(full, len, "%s%s 2>&1", GUEST_PATH, cmd);
	o = guestfs_sh(x->g, full);
	free(full);
	if (!o)
		return guest_err(x->gu, what);
	if (out)
		*out = o;
	else
		free(o);
	return 0;
}

static int write_file(struct lx *x, const char *path, const char *text)
{
	if (guestfs_write(x->g, path, text, strlen(text)) < 0)
		return guest_err(x->gu, path);
	return 0;
}

/* ---------------------------------------------------------------- agents */

#define MAX_PKGS 16

struct pkg {
	char name[128];
	char ver[128];
};

/* The installed agent packages, from the guest's package database. */
static int installed_agents(struct lx *x, bool dpkg, struct pkg *pk, int *n)
{
	char cmd[1024], *out = NULL, *save = NULL;
	size_t len;
	int r;

	len = (size_t)snprintf(cmd, sizeof(cmd), "%s", dpkg ?
		"dpkg-query -W -f='${Status} ${Package} ${Version}\\n'" :
		"rpm -q --qf 'install ok installed %{NAME} %{VERSION}-%{RELEASE}\\n'");
	for (size_t a = 0; a < guest_nb_agents; a++) {
		const char *const *names = dpkg ? guest_agents[a].dpkg_packages
						: guest_agents[a].rpm_packages;

		for (int i = 0; names[i]; i++)
			len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, " %s", names[i]);
	}
	snprintf(cmd + len, sizeof(cmd) - len, "%s",
		 " 2>/dev/null | grep -E '^[a-z]+ ok (installed|config-files) ' || true");
	r = run_sh(x, "list the agent packages", cmd, &out);
	if (r)
		return r;
	*n = 0;
	for (char *l = strtok_r(out, "\n", &save); l && *n < MAX_PKGS; l = strtok_r(NULL, "\n", &save)) {
		pk[*n].ver[0] = '\0';
		if (sscanf(l, "%*s %*s %*s %127s %127s", pk[*n].name, pk[*n].ver) >= 1)
			(*n)++;
	}
	free(out);
	return 0;
}

/* dpkg could not run: remove what the package installed (its file list) and say so. */
static int remove_offline(struct lx *x, const struct pkg *p)
{
	char path[256], *list = NULL, *save = NULL;
	int r, removed = 0;

	snprintf(path, sizeof(path), "/var/lib/dpkg/info/%.200s.list", p->name);
	r = guest_read(x->gu, path, MAX_CONFIG, &list, NULL);
	if (r)
		return err_set(r == -ENOENT ? -EIO : r, x->gu->image,
			       "remove %s: dpkg failed and %s is missing", p->name, path);
	for (char *l = strtok_r(list, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (*l == '/' && guestfs_is_file(x->g, l) == 1 && guestfs_rm(x->g, l) == 0)
			removed++;
	free(list);
	v2v_change(x->r, path, "package files removed offline (dpkg could not run; "
		   "the package database still lists it)", p->name, "files removed");
	v2v_warn(x->r, "%s: dpkg could not run in the guest: %d files removed offline",
		 p->name, removed);
	return 0;
}

static int remove_packages(struct lx *x, bool dpkg, const struct pkg *pk, int n)
{
	char cmd[4096], what[256];
	size_t len = (size_t)snprintf(cmd, sizeof(cmd), "%s", dpkg ?
		"DEBIAN_FRONTEND=noninteractive dpkg --purge" : "rpm -e --nodeps");
	int r;

	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, " %s", pk[i].name);
	r = run_sh(x, dpkg ? "dpkg --purge" : "rpm -e", cmd, NULL);
	if (r && dpkg) {
		v2v_warn(x->r, "%s", err_get());
		err_clear();
		for (int i = 0; i < n; i++)
			if ((r = remove_offline(x, &pk[i])))
				return r;
		return 0;
	}
	if (r)
		return r;
	for (int i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "package %.128s %s", pk[i].name,
			 dpkg ? "purged (dpkg --purge)" : "removed (rpm -e)");
		v2v_change(x->r, dpkg ? "/var/lib/dpkg/status" : "/var/lib/rpm", what,
			   *pk[i].ver ? pk[i].ver : "installed", "not installed");
	}
	return 0;
}

/* An agent installed without a package (VMware Tools from VMware's tarball): its
 * own uninstaller. */
static int remove_unpackaged(struct lx *x)
{
	for (size_t a = 0; a < guest_nb_agents; a++) {
		const char *u = guest_agents[a].linux_uninstaller;
		char what[256];
		int r;

		if (!u || guestfs_is_file(x->g, u) != 1)
			continue;
		r = run_sh(x, strrchr(u, '/') + 1, u, NULL);
		if (r)
			return r;
		snprintf(what, sizeof(what), "%s uninstalled", guest_agents[a].uninstalled_title);
		v2v_change(x->r, u, what, "installed", "removed");
	}
	return 0;
}

static int step_agents(struct lx *x, char *detail, size_t dlen)
{
	bool dpkg = guestfs_is_file(x->g, "/usr/bin/dpkg") == 1;
	bool rpm = !dpkg && guestfs_is_file(x->g, "/usr/bin/rpm") == 1;
	struct pkg pk[MAX_PKGS];
	int r, n = 0;
	size_t l = 0;

	if (dpkg || rpm) {
		r = installed_agents(x, dpkg, pk, &n);
		if (!r && n)
			r = remove_packages(x, dpkg, pk, n);
		if (r)
			return r;
	}
	l = (size_t)snprintf(detail, dlen, n ? "removed:" : "no hypervisor agents installed");
	for (int i = 0; i < n && l < dlen; i++)
		l += (size_t)snprintf(detail + l, dlen - l, " %s", pk[i].name);
	return remove_unpackaged(x);
}

/* ---------------------------------------------------------------- device names */

static void disk_letters(int disk, char *buf)
{
	char tmp[8];
	int n = 0;

	disk++;
	while (disk > 0 && n < 7) {
		tmp[n++] = (char)('a' + (disk - 1) % 26);
		disk = (disk - 1) / 26;
	}
	for (int i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
}

struct map_ctx {
	struct lx *x;
	bool uuid;                /* UUID= allowed in this context */
};

/* The appliance names the disks sda, sdb... in the order they were added, which is
 * the guest's own order: the filesystem on the old name is found there. */
static char *map_name(void *arg, const char *name, int disk, int part)
{
	struct map_ctx *m = arg;
	char l[8], dev[32], *uuid, *out = NULL;

	if (disk >= m->x->o->nb_disks)
		return NULL;
	disk_letters(disk, l);
	if (part)
		snprintf(dev, sizeof(dev), "/dev/sd%s%d", l, part);
	else
		snprintf(dev, sizeof(dev), "/dev/sd%s", l);
	if (m->uuid) {
		uuid = guestfs_vfs_uuid(m->x->g, dev);
		if (uuid && *uuid && asprintf(&out, "UUID=%s", uuid) < 0)
			out = NULL;
		free(uuid);
		if (out)
			return out;
	}
	if (asprintf(&out, "/dev/%s%s%s", m->x->o->bus == V2V_BUS_VIRTIO ? "vd" : "sd", l,
		     part ? (snprintf(dev, sizeof(dev), "%d", part), dev) : "") < 0)
		return NULL;
	return strcmp(out, name) ? out : (free(out), NULL);
}

/* Rewrite one guest file line by line (comments kept), recording each changed line. */
static int rewrite_file(struct lx *x, const char *path, bool uuid, int *changed)
{
	struct map_ctx m = { x, uuid };
	char *text = NULL, *save = NULL;
	FILE *o;
	char *res = NULL;
	size_t rlen = 0;
	int r, n = 0;

	*changed = 0;
	r = guest_read(x->gu, path, MAX_CONFIG, &text, NULL);
	if (r == -ENOENT) {
		err_clear();
		return 0;
	}
	if (r)
		return r;
	o = open_memstream(&res, &rlen);
	if (!o) {
		free(text);
		return -ENOMEM;
	}
	/* strtok_r would drop empty lines: walk by hand */
	for (char *l = text; *l; ) {
		char *nl = strchr(l, '\n'), *nw = NULL;
		int c = 0;

		if (nl)
			*nl = '\0';
		const char *s = l;
		while (isspace((unsigned char)*s))
			s++;
		if (*s != '#' && (r = v2v_devname_rewrite(l, map_name, &m, &nw, &c)))
			break;
		if (c) {
			v2v_change(x->r, path, "device name", l, nw);
			n += c;
		}
		fprintf(o, "%s%s", c ? nw : l, nl ? "\n" : "");
		free(nw);
		if (!nl)
			break;
		l = nl + 1;
	}
	(void)save;
	fclose(o);
	if (!r && n)
		r = write_file(x, path, res);
	free(res);
	free(text);
	*changed = n;
	return r;
}

/* Files naming devices: fstab and friends take UUID=, device maps the disk name. */
static const char *const uuid_files[] = {
	"/etc/fstab", "/etc/crypttab", "/etc/default/grub", "/etc/initramfs-tools/conf.d/resume",
	"/boot/grub/menu.lst", "/boot/grub/grub.conf", "/boot/grub/grub.cfg",
	"/boot/grub2/grub.cfg", "/boot/extlinux/extlinux.conf", "/boot/extlinux.conf",
	"/extlinux.conf", "/boot/syslinux/syslinux.cfg", "/etc/sysconfig/grub", NULL,
};
static const char *const disk_files[] = {
	"/boot/grub/device.map", "/boot/grub2/device.map", NULL,
};

static int step_devices(struct lx *x, char *detail, size_t dlen)
{
	int r, c, total = 0, files = 0;
	char **bls;

	for (int i = 0; uuid_files[i]; i++) {
		if ((r = rewrite_file(x, uuid_files[i], true, &c)))
			return r;
		total += c;
		files += c > 0;
	}
	for (int i = 0; disk_files[i]; i++) {
		if ((r = rewrite_file(x, disk_files[i], false, &c)))
			return r;
		total += c;
		files += c > 0;
	}
	bls = guest_glob(x->gu, "/boot/loader/entries/*.conf");
	for (size_t i = 0; bls && bls[i]; i++) {
		if ((r = rewrite_file(x, bls[i], true, &c)))
			break;
		total += c;
		files += c > 0;
	}
	guest_free_strv(bls);
	if (r)
		return r;
	snprintf(detail, dlen, "%d device names rewritten in %d files", total, files);
	return 0;
}

/* ---------------------------------------------------------------- bootloader */

static const char *grub_cfg_path(struct lx *x)
{
	static const char *const c[] = { "/boot/grub/grub.cfg", "/boot/grub2/grub.cfg", NULL };

	for (int i = 0; c[i]; i++)
		if (guestfs_is_file(x->g, c[i]) == 1)
			return c[i];
	return NULL;
}

/* The kernel command lines of a grub.cfg (for the report). */
static char *linux_lines(const char *cfg)
{
	char *res = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&res, &len);

	if (!o)
		return NULL;
	for (const char *l = cfg; l && *l; ) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);
		const char *s = l;

		while (isspace((unsigned char)*s))
			s++;
		if (!strncmp(s, "linux", 5) && memmem(l, n, "root=", 5))
			fprintf(o, "%.*s\n", (int)(n - (size_t)(s - l)), s);
		l = nl ? nl + 1 : NULL;
	}
	fclose(o);
	return res;
}

static char *keep_name(void *arg, const char *name, int disk, int part)
{
	char **first = arg;

	if (!*first)
		*first = strdup(name);
	return NULL;
}

/* Which old device name does text still hold?  (malloc'd, NULL: none) */
static char *old_name_left(const char *text)
{
	char *first = NULL, *out = NULL;
	int c;

	if (!v2v_devname_rewrite(text, keep_name, &first, &out, &c))
		free(out);
	return first;
}

/* GRUB_DISABLE_LINUX_UUID=true makes grub-mkconfig write root=/dev/...: turn it off. */
static int grub_allow_uuid(struct lx *x)
{
	char *text = NULL, *p;
	int r = guest_read(x->gu, "/etc/default/grub", MAX_CONFIG, &text, NULL);

	if (r == -ENOENT) {
		err_clear();
		return 0;
	}
	if (r)
		return r;
	for (p = text; (p = strstr(p, "GRUB_DISABLE_LINUX_UUID=")); p++) {
		if ((p == text || p[-1] == '\n') && strncmp(p + 24, "false", 5)) {
			char *end = strchrnul(p, '\n');
			char *before = strndup(p, (size_t)(end - p));
			char *out = NULL;

			if (!before || asprintf(&out, "%.*s#%s", (int)(p - text), text, p) < 0) {
				free(before);
				free(text);
				return -ENOMEM;
			}
			char *after = NULL;

			if (asprintf(&after, "#%s", before) < 0)
				after = NULL;
			v2v_change(x->r, "/etc/default/grub", "commented out: GRUB may write root=UUID= again",
				   before, after);
			free(after);
			free(before);
			free(text);
			text = out;
			p = text;
			r = 1;
			continue;
		}
	}
	if (r == 1)
		r = write_file(x, "/etc/default/grub", text);
	free(text);
	return r;
}

static int step_bootloader(struct lx *x, char *detail, size_t dlen)
{
	const char *cfg = grub_cfg_path(x), *tool = NULL;
	char cmd[256], *before = NULL, *after = NULL, *bl = NULL, *al = NULL, *left;
	int r;

	if (!cfg) {
		snprintf(detail, dlen, "no GRUB configuration (other bootloaders edited in place)");
		return 0;
	}
	if ((r = grub_allow_uuid(x)))
		return r;
	if (guestfs_is_file(x->g, "/usr/sbin/update-grub") == 1)
		tool = "update-grub";
	else if (guestfs_is_file(x->g, "/usr/sbin/grub2-mkconfig") == 1)
		tool = "grub2-mkconfig";
	else if (guestfs_is_file(x->g, "/usr/sbin/grub-mkconfig") == 1)
		tool = "grub-mkconfig";
	if ((r = guest_read(x->gu, cfg, MAX_CONFIG, &before, NULL)))
		return r;
	if (tool) {
		if (!strcmp(tool, "update-grub"))
			snprintf(cmd, sizeof(cmd), "update-grub");
		else
			snprintf(cmd, sizeof(cmd), "%s -o %s", tool, cfg);
		r = run_sh(x, tool, cmd, NULL);
		if (!r)
			r = guest_read(x->gu, cfg, MAX_CONFIG, &after, NULL);
	}
	if (!r && after) {
		bl = linux_lines(before);
		al = linux_lines(after);
		v2v_change(x->r, cfg, tool, bl, al);
	}
	if (!r && (left = old_name_left(after ? after : before))) {
		r = err_set(-EIO, x->gu->image, "%s still names %s after %s", cfg, left,
			    tool ? tool : "the rewrite");
		free(left);
	}
	if (!r)
		snprintf(detail, dlen, "%s %s", cfg, tool ? "regenerated by the guest's " : "edited");
	if (!r && tool)
		strncat(detail, tool, dlen - strlen(detail) - 1);
	free(before);
	free(after);
	free(bl);
	free(al);
	return r;
}

/* ---------------------------------------------------------------- initramfs */

/* Kernels that have a vmlinuz in /boot and virtio_blk (module or built in). */
static int virtio_kernels(struct lx *x, char ***out, int *n)
{
	char **mods = guest_glob(x->gu, "/lib/modules/*");
	char **k = calloc(guest_strv_len(mods) + 1, sizeof(char *));
	char p[512];
	char *builtin = NULL;

	*n = 0;
	if (!k) {
		guest_free_strv(mods);
		return -ENOMEM;
	}
	for (size_t i = 0; mods[i]; i++) {
		size_t ml = strlen(mods[i]);
		const char *ver;
		char **ko;
		bool has;

		/* glob_expand marks directories with a trailing slash */
		while (ml > 1 && mods[i][ml - 1] == '/')
			mods[i][--ml] = '\0';
		ver = strrchr(mods[i], '/');
		ver = ver ? ver + 1 : mods[i];
		if (!*ver)
			continue;
		snprintf(p, sizeof(p), "/boot/vmlinuz-%s", ver);
		if (guestfs_is_file(x->g, p) != 1)
			continue;
		snprintf(p, sizeof(p), "/lib/modules/%s/kernel/drivers/block/virtio_blk.ko*", ver);
		ko = guest_glob(x->gu, p);
		has = ko && ko[0];
		guest_free_strv(ko);
		if (!has) {
			snprintf(p, sizeof(p), "/lib/modules/%s/modules.builtin", ver);
			if (!guest_read(x->gu, p, MAX_CONFIG, &builtin, NULL))
				has = strstr(builtin, "virtio_blk") != NULL;
			err_clear();
			free(builtin);
			builtin = NULL;
		}
		if (!has) {
			v2v_warn(x->r, "kernel %s has no virtio_blk driver: it will not boot on virtio", ver);
			continue;
		}
		k[(*n)++] = strdup(ver);
	}
	guest_free_strv(mods);
	*out = k;
	if (!*n)
		return err_set(-ENOTSUP, x->gu->image,
			       "no installed kernel has the virtio_blk driver (install a newer kernel)");
	return 0;
}

/* Debian/Ubuntu: list the modules in /etc/initramfs-tools/modules so that
 * MODULES=dep (which includes only the running machine's drivers) gets them too. */
static int initramfs_tools_modules(struct lx *x)
{
	static const char path[] = "/etc/initramfs-tools/modules";
	static const char *const m[] = { "virtio_blk", "virtio_scsi", "virtio_net", "virtio_pci", NULL };
	char *text = NULL, *out = NULL, added[128] = "";
	size_t len = 0;
	FILE *o;
	int r = guest_read(x->gu, path, MAX_CONFIG, &text, NULL);

	if (r && r != -ENOENT)
		return r;
	err_clear();
	o = open_memstream(&out, &len);
	if (!o) {
		free(text);
		return -ENOMEM;
	}
	fputs(text ? text : "", o);
	if (text && *text && text[strlen(text) - 1] != '\n')
		fputc('\n', o);
	for (int i = 0; m[i]; i++) {
		bool have = false;

		for (const char *p = text; p && (p = strstr(p, m[i])); p++)
			if ((p == text || p[-1] == '\n') && (p[strlen(m[i])] == '\n' || !p[strlen(m[i])] ||
							     p[strlen(m[i])] == ' '))
				have = true;
		if (!have) {
			fprintf(o, "%s\n", m[i]);
			strcat(added, added[0] ? " " : "");
			strcat(added, m[i]);
		}
	}
	fclose(o);
	r = 0;
	if (*added) {
		r = write_file(x, path, out);
		if (!r)
			v2v_change(x->r, path, "modules added to every initramfs", NULL, added);
	}
	free(out);
	free(text);
	return r;
}

/* Is virtio_blk in this initramfs?  Listed with the guest's own tool. */
static int verify_initramfs(struct lx *x, const char *lister, const char *img)
{
	char cmd[512], *out = NULL;
	int r;

	snprintf(cmd, sizeof(cmd), "%s %s | grep -c 'virtio_blk' || true", lister, img);
	r = run_sh(x, lister, cmd, &out);
	if (r)
		return r;
	if (atoi(out) <= 0)
		r = err_set(-EIO, x->gu->image, "%s: no virtio_blk in the rebuilt initramfs", img);
	free(out);
	return r;
}

/* The MODULES setting update-initramfs will use (the last assignment wins, as
 * mkinitramfs sources initramfs.conf then conf.d/); "most" when unset. */
static bool modules_most(struct lx *x)
{
	char *out = NULL;
	bool most = true;

	if (!run_sh(x, "read MODULES", "MODULES=most; . /etc/initramfs-tools/initramfs.conf; "
		    "for f in /usr/share/initramfs-tools/conf.d/* /etc/initramfs-tools/conf.d/*; do "
		    "[ -f \"$f\" ] && . \"$f\"; done; echo \"$MODULES\"", &out))
		most = !strncmp(out, "most", 4);
	err_clear();
	free(out);
	return most;
}

/*
 * MODULES=most copies every storage, network and input driver (~2000 modules, a
 * few programs run for each): under TCG that takes 15-20 minutes.  This one build
 * uses MODULES=dep instead - the drivers of the disk the root lies on in the
 * appliance (virtio-scsi), its filesystem, LVM/RAID/crypt hooks, plus the virtio
 * drivers listed in /etc/initramfs-tools/modules - through a conf.d file removed
 * right after, so the guest's next update-initramfs follows its own setting again.
 * Should dep fail, the build is redone with the guest's setting.
 */
static const char dep_conf[] = "/etc/initramfs-tools/conf.d/zz-imgtool-v2v-dep";

static int update_initramfs(struct lx *x, const char *cmd, bool *used_dep)
{
	int r;

	*used_dep = false;
	if (modules_most(x)) {
		r = write_file(x, dep_conf, "# imgtool v2v: this build only\nMODULES=dep\n");
		if (r)
			return r;
		r = run_sh(x, "update-initramfs (MODULES=dep)", cmd, NULL);
		if (guestfs_rm(x->g, dep_conf) < 0 && !r)
			r = guest_err(x->gu, dep_conf);
		if (!r) {
			*used_dep = true;
			return 0;
		}
		v2v_warn(x->r, "update-initramfs with MODULES=dep failed (%s): rebuilding with "
			 "the guest's MODULES=most", err_get());
		err_clear();
	}
	return run_sh(x, "update-initramfs", cmd, NULL);
}

static int rebuild_debian(struct lx *x, char **k, int n)
{
	char cmd[512], img[300];
	int r = initramfs_tools_modules(x);
	bool dep = false;

	for (int i = 0; !r && i < n; i++) {
		snprintf(img, sizeof(img), "/boot/initrd.img-%s", k[i]);
		snprintf(cmd, sizeof(cmd), "update-initramfs -%c -k %s",
			 guestfs_is_file(x->g, img) == 1 ? 'u' : 'c', k[i]);
		r = update_initramfs(x, cmd, &dep);
		if (!r)
			r = verify_initramfs(x, "lsinitramfs", img);
		if (!r)
			v2v_change(x->r, img, dep ? "initramfs rebuilt by update-initramfs (MODULES=dep "
				   "for this build; the guest keeps MODULES=most)" :
				   "initramfs rebuilt by update-initramfs", NULL,
				   "includes " VIRTIO_MODULES);
	}
	return r;
}

static int rebuild_dracut(struct lx *x, char **k, int n)
{
	static const char conf[] = "/etc/dracut.conf.d/imgtool-virtio.conf";
	static const char text[] = "# added by imgtool v2v: boot on KVM virtio\n"
				   "add_drivers+=\" " VIRTIO_MODULES " \"\n";
	char cmd[600], img[300];
	int r = 0;

	if (guestfs_is_dir(x->g, "/etc/dracut.conf.d") == 1) {
		r = write_file(x, conf, text);
		if (!r)
			v2v_change(x->r, conf, "virtio drivers for every future initramfs", NULL, text);
	}
	for (int i = 0; !r && i < n; i++) {
		snprintf(img, sizeof(img), "/boot/initramfs-%s.img", k[i]);
		snprintf(cmd, sizeof(cmd), "dracut -f --add-drivers '" VIRTIO_MODULES "' %s %s",
			 img, k[i]);
		r = run_sh(x, "dracut", cmd, NULL);
		if (!r && guestfs_is_file(x->g, "/usr/bin/lsinitrd") == 1)
			r = verify_initramfs(x, "lsinitrd", img);
		if (!r)
			v2v_change(x->r, img, "initramfs rebuilt by dracut", NULL,
				   "includes " VIRTIO_MODULES);
	}
	return r;
}

static int rebuild_mkinitrd(struct lx *x, char **k, int n)
{
	char cmd[600], img[300];
	int r = 0;

	for (int i = 0; !r && i < n; i++) {
		snprintf(img, sizeof(img), "/boot/initrd-%s.img", k[i]);
		snprintf(cmd, sizeof(cmd), "mkinitrd -f --with=virtio_pci --with=virtio_blk "
			 "--with=virtio_scsi --with=virtio_net %s %s", img, k[i]);
		r = run_sh(x, "mkinitrd", cmd, NULL);
		if (!r)
			v2v_change(x->r, img, "initramfs rebuilt by mkinitrd", NULL,
				   "includes " VIRTIO_MODULES);
	}
	return r;
}

static int step_initramfs(struct lx *x, char *detail, size_t dlen)
{
	char **k = NULL;
	int n = 0, r = virtio_kernels(x, &k, &n);
	const char *tool = "";

	if (!r) {
		if (guestfs_is_file(x->g, "/usr/sbin/update-initramfs") == 1) {
			tool = "update-initramfs";
			r = rebuild_debian(x, k, n);
		} else if (guestfs_is_file(x->g, "/usr/bin/dracut") == 1 ||
			   guestfs_is_file(x->g, "/sbin/dracut") == 1) {
			tool = "dracut";
			r = rebuild_dracut(x, k, n);
		} else if (guestfs_is_file(x->g, "/sbin/mkinitrd") == 1) {
			tool = "mkinitrd";
			r = rebuild_mkinitrd(x, k, n);
		} else {
			r = err_set(-ENOTSUP, x->gu->image, "no initramfs tool in the guest "
				    "(update-initramfs, dracut or mkinitrd)");
		}
	}
	if (!r)
		snprintf(detail, dlen, "%d kernel%s, %s, virtio_blk verified", n, n == 1 ? "" : "s", tool);
	for (int i = 0; k && i < n; i++)
		free(k[i]);
	free(k);
	return r;
}

/* ---------------------------------------------------------------- network */

#define MAX_IFS 8

struct ifnames {
	char old[MAX_IFS][32];
	int n;
};

static bool nic_name(const char *s, size_t n)
{
	static const char *const pre[] = { "eth", "ens", "enp", "eno", "em", NULL };

	if (n == 0 || n >= 32)
		return false;
	for (int i = 0; pre[i]; i++)
		if (!strncmp(s, pre[i], strlen(pre[i])) && n > strlen(pre[i]))
			return true;
	return false;
}

static void add_name(struct ifnames *f, const char *s, size_t n)
{
	if (!nic_name(s, n))
		return;
	for (int i = 0; i < f->n; i++)
		if (strlen(f->old[i]) == n && !strncmp(f->old[i], s, n))
			return;
	if (f->n < MAX_IFS) {
		memcpy(f->old[f->n], s, n);
		f->old[f->n++][n] = '\0';
	}
}

/* Interface names a config file defines, in order of appearance. */
static void collect_names(const char *text, struct ifnames *f)
{
	static const char *const keys[] = { "iface ", "auto ", "allow-hotplug ", "interface-name=",
					    "DEVICE=", "NAME=", NULL };

	for (const char *l = text; l && *l; ) {
		const char *nl = strchr(l, '\n'), *s = l;

		while (*s == ' ' || *s == '\t')
			s++;
		for (int i = 0; keys[i]; i++) {
			size_t kl = strlen(keys[i]);

			if (!strncmp(s, keys[i], kl)) {
				const char *v = s + kl;

				v += *v == '"' || *v == '\'';
				add_name(f, v, strcspn(v, " \t\n\"':"));
			}
		}
		/* netplan: "    ens192:" under ethernets */
		if (s != l) {
			size_t n = strcspn(s, ":\n");

			if (s[n] == ':' && (s[n + 1] == '\n' || !s[n + 1] || s[n + 1] == ' '))
				add_name(f, s, n);
		}
		l = nl ? nl + 1 : NULL;
	}
}

static void new_name(struct lx *x, int i, char *buf, size_t len)
{
	/* imgtool launch and the libvirt XML put the i-th NIC at PCI slot 3 + i */
	if (x->net_ifnames_off)
		snprintf(buf, len, "eth%d", i);
	else
		snprintf(buf, len, "ens%d", 3 + i);
}

/* Replace whole-word old names with the new ones in one line. */
static char *rename_line(struct lx *x, const char *line, const struct ifnames *f)
{
	char *res = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&res, &len);

	if (!o)
		return NULL;
	for (const char *p = line; *p; ) {
		int hit = -1;

		if (p == line || !isalnum((unsigned char)p[-1]))
			for (int i = 0; i < f->n && i < x->o->nb_nics; i++) {
				size_t n = strlen(f->old[i]);

				if (!strncmp(p, f->old[i], n) && !isalnum((unsigned char)p[n]))
					hit = i;
			}
		if (hit >= 0) {
			char nn[32];

			new_name(x, hit, nn, sizeof(nn));
			fputs(nn, o);
			p += strlen(f->old[hit]);
		} else {
			fputc(*p++, o);
		}
	}
	fclose(o);
	return res;
}

/* Rename the interfaces in one file; lines pinning the old MAC are dropped. */
static int rename_in_file(struct lx *x, const char *path, const struct ifnames *f)
{
	char *text = NULL, *res = NULL;
	size_t len = 0;
	int r = guest_read(x->gu, path, MAX_CONFIG, &text, NULL), changed = 0;
	FILE *o;

	if (r)
		return r == -ENOENT ? (err_clear(), 0) : r;
	o = open_memstream(&res, &len);
	if (!o) {
		free(text);
		return -ENOMEM;
	}
	for (char *l = text; *l; ) {
		char *nl = strchr(l, '\n'), *nw;
		const char *s = l;

		if (nl)
			*nl = '\0';
		while (isspace((unsigned char)*s))
			s++;
		if (!strncmp(s, "HWADDR=", 7) || !strncmp(s, "mac-address=", 12)) {
			v2v_change(x->r, path, "old NIC's MAC address pin removed", l, NULL);
			changed++;
		} else if ((nw = rename_line(x, l, f))) {
			if (strcmp(nw, l)) {
				v2v_change(x->r, path, "network interface renamed for the virtio NIC", l, nw);
				changed++;
			}
			fprintf(o, "%s%s", nw, nl ? "\n" : "");
			free(nw);
		}
		if (!nl)
			break;
		l = nl + 1;
	}
	fclose(o);
	if (changed)
		r = write_file(x, path, res);
	free(res);
	free(text);
	return r;
}

static char **network_files(struct lx *x)
{
	static const char *const pats[] = {
		"/etc/network/interfaces", "/etc/network/interfaces.d/*", "/etc/netplan/*.yaml",
		"/etc/NetworkManager/system-connections/*", "/etc/sysconfig/network-scripts/ifcfg-*",
		"/etc/sysconfig/network/ifcfg-*", "/etc/systemd/network/*.network", NULL,
	};
	char **all = calloc(1, sizeof(char *));
	size_t n = 0;

	for (int i = 0; all && pats[i]; i++) {
		char **v = guest_glob(x->gu, pats[i]);

		for (size_t j = 0; v && v[j]; j++) {
			char **a = guestfs_is_file(x->g, v[j]) == 1 ? realloc(all, (n + 2) * sizeof(char *)) : NULL;

			if (!a)
				continue;
			all = a;
			all[n++] = strdup(v[j]);
			all[n] = NULL;
		}
		guest_free_strv(v);
	}
	return all;
}

/* ifcfg-OLD -> ifcfg-NEW (the file name is what the network scripts read). */
static int rename_ifcfg(struct lx *x, const char *path, const struct ifnames *f)
{
	const char *base = strrchr(path, '/');

	for (int i = 0; base && i < f->n && i < x->o->nb_nics; i++) {
		char nn[32], np[512];

		if (strncmp(base + 1, "ifcfg-", 6) || strcmp(base + 7, f->old[i]))
			continue;
		new_name(x, i, nn, sizeof(nn));
		snprintf(np, sizeof(np), "%.*s/ifcfg-%s", (int)(base - path), path, nn);
		if (guestfs_mv(x->g, path, np) < 0)
			return guest_err(x->gu, path);
		v2v_change(x->r, path, "ifcfg file renamed for the virtio NIC", path, np);
	}
	return 0;
}

static bool cmdline_has(struct lx *x, const char *word)
{
	char *text = NULL;
	bool has = false;

	if (!guest_read(x->gu, "/etc/default/grub", MAX_CONFIG, &text, NULL))
		has = strstr(text, word) != NULL;
	err_clear();
	free(text);
	return has;
}

static int step_network(struct lx *x, char *detail, size_t dlen)
{
	static const char rules[] = "/etc/udev/rules.d/70-persistent-net.rules";
	struct ifnames f = { .n = 0 };
	char **files = network_files(x), *text = NULL, nn[32];
	int r = 0;

	if (!files)
		return -ENOMEM;
	x->net_ifnames_off = cmdline_has(x, "net.ifnames=0");
	for (size_t i = 0; files[i]; i++)
		if (!guest_read(x->gu, files[i], MAX_CONFIG, &text, NULL)) {
			collect_names(text, &f);
			free(text);
			text = NULL;
		}
	err_clear();
	/* names the target already uses need no change */
	for (int i = 0; i < f.n; i++) {
		new_name(x, i, nn, sizeof(nn));
		if (!strcmp(nn, f.old[i]))
			f.old[i][0] = '\x01';
	}
	for (size_t i = 0; !r && files[i]; i++) {
		r = rename_in_file(x, files[i], &f);
		if (!r)
			r = rename_ifcfg(x, files[i], &f);
	}
	guest_free_strv(files);
	if (r)
		return r;
	if (f.n > x->o->nb_nics)
		v2v_warn(x->r, "%d interfaces configured, the target has %d NIC(s): %s and later left as they are",
			 f.n, x->o->nb_nics, f.old[x->o->nb_nics]);
	if (!guest_read(x->gu, rules, MAX_CONFIG, &text, NULL)) {
		if (guestfs_rm(x->g, rules) < 0)
			r = guest_err(x->gu, rules);
		else
			v2v_change(x->r, rules, "persistent net rules removed (they pin the old MACs)",
				   text, NULL);
		free(text);
	}
	err_clear();
	new_name(x, 0, nn, sizeof(nn));
	if (!r)
		snprintf(detail, dlen, "%d interface name%s -> %s%s", f.n, f.n == 1 ? "" : "s", nn,
			 f.n > 1 ? "..." : "");
	return r;
}

/* ---------------------------------------------------------------- selinux */

static int step_selinux(struct lx *x, char *detail, size_t dlen)
{
	char *text = NULL;
	bool on = false;

	if (!guest_read(x->gu, "/etc/selinux/config", MAX_CONFIG, &text, NULL))
		on = strstr(text, "\nSELINUX=enforcing") || strstr(text, "\nSELINUX=permissive") ||
		     !strncmp(text, "SELINUX=enforcing", 17) || !strncmp(text, "SELINUX=permissive", 18);
	err_clear();
	free(text);
	if (!on) {
		snprintf(detail, dlen, "SELinux not enabled");
		return 0;
	}
	if (guestfs_write(x->g, "/.autorelabel", "", 0) < 0)
		return guest_err(x->gu, "/.autorelabel");
	v2v_change(x->r, "/.autorelabel", "SELinux relabel scheduled for the first boot", NULL, "");
	snprintf(detail, dlen, "relabel scheduled");
	return 0;
}

/* ---------------------------------------------------------------- driver */

struct lstep {
	const char *name;
	int (*fn)(struct lx *x, char *detail, size_t dlen);
};

int v2v_convert_linux(struct guest *gu, const struct v2v_linux_opts *o, struct v2v_report *r)
{
	static const struct lstep steps[] = {
		{ "remove agents", step_agents },
		{ "device names", step_devices },
		{ "network", step_network },
		{ "bootloader", step_bootloader },
		{ "initramfs", step_initramfs },
		{ "selinux", step_selinux },
	};
	struct lx x = { .gu = gu, .g = guest_h(gu), .r = r, .o = o };
	int ret = 0;

	for (size_t i = 0; !ret && i < sizeof(steps) / sizeof(steps[0]); i++) {
		char detail[512] = "";

		v2v_step_begin(r, steps[i].name);
		ret = steps[i].fn(&x, detail, sizeof(detail));
		if (ret && !err_is_set())
			err_set(ret, gu->image, "%s failed", steps[i].name);
		v2v_step_end(r, ret, "%s", detail);
	}
	return ret;
}

#else

int v2v_convert_linux(struct guest *gu, const struct v2v_linux_opts *o, struct v2v_report *r)
{
	return err_set(-ENOTSUP, NULL, "imgtool was built without libguestfs");
}

#endif
