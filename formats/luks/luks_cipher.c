/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luks_cipher.c - sector encryption for LUKS volumes with OpenSSL's EVP ciphers:
 * qemu's names (aes-256, xts, plain64, essiv) mapped to OpenSSL's, the IV of each
 * 512-byte sector, and one pair of keyed contexts per thread so that the copy
 * engine's workers never share an EVP context nor set up a key per request.
 */
#include "luks.h"
#include "../../common/err.h"
#include "../../common/secret.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct luks_thread_ctx {
	EVP_CIPHER_CTX *enc, *dec, *essiv;
	struct luks_thread_ctx *next;
};

static int aes_bits(const char *alg)
{
	if (!strcmp(alg, "aes-128")) return 128;
	if (!strcmp(alg, "aes-192")) return 192;
	if (!strcmp(alg, "aes-256")) return 256;
	return 0;
}

static const EVP_CIPHER *spec_evp(const struct luks_spec *spec)
{
	char name[32];

	snprintf(name, sizeof(name), "aes-%d-%s", aes_bits(spec->cipher_alg), spec->cipher_mode);
	return EVP_get_cipherbyname(name);
}

int luks_spec_check(const struct luks_spec *spec, const char *name, int *key_bytes)
{
	int bits = aes_bits(spec->cipher_alg);
	bool xts = !strcmp(spec->cipher_mode, "xts");

	if (!bits)
		return err_set(-ENOTSUP, name, "Cipher algorithm '%s' is not supported (imgtool has aes-128, aes-192 and aes-256)",
			       spec->cipher_alg);
	if (strcmp(spec->cipher_mode, "xts") && strcmp(spec->cipher_mode, "cbc") &&
	    strcmp(spec->cipher_mode, "ecb") && strcmp(spec->cipher_mode, "ctr"))
		return err_set(-ENOTSUP, name, "Invalid cipher mode '%s'", spec->cipher_mode);
	if (!spec_evp(spec))
		return err_set(-ENOTSUP, name, "Cipher '%s' in mode '%s' is not available",
			       spec->cipher_alg, spec->cipher_mode);
	if (strcmp(spec->cipher_mode, "ecb") != 0 && strcmp(spec->ivgen_alg, "plain") &&
	    strcmp(spec->ivgen_alg, "plain64") && strcmp(spec->ivgen_alg, "essiv"))
		return err_set(-ENOTSUP, name, "Invalid IV generator '%s'", spec->ivgen_alg);
	if (!strcmp(spec->ivgen_alg, "essiv")) {
		const EVP_MD *md = EVP_get_digestbyname(spec->ivgen_hash_alg);
		int dlen = md ? EVP_MD_get_size(md) : 0;

		if (dlen != 16 && dlen != 24 && dlen != 32)
			return err_set(-ENOTSUP, name, "Invalid ESSIV hash '%s' for cipher '%s'",
				       spec->ivgen_hash_alg, spec->cipher_alg);
	}
	if (!EVP_get_digestbyname(spec->hash_alg))
		return err_set(-ENOTSUP, name, "Hash algorithm '%s' is not supported", spec->hash_alg);
	*key_bytes = bits / 8 * (xts ? 2 : 1);
	return 0;
}

static void free_thread_ctx(struct luks_thread_ctx *t)
{
	EVP_CIPHER_CTX_free(t->enc);
	EVP_CIPHER_CTX_free(t->dec);
	EVP_CIPHER_CTX_free(t->essiv);
	free(t);
}

int luks_cipher_init(struct luks_cipher *c, const struct luks_spec *spec,
		     const unsigned char *key, int key_len, const char *name)
{
	int want;
	int ret = luks_spec_check(spec, name, &want);

	memset(c, 0, sizeof(*c));
	if (ret < 0)
		return ret;
	if (want != key_len)
		return err_set(-EINVAL, name, "LUKS key length %d does not fit cipher %s-%s",
			       key_len, spec->cipher_alg, spec->cipher_mode);
	c->evp = spec_evp(spec);
	c->key_len = key_len;
	c->iv_len = EVP_CIPHER_get_iv_length(c->evp);
	c->key = secure_alloc((size_t)key_len);
	if (!c->key)
		return err_set(-ENOMEM, name, "out of memory");
	memcpy(c->key, key, (size_t)key_len);
	if (!strcmp(spec->cipher_mode, "ecb"))
		c->ivgen = IVGEN_NONE;
	else if (!strcmp(spec->ivgen_alg, "plain"))
		c->ivgen = IVGEN_PLAIN;
	else if (!strcmp(spec->ivgen_alg, "plain64"))
		c->ivgen = IVGEN_PLAIN64;
	else
		c->ivgen = IVGEN_ESSIV;
	if (c->ivgen == IVGEN_ESSIV) {
		const EVP_MD *md = EVP_get_digestbyname(spec->ivgen_hash_alg);
		unsigned int dlen = 0;
		char ename[32];

		c->essiv_key_len = EVP_MD_get_size(md);
		snprintf(ename, sizeof(ename), "aes-%d-ecb", c->essiv_key_len * 8);
		c->essiv_evp = EVP_get_cipherbyname(ename);
		c->essiv_key = secure_alloc((size_t)c->essiv_key_len);
		if (!c->essiv_key || !c->essiv_evp ||
		    !EVP_Digest(key, (size_t)key_len, c->essiv_key, &dlen, md, NULL)) {
			luks_cipher_fini(c);
			return err_set(-EIO, name, "cannot set up the ESSIV key");
		}
	}
	pthread_mutex_init(&c->lock, NULL);
	if (pthread_key_create(&c->tls, NULL) != 0) {
		pthread_mutex_destroy(&c->lock);
		secure_free(c->key, (size_t)key_len);
		secure_free(c->essiv_key, (size_t)c->essiv_key_len);
		return err_set(-EAGAIN, name, "out of thread-local keys");
	}
	c->tls_ready = true;
	return 0;
}

void luks_cipher_fini(struct luks_cipher *c)
{
	struct luks_thread_ctx *t = c->all_ctx, *next;

	if (!c->key)
		return;
	for (; t; t = next) {
		next = t->next;
		free_thread_ctx(t);
	}
	c->all_ctx = NULL;
	if (c->tls_ready) {
		pthread_key_delete(c->tls);
		pthread_mutex_destroy(&c->lock);
	}
	secure_free(c->key, (size_t)c->key_len);
	secure_free(c->essiv_key, (size_t)c->essiv_key_len);
	memset(c, 0, sizeof(*c));
}

static struct luks_thread_ctx *thread_ctx(struct luks_cipher *c)
{
	struct luks_thread_ctx *t = pthread_getspecific(c->tls);

	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->enc = EVP_CIPHER_CTX_new();
	t->dec = EVP_CIPHER_CTX_new();
	if (!t->enc || !t->dec ||
	    !EVP_CipherInit_ex(t->enc, c->evp, NULL, c->key, NULL, 1) ||
	    !EVP_CipherInit_ex(t->dec, c->evp, NULL, c->key, NULL, 0))
		goto fail;
	EVP_CIPHER_CTX_set_padding(t->enc, 0);
	EVP_CIPHER_CTX_set_padding(t->dec, 0);
	if (c->essiv_evp) {
		t->essiv = EVP_CIPHER_CTX_new();
		if (!t->essiv || !EVP_CipherInit_ex(t->essiv, c->essiv_evp, NULL, c->essiv_key, NULL, 1))
			goto fail;
		EVP_CIPHER_CTX_set_padding(t->essiv, 0);
	}
	pthread_mutex_lock(&c->lock);
	t->next = c->all_ctx;
	c->all_ctx = t;
	pthread_mutex_unlock(&c->lock);
	pthread_setspecific(c->tls, t);
	return t;
fail:
	free_thread_ctx(t);
	return NULL;
}

static int make_iv(struct luks_cipher *c, struct luks_thread_ctx *t, uint64_t sector,
		   unsigned char *iv)
{
	uint64_t s = c->ivgen == IVGEN_PLAIN ? (sector & 0xffffffffu) : sector;
	int n;

	memset(iv, 0, (size_t)c->iv_len);
	for (int i = 0; i < 8 && i < c->iv_len; i++)
		iv[i] = (unsigned char)(s >> (8 * i));
	if (c->ivgen == IVGEN_ESSIV &&
	    !EVP_CipherUpdate(t->essiv, iv, &n, iv, c->iv_len))
		return -EIO;
	return 0;
}

int luks_cipher_run(struct luks_cipher *c, bool encrypt, uint64_t sector,
		    uint8_t *buf, size_t len)
{
	struct luks_thread_ctx *t = thread_ctx(c);
	EVP_CIPHER_CTX *ctx;
	unsigned char iv[EVP_MAX_IV_LENGTH];
	int n;

	if (!t)
		return err_set(-ENOMEM, NULL, "cannot set up the cipher");
	ctx = encrypt ? t->enc : t->dec;
	for (size_t done = 0; done < len; done += LUKS_SECTOR, sector++) {
		if (c->ivgen != IVGEN_NONE &&
		    (make_iv(c, t, sector, iv) < 0 ||
		     !EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, -1)))
			return err_set(-EIO, NULL, "cipher failure");
		if (!EVP_CipherUpdate(ctx, buf + done, &n, buf + done, LUKS_SECTOR))
			return err_set(-EIO, NULL, "cipher failure");
	}
	return 0;
}
