/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * args.c - parsing of option values for the imgtool subcommands.
 *
 * Pure functions with no output of their own (the message goes through err_set), so
 * tests/unit/test_cli_opts.c can include this file and test them directly.
 */
#include "cli.h"
#include "../common/err.h"
#include "../common/opts.h"
#include "../common/util.h"
#include "../formats/format.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int cli_parse_output(const char *s, enum output_format *out)
{
	if (!strcmp(s, "human")) {
		*out = OUTPUT_HUMAN;
		return 0;
	}
	if (!strcmp(s, "json")) {
		*out = OUTPUT_JSON;
		return 0;
	}
	return err_set(-EINVAL, NULL, "--output must be used with human or json as argument.");
}

int cli_parse_resize_size(const char *s, int *sign, uint64_t *size)
{
	*sign = 0;
	if (*s == '+' || *s == '-') {
		*sign = *s == '+' ? 1 : -1;
		s++;
	}
	if (parse_size(s, size) < 0)
		return err_set(-EINVAL, NULL, "Invalid size specified");
	return 0;
}

int cli_apply_resize(uint64_t cur, int sign, uint64_t delta, uint64_t *out)
{
	if (sign == 0) {
		*out = delta;
	} else if (sign > 0) {
		if (!add_ok(cur, delta, out))
			return err_set(-EINVAL, NULL, "Image size too large");
	} else {
		if (delta > cur)
			return err_set(-EINVAL, NULL, "New image size must be positive");
		*out = cur - delta;
	}
	if (*out == 0 && sign < 0)
		return err_set(-EINVAL, NULL, "New image size must be positive");
	return 0;
}

int cli_parse_cache(const char *mode, int *img_flags)
{
	int be = 0;
	int ret = backend_cache_flags(mode, &be);

	if (ret < 0)
		return ret;
	*img_flags = IMG_BE_FLAGS(be);
	return 0;
}

int cli_parse_sparse(const char *s, uint64_t *out)
{
	uint64_t v;

	if (parse_size(s, &v) < 0 || v % 512 || v > 16 * MiB)
		return err_set(-EINVAL, NULL,
			       "Invalid buffer size for sparse output specified. Valid sizes are multiples of 512 up to 16777216.");
	*out = v;
	return 0;
}

int cli_parse_workers(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 16)
		return err_set(-EINVAL, NULL,
			       "Invalid number of coroutines. Allowed number of coroutines is between 1 and 16");
	*out = (int)v;
	return 0;
}

int cli_parse_offset(const char *s, uint64_t *out)
{
	if (parse_size(s, out) < 0 || *out > (uint64_t)INT64_MAX)
		return err_set(-EINVAL, NULL, "Invalid offset or length specified: '%s'", s);
	return 0;
}

int cli_cvtnum(const char *name, const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	int ret = parse_size(v, out);

	if (ret < 0 && ret != -ERANGE) {
		err_set(-EINVAL, NULL,
			"Invalid %s specified. You may use k, M, G, T, P or E suffixes for", name);
		/* qemu-img's second line, with its program-name prefix */
		return err_hint(-EINVAL, PROG_NAME ": kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
	}
	if (ret == -ERANGE || *out < min || *out > max)
		return err_set(-ERANGE, NULL, "Invalid %s specified. Must be between %llu and %llu.",
			       name, (unsigned long long)min, (unsigned long long)max);
	return 0;
}

int cli_parse_ulong(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}
