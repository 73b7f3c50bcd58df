/*
 * customize.h - offline edits of a guest image (imgtool customize): hostname,
 * timezone, files, links, root password, SSH keys, first-boot commands and
 * commands run in the guest.  Operations run in the order given, each printing
 * one line.  Parsing is pure (unit tested); running needs a struct guest.
 */
#ifndef IMGTOOL_CUSTOMIZE_H
#define IMGTOOL_CUSTOMIZE_H

#include <stddef.h>

#include "guest.h"

enum cust_kind {
	CUST_HOSTNAME, CUST_TIMEZONE, CUST_WRITE, CUST_APPEND_LINE, CUST_UPLOAD,
	CUST_MKDIR, CUST_CHMOD, CUST_DELETE, CUST_LINK, CUST_ROOT_PASSWORD,
	CUST_SSH_INJECT, CUST_FIRSTBOOT_COMMAND, CUST_RUN_COMMAND,
};

struct cust_op {
	enum cust_kind kind;
	char *a;          /* the main argument: path, name, command, user... */
	char *b;          /* the second one: content, target, key file... */
	unsigned mode;    /* --chmod */
	int pw_kind;      /* --root-password: 0 password:, 1 file: */
};

/* The option names customize accepts (without "--"), in enum order. */
extern const char *const customize_option_names[];
/* Parse one "--option value"; -EINVAL with the message set on a bad value. */
int customize_parse_op(enum cust_kind kind, const char *value, struct cust_op *op);
void customize_free_op(struct cust_op *op);
/* Hash a password with crypt(3) for a scheme prefix ("$6$", "$y$"...); malloc'd. */
int customize_hash_password(const char *password, const char *prefix, char **out);
/* Run ops in order on gu; each prints one line on stdout after prefix. */
int customize_run(struct guest *gu, const struct cust_op *ops, size_t n, const char *prefix);

#endif
