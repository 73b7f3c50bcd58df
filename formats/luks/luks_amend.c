/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luks_amend.c - qemu-img amend's key slot changes on an unlocked LUKS volume:
 * state=active adds new-secret in keyslot (or the first free one); state=inactive
 * erases keyslot, or every slot old-secret opens, never the last active one.
 * The header is written once, after the key material.
 */
#include "luks.h"
#include "../../common/err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define ITER_TIME_DEFAULT 2000

static const char *opt(struct opts *o, const char *prefix, const char *key)
{
	char full[64];

	snprintf(full, sizeof(full), "%s%s", prefix, key);
	return opts_get(o, full);
}

static int active_slots(const struct luks_volume *vol)
{
	int n = 0;

	for (int i = 0; i < LUKS_SLOTS; i++)
		n += vol->h.slots[i].active == LUKS_SLOT_ACTIVE;
	return n;
}

static int amend_add(struct luks_volume *vol, int keyslot, const char *new_id,
		     uint64_t iter_ms)
{
	const unsigned char *pass;
	size_t len;
	int ret;

	if (!new_id)
		return err_set(-EINVAL, vol->name, "'new-secret' is required to activate a keyslot");
	if (keyslot < 0) {
		for (int i = 0; i < LUKS_SLOTS && keyslot < 0; i++)
			if (vol->h.slots[i].active != LUKS_SLOT_ACTIVE)
				keyslot = i;
		if (keyslot < 0)
			return err_set(-ENOSPC, vol->name, "Can't add a keyslot - all keyslots are in use");
	} else if (vol->h.slots[keyslot].active == LUKS_SLOT_ACTIVE) {
		return err_set(-EBUSY, vol->name,
			       "Refusing to overwrite active keyslot %i - please erase it first", keyslot);
	}
	ret = luks_get_secret(new_id, vol->name, "new-secret", &pass, &len);
	if (ret == 0)
		ret = luks_slot_store(vol, keyslot, pass, len, iter_ms);
	return ret;
}

static int amend_erase(struct luks_volume *vol, int keyslot, const char *old_id)
{
	bool erase[LUKS_SLOTS] = { false };
	int n = 0, ret;

	if (keyslot >= 0 && old_id)
		return err_set(-EINVAL, vol->name, "Only one of 'keyslot' and 'old-secret' may be given to erase keyslots");
	if (keyslot < 0 && !old_id)
		return err_set(-EINVAL, vol->name, "'keyslot' or 'old-secret' is required to erase keyslots");
	if (keyslot >= 0) {
		if (vol->h.slots[keyslot].active != LUKS_SLOT_ACTIVE)
			return err_set(-EINVAL, vol->name, "Given keyslot %i is already erased (inactive)", keyslot);
		erase[keyslot] = true;
		n = 1;
	} else {
		const unsigned char *pass;
		size_t len;

		ret = luks_get_secret(old_id, vol->name, "old-secret", &pass, &len);
		if (ret < 0)
			return ret;
		for (int i = 0; i < LUKS_SLOTS; i++) {
			if (vol->h.slots[i].active != LUKS_SLOT_ACTIVE)
				continue;
			ret = luks_slot_matches(vol, i, pass, len);
			if (ret < 0)
				return ret;
			erase[i] = ret == 1;
			n += ret == 1;
		}
		if (!n)
			return err_set(-ENOENT, vol->name, "Didn't find any keyslots matching the specified password");
	}
	if (n == active_slots(vol))
		return err_set(-EPERM, vol->name,
			       "Attempt to erase the only active keyslot(s), which would make the image data unreadable - refusing");
	for (int i = 0; i < LUKS_SLOTS; i++)
		if (erase[i] && (ret = luks_slot_erase(vol, i)) < 0)
			return ret;
	return 0;
}

int luks_volume_amend(struct luks_volume *vol, struct opts *o, const char *prefix)
{
	const char *state = opt(o, prefix, "state");
	const char *ks = opt(o, prefix, "keyslot");
	const char *new_id = opt(o, prefix, "new-secret");
	const char *old_id = opt(o, prefix, "old-secret");
	const char *it = opt(o, prefix, "iter-time");
	uint64_t iter_ms = ITER_TIME_DEFAULT, slot = 0;
	int ret;

	if (!state)
		return err_set(-EINVAL, vol->name, "Parameter 'state' is missing");
	if (ks && (opt_value_uint("keyslot", ks, &slot) < 0 || slot >= LUKS_SLOTS))
		return err_set(-EINVAL, vol->name, "Invalid keyslot %s (0 to %d)", ks, LUKS_SLOTS - 1);
	if (it && (opt_value_uint("iter-time", it, &iter_ms) < 0 || iter_ms == 0))
		return err_set(-EINVAL, vol->name, "Invalid iter-time '%s'", it);
	if (!vol->master_key)
		return err_set(-EINVAL, vol->name, "the image must be opened with its key to amend keyslots");
	if (!strcmp(state, "active"))
		ret = amend_add(vol, ks ? (int)slot : -1, new_id, iter_ms);
	else if (!strcmp(state, "inactive")) {
		if (new_id)
			return err_set(-EINVAL, vol->name, "'new-secret' must not be given when erasing keyslots");
		ret = amend_erase(vol, ks ? (int)slot : -1, old_id);
	} else
		return err_set(-EINVAL, vol->name, "Parameter 'state' does not accept value '%s'", state);
	if (ret == 0)
		ret = luks_header_write(vol);
	if (ret == 0)
		ret = backend_flush(vol->be);
	return ret;
}
