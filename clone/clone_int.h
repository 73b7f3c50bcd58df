/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * clone_int.h - what the parts of clone/ share: the disk makers (disk.c), the
 * shared appliance (appliance.c), the identity work (identity.c, nics.c) and the
 * domain XML (domain_xml.c).  Internal to clone/.
 */
#ifndef IMGTOOL_CLONE_INT_H
#define IMGTOOL_CLONE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "clone/clone.h"
#include "formats/format.h"
#include "guest/guest.h"

/* clones per appliance: inspection time grows with the disks */
#define CLONE_BATCH_MAX 16

/* ---- disk.c ---- */
/* A qcow2 overlay at path over the open template. */
int clone_disk_linked(struct image *tpl, const char *path);
/* A copy of the template at path in format. */
int clone_disk_full(struct image *tpl, const char *format, const char *path);

/* ---- appliance.c ---- */
struct clone_appliance {
	struct guest *gu;
	int ndisks;
	char *const *images;    /* the caller's, one per disk */
	int current;            /* the clone whose filesystems are mounted */
	char *root0;            /* the root filesystem found on the first disk */
	char **mps;             /* its mountpoints (mountpoint, device pairs), / first */
};
/* Launch one appliance on n clone disks in format, the first one mounted.  -EAGAIN
 * (no message) when n > 1 and the guest's filesystems cannot be told apart by
 * place (see appliance.c): open them one by one then. */
int clone_appliance_open(char *const *images, const char *format, int n, bool network,
			 struct clone_appliance *ca);
/* Mount clone idx's filesystems in place of the current one's. */
int clone_appliance_select(struct clone_appliance *ca, int idx);
/* Unmount, flush and shut down (a failure to flush is returned). */
int clone_appliance_close(struct clone_appliance *ca);

/* ---- identity.c ---- */
/* The identity the mounted guest still holds, as "SSH host keys (3 files),
 * machine-id 0123..." in list; returns how many kinds were found. */
int clone_identity_left(struct guest *gu, char *list, size_t len);
/* Give the mounted clone its own identity: sysprep's machine-id, ssh-hostkeys,
 * random-seed and net-persistent-rules operations (first-boot regeneration),
 * fresh NIC UUIDs, then its hostname and the customize ops.  Lines on stdout
 * start with prefix. */
int clone_identity_apply(struct guest *gu, const char *name, const struct cust_op *ops,
			 size_t nops, bool network, bool force, const char *prefix);

/* ---- nics.c ---- */
/* NetworkManager keyfiles and ifcfg files: a new UUID each, MAC lines dropped
 * (the clone's NICs get new MACs).  Reports into msg. */
int clone_fix_nics(struct guest *gu, char *msg, size_t len);

/* ---- domain_xml.c ---- */
/* Write out_path: the template's domain XML (tpl_xml) with name, a new UUID, new
 * MACs, and the template's disk (tpl_image) replaced by image in format. */
int clone_domain_xml(const char *tpl_xml, const char *tpl_image, const char *name,
		     const char *image, const char *format, const char *out_path);

#endif
