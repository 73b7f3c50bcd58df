/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * disk.c - -i disk: one bare disk as the whole guest (an image file, a block device
 * for P2V, or an nfs://, iscsi://, rbd:, ssh:// URL), named after its file.  Nothing is read
 * here: the disk's format is probed when it is opened (or given with -f).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/net.h"
#include "common/err.h"
#include "v2v/input/input.h"

/* An iSCSI URL ends in the LUN number: "iscsi://h/iqn.2026-01.com.example:web01/1"
 * names the guest "web01-lun1" (the IQN's part after its last ':' or '.'), not "1",
 * which virsh would take for a domain id.  NULL when path is no such URL. */
static char *name_from_iscsi(const char *path)
{
	struct iscsi_url_parts u;
	const char *cut;
	char *name = NULL;

	if (iscsi_url_parse(path, &u)) {
		iscsi_url_free(&u);   /* what the parse had filled in */
		err_clear();          /* the open reports a bad URL, with its step */
		return NULL;
	}
	cut = u.iqn + strlen(u.iqn);
	while (cut > u.iqn && cut[-1] != ':' && cut[-1] != '.')
		cut--;
	if (*cut && asprintf(&name, "%s-lun%d", cut, u.lun) < 0)
		name = NULL;
	iscsi_url_free(&u);
	return name;
}

/* The guest's name from a path or URL: its last component without the extension
 * ("/dev/sdb" gives "sdb", "nfs://h/e/web01.vmdk" gives "web01"). */
static char *name_from_path(const char *path)
{
	if (!strncmp(path, "iscsi://", 8)) {
		char *n = name_from_iscsi(path);
		if (n)
			return n;
	}
	return v2v_name_from_path(path);
}

int v2v_source_from_disk(const char *path, const char *format, struct v2v_source *out)
{
	memset(out, 0, sizeof(*out));
	out->disks = calloc(1, sizeof(*out->disks));
	out->name = name_from_path(path);
	if (!out->disks || !out->name)
		goto nomem;
	out->nb_disks = 1;
	out->disks[0].path = strdup(path);
	if (!out->disks[0].path)
		goto nomem;
	if (format && !(out->disks[0].format = strdup(format)))
		goto nomem;
	return 0;
nomem:
	v2v_source_free(out);
	return err_set(-ENOMEM, path, "out of memory");
}

const struct v2v_input_ops v2v_input_disk = {
	.name = "disk",
	.takes_format = true,
	.names_quickly = true,
	.open = v2v_source_from_disk,
};
