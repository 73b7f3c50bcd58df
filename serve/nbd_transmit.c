/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nbd_transmit.c - the transmission phase: read a request, do it on the image,
 * reply; one request at a time per connection (clients get concurrency from
 * several connections, which nbd_server.c serves in parallel).
 *
 * Bounds: a read or write carries at most NBD_MAX_REQUEST bytes.  An oversized
 * read is refused with EINVAL; an oversized write cannot be stepped over cheaply,
 * so the connection is dropped, as it is on a wrong magic number.  Requests
 * outside the disk get EINVAL, writes to a read-only export EPERM.
 */
#include "nbd_internal.h"
#include "nbd_proto.h"
#include "../common/bswap.h"
#include "../common/err.h"
#include "../formats/format.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct nbd_req {
	uint16_t flags, type;
	uint64_t cookie, off;
	uint32_t len;
};

/* The protocol's error numbers are fixed; the host's errno is not. */
static uint32_t nbd_errno(int err)
{
	switch (-err) {
	case EPERM: case EROFS: case EACCES: return NBD_EPERM;
	case ENOMEM: return NBD_ENOMEM;
	case EINVAL: case ERANGE: return NBD_EINVAL;
	case ENOSPC: case EFBIG: case EDQUOT: return NBD_ENOSPC;
	case EOVERFLOW: return NBD_EOVERFLOW;
	case ENOTSUP: return NBD_ENOTSUP;
	case ESHUTDOWN: return NBD_ESHUTDOWN;
	default: return NBD_EIO;
	}
}

static int reply_simple(struct nbd_conn *c, const struct nbd_req *q, uint32_t error,
			const void *data, size_t len)
{
	uint8_t h[NBD_SIMPLE_REPLY_SIZE];

	store_be32(h, NBD_SIMPLE_REPLY_MAGIC);
	store_be32(h + 4, error);
	store_be64(h + 8, q->cookie);
	if (wire_write(c->fd, h, sizeof(h)))
		return -1;
	return len ? wire_write(c->fd, data, len) : 0;
}

static void chunk_header(uint8_t *h, const struct nbd_req *q, uint16_t flags, uint16_t type,
			 uint32_t len)
{
	store_be32(h, NBD_STRUCTURED_REPLY_MAGIC);
	store_be16(h + 4, flags);
	store_be16(h + 6, type);
	store_be64(h + 8, q->cookie);
	store_be32(h + 16, len);
}

/* An error: a structured error chunk once structured replies are on (reads must
 * not get a simple reply then), else a simple reply. */
static int reply_error(struct nbd_conn *c, const struct nbd_req *q, int err)
{
	uint8_t h[NBD_STRUCTURED_HDR_SIZE + 6];

	if (!c->structured)
		return reply_simple(c, q, nbd_errno(err), NULL, 0);
	chunk_header(h, q, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR, 6);
	store_be32(h + NBD_STRUCTURED_HDR_SIZE, nbd_errno(err));
	store_be16(h + NBD_STRUCTURED_HDR_SIZE + 4, 0);   /* no message */
	return wire_write(c->fd, h, sizeof(h));
}

/* Image calls, one at a time when the export says so (nbd_server.c). */
#define LOCKED(exp, call) ({ \
	int _r; \
	if ((exp)->serialize) pthread_mutex_lock(&(exp)->lock); \
	_r = (call); \
	if ((exp)->serialize) pthread_mutex_unlock(&(exp)->lock); \
	_r; })

static int do_read(struct nbd_conn *c, const struct nbd_req *q, void *buf)
{
	uint8_t h[NBD_STRUCTURED_HDR_SIZE + 8];
	int r = LOCKED(c->exp, image_read(c->exp->img, buf, q->off, q->len));

	if (r) {
		nbd_log(c, "read at %#llx: %s", (unsigned long long)q->off, err_get());
		return reply_error(c, q, r);
	}
	if (!c->structured)
		return reply_simple(c, q, 0, buf, q->len);
	/* one data chunk: never fragmented, so NBD_CMD_FLAG_DF holds by itself */
	chunk_header(h, q, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_OFFSET_DATA, 8 + q->len);
	store_be64(h + NBD_STRUCTURED_HDR_SIZE, q->off);
	if (wire_write(c->fd, h, sizeof(h)))
		return -1;
	return wire_write(c->fd, buf, q->len);
}

static int flush_if_fua(struct nbd_conn *c, const struct nbd_req *q, int r)
{
	if (!r && (q->flags & NBD_CMD_FLAG_FUA))
		r = LOCKED(c->exp, image_flush(c->exp->img));
	return r;
}

static int do_write(struct nbd_conn *c, const struct nbd_req *q, const void *buf)
{
	int r = LOCKED(c->exp, image_write(c->exp->img, buf, q->off, q->len));

	r = flush_if_fua(c, q, r);
	if (r)
		nbd_log(c, "write at %#llx: %s", (unsigned long long)q->off, err_get());
	return r ? reply_error(c, q, r) : reply_simple(c, q, 0, NULL, 0);
}

/* WRITE_ZEROES may deallocate unless NO_HOLE; TRIM deallocates where it can (the
 * range then reads as zeros, which the protocol allows). */
static int do_zero(struct nbd_conn *c, const struct nbd_req *q)
{
	int flags = IMG_ZERO_MAY_UNMAP;
	int r;

	if (q->type == NBD_CMD_WRITE_ZEROES && (q->flags & NBD_CMD_FLAG_NO_HOLE))
		flags = 0;
	r = LOCKED(c->exp, image_write_zeroes(c->exp->img, q->off, q->len, flags));
	r = flush_if_fua(c, q, r);
	if (r)
		nbd_log(c, "zeroing at %#llx: %s", (unsigned long long)q->off, err_get());
	return r ? reply_error(c, q, r) : reply_simple(c, q, 0, NULL, 0);
}

static int do_flush(struct nbd_conn *c, const struct nbd_req *q)
{
	int r = LOCKED(c->exp, image_flush(c->exp->img));

	if (r)
		nbd_log(c, "flush: %s", err_get());
	return r ? reply_error(c, q, r) : reply_simple(c, q, 0, NULL, 0);
}

static uint32_t state_of(const struct block_status *bs)
{
	return (bs->flags & BS_DATA ? 0 : NBD_STATE_HOLE) |
	       (bs->flags & BS_ZERO ? NBD_STATE_ZERO : 0);
}

/* base:allocation over the whole backing chain: descriptors (length, state),
 * neighbours with the same state merged, at most NBD_MAX_EXTENTS (1 with REQ_ONE). */
static int do_block_status(struct nbd_conn *c, const struct nbd_req *q)
{
	int max = q->flags & NBD_CMD_FLAG_REQ_ONE ? 1 : NBD_MAX_EXTENTS;
	uint8_t *d = malloc(NBD_STRUCTURED_HDR_SIZE + 4 + 8 * NBD_MAX_EXTENTS);
	uint64_t off = q->off, end = q->off + q->len;
	int n = 0, r = 0;

	if (!d)
		return reply_error(c, q, -ENOMEM);
	while (off < end) {
		struct block_status bs;
		uint32_t st;

		r = LOCKED(c->exp, image_block_status_above(c->exp->img, off, end - off, &bs));
		if (r)
			break;
		if (bs.length > end - off)
			bs.length = end - off;
		st = state_of(&bs);
		if (n && load_be32(d + NBD_STRUCTURED_HDR_SIZE + 4 + 8 * (n - 1) + 4) == st) {
			uint8_t *e = d + NBD_STRUCTURED_HDR_SIZE + 4 + 8 * (n - 1);

			store_be32(e, load_be32(e) + (uint32_t)bs.length);  /* sum <= q->len */
		} else {
			if (n == max)
				break;
			store_be32(d + NBD_STRUCTURED_HDR_SIZE + 4 + 8 * n, (uint32_t)bs.length);
			store_be32(d + NBD_STRUCTURED_HDR_SIZE + 4 + 8 * n + 4, st);
			n++;
		}
		off += bs.length;
	}
	if (r && n == 0) {
		nbd_log(c, "block status at %#llx: %s", (unsigned long long)q->off, err_get());
		free(d);
		return reply_error(c, q, r);
	}
	chunk_header(d, q, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_BLOCK_STATUS, 4 + 8 * n);
	store_be32(d + NBD_STRUCTURED_HDR_SIZE, NBD_META_ID_BASE_ALLOCATION);
	r = wire_write(c->fd, d, NBD_STRUCTURED_HDR_SIZE + 4 + 8 * (size_t)n);
	free(d);
	return r;
}

/* What a request may not do, as an errno (0: fine). */
static int check_request(const struct nbd_conn *c, const struct nbd_req *q)
{
	bool writes = q->type == NBD_CMD_WRITE || q->type == NBD_CMD_TRIM ||
		      q->type == NBD_CMD_WRITE_ZEROES;
	uint16_t known = NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE | NBD_CMD_FLAG_DF |
			 NBD_CMD_FLAG_REQ_ONE;

	if (q->flags & ~known)
		return -EINVAL;   /* FAST_ZERO and later flags were not advertised */
	if (writes && c->exp->read_only)
		return -EPERM;
	if (q->type == NBD_CMD_FLUSH || q->type == NBD_CMD_DISC)
		return 0;
	if (q->off > c->exp->img->size || q->len > c->exp->img->size - q->off)
		return -EINVAL;
	if ((q->type == NBD_CMD_READ || q->type == NBD_CMD_WRITE) && q->len > NBD_MAX_REQUEST)
		return -EINVAL;
	if (q->type == NBD_CMD_BLOCK_STATUS && (!c->structured || !c->meta_base || !q->len))
		return -EINVAL;
	return 0;
}

/* One request: 0 = next, 1 = disconnect, -1 = drop. */
static int serve_one(struct nbd_conn *c, void *buf)
{
	uint8_t h[NBD_REQUEST_SIZE];
	struct nbd_req q;
	int bad;

	if (wire_read(c->fd, h, sizeof(h)))
		return -1;
	if (load_be32(h) != NBD_REQUEST_MAGIC) {
		nbd_log(c, "bad request magic 0x%08x; closing", load_be32(h));
		return -1;
	}
	q.flags = load_be16(h + 4);
	q.type = load_be16(h + 6);
	q.cookie = load_be64(h + 8);
	q.off = load_be64(h + 16);
	q.len = load_be32(h + 24);
	if (q.type == NBD_CMD_WRITE) {
		/* the payload follows whatever we think of the request */
		if (q.len > NBD_MAX_REQUEST) {
			nbd_log(c, "write of %u bytes is over the %u limit; closing", q.len,
				NBD_MAX_REQUEST);
			return -1;
		}
		if (wire_read(c->fd, buf, q.len))
			return -1;
	}
	bad = check_request(c, &q);
	if (bad)
		return reply_error(c, &q, bad);
	switch (q.type) {
	case NBD_CMD_READ: return do_read(c, &q, buf);
	case NBD_CMD_WRITE: return do_write(c, &q, buf);
	case NBD_CMD_DISC: return 1;
	case NBD_CMD_FLUSH: return do_flush(c, &q);
	case NBD_CMD_TRIM:
	case NBD_CMD_WRITE_ZEROES: return do_zero(c, &q);
	case NBD_CMD_BLOCK_STATUS: return do_block_status(c, &q);
	default: return reply_error(c, &q, -EINVAL);
	}
}

void nbd_transmit(struct nbd_conn *c)
{
	/* one buffer of the largest request, allocated once per connection */
	void *buf = malloc(NBD_MAX_REQUEST);

	if (!buf) {
		nbd_log(c, "out of memory");
		return;
	}
	while (serve_one(c, buf) == 0)
		;
	free(buf);
}
