/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tar.h - the member list of a tar archive (an OVA), read without extracting:
 * each regular member's name, and where its bytes lie in the archive, so that the
 * OVA reader can hash members and open disks in place.  ustar, pax ('x' records
 * path and size) and GNU ('L' long names, base-256 sizes) headers are understood.
 */
#ifndef IMGTOOL_V2V_TAR_H
#define IMGTOOL_V2V_TAR_H

#include <stdbool.h>
#include <stdint.h>

struct tar_member {
	char *name;       /* without a leading "./" */
	uint64_t offset;  /* of the data in the archive */
	uint64_t size;
	bool regular;     /* a plain file (not a link, folder, device, sparse file) */
};

struct tar_list {
	struct tar_member *m;
	int n;
};

/* List the members of the tar archive at path.  A file that is not a tar (bad
 * header checksum), a gzip'd archive, or one truncated inside a member is an error
 * naming path. */
int tar_list_read(const char *path, struct tar_list *out);
const struct tar_member *tar_list_find(const struct tar_list *l, const char *name);
void tar_list_free(struct tar_list *l);

#endif
