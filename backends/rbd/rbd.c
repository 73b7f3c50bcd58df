/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rbd.c - the Ceph RBD backend: images in a RADOS pool through librbd.
 *
 * Name: rbd:pool[/namespace]/image[@snap][:id=USER][:conf=FILE][:keyring=FILE][:key=val]
 * (or rbd://pool/image[@snap]?id=..; parsed in ../net.c).  A few more key=value
 * pairs (mon_host, key, auth_*) are passed to rados_conf_set(); unlike qemu, no
 * other Ceph option is, so a name cannot make librados write files (net.h).  A
 * ":key=" secret is masked in messages, and a keyring file is the way to give
 * cephx credentials.
 * librbd itself is loaded on the first open (rbd_lib.c), not linked.
 *
 * One cluster handle, one I/O context and one image handle serve every thread:
 * librbd's image handle is thread-safe, and each synchronous call keeps its own
 * request in flight, so copy workers overlap their I/O.  (Several image handles
 * from one client would fight over the exclusive-lock feature.)  An image grows
 * when a write lands past its end, as qemu's rbd driver does; formats rely on
 * that for files too.  Mon and OSD operations time out (IMGTOOL_NET_TIMEOUT).
 */
#ifdef HAVE_LIBRBD
#include "../backend.h"
#include "../net.h"
#include "../../common/err.h"
#include "../../common/util.h"
#include "rbd_lib.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rbd_priv {
	struct rbd_spec s;
	rados_t cluster;
	rados_ioctx_t io;
	rbd_image_t img;
	pthread_mutex_t size_lock; /* guards size and growing the image */
	uint64_t size;
};

static bool rbd_match(const char *url)
{
	return !strncmp(url, "rbd:", 4);
}

static int rbd_err(struct backend *be, int ret, const char *what)
{
	if (ret == -ETIMEDOUT)
		return err_set(ret, be->url, "%s: the Ceph cluster did not answer within %d s",
			       what, net_timeout());
	if (ret == -EACCES || ret == -EPERM)
		return err_set(ret, be->url, "%s: permission denied", what);
	if (ret == -EROFS)
		return err_set(ret, be->url, "%s: the image is read-only", what);
	if (ret == -ENOSPC || ret == -EDQUOT)
		return err_set(ret, be->url, "%s: the pool is full", what);
	return err_set(ret, be->url, "%s failed: %s", what, strerror(-ret));
}

static int connect_cluster(struct backend *be, struct rbd_priv *p)
{
	char t[16];
	int ret;

	ret = rbd_lib.rados_create(&p->cluster, p->s.id);
	if (ret < 0)
		return rbd_err(be, ret, "rados_create");
	ret = rbd_lib.rados_conf_read_file(p->cluster, p->s.conf);
	if (ret < 0 && p->s.conf)
		return err_set(ret, be->url, "cannot read the Ceph configuration '%s': %s",
			       p->s.conf, strerror(-ret));
	rbd_lib.rados_conf_parse_env(p->cluster, NULL);
	if (p->s.keyring && (ret = rbd_lib.rados_conf_set(p->cluster, "keyring", p->s.keyring)) < 0)
		return err_set(ret, be->url, "bad keyring option");
	for (int i = 0; i < p->s.nopts; i++) {
		ret = rbd_lib.rados_conf_set(p->cluster, p->s.keys[i], p->s.vals[i]);
		if (ret < 0)
			return err_set(ret, be->url, "unknown or bad Ceph option '%s'", p->s.keys[i]);
	}
	snprintf(t, sizeof(t), "%d", net_timeout());
	rbd_lib.rados_conf_set(p->cluster, "client_mount_timeout", t);
	rbd_lib.rados_conf_set(p->cluster, "rados_mon_op_timeout", t);
	rbd_lib.rados_conf_set(p->cluster, "rados_osd_op_timeout", t);
	ret = rbd_lib.rados_connect(p->cluster);
	if (ret == -EACCES || ret == -EPERM || ret == -EKEYREJECTED || ret == -ENOKEY)
		return err_set(-EACCES, be->url, "the Ceph cluster refused our credentials (check id and keyring)");
	if (ret < 0)
		return err_set(ret, be->url, "cannot connect to the Ceph cluster: %s",
			       ret == -ETIMEDOUT ? "no monitor answered in time" : strerror(-ret));
	ret = rbd_lib.rados_ioctx_create(p->cluster, p->s.pool, &p->io);
	if (ret == -ENOENT)
		return err_set(ret, be->url, "no such pool '%s'", p->s.pool);
	if (ret < 0)
		return rbd_err(be, ret, "opening the pool");
	if (p->s.ns)
		rbd_lib.rados_ioctx_set_namespace(p->io, p->s.ns);
	return 0;
}

static int open_image(struct backend *be, struct rbd_priv *p, int flags)
{
	int ret;

	if (p->s.snap) {
		if (flags & BE_RDWR)
			return err_set(-EROFS, be->url, "snapshots are read-only");
		ret = rbd_lib.rbd_open_read_only(p->io, p->s.image, &p->img, p->s.snap);
		if (ret == -ENOENT) {
			/* which is missing: the image or the snapshot? */
			rbd_image_t img;
			if (rbd_lib.rbd_open_read_only(p->io, p->s.image, &img, NULL) == 0) {
				rbd_lib.rbd_close(img);
				return err_set(ret, be->url, "no such snapshot '%s'", p->s.snap);
			}
		}
	} else if (flags & BE_RDWR) {
		ret = rbd_lib.rbd_open(p->io, p->s.image, &p->img, NULL);
		if (ret == -ENOENT && (flags & BE_CREATE)) {
			rbd_image_options_t opts;
			rbd_lib.rbd_image_options_create(&opts);
			ret = rbd_lib.rbd_create4(p->io, p->s.image, 0, opts);
			rbd_lib.rbd_image_options_destroy(opts);
			if (ret < 0)
				return rbd_err(be, ret, "creating the image");
			ret = rbd_lib.rbd_open(p->io, p->s.image, &p->img, NULL);
		} else if (ret == 0 && (flags & BE_CREATE)) {
			/* create means a fresh object, as O_TRUNC does for files */
			ret = rbd_lib.rbd_resize(p->img, 0);
			if (ret < 0) {
				rbd_lib.rbd_close(p->img);
				p->img = NULL;
				return rbd_err(be, ret, "truncating the existing image");
			}
		}
	} else {
		ret = rbd_lib.rbd_open_read_only(p->io, p->s.image, &p->img, NULL);
	}
	if (ret == -ENOENT)
		return err_set(ret, be->url, "no such image");
	if (ret < 0) {
		p->img = NULL;
		return rbd_err(be, ret, "opening the image");
	}
	ret = rbd_lib.rbd_get_size(p->img, &p->size);
	if (ret < 0)
		return rbd_err(be, ret, "reading the image size");
	be->zero_init = (flags & BE_CREATE) != 0;
	return 0;
}

static void rbd_close_be(struct backend *be)
{
	struct rbd_priv *p = be->priv;

	if (!p)
		return;
	if (p->img)
		rbd_lib.rbd_close(p->img);
	if (p->io)
		rbd_lib.rados_ioctx_destroy(p->io);
	if (p->cluster)
		rbd_lib.rados_shutdown(p->cluster);
	rbd_spec_free(&p->s);
	pthread_mutex_destroy(&p->size_lock);
	free(p);
	be->priv = NULL;
}

static int rbd_open_be(struct backend *be, const char *url, int flags)
{
	struct rbd_priv *p;
	int ret;

	ret = net_backend_name(be, url);
	if (ret < 0)
		return ret;
	p = calloc(1, sizeof(*p));
	if (!p)
		return err_set(-ENOMEM, be->url, "out of memory");
	pthread_mutex_init(&p->size_lock, NULL);
	be->priv = p;
	/* the name is judged (its options allow-listed) before librbd is even
	 * loaded, which happens only now so commands without rbd: never pay for it */
	ret = rbd_spec_parse(url, &p->s);
	if (ret == 0)
		ret = rbd_lib_load(be->url);
	if (ret == 0)
		ret = connect_cluster(be, p);
	if (ret == 0)
		ret = open_image(be, p, flags);
	if (ret < 0)
		rbd_close_be(be);
	return ret;
}

static int rbd_pread_be(struct backend *be, void *buf, size_t len, uint64_t off)
{
	struct rbd_priv *p = be->priv;
	uint8_t *b = buf;
	uint64_t size;

	pthread_mutex_lock(&p->size_lock);
	size = p->size;
	pthread_mutex_unlock(&p->size_lock);
	/* bytes past the end read as zeros */
	if (off >= size) {
		memset(buf, 0, len);
		return 0;
	}
	if (len > size - off) {
		memset(b + (size - off), 0, len - (size_t)(size - off));
		len = (size_t)(size - off);
	}
	while (len) {
		size_t n = MIN(len, (size_t)(64 * MiB));
		ssize_t r = rbd_lib.rbd_read(p->img, off, n, (char *)b);

		if (r < 0)
			return rbd_err(be, (int)r, "read");
		if (r == 0) {
			memset(b, 0, len);
			return 0;
		}
		b += r;
		off += (uint64_t)r;
		len -= (size_t)r;
	}
	return 0;
}

/* Make the image at least end bytes long (a write past the end grows it). */
static int grow_to(struct backend *be, uint64_t end)
{
	struct rbd_priv *p = be->priv;
	int ret = 0;

	pthread_mutex_lock(&p->size_lock);
	if (end > p->size) {
		ret = rbd_lib.rbd_resize(p->img, end);
		if (ret < 0)
			ret = rbd_err(be, ret, "growing the image");
		else
			p->size = end;
	}
	pthread_mutex_unlock(&p->size_lock);
	return ret;
}

static bool past_end(struct rbd_priv *p, uint64_t end)
{
	bool r;

	pthread_mutex_lock(&p->size_lock);
	r = end > p->size;
	pthread_mutex_unlock(&p->size_lock);
	return r;
}

static int rbd_pwrite_be(struct backend *be, const void *buf, size_t len, uint64_t off)
{
	struct rbd_priv *p = be->priv;
	const uint8_t *b = buf;
	uint64_t end;
	int ret;

	if (!add_ok(off, len, &end))
		return err_set(-EINVAL, be->url, "write beyond the largest offset");
	if (past_end(p, end) && (ret = grow_to(be, end)) < 0)
		return ret;
	while (len) {
		size_t n = MIN(len, (size_t)(64 * MiB));
		ssize_t r = rbd_lib.rbd_write(p->img, off, n, (const char *)b);

		if (r < 0)
			return rbd_err(be, (int)r, "write");
		if (r == 0)
			return err_set(-EIO, be->url, "write at offset %#llx made no progress",
				       (unsigned long long)off);
		b += r;
		off += (uint64_t)r;
		len -= (size_t)r;
	}
	if (be->flags & BE_DSYNC) {
		ret = rbd_lib.rbd_flush(p->img);
		if (ret < 0)
			return rbd_err(be, ret, "flush");
	}
	return 0;
}

static int rbd_flush_be(struct backend *be)
{
	struct rbd_priv *p = be->priv;
	int ret = rbd_lib.rbd_flush(p->img);

	return ret < 0 ? rbd_err(be, ret, "flush") : 0;
}

static int rbd_get_size_be(struct backend *be, uint64_t *size)
{
	struct rbd_priv *p = be->priv;

	pthread_mutex_lock(&p->size_lock);
	*size = p->size;
	pthread_mutex_unlock(&p->size_lock);
	return 0;
}

static int rbd_truncate_be(struct backend *be, uint64_t size)
{
	struct rbd_priv *p = be->priv;
	int ret;

	pthread_mutex_lock(&p->size_lock);
	ret = rbd_lib.rbd_resize(p->img, size);
	if (ret == 0)
		p->size = size;
	pthread_mutex_unlock(&p->size_lock);
	return ret < 0 ? rbd_err(be, ret, "resize") : 0;
}

static int rbd_write_zeroes_be(struct backend *be, uint64_t off, uint64_t len, int flags)
{
	struct rbd_priv *p = be->priv;
	uint64_t end;
	int ret;

	if (!add_ok(off, len, &end))
		return err_set(-EINVAL, be->url, "zeroing beyond the largest offset");
	if (past_end(p, end) && (ret = grow_to(be, end)) < 0)
		return ret;
	while (len) {
		size_t n = (size_t)MIN(len, 1 * GiB);
		ssize_t r = rbd_lib.rbd_write_zeroes(p->img, off, n, 0, 0);

		if (r == -EOPNOTSUPP || r == -ENOTSUP)
			return -ENOTSUP;
		if (r < 0)
			return rbd_err(be, (int)r, "write zeroes");
		off += n;
		len -= n;
	}
	return 0;
}

static int rbd_discard_be(struct backend *be, uint64_t off, uint64_t len)
{
	struct rbd_priv *p = be->priv;
	int ret = rbd_lib.rbd_discard(p->img, off, len);

	return ret < 0 ? rbd_err(be, ret, "discard") : 0;
}

static int rbd_allocated_be(struct backend *be, uint64_t *size)
{
	return -ENOTSUP;   /* would need a full diff walk; qemu reports none either */
}

const struct backend_ops rbd_backend_ops = {
	.name = "rbd",
	.match = rbd_match,
	.open = rbd_open_be,
	.close = rbd_close_be,
	.pread = rbd_pread_be,
	.pwrite = rbd_pwrite_be,
	.flush = rbd_flush_be,
	.get_size = rbd_get_size_be,
	.truncate = rbd_truncate_be,
	.write_zeroes = rbd_write_zeroes_be,
	.discard = rbd_discard_be,
	.allocated_size = rbd_allocated_be,
};
#endif /* HAVE_LIBRBD */
