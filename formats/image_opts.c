/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * image_opts.c - the per-file open options of --image-opts (image_opts.h).
 * "driver" becomes the format image_open() uses when none is given,
 * "file.filename" the name, and the rest (key-secret, encrypt.key-secret) is
 * what the formats ask for with image_opt().
 */
#include "image_opts.h"
#include "../common/err.h"
#include "../common/opts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define IMAGE_OPTS_MAX 16

struct image_opts_entry {
	char *filename;
	struct opts o;
};

static struct image_opts_entry entries[IMAGE_OPTS_MAX];
static int nb_entries;

static struct image_opts_entry *find(const char *filename)
{
	for (int i = 0; i < nb_entries; i++)
		if (!strcmp(entries[i].filename, filename))
			return &entries[i];
	return NULL;
}

static struct image_opts_entry *find_or_add(const char *filename)
{
	struct image_opts_entry *e = find(filename);

	if (e)
		return e;
	if (nb_entries == IMAGE_OPTS_MAX) {
		err_set(-E2BIG, NULL, "more than %d images with options", IMAGE_OPTS_MAX);
		return NULL;
	}
	e = &entries[nb_entries];
	memset(e, 0, sizeof(*e));
	e->filename = strdup(filename);
	if (!e->filename) {
		err_set(-ENOMEM, NULL, "out of memory");
		return NULL;
	}
	nb_entries++;
	return e;
}

int image_opts_add(const char *spec, const char **filename)
{
	struct opts o = { 0 };
	struct image_opts_entry *e;
	const char *name;
	int ret = opts_parse(&o, spec);

	if (ret < 0)
		return ret;
	name = opts_get(&o, "file.filename");
	if (!name)
		name = opts_get(&o, "filename");
	if (!name) {
		opts_free(&o);
		return err_set(-EINVAL, NULL, "--image-opts '%s': no file.filename", spec);
	}
	e = find_or_add(name);
	if (!e) {
		opts_free(&o);
		return -E2BIG;
	}
	for (int i = 0; i < o.n; i++) {
		const char *k = o.v[i].key;

		if (!strcmp(k, "file.filename") || !strcmp(k, "filename") ||
		    !strcmp(k, "file.driver"))
			continue;
		ret = opts_set(&e->o, k, o.v[i].value);
		if (ret < 0)
			break;
	}
	opts_free(&o);
	*filename = e->filename;
	return ret;
}

int image_opts_set(const char *filename, const char *key, const char *value)
{
	struct image_opts_entry *e = find_or_add(filename);

	return e ? opts_set(&e->o, key, value) : -E2BIG;
}

const char *image_opt(const char *filename, const char *key)
{
	struct image_opts_entry *e = find(filename);

	return e ? opts_get(&e->o, key) : NULL;
}

void image_opts_forget_all(void)
{
	for (int i = 0; i < nb_entries; i++) {
		free(entries[i].filename);
		opts_free(&entries[i].o);
	}
	nb_entries = 0;
}
