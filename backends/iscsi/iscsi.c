/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * iscsi.c - the iSCSI backend: a LUN through libiscsi, with no kernel initiator.
 *
 * URL: iscsi://[user[%password]@]host[:port]/target-iqn/lun[?initiator-name=..]
 * (parsed in ../net.c; the password may instead come from the environment or a
 * secret file, and is masked in every message).
 *
 * A LUN has a block size (512 or 4096) and a fixed capacity.  Formats see bytes:
 * requests are cut into READ16/WRITE16 commands, and writes that start or end
 * inside a block read-modify-write that block.  Two concurrent writers patching
 * the same block could lose each other's bytes, so a write with unaligned edges
 * holds the RMW lock exclusively while aligned writes hold it shared (they run
 * in parallel, each on its own connection from the pool).  A LUN cannot grow:
 * truncate succeeds when the size fits and fails with the sizes otherwise.
 * Flush is SYNCHRONIZE CACHE; zeroing uses UNMAP (when deallocated blocks read
 * as zeros) or WRITE SAME; GET LBA STATUS reports holes of thin LUNs.
 * libiscsi itself is loaded on the first open (iscsi_lib.c), not linked.
 */
#ifdef HAVE_LIBISCSI
#include "../backend.h"
#include "../net.h"
#include "../../common/err.h"
#include "../../common/util.h"
#include "iscsi_lib.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ISCSI_MAX_XFER (1u * 1024 * 1024)    /* bytes per READ16/WRITE16 */
#define ISCSI_DEFAULT_INITIATOR "iqn.2024-01.org.imgtool:initiator"

struct iscsi_priv {
	struct backend *be;
	struct iscsi_url_parts u;
	char portal[300];
	struct net_pool pool;
	uint32_t bs;              /* logical block size */
	uint64_t nblocks;
	bool lbpme, lbprz;        /* thin provisioning; unmapped blocks read as zero */
	bool no_unmap, no_ws, no_lba_status;   /* learnt unsupported */
	pthread_rwlock_t rmw;     /* exclusive for writes with unaligned edges */
	uint8_t *zero_block;      /* one zero block for WRITE SAME */
};

static bool iscsi_match(const char *url)
{
	return !strncmp(url, "iscsi://", 8);
}

static bool has(const char *s, const char *needle)
{
	return s && strstr(s, needle);
}

/* A failed or NULL task: say what the target meant. Sets *broken when the
 * connection itself failed (it is dropped and remade on the next call). */
static int task_fail(struct backend *be, struct iscsi_context *is, struct scsi_task *t,
		     const char *what, uint64_t off, bool *broken)
{
	const char *detail = iscsi_lib.iscsi_get_error(is);
	int ret;

	if (!t) {
		*broken = true;
		if (has(detail, "imed out") || has(detail, "imeout"))
			return err_set(-ETIMEDOUT, be->url, "%s at offset %#llx: the target did not answer within %d s",
				       what, (unsigned long long)off, net_timeout());
		return err_set(-EIO, be->url, "%s at offset %#llx failed: %s", what,
			       (unsigned long long)off, detail ? detail : "connection lost");
	}
	if (t->status == SCSI_STATUS_CHECK_CONDITION) {
		if (t->sense.key == SCSI_SENSE_DATA_PROTECTION)
			ret = err_set(-EROFS, be->url, "%s: the LUN is write-protected", what);
		else if (t->sense.ascq == SCSI_SENSE_ASCQ_LBA_OUT_OF_RANGE)
			ret = err_set(-ENOSPC, be->url, "%s at offset %#llx: beyond the end of the LUN",
				      what, (unsigned long long)off);
		else if (t->sense.key == SCSI_SENSE_ILLEGAL_REQUEST &&
			 (t->sense.ascq == 0x2000 || t->sense.ascq == 0x2400))
			ret = err_set(-ENOTSUP, be->url, "%s: not supported by the target", what);
		else
			ret = err_set(-EIO, be->url, "%s at offset %#llx: %s / %s", what,
				      (unsigned long long)off, iscsi_lib.scsi_sense_key_str(t->sense.key),
				      iscsi_lib.scsi_sense_ascq_str(t->sense.ascq));
	} else {
		*broken = t->status == SCSI_STATUS_ERROR || t->status == SCSI_STATUS_TIMEOUT ||
			  t->status == SCSI_STATUS_CANCELLED;
		ret = err_set(t->status == SCSI_STATUS_TIMEOUT ? -ETIMEDOUT : -EIO, be->url,
			      "%s at offset %#llx failed: %s", what, (unsigned long long)off,
			      detail ? detail : "SCSI error");
	}
	iscsi_lib.scsi_free_scsi_task(t);
	return ret;
}

static void iscsi_conn_drop(void *arg, void *conn)
{
	struct iscsi_context *is = conn;

	if (iscsi_lib.iscsi_is_logged_in(is))
		iscsi_lib.iscsi_logout_sync(is);
	iscsi_lib.iscsi_destroy_context(is);
}

static int connect_fail(struct iscsi_priv *p, struct iscsi_context *is)
{
	struct backend *be = p->be;
	const char *d = iscsi_lib.iscsi_get_error(is);
	int ret;

	if (has(d, "LOGICAL_UNIT_NOT_SUPPORTED") || has(d, "0x2500"))
		ret = err_set(-ENOENT, be->url, "no such LUN");
	else if (has(d, "uthentication") || has(d, "CHAP"))
		ret = err_set(-EACCES, be->url, "CHAP authentication failed (wrong user or password?)");
	else if (has(d, "arget not found") || has(d, "not found"))
		ret = err_set(-ENOENT, be->url, "no such target '%s'", p->u.iqn);
	else if (has(d, "refused"))
		ret = err_set(-ECONNREFUSED, be->url, "cannot reach the iSCSI target at %s: connection refused",
			      p->portal);
	else if (has(d, "imed out") || has(d, "imeout"))
		ret = err_set(-ETIMEDOUT, be->url, "the target at %s did not answer within %d s",
			      p->portal, net_timeout());
	else
		ret = err_set(-EIO, be->url, "cannot log in to the target: %s", d ? d : "unknown error");
	iscsi_lib.iscsi_destroy_context(is);
	return ret;
}

static int iscsi_connect(void *arg, void **conn)
{
	struct iscsi_priv *p = arg;
	struct backend *be = p->be;
	struct iscsi_context *is;
	enum iscsi_header_digest hd = ISCSI_HEADER_DIGEST_NONE_CRC32C;

	is = iscsi_lib.iscsi_create_context(p->u.initiator ? p->u.initiator : ISCSI_DEFAULT_INITIATOR);
	if (!is)
		return err_set(-ENOMEM, be->url, "cannot create an iSCSI context");
	if (p->u.header_digest) {
		if (!strcmp(p->u.header_digest, "none"))
			hd = ISCSI_HEADER_DIGEST_NONE;
		else if (!strcmp(p->u.header_digest, "crc32c"))
			hd = ISCSI_HEADER_DIGEST_CRC32C;
		else if (!strcmp(p->u.header_digest, "crc32c-none"))
			hd = ISCSI_HEADER_DIGEST_CRC32C_NONE;
	}
	if (iscsi_lib.iscsi_set_targetname(is, p->u.iqn) ||
	    iscsi_lib.iscsi_set_session_type(is, ISCSI_SESSION_NORMAL) ||
	    iscsi_lib.iscsi_set_header_digest(is, hd))
		return connect_fail(p, is);
	if (p->u.user && iscsi_lib.iscsi_set_initiator_username_pwd(is, p->u.user,
							  p->u.password ? p->u.password : ""))
		return connect_fail(p, is);
	if (p->u.target_user && iscsi_lib.iscsi_set_target_username_pwd(is, p->u.target_user,
							      p->u.target_password ? p->u.target_password : ""))
		return connect_fail(p, is);
	iscsi_lib.iscsi_set_timeout(is, net_timeout());
	iscsi_lib.iscsi_set_noautoreconnect(is, 1);
	if (iscsi_lib.iscsi_full_connect_sync(is, p->portal, p->u.lun))
		return connect_fail(p, is);
	*conn = is;
	return 0;
}

/* READ CAPACITY 16: block size, capacity, thin provisioning. */
static int read_capacity(struct iscsi_priv *p, struct iscsi_context *is)
{
	struct backend *be = p->be;
	struct scsi_task *t = iscsi_lib.iscsi_readcapacity16_sync(is, p->u.lun);
	struct scsi_readcapacity16 *rc;
	bool broken = false;

	if (!t || t->status != SCSI_STATUS_GOOD) {
		if (t && t->sense.ascq == SCSI_SENSE_ASCQ_LOGICAL_UNIT_NOT_SUPPORTED) {
			iscsi_lib.scsi_free_scsi_task(t);
			return err_set(-ENOENT, be->url, "no such LUN");
		}
		return task_fail(be, is, t, "READ CAPACITY", 0, &broken);
	}
	rc = iscsi_lib.scsi_datain_unmarshall(t);
	if (!rc || rc->block_length < 512 || rc->block_length > 65536 ||
	    !is_power_of_2(rc->block_length) || rc->returned_lba >= UINT64_MAX / 65536) {
		iscsi_lib.scsi_free_scsi_task(t);
		return err_set(-EIO, be->url, "the target returned an unusable READ CAPACITY reply");
	}
	p->bs = rc->block_length;
	p->nblocks = rc->returned_lba + 1;
	p->lbpme = rc->lbpme;
	p->lbprz = rc->lbprz;
	iscsi_lib.scsi_free_scsi_task(t);
	return 0;
}

static int iscsi_open_be(struct backend *be, const char *url, int flags)
{
	struct iscsi_priv *p;
	struct iscsi_context *is;
	int ret;

	ret = net_backend_name(be, url);
	if (ret < 0)
		return ret;
	/* libiscsi is loaded only now, so commands without iscsi:// never pay for it */
	ret = iscsi_lib_load(be->url);
	if (ret < 0)
		return ret;
	p = calloc(1, sizeof(*p));
	if (!p)
		return err_set(-ENOMEM, be->url, "out of memory");
	p->be = be;
	pthread_rwlock_init(&p->rmw, NULL);
	ret = iscsi_url_parse(url, &p->u);
	if (ret == 0)
		ret = iscsi_url_secrets(&p->u, be->url);
	if (ret < 0)
		goto fail;
	snprintf(p->portal, sizeof(p->portal), strchr(p->u.host, ':') ? "[%s]:%d" : "%s:%d",
		 p->u.host, p->u.port);
	ret = iscsi_connect(p, (void **)&is);
	if (ret < 0)
		goto fail;
	ret = read_capacity(p, is);
	if (ret < 0) {
		iscsi_conn_drop(p, is);
		goto fail;
	}
	p->zero_block = calloc(1, p->bs);
	if (!p->zero_block) {
		iscsi_conn_drop(p, is);
		ret = err_set(-ENOMEM, be->url, "out of memory");
		goto fail;
	}
	net_pool_init(&p->pool, NET_POOL_MAX, iscsi_connect, iscsi_conn_drop, p);
	net_pool_add(&p->pool, is);
	be->priv = p;
	be->zero_init = false;   /* an existing LUN holds whatever was there */
	return 0;
fail:
	iscsi_url_free(&p->u);
	pthread_rwlock_destroy(&p->rmw);
	free(p);
	return ret;
}

static void iscsi_close_be(struct backend *be)
{
	struct iscsi_priv *p = be->priv;

	if (!p)
		return;
	net_pool_destroy(&p->pool);
	iscsi_url_free(&p->u);
	pthread_rwlock_destroy(&p->rmw);
	free(p->zero_block);
	free(p);
}

static uint64_t capacity(const struct iscsi_priv *p)
{
	return p->nblocks * p->bs;
}

/* Read whole blocks [lba, lba + n) into buf on connection is. */
static int read_blocks(struct iscsi_priv *p, struct iscsi_context *is, uint64_t lba,
		       uint32_t n, uint8_t *buf, bool *broken)
{
	struct scsi_task *t;
	uint32_t bytes = n * p->bs;

	t = iscsi_lib.iscsi_read16_sync(is, p->u.lun, lba, bytes, (int)p->bs, 0, 0, 0, 0, 0);
	if (!t || t->status != SCSI_STATUS_GOOD)
		return task_fail(p->be, is, t, "read", lba * p->bs, broken);
	if (t->datain.size < 0 || (uint32_t)t->datain.size != bytes) {
		iscsi_lib.scsi_free_scsi_task(t);
		return err_set(-EIO, p->be->url, "short read from the LUN at offset %#llx",
			       (unsigned long long)(lba * p->bs));
	}
	memcpy(buf, t->datain.data, bytes);
	iscsi_lib.scsi_free_scsi_task(t);
	return 0;
}

static int write_blocks(struct iscsi_priv *p, struct iscsi_context *is, uint64_t lba,
			uint32_t n, const uint8_t *buf, bool *broken)
{
	struct scsi_task *t;
	int fua = (p->be->flags & BE_DSYNC) ? 1 : 0;

	t = iscsi_lib.iscsi_write16_sync(is, p->u.lun, lba, (unsigned char *)buf, n * p->bs, (int)p->bs,
			       0, 0, fua, 0, 0);
	if (!t || t->status != SCSI_STATUS_GOOD)
		return task_fail(p->be, is, t, "write", lba * p->bs, broken);
	iscsi_lib.scsi_free_scsi_task(t);
	return 0;
}

static int iscsi_pread_be(struct backend *be, void *buf, size_t len, uint64_t off)
{
	struct iscsi_priv *p = be->priv;
	uint64_t cap = capacity(p), end;
	struct iscsi_context *is;
	uint8_t *b = buf, *bounce = NULL;
	bool broken = false;
	int slot, ret;

	/* bytes past the end of the LUN read as zeros */
	if (off >= cap) {
		memset(buf, 0, len);
		return 0;
	}
	if (len > cap - off) {
		memset(b + (cap - off), 0, len - (size_t)(cap - off));
		len = (size_t)(cap - off);
	}
	end = off + len;
	ret = net_pool_get(&p->pool, (void **)&is, &slot);
	if (ret < 0)
		return ret;
	while (off < end && ret == 0) {
		uint64_t a = align_down(off, p->bs);
		uint64_t e = MIN(align_up(end, p->bs), a + ISCSI_MAX_XFER);
		size_t skip = (size_t)(off - a), n = (size_t)(MIN(e, end) - off);
		uint32_t nb = (uint32_t)((e - a) / p->bs);

		if (skip == 0 && n == e - a) {
			ret = read_blocks(p, is, a / p->bs, nb, b, &broken);
		} else {
			if (!bounce && !(bounce = malloc(ISCSI_MAX_XFER + p->bs))) {
				ret = err_set(-ENOMEM, be->url, "out of memory");
				break;
			}
			ret = read_blocks(p, is, a / p->bs, nb, bounce, &broken);
			if (ret == 0)
				memcpy(b, bounce + skip, n);
		}
		b += n;
		off += n;
	}
	net_pool_put(&p->pool, slot, broken);
	free(bounce);
	return ret;
}

/* Write [off, off+len) where the range may start or end inside a block: the edge
 * blocks are read, patched and written back.  Called under the exclusive lock. */
static int write_unaligned(struct iscsi_priv *p, struct iscsi_context *is, const uint8_t *b,
			   size_t len, uint64_t off, bool *broken)
{
	uint64_t end = off + len;
	uint8_t *bounce = malloc(ISCSI_MAX_XFER + p->bs);
	int ret = 0;

	if (!bounce)
		return err_set(-ENOMEM, p->be->url, "out of memory");
	while (off < end && ret == 0) {
		uint64_t a = align_down(off, p->bs);
		uint64_t e = MIN(align_up(end, p->bs), a + ISCSI_MAX_XFER);
		size_t skip = (size_t)(off - a), n = (size_t)(MIN(e, end) - off);
		uint32_t nb = (uint32_t)((e - a) / p->bs);

		if (skip)
			ret = read_blocks(p, is, a / p->bs, 1, bounce, broken);
		if (ret == 0 && (off + n) % p->bs && (nb > 1 || !skip))
			ret = read_blocks(p, is, e / p->bs - 1, 1, bounce + (e - a) - p->bs, broken);
		if (ret == 0) {
			memcpy(bounce + skip, b, n);
			ret = write_blocks(p, is, a / p->bs, nb, bounce, broken);
		}
		b += n;
		off += n;
	}
	free(bounce);
	return ret;
}

static int too_small(struct iscsi_priv *p, uint64_t need)
{
	return err_set(-ENOSPC, p->be->url, "LUN holds %llu bytes, fewer than the %llu needed",
		       (unsigned long long)capacity(p), (unsigned long long)need);
}

static int iscsi_pwrite_be(struct backend *be, const void *buf, size_t len, uint64_t off)
{
	struct iscsi_priv *p = be->priv;
	struct iscsi_context *is;
	const uint8_t *b = buf;
	bool aligned = is_aligned(off, p->bs) && is_aligned(len, p->bs), broken = false;
	uint64_t end;
	int slot, ret;

	if (!add_ok(off, len, &end) || end > capacity(p))
		return too_small(p, end < off ? UINT64_MAX : end);
	ret = net_pool_get(&p->pool, (void **)&is, &slot);
	if (ret < 0)
		return ret;
	if (aligned)
		pthread_rwlock_rdlock(&p->rmw);
	else
		pthread_rwlock_wrlock(&p->rmw);
	if (!aligned) {
		ret = write_unaligned(p, is, b, len, off, &broken);
	} else {
		while (len && ret == 0) {
			size_t n = MIN(len, (size_t)ISCSI_MAX_XFER);
			ret = write_blocks(p, is, off / p->bs, (uint32_t)(n / p->bs), b, &broken);
			b += n;
			off += n;
			len -= n;
		}
	}
	pthread_rwlock_unlock(&p->rmw);
	net_pool_put(&p->pool, slot, broken);
	return ret;
}

static int iscsi_flush_be(struct backend *be)
{
	struct iscsi_priv *p = be->priv;
	struct iscsi_context *is;
	struct scsi_task *t;
	bool broken = false;
	int slot, ret;

	ret = net_pool_get(&p->pool, (void **)&is, &slot);
	if (ret < 0)
		return ret;
	t = iscsi_lib.iscsi_synchronizecache16_sync(is, p->u.lun, 0, 0, 0, 0);
	if (!t || t->status != SCSI_STATUS_GOOD)
		ret = task_fail(be, is, t, "SYNCHRONIZE CACHE", 0, &broken);
	else
		iscsi_lib.scsi_free_scsi_task(t);
	net_pool_put(&p->pool, slot, broken);
	return ret;
}

static int iscsi_get_size_be(struct backend *be, uint64_t *size)
{
	*size = capacity(be->priv);
	return 0;
}

static int iscsi_truncate_be(struct backend *be, uint64_t size)
{
	struct iscsi_priv *p = be->priv;

	if (size <= capacity(p))
		return 0;
	return err_set(-ENOTSUP, be->url, "LUN holds %llu bytes, fewer than the %llu needed "
		       "(an iSCSI LUN cannot grow)", (unsigned long long)capacity(p),
		       (unsigned long long)size);
}

/* UNMAP the whole blocks [lba, lba+nb). */
static int unmap_blocks(struct iscsi_priv *p, struct iscsi_context *is, uint64_t lba,
			uint64_t nb, bool *broken)
{
	while (nb) {
		struct unmap_list ul = { .lba = lba, .num = (uint32_t)MIN(nb, 1u << 20) };
		struct scsi_task *t = iscsi_lib.iscsi_unmap_sync(is, p->u.lun, 0, 0, &ul, 1);
		int ret;

		if (!t || t->status != SCSI_STATUS_GOOD) {
			ret = task_fail(p->be, is, t, "UNMAP", lba * p->bs, broken);
			if (ret == -ENOTSUP)
				p->no_unmap = true;
			return ret;
		}
		iscsi_lib.scsi_free_scsi_task(t);
		lba += ul.num;
		nb -= ul.num;
	}
	return 0;
}

static int write_same_blocks(struct iscsi_priv *p, struct iscsi_context *is, uint64_t lba,
			     uint64_t nb, bool unmap, bool *broken)
{
	while (nb) {
		uint32_t n = (uint32_t)MIN(nb, 65536u);
		struct scsi_task *t = iscsi_lib.iscsi_writesame16_sync(is, p->u.lun, lba, p->zero_block,
							     p->bs, n, 0, unmap, 0, 0);
		int ret;

		if (!t || t->status != SCSI_STATUS_GOOD) {
			ret = task_fail(p->be, is, t, "WRITE SAME", lba * p->bs, broken);
			if (ret == -ENOTSUP)
				p->no_ws = true;
			return ret;
		}
		iscsi_lib.scsi_free_scsi_task(t);
		lba += n;
		nb -= n;
	}
	return 0;
}

/* Zero the whole blocks inside [off, off+len) cheaply; the generic fallback in
 * backend.c writes zeros when this returns -ENOTSUP.  Unaligned edges go through
 * the ordinary write path. */
static int iscsi_write_zeroes_be(struct backend *be, uint64_t off, uint64_t len, int flags)
{
	struct iscsi_priv *p = be->priv;
	uint64_t a = align_up(off, p->bs), e, end;
	bool use_unmap, broken = false;
	struct iscsi_context *is;
	int slot, ret;

	if (!add_ok(off, len, &end) || end > capacity(p))
		return too_small(p, end < off ? UINT64_MAX : end);
	e = align_down(end, p->bs);
	use_unmap = (flags & BE_ZERO_MAY_UNMAP) && p->lbpme && p->lbprz && !p->no_unmap;
	if ((!use_unmap && p->no_ws) || a >= e)
		return -ENOTSUP;
	if (a > off) {
		ret = backend_write_zeroes(be, off, a - off, 0);
		if (ret < 0)
			return ret;
	}
	ret = net_pool_get(&p->pool, (void **)&is, &slot);
	if (ret < 0)
		return ret;
	pthread_rwlock_rdlock(&p->rmw);
	if (use_unmap)
		ret = unmap_blocks(p, is, a / p->bs, (e - a) / p->bs, &broken);
	else
		ret = write_same_blocks(p, is, a / p->bs, (e - a) / p->bs,
					(flags & BE_ZERO_MAY_UNMAP) && p->lbpme, &broken);
	pthread_rwlock_unlock(&p->rmw);
	net_pool_put(&p->pool, slot, broken);
	if (ret == -ENOTSUP) {
		/* write plain zeros over the blocks instead (the edge is done) */
		err_clear();
		return backend_write_zeroes(be, a, end - a, 0) ;
	}
	if (ret == 0 && end > e)
		ret = backend_write_zeroes(be, e, end - e, 0);
	return ret;
}

static int iscsi_discard_be(struct backend *be, uint64_t off, uint64_t len)
{
	struct iscsi_priv *p = be->priv;
	uint64_t a = align_up(off, p->bs), e = align_down(off + len, p->bs);
	struct iscsi_context *is;
	bool broken = false;
	int slot, ret;

	if (!p->lbpme || p->no_unmap)
		return -ENOTSUP;
	if (a >= e || e > capacity(p))
		return 0;
	ret = net_pool_get(&p->pool, (void **)&is, &slot);
	if (ret < 0)
		return ret;
	pthread_rwlock_rdlock(&p->rmw);
	ret = unmap_blocks(p, is, a / p->bs, (e - a) / p->bs, &broken);
	pthread_rwlock_unlock(&p->rmw);
	net_pool_put(&p->pool, slot, broken);
	return ret;
}

/* GET LBA STATUS: on a thin LUN whose unmapped blocks read as zeros, deallocated
 * runs are holes (so convert skips them). */
static int iscsi_extent_be(struct backend *be, uint64_t off, uint64_t len, bool *data,
			   uint64_t *run)
{
	struct iscsi_priv *p = be->priv;
	struct scsi_get_lba_status *st;
	struct iscsi_context *is;
	struct scsi_task *t;
	uint64_t lba = off / p->bs, cap = capacity(p);
	bool broken = false;
	int slot, ret;

	*data = true;
	*run = len;
	if (!p->lbpme || !p->lbprz || p->no_lba_status || off >= cap)
		return 0;
	ret = net_pool_get(&p->pool, (void **)&is, &slot);
	if (ret < 0)
		return ret;
	t = iscsi_lib.iscsi_get_lba_status_sync(is, p->u.lun, lba, 8 + 16);
	if (!t || t->status != SCSI_STATUS_GOOD) {
		ret = task_fail(be, is, t, "GET LBA STATUS", off, &broken);
		net_pool_put(&p->pool, slot, broken);
		if (ret == -ENOTSUP || !broken) {
			p->no_lba_status = true;
			err_clear();
			return 0;
		}
		return ret;
	}
	st = iscsi_lib.scsi_datain_unmarshall(t);
	if (st && st->num_descriptors >= 1 && st->descriptors[0].lba <= lba &&
	    lba < st->descriptors[0].lba + st->descriptors[0].num_blocks) {
		uint64_t dend = (st->descriptors[0].lba + st->descriptors[0].num_blocks) * p->bs;
		bool hole = st->descriptors[0].provisioning != SCSI_PROVISIONING_TYPE_MAPPED;

		/* a partial block at off counts as data unless it is all hole */
		if (!hole || is_aligned(off, p->bs)) {
			*data = !hole;
			*run = MIN(len, MIN(dend, cap) - off);
		}
		if (*run == 0)
			*run = MIN(len, (uint64_t)p->bs);
	}
	iscsi_lib.scsi_free_scsi_task(t);
	net_pool_put(&p->pool, slot, false);
	return 0;
}

const struct backend_ops iscsi_backend_ops = {
	.name = "iscsi",
	.match = iscsi_match,
	.open = iscsi_open_be,
	.close = iscsi_close_be,
	.pread = iscsi_pread_be,
	.pwrite = iscsi_pwrite_be,
	.flush = iscsi_flush_be,
	.get_size = iscsi_get_size_be,
	.truncate = iscsi_truncate_be,
	.write_zeroes = iscsi_write_zeroes_be,
	.discard = iscsi_discard_be,
	.extent = iscsi_extent_be,
};
#endif /* HAVE_LIBISCSI */
