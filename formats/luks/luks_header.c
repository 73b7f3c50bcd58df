/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luks_header.c - the LUKS1 header (592 big-endian bytes at the volume's start):
 * decoded, checked as qemu 7.2 checks it (stripes, key material between the
 * header and the payload, no two slots overlapping) plus the bounds of the file,
 * and encoded back.
 */
#include "luks.h"
#include "../../common/bswap.h"
#include "../../common/err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const uint8_t luks_magic[LUKS_MAGIC_LEN] = { 'L', 'U', 'K', 'S', 0xba, 0xbe };

/* field offsets */
#define H_VERSION      6
#define H_CIPHER_NAME  8
#define H_CIPHER_MODE  40
#define H_HASH_SPEC    72
#define H_PAYLOAD      104
#define H_KEY_BYTES    108
#define H_MK_DIGEST    112
#define H_MK_SALT      132
#define H_MK_ITERS     164
#define H_UUID         168
#define H_SLOTS        208
#define SLOT_LEN       48

bool luks_probe_magic(const uint8_t *buf, size_t len)
{
	return len >= LUKS_HEADER_LEN && !memcmp(buf, luks_magic, LUKS_MAGIC_LEN) &&
	       load_be16(buf + H_VERSION) == 1;
}

static int copy_name(char *dst, const uint8_t *src, size_t len, const char *name,
		     const char *what)
{
	if (!memchr(src, 0, len))
		return err_set(-EINVAL, name, "LUKS header %s is not terminated", what);
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

/* Sectors of key material a slot holds for key_bytes. */
static uint64_t split_sectors(uint32_t key_bytes, uint32_t stripes)
{
	return ((uint64_t)key_bytes * stripes + LUKS_SECTOR - 1) / LUKS_SECTOR;
}

static int check_slots(const struct luks_header *h, const char *name)
{
	uint64_t header_sectors = (LUKS_HEADER_LEN + LUKS_SECTOR - 1) / LUKS_SECTOR;

	for (int i = 0; i < LUKS_SLOTS; i++) {
		const struct luks_slot *s = &h->slots[i];
		uint64_t end = s->key_offset + split_sectors(h->key_bytes, s->stripes);

		if (s->active != LUKS_SLOT_ACTIVE && s->active != LUKS_SLOT_INACTIVE)
			return err_set(-EINVAL, name, "Keyslot %d state (active/disable) is corrupted", i);
		if (s->stripes != LUKS_STRIPES)
			return err_set(-EINVAL, name, "Keyslot %d is corrupted (stripes %u != %d)",
				       i, s->stripes, LUKS_STRIPES);
		if (s->key_offset < header_sectors)
			return err_set(-EINVAL, name, "Keyslot %d is overlapping with the LUKS header", i);
		if (end > h->payload_offset)
			return err_set(-EINVAL, name, "Keyslot %d is overlapping with the encrypted payload", i);
		for (int j = i + 1; j < LUKS_SLOTS; j++) {
			const struct luks_slot *t = &h->slots[j];
			uint64_t tend = t->key_offset + split_sectors(h->key_bytes, t->stripes);

			if (t->stripes == LUKS_STRIPES && s->key_offset < tend && t->key_offset < end)
				return err_set(-EINVAL, name, "Keyslots %d and %d are overlapping in the header", i, j);
		}
	}
	return 0;
}

int luks_header_decode(const uint8_t *buf, uint64_t limit, const char *name,
		       struct luks_header *h)
{
	int ret;

	memset(h, 0, sizeof(*h));
	if (memcmp(buf, luks_magic, LUKS_MAGIC_LEN))
		return err_set(-EINVAL, name, "Volume is not in LUKS format");
	h->version = load_be16(buf + H_VERSION);
	if (h->version != 1)
		return err_set(-ENOTSUP, name, "LUKS version %u is not supported", h->version);
	if ((ret = copy_name(h->cipher_name, buf + H_CIPHER_NAME, 32, name, "cipher name")) < 0 ||
	    (ret = copy_name(h->cipher_mode, buf + H_CIPHER_MODE, 32, name, "cipher mode")) < 0 ||
	    (ret = copy_name(h->hash_spec, buf + H_HASH_SPEC, 32, name, "hash spec")) < 0 ||
	    (ret = copy_name(h->uuid, buf + H_UUID, 40, name, "uuid")) < 0)
		return ret;
	h->payload_offset = load_be32(buf + H_PAYLOAD);
	h->key_bytes = load_be32(buf + H_KEY_BYTES);
	memcpy(h->mk_digest, buf + H_MK_DIGEST, LUKS_DIGEST_LEN);
	memcpy(h->mk_digest_salt, buf + H_MK_SALT, LUKS_SALT_LEN);
	h->mk_digest_iterations = load_be32(buf + H_MK_ITERS);
	for (int i = 0; i < LUKS_SLOTS; i++) {
		const uint8_t *p = buf + H_SLOTS + i * SLOT_LEN;
		struct luks_slot *s = &h->slots[i];

		s->active = load_be32(p);
		s->iterations = load_be32(p + 4);
		memcpy(s->salt, p + 8, LUKS_SALT_LEN);
		s->key_offset = load_be32(p + 40);
		s->stripes = load_be32(p + 44);
	}
	if (h->key_bytes == 0 || h->key_bytes > LUKS_MAX_KEY_BYTES)
		return err_set(-EINVAL, name, "LUKS key length %u is invalid (1 to %d)",
			       h->key_bytes, LUKS_MAX_KEY_BYTES);
	if ((uint64_t)h->payload_offset * LUKS_SECTOR > limit)
		return err_set(-EINVAL, name,
			       "LUKS payload offset %llu is beyond the end of the volume (%llu bytes)",
			       (unsigned long long)h->payload_offset * LUKS_SECTOR,
			       (unsigned long long)limit);
	return check_slots(h, name);
}

void luks_header_encode(const struct luks_header *h, uint8_t *buf)
{
	memset(buf, 0, LUKS_HEADER_LEN);
	memcpy(buf, luks_magic, LUKS_MAGIC_LEN);
	store_be16(buf + H_VERSION, h->version);
	memcpy(buf + H_CIPHER_NAME, h->cipher_name, strnlen(h->cipher_name, 31));
	memcpy(buf + H_CIPHER_MODE, h->cipher_mode, strnlen(h->cipher_mode, 31));
	memcpy(buf + H_HASH_SPEC, h->hash_spec, strnlen(h->hash_spec, 31));
	store_be32(buf + H_PAYLOAD, h->payload_offset);
	store_be32(buf + H_KEY_BYTES, h->key_bytes);
	memcpy(buf + H_MK_DIGEST, h->mk_digest, LUKS_DIGEST_LEN);
	memcpy(buf + H_MK_SALT, h->mk_digest_salt, LUKS_SALT_LEN);
	store_be32(buf + H_MK_ITERS, h->mk_digest_iterations);
	memcpy(buf + H_UUID, h->uuid, strnlen(h->uuid, 39));
	for (int i = 0; i < LUKS_SLOTS; i++) {
		uint8_t *p = buf + H_SLOTS + i * SLOT_LEN;
		const struct luks_slot *s = &h->slots[i];

		store_be32(p, s->active);
		store_be32(p + 4, s->iterations);
		memcpy(p + 8, s->salt, LUKS_SALT_LEN);
		store_be32(p + 40, s->key_offset);
		store_be32(p + 44, s->stripes);
	}
}

/* "xts-plain64" -> xts, plain64; "cbc-essiv:sha256" -> cbc, essiv, sha256;
 * "ecb" -> ecb, no ivgen. */
int luks_header_spec(const struct luks_header *h, const char *name, struct luks_spec *spec)
{
	const char *dash = strchr(h->cipher_mode, '-');
	const char *colon;
	size_t mlen = dash ? (size_t)(dash - h->cipher_mode) : strlen(h->cipher_mode);
	int key_bits;

	memset(spec, 0, sizeof(*spec));
	if (mlen >= sizeof(spec->cipher_mode))
		return err_set(-ENOTSUP, name, "Unsupported cipher mode '%s'", h->cipher_mode);
	memcpy(spec->cipher_mode, h->cipher_mode, mlen);
	if (dash) {
		colon = strchr(dash + 1, ':');
		if (colon) {
			snprintf(spec->ivgen_alg, sizeof(spec->ivgen_alg), "%.*s",
				 (int)(colon - dash - 1), dash + 1);
			snprintf(spec->ivgen_hash_alg, sizeof(spec->ivgen_hash_alg), "%.15s", colon + 1);
		} else {
			snprintf(spec->ivgen_alg, sizeof(spec->ivgen_alg), "%.7s", dash + 1);
		}
	}
	key_bits = (int)h->key_bytes * 8;
	if (!strcmp(spec->cipher_mode, "xts"))
		key_bits /= 2;
	snprintf(spec->cipher_alg, sizeof(spec->cipher_alg), "%.8s-%d", h->cipher_name, key_bits);
	snprintf(spec->hash_alg, sizeof(spec->hash_alg), "%.15s", h->hash_spec);
	return 0;
}
