/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * identity.c - what makes one machine out of a clone.  The template check looks
 * for what sysprep removes (a template that still holds it gives every clone the
 * same SSH host keys and machine-id); each clone then goes through the identity
 * half of sysprep itself (so that a --force'd template is cleaned too, and the
 * first-boot key regeneration is there even for a template prepared by another
 * tool), gets new NIC UUIDs, its hostname and the user's customize operations.
 */
#include "clone/clone_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "guest/sysprep.h"

#ifdef HAVE_LIBGUESTFS

#define IDENTITY_OPS "machine-id,ssh-hostkeys,random-seed,net-persistent-rules"

static void add_item(char *list, size_t len, const char *item)
{
	size_t l = strlen(list);

	snprintf(list + l, len - l, "%s%s", l ? ", " : "", item);
}

int clone_identity_left(struct guest *gu, char *list, size_t len)
{
	char **keys = guest_glob(gu, "/etc/ssh/ssh_host_*");
	size_t nkeys = guest_strv_len(keys);
	char item[128], *id = NULL;
	int kinds = 0;

	guest_free_strv(keys);
	list[0] = 0;
	if (nkeys) {
		snprintf(item, sizeof(item), "SSH host keys (%zu files in /etc/ssh)", nkeys);
		add_item(list, len, item);
		kinds++;
	}
	if (guest_read(gu, "/etc/machine-id", 4096, &id, NULL) == 0 && id[strspn(id, " \n")]) {
		id[strcspn(id, "\n")] = 0;
		snprintf(item, sizeof(item), "machine-id %.40s", id);
		add_item(list, len, item);
		kinds++;
	}
	free(id);
	err_clear();
	/* a regular file, not the link to /etc/machine-id */
	if (guestfs_is_file(guest_h(gu), "/var/lib/dbus/machine-id") == 1) {
		add_item(list, len, "/var/lib/dbus/machine-id");
		kinds++;
	}
	if (guest_exists(gu, "/etc/udev/rules.d/70-persistent-net.rules")) {
		add_item(list, len, "persistent net rules");
		kinds++;
	}
	if (guest_exists(gu, "/var/lib/systemd/random-seed")) {
		add_item(list, len, "a random seed");
		kinds++;
	}
	return kinds;
}

static int run_one_op(struct guest *gu, enum cust_kind kind, const char *value, bool network,
		      const char *prefix)
{
	struct cust_op op;
	int r = customize_parse_op(kind, value, &op);

	if (r)
		return r;
	r = customize_run(gu, &op, 1, prefix, network);
	customize_free_op(&op);
	return r;
}

int clone_identity_apply(struct guest *gu, const char *name, const struct cust_op *ops,
			 size_t nops, bool network, bool force, const char *prefix)
{
	bool *on = calloc(sysprep_nops, sizeof(bool));
	char msg[512];
	int r;

	if (!on)
		return -ENOMEM;
	r = sysprep_parse_operations(IDENTITY_OPS, on);
	if (!r)
		r = sysprep_run(gu, on, force, prefix);
	free(on);
	if (r || (r = clone_fix_nics(gu, msg, sizeof(msg))))
		return r;
	printf("%snic-uuids: %s\n", prefix, msg);
	fflush(stdout);
	if ((r = run_one_op(gu, CUST_HOSTNAME, name, network, prefix)))
		return r;
	return customize_run(gu, ops, nops, prefix, network);
}

#else

int clone_identity_left(struct guest *gu, char *list, size_t len)
{
	return 0;
}

int clone_identity_apply(struct guest *gu, const char *name, const struct cust_op *ops,
			 size_t nops, bool network, bool force, const char *prefix)
{
	return -ENOTSUP;
}

#endif
