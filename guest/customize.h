/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * customize.h - offline edits of a guest image (imgtool customize): hostname,
 * timezone, files, links, root password, SSH keys, first-boot commands,
 * commands and scripts run in the guest, directory trees copied in, packages
 * installed with the guest's package manager, and the SELinux relabel.
 * Operations run in the order given, each printing one line.  Parsing is pure
 * (unit tested); running needs a struct guest.
 */
#ifndef IMGTOOL_CUSTOMIZE_H
#define IMGTOOL_CUSTOMIZE_H

#include <stdbool.h>
#include <stddef.h>

#include "guest/guest.h"

enum cust_kind {
	CUST_HOSTNAME, CUST_TIMEZONE, CUST_WRITE, CUST_APPEND_LINE, CUST_UPLOAD,
	CUST_MKDIR, CUST_CHMOD, CUST_DELETE, CUST_LINK, CUST_ROOT_PASSWORD,
	CUST_SSH_INJECT, CUST_FIRSTBOOT_COMMAND, CUST_RUN_COMMAND,
	CUST_RUN, CUST_COPY_IN, CUST_INSTALL, CUST_UPDATE, CUST_SELINUX_RELABEL,
};
#define CUST_N_KINDS (CUST_SELINUX_RELABEL + 1)

struct cust_op {
	enum cust_kind kind;
	char *a;          /* the main argument: path, name, command, user... */
	char *b;          /* the second one: content, target, key file... */
	unsigned mode;    /* --chmod */
	int pw_kind;      /* --root-password: 0 password:, 1 file:, 2 random */
};

/* The option names customize accepts (without "--"), in enum order. */
extern const char *const customize_option_names[];
/* Parse one "--option value"; -EINVAL with the message set on a bad value. */
int customize_parse_op(enum cust_kind kind, const char *value, struct cust_op *op);
void customize_free_op(struct cust_op *op);
/* Does the option take a value (--update and --selinux-relabel do not)? */
bool customize_takes_value(enum cust_kind kind);
/* Do the ops run programs in the guest that may want the network (--install,
 * --update, --run, --run-command)?  The appliance then gets one. */
bool customize_wants_network(const struct cust_op *ops, size_t n);
/* The guest's password scheme ("$y$", "$6$"...): the pam_unix option in the PAM
 * password stack, else ENCRYPT_METHOD in /etc/login.defs, else root's current
 * hash, else SHA-512.  Pure, on the three files' texts (any may be NULL). */
const char *customize_password_scheme(const char *pam, const char *login_defs,
				      const char *root_hash);
/* Hash a password with crypt(3) for a scheme prefix ("$6$", "$y$"...); malloc'd. */
int customize_hash_password(const char *password, const char *prefix, char **out);
/* Has the guest systemd (the only init first-boot work is hooked into)? */
bool customize_has_systemd(struct guest *gu);
/* Write /etc/systemd/system/NAME with text and enable it as WantedBy=
 * multi-user.target does (the first-boot mechanism: --firstboot-command, and
 * sysprep's SSH host key regeneration). */
int customize_install_unit(struct guest *gu, const char *name, const char *text);
/* Run ops in order on gu; each prints one line on stdout after prefix.  network
 * says whether the appliance was launched with one (for --install's message). */
int customize_run(struct guest *gu, const struct cust_op *ops, size_t n, const char *prefix,
		  bool network);

#endif
