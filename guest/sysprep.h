/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysprep.h - template preparation (imgtool sysprep): remove what makes a guest
 * one particular machine (machine-id, SSH host keys, persistent NIC names, MACs,
 * leases, logs, histories...) so that clones of it do not collide.  Each operation
 * prints one line saying what it changed.
 */
#ifndef IMGTOOL_SYSPREP_H
#define IMGTOOL_SYSPREP_H

#include <stdbool.h>
#include <stdio.h>

#include "guest/guest.h"

struct sysprep_op {
	const char *name;
	bool default_on;
	const char *description;
	int (*run)(struct guest *gu, char *msg, size_t len);
};

extern const struct sysprep_op sysprep_ops[];
extern const size_t sysprep_nops;

/* "--operations LIST": comma-separated names, "defaults", "all", "-NAME" removes,
 * starting from nothing; an empty result or an unknown name is -EINVAL (message
 * set).  enabled[] has sysprep_nops entries. */
int sysprep_parse_operations(const char *list, bool *enabled);
/* Enabled = the default set. */
void sysprep_default_operations(bool *enabled);
/* The table for --list-operations. */
void sysprep_list(FILE *f);
/* Run the enabled operations in table order, one line each on stdout (prefixed by
 * prefix, e.g. "(dry run) "), each saying what happens at first boot.  What nothing
 * in the guest would rebuild at first boot (SSH host keys without systemd) is kept
 * unless force.  Returns 0 or the first failure. */
int sysprep_run(struct guest *gu, const bool *enabled, bool force, const char *prefix);

#ifdef HAVE_LIBGUESTFS
struct strbuf;
/* A line filter: append the line's replacement (or nothing) to out. */
typedef int (*sysprep_line_fn)(const char *line, size_t len, void *ctx, struct strbuf *out);
/* Rewrite a guest file line by line through fn (absent: nothing to do);
 * *changed is set when its content changed. */
int sysprep_edit_lines(struct guest *gu, const char *path, sysprep_line_fn fn, void *ctx,
		       bool *changed);
#endif

#endif
