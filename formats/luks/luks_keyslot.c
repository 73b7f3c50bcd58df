/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luks_keyslot.c - LUKS1 key slots: PBKDF2 (OpenSSL's), the anti-forensic
 * splitter that spreads the master key over 4000 stripes, unlocking a volume by
 * trying a passphrase on each active slot, and writing or erasing a slot.
 *
 * Every count read from a header is bounded before use: the key material is at
 * most 64 x 4000 bytes, and a PBKDF2 count above LUKS_MAX_ITERS is refused so a
 * hostile header cannot keep us busy for hours.
 */
#include "luks.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/random.h"
#include "../../common/secret.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int luks_pbkdf2(const char *hash, const unsigned char *pass, size_t pass_len,
		const uint8_t *salt, size_t salt_len, uint32_t iters,
		unsigned char *out, size_t out_len)
{
	const EVP_MD *md = EVP_get_digestbyname(hash);

	if (!md)
		return err_set(-ENOTSUP, NULL, "Hash algorithm '%s' is not supported", hash);
	if (iters == 0 || iters > LUKS_MAX_ITERS)
		return err_set(-EINVAL, NULL, "PBKDF2 iteration count %u is out of range (1 to %u)",
			       iters, LUKS_MAX_ITERS);
	if (!PKCS5_PBKDF2_HMAC((const char *)pass, (int)pass_len, salt, (int)salt_len,
			       (int)iters, md, (int)out_len, out))
		return err_set(-EIO, NULL, "PBKDF2 failed");
	return 0;
}

static double thread_cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

int luks_pbkdf2_count(const char *hash, uint32_t out_len, uint64_t iter_ms, uint32_t *iters)
{
	static const unsigned char pass[] = "imgtool benchmark";
	uint8_t salt[LUKS_SALT_LEN] = { 0 };
	unsigned char out[LUKS_MAX_KEY_BYTES];
	uint32_t n = 1u << 12;
	double start, ms;
	double want;
	int ret;

	for (;;) {
		start = thread_cpu_ms();
		ret = luks_pbkdf2(hash, pass, sizeof(pass) - 1, salt, sizeof(salt), n, out,
				  out_len < sizeof(out) ? out_len : sizeof(out));
		if (ret < 0)
			return ret;
		ms = thread_cpu_ms() - start;
		if (ms >= 50.0 || n >= LUKS_MAX_ITERS / 2)
			break;
		n *= 2;
	}
	want = ms > 0 ? (double)n * (double)iter_ms / ms : (double)LUKS_MAX_ITERS;
	if (want > LUKS_MAX_ITERS)
		want = LUKS_MAX_ITERS;
	*iters = want < LUKS_MIN_ITERS ? LUKS_MIN_ITERS : (uint32_t)want;
	return 0;
}

/* The splitter's diffusion: each digest-sized block hashed with its index. */
static int diffuse(const EVP_MD *md, unsigned char *buf, size_t len)
{
	size_t ds = (size_t)EVP_MD_get_size(md);
	unsigned char dig[EVP_MAX_MD_SIZE], idx[4];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ret = 0;

	if (!ctx)
		return -ENOMEM;
	for (size_t off = 0, i = 0; off < len; off += ds, i++) {
		size_t n = len - off < ds ? len - off : ds;

		store_be32(idx, (uint32_t)i);
		if (!EVP_DigestInit_ex(ctx, md, NULL) || !EVP_DigestUpdate(ctx, idx, 4) ||
		    !EVP_DigestUpdate(ctx, buf + off, n) || !EVP_DigestFinal_ex(ctx, dig, NULL)) {
			ret = -EIO;
			break;
		}
		memcpy(buf + off, dig, n);
	}
	OPENSSL_cleanse(dig, sizeof(dig));
	EVP_MD_CTX_free(ctx);
	return ret;
}

static void xor_into(unsigned char *d, const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		d[i] ^= s[i];
}

int luks_af_split(const char *hash, const unsigned char *key, size_t key_len,
		  uint32_t stripes, unsigned char *out)
{
	const EVP_MD *md = EVP_get_digestbyname(hash);
	unsigned char d[LUKS_MAX_KEY_BYTES] = { 0 };
	int ret;

	if (!md || key_len > sizeof(d) || stripes == 0)
		return err_set(-EINVAL, NULL, "bad anti-forensic split parameters");
	ret = random_bytes(out, key_len * (stripes - 1));
	for (uint32_t i = 0; ret == 0 && i + 1 < stripes; i++) {
		xor_into(d, out + (size_t)i * key_len, key_len);
		ret = diffuse(md, d, key_len);
	}
	if (ret == 0) {
		memcpy(out + (size_t)(stripes - 1) * key_len, d, key_len);
		xor_into(out + (size_t)(stripes - 1) * key_len, key, key_len);
	}
	OPENSSL_cleanse(d, sizeof(d));
	return ret < 0 ? err_set(ret, NULL, "anti-forensic split failed") : 0;
}

int luks_af_merge(const char *hash, const unsigned char *split, size_t key_len,
		  uint32_t stripes, unsigned char *key)
{
	const EVP_MD *md = EVP_get_digestbyname(hash);
	unsigned char d[LUKS_MAX_KEY_BYTES] = { 0 };
	int ret = 0;

	if (!md || key_len > sizeof(d) || stripes == 0)
		return err_set(-EINVAL, NULL, "bad anti-forensic merge parameters");
	for (uint32_t i = 0; ret == 0 && i + 1 < stripes; i++) {
		xor_into(d, split + (size_t)i * key_len, key_len);
		ret = diffuse(md, d, key_len);
	}
	memcpy(key, d, key_len);
	xor_into(key, split + (size_t)(stripes - 1) * key_len, key_len);
	OPENSSL_cleanse(d, sizeof(d));
	return ret < 0 ? err_set(ret, NULL, "anti-forensic merge failed") : 0;
}

static size_t material_len(const struct luks_header *h, const struct luks_slot *s)
{
	size_t n = (size_t)h->key_bytes * s->stripes;

	return (n + LUKS_SECTOR - 1) / LUKS_SECTOR * LUKS_SECTOR;
}

/* Does the master key match the header's digest?  1/0, or negative. */
static int mk_verify(struct luks_volume *vol, const unsigned char *mk)
{
	unsigned char dig[LUKS_DIGEST_LEN];
	int ret = luks_pbkdf2(vol->h.hash_spec, mk, vol->h.key_bytes, vol->h.mk_digest_salt,
			      LUKS_SALT_LEN, vol->h.mk_digest_iterations, dig, sizeof(dig));

	if (ret < 0)
		return err_set(ret, vol->name, "master key digest: %s", err_get());
	ret = CRYPTO_memcmp(dig, vol->h.mk_digest, sizeof(dig)) == 0;
	OPENSSL_cleanse(dig, sizeof(dig));
	return ret;
}

/* Decrypt slot i's key material with pass and merge it: the candidate key. */
static int slot_open(struct luks_volume *vol, int i, const unsigned char *pass,
		     size_t pass_len, unsigned char *mk)
{
	const struct luks_slot *s = &vol->h.slots[i];
	size_t len = material_len(&vol->h, s);
	unsigned char *slot_key = secure_alloc(vol->h.key_bytes);
	unsigned char *mat = secure_alloc(len);
	struct luks_cipher c;
	int ret;

	if (!slot_key || !mat) {
		ret = err_set(-ENOMEM, vol->name, "out of memory");
		goto out;
	}
	ret = luks_pbkdf2(vol->h.hash_spec, pass, pass_len, s->salt, LUKS_SALT_LEN,
			  s->iterations, slot_key, vol->h.key_bytes);
	if (ret < 0) {
		err_set(ret, vol->name, "Keyslot %d: %s", i, err_get());
		goto out;
	}
	ret = backend_pread(vol->be, mat, len, vol->base + (uint64_t)s->key_offset * LUKS_SECTOR);
	if (ret < 0)
		goto out;
	ret = luks_cipher_init(&c, &vol->spec, slot_key, (int)vol->h.key_bytes, vol->name);
	if (ret < 0)
		goto out;
	ret = luks_cipher_run(&c, false, 0, mat, len);
	luks_cipher_fini(&c);
	if (ret == 0)
		ret = luks_af_merge(vol->h.hash_spec, mat, vol->h.key_bytes, s->stripes, mk);
out:
	secure_free(slot_key, vol->h.key_bytes);
	secure_free(mat, len);
	return ret;
}

int luks_slot_matches(struct luks_volume *vol, int i, const unsigned char *pass, size_t pass_len)
{
	unsigned char *mk = secure_alloc(vol->h.key_bytes);
	int ret;

	if (!mk)
		return err_set(-ENOMEM, vol->name, "out of memory");
	ret = slot_open(vol, i, pass, pass_len, mk);
	if (ret == 0)
		ret = mk_verify(vol, mk);
	secure_free(mk, vol->h.key_bytes);
	return ret;
}

int luks_unlock(struct luks_volume *vol, const unsigned char *pass, size_t pass_len)
{
	unsigned char *mk = secure_alloc(vol->h.key_bytes);
	int ret = 0;

	if (!mk)
		return err_set(-ENOMEM, vol->name, "out of memory");
	for (int i = 0; i < LUKS_SLOTS; i++) {
		if (vol->h.slots[i].active != LUKS_SLOT_ACTIVE)
			continue;
		ret = slot_open(vol, i, pass, pass_len, mk);
		if (ret == 0)
			ret = mk_verify(vol, mk);
		if (ret < 0)
			break;
		if (ret == 1) {
			vol->master_key = mk;
			return 0;
		}
	}
	secure_free(mk, vol->h.key_bytes);
	if (ret < 0)
		return ret;
	return err_set(-EACCES, vol->name, "Invalid password, cannot unlock any keyslot");
}

int luks_slot_store(struct luks_volume *vol, int i, const unsigned char *pass,
		    size_t pass_len, uint64_t iter_ms)
{
	struct luks_slot *s = &vol->h.slots[i];
	size_t len;
	unsigned char *slot_key = secure_alloc(vol->h.key_bytes), *mat = NULL;
	struct luks_cipher c;
	int ret;

	s->stripes = LUKS_STRIPES;
	len = material_len(&vol->h, s);
	mat = secure_alloc(len);
	if (!slot_key || !mat) {
		ret = err_set(-ENOMEM, vol->name, "out of memory");
		goto out;
	}
	if ((ret = random_bytes(s->salt, LUKS_SALT_LEN)) < 0 ||
	    (ret = luks_pbkdf2_count(vol->h.hash_spec, vol->h.key_bytes, iter_ms, &s->iterations)) < 0 ||
	    (ret = luks_pbkdf2(vol->h.hash_spec, pass, pass_len, s->salt, LUKS_SALT_LEN,
			       s->iterations, slot_key, vol->h.key_bytes)) < 0 ||
	    (ret = luks_af_split(vol->h.hash_spec, vol->master_key, vol->h.key_bytes,
				 s->stripes, mat)) < 0)
		goto out;
	ret = luks_cipher_init(&c, &vol->spec, slot_key, (int)vol->h.key_bytes, vol->name);
	if (ret < 0)
		goto out;
	ret = luks_cipher_run(&c, true, 0, mat, len);
	luks_cipher_fini(&c);
	if (ret == 0)
		ret = backend_pwrite(vol->be, mat, len, vol->base + (uint64_t)s->key_offset * LUKS_SECTOR);
	if (ret == 0)
		s->active = LUKS_SLOT_ACTIVE;
out:
	secure_free(slot_key, vol->h.key_bytes);
	secure_free(mat, len);
	return ret;
}

int luks_slot_erase(struct luks_volume *vol, int i)
{
	struct luks_slot *s = &vol->h.slots[i];
	size_t len = material_len(&vol->h, s);
	unsigned char *junk = malloc(len);
	int ret;

	if (!junk)
		return err_set(-ENOMEM, vol->name, "out of memory");
	ret = random_bytes(junk, len);
	if (ret == 0)
		ret = backend_pwrite(vol->be, junk, len, vol->base + (uint64_t)s->key_offset * LUKS_SECTOR);
	free(junk);
	if (ret < 0)
		return ret;
	s->active = LUKS_SLOT_INACTIVE;
	s->iterations = 0;
	memset(s->salt, 0, sizeof(s->salt));
	return 0;
}
