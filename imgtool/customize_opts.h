/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * customize_opts.h - the customize operations as getopt_long options (see
 * customize_opts.c), for the subcommands that take them.
 */
#ifndef IMGTOOL_CLI_CUSTOMIZE_OPTS_H
#define IMGTOOL_CLI_CUSTOMIZE_OPTS_H

#include <stddef.h>

#include "guest/customize.h"

struct option;

/* getopt values CLI_CUSTOMIZE_BASE + enum cust_kind; keep other options below */
#define CLI_CUSTOMIZE_BASE 1024

/* Fill out[0..CUST_N_KINDS-1] with the operations' long options. */
void cli_customize_longopts(struct option *out);
/* getopt returned c: if it is an operation, parse arg and append it to *ops.
 * 1 appended, 0 not an operation, -1 bad value or no memory (reported). */
int cli_customize_option(int c, const char *arg, struct cust_op **ops, size_t *n);
void cli_customize_free(struct cust_op *ops, size_t n);

#endif
