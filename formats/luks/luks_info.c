/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luks_info.c - info's LUKS object, keys in qemu-img 7.2's order (QDict
 * iteration order, which cli_print_json reproduces): the same object is the
 * raw luks format's "data" and qcow2's "encrypt" block.
 */
#include "luks.h"

#include <json-c/json.h>

struct json_object *luks_info_json(const struct luks_volume *vol)
{
	const struct luks_header *h = &vol->h;
	struct json_object *o = json_object_new_object();
	struct json_object *slots = json_object_new_array();

	if (!o || !slots) {
		json_object_put(o);
		json_object_put(slots);
		return NULL;
	}
	json_object_object_add(o, "ivgen-alg", json_object_new_string(vol->spec.ivgen_alg));
	if (vol->spec.ivgen_hash_alg[0])
		json_object_object_add(o, "ivgen-hash-alg",
				       json_object_new_string(vol->spec.ivgen_hash_alg));
	json_object_object_add(o, "hash-alg", json_object_new_string(vol->spec.hash_alg));
	json_object_object_add(o, "cipher-alg", json_object_new_string(vol->spec.cipher_alg));
	json_object_object_add(o, "uuid", json_object_new_string(h->uuid));
	json_object_object_add(o, "cipher-mode", json_object_new_string(vol->spec.cipher_mode));
	for (int i = 0; i < LUKS_SLOTS; i++) {
		const struct luks_slot *s = &h->slots[i];
		struct json_object *so = json_object_new_object();
		bool active = s->active == LUKS_SLOT_ACTIVE;

		json_object_object_add(so, "active", json_object_new_boolean(active));
		if (active)
			json_object_object_add(so, "iters", json_object_new_int64(s->iterations));
		json_object_object_add(so, "key-offset",
				       json_object_new_int64((int64_t)s->key_offset * LUKS_SECTOR));
		if (active)
			json_object_object_add(so, "stripes", json_object_new_int64(s->stripes));
		json_object_array_add(slots, so);
	}
	json_object_object_add(o, "slots", slots);
	json_object_object_add(o, "payload-offset",
			       json_object_new_int64((int64_t)h->payload_offset * LUKS_SECTOR));
	json_object_object_add(o, "master-key-iters",
			       json_object_new_int64(h->mk_digest_iterations));
	return o;
}
