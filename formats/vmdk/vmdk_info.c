/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmdk_info.c - `info` for vmdk: the keys qemu-img 7.2 prints under
 * format-specific (cid, parent-cid, create-type, extents[] with virtual-size,
 * filename, cluster-size, format and compressed), so scripts see the same JSON.
 */
#include "vmdk.h"
#include "../../common/err.h"

#include <errno.h>
#include <json-c/json.h>
#include <strings.h>

static struct json_object *extent_json(struct vmdk *s, const struct vmdk_extent *e)
{
	struct json_object *o = json_object_new_object();
	const char *fmt = vmdk_ext_type_name(e->type);

	if (!o)
		return NULL;
	/* qemu names the format of a monolithic sparse extent "" (it has no line of
	 * its own) and of descriptor extents by their type word */
	if (s->embedded)
		fmt = "";
	if (e->compressed)
		json_object_object_add(o, "compressed", json_object_new_boolean(true));
	json_object_object_add(o, "virtual-size", json_object_new_int64((int64_t)e->length));
	json_object_object_add(o, "filename",
			       json_object_new_string(e->path ? e->path : e->name));
	if (e->grain)
		json_object_object_add(o, "cluster-size", json_object_new_int64((int64_t)e->grain));
	json_object_object_add(o, "format", json_object_new_string(fmt));
	return o;
}

int vmdk_info(struct image *img, struct image_info *info)
{
	struct vmdk *s = img->priv;
	struct json_object *o, *arr;

	if (img->cluster_size > 1)
		info->cluster_size = img->cluster_size;
	o = json_object_new_object();
	arr = json_object_new_array();
	if (!o || !arr) {
		json_object_put(o);
		json_object_put(arr);
		return err_set(-ENOMEM, img->filename, "out of memory");
	}
	json_object_object_add(o, "cid", json_object_new_int64(s->desc.cid));
	json_object_object_add(o, "parent-cid", json_object_new_int64(s->desc.parent_cid));
	json_object_object_add(o, "create-type", json_object_new_string(s->desc.create_type));
	for (int i = 0; i < s->n_ext; i++)
		json_object_array_add(arr, extent_json(s, &s->ext[i]));
	json_object_object_add(o, "extents", arr);
	info->format_specific = o;
	return 0;
}
