/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * v2v_windows_registry.c - the guest's registry hives (SYSTEM, SOFTWARE), edited
 * through libguestfs's hivex calls on the appliance: no hive is downloaded, and
 * the whole conversion stays on the one appliance launch.  libguestfs holds one
 * hive open at a time, so callers open, edit and close each hive in turn.
 *
 * Every value set is recorded with v2v_change(): the key as Windows names it
 * (HKLM\SYSTEM\ControlSet001\Services\viostor), the value's name, and the value
 * before and after in regedit's notation, so the report says exactly what changed.
 * Strings are stored as Windows stores them: UTF-16LE with a terminating NUL
 * (REG_MULTI_SZ: each string terminated, then an empty one).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/utf16.h"
#include "guest/guest.h"
#include "v2v/v2v.h"
#include "v2v/windows/windows.h"

#define MAX_KEY_DEPTH 32
#define MAX_VALUE (1u << 20)   /* a registry value worth reading is far smaller */

/* ---------------------------------------------------------------- pure */

/* UTF-16LE to UTF-8 (common/utf16.c), each NUL-terminated string of a
 * REG_MULTI_SZ on its own line; the list's trailing empty strings are dropped. */
char *reg_utf8(const char *data, size_t len)
{
	char *out = malloc(3 * (len / 2) + 1);
	size_t k = 0, i = 0;

	if (!out)
		return NULL;
	while (i + 1 < len) {
		size_t n = 0;
		char *part;

		while (i + n + 1 < len && (data[i + n] || data[i + n + 1]))
			n += 2;
		part = utf16_to_utf8((const uint8_t *)data + i, n, false);
		if (!part) {
			free(out);
			return NULL;
		}
		/* a part is at most 3 bytes per code unit, as out was sized */
		k += (size_t)sprintf(out + k, "%s%s", k ? "\n" : "", part);
		free(part);
		i += n + 2;
	}
	while (k && out[k - 1] == '\n')
		k--;
	out[k] = '\0';
	return out;
}

/* bytes as 01,ff,...; when they do not all fit, the text ends with "..." */
static void put_hex(const char *data, size_t len, char *buf, size_t blen, size_t at)
{
	size_t i;

	for (i = 0; i < len && at + 4 < blen; i++)
		at += (size_t)snprintf(buf + at, blen - at, "%s%02x", i ? "," : "",
				       (unsigned char)data[i]);
	if (i < len && blen > 4)
		snprintf(buf + blen - 4, 4, "...");
}

void reg_format(int64_t type, const char *data, size_t len, char *buf, size_t blen)
{
	char *s;

	if (type == REG_T_DWORD && len == 4) {
		snprintf(buf, blen, "dword:%08x", (unsigned)(unsigned char)data[0] |
			 (unsigned)(unsigned char)data[1] << 8 | (unsigned)(unsigned char)data[2] << 16 |
			 (unsigned)(unsigned char)data[3] << 24);
		return;
	}
	if ((type == REG_T_SZ || type == REG_T_EXPAND_SZ || type == REG_T_MULTI_SZ) &&
	    (s = reg_utf8(data, len))) {
		if (type == REG_T_MULTI_SZ)
			for (char *c = s; *c; c++)
				if (*c == '\n')
					*c = '|';
		snprintf(buf, blen, "%s\"%s\"", type == REG_T_EXPAND_SZ ? "expand:" :
			 type == REG_T_MULTI_SZ ? "multi:" : "", s);
		free(s);
		return;
	}
	put_hex(data, len, buf, blen, (size_t)snprintf(buf, blen, type == REG_T_BINARY ? "hex:" :
						      "hex(%llx):", (unsigned long long)type));
}

#ifdef HAVE_LIBGUESTFS

/* ---------------------------------------------------------------- hives */

int hive_open(struct hive *h, struct guest *gu, struct v2v_report *r, const char *path,
	      const char *name, bool write)
{
	guestfs_h *g = guest_h(gu);

	*h = (struct hive){ .gu = gu, .r = r, .name = name, .path = path, .write = write };
	if (guestfs_hivex_open(g, path, GUESTFS_HIVEX_OPEN_WRITE, write,
			       GUESTFS_HIVEX_OPEN_UNSAFE, !write, -1) < 0)
		return err_set(-EIO, gu->image, "cannot open the registry hive %s (%s): %s",
			       path, name, guestfs_last_error(g));
	h->root = guestfs_hivex_root(g);
	if (h->root <= 0) {
		guestfs_hivex_close(g);
		return err_set(-EIO, gu->image, "registry hive %s (%s) has no root key: %s",
			       path, name, guestfs_last_error(g));
	}
	return 0;
}

int hive_close(struct hive *h, bool commit)
{
	guestfs_h *g = guest_h(h->gu);
	int r = 0;

	if (h->write && commit && guestfs_hivex_commit(g, NULL) < 0)
		r = err_set(-EIO, h->gu->image, "cannot write the registry hive %s back: %s",
			    h->path, guestfs_last_error(g));
	if (guestfs_hivex_close(g) < 0 && !r)
		r = err_set(-EIO, h->gu->image, "closing the registry hive %s: %s", h->path,
			    guestfs_last_error(g));
	return r;
}

int hive_node(struct hive *h, const char *key, bool create, int64_t *node)
{
	guestfs_h *g = guest_h(h->gu);
	char *copy = strdup(key), *save = NULL;
	int64_t n = h->root;
	int depth = 0, r = 0;

	if (!copy)
		return -ENOMEM;
	for (char *e = strtok_r(copy, "\\", &save); e && !r; e = strtok_r(NULL, "\\", &save)) {
		int64_t c = guestfs_hivex_node_get_child(g, n, e);

		if (++depth > MAX_KEY_DEPTH)
			r = err_set(-EINVAL, h->path, "registry key %s is too deep", key);
		else if (c < 0)
			r = err_set(-EIO, h->gu->image, "%s\\%s: %s", h->name, key,
				    guestfs_last_error(g));
		else if (c == 0 && !create)
			r = -ENOENT;
		else if (c == 0 && (c = guestfs_hivex_node_add_child(g, n, e)) <= 0)
			r = err_set(-EIO, h->gu->image, "cannot create the key %s\\%s: %s",
				    h->name, key, guestfs_last_error(g));
		n = c;
	}
	free(copy);
	if (!r)
		*node = n;
	return r;
}

int hive_get(struct hive *h, int64_t node, const char *value, int64_t *type, char **data,
	     size_t *len)
{
	guestfs_h *g = guest_h(h->gu);
	int64_t v = guestfs_hivex_node_get_value(g, node, value);

	*data = NULL;
	if (v < 0)
		return err_set(-EIO, h->gu->image, "%s: value %s: %s", h->name, value,
			       guestfs_last_error(g));
	if (v == 0)
		return -ENOENT;
	*type = guestfs_hivex_value_type(g, v);
	*data = guestfs_hivex_value_value(g, v, len);
	if (!*data || *type < 0)
		return err_set(-EIO, h->gu->image, "%s: value %s: %s", h->name, value,
			       guestfs_last_error(g));
	if (*len > MAX_VALUE) {
		free(*data);
		*data = NULL;
		return err_set(-EFBIG, h->path, "value %s: %zu bytes", value, *len);
	}
	return 0;
}

char *hive_get_string(struct hive *h, int64_t node, const char *value)
{
	int64_t type;
	char *data, *s = NULL;
	size_t len;

	if (hive_get(h, node, value, &type, &data, &len)) {
		err_clear();
		return NULL;
	}
	if (type == REG_T_SZ || type == REG_T_EXPAND_SZ)
		s = reg_utf8(data, len);
	free(data);
	return s;
}

int hive_set(struct hive *h, const char *key, const char *value, int64_t type,
	     const void *data, size_t len)
{
	guestfs_h *g = guest_h(h->gu);
	char before[256] = "", after[256], where[512], *old = NULL;
	int64_t node, otype;
	size_t olen;
	int r = hive_node(h, key, true, &node);

	if (r)
		return r;
	r = hive_get(h, node, value, &otype, &old, &olen);
	if (r && r != -ENOENT)
		return r;
	if (!r && otype == type && olen == len && !memcmp(old, data, len)) {
		free(old);   /* already so (a key two entries share): nothing to change */
		return 0;
	}
	if (!r)
		reg_format(otype, old, olen, before, sizeof(before));
	reg_format(type, data, len, after, sizeof(after));
	free(old);
	if (guestfs_hivex_node_set_value(g, node, value, type, data, len) < 0)
		return err_set(-EIO, h->gu->image, "cannot set %s\\%s\\%s: %s", h->name, key,
			       *value ? value : "(default)", guestfs_last_error(g));
	snprintf(where, sizeof(where), "%s\\%s", h->name, key);
	v2v_change(h->r, where, *value ? value : "(default)", r ? NULL : before, after);
	return 0;
}

int hive_set_dword(struct hive *h, const char *key, const char *value, uint32_t v)
{
	unsigned char d[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24 };

	return hive_set(h, key, value, REG_T_DWORD, d, sizeof(d));
}

int hive_set_sz(struct hive *h, const char *key, const char *value, int64_t type, const char *s)
{
	size_t len;
	uint8_t *d = utf8_to_utf16le(s, &len);
	int r;

	if (!d)
		return -ENOMEM;
	r = hive_set(h, key, value, type, d, len);
	free(d);
	return r;
}

int hive_set_multi_sz(struct hive *h, const char *key, const char *value, const char *const *strs)
{
	char *all = NULL;
	size_t total = 0;
	int r;

	for (size_t i = 0; strs[i]; i++) {
		size_t len;
		uint8_t *d = utf8_to_utf16le(strs[i], &len);
		char *n;

		if (!d || !(n = realloc(all, total + len + 2))) {
			free(d);
			free(all);
			return -ENOMEM;
		}
		all = n;
		memcpy(all + total, d, len);
		total += len;
		free(d);
	}
	if (!(all = all ? all : malloc(2)))
		return -ENOMEM;
	all[total++] = 0;   /* the empty string that ends the list */
	all[total++] = 0;
	r = hive_set(h, key, value, REG_T_MULTI_SZ, all, total);
	free(all);
	return r;
}

#endif
