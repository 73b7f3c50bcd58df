/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * policy_args.c - the reference-policy options every command that opens images
 * takes: --untrusted, --allow-ref-urls, --allow-ref-paths and --untrusted's caps
 * (--max-virtual-size, --max-metadata-size, --max-inflate-size).
 *
 * They are taken out of argv before the command parses its own options, so each
 * command accepts them in any position without listing them, and they reach
 * every image open (the backing chain, v2v inputs, serve) through
 * ref_policy_set() (formats/reference.h).
 */
#include "cli.h"
#include "../common/err.h"
#include "../common/opts.h"
#include "../formats/format.h"
#include "../formats/reference.h"

#include <errno.h>
#include <string.h>

static const struct {
	const char *name;
	int flag;
} policy_flags[] = {
	{ "--untrusted", IMG_UNTRUSTED },
	{ "--allow-ref-urls", IMG_ALLOW_REF_URLS },
	{ "--allow-ref-paths", IMG_ALLOW_REF_PATHS },
};

/* If argv[*i] is --NAME=SIZE or --NAME SIZE, store SIZE and step over it:
 * 1 when taken, 0 when not this option, -EINVAL on a bad size. */
static int take_size(const char *name, int argc, char **argv, int *i, uint64_t *out)
{
	size_t n = strlen(name);
	const char *v;

	if (strncmp(argv[*i], name, n))
		return 0;
	if (argv[*i][n] == '=')
		v = argv[*i] + n + 1;
	else if (!argv[*i][n] && *i + 1 < argc)
		v = argv[++*i];
	else if (!argv[*i][n])
		return err_set(-EINVAL, NULL, "option '%s' requires an argument", name);
	else
		return 0;
	if (parse_size(v, out) < 0 || *out == 0)
		return err_set(-EINVAL, NULL, "%s: invalid size '%s'", name, v);
	return 1;
}

int cli_take_policy_options(int *argc, char **argv)
{
	struct ref_limits lim = *ref_policy_limits();
	int flags = ref_policy_flags();
	int out = 1;

	for (int i = 1; i < *argc; i++) {
		bool taken = false;
		int r = 0;

		if (!strcmp(argv[i], "--")) {
			while (i < *argc)
				argv[out++] = argv[i++];
			break;
		}
		for (size_t k = 0; k < sizeof(policy_flags) / sizeof(policy_flags[0]); k++) {
			if (!strcmp(argv[i], policy_flags[k].name)) {
				flags |= policy_flags[k].flag;
				taken = true;
			}
		}
		if (!taken)
			r = take_size("--max-virtual-size", *argc, argv, &i, &lim.max_virtual_size);
		if (!taken && r == 0)
			r = take_size("--max-metadata-size", *argc, argv, &i, &lim.max_metadata_size);
		if (!taken && r == 0)
			r = take_size("--max-inflate-size", *argc, argv, &i, &lim.max_inflate_size);
		if (r < 0)
			return r;
		if (!taken && r == 0)
			argv[out++] = argv[i];
	}
	argv[out] = NULL;
	*argc = out;
	ref_policy_set(flags, &lim);
	return 0;
}
