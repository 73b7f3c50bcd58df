/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * backend.c - the backend registry and the thin wrappers formats call.
 *
 * The wrappers keep optional operations optional: a backend without write_zeroes
 * gets zeros written in bounded chunks, one without extent() reports all data.
 */
#include "backend.h"
#include "../common/err.h"
#include "../common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

extern const struct backend_ops file_backend_ops;
#ifdef HAVE_LIBNFS
extern const struct backend_ops nfs_backend_ops;
#endif
#ifdef HAVE_LIBISCSI
extern const struct backend_ops iscsi_backend_ops;
#endif
#ifdef HAVE_LIBRBD
extern const struct backend_ops rbd_backend_ops;
#endif
#ifdef HAVE_LIBSSH
extern const struct backend_ops ssh_backend_ops;
#endif

const struct backend_ops *const backend_registry[] = {
#ifdef HAVE_LIBNFS
	&nfs_backend_ops,
#endif
#ifdef HAVE_LIBISCSI
	&iscsi_backend_ops,
#endif
#ifdef HAVE_LIBRBD
	&rbd_backend_ops,
#endif
#ifdef HAVE_LIBSSH
	&ssh_backend_ops,
#endif
	&file_backend_ops,
	NULL,
};

int backend_open(const char *url, int flags, struct backend **out)
{
	const struct backend_ops *ops = NULL;
	struct backend *be;
	int ret;

	for (int i = 0; backend_registry[i]; i++) {
		if (backend_registry[i]->match(url)) {
			ops = backend_registry[i];
			break;
		}
	}
	if (!ops)
		return err_set(-EPROTONOSUPPORT, url, "no backend handles this URL");
	be = calloc(1, sizeof(*be));
	if (!be)
		return err_set(-ENOMEM, url, "out of memory");
	be->ops = ops;
	be->flags = flags;
	be->align = 1;
	be->url = strdup(url);
	if (!be->url) {
		free(be);
		return err_set(-ENOMEM, url, "out of memory");
	}
	ret = ops->open(be, url, flags);
	if (ret < 0) {
		free(be->url);
		free(be);
		return ret;
	}
	*out = be;
	return 0;
}

void backend_close(struct backend *be)
{
	if (!be)
		return;
	be->ops->close(be);
	free(be->url);
	free(be);
}

int backend_pread(struct backend *be, void *buf, size_t len, uint64_t off)
{
	if (len == 0)
		return 0;
	return be->ops->pread(be, buf, len, off);
}

int backend_pwrite(struct backend *be, const void *buf, size_t len, uint64_t off)
{
	if (len == 0)
		return 0;
	if (!(be->flags & BE_RDWR))
		return err_set(-EBADF, be->url, "opened read-only");
	return be->ops->pwrite(be, buf, len, off);
}

int backend_copy_range(struct backend *be, uint64_t off, struct backend *src, uint64_t src_off,
		       uint64_t len)
{
	if (len == 0)
		return 0;
	if (!(be->flags & BE_RDWR))
		return err_set(-EBADF, be->url, "opened read-only");
	if (be->ops != src->ops || !be->ops->copy_range)
		return -ENOTSUP;
	return be->ops->copy_range(be, off, src, src_off, len);
}

int backend_flush(struct backend *be)
{
	if (be->flags & BE_NOFLUSH || !(be->flags & BE_RDWR))
		return 0;
	return be->ops->flush(be);
}

int backend_size(struct backend *be, uint64_t *size)
{
	return be->ops->get_size(be, size);
}

int backend_truncate(struct backend *be, uint64_t size)
{
	if (!be->ops->truncate)
		return err_set(-ENOTSUP, be->url, "this storage cannot change size");
	return be->ops->truncate(be, size);
}

int backend_write_zeroes(struct backend *be, uint64_t off, uint64_t len, int flags)
{
	const size_t chunk = 1 * MiB;
	void *zero;
	int ret;

	if (len == 0)
		return 0;
	if (be->ops->write_zeroes) {
		ret = be->ops->write_zeroes(be, off, len, flags);
		if (ret != -ENOTSUP)
			return ret;
		err_clear();
	}
	zero = backend_buf_alloc(chunk);
	if (!zero)
		return err_set(-ENOMEM, be->url, "out of memory");
	memset(zero, 0, chunk);
	ret = 0;
	while (len && ret == 0) {
		size_t n = (size_t)MIN((uint64_t)chunk, len);
		ret = backend_pwrite(be, zero, n, off);
		off += n;
		len -= n;
	}
	free(zero);
	return ret;
}

int backend_discard(struct backend *be, uint64_t off, uint64_t len)
{
	if (!be->ops->discard)
		return -ENOTSUP;
	return be->ops->discard(be, off, len);
}

int backend_preallocate(struct backend *be, uint64_t off, uint64_t len)
{
	if (!be->ops->preallocate)
		return err_set(-ENOTSUP, be->url, "this storage cannot preallocate");
	return be->ops->preallocate(be, off, len);
}

int backend_extent(struct backend *be, uint64_t off, uint64_t len, bool *data, uint64_t *run)
{
	if (!be->ops->extent) {
		*data = true;
		*run = len;
		return 0;
	}
	return be->ops->extent(be, off, len, data, run);
}

int backend_allocated_size(struct backend *be, uint64_t *size)
{
	if (!be->ops->allocated_size)
		return -ENOTSUP;
	return be->ops->allocated_size(be, size);
}

int backend_cache_flags(const char *mode, int *flags)
{
	static const struct { const char *name; int flags; } modes[] = {
		{ "writeback", 0 },
		{ "none", BE_NOCACHE },
		{ "off", BE_NOCACHE },
		{ "directsync", BE_NOCACHE | BE_DSYNC },
		{ "writethrough", BE_DSYNC },
		{ "unsafe", BE_NOFLUSH },
	};

	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		if (!strcmp(mode, modes[i].name)) {
			*flags = modes[i].flags;
			return 0;
		}
	}
	return err_set(-EINVAL, NULL, "Invalid cache option: %s", mode);
}

void *backend_buf_alloc(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, len ? len : 1))
		return NULL;
	return p;
}
