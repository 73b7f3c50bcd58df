/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * first_disk_root.c - the guest's root filesystem and mountpoints found on the
 * first disk alone, for an appliance whose other disks are copies of it (clones
 * of one template: guest_opts.first_disk_only).
 *
 * libguestfs's inspection examines every filesystem of every disk: with N clones
 * on one appliance it does the same work N times, and under TCG that is most of
 * the time a batch of clones takes (10 clones: ~75% of the run).  Here the root is
 * the first ext2/3/4 filesystem of /dev/sda holding /etc/fstab, and the
 * mountpoints are that fstab's local filesystems, each resolved to its partition
 * on /dev/sda (the clones' twins share UUIDs and labels, so a UUID may resolve to
 * any disk: the partition number is what counts).  Anything else (LVM, another
 * filesystem, an fstab naming what cannot be found on the first disk) is not
 * guessed at: -ENOENT, and the caller inspects as usual.
 */
#include "guest/guest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

bool guest_device_on_disk(const char *dev, int idx, char *out, size_t len)
{
	const char *p = dev + 7;
	char letters[8];
	int n = 0;

	if (strncmp(dev, "/dev/sd", 7) || *p < 'a' || *p > 'z')
		return false;
	while (*p >= 'a' && *p <= 'z')
		p++;
	if (strspn(p, "0123456789") != strlen(p))
		return false;
	/* sda..sdz, sdaa...: the names libguestfs gives its disks */
	for (int v = idx + 1; v > 0 && n < 7; v = (v - 1) / 26)
		letters[n++] = (char)('a' + (v - 1) % 26);
	snprintf(out, len, "/dev/sd");
	for (int i = n - 1; i >= 0; i--)
		snprintf(out + strlen(out), len - strlen(out), "%c", letters[i]);
	snprintf(out + strlen(out), len - strlen(out), "%s", p);
	return true;
}

#ifdef HAVE_LIBGUESTFS

#define FSTAB_MAX (256 * 1024)

static bool is_ext(guestfs_h *g, const char *dev)
{
	char *type = guestfs_vfs_type(g, dev);
	bool ok = type && !strncmp(type, "ext", 3);

	free(type);
	return ok;
}

/* The root: an ext filesystem of /dev/sda with /etc/fstab; its fstab in *fstab. */
static int find_root(struct guest *gu, char **root, char **fstab)
{
	guestfs_h *g = guest_h(gu);
	char **parts = guestfs_list_partitions(g);
	int r = -ENOENT;

	if (!parts)
		return guest_err(gu, "list partitions");
	for (size_t i = 0; parts[i] && r == -ENOENT; i++) {
		if (strncmp(parts[i], "/dev/sda", 8) || strspn(parts[i] + 8, "0123456789") !=
		    strlen(parts[i] + 8) || !is_ext(g, parts[i]))
			continue;
		if (guestfs_mount_ro(g, parts[i], "/") < 0)
			continue;
		if (guest_is_file(gu, "/etc/fstab") && guest_is_dir(gu, "/usr") &&
		    guest_read(gu, "/etc/fstab", FSTAB_MAX, fstab, NULL) == 0)
			r = (*root = strdup(parts[i])) ? 0 : -ENOMEM;
		err_clear();
		guestfs_umount_all(g);
	}
	guest_free_strv(parts);
	return r;
}

/* The partition of /dev/sda an fstab name means, or false. */
static bool resolve(guestfs_h *g, const char *spec, char *out, size_t len)
{
	char *dev = NULL;
	bool ok;

	if (!strncmp(spec, "UUID=", 5))
		dev = guestfs_findfs_uuid(g, spec + 5);
	else if (!strncmp(spec, "LABEL=", 6))
		dev = guestfs_findfs_label(g, spec + 6);
	else if (!strncmp(spec, "/dev/disk/by-uuid/", 18))
		dev = guestfs_findfs_uuid(g, spec + 18);
	else if (!strncmp(spec, "/dev/disk/by-label/", 19))
		dev = guestfs_findfs_label(g, spec + 19);
	else if (!strncmp(spec, "/dev/sd", 7))
		dev = strdup(spec);
	ok = dev && guest_device_on_disk(dev, 0, out, len);
	free(dev);
	return ok;
}

#define MAX_MOUNTS 32

/* (mountpoint, device) pairs, NULL-terminated as libguestfs returns its own */
struct mounts {
	char *v[2 * MAX_MOUNTS + 1];
	int n;
};

static int add_pair(struct mounts *m, const char *mp, const char *dev)
{
	if (m->n >= 2 * MAX_MOUNTS)
		return -ENOENT;   /* not a guest to guess about */
	if (!(m->v[m->n] = strdup(mp)) || !(m->v[m->n + 1] = strdup(dev)))
		return -ENOMEM;
	m->n += 2;
	return 0;
}

/* fstab's local filesystems; / is the root found.  -ENOENT when a local
 * filesystem it names is not on the first disk (the usual inspection decides). */
static int parse_fstab(guestfs_h *g, const char *root, char *text, struct mounts *m)
{
	char *save = NULL;
	int r = add_pair(m, "/", root);

	for (char *line = strtok_r(text, "\n", &save); line && !r;
	     line = strtok_r(NULL, "\n", &save)) {
		char spec[512], mp[512], type[64], dev[64];

		if (line[strspn(line, " \t")] == '#' ||
		    sscanf(line, "%511s %511s %63s", spec, mp, type) != 3)
			continue;
		if (mp[0] != '/' || !strcmp(mp, "/") || strncmp(type, "ext", 3))
			continue;   /* swap, pseudo and network filesystems, the root */
		r = resolve(g, spec, dev, sizeof(dev)) ? add_pair(m, mp, dev) : -ENOENT;
	}
	return r;
}

int guest_first_disk_root(struct guest *gu)
{
	char *root = NULL, *fstab = NULL;
	struct mounts m = { 0 };
	int r = find_root(gu, &root, &fstab);

	if (!r)
		r = parse_fstab(guest_h(gu), root, fstab, &m);
	if (!r && !(gu->mountpoints = calloc((size_t)m.n + 1, sizeof(char *))))
		r = -ENOMEM;
	if (!r) {
		memcpy(gu->mountpoints, m.v, (size_t)m.n * sizeof(char *));
		gu->root = root;
		root = NULL;
	} else {
		for (int i = 0; i < m.n; i++)
			free(m.v[i]);
	}
	free(root);
	free(fstab);
	return r;
}

#endif
