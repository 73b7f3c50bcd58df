/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2_crypt.c - encrypted qcow2 images: encrypt.format=luks (crypt_method 2:
 * a LUKS1 volume in clusters named by the crypto header extension, data
 * clusters encrypted with IVs from their host sector, as qemu does) and the old
 * AES-CBC (crypt_method 1: the passphrase's first 16 bytes are the key, IVs from
 * the guest sector), read-only as the issue asks.
 *
 * Every data cluster read or written goes through qcow2_data_pread/pwrite; the
 * requests reaching them are whole 512-byte sectors (qcow2_read/qcow2_write
 * align encrypted requests first), and the cipher keeps per-thread OpenSSL
 * contexts (luks_cipher.c), so the copy engine's workers run in parallel.
 */
#include "qcow2.h"
#include "../image_opts.h"
#include "../luks/luks.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#define SECTOR 512
#define AES_KEY_LEN 16

struct qcow2_crypt {
	struct luks_volume vol;       /* crypt_method 2 */
	struct luks_cipher aes;       /* crypt_method 1 */
	struct luks_cipher *cipher;   /* the one in use, NULL without a key */
	bool physical;                /* IVs from host (true) or guest sectors */
	uint64_t hdr_off, hdr_len;    /* the LUKS area (crypt_method 2) */
};

bool qcow2_encrypted(const struct qcow2_state *s)
{
	return s->h.crypt_method != 0;
}

static int crypto_ext(struct qcow2_state *s, uint64_t *off, uint64_t *len)
{
	const char *fn = s->img->filename;

	for (int i = 0; i < s->nb_unknown_exts; i++) {
		const struct qcow2_ext *e = &s->unknown_exts[i];

		if (e->type != QCOW2_EXT_CRYPTO)
			continue;
		if (e->len != 16)
			return err_set(-EINVAL, fn, "qcow2 crypto header extension has length %u (want 16)", e->len);
		*off = load_be64(e->data);
		*len = load_be64(e->data + 8);
		if (!is_aligned(*off, s->cluster_size) || *off == 0 || *len == 0 ||
		    *off > s->file_size || *len > s->file_size - *off)
			return err_set(-EINVAL, fn, "qcow2 crypto header at %#" PRIx64 "+%" PRIu64
				       " lies outside the file", *off, *len);
		return 0;
	}
	return err_set(-EINVAL, fn, "LUKS encrypted qcow2 image has no crypto header extension");
}

static int open_aes(struct qcow2_state *s, struct qcow2_crypt *c, const unsigned char *pass,
		    size_t pass_len)
{
	struct luks_spec spec = { "aes-128", "cbc", "plain64", "", "sha256" };
	unsigned char key[AES_KEY_LEN] = { 0 };
	int ret;

	memcpy(key, pass, pass_len < AES_KEY_LEN ? pass_len : AES_KEY_LEN);
	ret = luks_cipher_init(&c->aes, &spec, key, AES_KEY_LEN, s->img->filename);
	explicit_bzero(key, sizeof(key));
	if (ret == 0)
		c->cipher = &c->aes;
	return ret;
}

int qcow2_crypt_open(struct qcow2_state *s, int flags)
{
	const char *fn = s->img->filename;
	const unsigned char *pass = NULL;
	size_t pass_len = 0;
	struct qcow2_crypt *c;
	int ret;

	if (!qcow2_encrypted(s))
		return 0;
	if (s->h.crypt_method > 2)
		return err_set(-EINVAL, fn, "Unsupported encryption method: %u", s->h.crypt_method);
	if (s->h.crypt_method == 1 && (flags & IMG_RDWR))
		return err_set(-EACCES, fn, "AES-CBC encrypted qcow2 images (encrypt.format=aes) "
			       "are read-only; convert them to encrypt.format=luks");
	c = calloc(1, sizeof(*c));
	if (!c)
		return err_set(-ENOMEM, fn, "out of memory");
	s->crypt = c;
	if (!(flags & IMG_NO_IO)) {
		ret = luks_get_secret(image_opt(fn, "encrypt.key-secret"), fn, "encrypt.key-secret",
				      &pass, &pass_len);
		if (ret < 0)
			return ret;
	}
	if (s->h.crypt_method == 1)
		return pass ? open_aes(s, c, pass, pass_len) : 0;
	ret = crypto_ext(s, &c->hdr_off, &c->hdr_len);
	if (ret == 0)
		ret = luks_volume_open(&c->vol, s->img->be, c->hdr_off, c->hdr_len, fn, pass, pass_len);
	if (ret < 0)
		return ret;
	c->physical = true;
	if (c->vol.has_cipher)
		c->cipher = &c->vol.cipher;
	return 0;
}

void qcow2_crypt_close(struct qcow2_state *s)
{
	struct qcow2_crypt *c = s->crypt;

	if (!c)
		return;
	luks_volume_close(&c->vol);
	luks_cipher_fini(&c->aes);
	free(c);
	s->crypt = NULL;
}

static int need_key(struct qcow2_state *s)
{
	if (!s->crypt || !s->crypt->cipher)
		return err_set(-EACCES, s->img->filename,
			       "Parameter 'encrypt.key-secret' is required for cipher");
	return 0;
}

static uint64_t iv_sector(struct qcow2_state *s, uint64_t host, uint64_t guest)
{
	return (s->crypt->physical ? host : guest) / SECTOR;
}

int qcow2_data_pread(struct qcow2_state *s, void *buf, size_t len, uint64_t host, uint64_t guest)
{
	int ret;

	if (!qcow2_encrypted(s))
		return backend_pread(s->img->be, buf, len, host);
	ret = need_key(s);
	if (ret == 0 && (len % SECTOR || host % SECTOR))
		ret = err_set(-EIO, s->img->filename, "internal error: unaligned encrypted read");
	if (ret == 0)
		ret = backend_pread(s->img->be, buf, len, host);
	if (ret == 0)
		ret = luks_cipher_run(s->crypt->cipher, false, iv_sector(s, host, guest), buf, len);
	return ret;
}

int qcow2_data_pwrite(struct qcow2_state *s, const void *buf, size_t len, uint64_t host,
		      uint64_t guest)
{
	size_t chunk;
	uint8_t *tmp;
	int ret;

	if (!qcow2_encrypted(s))
		return backend_pwrite(s->img->be, buf, len, host);
	ret = need_key(s);
	if (ret == 0 && (len % SECTOR || host % SECTOR))
		ret = err_set(-EIO, s->img->filename, "internal error: unaligned encrypted write");
	if (ret < 0)
		return ret;
	chunk = MIN(len, (size_t)(1 * MiB));
	tmp = malloc(chunk);
	if (!tmp)
		return err_set(-ENOMEM, s->img->filename, "out of memory");
	for (size_t done = 0; done < len && ret == 0; done += chunk) {
		size_t n = MIN(chunk, len - done);

		memcpy(tmp, (const uint8_t *)buf + done, n);
		ret = luks_cipher_run(s->crypt->cipher, true, iv_sector(s, host + done, guest + done),
				      tmp, n);
		if (ret == 0)
			ret = backend_pwrite(s->img->be, tmp, n, host + done);
	}
	free(tmp);
	return ret;
}

static int read_img(void *opaque, void *buf, uint64_t off, size_t len)
{
	return qcow2_read(opaque, buf, off, len);
}

static int write_img(void *opaque, const void *buf, uint64_t off, size_t len)
{
	return qcow2_write(opaque, buf, off, len);
}

int qcow2_crypt_read_unaligned(struct image *img, void *buf, uint64_t off, size_t len)
{
	return luks_read_unaligned(read_img, img, img->filename, buf, off, len);
}

int qcow2_crypt_write_unaligned(struct image *img, const void *buf, uint64_t off, size_t len)
{
	static pthread_mutex_t rmw = PTHREAD_MUTEX_INITIALIZER;

	return luks_write_unaligned(read_img, write_img, img, &rmw, img->filename, buf, off, len);
}

struct json_object *qcow2_crypt_info(struct qcow2_state *s)
{
	struct json_object *o;

	if (s->h.crypt_method == 1) {
		o = json_object_new_object();
		if (o)
			json_object_object_add(o, "format", json_object_new_string("aes"));
		return o;
	}
	o = luks_info_json(&s->crypt->vol);
	if (o)
		json_object_object_add(o, "format", json_object_new_string("luks"));
	return o;
}

int qcow2_crypt_amend(struct qcow2_state *s, struct opts *o)
{
	if (s->h.crypt_method != 2)
		return err_set(-EINVAL, s->img->filename, "the image is not LUKS encrypted");
	return luks_volume_amend(&s->crypt->vol, o, "encrypt.");
}

bool qcow2_crypt_area(const struct qcow2_state *s, uint64_t *off, uint64_t *len)
{
	if (!s->crypt || s->h.crypt_method != 2)
		return false;
	*off = s->crypt->hdr_off;
	*len = s->crypt->hdr_len;
	return true;
}

bool qcow2_crypt_wanted(struct opts *o)
{
	bool legacy = false;

	return opts_get(o, "encrypt.format") || (opts_get_bool(o, "encryption", &legacy) == 0 && legacy);
}

int qcow2_crypt_precheck(const char *fn, struct opts *o)
{
	const char *fmt = opts_get(o, "encrypt.format");
	const unsigned char *pass;
	struct luks_spec spec;
	uint64_t iter_ms;
	size_t pass_len;
	int ret;

	if (!qcow2_crypt_wanted(o))
		return 0;
	if (!fmt || !strcmp(fmt, "aes"))
		return err_set(-ENOTSUP, fn, "AES-CBC encryption (encrypt.format=aes) is read-only "
			       "in imgtool; use encrypt.format=luks");
	if (strcmp(fmt, "luks"))
		return err_set(-EINVAL, fn, "Parameter 'encrypt.format' does not accept value '%s'", fmt);
	ret = luks_get_secret(opts_get(o, "encrypt.key-secret"), fn, "encrypt.key-secret",
			      &pass, &pass_len);
	if (ret == 0)
		ret = luks_spec_from_opts(o, "encrypt.", fn, &spec, &iter_ms);
	return ret;
}

int qcow2_crypt_init_new(struct qcow2_state *s, struct opts *o)
{
	const char *fn = s->img->filename;
	const unsigned char *pass;
	struct luks_spec spec;
	struct qcow2_crypt *c;
	uint64_t iter_ms, len, off, fsize;
	uint8_t ext[16];
	size_t pass_len;
	int ret;

	ret = qcow2_crypt_precheck(fn, o);
	if (ret == 0)
		ret = luks_get_secret(opts_get(o, "encrypt.key-secret"), fn, "encrypt.key-secret",
				      &pass, &pass_len);
	if (ret == 0)
		ret = luks_spec_from_opts(o, "encrypt.", fn, &spec, &iter_ms);
	if (ret == 0)
		ret = luks_payload_offset_for(&spec, fn, &len);
	if (ret < 0)
		return ret;
	c = calloc(1, sizeof(*c));
	if (!c)
		return err_set(-ENOMEM, fn, "out of memory");
	s->crypt = c;
	pthread_mutex_lock(&s->lock);
	ret = qcow2_alloc_clusters(s, div_round_up(len, s->cluster_size), &off);
	pthread_mutex_unlock(&s->lock);
	if (ret < 0)
		return ret;
	ret = luks_volume_create(&c->vol, s->img->be, off, fn, &spec, iter_ms, pass, pass_len);
	if (ret < 0)
		return ret;
	/* the whole area lies inside the file, as qemu leaves it */
	ret = backend_size(s->img->be, &fsize);
	if (ret == 0 && fsize < off + align_up(len, s->cluster_size))
		ret = backend_truncate(s->img->be, off + align_up(len, s->cluster_size));
	if (ret < 0)
		return ret;
	s->file_size = MAX(s->file_size, off + align_up(len, s->cluster_size));
	c->hdr_off = off;
	c->hdr_len = len;
	c->physical = true;
	c->cipher = &c->vol.cipher;
	store_be64(ext, off);
	store_be64(ext + 8, len);
	pthread_mutex_lock(&s->lock);
	ret = qcow2_header_add_ext(s, QCOW2_EXT_CRYPTO, ext, sizeof(ext));
	if (ret == 0) {
		s->h.crypt_method = 2;
		ret = qcow2_header_write(s);
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}
