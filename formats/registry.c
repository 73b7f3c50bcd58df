/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * registry.c - the table of formats, lookup by name, and probing by content.
 *
 * Probing reads the first 64 KiB (enough for every header we know) and asks each
 * format for a score; raw answers 1 for anything, so it wins only when nothing else
 * recognises the bytes.  Callers decide whether a guessed raw is acceptable.
 */
#include "format.h"
#include "../common/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

extern const struct format_ops qcow2_format_ops;
extern const struct format_ops vhd_format_ops;
extern const struct format_ops vmdk_format_ops;
extern const struct format_ops vhdx_format_ops;
extern const struct format_ops bochs_format_ops;
extern const struct format_ops cloop_format_ops;
extern const struct format_ops dmg_format_ops;
extern const struct format_ops luks_format_ops;
extern const struct format_ops vdi_format_ops;
extern const struct format_ops qcow_format_ops;
extern const struct format_ops qed_format_ops;
extern const struct format_ops parallels_format_ops;
extern const struct format_ops raw_format_ops;

const struct format_ops *const format_registry[] = {
	&qcow2_format_ops,
	&vhd_format_ops,
	&vmdk_format_ops,
	&vhdx_format_ops,
	&bochs_format_ops,
	&cloop_format_ops,
	&dmg_format_ops,
	&luks_format_ops,
	&vdi_format_ops,
	&qcow_format_ops,
	&qed_format_ops,
	&parallels_format_ops,
	&raw_format_ops,
	NULL,
};

#define PROBE_BYTES (64 * 1024)

const struct format_ops *format_find(const char *name)
{
	for (int i = 0; format_registry[i]; i++) {
		const struct format_ops *ops = format_registry[i];

		if (!strcmp(ops->name, name))
			return ops;
		for (int j = 0; ops->aliases && ops->aliases[j]; j++)
			if (!strcmp(ops->aliases[j], name))
				return ops;
	}
	return NULL;
}

const struct format_ops *format_probe(struct backend *be, const char *filename)
{
	const struct format_ops *best = NULL;
	uint8_t *buf = malloc(PROBE_BYTES);
	uint64_t size = 0;
	size_t len;
	int best_score = 0;

	if (!buf)
		return NULL;
	if (backend_size(be, &size) < 0)
		size = 0;
	len = size < PROBE_BYTES ? (size_t)size : PROBE_BYTES;
	if (len && backend_pread(be, buf, len, 0) < 0) {
		free(buf);
		return NULL;
	}
	for (int i = 0; format_registry[i]; i++) {
		int score = format_registry[i]->probe(buf, len, filename);

		if (score > best_score) {
			best_score = score;
			best = format_registry[i];
		}
	}
	free(buf);
	return best;
}

int parse_prealloc(const char *s, enum prealloc_mode *out)
{
	static const char *const names[] = { "off", "metadata", "falloc", "full" };

	for (int i = 0; i < 4; i++) {
		if (!strcmp(s, names[i])) {
			*out = (enum prealloc_mode)i;
			return 0;
		}
	}
	return err_set(-EINVAL, NULL, "Invalid preallocation mode: '%s'", s);
}

const char *prealloc_name(enum prealloc_mode m)
{
	static const char *const names[] = { "off", "metadata", "falloc", "full" };

	return names[m];
}
