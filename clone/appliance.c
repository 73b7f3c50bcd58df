/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * appliance.c - several clones customized in one libguestfs appliance: each launch
 * costs 10-20 s under TCG, the edits a clone needs well under a second.  All the
 * clones' disks are added to one handle and their filesystems mounted in turn.
 *
 * The clones are copies of one template, so their filesystems share UUIDs and
 * labels: inspection may resolve the template's fstab (UUID=...) to any of the
 * disks.  A filesystem is therefore found by its place (partition N of the first
 * disk becomes partition N of clone i's disk), never by what inspection resolved.
 * Only filesystems that mount by place whatever their twins are qualify: ext2/3/4
 * and vfat (XFS refuses a second mount of one UUID, btrfs and LVM scan devices by
 * UUID).  Other templates get one appliance per clone.  For the same reason the
 * guest is looked for on the first disk only (guest_opts.first_disk_only):
 * libguestfs's inspection of every disk would find the same guest N times.
 */
#include "clone/clone_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

#ifdef HAVE_LIBGUESTFS

static int cmp_mountpoint(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;

	return (int)strlen(x[0]) - (int)strlen(y[0]);
}

/* Can every filesystem of the first clone be found on the others by place? */
static bool shareable(struct clone_appliance *ca)
{
	char dev[64];

	for (size_t i = 0; ca->mps[i]; i += 2) {
		char *type;
		bool ok;

		if (!guest_device_on_disk(ca->mps[i + 1], 0, dev, sizeof(dev)))
			return false;
		type = guestfs_vfs_type(guest_h(ca->gu), dev);
		ok = type && (!strcmp(type, "ext2") || !strcmp(type, "ext3") ||
			      !strcmp(type, "ext4") || !strcmp(type, "vfat"));
		free(type);
		if (!ok)
			return false;
	}
	return guest_device_on_disk(ca->root0, 0, dev, sizeof(dev));
}

int clone_appliance_open(char *const *images, const char *format, int n, bool network,
			 struct clone_appliance *ca)
{
	struct guest_disk *disks = calloc((size_t)n, sizeof(*disks));
	/* the clones are copies of the first: inspecting one is enough, unless
	 * customize will ask inspection's facts (the package manager of --install
	 * and --update, which are among the operations that want a network) */
	struct guest_opts o = { .disks = disks, .nb_disks = n, .mode = GUEST_WRITE,
				.network = network, .first_disk_only = !network };
	int r;

	memset(ca, 0, sizeof(*ca));
	if (!disks)
		return err_set(-ENOMEM, images[0], "out of memory");
	for (int i = 0; i < n; i++)
		disks[i] = (struct guest_disk){ images[i], format };
	r = guest_open(&o, &ca->gu);
	free(disks);
	if (r)
		return r;
	ca->ndisks = n;
	ca->images = images;
	ca->current = 0;
	ca->root0 = strdup(ca->gu->root);
	ca->mps = guest_mountpoints(ca->gu);
	if (!ca->root0 || !ca->mps) {
		r = ca->root0 ? guest_err(ca->gu, "inspect mountpoints") : -ENOMEM;
		clone_appliance_close(ca);
		return r;
	}
	qsort(ca->mps, guest_strv_len(ca->mps) / 2, 2 * sizeof(char *), cmp_mountpoint);
	if (n > 1 && !shareable(ca)) {
		clone_appliance_close(ca);
		return -EAGAIN;   /* no message: the caller opens one appliance per clone */
	}
	return 0;
}

int clone_appliance_select(struct clone_appliance *ca, int idx)
{
	guestfs_h *g = guest_h(ca->gu);
	char dev[64], root[64];
	char *image, *new_root;

	if (ca->ndisks == 1)
		return 0;   /* guest_open mounted it */
	if (guestfs_umount_all(g) < 0)
		return guest_err(ca->gu, "unmount");
	for (size_t i = 0; ca->mps[i]; i += 2) {
		const char *mp = ca->mps[i];

		guest_device_on_disk(ca->mps[i + 1], idx, dev, sizeof(dev));
		/* as guest.c: a stale fstab line must not stop the rest; / must mount */
		if (guestfs_mount(g, dev, mp) < 0 && !strcmp(mp, "/"))
			return guest_err(ca->gu, "mount /");
	}
	/* the customize and sysprep operations name the clone and use its root */
	guest_device_on_disk(ca->root0, idx, root, sizeof(root));
	new_root = strdup(root);
	image = strdup(ca->images[idx]);
	if (!new_root || !image) {
		free(new_root);
		free(image);
		return -ENOMEM;
	}
	free(ca->gu->root);
	ca->gu->root = new_root;
	free(ca->gu->image);
	ca->gu->image = image;
	ca->current = idx;
	return 0;
}

int clone_appliance_close(struct clone_appliance *ca)
{
	int r = guest_close(ca->gu);

	guest_free_strv(ca->mps);
	free(ca->root0);
	memset(ca, 0, sizeof(*ca));
	return r;
}

#else

int clone_appliance_open(char *const *images, const char *format, int n, bool network,
			 struct clone_appliance *ca)
{
	memset(ca, 0, sizeof(*ca));
	return err_set(-ENOTSUP, NULL, "imgtool was built without libguestfs "
		       "(apt-get install libguestfs-dev, then rebuild)");
}

int clone_appliance_select(struct clone_appliance *ca, int idx)
{
	return -ENOTSUP;
}

int clone_appliance_close(struct clone_appliance *ca)
{
	return 0;
}

#endif
