/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * output.c - how imgtool talks: one-line errors in qemu-img's style, getopt with
 * one-line messages, qemu-style pretty JSON and human sizes.
 *
 * qemu-img prints JSON from QDicts, whose iteration order is that of a 512-bucket
 * hash table (TDB's hash), newest entry first within a bucket.  Scripts and the
 * interop tests compare our output with qemu-img's, so the printer emits object
 * keys in that same order, whatever order the json-c object was built in.
 */
#include "cli.h"
#include "../common/err.h"
#include "../common/escape.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QDICT_BUCKETS 512
#define MAX_KEYS 256

/* Messages name files and quote names read from images: control characters in
 * them are escaped (common/escape.h), so one error is always one line. */
void cli_error(const char *fmt, ...)
{
	char msg[2 * ERR_MSG_MAX], esc[ESCAPED_SIZE(2 * ERR_MSG_MAX)];
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", PROG_NAME, str_escape_ctrl(msg, esc, sizeof(esc)));
}

void cli_fputs_escaped(const char *s, FILE *f)
{
	char *esc = str_escape_ctrl_dup(s);

	fputs(esc ? esc : "?", f);
	free(esc);
}

void cli_report(int ret, const char *where)
{
	if (err_is_set()) {
		cli_error("%s", err_get());
		if (err_get_hint())
			fprintf(stderr, "%s\n", err_get_hint());
	}
	else if (where)
		cli_error("%s: %s", where, strerror(ret < 0 ? -ret : ret));
	else
		cli_error("%s", strerror(ret < 0 ? -ret : ret));
}

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	char spec[128];
	int c;

	/* a leading ':' makes getopt tell a missing argument from a bad option */
	if (shortopts[0] == '+')
		snprintf(spec, sizeof(spec), "+:%s", shortopts + 1);
	else
		snprintf(spec, sizeof(spec), ":%s", shortopts);
	opterr = 0;
	c = getopt_long(argc, argv, spec, longopts, NULL);
	if (c == ':') {
		if (optopt)
			cli_error("option requires an argument -- '%c'", optopt);
		else
			cli_error("option '%s' requires an argument", argv[optind - 1]);
		return '?';
	}
	if (c == '?') {
		if (optopt)
			cli_error("invalid option -- '%c'", optopt);
		else
			cli_error("unrecognized option '%s'", argv[optind - 1]);
	}
	return c;
}

/* ---- sizes ---- */

void cli_size_str(uint64_t v, char *buf, size_t len)
{
	static const char *const suffix[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
	int e = 0;
	int i;

	/* The unit switches when the integer part would reach 1000, not 1024. */
	frexp((double)v / (1000.0 / 1024.0), &e);
	i = (e - 1) / 10;
	if (i < 0)
		i = 0;
	if (i > 6)
		i = 6;
	snprintf(buf, len, "%0.3g %sB", (double)v / (double)(1ULL << (i * 10)), suffix[i]);
}

/* ---- JSON in qemu's style ---- */

static unsigned qdict_bucket(const char *key)
{
	uint32_t h = 0x238F13AFu * (uint32_t)strlen(key);

	for (uint32_t i = 0; key[i]; i++)
		h += (uint32_t)(unsigned char)key[i] << (i * 5 % 24);
	return (1103515243u * h + 12345u) % QDICT_BUCKETS;
}

struct keyent {
	const char *key;
	int idx;
	unsigned bucket;
};

static int keyent_cmp(const void *a, const void *b)
{
	const struct keyent *x = a, *y = b;

	if (x->bucket != y->bucket)
		return x->bucket < y->bucket ? -1 : 1;
	return y->idx - x->idx;   /* newest first within a bucket */
}

int cli_json_keys(struct json_object *obj, const char **keys, int n)
{
	struct keyent ents[MAX_KEYS];
	int cnt = 0;

	json_object_object_foreach(obj, k, v) {
		(void)v;
		if (cnt >= MAX_KEYS)
			break;
		ents[cnt].key = k;
		ents[cnt].idx = cnt;
		ents[cnt].bucket = qdict_bucket(k);
		cnt++;
	}
	qsort(ents, (size_t)cnt, sizeof(ents[0]), keyent_cmp);
	if (cnt > n)
		cnt = n;
	for (int i = 0; i < cnt; i++)
		keys[i] = ents[i].key;
	return cnt;
}

/* Decode one UTF-8 sequence; returns its length, or 0 when invalid. */
static int utf8_decode(const unsigned char *s, uint32_t *cp)
{
	int len, i;
	uint32_t c = s[0];

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		len = 2;
		c &= 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3;
		c &= 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4;
		c &= 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static void json_print_string(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	putchar('"');
	while (*s) {
		uint32_t cp;
		int n = utf8_decode(s, &cp);

		if (n == 0) {
			cp = 0xfffd;
			n = 1;
		}
		s += n;
		switch (cp) {
		case '"': fputs("\\\"", stdout); continue;
		case '\\': fputs("\\\\", stdout); continue;
		case '\b': fputs("\\b", stdout); continue;
		case '\f': fputs("\\f", stdout); continue;
		case '\n': fputs("\\n", stdout); continue;
		case '\r': fputs("\\r", stdout); continue;
		case '\t': fputs("\\t", stdout); continue;
		}
		if (cp >= 0x20 && cp < 0x7f) {
			putchar((int)cp);
		} else if (cp >= 0x10000) {
			cp -= 0x10000;
			printf("\\u%04X\\u%04X", 0xd800 | (cp >> 10), 0xdc00 | (cp & 0x3ff));
		} else {
			printf("\\u%04X", cp);
		}
	}
	putchar('"');
}

static void json_print_value(struct json_object *obj, int depth);

static void newline_indent(int depth)
{
	printf("\n%*s", depth * 4, "");
}

static void json_print_object(struct json_object *obj, int depth)
{
	const char *keys[MAX_KEYS];
	int n = cli_json_keys(obj, keys, MAX_KEYS);

	putchar('{');
	for (int i = 0; i < n; i++) {
		if (i)
			putchar(',');
		newline_indent(depth + 1);
		json_print_string(keys[i]);
		fputs(": ", stdout);
		json_print_value(json_object_object_get(obj, keys[i]), depth + 1);
	}
	newline_indent(depth);
	putchar('}');
}

static void json_print_array(struct json_object *obj, int depth)
{
	size_t n = json_object_array_length(obj);

	putchar('[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			putchar(',');
		newline_indent(depth + 1);
		json_print_value(json_object_array_get_idx(obj, i), depth + 1);
	}
	newline_indent(depth);
	putchar(']');
}

static void json_print_value(struct json_object *obj, int depth)
{
	switch (json_object_get_type(obj)) {
	case json_type_null:
		fputs("null", stdout);
		break;
	case json_type_boolean:
		fputs(json_object_get_boolean(obj) ? "true" : "false", stdout);
		break;
	case json_type_int:
		if (json_object_get_int64(obj) == INT64_MAX)
			printf("%llu", (unsigned long long)json_object_get_uint64(obj));
		else
			printf("%lld", (long long)json_object_get_int64(obj));
		break;
	case json_type_double:
		printf("%.17g", json_object_get_double(obj));
		break;
	case json_type_string:
		json_print_string(json_object_get_string(obj));
		break;
	case json_type_object:
		json_print_object(obj, depth);
		break;
	case json_type_array:
		json_print_array(obj, depth);
		break;
	}
}

void cli_print_json(struct json_object *obj)
{
	json_print_value(obj, 0);
	putchar('\n');
}

/* ---- "Format specific information" ---- */

static void specific_value(struct json_object *v, int indent);

static bool is_composite(struct json_object *v)
{
	return json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array);
}

static void specific_scalar(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_boolean:
		fputs(json_object_get_boolean(v) ? "true" : "false", stdout);
		break;
	case json_type_int:
		printf("%lld", (long long)json_object_get_int64(v));
		break;
	case json_type_double:
		printf("%g", json_object_get_double(v));
		break;
	case json_type_string:
		/* extent file names, parent names...: read from the image */
		cli_fputs_escaped(json_object_get_string(v), stdout);
		break;
	default:
		break;
	}
}

static void specific_value(struct json_object *v, int indent)
{
	if (json_object_is_type(v, json_type_object)) {
		cli_print_specific(v, indent);
	} else if (json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);

		for (size_t i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(v, i);
			bool comp = is_composite(e);

			printf("%*s[%zu]:%c", indent * 4, "", i, comp ? '\n' : ' ');
			specific_value(e, indent + 1);
			if (!comp)
				putchar('\n');
		}
	} else {
		specific_scalar(v);
	}
}

void cli_print_specific(struct json_object *obj, int indent)
{
	const char *keys[MAX_KEYS];
	int n = cli_json_keys(obj, keys, MAX_KEYS);

	for (int i = 0; i < n; i++) {
		struct json_object *v = json_object_object_get(obj, keys[i]);
		bool comp = is_composite(v);
		char key[256];
		size_t j;

		/* qemu shows "refcount-bits" as "refcount bits" */
		for (j = 0; keys[i][j] && j + 1 < sizeof(key); j++)
			key[j] = keys[i][j] == '-' ? ' ' : keys[i][j];
		key[j] = '\0';
		printf("%*s%s:%c", indent * 4, "", key, comp ? '\n' : ' ');
		specific_value(v, indent + 1);
		if (!comp)
			putchar('\n');
	}
}
