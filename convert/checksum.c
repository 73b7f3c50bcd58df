/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * checksum.c - the parallel content digest (see checksum.h for the algorithm).
 *
 * Workers take whole 64 MiB segments.  A segment that block status reports as
 * zeros end to end is settled by the dispatcher without I/O; any other segment is
 * hashed by one worker, which reads only the ranges that are not known to be
 * zeros, in chunks of at most COPY_BUF_SIZE.  Segment hashes must enter the final
 * hash in order, so they wait in a small ring (WINDOW slots) and the thread that
 * completes the lowest pending one folds every ready successor.  A worker never
 * runs more than WINDOW segments ahead of the fold: memory stays bounded whatever
 * the image size.
 */
#include "convert/checksum.h"
#include "convert/copy.h"
#include "common/err.h"
#include "common/util.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEG_SIZE ((uint64_t)CHECKSUM_BLOCK_SIZE * CHECKSUM_SEG_BLOCKS)
#define WINDOW   64

struct slot {
	bool ready;
	uint8_t digest[SHA256_DIGEST_LENGTH];
};

struct sum_state {
	const struct checksum_params *p;
	uint64_t size;
	uint64_t nb_seg;
	uint8_t zero_block[SHA256_DIGEST_LENGTH];  /* SHA-256 of 64 KiB of zeros */
	uint8_t zero_seg[SHA256_DIGEST_LENGTH];    /* a full segment of zero blocks */
	pthread_mutex_t lock;     /* guards everything below */
	pthread_cond_t cond;      /* a slot was folded, or an error */
	uint64_t next_seg;        /* next segment to hand out */
	uint64_t fold_next;       /* next segment to enter the final hash */
	uint64_t st_end;          /* the dispatcher's cached status run */
	bool st_zero;
	struct slot ring[WINDOW];
	EVP_MD_CTX *final;
	int error;
	char errmsg[ERR_MSG_MAX];
};

static uint64_t seg_end(const struct sum_state *s, uint64_t seg)
{
	return MIN(s->size, (seg + 1) * SEG_SIZE);
}

/* The hash of a block of n zeros (n <= CHECKSUM_BLOCK_SIZE). */
static void zero_block_digest(const struct sum_state *s, uint64_t n, uint8_t *out)
{
	static const uint8_t zeros[CHECKSUM_BLOCK_SIZE];

	if (n == CHECKSUM_BLOCK_SIZE)
		memcpy(out, s->zero_block, SHA256_DIGEST_LENGTH);
	else
		SHA256(zeros, (size_t)n, out);
}

/* Feed the hashes of the zero blocks in [start, end) to c (start block-aligned;
 * only the image's last block may be short). */
static void hash_zero_blocks(const struct sum_state *s, EVP_MD_CTX *c, uint64_t start,
			     uint64_t end)
{
	uint8_t h[SHA256_DIGEST_LENGTH];

	for (uint64_t pos = start; pos < end; pos += CHECKSUM_BLOCK_SIZE) {
		zero_block_digest(s, MIN((uint64_t)CHECKSUM_BLOCK_SIZE, end - pos), h);
		EVP_DigestUpdate(c, h, sizeof(h));
	}
}

/* The hash of a segment of zeros from start to end (the last segment may be
 * short). */
static int zero_seg_digest(const struct sum_state *s, uint64_t start, uint64_t end,
			   uint8_t *out)
{
	EVP_MD_CTX *c;

	if (end - start == SEG_SIZE) {
		memcpy(out, s->zero_seg, SHA256_DIGEST_LENGTH);
		return 0;
	}
	c = EVP_MD_CTX_new();
	if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(c);
		return err_set(-ENOMEM, s->p->img->filename, "out of memory for SHA-256");
	}
	hash_zero_blocks(s, c, start, end);
	EVP_DigestFinal_ex(c, out, NULL);
	EVP_MD_CTX_free(c);
	return 0;
}

/* Store seg's hash and fold every consecutive ready one (lock held). */
static void settle_locked(struct sum_state *s, uint64_t seg, const uint8_t *digest)
{
	struct slot *sl = &s->ring[seg % WINDOW];

	memcpy(sl->digest, digest, SHA256_DIGEST_LENGTH);
	sl->ready = true;
	while (s->fold_next < s->nb_seg && s->ring[s->fold_next % WINDOW].ready) {
		sl = &s->ring[s->fold_next % WINDOW];
		EVP_DigestUpdate(s->final, sl->digest, SHA256_DIGEST_LENGTH);
		sl->ready = false;
		s->fold_next++;
	}
	pthread_cond_broadcast(&s->cond);
}

static void fail_locked(struct sum_state *s, int ret)
{
	if (!s->error) {
		s->error = ret;
		snprintf(s->errmsg, sizeof(s->errmsg), "%s", err_get());
	}
	pthread_cond_broadcast(&s->cond);
}

/* Is [start, end) zeros by block status?  Uses the dispatcher's cached run. */
static int seg_is_zero_locked(struct sum_state *s, uint64_t start, uint64_t end, bool *zero)
{
	struct block_status bs;
	int ret;

	if (start >= s->st_end) {
		ret = image_block_status_above(s->p->img, start, s->size - start, &bs);
		if (ret < 0)
			return err_set_default(ret, s->p->img->filename, "block status failed");
		s->st_end = start + bs.length;
		s->st_zero = (bs.flags & BS_ZERO) != 0;
	}
	*zero = s->st_zero && s->st_end >= end;
	return 0;
}

/* The next segment a worker must hash, or UINT64_MAX when there is none left. */
static uint64_t next_segment(struct sum_state *s)
{
	uint64_t seg = UINT64_MAX;

	pthread_mutex_lock(&s->lock);
	while (!s->error && s->next_seg < s->nb_seg) {
		uint64_t start = s->next_seg * SEG_SIZE, end = seg_end(s, s->next_seg);
		uint8_t d[SHA256_DIGEST_LENGTH];
		bool zero = false;
		int ret;

		if (s->next_seg >= s->fold_next + WINDOW) {
			pthread_cond_wait(&s->cond, &s->lock);
			continue;
		}
		ret = seg_is_zero_locked(s, start, end, &zero);
		if (ret < 0) {
			fail_locked(s, ret);
			break;
		}
		if (!zero) {
			seg = s->next_seg++;
			break;
		}
		ret = zero_seg_digest(s, start, end, d);
		if (ret < 0) {
			fail_locked(s, ret);
			break;
		}
		progress_add(s->p->progress, end - start);
		settle_locked(s, s->next_seg++, d);
	}
	pthread_mutex_unlock(&s->lock);
	return seg;
}

/* Feed the hashes of the blocks in buf (len bytes, block-aligned start) to seg. */
static void hash_blocks(const struct sum_state *s, EVP_MD_CTX *seg, const uint8_t *buf,
			uint64_t len)
{
	for (uint64_t pos = 0; pos < len; pos += CHECKSUM_BLOCK_SIZE) {
		uint64_t n = MIN((uint64_t)CHECKSUM_BLOCK_SIZE, len - pos);
		uint8_t h[SHA256_DIGEST_LENGTH];

		if (n == CHECKSUM_BLOCK_SIZE && buffer_is_zero(buf + pos, (size_t)n))
			memcpy(h, s->zero_block, sizeof(h));
		else
			SHA256(buf + pos, (size_t)n, h);
		EVP_DigestUpdate(seg, h, sizeof(h));
	}
}

/* Hash one segment with c, reading only what block status does not report as
 * zeros.  Every chunk starts on a block boundary. */
static int hash_segment(struct sum_state *s, uint64_t seg, EVP_MD_CTX *c, uint8_t *buf,
			uint8_t *out)
{
	struct image *img = s->p->img;
	uint64_t pos = seg * SEG_SIZE, end = seg_end(s, seg), st_end = pos;
	bool st_zero = false;
	int ret;

	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	while (pos < end) {
		uint64_t chunk_end, zero_end;
		struct block_status bs;

		if (pos >= st_end) {
			ret = image_block_status_above(img, pos, end - pos, &bs);
			if (ret < 0)
				return err_set_default(ret, img->filename, "block status failed");
			st_end = pos + bs.length;
			st_zero = (bs.flags & BS_ZERO) != 0;
		}
		/* the whole blocks inside a zero run are never read */
		zero_end = st_end >= end ? end : pos + align_down(st_end - pos, CHECKSUM_BLOCK_SIZE);
		if (st_zero && zero_end > pos) {
			hash_zero_blocks(s, c, pos, zero_end);
			progress_add(s->p->progress, zero_end - pos);
			pos = zero_end;
			continue;
		}
		/* data (or a zero run too short to cover a block): read up to the
		 * block boundary after the run */
		chunk_end = MIN(end, pos + COPY_BUF_SIZE);
		if (!st_zero)
			chunk_end = MIN(chunk_end, MAX(align_up(st_end, CHECKSUM_BLOCK_SIZE),
						       pos + CHECKSUM_BLOCK_SIZE));
		chunk_end = MIN(chunk_end, end);
		ret = image_read(img, buf, pos, (size_t)(chunk_end - pos));
		if (ret < 0)
			return err_set_default(ret, img->filename, "read failed at 0x%llx",
					       (unsigned long long)pos);
		hash_blocks(s, c, buf, chunk_end - pos);
		progress_add(s->p->progress, chunk_end - pos);
		pos = chunk_end;
	}
	EVP_DigestFinal_ex(c, out, NULL);
	return 0;
}

static void *sum_worker(void *opaque)
{
	struct sum_state *s = opaque;
	uint8_t *buf = backend_buf_alloc(COPY_BUF_SIZE);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint8_t d[SHA256_DIGEST_LENGTH];
	uint64_t seg;
	int ret = 0;

	if (!buf || !c)
		ret = err_set(-ENOMEM, NULL, "out of memory for checksum buffers");
	while (!ret && (seg = next_segment(s)) != UINT64_MAX) {
		ret = hash_segment(s, seg, c, buf, d);
		if (!ret) {
			pthread_mutex_lock(&s->lock);
			settle_locked(s, seg, d);
			pthread_mutex_unlock(&s->lock);
		}
	}
	if (ret) {
		pthread_mutex_lock(&s->lock);
		fail_locked(s, ret);
		pthread_mutex_unlock(&s->lock);
	}
	EVP_MD_CTX_free(c);
	free(buf);
	return NULL;
}

static int init_zero_digests(struct sum_state *s)
{
	static const uint8_t zeros[CHECKSUM_BLOCK_SIZE];
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(c);
		return err_set(-ENOMEM, s->p->img->filename, "cannot set up SHA-256 (libcrypto)");
	}
	SHA256(zeros, sizeof(zeros), s->zero_block);
	for (unsigned i = 0; i < CHECKSUM_SEG_BLOCKS; i++)
		EVP_DigestUpdate(c, s->zero_block, sizeof(s->zero_block));
	EVP_DigestFinal_ex(c, s->zero_seg, NULL);
	EVP_MD_CTX_free(c);
	return 0;
}

void checksum_to_hex(const uint8_t *d, char *hex)
{
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
		sprintf(hex + 2 * i, "%02x", d[i]);
}

int checksum_run(const struct checksum_params *p, char *hex)
{
	struct sum_state s = { .p = p, .size = p->img->size };
	uint8_t size_le[8], d[SHA256_DIGEST_LENGTH];

	s.nb_seg = div_round_up(s.size, SEG_SIZE);
	s.final = EVP_MD_CTX_new();
	if (!s.final || !EVP_DigestInit_ex(s.final, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(s.final);
		return err_set(-ENOMEM, p->img->filename, "cannot set up SHA-256 (libcrypto)");
	}
	if (init_zero_digests(&s) < 0) {
		EVP_MD_CTX_free(s.final);
		return -ENOMEM;
	}
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.cond, NULL);
	copy_run_workers(p->workers, s.size, sum_worker, &s);
	pthread_cond_destroy(&s.cond);
	pthread_mutex_destroy(&s.lock);
	if (s.error) {
		EVP_MD_CTX_free(s.final);
		err_copy(s.errmsg);
		return s.error;
	}
	for (int i = 0; i < 8; i++)
		size_le[i] = (uint8_t)(s.size >> (8 * i));
	EVP_DigestUpdate(s.final, size_le, sizeof(size_le));
	EVP_DigestFinal_ex(s.final, d, NULL);
	EVP_MD_CTX_free(s.final);
	checksum_to_hex(d, hex);
	return 0;
}
