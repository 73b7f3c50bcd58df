/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * checksum_feed.c - the content digest from ranges handed in out of order (see
 * checksum_feed.h; the algorithm is checksum.h's).
 *
 * A block covered whole by one range is hashed at once, outside the lock, by the
 * thread that hands it in; a block that ranges cover in pieces (a data run that
 * does not start or end on a 64 KiB boundary) is assembled in a buffer of its own
 * first.  A segment record holds its block hashes until every byte of it is
 * accounted for; then its hash is kept and the records are folded into the final
 * hash in segment order.  A whole segment of zeros costs no record at all when it
 * can be folded at once.
 */
#include "convert/checksum_feed.h"
#include "convert/checksum.h"
#include "common/err.h"
#include "common/util.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK    ((uint64_t)CHECKSUM_BLOCK_SIZE)
#define SEG_SIZE (BLOCK * CHECKSUM_SEG_BLOCKS)
#define HASH_LEN SHA256_DIGEST_LENGTH

struct seg_rec {
	struct seg_rec *next;
	uint64_t idx;
	uint64_t done;                 /* bytes of the segment accounted for */
	bool complete;
	uint8_t digest[HASH_LEN];
	uint8_t (*hash)[HASH_LEN];     /* the block hashes until complete */
};

struct part_rec {
	struct part_rec *next;
	uint64_t block;
	uint64_t filled;
	uint8_t *buf;
};

struct checksum_feed {
	const char *name;
	uint64_t size, nb_seg;
	uint8_t zero_block[HASH_LEN], zero_seg[HASH_LEN];
	pthread_mutex_t lock;          /* guards everything below */
	struct seg_rec *segs;
	struct part_rec *parts;
	uint64_t fold_next;
	EVP_MD_CTX *final;
	int error;
};

static uint64_t seg_len(const struct checksum_feed *f, uint64_t seg)
{
	return MIN(SEG_SIZE, f->size - seg * SEG_SIZE);
}

static void block_hash(const struct checksum_feed *f, const uint8_t *buf, uint64_t n,
		       uint8_t *out)
{
	static const uint8_t zeros[CHECKSUM_BLOCK_SIZE];

	if (n == BLOCK && (!buf || buffer_is_zero(buf, (size_t)n)))
		memcpy(out, f->zero_block, HASH_LEN);
	else
		SHA256(buf ? buf : zeros, (size_t)n, out);
}

static struct seg_rec *seg_find_locked(struct checksum_feed *f, uint64_t idx, bool make)
{
	struct seg_rec *r;

	for (r = f->segs; r; r = r->next)
		if (r->idx == idx)
			return r;
	if (!make)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (r)
		r->hash = calloc(CHECKSUM_SEG_BLOCKS, HASH_LEN);
	if (!r || !r->hash) {
		free(r);
		f->error = err_set(-ENOMEM, f->name, "out of memory for the copy's digest");
		return NULL;
	}
	r->idx = idx;
	r->next = f->segs;
	f->segs = r;
	return r;
}

static void seg_unlink_locked(struct checksum_feed *f, struct seg_rec *r)
{
	for (struct seg_rec **pp = &f->segs; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	free(r->hash);
	free(r);
}

static void fold_locked(struct checksum_feed *f)
{
	struct seg_rec *r;

	while ((r = seg_find_locked(f, f->fold_next, false)) && r->complete) {
		EVP_DigestUpdate(f->final, r->digest, HASH_LEN);
		seg_unlink_locked(f, r);
		f->fold_next++;
	}
}

static void store_block_locked(struct checksum_feed *f, uint64_t block, const uint8_t *h,
			       uint64_t n)
{
	uint64_t idx = block / CHECKSUM_SEG_BLOCKS;
	struct seg_rec *r = seg_find_locked(f, idx, true);

	if (!r)
		return;
	memcpy(r->hash[block % CHECKSUM_SEG_BLOCKS], h, HASH_LEN);
	r->done += n;
	if (r->done < seg_len(f, idx))
		return;
	SHA256(&r->hash[0][0], (size_t)div_round_up(seg_len(f, idx), BLOCK) * HASH_LEN, r->digest);
	free(r->hash);
	r->hash = NULL;
	r->complete = true;
	fold_locked(f);
}

/* A whole segment of zeros (no block of it handed in before). */
static void store_zero_seg_locked(struct checksum_feed *f, uint64_t idx)
{
	struct seg_rec *r;

	if (idx == f->fold_next) {
		EVP_DigestUpdate(f->final, f->zero_seg, HASH_LEN);
		f->fold_next++;
		fold_locked(f);
		return;
	}
	r = seg_find_locked(f, idx, true);
	if (!r)
		return;
	memcpy(r->digest, f->zero_seg, HASH_LEN);
	free(r->hash);
	r->hash = NULL;
	r->done = SEG_SIZE;
	r->complete = true;
}

/* Part [lo, hi) of a block handed in: assembled until the block is whole, then
 * hashed and stored (lock held on entry and exit). */
static void add_piece_locked(struct checksum_feed *f, uint64_t block, uint64_t n,
			     uint64_t lo, const uint8_t *buf, uint64_t len)
{
	struct part_rec *p, **pp;
	uint8_t h[HASH_LEN];

	for (pp = &f->parts; *pp && (*pp)->block != block; pp = &(*pp)->next)
		;
	p = *pp;
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (p)
			p->buf = calloc(1, BLOCK);
		if (!p || !p->buf) {
			free(p);
			f->error = err_set(-ENOMEM, f->name, "out of memory for the copy's digest");
			return;
		}
		p->block = block;
		p->next = f->parts;
		f->parts = p;
		pp = &f->parts;
	}
	if (buf)
		memcpy(p->buf + lo, buf, (size_t)len);
	p->filled += len;
	if (p->filled < n)
		return;
	*pp = p->next;
	pthread_mutex_unlock(&f->lock);
	block_hash(f, p->buf, n, h);
	pthread_mutex_lock(&f->lock);
	store_block_locked(f, block, h, n);
	free(p->buf);
	free(p);
}

int checksum_feed_add(struct checksum_feed *f, uint64_t off, const uint8_t *buf, uint64_t len)
{
	uint64_t end = off + len;
	int ret;

	if (end < off || end > f->size)
		return err_set(-EINVAL, f->name, "internal error: digest range past the end");
	while (off < end) {
		uint64_t block = off / BLOCK, bstart = block * BLOCK;
		uint64_t n = MIN(BLOCK, f->size - bstart), hi = MIN(end, bstart + n);
		uint8_t h[HASH_LEN];

		if (!buf && off % SEG_SIZE == 0 && end - off >= SEG_SIZE) {
			pthread_mutex_lock(&f->lock);
			store_zero_seg_locked(f, off / SEG_SIZE);
			pthread_mutex_unlock(&f->lock);
			off += SEG_SIZE;
			continue;
		}
		if (off == bstart && hi == bstart + n) {
			block_hash(f, buf, n, h);
			pthread_mutex_lock(&f->lock);
			store_block_locked(f, block, h, n);
		} else {
			pthread_mutex_lock(&f->lock);
			add_piece_locked(f, block, n, off - bstart, buf, hi - off);
		}
		ret = f->error;
		pthread_mutex_unlock(&f->lock);
		if (ret)
			return ret;
		if (buf)
			buf += hi - off;
		off = hi;
	}
	return 0;
}

struct checksum_feed *checksum_feed_new(uint64_t size, const char *name)
{
	static const uint8_t zeros[CHECKSUM_BLOCK_SIZE];
	struct checksum_feed *f = calloc(1, sizeof(*f));
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (f) {
		pthread_mutex_init(&f->lock, NULL);
		f->final = EVP_MD_CTX_new();
	}
	if (!f || !c || !f->final || !EVP_DigestInit_ex(f->final, EVP_sha256(), NULL) ||
	    !EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(c);
		checksum_feed_free(f);
		err_set(-ENOMEM, name, "cannot set up SHA-256 (libcrypto)");
		return NULL;
	}
	f->name = name;
	f->size = size;
	f->nb_seg = div_round_up(size, SEG_SIZE);
	SHA256(zeros, sizeof(zeros), f->zero_block);
	for (unsigned i = 0; i < CHECKSUM_SEG_BLOCKS; i++)
		EVP_DigestUpdate(c, f->zero_block, HASH_LEN);
	EVP_DigestFinal_ex(c, f->zero_seg, NULL);
	EVP_MD_CTX_free(c);
	return f;
}

int checksum_feed_finish(struct checksum_feed *f, char *hex)
{
	uint8_t size_le[8], d[HASH_LEN];

	if (f->error)
		return f->error;
	if (f->fold_next != f->nb_seg)
		return err_set(-EINVAL, f->name, "internal error: the digest misses bytes "
			       "from offset %#llx", (unsigned long long)(f->fold_next * SEG_SIZE));
	for (int i = 0; i < 8; i++)
		size_le[i] = (uint8_t)(f->size >> (8 * i));
	EVP_DigestUpdate(f->final, size_le, sizeof(size_le));
	EVP_DigestFinal_ex(f->final, d, NULL);
	checksum_to_hex(d, hex);
	return 0;
}

void checksum_feed_free(struct checksum_feed *f)
{
	if (!f)
		return;
	while (f->segs)
		seg_unlink_locked(f, f->segs);
	while (f->parts) {
		struct part_rec *p = f->parts;

		f->parts = p->next;
		free(p->buf);
		free(p);
	}
	EVP_MD_CTX_free(f->final);
	pthread_mutex_destroy(&f->lock);
	free(f);
}
