/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * guest.c - one libguestfs handle on one image (see guest.h): backend choice
 * (direct, TCG unless the launcher's probe proved KVM runs guests), read-only or
 * overlay drives, OS inspection and mounting, and small file helpers with size caps
 * (guest files are untrusted input).
 */
#include "guest/guest.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "formats/format.h"
#include "launcher/launch.h"

#ifndef HAVE_LIBGUESTFS

int guest_open(const struct guest_opts *o, struct guest **out)
{
	*out = NULL;
	return err_set(-ENOTSUP, o->nb_disks > 0 ? o->disks[0].path : NULL,
		       "imgtool was built without libguestfs "
		       "(apt-get install libguestfs-dev, then rebuild)");
}

int guest_close(struct guest *gu)
{
	return 0;
}

#else

int guest_err(struct guest *gu, const char *what)
{
	const char *m = guestfs_last_error(guest_h(gu));

	return err_set(-EIO, gu->image, "%s: %s", what, m ? m : "libguestfs failed");
}

/* imgtool probes the format so that qemu never guesses (a raw image holding a
 * qcow2 header must stay raw), and opens the chain first, even with -f, so the
 * reference policy (formats/reference.h) judges what qemu would follow. */
static int resolve_format(const char *image, const char *format, char **out)
{
	struct image *img;
	int r;

	r = image_open(image, format, 0, &img);
	if (r)
		return r;
	*out = strdup(format ? format : img->ops->name);
	image_close(img);
	return *out ? 0 : err_set(-ENOMEM, image, "out of memory");
}

/* KVM is used only when the launcher's probe boot proved it runs guests: here a
 * nested KVM makes libguestfs's qemu (-cpu max) abort instead of falling back. */
static int setup_backend(guestfs_h *g)
{
	char why[256] = "";
	char *tcg[] = { "force_tcg", NULL };

	if (guestfs_set_backend(g, "direct") < 0)
		return -EIO;
	if (accel_probe_kvm(LAUNCH_DEFAULT_QEMU, why, sizeof(why)) == 1)
		return 0;
	err_clear();
	return guestfs_set_backend_settings(g, tcg) < 0 ? -EIO : 0;
}

/* The appliance's qemu runs in imgtool's process group, so Ctrl-C reaches it, but a
 * SIGTERM or SIGHUP sent to imgtool alone would leave it running (and holding the
 * image's lock): pass the signal on, then die of it. */
static volatile pid_t appliance_pid;

static void forward_signal(int sig)
{
	pid_t pid = appliance_pid;

	if (pid > 0)
		kill(pid, SIGTERM);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void watch_appliance(guestfs_h *g)
{
	int pid = guestfs_get_pid(g);

	if (pid <= 0)
		return;
	appliance_pid = pid;
	signal(SIGTERM, forward_signal);
	signal(SIGHUP, forward_signal);
}

static int cmp_mountpoint(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;

	return (int)strlen(x[0]) - (int)strlen(y[0]);
}

char **guest_mountpoints(struct guest *gu)
{
	size_t n = guest_strv_len(gu->mountpoints);
	char **v;

	if (!gu->mountpoints)
		return guestfs_inspect_get_mountpoints(guest_h(gu), gu->root);
	v = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; v && i < n; i++)
		if (!(v[i] = strdup(gu->mountpoints[i]))) {
			guest_free_strv(v);
			return NULL;
		}
	return v;
}

/* Mount the root's filesystems, shortest mountpoint first (/ before /boot). */
static int mount_all(struct guest *gu)
{
	guestfs_h *g = guest_h(gu);
	char **mps = guest_mountpoints(gu);
	size_t n;
	int r = 0;

	if (!mps)
		return guest_err(gu, "inspect mountpoints");
	n = guest_strv_len(mps) / 2;
	qsort(mps, n, 2 * sizeof(char *), cmp_mountpoint);
	for (size_t i = 0; i < n; i++) {
		const char *mp = mps[2 * i], *dev = mps[2 * i + 1];
		int m = gu->mode == GUEST_READONLY ? guestfs_mount_ro(g, dev, mp)
						   : guestfs_mount(g, dev, mp);

		/* a missing swap or a stale fstab line must not stop the rest, but the
		 * root filesystem must mount */
		if (m < 0 && !strcmp(mp, "/")) {
			r = guest_err(gu, "mount /");
			break;
		}
	}
	guest_free_strv(mps);
	return r;
}

/* Add the disks in the guest's order, so that the appliance's /dev/sda, /dev/sdb...
 * are the guest's own first, second... disks (v2v: a guest whose /boot, / or /home
 * lie on different disks). */
static int add_drives(struct guest *gu, const struct guest_opts *o)
{
	for (int i = 0; i < o->nb_disks; i++) {
		const char *path = o->disks[i].path;
		char *fmt = NULL;
		int r = resolve_format(path, o->disks[i].format, &fmt);

		if (r)
			return r;
		r = guestfs_add_drive_opts(guest_h(gu), path,
					   GUESTFS_ADD_DRIVE_OPTS_FORMAT, fmt,
					   GUESTFS_ADD_DRIVE_OPTS_READONLY, gu->mode != GUEST_WRITE, -1);
		free(fmt);
		if (r < 0)
			return err_set(-EIO, path, "add drive: %s",
				       guestfs_last_error(guest_h(gu)));
	}
	return 0;
}

int guest_open(const struct guest_opts *o, struct guest **out)
{
	struct guest *gu;
	char **roots = NULL;
	int r;

	*out = NULL;
	if (o->nb_disks < 1)
		return err_set(-EINVAL, NULL, "no disk to open in the libguestfs appliance");
	if ((r = guest_dl_load()))
		return r;
	gu = calloc(1, sizeof(*gu));
	if (!gu || !(gu->image = strdup(o->disks[0].path))) {
		free(gu);
		return err_set(-ENOMEM, o->disks[0].path, "out of memory");
	}
	gu->mode = o->mode;
	gu->g = guestfs_create();
	if (!gu->g) {
		r = err_set(-ENOMEM, gu->image, "cannot create a libguestfs handle");
		goto fail;
	}
	/* errors are reported once, by us, from guestfs_last_error */
	guestfs_set_error_handler(guest_h(gu), NULL, NULL);
	if (setup_backend(guest_h(gu))) {
		r = guest_err(gu, "libguestfs backend");
		goto fail;
	}
	if ((r = add_drives(gu, o)))
		goto fail;
	/* user-mode networking, before launch (customize --install) */
	if (o->network && guestfs_set_network(guest_h(gu), 1) < 0) {
		r = guest_err(gu, "enable the appliance's network");
		goto fail;
	}
	if (guestfs_launch(guest_h(gu)) < 0) {
		r = guest_err(gu, "launch the libguestfs appliance");
		goto fail;
	}
	watch_appliance(guest_h(gu));
	if (o->first_disk_only && o->nb_disks > 1) {
		r = guest_first_disk_root(gu);
		if (r != -ENOENT && r)
			goto fail;
		if (!r)
			goto mount;
	}
	roots = guestfs_inspect_os(guest_h(gu));
	if (!roots) {
		r = guest_err(gu, "inspect");
		goto fail;
	}
	if (!roots[0]) {
		r = err_set(-ENOENT, gu->image, "no operating system found in the %s",
			    o->nb_disks > 1 ? "disks" : "image");
		goto fail;
	}
	/* more than one OS: the first root is used, as virt-customize does with -a */
	gu->root = strdup(roots[0]);
	if (!gu->root) {
		r = err_set(-ENOMEM, gu->image, "out of memory");
		goto fail;
	}
mount:
	if ((r = mount_all(gu)))
		goto fail;
	guest_free_strv(roots);
	*out = gu;
	return 0;
fail:
	guest_free_strv(roots);
	if (gu->g)
		guestfs_close(guest_h(gu));
	appliance_pid = 0;
	guest_free_strv(gu->mountpoints);
	free(gu->root);
	free(gu->image);
	free(gu);
	return r;
}

int guest_close(struct guest *gu)
{
	int r = 0;

	if (!gu)
		return 0;
	if (guestfs_umount_all(guest_h(gu)) < 0 && gu->mode == GUEST_WRITE)
		r = guest_err(gu, "unmount");
	/* shutdown waits for qemu to flush the drive: only then is the image safe */
	if (guestfs_shutdown(guest_h(gu)) < 0 && gu->mode == GUEST_WRITE && !r)
		r = guest_err(gu, "shut the appliance down");
	guestfs_close(guest_h(gu));
	appliance_pid = 0;
	guest_free_strv(gu->mountpoints);
	free(gu->root);
	free(gu->image);
	free(gu);
	return r;
}

int guest_read(struct guest *gu, const char *path, size_t max, char **data, size_t *len)
{
	guestfs_h *g = guest_h(gu);
	int64_t size;
	size_t n;
	char *buf;

	*data = NULL;
	if (len)
		*len = 0;
	if (guestfs_is_file_opts(g, path, GUESTFS_IS_FILE_OPTS_FOLLOWSYMLINKS, 1, -1) != 1)
		return -ENOENT;
	size = guestfs_filesize(g, path);
	if (size < 0)
		return guest_err(gu, path);
	if ((uint64_t)size > max)
		return err_set(-EFBIG, gu->image, "%s: %lld bytes, more than the %zu read",
			       path, (long long)size, max);
	buf = guestfs_read_file(g, path, &n);
	if (!buf)
		return guest_err(gu, path);
	if (n > max) {
		free(buf);
		return err_set(-EFBIG, gu->image, "%s grew while being read", path);
	}
	*data = buf;   /* libguestfs NUL-terminates it */
	if (len)
		*len = n;
	return 0;
}

bool guest_is_file(struct guest *gu, const char *path)
{
	return guestfs_is_file(guest_h(gu), path) == 1;
}

bool guest_is_dir(struct guest *gu, const char *path)
{
	return guestfs_is_dir(guest_h(gu), path) == 1;
}

bool guest_exists(struct guest *gu, const char *path)
{
	return guestfs_exists(guest_h(gu), path) == 1;
}

char *guest_case_path(struct guest *gu, const char *path)
{
	char *cur = strdup(""), *copy = strdup(path), *save = NULL;

	if (!cur || !copy)
		goto nomem;
	for (char *e = strtok_r(copy, "/", &save); e; e = strtok_r(NULL, "/", &save)) {
		char *next = NULL, *found;

		if (asprintf(&next, "%s/%s", cur, e) < 0)
			goto nomem;
		free(cur);
		cur = next;
		/* an existing parent: let libguestfs find the element's real case */
		found = guestfs_case_sensitive_path(guest_h(gu), cur);
		if (!found) {
			guest_err(gu, cur);
			free(cur);
			free(copy);
			return NULL;
		}
		free(cur);
		cur = found;
		if (!guest_exists(gu, cur)) {   /* the rest is created: keep it as spelled */
			char *rest = save && *save ? save : NULL;

			if (rest && asprintf(&next, "%s/%s", cur, rest) < 0)
				goto nomem;
			if (rest) {
				free(cur);
				cur = next;
			}
			break;
		}
	}
	free(copy);
	return cur;
nomem:
	free(cur);
	free(copy);
	err_set(-ENOMEM, gu->image, "%s: out of memory", path);
	return NULL;
}

char **guest_glob(struct guest *gu, const char *pattern)
{
	char **v = guestfs_glob_expand(guest_h(gu), pattern);

	return v ? v : calloc(1, sizeof(char *));
}

void guest_free_strv(char **v)
{
	if (!v)
		return;
	for (size_t i = 0; v[i]; i++)
		free(v[i]);
	free(v);
}

size_t guest_strv_len(char **v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

#endif
