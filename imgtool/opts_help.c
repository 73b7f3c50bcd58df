/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * opts_help.c - printing a format's -o option table (formats/format.h, struct
 * create_opt) the way qemu-img 7.2 prints its option lists: `-o help` for create,
 * convert and amend, and create's "Formatting ..." line.
 *
 * -o help lists the options sorted by name; without a target file name only the
 * format's own, with one also those of the file under the image (qemu-img's
 * protocol level).  "Formatting" follows the table's order, which is qemu-img's.
 */
#include "cli.h"
#include "../common/opts.h"
#include "../formats/format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LISTED 64

bool create_opts_want_help(const char *o)
{
	return o && (!strcmp(o, "help") || !strcmp(o, "?"));
}

static int cmp_opt_name(const void *a, const void *b)
{
	const struct create_opt *x = *(const struct create_opt *const *)a;
	const struct create_opt *y = *(const struct create_opt *const *)b;

	return strcmp(x->name, y->name);
}

static void print_sorted(const struct create_opt *list, bool with_protocol)
{
	const struct create_opt *sorted[MAX_LISTED];
	int n = 0;

	for (int i = 0; list && list[i].name && n < MAX_LISTED; i++)
		if (list[i].help && (with_protocol || !list[i].protocol))
			sorted[n++] = &list[i];
	qsort(sorted, (size_t)n, sizeof(sorted[0]), cmp_opt_name);
	for (int i = 0; i < n; i++) {
		char lhs[128];

		snprintf(lhs, sizeof(lhs), "%s=<%s>", sorted[i]->name,
			 create_opt_type_name(sorted[i]->type));
		printf("  %-22s - %s\n", lhs, sorted[i]->help);
	}
}

int create_print_opts_help(const struct format_ops *ops, bool with_file)
{
	if (!ops->create) {
		/* a read-only format (dmg, cloop, bochs): qemu-img's words */
		cli_error("Format driver '%s' does not support image creation", ops->name);
		return 1;
	}
	if (with_file) {
		printf("Supported options:\n");
		print_sorted(ops->create_opts, true);
		return 0;
	}
	printf("Supported %s options:\n", ops->name);
	print_sorted(ops->create_opts, false);
	printf("\nThe protocol level may support further options.\n"
	       "Specify the target filename to include those options.\n");
	return 0;
}

int amend_print_opts_help(const struct format_ops *ops)
{
	if (!ops->amend_opts) {
		cli_error("Format driver '%s' does not support option amendment", ops->name);
		return 1;
	}
	printf("Amend options for '%s':\n", ops->name);
	print_sorted(ops->amend_opts, true);
	return 0;
}

/* A given value as qemu-img prints it: sizes in bytes. */
static void print_value(const struct create_opt *d, const char *v)
{
	uint64_t n;

	if (d->type == OPT_TYPE_SIZE && parse_size(v, &n) == 0)
		printf(" %s=%llu", d->name, (unsigned long long)n);
	else
		printf(" %s=%s", d->name, v);
}

void create_print_formatting(const char *filename, const struct format_ops *ops,
			     uint64_t size, const struct opts *o)
{
	const struct create_opt *list = ops->create_opts;
	char sizebuf[32];

	printf("Formatting '%s', fmt=%s", filename, ops->name);
	snprintf(sizebuf, sizeof(sizebuf), "%llu", (unsigned long long)size);
	for (int i = 0; list && list[i].name; i++) {
		const char *v = list[i].def;

		if (!strcmp(list[i].name, "size"))
			v = sizebuf;
		for (int j = 0; j < o->n; j++)
			if (!strcmp(o->v[j].key, list[i].name))
				v = o->v[j].value;
		if (v)
			print_value(&list[i], v);
	}
	printf("\n");
	fflush(stdout);
}
