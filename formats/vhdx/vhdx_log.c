/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhdx_log.c - the VHDX metadata log: finding the active sequence and replaying it.
 *
 * A VHDX writer records metadata updates in a circular log before making them in
 * place; after a crash the header's LogGuid is non-zero and the log holds entries
 * that must be applied before the file is consistent.  Each entry ("loge", a
 * multiple of 4 KiB, CRC-32C over the whole entry) carries zero descriptors and
 * data descriptors, each data descriptor with one 4 KiB data sector whose first 8
 * and last 4 bytes live in the descriptor.  The active sequence is the run of
 * entries with consecutive sequence numbers, each following the previous in the
 * log, whose head names (Tail) an entry of the run as the oldest; the one with the
 * highest head sequence number wins.
 *
 * The replay goes into memory (an overlay applied to every read of the file) so
 * a read-only open never writes to the source; a read-write open writes it into
 * the file and clears the LogGuid.  Everything here is bounded by the log size.
 */
#include "vhdx.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOG_ENTRY_HDR   64u
#define LOG_DESC_SIZE   32u

struct log_entry {
	bool valid;
	uint32_t len;
	uint32_t tail;
	uint64_t seq;
	uint32_t ndesc;
	uint64_t flushed;
};

struct log_scan {
	const char *filename;
	const struct vhdx_header *hdr;
	uint8_t *buf;            /* the log twice, so that a wrapping entry is linear */
	uint32_t len;            /* log length */
	uint32_t nsec;           /* 4 KiB sectors in the log */
	struct log_entry *e;     /* per sector */
};

/* Is there a well-formed entry at sector i?  Descriptors and data sectors must
 * carry the entry's sequence number, or the entry was torn. */
static bool parse_entry(struct log_scan *ls, uint32_t i, bool *crc_bad)
{
	const uint8_t *p = ls->buf + (size_t)i * VHDX_LOG_SECTOR;
	struct log_entry *e = &ls->e[i];
	uint64_t dsize, ndata = 0;

	if (memcmp(p, VHDX_LOG_ENTRY_SIG, 4) || memcmp(p + 32, ls->hdr->log_guid.b, 16))
		return false;
	e->len = load_le32(p + 8);
	e->tail = load_le32(p + 12);
	e->seq = load_le64(p + 16);
	e->ndesc = load_le32(p + 24);
	e->flushed = load_le64(p + 48);
	if (e->len < VHDX_LOG_SECTOR || e->len % VHDX_LOG_SECTOR || e->len > ls->len ||
	    e->tail % VHDX_LOG_SECTOR || e->tail >= ls->len || e->seq == 0)
		return false;
	if (load_le32(p + 4) != vhdx_checksum(p, e->len, 4)) {
		*crc_bad = true;
		return false;
	}
	dsize = align_up(LOG_ENTRY_HDR + (uint64_t)e->ndesc * LOG_DESC_SIZE, VHDX_LOG_SECTOR);
	if (dsize > e->len)
		return false;
	for (uint32_t d = 0; d < e->ndesc; d++) {
		const uint8_t *dp = p + LOG_ENTRY_HDR + (size_t)d * LOG_DESC_SIZE;

		if (load_le64(dp + 24) != e->seq)
			return false;
		if (!memcmp(dp, VHDX_LOG_DESC_SIG, 4)) {
			const uint8_t *sp = p + dsize + ndata * VHDX_LOG_SECTOR;

			if (dsize + (ndata + 1) * VHDX_LOG_SECTOR > e->len)
				return false;
			if (memcmp(sp, VHDX_LOG_DATA_SIG, 4) ||
			    load_le32(sp + 4) != (uint32_t)(e->seq >> 32) ||
			    load_le32(sp + 4092) != (uint32_t)e->seq)
				return false;
			ndata++;
		} else if (memcmp(dp, VHDX_LOG_ZERO_SIG, 4)) {
			return false;
		}
	}
	e->valid = true;
	return true;
}

static int overlay_add(struct vhdx_overlay *o, uint64_t off, uint64_t len,
		       const uint8_t *page)
{
	struct vhdx_log_op *op;

	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 64;
		struct vhdx_log_op *n = realloc(o->ops, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		o->ops = n;
		o->cap = cap;
	}
	op = &o->ops[o->n];
	op->off = off;
	op->len = len;
	op->data = NULL;
	if (page) {
		op->data = malloc(VHDX_LOG_SECTOR);
		if (!op->data)
			return -ENOMEM;
		memcpy(op->data, page, VHDX_LOG_SECTOR);
	}
	if (o->n == 0 || off < o->lo)
		o->lo = off;
	if (o->n == 0 || off + len > o->hi)
		o->hi = off + len;
	o->n++;
	return 0;
}

/* Descriptors of one entry into the overlay. */
static int replay_entry(struct log_scan *ls, uint32_t i, struct vhdx_overlay *o)
{
	const uint8_t *p = ls->buf + (size_t)i * VHDX_LOG_SECTOR;
	const struct log_entry *e = &ls->e[i];
	uint64_t dsize = align_up(LOG_ENTRY_HDR + (uint64_t)e->ndesc * LOG_DESC_SIZE,
				  VHDX_LOG_SECTOR);
	uint8_t page[VHDX_LOG_SECTOR];
	uint64_t ndata = 0;

	for (uint32_t d = 0; d < e->ndesc; d++) {
		const uint8_t *dp = p + LOG_ENTRY_HDR + (size_t)d * LOG_DESC_SIZE;
		bool data = !memcmp(dp, VHDX_LOG_DESC_SIG, 4);
		uint64_t off = load_le64(dp + 16);
		uint64_t len = data ? VHDX_LOG_SECTOR : load_le64(dp + 8);
		int ret;

		if (off % VHDX_LOG_SECTOR || len % VHDX_LOG_SECTOR || len == 0 ||
		    off < VHDX_MiB || len > VHDX_MAX_SIZE || off > 2 * VHDX_MAX_SIZE)
			return err_set(-EINVAL, ls->filename,
				       "corrupt VHDX log: entry %llu writes %llu bytes at %#llx (must be 4 KiB aligned, past the header area)",
				       (unsigned long long)e->seq, (unsigned long long)len,
				       (unsigned long long)off);
		if (data) {
			const uint8_t *sp = p + dsize + ndata++ * VHDX_LOG_SECTOR;

			memcpy(page, dp + 8, 8);                 /* LeadingBytes */
			memcpy(page + 8, sp + 8, 4084);
			memcpy(page + 4092, dp + 4, 4);          /* TrailingBytes */
		}
		ret = overlay_add(o, off, len, data ? page : NULL);
		if (ret < 0)
			return err_set(ret, ls->filename, "out of memory replaying the log");
	}
	return 0;
}

/* Walk the run starting at sector i; returns its head sector and count. */
static int walk_run(struct log_scan *ls, uint32_t i, uint8_t *seen, uint32_t *head,
		    uint32_t *count)
{
	uint32_t cur = i, n = 1;
	uint64_t total = ls->e[i].len;

	seen[i] = 1;
	for (;;) {
		uint32_t next = (uint32_t)(((uint64_t)cur * VHDX_LOG_SECTOR + ls->e[cur].len) %
					   ls->len / VHDX_LOG_SECTOR);

		if (!ls->e[next].valid || ls->e[next].seq != ls->e[cur].seq + 1)
			break;
		total += ls->e[next].len;
		if (total > ls->len || ++n > ls->nsec)
			return err_set(-EINVAL, ls->filename,
				       "corrupt VHDX log: the entry sequence loops around the log");
		seen[next] = 1;
		cur = next;
	}
	*head = cur;
	*count = n;
	return 0;
}

/* The sector of the oldest entry of the run from start to head, if the head's
 * Tail lies in it. */
static bool tail_in_run(struct log_scan *ls, uint32_t start, uint32_t count, uint32_t head,
			uint32_t *tail_sec)
{
	uint32_t want = ls->e[head].tail / VHDX_LOG_SECTOR, cur = start;

	for (uint32_t k = 0; k < count; k++) {
		if (cur == want) {
			*tail_sec = cur;
			return true;
		}
		cur = (uint32_t)(((uint64_t)cur * VHDX_LOG_SECTOR + ls->e[cur].len) % ls->len /
				 VHDX_LOG_SECTOR);
	}
	return false;
}

static int find_and_replay(struct log_scan *ls, struct vhdx_overlay *o)
{
	uint8_t *seen = calloc(ls->nsec, 1);
	bool crc_bad = false, found = false;
	uint32_t best_tail = 0, best_head = 0;
	int ret = 0;

	if (!seen)
		return err_set(-ENOMEM, ls->filename, "out of memory");
	for (uint32_t i = 0; i < ls->nsec; i++)
		parse_entry(ls, i, &crc_bad);
	for (uint32_t i = 0; i < ls->nsec && ret == 0; i++) {
		uint32_t head = 0, count = 0, tail = 0;

		if (!ls->e[i].valid || seen[i])
			continue;
		ret = walk_run(ls, i, seen, &head, &count);
		if (ret == 0 && tail_in_run(ls, i, count, head, &tail) &&
		    (!found || ls->e[head].seq > ls->e[best_head].seq)) {
			found = true;
			best_head = head;
			best_tail = tail;
		}
	}
	free(seen);
	if (ret < 0)
		return ret;
	if (!found) {
		if (crc_bad)
			return err_set(-EINVAL, ls->filename,
				       "corrupt VHDX log: no complete entry sequence (bad CRC-32C); cannot replay it");
		return 0;   /* nothing that needs replaying */
	}
	for (uint32_t cur = best_tail;;) {
		ret = replay_entry(ls, cur, o);
		if (ret < 0 || cur == best_head)
			break;
		cur = (uint32_t)(((uint64_t)cur * VHDX_LOG_SECTOR + ls->e[cur].len) % ls->len /
				 VHDX_LOG_SECTOR);
	}
	o->flushed_end = ls->e[best_head].flushed;
	return ret;
}

int vhdx_log_load(struct image *img, struct vhdx_state *s)
{
	const struct vhdx_header *h = &s->hdr;
	struct log_scan ls = { .filename = img->filename, .hdr = h };
	uint64_t end;
	int ret;

	if (vhdx_guid_is_zero(&h->log_guid))
		return 0;
	if (h->log_length == 0 || h->log_length % VHDX_MiB || h->log_offset % VHDX_MiB ||
	    h->log_offset < VHDX_MiB || !add_ok(h->log_offset, h->log_length, &end) ||
	    end > s->file_size)
		return err_set(-EINVAL, img->filename,
			       "VHDX log at %#llx (%u bytes) is misaligned or beyond the end of the file",
			       (unsigned long long)h->log_offset, h->log_length);
	if (h->log_length > VHDX_MAX_LOG)
		return err_set(-EFBIG, img->filename,
			       "VHDX log of %u bytes needs replaying; at most %u bytes are supported",
			       h->log_length, VHDX_MAX_LOG);
	ls.len = h->log_length;
	ls.nsec = ls.len / VHDX_LOG_SECTOR;
	ls.buf = malloc(2 * (size_t)ls.len);
	ls.e = calloc(ls.nsec, sizeof(*ls.e));
	if (!ls.buf || !ls.e) {
		ret = err_set(-ENOMEM, img->filename, "out of memory for the log");
		goto out;
	}
	ret = backend_pread(img->be, ls.buf, ls.len, h->log_offset);
	if (ret < 0)
		goto out;
	memcpy(ls.buf + ls.len, ls.buf, ls.len);
	ret = find_and_replay(&ls, &s->log);
	if (ret < 0)
		vhdx_log_free(&s->log);
out:
	free(ls.buf);
	free(ls.e);
	return ret;
}

void vhdx_log_free(struct vhdx_overlay *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->ops[i].data);
	free(o->ops);
	memset(o, 0, sizeof(*o));
}

/* Read-write open: make the replay permanent, then mark the log empty. */
int vhdx_log_apply_to_file(struct image *img, struct vhdx_state *s)
{
	struct vhdx_overlay *o = &s->log;
	int ret = 0;

	for (size_t i = 0; i < o->n && ret == 0; i++) {
		const struct vhdx_log_op *op = &o->ops[i];

		if (op->data)
			ret = backend_pwrite(img->be, op->data, (size_t)op->len, op->off);
		else
			ret = backend_write_zeroes(img->be, op->off, op->len, 0);
	}
	if (ret == 0 && o->flushed_end > s->file_size) {
		ret = backend_truncate(img->be, o->flushed_end);
		if (ret == 0)
			s->file_size = o->flushed_end;
	}
	if (ret == 0)
		ret = backend_flush(img->be);
	if (ret < 0)
		return ret;
	vhdx_log_free(o);
	memset(s->hdr.log_guid.b, 0, 16);
	return vhdx_write_headers(img, s);
}

int vhdx_pread(struct image *img, struct vhdx_state *s, void *buf, size_t len,
	       uint64_t off)
{
	const struct vhdx_overlay *o = &s->log;
	int ret = backend_pread(img->be, buf, len, off);

	if (ret < 0 || o->n == 0 || off >= o->hi || off + len <= o->lo)
		return ret;
	/* in log order: a later entry overrides an earlier one */
	for (size_t i = 0; i < o->n; i++) {
		const struct vhdx_log_op *op = &o->ops[i];
		uint64_t a = MAX(off, op->off), b = MIN(off + len, op->off + op->len);

		if (a >= b)
			continue;
		if (op->data)
			memcpy((uint8_t *)buf + (a - off), op->data + (a - op->off), b - a);
		else
			memset((uint8_t *)buf + (a - off), 0, b - a);
	}
	return 0;
}
