/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * customize_opts.c - the customize operations as command-line options, shared by
 * `imgtool customize` and `imgtool clone` (which runs them on every clone): the
 * option table and the parsing, both from guest/customize.c's own list.
 */
#include "cli.h"
#include "customize_opts.h"

#include <getopt.h>
#include <stdlib.h>

void cli_customize_longopts(struct option *out)
{
	for (int i = 0; i < CUST_N_KINDS; i++)
		out[i] = (struct option){ customize_option_names[i],
					  customize_takes_value((enum cust_kind)i)
					  ? required_argument : no_argument, NULL,
					  CLI_CUSTOMIZE_BASE + i };
}

int cli_customize_option(int c, const char *arg, struct cust_op **ops, size_t *n)
{
	struct cust_op *grown;
	int r;

	if (c < CLI_CUSTOMIZE_BASE || c >= CLI_CUSTOMIZE_BASE + CUST_N_KINDS)
		return 0;
	grown = realloc(*ops, (*n + 1) * sizeof(**ops));
	if (!grown) {
		cli_error("out of memory");
		return -1;
	}
	*ops = grown;
	r = customize_parse_op((enum cust_kind)(c - CLI_CUSTOMIZE_BASE), arg, &grown[*n]);
	if (r) {
		cli_report(r, customize_option_names[c - CLI_CUSTOMIZE_BASE]);
		return -1;
	}
	(*n)++;
	return 1;
}

void cli_customize_free(struct cust_op *ops, size_t n)
{
	for (size_t i = 0; i < n; i++)
		customize_free_op(&ops[i]);
	free(ops);
}
