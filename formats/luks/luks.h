/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luks.h - LUKS1 volumes as qemu 7.2 writes and reads them, shared by the raw
 * `luks` format (luks.c) and qcow2's encrypt.format=luks (the same header inside
 * the crypto header extension).
 *
 * Files: luks_header.c (the on-disk header, decoded and checked), luks_cipher.c
 * (cipher names, sector encryption with per-thread OpenSSL contexts),
 * luks_keyslot.c (PBKDF2, the anti-forensic splitter, unlocking and writing key
 * slots), luks_volume.c (open/create/amend of a volume at an offset of a
 * backend), luks_info.c (info's "luks" object), luks.c (the format).
 */
#ifndef IMGTOOL_LUKS_H
#define IMGTOOL_LUKS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../../backends/backend.h"
#include "../../common/opts.h"

struct json_object;

#define LUKS_MAGIC_LEN       6
#define LUKS_HEADER_LEN      592
#define LUKS_SECTOR          512
#define LUKS_SLOTS           8
#define LUKS_STRIPES         4000
#define LUKS_SALT_LEN        32
#define LUKS_DIGEST_LEN      20
#define LUKS_MAX_KEY_BYTES   64
#define LUKS_SLOT_ACTIVE     0x00AC71F3u
#define LUKS_SLOT_INACTIVE   0x0000DEADu
#define LUKS_MIN_ITERS       1000
/* A header may ask for any PBKDF2 count; beyond this one unlocking would take
 * minutes, so it is refused rather than run (bounded time on hostile input). */
#define LUKS_MAX_ITERS       (64u * 1000 * 1000)
#define LUKS_ALIGN           4096   /* qemu aligns key material and payload to this */

struct luks_slot {
	uint32_t active;
	uint32_t iterations;
	uint8_t salt[LUKS_SALT_LEN];
	uint32_t key_offset;         /* sectors from the volume's start */
	uint32_t stripes;
};

struct luks_header {
	uint16_t version;
	char cipher_name[33];
	char cipher_mode[33];
	char hash_spec[33];
	uint32_t payload_offset;     /* sectors */
	uint32_t key_bytes;
	uint8_t mk_digest[LUKS_DIGEST_LEN];
	uint8_t mk_digest_salt[LUKS_SALT_LEN];
	uint32_t mk_digest_iterations;
	char uuid[41];
	struct luks_slot slots[LUKS_SLOTS];
};

enum luks_ivgen { IVGEN_NONE, IVGEN_PLAIN, IVGEN_PLAIN64, IVGEN_ESSIV };

/* A cipher with its key, ready to encrypt sectors from any thread. */
struct luks_cipher {
	const void *evp;             /* const EVP_CIPHER * */
	const void *essiv_evp;       /* ESSIV's ECB cipher, or NULL */
	unsigned char *key;          /* secure memory */
	unsigned char *essiv_key;    /* secure memory (hash of key) */
	int key_len, essiv_key_len, iv_len;
	enum luks_ivgen ivgen;
	pthread_key_t tls;           /* this thread's contexts */
	bool tls_ready;
	pthread_mutex_t lock;        /* guards all_ctx */
	struct luks_thread_ctx *all_ctx;
};

/* The cipher spec as qemu names it in create options and info. */
struct luks_spec {
	char cipher_alg[16];         /* aes-256 */
	char cipher_mode[8];         /* xts */
	char ivgen_alg[8];           /* plain64 */
	char ivgen_hash_alg[16];     /* for essiv, else "" */
	char hash_alg[16];           /* sha256 */
};

struct luks_volume {
	struct backend *be;
	uint64_t base;               /* the volume's start in be (0 for raw luks) */
	const char *name;            /* for messages */
	struct luks_header h;
	struct luks_spec spec;
	unsigned char *master_key;   /* secure memory; NULL when opened without I/O */
	struct luks_cipher cipher;
	bool has_cipher;
};

/* The -o entries (format.h, struct create_opt) of a LUKS volume, spelled once
 * for the luks format (prefix "") and qcow2 (prefix "encrypt."). */
#define LUKS_CIPHER_OPTS(P) \
	{ .name = P "cipher-alg", .type = OPT_TYPE_STRING, \
	  .help = "Name of encryption cipher algorithm" }, \
	{ .name = P "cipher-mode", .type = OPT_TYPE_STRING, \
	  .help = "Name of encryption cipher mode" }, \
	{ .name = P "ivgen-alg", .type = OPT_TYPE_STRING, \
	  .help = "Name of IV generator algorithm" }, \
	{ .name = P "ivgen-hash-alg", .type = OPT_TYPE_STRING, \
	  .help = "Name of IV generator hash algorithm" }, \
	{ .name = P "hash-alg", .type = OPT_TYPE_STRING, \
	  .help = "Name of encryption hash algorithm" }, \
	{ .name = P "iter-time", .type = OPT_TYPE_NUMBER, \
	  .help = "Time to spend in PBKDF in milliseconds" }
#define LUKS_AMEND_OPTS(P) \
	{ .name = P "state", .type = OPT_TYPE_STRING, \
	  .help = "Select new state of affected keyslots (active/inactive)" }, \
	{ .name = P "keyslot", .type = OPT_TYPE_NUMBER, \
	  .help = "Select a single keyslot to modify explicitly" }, \
	{ .name = P "old-secret", .type = OPT_TYPE_STRING, \
	  .help = "Select all keyslots that match this password" }, \
	{ .name = P "new-secret", .type = OPT_TYPE_STRING, \
	  .help = "New secret to set in the matching keyslots. Empty string to erase" }, \
	{ .name = P "iter-time", .type = OPT_TYPE_NUMBER, \
	  .help = "Time to spend in PBKDF in milliseconds" }

/* luks_header.c */
bool luks_probe_magic(const uint8_t *buf, size_t len);
/* Decode and check a header read at base of a volume whose area ends at limit
 * (bytes from base; the file's size for raw luks). */
int luks_header_decode(const uint8_t *buf, uint64_t limit, const char *name,
		       struct luks_header *h);
void luks_header_encode(const struct luks_header *h, uint8_t *buf);
/* The qemu names of h's cipher (aes-256, xts, plain64, ...). */
int luks_header_spec(const struct luks_header *h, const char *name, struct luks_spec *spec);

/* luks_cipher.c */
/* Resolve spec to an OpenSSL cipher and key length; -ENOTSUP with qemu's message. */
int luks_spec_check(const struct luks_spec *spec, const char *name, int *key_bytes);
int luks_cipher_init(struct luks_cipher *c, const struct luks_spec *spec,
		     const unsigned char *key, int key_len, const char *name);
void luks_cipher_fini(struct luks_cipher *c);
/* En/decrypt len bytes (a multiple of 512) in place; sector numbers the IVs of
 * the first sector.  Thread-safe. */
int luks_cipher_run(struct luks_cipher *c, bool encrypt, uint64_t sector,
		    uint8_t *buf, size_t len);

/* luks_keyslot.c */
int luks_pbkdf2(const char *hash, const unsigned char *pass, size_t pass_len,
		const uint8_t *salt, size_t salt_len, uint32_t iters,
		unsigned char *out, size_t out_len);
/* PBKDF2 iterations that take iter_ms on this machine, at least LUKS_MIN_ITERS. */
int luks_pbkdf2_count(const char *hash, uint32_t out_len, uint64_t iter_ms, uint32_t *iters);
int luks_af_split(const char *hash, const unsigned char *key, size_t key_len,
		  uint32_t stripes, unsigned char *out);
int luks_af_merge(const char *hash, const unsigned char *split, size_t key_len,
		  uint32_t stripes, unsigned char *key);
/* Try the passphrase on every active slot; the master key into vol->master_key. */
int luks_unlock(struct luks_volume *vol, const unsigned char *pass, size_t pass_len);
/* Does pass open slot i?  1 yes, 0 no, negative on error (master key given). */
int luks_slot_matches(struct luks_volume *vol, int i, const unsigned char *pass, size_t pass_len);
/* Write slot i's key material for the master key (header not written). */
int luks_slot_store(struct luks_volume *vol, int i, const unsigned char *pass,
		    size_t pass_len, uint64_t iter_ms);
/* Overwrite slot i's key material with random bytes and mark it inactive. */
int luks_slot_erase(struct luks_volume *vol, int i);

/* luks_volume.c */
/* The passphrase named by secret_id (common/secret.h). */
int luks_get_secret(const char *secret_id, const char *name, const char *what,
		    const unsigned char **pass, size_t *len);
/* Read the header at base; with pass (else header only, no I/O) unlock it. */
int luks_volume_open(struct luks_volume *vol, struct backend *be, uint64_t base,
		     uint64_t limit, const char *name, const unsigned char *pass,
		     size_t pass_len);
void luks_volume_close(struct luks_volume *vol);
/* Options as qemu's luks create takes them (prefix "" or "encrypt."). */
int luks_spec_from_opts(struct opts *o, const char *prefix, const char *name,
			struct luks_spec *spec, uint64_t *iter_ms);
/* A new volume at base: header, slot 0 for pass, payload at the returned offset
 * (bytes from base).  Leaves vol open with its cipher ready. */
int luks_volume_create(struct luks_volume *vol, struct backend *be, uint64_t base,
		       const char *name, const struct luks_spec *spec, uint64_t iter_ms,
		       const unsigned char *pass, size_t pass_len);
int luks_header_write(struct luks_volume *vol);
/* Bytes a new volume takes before the payload for this spec. */
int luks_payload_offset_for(const struct luks_spec *spec, const char *name, uint64_t *out);
/* The bytes before the payload of a volume created with these options. */
int luks_measure_header(struct opts *o, const char *prefix, uint64_t *out);
/* amend's key slot changes (prefix "" or "encrypt."); pass unlocks it. */
int luks_volume_amend(struct luks_volume *vol, struct opts *o, const char *prefix);

/* luks_unaligned.c: sector-encrypted data at any offset and length */
typedef int (*luks_read_fn)(void *opaque, void *buf, uint64_t off, size_t len);
typedef int (*luks_write_fn)(void *opaque, const void *buf, uint64_t off, size_t len);
bool luks_aligned(uint64_t off, size_t len);
int luks_read_unaligned(luks_read_fn rd, void *opaque, const char *name, void *buf,
			uint64_t off, size_t len);
int luks_write_unaligned(luks_read_fn rd, luks_write_fn wr, void *opaque, pthread_mutex_t *lock,
			 const char *name, const void *buf, uint64_t off, size_t len);

/* luks_info.c */
struct json_object *luks_info_json(const struct luks_volume *vol);

#endif
