/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * file.c - the file backend: regular files and block devices on this host.
 *
 * A P2V source is often a whole physical disk (/dev/sdb), so block devices are
 * first-class: their size comes from BLKGETSIZE64, zeroing from BLKZEROOUT and
 * discard from BLKDISCARD.  Regular files use fallocate() to punch or zero and
 * SEEK_DATA/SEEK_HOLE to report holes, which is what lets convert skip them.
 *
 * Copy offloading (convert -C) tries a reflink (FICLONERANGE: the two files share
 * the blocks, on XFS with reflink=1, btrfs, ...) where the range is aligned to the
 * filesystem block, then copy_file_range() (the kernel copies, or reflinks, or the
 * NFS server copies); where neither works the caller copies through memory.
 *
 * Cache mode none/directsync opens with O_DIRECT.  O_DIRECT needs aligned buffers,
 * offsets and lengths; callers may pass anything, so unaligned requests go through
 * an aligned bounce buffer (and writes through read-modify-write under a lock so
 * that two threads patching the same block cannot lose each other's bytes).
 */
#include "../backend.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

struct file_priv {
	int fd;
	bool is_block;
	uint64_t block_size;      /* device size for block devices */
	pthread_mutex_t rmw_lock; /* serialises unaligned O_DIRECT writes */
};

static int file_get_size(struct backend *be, uint64_t *size);

static bool file_match(const char *url)
{
	if (!strncmp(url, "file:", 5))
		return true;
	return !strstr(url, "://") && strncmp(url, "rbd:", 4) != 0;
}

static const char *file_path(const char *url)
{
	if (!strncmp(url, "file://", 7))
		return url + 7;
	if (!strncmp(url, "file:", 5))
		return url + 5;
	return url;
}

static int file_open(struct backend *be, const char *url, int flags)
{
	const char *path = file_path(url);
	struct file_priv *p;
	struct stat st;
	int oflags = O_CLOEXEC;

	oflags |= (flags & BE_RDWR) ? O_RDWR : O_RDONLY;
	if (flags & BE_DSYNC)
		oflags |= O_DSYNC;
	if (flags & BE_NOCACHE)
		oflags |= O_DIRECT;
	if (flags & BE_CREATE)
		oflags |= O_CREAT;

	p = calloc(1, sizeof(*p));
	if (!p)
		return err_set(-ENOMEM, url, "out of memory");
	p->fd = open(path, oflags, 0644);
	if (p->fd < 0 && errno == EINVAL && (flags & BE_NOCACHE)) {
		free(p);
		return err_set(-EINVAL, url,
			       "the filesystem does not support O_DIRECT (cache mode none/directsync); use another cache mode");
	}
	if (p->fd < 0) {
		int e = errno;
		free(p);
		return err_set(-e, url, "Could not open '%s': %s", path, strerror(e));
	}
	if (fstat(p->fd, &st) < 0) {
		int e = errno;
		close(p->fd);
		free(p);
		return err_set(-e, url, "stat failed: %s", strerror(e));
	}
	if (S_ISDIR(st.st_mode)) {
		close(p->fd);
		free(p);
		return err_set(-EISDIR, url, "is a directory");
	}
	p->is_block = S_ISBLK(st.st_mode);
	if (p->is_block && ioctl(p->fd, BLKGETSIZE64, &p->block_size) < 0) {
		int e = errno;
		close(p->fd);
		free(p);
		return err_set(-e, url, "cannot read the device size: %s", strerror(e));
	}
	/* A new regular file is a run of zeros however we extend it. */
	if ((flags & BE_CREATE) && !p->is_block) {
		if (ftruncate(p->fd, 0) < 0) {
			int e = errno;
			close(p->fd);
			free(p);
			return err_set(-e, url, "Could not truncate '%s': %s", path, strerror(e));
		}
		be->zero_init = true;
	}
	if (flags & BE_NOCACHE) {
		int ssz = 512;
		if (p->is_block)
			ioctl(p->fd, BLKSSZGET, &ssz);
		be->align = (uint32_t)MAX(ssz, 4096);
	}
	pthread_mutex_init(&p->rmw_lock, NULL);
	be->priv = p;
	return 0;
}

static void file_close(struct backend *be)
{
	struct file_priv *p = be->priv;

	if (!p)
		return;
	close(p->fd);
	pthread_mutex_destroy(&p->rmw_lock);
	free(p);
}

/* Plain read loop; bytes past EOF read as zeros. */
static int file_pread_plain(struct backend *be, void *buf, size_t len, uint64_t off)
{
	struct file_priv *p = be->priv;
	uint8_t *b = buf;

	while (len) {
		ssize_t n = pread(p->fd, b, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_set(-errno, be->url, "read error at offset %#llx: %s",
				       (unsigned long long)off, strerror(errno));
		}
		if (n == 0) {
			memset(b, 0, len);
			return 0;
		}
		b += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int file_pwrite_plain(struct backend *be, const void *buf, size_t len, uint64_t off)
{
	struct file_priv *p = be->priv;
	const uint8_t *b = buf;

	while (len) {
		ssize_t n = pwrite(p->fd, b, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_set(-errno, be->url, "write error at offset %#llx: %s",
				       (unsigned long long)off, strerror(errno));
		}
		b += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static bool io_aligned(struct backend *be, const void *buf, size_t len, uint64_t off)
{
	uint64_t a = be->align;

	return a <= 1 || (is_aligned(off, a) && is_aligned(len, a) &&
			  is_aligned((uintptr_t)buf, a));
}

/* O_DIRECT and unaligned: read the covering aligned range into a bounce buffer. */
static int file_pread_bounce(struct backend *be, void *buf, size_t len, uint64_t off)
{
	uint64_t start = align_down(off, be->align);
	uint64_t end = align_up(off + len, be->align);
	size_t blen = (size_t)(end - start);
	uint8_t *bounce = backend_buf_alloc(blen);
	int ret;

	if (!bounce)
		return err_set(-ENOMEM, be->url, "out of memory");
	ret = file_pread_plain(be, bounce, blen, start);
	if (ret == 0)
		memcpy(buf, bounce + (off - start), len);
	free(bounce);
	return ret;
}

static int file_pwrite_rmw(struct backend *be, const void *buf, size_t len, uint64_t off)
{
	struct file_priv *p = be->priv;
	uint64_t start = align_down(off, be->align);
	uint64_t end = align_up(off + len, be->align);
	size_t blen = (size_t)(end - start);
	uint8_t *bounce = backend_buf_alloc(blen);
	uint64_t old_size = 0;
	int ret;

	if (!bounce)
		return err_set(-ENOMEM, be->url, "out of memory");
	pthread_mutex_lock(&p->rmw_lock);
	ret = p->is_block ? 0 : file_get_size(be, &old_size);
	if (ret == 0)
		ret = file_pread_plain(be, bounce, blen, start);
	if (ret == 0) {
		memcpy(bounce + (off - start), buf, len);
		ret = file_pwrite_plain(be, bounce, blen, start);
	}
	/* The aligned write may have pushed the end of a regular file past the
	 * caller's last byte: cut it back so the file size stays what was asked. */
	if (ret == 0 && !p->is_block && old_size < end &&
	    ftruncate(p->fd, (off_t)MAX(old_size, off + len)) < 0)
		ret = err_set(-errno, be->url, "Could not resize file: %s", strerror(errno));
	pthread_mutex_unlock(&p->rmw_lock);
	free(bounce);
	return ret;
}

static int file_pread(struct backend *be, void *buf, size_t len, uint64_t off)
{
	if (io_aligned(be, buf, len, off))
		return file_pread_plain(be, buf, len, off);
	return file_pread_bounce(be, buf, len, off);
}

static int file_pwrite(struct backend *be, const void *buf, size_t len, uint64_t off)
{
	if (io_aligned(be, buf, len, off))
		return file_pwrite_plain(be, buf, len, off);
	return file_pwrite_rmw(be, buf, len, off);
}

static int file_flush(struct backend *be)
{
	struct file_priv *p = be->priv;

	if (fdatasync(p->fd) < 0)
		return err_set(-errno, be->url, "flush failed: %s", strerror(errno));
	return 0;
}

static int file_get_size(struct backend *be, uint64_t *size)
{
	struct file_priv *p = be->priv;
	struct stat st;

	if (p->is_block) {
		*size = p->block_size;
		return 0;
	}
	if (fstat(p->fd, &st) < 0)
		return err_set(-errno, be->url, "stat failed: %s", strerror(errno));
	*size = (uint64_t)st.st_size;
	return 0;
}

static int file_truncate(struct backend *be, uint64_t size)
{
	struct file_priv *p = be->priv;

	if (p->is_block) {
		if (size > p->block_size)
			return err_set(-EINVAL, be->url,
				       "the device holds %llu bytes, fewer than the %llu needed",
				       (unsigned long long)p->block_size,
				       (unsigned long long)size);
		return 0;
	}
	if (ftruncate(p->fd, (off_t)size) < 0)
		return err_set(-errno, be->url, "Could not resize file: %s", strerror(errno));
	return 0;
}

static int file_extend_to(struct backend *be, uint64_t end)
{
	uint64_t size;
	int ret = file_get_size(be, &size);

	if (ret < 0)
		return ret;
	if (end > size)
		return file_truncate(be, end);
	return 0;
}

static int file_write_zeroes(struct backend *be, uint64_t off, uint64_t len, int flags)
{
	struct file_priv *p = be->priv;

	if (p->is_block) {
		uint64_t range[2] = { off, len };
		if (!is_aligned(off, 512) || !is_aligned(len, 512))
			return -ENOTSUP;
		if (ioctl(p->fd, BLKZEROOUT, range) == 0)
			return 0;
		return -ENOTSUP;
	}
	if (flags & BE_ZERO_MAY_UNMAP) {
		if (fallocate(p->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			      (off_t)len) == 0)
			return file_extend_to(be, off + len);
	}
	if (fallocate(p->fd, FALLOC_FL_ZERO_RANGE, (off_t)off, (off_t)len) == 0)
		return 0;
	if (errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL)
		return -ENOTSUP;
	return err_set(-errno, be->url, "zeroing failed: %s", strerror(errno));
}

static int file_discard(struct backend *be, uint64_t off, uint64_t len)
{
	struct file_priv *p = be->priv;

	if (p->is_block) {
		uint64_t range[2] = { off, len };
		return ioctl(p->fd, BLKDISCARD, range) == 0 ? 0 : -ENOTSUP;
	}
	if (fallocate(p->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
		      (off_t)len) == 0)
		return 0;
	return -ENOTSUP;
}

static int file_preallocate(struct backend *be, uint64_t off, uint64_t len)
{
	struct file_priv *p = be->priv;
	int e;

	if (p->is_block)
		return 0;
	e = posix_fallocate(p->fd, (off_t)off, (off_t)len);
	if (e)
		return err_set(-e, be->url, "Could not preallocate data: %s", strerror(e));
	return 0;
}

static int file_extent(struct backend *be, uint64_t off, uint64_t len, bool *data,
		       uint64_t *run)
{
	struct file_priv *p = be->priv;
	uint64_t size;
	off_t d, h;

	if (p->is_block)
		goto all_data;
	if (file_get_size(be, &size) < 0)
		return -EIO;
	if (off >= size) {
		*data = false;
		*run = len;
		return 0;
	}
	d = lseek(p->fd, (off_t)off, SEEK_DATA);
	if (d < 0) {
		if (errno == ENXIO) {   /* no data after off */
			*data = false;
			*run = len;
			return 0;
		}
		goto all_data;
	}
	if ((uint64_t)d > off) {
		*data = false;
		*run = MIN(len, (uint64_t)d - off);
		return 0;
	}
	h = lseek(p->fd, (off_t)off, SEEK_HOLE);
	if (h < 0 || (uint64_t)h <= off)
		goto all_data;
	*data = true;
	*run = MIN(len, (uint64_t)h - off);
	return 0;
all_data:
	*data = true;
	*run = len;
	return 0;
}

static int file_allocated_size(struct backend *be, uint64_t *size)
{
	struct file_priv *p = be->priv;
	struct stat st;

	if (p->is_block)
		return file_get_size(be, size);
	if (fstat(p->fd, &st) < 0)
		return -errno;
	*size = (uint64_t)st.st_blocks * 512;
	return 0;
}

/* errno values that mean "this pair of files cannot do that", not a failure */
static bool offload_unsupported(int e)
{
	return e == EOPNOTSUPP || e == ENOTSUP || e == EXDEV || e == EINVAL || e == ENOSYS ||
	       e == ENOTTY || e == EBADF || e == ETXTBSY || e == EPERM;
}

/* A reflink of the whole range: 1 done, 0 not possible here, or a negative errno. */
static int file_clone_range(struct backend *be, uint64_t off, struct backend *src,
			    uint64_t src_off, uint64_t len)
{
	struct file_priv *d = be->priv, *sp = src->priv;
	struct file_clone_range r = {
		.src_fd = sp->fd, .src_offset = src_off, .src_length = len, .dest_offset = off,
	};
	struct stat st;

	if (fstat(d->fd, &st) < 0 || st.st_blksize <= 0 ||
	    (off | src_off | len) % (uint64_t)st.st_blksize)
		return 0;
	if (ioctl(d->fd, FICLONERANGE, &r) == 0)
		return 1;
	if (offload_unsupported(errno))
		return 0;
	return err_set(-errno, be->url, "reflink at offset %#llx failed: %s",
		       (unsigned long long)off, strerror(errno));
}

static int file_copy_range(struct backend *be, uint64_t off, struct backend *src,
			   uint64_t src_off, uint64_t len)
{
	struct file_priv *d = be->priv, *sp = src->priv;
	loff_t in = (loff_t)src_off, out = (loff_t)off;
	bool copied = false;
	int ret;

	if (d->is_block || sp->is_block)
		return -ENOTSUP;
	ret = file_clone_range(be, off, src, src_off, len);
	if (ret != 0)
		return ret < 0 ? ret : 0;
	while (len) {
		ssize_t n = copy_file_range(sp->fd, &in, d->fd, &out, (size_t)MIN(len, 1ULL << 30), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && !copied && offload_unsupported(errno))
			return -ENOTSUP;
		if (n < 0)
			return err_set(-errno, be->url, "copy_file_range at offset %#llx failed: %s",
				       (unsigned long long)out, strerror(errno));
		if (n == 0)   /* past the source's end: reads as zeros */
			return backend_write_zeroes(be, (uint64_t)out, len, 0);
		copied = true;
		len -= (uint64_t)n;
	}
	return 0;
}

const struct backend_ops file_backend_ops = {
	.name = "file",
	.match = file_match,
	.open = file_open,
	.close = file_close,
	.pread = file_pread,
	.pwrite = file_pwrite,
	.flush = file_flush,
	.get_size = file_get_size,
	.truncate = file_truncate,
	.write_zeroes = file_write_zeroes,
	.discard = file_discard,
	.preallocate = file_preallocate,
	.extent = file_extent,
	.allocated_size = file_allocated_size,
	.copy_range = file_copy_range,
};
