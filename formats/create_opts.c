/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * create_opts.c - the shared check of -o options against a format's table
 * (format.h, struct create_opt), made by image_create() before the file exists,
 * so that a misspelt or mistyped option leaves nothing behind and every format
 * refuses it in the same words (qemu-img's).
 */
#include "format.h"
#include "../common/err.h"

#include <errno.h>
#include <string.h>

const struct create_opt *create_opt_find(const struct create_opt *list, const char *name)
{
	for (int i = 0; list && list[i].name; i++)
		if (!strcmp(list[i].name, name))
			return &list[i];
	return NULL;
}

const char *create_opt_type_name(enum create_opt_type type)
{
	switch (type) {
	case OPT_TYPE_BOOL: return "bool (on/off)";
	case OPT_TYPE_NUMBER: return "num";
	case OPT_TYPE_SIZE: return "size";
	default: return "str";
	}
}

static int check_value(const struct create_opt *d, const char *v)
{
	bool b;
	uint64_t u;

	switch (d->type) {
	case OPT_TYPE_BOOL:
		return opt_value_bool(d->name, v, &b);
	case OPT_TYPE_NUMBER:
		return opt_value_uint(d->name, v, &u);
	case OPT_TYPE_SIZE:
		return opt_value_size(d->name, v, &u);
	case OPT_TYPE_ENUM:
		for (int i = 0; d->values && d->values[i]; i++)
			if (!strcmp(d->values[i], v))
				return 0;
		return err_set(-EINVAL, NULL, "Parameter '%s' does not accept value '%s'",
			       d->name, v);
	default:
		return 0;
	}
}

int amend_opts_check(const struct format_ops *ops, const struct opts *o)
{
	for (int i = 0; o && i < o->n; i++) {
		const char *key = o->v[i].key;
		const struct create_opt *d = create_opt_find(ops->amend_opts, key);

		if (d)
			continue;
		if (create_opt_find(ops->create_opts, key))
			return err_hint(err_set(-ENOTSUP, NULL, "Invalid parameter '%s'", key),
					"This option is only supported for image creation");
		return err_set(-EINVAL, NULL, "Invalid parameter '%s'", key);
	}
	return create_opts_check(ops->amend_opts, NULL, o);
}

int create_opts_check(const struct create_opt *list, const char *filename,
		      const struct opts *o)
{
	for (int i = 0; o && i < o->n; i++) {
		const struct create_opt *d = create_opt_find(list, o->v[i].key);
		int ret;

		if (!d)
			return err_set(-EINVAL, filename, "Invalid parameter '%s'", o->v[i].key);
		ret = check_value(d, o->v[i].value);
		if (ret < 0)
			return err_set(ret, filename, "%s", err_get());
	}
	return 0;
}
