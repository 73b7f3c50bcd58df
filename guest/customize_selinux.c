/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * customize_selinux.c - customize --selinux-relabel.  Files written offline carry
 * no SELinux label, so an enforcing guest may refuse them at boot.  When the guest
 * has SELinux configured (/etc/selinux/config with SELINUX= not "disabled"), the
 * filesystem is relabelled now with the policy's file_contexts through
 * guestfs_selinux_relabel (setfiles in the appliance); where that cannot run, the
 * guest is told to relabel itself at next boot (/.autorelabel).  Without SELinux
 * the operation only says it is not needed.
 */
#include "guest/customize_ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

#ifdef HAVE_LIBGUESTFS

/* The value of "KEY=value" in the config text (quotes and spaces trimmed). */
static void config_value(const char *text, const char *key, char *out, size_t len)
{
	size_t kl = strlen(key);

	out[0] = 0;
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		l += strspn(l, " \t");
		if (strncmp(l, key, kl) || l[kl] != '=')
			continue;
		l += kl + 1;
		l += *l == '"' || *l == '\'';
		snprintf(out, len, "%.*s", (int)strcspn(l, "\"' \t\r\n#"), l);
	}
}

int cust_op_selinux_relabel(struct guest *gu, char *msg, size_t len)
{
	char *text = NULL, mode[64], type[128], contexts[512];
	int r = guest_read(gu, "/etc/selinux/config", CUST_GUEST_TEXT_MAX, &text, NULL);

	if (r == -ENOENT) {
		err_clear();
		snprintf(msg, len, "not needed: the guest has no SELinux configuration "
			 "(/etc/selinux/config)");
		return 0;
	}
	if (r)
		return r;
	config_value(text, "SELINUX", mode, sizeof(mode));
	config_value(text, "SELINUXTYPE", type, sizeof(type));
	free(text);
	if (!mode[0] || !strcmp(mode, "disabled")) {
		snprintf(msg, len, "not needed: SELinux is disabled in /etc/selinux/config");
		return 0;
	}
	snprintf(contexts, sizeof(contexts), "/etc/selinux/%s/contexts/files/file_contexts",
		 type[0] && !strchr(type, '/') ? type : "targeted");
	if (guest_is_file(gu, contexts) &&
	    guestfs_selinux_relabel(guest_h(gu), contexts, "/", -1) == 0) {
		snprintf(msg, len, "relabelled the filesystems with %s (SELinux %s)", contexts, mode);
		return 0;
	}
	/* no policy file or no setfiles in the appliance: the guest relabels at boot */
	if (guestfs_write(guest_h(gu), "/.autorelabel", "", 0) < 0)
		return guest_err(gu, "/.autorelabel");
	snprintf(msg, len, "created /.autorelabel: the guest relabels at next boot (SELinux %s)",
		 mode);
	return 0;
}

#endif
