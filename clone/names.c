/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * names.c - clone names (see clone.h): a name is the guest's host name, the libvirt
 * domain's name and the file name of its disk and XML at once, so it must be valid
 * as all three; --name-pattern numbers them with one printf-style %d.
 */
#include "clone/clone.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"

bool clone_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    !(c >= '0' && c <= '9') && c != '-')
			return false;
	}
	return true;
}

/* Check the pattern by hand: handing an arbitrary format to printf is unsafe. */
static int check_pattern(const char *pattern)
{
	int conversions = 0;

	for (const char *p = pattern; *p; p++) {
		if (*p != '%')
			continue;
		if (p[1] == '%') {
			p++;
			continue;
		}
		p++;
		if (*p == '0')
			p++;
		if (*p >= '1' && *p <= '9')
			p++;
		if (*p >= '0' && *p <= '9')
			p++;
		if (*p != 'd')
			return err_set(-EINVAL, NULL, "--name-pattern '%s': only %%d, %%0Nd and %%Nd "
				       "(N up to 99) are allowed", pattern);
		conversions++;
	}
	if (conversions != 1)
		return err_set(-EINVAL, NULL, "--name-pattern '%s': needs exactly one %%d", pattern);
	return 0;
}

int clone_name_format(const char *pattern, int i, char *out, size_t len)
{
	int r = check_pattern(pattern), n;

	if (r)
		return r;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	n = snprintf(out, len, pattern, i);
#pragma GCC diagnostic pop
	if (n < 0 || (size_t)n >= len || !clone_name_valid(out))
		return err_set(-EINVAL, NULL, "--name-pattern '%s' makes '%s': a name is 1-63 "
			       "letters, digits and '-'", pattern, n >= 0 && (size_t)n < len ? out : "...");
	return 0;
}
