/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * opts.h - "-o key=value,key2=value2" option lists, spelled as qemu-img spells them
 * (",," is a literal comma inside a value; a bare "key" means "key=on").
 *
 * A format's -o options are checked against its table (formats/format.h,
 * create_opts) so that a misspelt option is an error rather than silently
 * ignored; a list without a table (convert -l's snapshot.id/name) is checked with
 * opts_check_used() after its keys were looked up.
 */
#ifndef IMGTOOL_OPTS_H
#define IMGTOOL_OPTS_H

#include <stdbool.h>
#include <stdint.h>

struct opt {
	char *key;
	char *value;
	bool used;
};

struct opts {
	struct opt *v;
	int n;
};

/* Parse and append "k=v,k2=v2" to o (may be called several times: -o a -o b). */
int opts_parse(struct opts *o, const char *s);
/* Set or replace one key. */
int opts_set(struct opts *o, const char *key, const char *value);
void opts_free(struct opts *o);

/* Lookups mark the key used.  They return 0 if found, -ENOENT if absent, or
 * -EINVAL (with an error message) if the value does not parse. */
const char *opts_get(struct opts *o, const char *key);
int opts_get_bool(struct opts *o, const char *key, bool *out);
int opts_get_size(struct opts *o, const char *key, uint64_t *out);
int opts_get_uint(struct opts *o, const char *key, uint64_t *out);

/* One value of key as that type: 0, or -EINVAL with qemu's message naming key. */
int opt_value_bool(const char *key, const char *v, bool *out);
int opt_value_size(const char *key, const char *v, uint64_t *out);
int opt_value_uint(const char *key, const char *v, uint64_t *out);

/* -EINVAL with "Invalid parameter 'k'" (qemu's wording) for the first unused key. */
int opts_check_used(const struct opts *o, const char *fmt_name);

/* Parse a size with qemu-img's suffixes (b, k/K, M, G, T, P, E; default bytes).
 * Returns 0 or -EINVAL/-ERANGE. */
int parse_size(const char *s, uint64_t *out);

/* Human size as qemu-img prints it ("1 GiB", "192 KiB", "1.5 GiB"). */
void format_size(uint64_t v, char *buf, int buflen);

#endif
