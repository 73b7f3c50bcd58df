/*
 * v2v_source.c - the input-independent parts of a v2v source: -i disk, opening a
 * source disk, freeing.  The .vmx and OVA readers live in v2v_vmx.c and v2v_ova.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/net.h"
#include "backends/slice/slice.h"
#include "common/err.h"
#include "formats/format.h"
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
	const char *base = strrchr(path, '/');
	base = base && base[1] ? base + 1 : path;
	char *name = strdup(base);
	if (!name)
		return NULL;
	char *dot = strrchr(name, '.');
	if (dot && dot != name)
		*dot = '\0';
	return name;
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
