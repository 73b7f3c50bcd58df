/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sync_digests.c - writing and reading the block-digest stream (sync_digests.h).
 *
 * Both ends buffer (the stream usually runs through a pipe or an SSH channel) and
 * keep a running SHA-256 of the bytes before the trailer.  Zero blocks are
 * merged into runs on the way out, so an empty 1 TiB disk is a few bytes.
 */
#include "convert/sync_digests.h"
#include "common/err.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAGIC        "IMGTDGST"
#define VERSION      1u
#define ALG_SHA256   1u
#define HEADER_LEN   32
#define IO_BUF       (64u * 1024)
#define REC_DATA     'D'
#define REC_ZERO     'Z'
#define REC_END      'E'
#define MAX_ZERO_RUN 0xffffffffu

struct digest_writer {
	int fd;
	const char *name;
	uint64_t nblocks, given;
	uint32_t zero_run;        /* zero blocks not written yet */
	EVP_MD_CTX *md;
	size_t used;
	uint8_t buf[IO_BUF];
};

struct digest_reader {
	int fd;
	const char *name;
	uint32_t block_size;
	uint64_t size, nblocks, taken;
	uint64_t offset;          /* stream bytes consumed, for messages */
	uint32_t zero_run;        /* zero blocks of the current run still to hand out */
	EVP_MD_CTX *md;
	size_t pos, len;
	uint8_t buf[IO_BUF];
};

bool sync_block_size_ok(uint64_t bs)
{
	return bs >= SYNC_MIN_BLOCK && bs <= SYNC_MAX_BLOCK && !(bs & (bs - 1));
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static EVP_MD_CTX *sha256_new(void)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (md && !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(md);
		md = NULL;
	}
	return md;
}

/* ---- writer ---- */

static int w_flush(struct digest_writer *w)
{
	size_t done = 0;

	while (done < w->used) {
		ssize_t n = write(w->fd, w->buf + done, w->used - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_set(n < 0 ? -errno : -EIO, w->name, "cannot write the digest "
				       "stream: %s", n < 0 ? strerror(errno) : "short write");
		done += (size_t)n;
	}
	w->used = 0;
	return 0;
}

/* Append bytes; hashed into the stream digest unless they are the trailer's. */
static int w_put(struct digest_writer *w, const uint8_t *p, size_t n, bool hashed)
{
	if (hashed)
		EVP_DigestUpdate(w->md, p, n);
	if (w->used + n > sizeof(w->buf)) {
		int ret = w_flush(w);

		if (ret)
			return ret;
	}
	memcpy(w->buf + w->used, p, n);
	w->used += n;
	return 0;
}

static int w_zero_run(struct digest_writer *w)
{
	uint8_t rec[5] = { REC_ZERO };

	if (!w->zero_run)
		return 0;
	put_le(rec + 1, w->zero_run, 4);
	w->zero_run = 0;
	return w_put(w, rec, sizeof(rec), true);
}

int digest_writer_open(int fd, const char *name, uint32_t block_size, uint64_t size,
		       struct digest_writer **out)
{
	struct digest_writer *w = calloc(1, sizeof(*w));
	uint8_t h[HEADER_LEN] = { 0 };
	int ret;

	if (!w || !(w->md = sha256_new())) {
		free(w);
		return err_set(-ENOMEM, name, "out of memory for the digest stream");
	}
	w->fd = fd;
	w->name = name;
	w->nblocks = size / block_size + (size % block_size != 0);
	memcpy(h, MAGIC, 8);
	put_le(h + 8, VERSION, 4);
	put_le(h + 12, block_size, 4);
	put_le(h + 16, size, 8);
	put_le(h + 24, ALG_SHA256, 4);
	ret = w_put(w, h, sizeof(h), true);
	if (ret) {
		digest_writer_free(w);
		return ret;
	}
	*out = w;
	return 0;
}

int digest_writer_block(struct digest_writer *w, bool zero, const uint8_t *digest)
{
	uint8_t rec = REC_DATA;
	int ret;

	if (w->given >= w->nblocks)
		return err_set(-EINVAL, w->name, "internal error: more blocks than the disk holds");
	w->given++;
	if (zero) {
		if (++w->zero_run == MAX_ZERO_RUN)
			return w_zero_run(w);
		return 0;
	}
	ret = w_zero_run(w);
	if (!ret)
		ret = w_put(w, &rec, 1, true);
	if (!ret)
		ret = w_put(w, digest, SYNC_DIGEST_LEN, true);
	return ret;
}

int digest_writer_finish(struct digest_writer *w)
{
	uint8_t rec[1 + 8 + SYNC_DIGEST_LEN] = { REC_END };
	int ret;

	if (w->given != w->nblocks)
		return err_set(-EINVAL, w->name, "internal error: %llu of %llu blocks given",
			       (unsigned long long)w->given, (unsigned long long)w->nblocks);
	ret = w_zero_run(w);
	if (ret)
		return ret;
	put_le(rec + 1, w->nblocks, 8);
	EVP_DigestFinal_ex(w->md, rec + 9, NULL);
	ret = w_put(w, rec, sizeof(rec), false);
	return ret ? ret : w_flush(w);
}

void digest_writer_free(struct digest_writer *w)
{
	if (!w)
		return;
	EVP_MD_CTX_free(w->md);
	free(w);
}

/* ---- reader ---- */

/* Exactly n bytes (or a "truncated" error naming what was expected). */
static int r_get(struct digest_reader *r, uint8_t *p, size_t n, bool hashed, const char *what)
{
	size_t got = 0;

	while (got < n) {
		size_t k;

		if (r->pos == r->len) {
			ssize_t m = read(r->fd, r->buf, sizeof(r->buf));

			if (m < 0 && errno == EINTR)
				continue;
			if (m < 0)
				return err_set(-errno, r->name, "cannot read the digest stream: %s",
					       strerror(errno));
			if (m == 0)
				return err_set(-EINVAL, r->name, "digest stream truncated at byte %llu "
					       "(%s expected)",
					       (unsigned long long)(r->offset + got), what);
			r->pos = 0;
			r->len = (size_t)m;
		}
		k = r->len - r->pos < n - got ? r->len - r->pos : n - got;
		memcpy(p + got, r->buf + r->pos, k);
		r->pos += k;
		got += k;
	}
	if (hashed)
		EVP_DigestUpdate(r->md, p, n);
	r->offset += n;
	return 0;
}

static int r_check_header(struct digest_reader *r, const uint8_t *h)
{
	if (memcmp(h, MAGIC, 8))
		return err_set(-EINVAL, r->name, "not an imgtool digest stream (no IMGTDGST "
			       "header; made by imgtool sync --print-digests?)");
	if (get_le(h + 8, 4) != VERSION)
		return err_set(-ENOTSUP, r->name, "digest stream version %llu; this imgtool reads "
			       "version %u", (unsigned long long)get_le(h + 8, 4), VERSION);
	if (get_le(h + 24, 4) != ALG_SHA256 || get_le(h + 28, 4))
		return err_set(-ENOTSUP, r->name, "digest stream algorithm %llu is not SHA-256",
			       (unsigned long long)get_le(h + 24, 4));
	r->block_size = (uint32_t)get_le(h + 12, 4);
	if (!sync_block_size_ok(r->block_size))
		return err_set(-EINVAL, r->name, "digest stream block size %u is not a power of "
			       "two from %u to %u", r->block_size, SYNC_MIN_BLOCK, SYNC_MAX_BLOCK);
	r->size = get_le(h + 16, 8);
	r->nblocks = r->size / r->block_size + (r->size % r->block_size != 0);
	return 0;
}

int digest_reader_open(int fd, const char *name, struct digest_reader **out)
{
	struct digest_reader *r = calloc(1, sizeof(*r));
	uint8_t h[HEADER_LEN];
	int ret;

	if (!r || !(r->md = sha256_new())) {
		free(r);
		return err_set(-ENOMEM, name, "out of memory for the digest stream");
	}
	r->fd = fd;
	r->name = name;
	ret = r_get(r, h, sizeof(h), true, "a 32-byte header");
	if (!ret)
		ret = r_check_header(r, h);
	if (ret) {
		digest_reader_free(r);
		return ret;
	}
	*out = r;
	return 0;
}

uint32_t digest_reader_block_size(const struct digest_reader *r)
{
	return r->block_size;
}

uint64_t digest_reader_size(const struct digest_reader *r)
{
	return r->size;
}

const char *digest_reader_name(const struct digest_reader *r)
{
	return r->name;
}

int digest_reader_next(struct digest_reader *r, bool *zero, uint8_t *digest)
{
	uint8_t tag, n[4];
	int ret;

	if (r->taken >= r->nblocks)
		return err_set(-EINVAL, r->name, "internal error: reading past the last block");
	r->taken++;
	if (r->zero_run) {
		r->zero_run--;
		*zero = true;
		return 0;
	}
	ret = r_get(r, &tag, 1, true, "a block record");
	if (ret)
		return ret;
	if (tag == REC_DATA) {
		*zero = false;
		return r_get(r, digest, SYNC_DIGEST_LEN, true, "a 32-byte digest");
	}
	if (tag != REC_ZERO)
		return err_set(-EINVAL, r->name, "digest stream garbled at byte %llu: record "
			       "type 0x%02x where block %llu was expected",
			       (unsigned long long)r->offset - 1, tag,
			       (unsigned long long)r->taken - 1);
	ret = r_get(r, n, 4, true, "a zero-run length");
	if (ret)
		return ret;
	r->zero_run = (uint32_t)get_le(n, 4);
	if (!r->zero_run || r->zero_run > r->nblocks - r->taken + 1)
		return err_set(-EINVAL, r->name, "digest stream garbled at byte %llu: a run of %u "
			       "zero blocks at block %llu of %llu", (unsigned long long)r->offset - 4,
			       r->zero_run, (unsigned long long)r->taken - 1,
			       (unsigned long long)r->nblocks);
	r->zero_run--;
	*zero = true;
	return 0;
}

int digest_reader_finish(struct digest_reader *r)
{
	uint8_t rec[1 + 8 + SYNC_DIGEST_LEN], want[SYNC_DIGEST_LEN], extra;
	ssize_t m;
	int ret;

	if (r->taken != r->nblocks || r->zero_run)
		return err_set(-EINVAL, r->name, "internal error: the stream was not read to "
			       "its end");
	ret = r_get(r, rec, sizeof(rec), false, "the 41-byte trailer");
	if (ret)
		return ret;
	if (rec[0] != REC_END || get_le(rec + 1, 8) != r->nblocks)
		return err_set(-EINVAL, r->name, "digest stream garbled: no valid trailer after "
			       "block %llu", (unsigned long long)r->nblocks);
	EVP_DigestFinal_ex(r->md, want, NULL);
	if (memcmp(want, rec + 9, SYNC_DIGEST_LEN))
		return err_set(-EINVAL, r->name, "digest stream garbled: its SHA-256 does not "
			       "match its trailer");
	if (r->pos < r->len)
		return err_set(-EINVAL, r->name, "digest stream has data after its trailer");
	do
		m = read(r->fd, &extra, 1);
	while (m < 0 && errno == EINTR);
	if (m != 0)
		return err_set(-EINVAL, r->name, "digest stream has data after its trailer");
	return 0;
}

void digest_reader_free(struct digest_reader *r)
{
	if (!r)
		return;
	EVP_MD_CTX_free(r->md);
	free(r);
}
