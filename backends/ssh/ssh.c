/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ssh.c - the ssh backend: a file on a remote host through SFTP (libssh).
 *
 * URL: ssh://[user@]host[:port]/absolute/path[?identity=FILE&known-hosts=FILE&
 * host-key=SHA256:...&password-file=FILE] (parsed in ../net.c; connecting,
 * host keys and authentication in ssh_conn.c).
 *
 * Speed: every concurrent caller (each copy worker) takes its own SSH connection
 * from a pool (../net.c), and a read keeps SSH_INFLIGHT requests of SSH_REQ
 * bytes in flight on it, so a round trip is paid once per read rather than once
 * per request.  Reads past the end of the file return zeros without asking the
 * server.  Every libssh call is bounded by IMGTOOL_NET_TIMEOUT: a stalled server
 * ends in an error and its connection is dropped, never reused.
 *
 * A block device (ssh://root@server/dev/sda, a running machine's disk) is read
 * like a file; its size, which SFTP does not tell, is found by reading.
 *
 * Writes use SFTP WRITE (one request at a time: libssh 0.10 has no asynchronous
 * write); flush is fsync@openssh.com where the server has it, and otherwise only
 * as durable as the server's own buffers.
 */
#ifdef HAVE_LIBSSH
#include "../backend.h"
#include "../net.h"
#include "../../common/err.h"
#include "../../common/util.h"
#include "ssh_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define L ssh_lib
#define SSH_REQ (64u * 1024)    /* bytes per SFTP READ/WRITE (OpenSSH takes up to 256 KiB) */
#define SSH_INFLIGHT 16          /* READ requests outstanding per connection */

struct ssh_fconn {
	struct ssh_conn *conn;
	sftp_file f;
};

struct ssh_priv {
	struct backend *be;
	struct ssh_url_parts u;
	struct net_pool pool;
	int oflags;              /* for connections after the first */
	bool has_fsync;
	bool blockdev;           /* its size never changes: found once at open */
	_Atomic uint64_t size;   /* reads at or past it are zeros, never sent */
};

static bool ssh_match(const char *url)
{
	return !strncmp(url, "ssh://", 6);
}

static void ssh_fconn_drop(void *arg, void *conn)
{
	struct ssh_fconn *c = conn;

	(void)arg;
	ssh_conn_active(c->conn);
	if (c->f)
		L.sftp_close(c->f);
	ssh_conn_close(c->conn);
	free(c);
}

static int ssh_fconn_make_flags(struct ssh_priv *p, int oflags, struct ssh_fconn **out)
{
	struct backend *be = p->be;
	struct ssh_fconn *c = calloc(1, sizeof(*c));
	int ret;

	if (!c)
		return err_set(-ENOMEM, be->url, "out of memory");
	ret = ssh_conn_open(&p->u, be->url, true, &c->conn);
	if (ret < 0) {
		free(c);
		return ret;
	}
	ssh_conn_active(c->conn);
	c->f = L.sftp_open(c->conn->sftp, p->u.path, oflags, 0644);
	ssh_conn_idle(c->conn);
	if (!c->f) {
		ret = ssh_conn_fail(c->conn, be->url, "open");
		ssh_fconn_drop(p, c);
		return ret;
	}
	*out = c;
	return 0;
}

static int ssh_fconn_make(void *arg, void **conn)
{
	struct ssh_priv *p = arg;

	return ssh_fconn_make_flags(p, p->oflags, (struct ssh_fconn **)conn);
}

/* Is there a byte at off?  (One SFTP READ of one byte.) */
static int byte_at(struct backend *be, struct ssh_fconn *c, uint64_t off, bool *present)
{
	char b;
	ssize_t r;

	if (L.sftp_seek64(c->f, off) < 0)
		return ssh_conn_fail(c->conn, be->url, "seek");
	r = L.sftp_read(c->f, &b, 1);
	/* OpenSSH's server seeks first: past a device's end that is EINVAL,
	 * which it reports as "bad message" */
	if (r < 0 && L.sftp_get_error(c->conn->sftp) == SSH_FX_BAD_MESSAGE) {
		*present = false;
		return 0;
	}
	if (r < 0)
		return ssh_conn_fail(c->conn, be->url, "read");
	*present = r == 1;
	return 0;
}

/* SFTP stats a block device (a live P2V source: ssh://root@srv/dev/sda) with size
 * 0.  Its size is found by reading: the last 512-byte sector that answers with
 * data, by doubling then halving (about 2 log2(sectors) one-byte READs, needing
 * nothing on the server but its SFTP server). */
static int device_size(struct backend *be, struct ssh_fconn *c, uint64_t *size)
{
	uint64_t lo = 0, hi = 1;   /* sector lo exists (unless the device is empty), hi not */
	bool there;
	int ret = byte_at(be, c, 0, &there);

	if (ret < 0 || !there) {
		*size = 0;
		return ret;
	}
	for (;;) {
		ret = byte_at(be, c, hi * 512, &there);
		if (ret < 0)
			return ret;
		if (!there)
			break;
		lo = hi;
		if (hi > (UINT64_MAX / 512) / 2)
			return err_set(-EFBIG, be->url, "the device does not end");
		hi *= 2;
	}
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;

		ret = byte_at(be, c, mid * 512, &there);
		if (ret < 0)
			return ret;
		if (there)
			lo = mid;
		else
			hi = mid;
	}
	*size = hi * 512;
	return 0;
}

static int fstat_size(struct backend *be, struct ssh_fconn *c, uint64_t *size, bool *blockdev)
{
	sftp_attributes a;
	int ret = 0;

	ssh_conn_active(c->conn);
	a = L.sftp_fstat(c->f);
	if (!a) {
		ssh_conn_idle(c->conn);
		return ssh_conn_fail(c->conn, be->url, "stat");
	}
	*size = a->size;
	*blockdev = S_ISBLK(a->permissions);
	L.sftp_attributes_free(a);
	if (*blockdev)
		ret = device_size(be, c, size);
	ssh_conn_idle(c->conn);
	return ret;
}

static int ssh_open_be(struct backend *be, const char *url, int flags)
{
	struct ssh_priv *p;
	struct ssh_fconn *c;
	uint64_t size = 0;
	int ret;

	ret = net_backend_name(be, url);
	if (ret < 0)
		return ret;
	p = calloc(1, sizeof(*p));
	if (!p)
		return err_set(-ENOMEM, be->url, "out of memory");
	p->be = be;
	ret = ssh_url_parse(url, &p->u);
	if (ret == 0)
		ret = ssh_url_secrets(&p->u, be->url);
	if (ret < 0)
		goto fail;
	p->oflags = (flags & BE_RDWR) ? O_RDWR : O_RDONLY;
	/* the first connection creates/truncates; the others just open */
	ret = ssh_fconn_make_flags(p, (flags & BE_CREATE) ? p->oflags | O_CREAT | O_TRUNC : p->oflags,
				   &c);
	if (ret < 0)
		goto fail;
	ret = fstat_size(be, c, &size, &p->blockdev);
	if (ret < 0) {
		ssh_fconn_drop(p, c);
		goto fail;
	}
	atomic_store(&p->size, size);
	p->has_fsync = L.sftp_extension_supported(c->conn->sftp, "fsync@openssh.com", "1");
	net_pool_init(&p->pool, NET_POOL_MAX, ssh_fconn_make, ssh_fconn_drop, p);
	net_pool_add(&p->pool, c);
	be->zero_init = (flags & BE_CREATE) != 0;
	be->priv = p;
	return 0;
fail:
	ssh_url_free(&p->u);
	free(p);
	return ret;
}

static void ssh_close_be(struct backend *be)
{
	struct ssh_priv *p = be->priv;

	if (!p)
		return;
	net_pool_destroy(&p->pool);
	ssh_url_free(&p->u);
	free(p);
}

/* One request at a time, for what a pipelined read got short (the server may
 * answer less than asked); zeros from the end of the file on. */
static int read_sync(struct backend *be, struct ssh_fconn *c, uint8_t *b, size_t len, uint64_t off)
{
	if (L.sftp_seek64(c->f, off) < 0)
		return ssh_conn_fail(c->conn, be->url, "seek");
	while (len) {
		ssize_t r = L.sftp_read(c->f, b, MIN(len, (size_t)SSH_REQ));

		if (r < 0)
			return ssh_conn_fail(c->conn, be->url, "read");
		if (r == 0) {
			memset(b, 0, len);
			return 0;
		}
		b += r;
		len -= (size_t)r;
	}
	return 0;
}

struct ssh_req {
	int id;
	size_t pos, len;         /* where in the caller's buffer */
};

/* SSH_INFLIGHT requests outstanding, answers taken in order. */
static int read_pipelined(struct backend *be, struct ssh_fconn *c, uint8_t *buf, size_t len,
			  uint64_t off)
{
	struct ssh_req ring[SSH_INFLIGHT];
	size_t sent = 0;
	int head = 0, count = 0;

	if (L.sftp_seek64(c->f, off) < 0)
		return ssh_conn_fail(c->conn, be->url, "seek");
	while (sent < len || count) {
		struct ssh_req *r;
		int got;

		while (count < SSH_INFLIGHT && sent < len) {
			r = &ring[(head + count) % SSH_INFLIGHT];
			r->pos = sent;
			r->len = MIN(len - sent, (size_t)SSH_REQ);
			r->id = L.sftp_async_read_begin(c->f, (uint32_t)r->len);
			if (r->id < 0)
				return ssh_conn_fail(c->conn, be->url, "read");
			sent += r->len;
			count++;
		}
		r = &ring[head];
		got = L.sftp_async_read(c->f, buf + r->pos, (uint32_t)r->len, (uint32_t)r->id);
		if (got < 0)
			return ssh_conn_fail(c->conn, be->url, "read");
		ssh_conn_active(c->conn);
		head = (head + 1) % SSH_INFLIGHT;
		count--;
		if ((size_t)got < r->len) {
			/* answers already requested stay queued in libssh by their id */
			int ret = read_sync(be, c, buf + r->pos + got, r->len - (size_t)got,
					    off + r->pos + (size_t)got);
			if (ret < 0)
				return ret;
			if (L.sftp_seek64(c->f, off + sent) < 0)
				return ssh_conn_fail(c->conn, be->url, "seek");
		}
	}
	return 0;
}

static int ssh_pread_be(struct backend *be, void *buf, size_t len, uint64_t off)
{
	struct ssh_priv *p = be->priv;
	uint64_t size = atomic_load(&p->size);
	struct ssh_fconn *c;
	int slot, ret;

	if (off >= size) {
		memset(buf, 0, len);
		return 0;
	}
	if (len > size - off) {
		memset((uint8_t *)buf + (size - off), 0, len - (size_t)(size - off));
		len = (size_t)(size - off);
	}
	ret = net_pool_get(&p->pool, (void **)&c, &slot);
	if (ret < 0)
		return ret;
	ssh_conn_active(c->conn);
	ret = read_pipelined(be, c, buf, len, off);
	ssh_conn_idle(c->conn);
	net_pool_put(&p->pool, slot, ret < 0);
	return ret;
}

static void grow_size(struct ssh_priv *p, uint64_t end)
{
	uint64_t cur = atomic_load(&p->size);

	while (end > cur && !atomic_compare_exchange_weak(&p->size, &cur, end))
		;
}

static int ssh_pwrite_be(struct backend *be, const void *buf, size_t len, uint64_t off)
{
	struct ssh_priv *p = be->priv;
	const uint8_t *b = buf;
	struct ssh_fconn *c;
	uint64_t end = off + len;
	int slot, ret;

	ret = net_pool_get(&p->pool, (void **)&c, &slot);
	if (ret < 0)
		return ret;
	if (L.sftp_seek64(c->f, off) < 0)
		ret = ssh_conn_fail(c->conn, be->url, "seek");
	while (ret == 0 && len) {
		ssize_t w;

		ssh_conn_active(c->conn);
		w = L.sftp_write(c->f, b, MIN(len, (size_t)SSH_REQ));

		if (w <= 0) {
			ret = ssh_conn_fail(c->conn, be->url, "write");
			break;
		}
		b += w;
		len -= (size_t)w;
	}
	ssh_conn_idle(c->conn);
	if (ret == 0)
		grow_size(p, end);
	net_pool_put(&p->pool, slot, ret < 0);
	return ret;
}

static int ssh_flush_be(struct backend *be)
{
	struct ssh_priv *p = be->priv;
	struct ssh_fconn *c;
	int slot, ret;

	if (!p->has_fsync)
		return 0;
	ret = net_pool_get(&p->pool, (void **)&c, &slot);
	if (ret < 0)
		return ret;
	ssh_conn_active(c->conn);
	if (L.sftp_fsync(c->f) < 0)
		ret = ssh_conn_fail(c->conn, be->url, "flush (fsync@openssh.com)");
	ssh_conn_idle(c->conn);
	net_pool_put(&p->pool, slot, ret < 0);
	return ret;
}

static int ssh_get_size_be(struct backend *be, uint64_t *size)
{
	struct ssh_priv *p = be->priv;
	struct ssh_fconn *c;
	bool blockdev;
	int slot, ret;

	if (p->blockdev) {
		*size = atomic_load(&p->size);
		return 0;
	}
	ret = net_pool_get(&p->pool, (void **)&c, &slot);
	if (ret < 0)
		return ret;
	ret = fstat_size(be, c, size, &blockdev);
	net_pool_put(&p->pool, slot, ret < 0);
	if (ret == 0)
		atomic_store(&p->size, *size);
	return ret;
}

static int ssh_truncate_be(struct backend *be, uint64_t size)
{
	struct ssh_priv *p = be->priv;
	struct sftp_attributes_struct attr;
	struct ssh_fconn *c;
	int slot, ret;

	ret = net_pool_get(&p->pool, (void **)&c, &slot);
	if (ret < 0)
		return ret;
	memset(&attr, 0, sizeof(attr));
	attr.flags = SSH_FILEXFER_ATTR_SIZE;
	attr.size = size;
	ssh_conn_active(c->conn);
	if (L.sftp_setstat(c->conn->sftp, p->u.path, &attr) < 0)
		ret = ssh_conn_fail(c->conn, be->url, "truncate");
	ssh_conn_idle(c->conn);
	net_pool_put(&p->pool, slot, ret < 0 && ssh_conn_broken(ret));
	if (ret == 0)
		atomic_store(&p->size, size);
	return ret;
}

const struct backend_ops ssh_backend_ops = {
	.name = "ssh",
	.match = ssh_match,
	.open = ssh_open_be,
	.close = ssh_close_be,
	.pread = ssh_pread_be,
	.pwrite = ssh_pwrite_be,
	.flush = ssh_flush_be,
	.get_size = ssh_get_size_be,
	.truncate = ssh_truncate_be,
};
#endif /* HAVE_LIBSSH */
