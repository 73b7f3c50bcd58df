/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nics.c - the guest's own NIC identity in a clone: a NetworkManager connection
 * or an ifcfg file carries a UUID (two clones with one UUID are one connection to
 * anything that tracks them) and often the template's MAC (which the clone's new
 * NIC does not have, so the connection would never match it).  Each file gets a
 * new UUID, in place of the old one or added where there was none (NetworkManager
 * derives a missing one from the file name: the same in every clone), and loses
 * its MAC lines.
 */
#include "clone/clone_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/random.h"
#include "common/strbuf.h"
#include "guest/sysprep.h"

#ifdef HAVE_LIBGUESTFS

struct nic_file_kind {
	const char *pattern;
	const char *uuid_key;            /* "uuid=" or "UUID=" */
	const char *section;             /* where a new uuid goes (NULL: first line) */
	const char *const *mac_keys;
};

struct nic_edit {
	const struct nic_file_kind *kind;
	char uuid[UUID_STR_LEN];
	bool added;
	int macs;
};

static bool starts(const char *line, size_t n, const char *key)
{
	size_t kl = strlen(key);

	return n >= kl && !strncmp(line, key, kl);
}

static int add_uuid(struct nic_edit *e, struct strbuf *out)
{
	int r;

	e->added = true;
	if ((r = strbuf_add(out, e->kind->uuid_key, strlen(e->kind->uuid_key))) ||
	    (r = strbuf_add(out, e->uuid, strlen(e->uuid))))
		return r;
	return strbuf_add(out, "\n", 1);
}

static int edit_nic_line(const char *line, size_t n, void *vctx, struct strbuf *out)
{
	struct nic_edit *e = vctx;
	size_t sp = strspn(line, " \t");
	int r;

	if (sp > n)
		sp = n;
	if (!e->added && !e->kind->section && (r = add_uuid(e, out)))
		return r;
	if (starts(line + sp, n - sp, e->kind->uuid_key))
		return 0;
	for (size_t i = 0; e->kind->mac_keys[i]; i++) {
		if (starts(line + sp, n - sp, e->kind->mac_keys[i])) {
			e->macs++;
			return 0;
		}
	}
	if ((r = strbuf_add(out, line, n)))
		return r;
	if (!e->added && e->kind->section && starts(line + sp, n - sp, e->kind->section))
		return add_uuid(e, out);
	return 0;
}

int clone_fix_nics(struct guest *gu, char *msg, size_t len)
{
	static const char *const nm_macs[] = { "mac-address=", "cloned-mac-address=", NULL };
	static const char *const ifcfg_macs[] = { "HWADDR=", "MACADDR=", NULL };
	static const struct nic_file_kind kinds[] = {
		{ "/etc/NetworkManager/system-connections/*", "uuid=", "[connection]", nm_macs },
		{ "/etc/sysconfig/network-scripts/ifcfg-*", "UUID=", NULL, ifcfg_macs },
		{ "/etc/sysconfig/network/ifcfg-*", "UUID=", NULL, ifcfg_macs },
	};
	int files = 0, macs = 0;

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		char **v = guest_glob(gu, kinds[k].pattern);
		int r = 0;

		for (size_t i = 0; v[i] && !r; i++) {
			struct nic_edit e = { .kind = &kinds[k] };
			size_t l = strlen(v[i]);
			bool changed;

			/* the loopback needs no connection identity */
			if (!guest_is_file(gu, v[i]) || (l > 3 && !strcmp(v[i] + l - 3, "-lo")))
				continue;
			if ((r = random_uuid_str(e.uuid)) ||
			    (r = sysprep_edit_lines(gu, v[i], edit_nic_line, &e, &changed)))
				break;
			files += e.added;
			macs += e.macs;
		}
		guest_free_strv(v);
		if (r)
			return r;
	}
	if (files)
		snprintf(msg, len, "a new UUID in %d NetworkManager/ifcfg file(s), %d MAC line(s) "
			 "dropped", files, macs);
	else
		snprintf(msg, len, "no NetworkManager or ifcfg connection files");
	return 0;
}

#endif
