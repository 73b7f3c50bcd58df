/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luks_volume.c - a LUKS1 volume at an offset of a backend: opened (header only
 * for info, or unlocked with a passphrase for I/O), created with qemu's layout
 * (slot material and payload aligned to 4 KiB, slot 0 for the passphrase), and
 * amended (key slots added or erased as qemu-img amend does).
 */
#include "luks.h"
#include "../../common/err.h"
#include "../../common/random.h"
#include "../../common/secret.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ITER_TIME_DEFAULT 2000

int luks_get_secret(const char *secret_id, const char *name, const char *what,
		    const unsigned char **pass, size_t *len)
{
	if (!secret_id || !*secret_id)
		return err_set(-EINVAL, name, "Parameter '%s' is required for cipher", what);
	if (secret_lookup(secret_id, pass, len) < 0)
		return err_set(-ENOENT, name, "%s", err_get());
	return 0;
}

int luks_volume_open(struct luks_volume *vol, struct backend *be, uint64_t base,
		     uint64_t limit, const char *name, const unsigned char *pass,
		     size_t pass_len)
{
	uint8_t buf[LUKS_HEADER_LEN];
	int key_bytes, ret;

	memset(vol, 0, sizeof(*vol));
	vol->be = be;
	vol->base = base;
	vol->name = name;
	if (limit < LUKS_HEADER_LEN)
		return err_set(-EINVAL, name, "LUKS header is truncated (%llu bytes)",
			       (unsigned long long)limit);
	ret = backend_pread(be, buf, sizeof(buf), base);
	if (ret < 0)
		return ret;
	ret = luks_header_decode(buf, limit, name, &vol->h);
	if (ret == 0)
		ret = luks_header_spec(&vol->h, name, &vol->spec);
	if (ret < 0 || !pass)
		return ret;
	ret = luks_spec_check(&vol->spec, name, &key_bytes);
	if (ret < 0)
		return ret;
	if ((uint32_t)key_bytes != vol->h.key_bytes)
		return err_set(-EINVAL, name, "LUKS key length %u does not fit cipher %s-%s",
			       vol->h.key_bytes, vol->spec.cipher_alg, vol->spec.cipher_mode);
	ret = luks_unlock(vol, pass, pass_len);
	if (ret < 0)
		return ret;
	ret = luks_cipher_init(&vol->cipher, &vol->spec, vol->master_key, key_bytes, name);
	if (ret < 0) {
		luks_volume_close(vol);
		return ret;
	}
	vol->has_cipher = true;
	return 0;
}

void luks_volume_close(struct luks_volume *vol)
{
	if (vol->has_cipher)
		luks_cipher_fini(&vol->cipher);
	vol->has_cipher = false;
	secure_free(vol->master_key, vol->h.key_bytes);
	vol->master_key = NULL;
}

static int copy_opt(struct opts *o, const char *prefix, const char *key, char *dst,
		    size_t len, const char *def, const char *name)
{
	char full[64];
	const char *v;

	snprintf(full, sizeof(full), "%s%s", prefix, key);
	v = opts_get(o, full);
	if (!v)
		v = def;
	if (strlen(v) >= len)
		return err_set(-EINVAL, name, "Invalid value '%s' for %s", v, full);
	snprintf(dst, len, "%s", v);
	return 0;
}

int luks_spec_from_opts(struct opts *o, const char *prefix, const char *name,
			struct luks_spec *spec, uint64_t *iter_ms)
{
	char full[64];
	int key_bytes, ret;

	memset(spec, 0, sizeof(*spec));
	if ((ret = copy_opt(o, prefix, "cipher-alg", spec->cipher_alg, sizeof(spec->cipher_alg), "aes-256", name)) < 0 ||
	    (ret = copy_opt(o, prefix, "cipher-mode", spec->cipher_mode, sizeof(spec->cipher_mode), "xts", name)) < 0 ||
	    (ret = copy_opt(o, prefix, "ivgen-alg", spec->ivgen_alg, sizeof(spec->ivgen_alg), "plain64", name)) < 0 ||
	    (ret = copy_opt(o, prefix, "ivgen-hash-alg", spec->ivgen_hash_alg, sizeof(spec->ivgen_hash_alg), "", name)) < 0 ||
	    (ret = copy_opt(o, prefix, "hash-alg", spec->hash_alg, sizeof(spec->hash_alg), "sha256", name)) < 0)
		return ret;
	if (!strcmp(spec->ivgen_alg, "essiv") && !spec->ivgen_hash_alg[0])
		snprintf(spec->ivgen_hash_alg, sizeof(spec->ivgen_hash_alg), "%s", spec->hash_alg);
	*iter_ms = ITER_TIME_DEFAULT;
	snprintf(full, sizeof(full), "%siter-time", prefix);
	ret = opts_get_uint(o, full, iter_ms);
	if (ret < 0 && ret != -ENOENT)
		return err_set(ret, name, "%s", err_get());
	if (*iter_ms == 0)
		return err_set(-EINVAL, name, "%s must be at least 1 ms", full);
	return luks_spec_check(spec, name, &key_bytes);
}

static uint32_t slot_sectors(uint32_t key_bytes)
{
	uint64_t bytes = (uint64_t)key_bytes * LUKS_STRIPES;

	return (uint32_t)((bytes + LUKS_ALIGN - 1) / LUKS_ALIGN * LUKS_ALIGN / LUKS_SECTOR);
}

int luks_payload_offset_for(const struct luks_spec *spec, const char *name, uint64_t *out)
{
	int key_bytes;
	int ret = luks_spec_check(spec, name, &key_bytes);

	if (ret < 0)
		return ret;
	*out = ((uint64_t)LUKS_ALIGN / LUKS_SECTOR + (uint64_t)LUKS_SLOTS * slot_sectors((uint32_t)key_bytes)) *
	       LUKS_SECTOR;
	return 0;
}

int luks_measure_header(struct opts *o, const char *prefix, uint64_t *out)
{
	struct luks_spec spec;
	uint64_t iter_ms;
	int ret = luks_spec_from_opts(o, prefix, NULL, &spec, &iter_ms);

	return ret < 0 ? ret : luks_payload_offset_for(&spec, NULL, out);
}

int luks_header_write(struct luks_volume *vol)
{
	uint8_t buf[LUKS_HEADER_LEN];

	luks_header_encode(&vol->h, buf);
	return backend_pwrite(vol->be, buf, sizeof(buf), vol->base);
}

static void header_names(struct luks_header *h, const struct luks_spec *spec)
{
	snprintf(h->cipher_name, sizeof(h->cipher_name), "aes");
	if (spec->ivgen_hash_alg[0] && !strcmp(spec->ivgen_alg, "essiv"))
		snprintf(h->cipher_mode, sizeof(h->cipher_mode), "%s-%s:%s", spec->cipher_mode,
			 spec->ivgen_alg, spec->ivgen_hash_alg);
	else
		snprintf(h->cipher_mode, sizeof(h->cipher_mode), "%s-%s", spec->cipher_mode,
			 spec->ivgen_alg);
	snprintf(h->hash_spec, sizeof(h->hash_spec), "%s", spec->hash_alg);
}

int luks_volume_create(struct luks_volume *vol, struct backend *be, uint64_t base,
		       const char *name, const struct luks_spec *spec, uint64_t iter_ms,
		       const unsigned char *pass, size_t pass_len)
{
	struct luks_header *h = &vol->h;
	uint32_t per_slot, mk_iters;
	int key_bytes, ret;

	memset(vol, 0, sizeof(*vol));
	vol->be = be;
	vol->base = base;
	vol->name = name;
	vol->spec = *spec;
	ret = luks_spec_check(spec, name, &key_bytes);
	if (ret < 0)
		return ret;
	h->version = 1;
	header_names(h, spec);
	h->key_bytes = (uint32_t)key_bytes;
	vol->master_key = secure_alloc((size_t)key_bytes);
	if (!vol->master_key)
		return err_set(-ENOMEM, name, "out of memory");
	if ((ret = random_bytes(vol->master_key, (size_t)key_bytes)) < 0 ||
	    (ret = random_bytes(h->mk_digest_salt, LUKS_SALT_LEN)) < 0 ||
	    (ret = random_uuid_str(h->uuid)) < 0 ||
	    (ret = luks_pbkdf2_count(spec->hash_alg, LUKS_DIGEST_LEN, iter_ms, &mk_iters)) < 0)
		goto fail;
	/* qemu (like cryptsetup) spends an eighth of the time on the digest */
	h->mk_digest_iterations = mk_iters / 8 < LUKS_MIN_ITERS ? LUKS_MIN_ITERS : mk_iters / 8;
	ret = luks_pbkdf2(spec->hash_alg, vol->master_key, h->key_bytes, h->mk_digest_salt,
			  LUKS_SALT_LEN, h->mk_digest_iterations, h->mk_digest, LUKS_DIGEST_LEN);
	if (ret < 0)
		goto fail;
	per_slot = slot_sectors(h->key_bytes);
	for (int i = 0; i < LUKS_SLOTS; i++) {
		h->slots[i].active = LUKS_SLOT_INACTIVE;
		h->slots[i].stripes = LUKS_STRIPES;
		h->slots[i].key_offset = LUKS_ALIGN / LUKS_SECTOR + (uint32_t)i * per_slot;
	}
	h->payload_offset = LUKS_ALIGN / LUKS_SECTOR + LUKS_SLOTS * per_slot;
	ret = luks_slot_store(vol, 0, pass, pass_len, iter_ms);
	if (ret == 0)
		ret = luks_header_write(vol);
	if (ret == 0)
		ret = luks_cipher_init(&vol->cipher, spec, vol->master_key, key_bytes, name);
	if (ret < 0)
		goto fail;
	vol->has_cipher = true;
	return 0;
fail:
	luks_volume_close(vol);
	return ret;
}
