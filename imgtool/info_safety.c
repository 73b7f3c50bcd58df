/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * info_safety.c - the "safety" report of `info --untrusted`: every reason an
 * import service should refuse the image (what OpenStack Glance's format
 * inspector checks), for the formats imgtool reads.
 *
 * Under --untrusted the open itself refuses whatever leaves the image file or
 * is over a cap (formats/reference.h), so the report is the refusal the open
 * met, or, when the image opened, what it names without opening it (a backing
 * file or parent: `info` does not open the chain).
 */
#include "cli.h"
#include "../formats/format.h"
#include "../formats/reference.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

static void add_reason(struct json_object *reasons, const char *check, const char *message)
{
	struct json_object *r = json_object_new_object();

	json_object_object_add(r, "check", json_object_new_string(check));
	json_object_object_add(r, "message", json_object_new_string(message));
	json_object_array_add(reasons, r);
}

struct json_object *info_safety(const struct image *img, int open_ret, const char *open_msg)
{
	struct json_object *o = json_object_new_object();
	struct json_object *reasons = json_object_new_array();
	char msg[1200];

	if (!img) {
		const char *check = ref_last_refusal();

		if (!check)
			check = open_ret == -ENOTSUP ? "unsupported" : "invalid";
		add_reason(reasons, check, open_msg);
	} else if (img->backing_name && img->backing_name[0]) {
		snprintf(msg, sizeof(msg), "'%s' names %s '%s'", img->filename,
			 !strcmp(img->ops->name, "qcow2") ? "backing file" : "parent",
			 img->backing_name);
		add_reason(reasons, "backing-file", msg);
	}
	json_object_object_add(o, "safe",
			       json_object_new_boolean(json_object_array_length(reasons) == 0));
	json_object_object_add(o, "reasons", reasons);
	return o;
}

bool info_safety_ok(struct json_object *safety)
{
	struct json_object *safe;

	return json_object_object_get_ex(safety, "safe", &safe) && json_object_get_boolean(safe);
}

void info_safety_print(struct json_object *safety)
{
	struct json_object *reasons, *r, *check, *message;

	printf("safety: %s\n", info_safety_ok(safety) ? "safe" : "refused");
	if (!json_object_object_get_ex(safety, "reasons", &reasons))
		return;
	for (size_t i = 0; i < json_object_array_length(reasons); i++) {
		r = json_object_array_get_idx(reasons, i);
		if (json_object_object_get_ex(r, "check", &check) &&
		    json_object_object_get_ex(r, "message", &message))
			printf("    %s: %s\n", json_object_get_string(check),
			       json_object_get_string(message));
	}
}
