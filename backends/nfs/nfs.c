/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nfs.c - the NFS backend: files on an NFS server through libnfs, with no mount.
 *
 * URL: nfs://host[:port]/export/dir/file[?version=3|4&uid=N&gid=N&nfsport=N&mountport=N]
 * (parsed in ../net.c).  libnfs's synchronous API serves one caller at a time per
 * context, so every concurrent caller takes its own connection (context + mount +
 * file handle) from a pool; copy workers thus each have a TCP connection and run
 * in parallel.  Every RPC has a timeout (IMGTOOL_NET_TIMEOUT) and libnfs does not
 * reconnect behind our back, so a dead server ends in an error, never a hang.
 */
#ifdef HAVE_LIBNFS
#include "../backend.h"
#include "../net.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <nfsc/libnfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct nfs_conn {
	struct nfs_context *nfs;
	struct nfsfh *fh;
};

struct nfs_priv {
	struct backend *be;
	struct nfs_url_parts u;
	struct net_pool pool;
	int oflags;           /* for connections after the first */
};

static bool nfs_match(const char *url)
{
	return !strncmp(url, "nfs://", 6);
}

/* Turn a libnfs failure into the server's meaning. */
static int nfs_fail(struct backend *be, int ret, struct nfs_context *nfs, const char *what)
{
	const char *detail = nfs ? nfs_get_error(nfs) : "";
	int e = ret < 0 ? -ret : EIO;

	if (!detail)
		detail = "";
	if (strstr(detail, "NOENT") || e == ENOENT)
		return err_set(-ENOENT, be->url, "%s: no such file or directory", what);
	if (strstr(detail, "ACCES") || strstr(detail, "PERM") || e == EACCES || e == EPERM)
		return err_set(-EACCES, be->url, "%s: permission denied", what);
	if (strstr(detail, "ROFS") || e == EROFS)
		return err_set(-EROFS, be->url, "%s: read-only export", what);
	if (strstr(detail, "NOSPC") || e == ENOSPC)
		return err_set(-ENOSPC, be->url, "%s: no space left on the server", what);
	if (strstr(detail, "imed out") || strstr(detail, "timeout") || e == ETIMEDOUT)
		return err_set(-ETIMEDOUT, be->url, "%s: the server did not answer within %d s",
			       what, net_timeout());
	if (e <= 0 || e > 4095)
		e = EIO;
	return err_set(-e, be->url, "%s failed: %s", what, *detail ? detail : strerror(e));
}

static void nfs_conn_drop(void *arg, void *conn)
{
	struct nfs_conn *c = conn;

	if (c->fh)
		nfs_close(c->nfs, c->fh);
	nfs_destroy_context(c->nfs);
	free(c);
}

static int nfs_connect_flags(struct nfs_priv *p, int oflags, struct nfs_conn **out)
{
	struct backend *be = p->be;
	struct nfs_conn *c = calloc(1, sizeof(*c));
	int ret;

	if (!c)
		return err_set(-ENOMEM, be->url, "out of memory");
	c->nfs = nfs_init_context();
	if (!c->nfs) {
		free(c);
		return err_set(-ENOMEM, be->url, "cannot create an NFS context");
	}
	nfs_set_timeout(c->nfs, net_timeout() * 1000);
	nfs_set_autoreconnect(c->nfs, 0);
	if (p->u.version)
		nfs_set_version(c->nfs, p->u.version);
	if (p->u.uid >= 0)
		nfs_set_uid(c->nfs, p->u.uid);
	if (p->u.gid >= 0)
		nfs_set_gid(c->nfs, p->u.gid);
	if (p->u.nfsport || p->u.mountport) {
		/* libnfs 4.0 sets fixed ports only through its URL arguments */
		char args[128];
		struct nfs_url *nu;

		snprintf(args, sizeof(args), "nfs://localhost/?%s%.0d%s%.0d",
			 p->u.nfsport ? "nfsport=" : "", p->u.nfsport,
			 p->u.nfsport && p->u.mountport ? "&mountport=" :
			 p->u.mountport ? "mountport=" : "", p->u.mountport);
		nu = nfs_parse_url_dir(c->nfs, args);
		if (nu)
			nfs_destroy_url(nu);
	}
	if (p->u.debug)
		nfs_set_debug(c->nfs, p->u.debug);
	ret = nfs_mount(c->nfs, p->u.host, p->u.export);
	if (ret < 0) {
		const char *d = nfs_get_error(c->nfs);
		if (d && (strstr(d, "NOENT") || strstr(d, "ACCES") || strstr(d, "PERM")))
			ret = err_set(strstr(d, "NOENT") ? -ENOENT : -EACCES, be->url,
				      "cannot mount the export '%s': %s", p->u.export,
				      strstr(d, "NOENT") ? "no such export" :
				      "permission denied (or no such export)");
		else if (d && (strstr(d, "onnection refused") || strstr(d, "connect") ||
			       strstr(d, "nfs_service failed")))   /* libnfs: the socket failed */
			ret = err_set(-ECONNREFUSED, be->url, "cannot reach the NFS server '%s': %s",
				      p->u.host, d);
		else
			ret = nfs_fail(be, ret, c->nfs, "mount");
		goto fail;
	}
	ret = nfs_open2(c->nfs, p->u.file, oflags, 0644, &c->fh);
	if (ret < 0) {
		ret = nfs_fail(be, ret, c->nfs, "open");
		goto fail;
	}
	*out = c;
	return 0;
fail:
	nfs_conn_drop(p, c);
	return ret;
}

static int nfs_conn_make(void *arg, void **conn)
{
	struct nfs_priv *p = arg;

	return nfs_connect_flags(p, p->oflags, (struct nfs_conn **)conn);
}

static int nfs_open_be(struct backend *be, const char *url, int flags)
{
	struct nfs_priv *p;
	struct nfs_conn *c;
	int oflags = (flags & BE_RDWR) ? O_RDWR : O_RDONLY;
	int ret;

	ret = net_backend_name(be, url);
	if (ret < 0)
		return ret;
	p = calloc(1, sizeof(*p));
	if (!p)
		return err_set(-ENOMEM, be->url, "out of memory");
	p->be = be;
	ret = nfs_url_parse(url, &p->u);
	if (ret < 0)
		goto fail;
	if (flags & BE_DSYNC)
		oflags |= O_SYNC;
	p->oflags = oflags;
	/* the first connection creates/truncates; the others just open */
	ret = nfs_connect_flags(p, (flags & BE_CREATE) ? oflags | O_CREAT | O_TRUNC : oflags, &c);
	if (ret < 0)
		goto fail;
	net_pool_init(&p->pool, NET_POOL_MAX, nfs_conn_make, nfs_conn_drop, p);
	net_pool_add(&p->pool, c);
	be->zero_init = (flags & BE_CREATE) != 0;
	be->priv = p;
	return 0;
fail:
	nfs_url_free(&p->u);
	free(p);
	return ret;
}

static void nfs_close_be(struct backend *be)
{
	struct nfs_priv *p = be->priv;

	if (!p)
		return;
	net_pool_destroy(&p->pool);
	nfs_url_free(&p->u);
	free(p);
}

/* Did this failure kill the connection (so it must not be reused)? */
static bool conn_broken(int ret)
{
	return ret == -ETIMEDOUT || ret == -EIO || ret == -ECONNRESET || ret == -EPIPE ||
	       ret == -ENOTCONN;
}

static int nfs_pread_be(struct backend *be, void *buf, size_t len, uint64_t off)
{
	struct nfs_priv *p = be->priv;
	struct nfs_conn *c;
	uint8_t *b = buf;
	int slot, ret;

	ret = net_pool_get(&p->pool, (void **)&c, &slot);
	if (ret < 0)
		return ret;
	while (len) {
		uint64_t max = nfs_get_readmax(c->nfs);
		size_t n = (size_t)MIN((uint64_t)len, max ? max : 1 * MiB);
		int r = nfs_pread(c->nfs, c->fh, off, n, b);

		if (r < 0) {
			ret = nfs_fail(be, r, c->nfs, "read");
			break;
		}
		if (r == 0) {          /* end of file: the rest reads as zeros */
			memset(b, 0, len);
			break;
		}
		b += r;
		off += (uint64_t)r;
		len -= (size_t)r;
	}
	net_pool_put(&p->pool, slot, conn_broken(ret));
	return ret;
}

static int nfs_pwrite_be(struct backend *be, const void *buf, size_t len, uint64_t off)
{
	struct nfs_priv *p = be->priv;
	struct nfs_conn *c;
	const uint8_t *b = buf;
	int slot, ret;

	ret = net_pool_get(&p->pool, (void **)&c, &slot);
	if (ret < 0)
		return ret;
	while (len) {
		uint64_t max = nfs_get_writemax(c->nfs);
		size_t n = (size_t)MIN((uint64_t)len, max ? max : 1 * MiB);
		int r = nfs_pwrite(c->nfs, c->fh, off, n, (void *)b);

		if (r <= 0) {
			ret = nfs_fail(be, r < 0 ? r : -EIO, c->nfs, "write");
			break;
		}
		b += r;
		off += (uint64_t)r;
		len -= (size_t)r;
	}
	net_pool_put(&p->pool, slot, conn_broken(ret));
	return ret;
}

/* One COMMIT makes every connection's unstable writes to the file durable: the
 * server commits per file, not per client connection. */
static int nfs_flush_be(struct backend *be)
{
	struct nfs_priv *p = be->priv;
	struct nfs_conn *c;
	int slot, ret;

	ret = net_pool_get(&p->pool, (void **)&c, &slot);
	if (ret < 0)
		return ret;
	ret = nfs_fsync(c->nfs, c->fh);
	if (ret < 0)
		ret = nfs_fail(be, ret, c->nfs, "flush (COMMIT)");
	net_pool_put(&p->pool, slot, conn_broken(ret));
	return ret;
}

static int nfs_stat_be(struct backend *be, struct nfs_stat_64 *st)
{
	struct nfs_priv *p = be->priv;
	struct nfs_conn *c;
	int slot, ret;

	ret = net_pool_get(&p->pool, (void **)&c, &slot);
	if (ret < 0)
		return ret;
	ret = nfs_fstat64(c->nfs, c->fh, st);
	if (ret < 0)
		ret = nfs_fail(be, ret, c->nfs, "stat");
	net_pool_put(&p->pool, slot, conn_broken(ret));
	return ret;
}

static int nfs_get_size_be(struct backend *be, uint64_t *size)
{
	struct nfs_stat_64 st;
	int ret = nfs_stat_be(be, &st);

	if (ret == 0)
		*size = st.nfs_size;
	return ret;
}

static int nfs_allocated_be(struct backend *be, uint64_t *size)
{
	struct nfs_stat_64 st;
	int ret = nfs_stat_be(be, &st);

	if (ret == 0)
		*size = st.nfs_blocks * 512;
	return ret;
}

static int nfs_truncate_be(struct backend *be, uint64_t size)
{
	struct nfs_priv *p = be->priv;
	struct nfs_conn *c;
	int slot, ret;

	ret = net_pool_get(&p->pool, (void **)&c, &slot);
	if (ret < 0)
		return ret;
	ret = nfs_ftruncate(c->nfs, c->fh, size);
	if (ret < 0)
		ret = nfs_fail(be, ret, c->nfs, "truncate");
	net_pool_put(&p->pool, slot, conn_broken(ret));
	return ret;
}

const struct backend_ops nfs_backend_ops = {
	.name = "nfs",
	.match = nfs_match,
	.open = nfs_open_be,
	.close = nfs_close_be,
	.pread = nfs_pread_be,
	.pwrite = nfs_pwrite_be,
	.flush = nfs_flush_be,
	.get_size = nfs_get_size_be,
	.truncate = nfs_truncate_be,
	.allocated_size = nfs_allocated_be,
};
#endif /* HAVE_LIBNFS */
