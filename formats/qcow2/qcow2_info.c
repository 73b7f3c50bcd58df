/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2_info.c - the qcow2 part of `info`: cluster size, dirty flag, internal
 * snapshots, and the format-specific keys exactly as qemu-img 7.2 prints them
 * (a v2 image shows only compat, compression-type and refcount-bits), including
 * the list of persistent dirty bitmaps read from the bitmap directory.
 */
#include "qcow2.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#define BITMAP_DIR_MAX      (64 * MiB)
#define BITMAP_MAX          65535
#define BME_FIXED           24
#define BME_FLAG_IN_USE     (1U << 0)
#define BME_FLAG_AUTO       (1U << 1)

static int bitmap_entry_json(struct qcow2_state *s, const uint8_t *p, uint64_t left,
			     struct json_object *list, uint64_t *used)
{
	uint32_t flags = load_be32(p + 12);
	uint8_t gran = p[17];
	uint16_t name_len = load_be16(p + 18);
	uint32_t extra = load_be32(p + 20);
	uint64_t len = align_up(BME_FIXED + (uint64_t)extra + name_len, 8);
	struct json_object *o, *fl;
	char *name;

	if (len > left || gran > 63)
		return err_set(-EINVAL, s->img->filename, "bitmap directory entry corrupt");
	name = strndup((const char *)p + BME_FIXED + extra, name_len);
	o = json_object_new_object();
	fl = json_object_new_array();
	if (!name || !o || !fl) {
		free(name);
		json_object_put(o);
		json_object_put(fl);
		return -ENOMEM;
	}
	if (flags & BME_FLAG_IN_USE)
		json_object_array_add(fl, json_object_new_string("in-use"));
	if (flags & BME_FLAG_AUTO)
		json_object_array_add(fl, json_object_new_string("auto"));
	json_object_object_add(o, "flags", fl);
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "granularity", json_object_new_int64(1LL << gran));
	json_object_array_add(list, o);
	free(name);
	*used = len;
	return 0;
}

/* The bitmaps list, or NULL when the image has none (or they are stale:
 * QEMU ignores the extension when the autoclear bit is clear). */
static int bitmaps_json(struct qcow2_state *s, struct json_object **out)
{
	const struct qcow2_ext *ext = NULL;
	uint64_t dir_size, dir_off, pos = 0, used = 0;
	uint32_t nb;
	uint8_t *dir;
	int ret = 0;

	*out = NULL;
	for (int i = 0; i < s->nb_unknown_exts; i++)
		if (s->unknown_exts[i].type == QCOW2_EXT_BITMAPS)
			ext = &s->unknown_exts[i];
	if (!ext || ext->len < 24 || !(s->h.autoclear_features & QCOW2_AUTOCLEAR_BITMAPS))
		return 0;
	nb = load_be32(ext->data);
	dir_size = load_be64(ext->data + 8);
	dir_off = load_be64(ext->data + 16);
	if (nb == 0)
		return 0;
	if (nb > BITMAP_MAX || dir_size > BITMAP_DIR_MAX || dir_size < BME_FIXED ||
	    !is_aligned(dir_off, s->cluster_size) || dir_off >= s->file_size ||
	    dir_size > s->file_size - dir_off)
		return err_set(-EINVAL, s->img->filename, "bitmap directory invalid");
	dir = malloc((size_t)dir_size);
	*out = json_object_new_array();
	if (!dir || !*out) {
		ret = -ENOMEM;
		goto out;
	}
	ret = backend_pread(s->img->be, dir, (size_t)dir_size, dir_off);
	for (uint32_t i = 0; i < nb && ret == 0; i++) {
		if (dir_size - pos < BME_FIXED) {
			ret = err_set(-EINVAL, s->img->filename, "bitmap directory truncated");
			break;
		}
		ret = bitmap_entry_json(s, dir + pos, dir_size - pos, *out, &used);
		pos += used;
	}
out:
	free(dir);
	if (ret < 0) {
		json_object_put(*out);
		*out = NULL;
	}
	return ret;
}

static struct json_object *format_specific(struct qcow2_state *s, int *err)
{
	const struct qcow2_header *h = &s->h;
	struct json_object *o = json_object_new_object();
	struct json_object *bitmaps = NULL;
	bool v3 = h->version >= 3;

	if (!o)
		return NULL;
	*err = bitmaps_json(s, &bitmaps);
	if (*err < 0) {
		json_object_put(o);
		return NULL;
	}
	json_object_object_add(o, "compat", json_object_new_string(v3 ? "1.1" : "0.10"));
	json_object_object_add(o, "compression-type",
			       json_object_new_string(h->compression_type ==
						      QCOW2_COMPRESSION_ZSTD ? "zstd" : "zlib"));
	if (v3)
		json_object_object_add(o, "lazy-refcounts",
				       json_object_new_boolean(h->compatible_features &
							       QCOW2_COMPAT_LAZY_REFCOUNTS));
	if (bitmaps)
		json_object_object_add(o, "bitmaps", bitmaps);
	json_object_object_add(o, "refcount-bits", json_object_new_int64(s->refcount_bits));
	if (qcow2_encrypted(s)) {
		struct json_object *enc = qcow2_crypt_info(s);

		if (!enc) {
			json_object_put(o);
			return NULL;
		}
		json_object_object_add(o, "encrypt", enc);
	}
	if (v3) {
		json_object_object_add(o, "corrupt",
				       json_object_new_boolean(h->incompatible_features &
							       QCOW2_INCOMPAT_CORRUPT));
		json_object_object_add(o, "extended-l2", json_object_new_boolean(s->extended_l2));
	}
	return o;
}

static int fill_snapshots(struct qcow2_state *s, struct image_info *info)
{
	if (!s->nb_snapshots)
		return 0;
	info->snapshots = calloc((size_t)s->nb_snapshots, sizeof(*info->snapshots));
	if (!info->snapshots)
		return -ENOMEM;
	for (int i = 0; i < s->nb_snapshots; i++) {
		const struct qcow2_snapshot *sn = &s->snapshots[i];
		struct snapshot_info *si = &info->snapshots[i];

		info->nb_snapshots = i + 1;
		si->id = strdup(sn->id_str);
		si->name = strdup(sn->name);
		if (!si->id || !si->name)
			return -ENOMEM;
		si->vm_state_size = sn->vm_state_size;
		si->date_sec = sn->date_sec;
		si->date_nsec = sn->date_nsec;
		si->vm_clock_nsec = sn->vm_clock_nsec;
		si->icount = sn->icount;
		si->disk_size = sn->disk_size;
	}
	return 0;
}

int qcow2_info(struct image *img, struct image_info *info)
{
	struct qcow2_state *s = qcow2_state(img);
	int ret = -ENOMEM;

	pthread_mutex_lock(&s->lock);
	info->cluster_size = s->cluster_size;
	/* qemu-img reports the dirty flag for v2 images too (always false) */
	info->has_dirty_flag = true;
	info->dirty_flag = (s->h.incompatible_features & QCOW2_INCOMPAT_DIRTY) != 0;
	info->encrypted = qcow2_encrypted(s);
	info->format_specific = format_specific(s, &ret);
	if (info->format_specific)
		ret = fill_snapshots(s, info);
	pthread_mutex_unlock(&s->lock);
	if (ret == -ENOMEM)
		return err_set(ret, img->filename, "out of memory");
	if (ret < 0)
		return ret;
	return 0;
}
