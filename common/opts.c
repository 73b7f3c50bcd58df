/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * opts.c - parsing of qemu-style option strings and sizes (see opts.h).
 */
#include "opts.h"
#include "err.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copy one comma-separated item starting at *s, unescaping ",,". */
static char *next_item(const char **s)
{
	const char *p = *s;
	size_t len = strlen(p);
	char *out = malloc(len + 1);
	size_t n = 0;

	if (!out)
		return NULL;
	while (*p) {
		if (*p == ',') {
			if (p[1] == ',') {
				out[n++] = ',';
				p += 2;
				continue;
			}
			p++;
			break;
		}
		out[n++] = *p++;
	}
	out[n] = '\0';
	*s = p;
	return out;
}

int opts_set(struct opts *o, const char *key, const char *value)
{
	for (int i = 0; i < o->n; i++) {
		if (strcmp(o->v[i].key, key) == 0) {
			char *nv = strdup(value);
			if (!nv)
				return -ENOMEM;
			free(o->v[i].value);
			o->v[i].value = nv;
			return 0;
		}
	}
	struct opt *nvv = realloc(o->v, sizeof(*o->v) * (size_t)(o->n + 1));
	if (!nvv)
		return -ENOMEM;
	o->v = nvv;
	o->v[o->n].key = strdup(key);
	o->v[o->n].value = strdup(value);
	o->v[o->n].used = false;
	if (!o->v[o->n].key || !o->v[o->n].value)
		return -ENOMEM;
	o->n++;
	return 0;
}

int opts_parse(struct opts *o, const char *s)
{
	int ret = 0;

	while (*s && ret == 0) {
		char *item = next_item(&s);
		char *eq;

		if (!item)
			return -ENOMEM;
		if (!*item) {
			free(item);
			continue;
		}
		eq = strchr(item, '=');
		if (eq) {
			*eq = '\0';
			ret = opts_set(o, item, eq + 1);
		} else {
			ret = opts_set(o, item, "on");
		}
		free(item);
	}
	return ret;
}

void opts_free(struct opts *o)
{
	for (int i = 0; i < o->n; i++) {
		free(o->v[i].key);
		free(o->v[i].value);
	}
	free(o->v);
	o->v = NULL;
	o->n = 0;
}

const char *opts_get(struct opts *o, const char *key)
{
	if (!o)
		return NULL;
	for (int i = 0; i < o->n; i++) {
		if (strcmp(o->v[i].key, key) == 0) {
			o->v[i].used = true;
			return o->v[i].value;
		}
	}
	return NULL;
}

int opt_value_bool(const char *key, const char *v, bool *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0")) {
		*out = false;
		return 0;
	}
	return err_set(-EINVAL, NULL, "Parameter '%s' expects 'on' or 'off'", key);
}

int opt_value_size(const char *key, const char *v, uint64_t *out)
{
	if (parse_size(v, out) < 0)
		return err_set(-EINVAL, NULL,
			       "Parameter '%s' expects a size (a number with an optional suffix k, M, G, T)",
			       key);
	return 0;
}

int opt_value_uint(const char *key, const char *v, uint64_t *out)
{
	char *end;

	errno = 0;
	if (!isdigit((unsigned char)*v))
		goto bad;
	*out = strtoull(v, &end, 0);
	if (errno || *end)
		goto bad;
	return 0;
bad:
	return err_set(-EINVAL, NULL, "Parameter '%s' expects a number", key);
}

int opts_get_bool(struct opts *o, const char *key, bool *out)
{
	const char *v = opts_get(o, key);

	return v ? opt_value_bool(key, v, out) : -ENOENT;
}

int opts_get_size(struct opts *o, const char *key, uint64_t *out)
{
	const char *v = opts_get(o, key);

	return v ? opt_value_size(key, v, out) : -ENOENT;
}

int opts_get_uint(struct opts *o, const char *key, uint64_t *out)
{
	const char *v = opts_get(o, key);

	return v ? opt_value_uint(key, v, out) : -ENOENT;
}

int opts_check_used(const struct opts *o, const char *fmt_name)
{
	if (!o)
		return 0;
	for (int i = 0; i < o->n; i++)
		if (!o->v[i].used)
			return err_set(-EINVAL, NULL, "Invalid parameter '%s' for format '%s'",
				       o->v[i].key, fmt_name);
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	char *end;
	double d;
	uint64_t mult = 1;
	unsigned long long whole;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	whole = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	d = (double)whole;
	if (*end == '.') {
		d = strtod(s, &end);
		if (errno)
			return -ERANGE;
	}
	switch (*end) {
	case '\0': break;
	case 'b': case 'B': mult = 1; end++; break;
	case 'k': case 'K': mult = 1ULL << 10; end++; break;
	case 'm': case 'M': mult = 1ULL << 20; end++; break;
	case 'g': case 'G': mult = 1ULL << 30; end++; break;
	case 't': case 'T': mult = 1ULL << 40; end++; break;
	case 'p': case 'P': mult = 1ULL << 50; end++; break;
	case 'e': case 'E': mult = 1ULL << 60; end++; break;
	default: return -EINVAL;
	}
	/* Accept "10GiB"/"10GB" style tails too, as users type them. */
	if (mult > 1 && (!strcmp(end, "iB") || !strcmp(end, "B") || !strcmp(end, "ib")))
		end += strlen(end);
	if (*end)
		return -EINVAL;
	if (d * (double)mult >= 18446744073709551615.0)
		return -ERANGE;
	if (d == (double)whole) {
		if (whole && mult > UINT64_MAX / whole)
			return -ERANGE;
		*out = whole * mult;
	} else {
		*out = (uint64_t)(d * (double)mult);
	}
	return 0;
}

void format_size(uint64_t v, char *buf, int buflen)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	int i = 0;
	double d = (double)v;

	while (d >= 1024.0 && i < 6) {
		d /= 1024.0;
		i++;
	}
	if (i == 0)
		snprintf(buf, (size_t)buflen, "%llu B", (unsigned long long)v);
	else
		snprintf(buf, (size_t)buflen, "%.3g %s", d, units[i]);
}
