/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * customize_ops.h - what customize.c's dispatcher shares with the operations kept
 * in files of their own (customize_password.c, customize_pkg.c,
 * customize_selinux.c): each runs one operation on the open guest and writes its
 * one-line report into msg.  Internal to customize.
 */
#ifndef IMGTOOL_CUSTOMIZE_OPS_H
#define IMGTOOL_CUSTOMIZE_OPS_H

#include "guest/customize.h"

#ifdef HAVE_LIBGUESTFS
#define CUST_GUEST_TEXT_MAX (4u << 20)

/* --root-password password:|file:|random, hashed with the guest's scheme. */
int cust_op_root_password(struct guest *gu, const struct cust_op *op, char *msg, size_t len);
/* --install PKGS and --update with the guest's package manager. */
int cust_op_packages(struct guest *gu, const struct cust_op *op, bool network,
		     char *msg, size_t len);
/* --selinux-relabel, or a line saying it is not needed. */
int cust_op_selinux_relabel(struct guest *gu, char *msg, size_t len);

/* A small host file (password, public key), NUL-terminated, malloc'd. */
int cust_read_host_file(const char *path, char **out);
/* Append a command's output to msg, after "; output:", without trailing newlines. */
void cust_append_output(char *msg, size_t len, const char *out);
#endif

#endif
