/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * source.c - what every v2v input shares: opening one source disk (a file or URL,
 * or a member read in place inside an archive), a guest name from a file name, and
 * freeing a source.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/slice/slice.h"
#include "formats/format.h"
#include "v2v/input/input.h"

/* A disk inside an archive (an OVA member) is opened in place through a read-only
 * window of the archive; it is named "ARCHIVE@OFFSET" in messages. */
int v2v_disk_open(const struct v2v_disk *d, struct image **out)
{
	struct backend *be;
	char name[4096];
	int ret;

	if (!d->offset && !d->length)
		return image_open(d->path, d->format, 0, out);
	snprintf(name, sizeof(name), "%s@%llu", d->path, (unsigned long long)d->offset);
	ret = backend_open_slice(d->path, d->offset, d->length, name, &be);
	if (ret < 0)
		return ret;
	/* an archive's disk comes from a stranger's package (an OVA): nothing it
	 * names may be followed out of the archive, and --untrusted's caps apply */
	return image_open_backend(be, name, d->format, IMG_UNTRUSTED, out);
}

char *v2v_name_from_path(const char *path)
{
	/* a URL's query may hold paths (ssh://h/vm/web01.vmx?identity=/root/k) */
	size_t end = strstr(path, "://") ? strcspn(path, "?") : strlen(path);
	const char *base = path + end;
	char *name, *dot;

	while (base > path && base[-1] != '/')
		base--;
	if (base == path + end)      /* "dir/" or "/": the whole name */
		base = path;
	name = strndup(base, (size_t)(path + end - base));
	dot = name ? strrchr(name, '.') : NULL;
	if (dot && dot != name)
		*dot = '\0';
	return name;
}

void v2v_source_free(struct v2v_source *s)
{
	for (int i = 0; i < s->nb_disks; i++) {
		free(s->disks[i].path);
		free(s->disks[i].format);
		free(s->disks[i].controller);
		free(s->disks[i].controller_model);
	}
	for (int i = 0; i < s->nb_nics; i++) {
		free(s->nics[i].model);
		free(s->nics[i].mac);
		free(s->nics[i].network);
	}
	free(s->disks);
	free(s->nics);
	free(s->name);
	memset(s, 0, sizeof(*s));
}
