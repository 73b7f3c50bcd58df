/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nbd_handshake.c - the fixed newstyle handshake: greet the client, then answer
 * its options until it picks the export (NBD_OPT_GO or NBD_OPT_EXPORT_NAME) or
 * leaves (NBD_OPT_ABORT).
 *
 * Every length the client sends is checked before anything is read into memory:
 * an option's data is at most NBD_MAX_OPTION_LEN, strings at most NBD_MAX_STRING,
 * and a client gets at most NBD_MAX_OPTIONS options.  A wrong magic number or an
 * oversized option drops the connection; a malformed but bounded option gets
 * NBD_REP_ERR_INVALID and the negotiation goes on, as the protocol asks.
 */
#include "nbd_internal.h"
#include "nbd_proto.h"
#include "../common/bswap.h"
#include "../formats/format.h"

#include <stdlib.h>
#include <string.h>

static int send_rep(struct nbd_conn *c, uint32_t opt, uint32_t type,
		    const void *data, uint32_t len)
{
	uint8_t h[20];

	store_be64(h, NBD_REP_MAGIC);
	store_be32(h + 8, opt);
	store_be32(h + 12, type);
	store_be32(h + 16, len);
	if (wire_write(c->fd, h, sizeof(h)))
		return -1;
	return len ? wire_write(c->fd, data, len) : 0;
}

static int send_err(struct nbd_conn *c, uint32_t opt, uint32_t type, const char *msg)
{
	return send_rep(c, opt, type, msg, (uint32_t)strlen(msg));
}

static bool name_matches(const struct nbd_conn *c, const uint8_t *name, uint32_t len)
{
	return strlen(c->exp->name) == len && !memcmp(c->exp->name, name, len);
}

/* NBD_REP_INFO with NBD_INFO_EXPORT: size and transmission flags */
static int send_info_export(struct nbd_conn *c, uint32_t opt)
{
	uint8_t d[12];

	store_be16(d, NBD_INFO_EXPORT);
	store_be64(d + 2, c->exp->img->size);
	store_be16(d + 10, c->exp->tflags);
	return send_rep(c, opt, NBD_REP_INFO, d, sizeof(d));
}

static int send_info_name(struct nbd_conn *c, uint32_t opt)
{
	size_t n = strlen(c->exp->name);
	uint8_t d[2 + NBD_MAX_STRING];

	if (n > NBD_MAX_STRING)
		n = NBD_MAX_STRING;
	store_be16(d, NBD_INFO_NAME);
	memcpy(d + 2, c->exp->name, n);
	return send_rep(c, opt, NBD_REP_INFO, d, (uint32_t)(2 + n));
}

/* Any byte offset and length work; 4 KiB is what the formats like best. */
static int send_info_block_size(struct nbd_conn *c, uint32_t opt)
{
	uint8_t d[14];

	store_be16(d, NBD_INFO_BLOCK_SIZE);
	store_be32(d + 2, 1);
	store_be32(d + 6, 4096);
	store_be32(d + 10, NBD_MAX_REQUEST);
	return send_rep(c, opt, NBD_REP_INFO, d, sizeof(d));
}

/* NBD_OPT_INFO / NBD_OPT_GO: name length, name, count of info requests, requests.
 * Returns 0 (answered), 1 (GO accepted: transmission starts), -1 (drop). */
static int opt_info_go(struct nbd_conn *c, uint32_t opt, const uint8_t *d, uint32_t len)
{
	bool want_name = false, want_bs = false;
	uint32_t nlen;
	uint16_t nreq;

	if (len < 6)
		return send_err(c, opt, NBD_REP_ERR_INVALID, "option data too short");
	nlen = load_be32(d);
	if (nlen > len - 6 || nlen > NBD_MAX_STRING)
		return send_err(c, opt, NBD_REP_ERR_INVALID, "bad export name length");
	nreq = load_be16(d + 4 + nlen);
	if ((uint64_t)6 + nlen + 2ULL * nreq != len)
		return send_err(c, opt, NBD_REP_ERR_INVALID, "bad information request count");
	if (!name_matches(c, d + 4, nlen))
		return send_err(c, opt, NBD_REP_ERR_UNKNOWN, "no such export");
	for (uint16_t i = 0; i < nreq; i++) {
		uint16_t r = load_be16(d + 6 + nlen + 2 * i);

		want_name |= r == NBD_INFO_NAME;
		want_bs |= r == NBD_INFO_BLOCK_SIZE;
	}
	if (send_info_export(c, opt) ||
	    (want_name && send_info_name(c, opt)) ||
	    (want_bs && send_info_block_size(c, opt)) ||
	    send_rep(c, opt, NBD_REP_ACK, NULL, 0))
		return -1;
	return opt == NBD_OPT_GO ? 1 : 0;
}

/* NBD_OPT_EXPORT_NAME: no reply on success, the export's size and flags instead;
 * an unknown name can only be answered by closing the connection. */
static int opt_export_name(struct nbd_conn *c, const uint8_t *d, uint32_t len)
{
	uint8_t r[10 + 124];
	size_t n = c->no_zeroes ? 10 : sizeof(r);

	if (!name_matches(c, d, len)) {
		nbd_log(c, "asked for an unknown export; closing");
		return -1;
	}
	memset(r, 0, sizeof(r));
	store_be64(r, c->exp->img->size);
	store_be16(r + 8, c->exp->tflags);
	return wire_write(c->fd, r, n) ? -1 : 1;
}

static int opt_list(struct nbd_conn *c, uint32_t len)
{
	size_t n = strlen(c->exp->name);
	uint8_t d[4 + NBD_MAX_STRING];

	if (len)
		return send_err(c, NBD_OPT_LIST, NBD_REP_ERR_INVALID, "LIST takes no data");
	if (n > NBD_MAX_STRING)
		n = NBD_MAX_STRING;
	store_be32(d, (uint32_t)n);
	memcpy(d + 4, c->exp->name, n);
	if (send_rep(c, NBD_OPT_LIST, NBD_REP_SERVER, d, (uint32_t)(4 + n)))
		return -1;
	return send_rep(c, NBD_OPT_LIST, NBD_REP_ACK, NULL, 0);
}

/* Does a LIST query select base:allocation?  ("base:" lists the namespace.) */
static bool query_lists_base(const uint8_t *q, uint32_t n)
{
	static const char ns[] = "base:";
	static const char full[] = NBD_META_BASE_ALLOCATION;

	return (n == sizeof(ns) - 1 && !memcmp(q, ns, n)) ||
	       (n == sizeof(full) - 1 && !memcmp(q, full, n));
}

static int send_meta_context(struct nbd_conn *c, uint32_t opt)
{
	static const char name[] = NBD_META_BASE_ALLOCATION;
	uint8_t d[4 + sizeof(name)];

	store_be32(d, NBD_META_ID_BASE_ALLOCATION);
	memcpy(d + 4, name, sizeof(name) - 1);
	return send_rep(c, opt, NBD_REP_META_CONTEXT, d, (uint32_t)(4 + sizeof(name) - 1));
}

/* LIST_META_CONTEXT / SET_META_CONTEXT: export name, query count, queries.  The
 * only context served is base:allocation. */
static int opt_meta_context(struct nbd_conn *c, uint32_t opt, const uint8_t *d, uint32_t len)
{
	bool set = opt == NBD_OPT_SET_META_CONTEXT, base = false;
	uint32_t nlen, nq, pos;

	if (!c->structured)
		return send_err(c, opt, NBD_REP_ERR_INVALID, "structured replies not negotiated");
	if (len < 8)
		return send_err(c, opt, NBD_REP_ERR_INVALID, "option data too short");
	nlen = load_be32(d);
	if (nlen > len - 8 || nlen > NBD_MAX_STRING)
		return send_err(c, opt, NBD_REP_ERR_INVALID, "bad export name length");
	nq = load_be32(d + 4 + nlen);
	pos = 8 + nlen;
	/* validate every query before answering any */
	for (uint32_t i = 0; i < nq; i++) {
		uint32_t ql;

		if (len - pos < 4)
			return send_err(c, opt, NBD_REP_ERR_INVALID, "truncated query");
		ql = load_be32(d + pos);
		if (ql > len - pos - 4 || ql > NBD_MAX_STRING)
			return send_err(c, opt, NBD_REP_ERR_INVALID, "bad query length");
		if (set ? (ql == strlen(NBD_META_BASE_ALLOCATION) &&
			   !memcmp(d + pos + 4, NBD_META_BASE_ALLOCATION, ql))
			: query_lists_base(d + pos + 4, ql))
			base = true;
		pos += 4 + ql;
	}
	if (pos != len)
		return send_err(c, opt, NBD_REP_ERR_INVALID, "trailing data");
	if (!name_matches(c, d + 4, nlen))
		return send_err(c, opt, NBD_REP_ERR_UNKNOWN, "no such export");
	if (!set && nq == 0)
		base = true;   /* an empty LIST asks for every context */
	if (set)
		c->meta_base = base;
	if (base && send_meta_context(c, opt))
		return -1;
	return send_rep(c, opt, NBD_REP_ACK, NULL, 0);
}

/* One option: 0 = go on, 1 = transmission, 2 = client left, -1 = drop. */
static int do_option(struct nbd_conn *c, uint32_t opt, const uint8_t *d, uint32_t len)
{
	switch (opt) {
	case NBD_OPT_EXPORT_NAME:
		return opt_export_name(c, d, len);
	case NBD_OPT_ABORT:
		send_rep(c, opt, NBD_REP_ACK, NULL, 0);   /* the client may already be gone */
		return 2;
	case NBD_OPT_LIST:
		return opt_list(c, len);
	case NBD_OPT_INFO:
	case NBD_OPT_GO:
		return opt_info_go(c, opt, d, len);
	case NBD_OPT_STRUCTURED_REPLY:
		if (len)
			return send_err(c, opt, NBD_REP_ERR_INVALID, "STRUCTURED_REPLY takes no data");
		c->structured = true;
		return send_rep(c, opt, NBD_REP_ACK, NULL, 0);
	case NBD_OPT_LIST_META_CONTEXT:
	case NBD_OPT_SET_META_CONTEXT:
		return opt_meta_context(c, opt, d, len);
	default:
		return send_err(c, opt, NBD_REP_ERR_UNSUP, "option not supported");
	}
}

int nbd_handshake(struct nbd_conn *c)
{
	uint8_t greet[18], cflags[4], h[16], *data;
	uint32_t flags;
	int r = -1;

	store_be64(greet, NBD_INIT_MAGIC);
	store_be64(greet + 8, NBD_OPTS_MAGIC);
	store_be16(greet + 16, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
	if (wire_write(c->fd, greet, sizeof(greet)) || wire_read(c->fd, cflags, 4))
		return -1;
	flags = load_be32(cflags);
	if (flags & ~(uint32_t)(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) {
		nbd_log(c, "unknown client flags 0x%x; closing", flags);
		return -1;
	}
	c->no_zeroes = flags & NBD_FLAG_C_NO_ZEROES;
	data = malloc(NBD_MAX_OPTION_LEN);
	if (!data)
		return -1;
	for (int i = 0; i < NBD_MAX_OPTIONS; i++) {
		uint32_t opt, len;

		if (wire_read(c->fd, h, sizeof(h)))
			goto out;
		if (load_be64(h) != NBD_OPTS_MAGIC) {
			nbd_log(c, "bad option magic; closing");
			goto out;
		}
		opt = load_be32(h + 8);
		len = load_be32(h + 12);
		if (len > NBD_MAX_OPTION_LEN) {
			nbd_log(c, "option %u with %u bytes of data is too big; closing", opt, len);
			goto out;
		}
		if (wire_read(c->fd, data, len))
			goto out;
		r = do_option(c, opt, data, len);
		if (r == 1) {
			r = 0;
			goto out;
		}
		if (r == 2) {
			r = 1;
			goto out;
		}
		if (r < 0)
			goto out;
	}
	nbd_log(c, "too many options; closing");
	r = -1;
out:
	free(data);
	return r;
}
