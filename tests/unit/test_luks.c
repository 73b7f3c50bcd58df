/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_luks.c - the LUKS building blocks without qemu: PBKDF2 against RFC 7914's
 * published vector, the anti-forensic splitter's round trip, header encode and
 * decode, the sector cipher's thread contexts, and --object secret parsing.
 */
#include "unit.h"
#include "common/err.h"
#include "common/secret.h"
#include "formats/luks/luks.h"

#include <pthread.h>

/* RFC 7914 section 11: PBKDF2-HMAC-SHA256("passwd", "salt", 1, 64) */
static void test_pbkdf2_vector(void)
{
	static const unsigned char want[64] = {
		0x55, 0xac, 0x04, 0x6e, 0x56, 0xe3, 0x08, 0x9f, 0xec, 0x16, 0x91, 0xc2, 0x25, 0x44,
		0xb6, 0x05, 0xf9, 0x41, 0x85, 0x21, 0x6d, 0xde, 0x04, 0x65, 0xe6, 0x8b, 0x9d, 0x57,
		0xc2, 0x0d, 0xac, 0xbc, 0x49, 0xca, 0x9c, 0xcc, 0xf1, 0x79, 0xb6, 0x45, 0x99, 0x16,
		0x64, 0xb3, 0x9d, 0x77, 0xef, 0x31, 0x7c, 0x71, 0xb8, 0x45, 0xb1, 0xe3, 0x0b, 0xd5,
		0x09, 0x11, 0x20, 0x41, 0xd3, 0xa1, 0x97, 0x83,
	};
	unsigned char out[64];

	CU_ASSERT_EQUAL(luks_pbkdf2("sha256", (const unsigned char *)"passwd", 6,
				    (const uint8_t *)"salt", 4, 1, out, sizeof(out)), 0);
	CU_ASSERT_EQUAL(memcmp(out, want, sizeof(want)), 0);
	/* counts a header may not ask for */
	CU_ASSERT_EQUAL(luks_pbkdf2("sha256", (const unsigned char *)"p", 1,
				    (const uint8_t *)"s", 1, 0, out, 32), -EINVAL);
	CU_ASSERT_EQUAL(luks_pbkdf2("sha256", (const unsigned char *)"p", 1,
				    (const uint8_t *)"s", 1, 0xffffffffu, out, 32), -EINVAL);
}

static void test_af_round_trip(void)
{
	static const char *const hashes[] = { "sha1", "sha256", "sha512" };
	unsigned char key[64], back[64], *split = malloc(64 * LUKS_STRIPES);

	CU_ASSERT_PTR_NOT_NULL_FATAL(split);
	for (int i = 0; i < 64; i++)
		key[i] = (unsigned char)(i * 37 + 1);
	for (int h = 0; h < 3; h++) {
		CU_ASSERT_EQUAL(luks_af_split(hashes[h], key, 64, LUKS_STRIPES, split), 0);
		/* the key is not lying in the material */
		CU_ASSERT_NOT_EQUAL(memcmp(split + 64 * (LUKS_STRIPES - 1), key, 64), 0);
		CU_ASSERT_EQUAL(luks_af_merge(hashes[h], split, 64, LUKS_STRIPES, back), 0);
		CU_ASSERT_EQUAL(memcmp(back, key, 64), 0);
		split[5] ^= 1;   /* one flipped bit anywhere loses the key */
		CU_ASSERT_EQUAL(luks_af_merge(hashes[h], split, 64, LUKS_STRIPES, back), 0);
		CU_ASSERT_NOT_EQUAL(memcmp(back, key, 64), 0);
	}
	free(split);
}

static void test_header_round_trip(void)
{
	struct luks_header h = { 0 }, d;
	struct luks_spec spec;
	uint8_t buf[LUKS_HEADER_LEN];

	h.version = 1;
	strcpy(h.cipher_name, "aes");
	strcpy(h.cipher_mode, "cbc-essiv:sha256");
	strcpy(h.hash_spec, "sha1");
	strcpy(h.uuid, "0b4e28ba-2fa1-41d2-883f-0016d3cca427");
	h.key_bytes = 16;
	h.payload_offset = 4096;
	h.mk_digest_iterations = 1000;
	for (int i = 0; i < LUKS_SLOTS; i++) {
		h.slots[i].active = i ? LUKS_SLOT_INACTIVE : LUKS_SLOT_ACTIVE;
		h.slots[i].iterations = i ? 0 : 1234;
		h.slots[i].key_offset = 8 + (uint32_t)i * 128;
		h.slots[i].stripes = LUKS_STRIPES;
	}
	luks_header_encode(&h, buf);
	CU_ASSERT_TRUE(luks_probe_magic(buf, sizeof(buf)));
	CU_ASSERT_EQUAL(luks_header_decode(buf, 4096 * 512, "t", &d), 0);
	CU_ASSERT_EQUAL(memcmp(&h, &d, sizeof(h)), 0);
	CU_ASSERT_EQUAL(luks_header_spec(&d, "t", &spec), 0);
	CU_ASSERT_STRING_EQUAL(spec.cipher_alg, "aes-128");
	CU_ASSERT_STRING_EQUAL(spec.cipher_mode, "cbc");
	CU_ASSERT_STRING_EQUAL(spec.ivgen_alg, "essiv");
	CU_ASSERT_STRING_EQUAL(spec.ivgen_hash_alg, "sha256");
	/* the payload must lie inside the volume */
	CU_ASSERT_EQUAL(luks_header_decode(buf, 4095 * 512, "t", &d), -EINVAL);
}

struct cipher_job {
	struct luks_cipher *c;
	uint8_t buf[64 * 512];
	int ret;
};

static void *cipher_thread(void *arg)
{
	struct cipher_job *j = arg;

	for (int round = 0; round < 50 && j->ret == 0; round++) {
		j->ret = luks_cipher_run(j->c, true, 1000, j->buf, sizeof(j->buf));
		if (j->ret == 0)
			j->ret = luks_cipher_run(j->c, false, 1000, j->buf, sizeof(j->buf));
	}
	return NULL;
}

/* Four threads on one cipher: each gets its own contexts and its data back. */
static void test_cipher_threads(void)
{
	struct luks_spec spec = { "aes-256", "xts", "plain64", "", "sha256" };
	unsigned char key[64];
	struct luks_cipher c;
	struct cipher_job *jobs = calloc(4, sizeof(*jobs));
	pthread_t t[4];

	CU_ASSERT_PTR_NOT_NULL_FATAL(jobs);
	for (int i = 0; i < 64; i++)
		key[i] = (unsigned char)(i + 1);
	CU_ASSERT_EQUAL_FATAL(luks_cipher_init(&c, &spec, key, 64, "t"), 0);
	for (int i = 0; i < 4; i++) {
		jobs[i].c = &c;
		memset(jobs[i].buf, 'a' + i, sizeof(jobs[i].buf));
		pthread_create(&t[i], NULL, cipher_thread, &jobs[i]);
	}
	for (int i = 0; i < 4; i++) {
		uint8_t want[sizeof(jobs[i].buf)];

		pthread_join(t[i], NULL);
		memset(want, 'a' + i, sizeof(want));
		CU_ASSERT_EQUAL(jobs[i].ret, 0);
		CU_ASSERT_EQUAL(memcmp(jobs[i].buf, want, sizeof(want)), 0);
	}
	/* the IV depends on the sector: the same plaintext differs by sector */
	memset(jobs[0].buf, 0, 1024);
	CU_ASSERT_EQUAL(luks_cipher_run(&c, true, 7, jobs[0].buf, 1024), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(jobs[0].buf, jobs[0].buf + 512, 512), 0);
	luks_cipher_fini(&c);
	free(jobs);
}

static void test_secret_objects(void)
{
	const unsigned char *d;
	size_t len;

	CU_ASSERT_EQUAL(secret_define("secret,id=a,data=hunter2"), 0);
	CU_ASSERT_EQUAL(secret_lookup("a", &d, &len), 0);
	CU_ASSERT_EQUAL(len, 7);
	CU_ASSERT_EQUAL(memcmp(d, "hunter2", 7), 0);
	CU_ASSERT_EQUAL(secret_define("secret,id=b,data=aHVudGVyMg==,format=base64"), 0);
	CU_ASSERT_EQUAL(secret_lookup("b", &d, &len), 0);
	CU_ASSERT_EQUAL(len, 7);
	CU_ASSERT_EQUAL(memcmp(d, "hunter2", 7), 0);
	CU_ASSERT_EQUAL(secret_define("secret,id=c,data=a,,b"), 0);
	CU_ASSERT_EQUAL(secret_lookup("c", &d, &len), 0);
	CU_ASSERT_EQUAL(len, 3);
	CU_ASSERT_EQUAL(secret_define("secret,id=a,data=again"), -EEXIST);
	CU_ASSERT_EQUAL(secret_define("secret,data=x"), -EINVAL);
	CU_ASSERT_EQUAL(secret_define("secret,id=d"), -EINVAL);
	CU_ASSERT_EQUAL(secret_define("memory-backend-ram,id=m"), -EINVAL);
	CU_ASSERT_EQUAL(secret_define("secret,id=e,file=/nonexistent/pw"), -ENOENT);
	/* no message quotes a secret */
	CU_ASSERT_EQUAL(secret_define("secret,id=f,data=topsecret,bogus=1"), -EINVAL);
	CU_ASSERT_PTR_NULL(strstr(err_get(), "topsecret"));
	CU_ASSERT_EQUAL(secret_lookup("nosuch", &d, &len), -ENOENT);
	secret_forget_all();
	CU_ASSERT_EQUAL(secret_lookup("a", &d, &len), -ENOENT);
}

static const struct unit_test luks_tests[] = {
	{ "PBKDF2-HMAC-SHA256: RFC 7914 vector, bounded counts", test_pbkdf2_vector },
	{ "anti-forensic split and merge round trip", test_af_round_trip },
	{ "LUKS1 header encode, decode, cipher names", test_header_round_trip },
	{ "sector cipher: per-thread contexts, IVs by sector", test_cipher_threads },
	{ "--object secret: data, base64, file, errors", test_secret_objects },
};

UNIT_MAIN("luks", luks_tests, NULL)
