/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * guest.h - a libguestfs handle on one guest's disk images, shared by inspect,
 * customize, sysprep and v2v: each image is added with its format given explicitly
 * (probed by imgtool, never by qemu), the appliance is launched once, the guest's operating system is
 * found and its filesystems are mounted.  Every operation then works on that one
 * handle, because each launch costs 10-20 s under TCG.
 *
 * Built only with libguestfs (HAVE_LIBGUESTFS); without it guest_open() fails with a
 * message saying so.
 */
#ifndef IMGTOOL_GUEST_H
#define IMGTOOL_GUEST_H

#include <stdbool.h>
#include <stddef.h>

enum guest_mode {
	GUEST_READONLY,   /* read-only drive, filesystems mounted read-only */
	GUEST_OVERLAY,    /* read-only drive, writes go to a throw-away overlay (--dry-run) */
	GUEST_WRITE,      /* the image itself is modified */
};

struct guest {
	void *g;          /* guestfs_h */
	char *root;       /* the inspected root device, e.g. /dev/sda1 */
	char *image;
	enum guest_mode mode;
	/* first_disk_only: the root's (mountpoint, device) pairs, as found without
	 * libguestfs's inspection (NULL: ask the inspection) */
	char **mountpoints;
};

/* One disk of the guest. */
struct guest_disk {
	const char *path;
	const char *format;       /* NULL: probed by imgtool */
};

/* What to open and how. */
struct guest_opts {
	/* the guest's disks in its own order (the appliance names them /dev/sda,
	 * /dev/sdb...: v2v's guests may have /boot, / or /home on different disks) */
	const struct guest_disk *disks;
	int nb_disks;
	enum guest_mode mode;
	/* the appliance's user-mode network, for programs run in the guest that fetch
	 * packages (customize --install) */
	bool network;
	/* the disks after the first are copies of it (clones of one template): the
	 * OS is looked for on the first disk only (first_disk_root.c), falling back
	 * to libguestfs's inspection of every disk when that is not plain.  The
	 * inspection's facts (guestfs_inspect_get_*) are then not available. */
	bool first_disk_only;
};

/* Add the disks, launch, inspect and mount.  Errors name the first disk. */
int guest_open(const struct guest_opts *o, struct guest **out);
/* Unmount and shut the appliance down; for GUEST_WRITE a failure to sync is
 * reported (returns negative errno).  Frees gu. */
int guest_close(struct guest *gu);
/* The root's (mountpoint, device) pairs, NULL-terminated (guest_free_strv). */
char **guest_mountpoints(struct guest *gu);
/* dev (/dev/sdXN of any disk) as the same partition of disk idx (0: /dev/sda);
 * false when dev is not such a name. */
bool guest_device_on_disk(const char *dev, int idx, char *out, size_t len);

#ifdef HAVE_LIBGUESTFS
#include <guestfs.h>

/*
 * libguestfs is dlopen()ed by guest_open(), not linked: linked, it loads libvirt,
 * glib, ICU and ~50 other libraries into every imgtool command (~60 ms per start).
 * Each guestfs_* function used is a pointer filled by guest_dl_load(); the macros
 * keep the call sites in libguestfs's own spelling.
 */
#define GUEST_DL_FUNCS(X) \
	X(add_drive_opts) \
	X(aug_close) \
	X(aug_get) \
	X(aug_init) \
	X(aug_match) \
	X(aug_rm) \
	X(aug_save) \
	X(aug_set) \
	X(case_sensitive_path) \
	X(chmod) \
	X(chown) \
	X(close) \
	X(command) \
	X(command_lines) \
	X(copy_in) \
	X(cp) \
	X(cp_a) \
	X(create) \
	X(download) \
	X(exists) \
	X(findfs_label) \
	X(findfs_uuid) \
	X(filesize) \
	X(find) \
	X(free_application2_list) \
	X(free_hivex_node_list) \
	X(get_pid) \
	X(glob_expand) \
	X(hivex_close) \
	X(hivex_commit) \
	X(hivex_node_add_child) \
	X(hivex_node_children) \
	X(hivex_node_get_child) \
	X(hivex_node_get_value) \
	X(hivex_node_name) \
	X(hivex_node_set_value) \
	X(hivex_open) \
	X(hivex_root) \
	X(hivex_value_type) \
	X(hivex_value_value) \
	X(inspect_get_arch) \
	X(inspect_get_distro) \
	X(inspect_get_drive_mappings) \
	X(inspect_get_hostname) \
	X(inspect_get_major_version) \
	X(inspect_get_minor_version) \
	X(inspect_get_mountpoints) \
	X(inspect_get_package_format) \
	X(inspect_get_package_management) \
	X(inspect_get_product_name) \
	X(inspect_get_product_variant) \
	X(inspect_get_roots) \
	X(inspect_get_type) \
	X(inspect_get_windows_current_control_set) \
	X(inspect_get_windows_software_hive) \
	X(inspect_get_windows_system_hive) \
	X(inspect_get_windows_systemroot) \
	X(inspect_list_applications2) \
	X(inspect_os) \
	X(is_dir) \
	X(is_file) \
	X(is_file_opts) \
	X(last_error) \
	X(launch) \
	X(list_filesystems) \
	X(list_partitions) \
	X(ln_sf) \
	X(ls) \
	X(mkdir_p) \
	X(mount) \
	X(mount_ro) \
	X(mv) \
	X(part_get_gpt_type) \
	X(part_get_mbr_id) \
	X(part_get_parttype) \
	X(part_to_dev) \
	X(part_to_partnum) \
	X(read_file) \
	X(readlink) \
	X(rm) \
	X(rm_rf) \
	X(selinux_relabel) \
	X(set_backend) \
	X(set_backend_settings) \
	X(set_error_handler) \
	X(set_memsize) \
	X(set_network) \
	X(set_smp) \
	X(sh) \
	X(sh_lines) \
	X(shutdown) \
	X(tar_in) \
	X(truncate) \
	X(umount_all) \
	X(upload) \
	X(vfs_type) \
	X(vfs_uuid) \
	X(write) \
	X(write_append)

#define GUEST_DL_DECLARE(n) extern __typeof__(guestfs_##n) *guest_dl_##n;
GUEST_DL_FUNCS(GUEST_DL_DECLARE)
#ifndef GUEST_DL_IMPL
#define guestfs_add_drive_opts (*guest_dl_add_drive_opts)
#define guestfs_aug_close (*guest_dl_aug_close)
#define guestfs_aug_get (*guest_dl_aug_get)
#define guestfs_aug_init (*guest_dl_aug_init)
#define guestfs_aug_match (*guest_dl_aug_match)
#define guestfs_aug_rm (*guest_dl_aug_rm)
#define guestfs_aug_save (*guest_dl_aug_save)
#define guestfs_aug_set (*guest_dl_aug_set)
#define guestfs_case_sensitive_path (*guest_dl_case_sensitive_path)
#define guestfs_chmod (*guest_dl_chmod)
#define guestfs_chown (*guest_dl_chown)
#define guestfs_close (*guest_dl_close)
#define guestfs_command (*guest_dl_command)
#define guestfs_command_lines (*guest_dl_command_lines)
#define guestfs_copy_in (*guest_dl_copy_in)
#define guestfs_cp (*guest_dl_cp)
#define guestfs_cp_a (*guest_dl_cp_a)
#define guestfs_create (*guest_dl_create)
#define guestfs_download (*guest_dl_download)
#define guestfs_exists (*guest_dl_exists)
#define guestfs_filesize (*guest_dl_filesize)
#define guestfs_find (*guest_dl_find)
#define guestfs_free_application2_list (*guest_dl_free_application2_list)
#define guestfs_free_hivex_node_list (*guest_dl_free_hivex_node_list)
#define guestfs_get_pid (*guest_dl_get_pid)
#define guestfs_glob_expand (*guest_dl_glob_expand)
#define guestfs_hivex_close (*guest_dl_hivex_close)
#define guestfs_hivex_commit (*guest_dl_hivex_commit)
#define guestfs_hivex_node_add_child (*guest_dl_hivex_node_add_child)
#define guestfs_hivex_node_children (*guest_dl_hivex_node_children)
#define guestfs_hivex_node_get_child (*guest_dl_hivex_node_get_child)
#define guestfs_hivex_node_get_value (*guest_dl_hivex_node_get_value)
#define guestfs_hivex_node_name (*guest_dl_hivex_node_name)
#define guestfs_hivex_node_set_value (*guest_dl_hivex_node_set_value)
#define guestfs_hivex_open (*guest_dl_hivex_open)
#define guestfs_hivex_root (*guest_dl_hivex_root)
#define guestfs_hivex_value_type (*guest_dl_hivex_value_type)
#define guestfs_hivex_value_value (*guest_dl_hivex_value_value)
#define guestfs_inspect_get_arch (*guest_dl_inspect_get_arch)
#define guestfs_inspect_get_distro (*guest_dl_inspect_get_distro)
#define guestfs_inspect_get_drive_mappings (*guest_dl_inspect_get_drive_mappings)
#define guestfs_inspect_get_hostname (*guest_dl_inspect_get_hostname)
#define guestfs_inspect_get_major_version (*guest_dl_inspect_get_major_version)
#define guestfs_inspect_get_minor_version (*guest_dl_inspect_get_minor_version)
#define guestfs_inspect_get_mountpoints (*guest_dl_inspect_get_mountpoints)
#define guestfs_inspect_get_package_format (*guest_dl_inspect_get_package_format)
#define guestfs_inspect_get_package_management (*guest_dl_inspect_get_package_management)
#define guestfs_inspect_get_product_name (*guest_dl_inspect_get_product_name)
#define guestfs_inspect_get_product_variant (*guest_dl_inspect_get_product_variant)
#define guestfs_inspect_get_roots (*guest_dl_inspect_get_roots)
#define guestfs_inspect_get_type (*guest_dl_inspect_get_type)
#define guestfs_inspect_get_windows_current_control_set (*guest_dl_inspect_get_windows_current_control_set)
#define guestfs_inspect_get_windows_software_hive (*guest_dl_inspect_get_windows_software_hive)
#define guestfs_inspect_get_windows_system_hive (*guest_dl_inspect_get_windows_system_hive)
#define guestfs_inspect_get_windows_systemroot (*guest_dl_inspect_get_windows_systemroot)
#define guestfs_inspect_list_applications2 (*guest_dl_inspect_list_applications2)
#define guestfs_inspect_os (*guest_dl_inspect_os)
#define guestfs_is_dir (*guest_dl_is_dir)
#define guestfs_is_file (*guest_dl_is_file)
#define guestfs_is_file_opts (*guest_dl_is_file_opts)
#define guestfs_last_error (*guest_dl_last_error)
#define guestfs_launch (*guest_dl_launch)
#define guestfs_list_filesystems (*guest_dl_list_filesystems)
#define guestfs_findfs_label (*guest_dl_findfs_label)
#define guestfs_findfs_uuid (*guest_dl_findfs_uuid)
#define guestfs_list_partitions (*guest_dl_list_partitions)
#define guestfs_ln_sf (*guest_dl_ln_sf)
#define guestfs_ls (*guest_dl_ls)
#define guestfs_mkdir_p (*guest_dl_mkdir_p)
#define guestfs_mount (*guest_dl_mount)
#define guestfs_mount_ro (*guest_dl_mount_ro)
#define guestfs_mv (*guest_dl_mv)
#define guestfs_part_get_gpt_type (*guest_dl_part_get_gpt_type)
#define guestfs_part_get_mbr_id (*guest_dl_part_get_mbr_id)
#define guestfs_part_get_parttype (*guest_dl_part_get_parttype)
#define guestfs_part_to_dev (*guest_dl_part_to_dev)
#define guestfs_part_to_partnum (*guest_dl_part_to_partnum)
#define guestfs_read_file (*guest_dl_read_file)
#define guestfs_readlink (*guest_dl_readlink)
#define guestfs_rm (*guest_dl_rm)
#define guestfs_rm_rf (*guest_dl_rm_rf)
#define guestfs_selinux_relabel (*guest_dl_selinux_relabel)
#define guestfs_set_backend (*guest_dl_set_backend)
#define guestfs_set_backend_settings (*guest_dl_set_backend_settings)
#define guestfs_set_error_handler (*guest_dl_set_error_handler)
#define guestfs_set_memsize (*guest_dl_set_memsize)
#define guestfs_set_network (*guest_dl_set_network)
#define guestfs_set_smp (*guest_dl_set_smp)
#define guestfs_sh (*guest_dl_sh)
#define guestfs_sh_lines (*guest_dl_sh_lines)
#define guestfs_shutdown (*guest_dl_shutdown)
#define guestfs_tar_in (*guest_dl_tar_in)
#define guestfs_truncate (*guest_dl_truncate)
#define guestfs_umount_all (*guest_dl_umount_all)
#define guestfs_upload (*guest_dl_upload)
#define guestfs_vfs_type (*guest_dl_vfs_type)
#define guestfs_vfs_uuid (*guest_dl_vfs_uuid)
#define guestfs_write (*guest_dl_write)
#define guestfs_write_append (*guest_dl_write_append)
#endif

/* Load libguestfs once: 0, or -ENOTSUP with the message set. */
int guest_dl_load(void);

static inline guestfs_h *guest_h(struct guest *gu) { return gu->g; }

/* Set the error from the handle's last error: "what: message". */
int guest_err(struct guest *gu, const char *what);
/* first_disk_root.c: gu->root and gu->mountpoints from /dev/sda alone; -ENOENT
 * (no message) when that is not plain. */
int guest_first_disk_root(struct guest *gu);
/* Read a regular guest file of at most max bytes (NUL-terminated, malloc'd).
 * Returns 0, -ENOENT when absent or not a regular file, -EFBIG, or -EIO. */
int guest_read(struct guest *gu, const char *path, size_t max, char **data, size_t *len);
/* Is path a regular file / a directory / anything (no error when absent). */
bool guest_is_file(struct guest *gu, const char *path);
bool guest_is_dir(struct guest *gu, const char *path);
bool guest_exists(struct guest *gu, const char *path);
/* A guest path with each existing element in the file system's own case (NTFS is
 * case-sensitive under libguestfs: a Windows path is spelled in any case); the
 * elements that do not exist yet are kept as spelled.  malloc'd, or NULL with the
 * message set. */
char *guest_case_path(struct guest *gu, const char *path);
/* Paths matching a glob pattern in the guest (NULL-terminated, free with
 * guest_free_strv); never NULL on success. */
char **guest_glob(struct guest *gu, const char *pattern);
void guest_free_strv(char **v);
size_t guest_strv_len(char **v);
#endif

#endif
