/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2_info.c - the qcow2 part of `info`: cluster size, dirty flag, internal
 * snapshots, and the format-specific keys exactly as qemu-img 7.2 prints them
 * (a v2 image shows only compat, compression-type and refcount-bits), including
 * the list of persistent dirty bitmaps.
 */
#include "qcow2.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

/* The bitmaps list as qemu-img shows it, or NULL when the image has none
 * (loaded at open by qcow2_bitmap_dir.c; a stale extension is none). */
static int bitmaps_json(struct qcow2_state *s, struct json_object **out)
{
	*out = NULL;
	if (!s->nb_bitmaps)
		return 0;
	*out = json_object_new_array();
	if (!*out)
		return -ENOMEM;
	for (int i = 0; i < s->nb_bitmaps; i++) {
		const struct qcow2_bitmap *b = &s->bitmaps[i];
		struct json_object *o = json_object_new_object();
		struct json_object *fl = json_object_new_array();

		if (!o || !fl) {
			json_object_put(o);
			json_object_put(fl);
			json_object_put(*out);
			*out = NULL;
			return -ENOMEM;
		}
		if (b->flags & QCOW2_BME_FLAG_IN_USE)
			json_object_array_add(fl, json_object_new_string("in-use"));
		if (b->flags & QCOW2_BME_FLAG_AUTO)
			json_object_array_add(fl, json_object_new_string("auto"));
		json_object_object_add(o, "flags", fl);
		json_object_object_add(o, "name", json_object_new_string(b->name));
		json_object_object_add(o, "granularity", json_object_new_int64(1LL << b->gran_bits));
		json_object_array_add(*out, o);
	}
	return 0;
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
