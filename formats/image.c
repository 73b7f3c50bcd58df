/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * image.c - the public image API: open (with the backing chain), create, and the
 * bounds-checked wrappers around a format's operations.
 *
 * Everything format-independent lives here so that each format file only deals
 * with its own layout: virtual-size checks, backing-chain opening with loop and
 * depth limits, reads that fall through to a backing file, block status across a
 * chain, and the generic half of `info`.
 */
#include "format.h"
#include "image_opts.h"
#include "reference.h"
#include "../common/err.h"
#include "../backends/net.h"
#include "../common/newfile.h"
#include "../common/util.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_CHAIN_DEPTH 64

static int image_open_depth(const char *filename, const char *format, int flags,
			    int depth, char **seen, struct image **out);

/* A key that identifies a file whatever path spelled it, for loop detection. */
static char *chain_key(const char *path)
{
	struct stat st;
	char buf[64];

	if (!ref_has_scheme(path) && stat(path, &st) == 0) {
		snprintf(buf, sizeof(buf), "dev:%llu:%llu", (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino);
		return strdup(buf);
	}
	return strdup(path);
}

static int open_backing(struct image *img, int depth, char **seen)
{
	const char *fmt = img->backing_format;
	int ret;

	/* a format that had to find its parent itself (to check its id) resolved
	 * it already, under the parent rule; anything else is a backing file */
	if (!img->backing_path) {
		ret = ref_resolve(img->filename, REF_BACKING, img->backing_name, img->flags,
				  &img->backing_path);
		if (ret < 0)
			return ret;
	}
	if (depth + 1 >= MAX_CHAIN_DEPTH)
		return err_set(-ELOOP, img->filename,
			       "backing chain deeper than %d images", MAX_CHAIN_DEPTH);
	ret = image_open_depth(img->backing_path, fmt, img->flags & ~(IMG_RDWR | IMG_REPAIR | IMG_CHECK),
			       depth + 1, seen, &img->backing);
	if (ret < 0 && !err_is_set())
		err_set(ret, img->filename, "could not open backing file '%s'",
			img->backing_path);
	else if (ret < 0 && depth == 0) {
		/* say once, for the image the user named, that its chain is broken */
		char msg[ERR_MSG_MAX];

		snprintf(msg, sizeof(msg), "%s", err_get());
		err_set(ret, img->filename, "Could not open backing file: %s", msg);
	}
	return ret;
}

static int image_open_depth(const char *filename, const char *format, int flags,
			    int depth, char **seen, struct image **out)
{
	const struct format_ops *ops = NULL;
	struct image *img;
	int be_flags = (flags >> IMG_BE_SHIFT) | ((flags & IMG_RDWR) ? BE_RDWR : 0);
	char *key;
	int ret;

	key = chain_key(filename);
	if (!key)
		return err_set(-ENOMEM, filename, "out of memory");
	for (int i = 0; i < depth; i++) {
		if (!strcmp(seen[i], key)) {
			free(key);
			return err_set(-ELOOP, filename, "backing chain loops back to this file");
		}
	}
	seen[depth] = key;

	if (format) {
		ops = format_find(format);
		if (!ops)
			return err_set(-EINVAL, filename, "Unknown file format '%s'", format);
	}
	img = calloc(1, sizeof(*img));
	if (!img)
		return err_set(-ENOMEM, filename, "out of memory");
	img->filename = strdup(filename);
	img->flags = flags;
	img->cluster_size = 1;
	ret = backend_open(filename, be_flags, &img->be);
	if (ret < 0)
		goto fail;
	/* From here on the image is named as the backend shows it: a URL with a
	 * password in it is masked, so no message or `info` line reveals it. */
	if (strcmp(img->filename, img->be->url) != 0) {
		char *shown = strdup(img->be->url);
		if (!shown) {
			ret = err_set(-ENOMEM, filename, "out of memory");
			goto fail;
		}
		free(img->filename);
		img->filename = shown;
	}
	if (!ops) {
		ops = format_probe(img->be, filename);
		if (!ops) {
			ret = err_set(-EIO, filename, "could not read the image to probe its format");
			goto fail;
		}
		if (!strcmp(ops->name, "raw") && (flags & IMG_RDWR)) {
			ret = err_set(-EINVAL, filename,
				      "image format not recognised; refusing to write into a guessed raw image (use -f raw)");
			goto fail;
		}
		if (!strcmp(ops->name, "raw") && depth > 0) {
			ret = err_set(-EINVAL, filename,
				      "backing file format not recorded and not recognised; refusing to probe raw (set it with 'rebase -u -b %s -F raw')",
				      filename);
			goto fail;
		}
	}
	img->ops = ops;
	ret = ops->open(img, flags);
	if (ret == 0)
		ret = ref_check_virtual_size(img, img->size);
	if (ret < 0 && format && depth > 0) {
		/* a recorded backing format that does not match the file: say so
		 * rather than report whatever the wrong driver tripped over */
		const struct format_ops *probed = format_probe(img->be, filename);

		if (probed && probed != ops)
			err_set(ret, filename, "Image is not in %s format (it looks like %s)",
				ops->name, probed->name);
	}
	if (ret < 0) {
		img->ops = NULL;
		goto fail;
	}
	if (img->backing_name && img->backing_name[0] && !(flags & IMG_NO_BACKING)) {
		ret = open_backing(img, depth, seen);
		if (ret < 0)
			goto fail;
	}
	*out = img;
	return 0;
fail:
	image_close(img);
	return ret;
}

/* qemu-img's words for any failure to open an image, with the name as the user
 * gave it (secrets in a URL masked). */
static void open_failed(int ret, const char *filename)
{
	char *masked = net_url_mask(filename);

	err_reword_open(ret, masked ? masked : filename);
	free(masked);
}

int image_open(const char *filename, const char *format, int flags, struct image **out)
{
	char *seen[MAX_CHAIN_DEPTH] = { 0 };
	int ret;

	if (image_opt(filename, "driver"))   /* --image-opts driver= decides */
		format = image_opt(filename, "driver");
	ret = image_open_depth(filename, format, flags | ref_policy_flags(), 0, seen, out);
	for (int i = 0; i < MAX_CHAIN_DEPTH; i++)
		free(seen[i]);
	if (ret < 0)
		open_failed(ret, filename);
	return ret;
}

int image_open_backend(struct backend *be, const char *filename, const char *format,
		       int flags, struct image **out)
{
	const struct format_ops *ops;
	struct image *img;
	int ret;

	img = calloc(1, sizeof(*img));
	if (!img || !(img->filename = strdup(filename))) {
		free(img);
		backend_close(be);
		return err_set(-ENOMEM, filename, "out of memory");
	}
	flags |= ref_policy_flags();
	img->be = be;
	img->flags = flags;
	img->cluster_size = 1;
	ops = format ? format_find(format) : format_probe(be, filename);
	if (!ops) {
		ret = format ? err_set(-EINVAL, filename, "Unknown file format '%s'", format)
			     : err_set(-EIO, filename, "could not read the image to probe its format");
		goto fail;
	}
	if (!format && !strcmp(ops->name, "raw") && (flags & IMG_RDWR)) {
		ret = err_set(-EINVAL, filename,
			      "image format not recognised; refusing to write into a guessed raw image (use -f raw)");
		goto fail;
	}
	img->ops = ops;
	ret = ops->open(img, flags);
	if (ret == 0)
		ret = ref_check_virtual_size(img, img->size);
	if (ret < 0) {
		img->ops = NULL;
		goto fail;
	}
	if (img->backing_name && img->backing_name[0] && !(flags & IMG_NO_BACKING)) {
		ret = err_set(-ENOTSUP, filename, "names a backing file ('%s'), which cannot be opened from inside an archive",
			      img->backing_name);
		goto fail;
	}
	*out = img;
	return 0;
fail:
	image_close(img);
	return ret;
}

void image_close(struct image *img)
{
	if (!img)
		return;
	if (img->backing)
		image_close(img->backing);
	if (img->ops && img->ops->close)
		img->ops->close(img);
	backend_close(img->be);
	free(img->backing_name);
	free(img->backing_path);
	free(img->backing_format);
	free(img->filename);
	free(img);
}

/* IMG_CREATE_EXCL: the name is created with O_EXCL (common/newfile.h), then the
 * backend opens that very file through /proc/self/fd/N rather than by name (the
 * backends know no O_EXCL): whatever appears under the name meanwhile, even a
 * symlink swapped in, is never opened, let alone truncated. */
static int open_new_file(const char *filename, struct backend **out)
{
	char fdpath[64], *url = NULL;
	int fd, ret;

	if (ref_has_scheme(filename))
		return err_set(-ENOTSUP, filename, "an exclusive create (never overwriting) "
			       "takes a local file name, not a URL");
	fd = newfile_create(filename, 0644);
	if (fd < 0)
		return fd;
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	ret = backend_open(fdpath, BE_RDWR | BE_CREATE, out);
	close(fd);
	if (ret == 0 && !(url = strdup(filename))) {
		backend_close(*out);
		ret = err_set(-ENOMEM, filename, "out of memory");
	}
	if (ret < 0) {
		unlink(filename);
		return ret;
	}
	free((*out)->url);   /* messages name the file, not the descriptor */
	(*out)->url = url;
	return 0;
}

int image_create_flags(const char *filename, const char *format, uint64_t size,
		       struct opts *opts, int flags)
{
	const struct format_ops *ops = format_find(format);
	struct backend *be;
	int ret;

	if (!ops)
		return err_set(-EINVAL, filename, "Unknown file format '%s'", format);
	if (!ops->create)
		return err_set(-ENOTSUP, filename, "Format driver '%s' does not support image creation",
			       format);
	ret = create_opts_check(ops->create_opts, filename, opts);
	if (ret == 0 && ops->create_precheck)
		ret = ops->create_precheck(filename, size, opts);
	if (ret < 0)
		return ret;
	if (flags & IMG_CREATE_EXCL)
		ret = open_new_file(filename, &be);
	else
		ret = backend_open(filename, BE_RDWR | BE_CREATE, &be);
	if (ret < 0)
		return ret;
	ret = ops->create(be, filename, size, opts);
	if (ret == 0)
		ret = backend_flush(be);
	backend_close(be);
	/* the file is ours alone: a half-written image is not left under the name */
	if (ret < 0 && (flags & IMG_CREATE_EXCL))
		unlink(filename);
	return ret;
}

int image_create(const char *filename, const char *format, uint64_t size,
		 struct opts *opts)
{
	return image_create_flags(filename, format, size, opts, 0);
}

static int check_range(struct image *img, uint64_t off, uint64_t len)
{
	uint64_t end;

	if (!add_ok(off, len, &end) || end > img->size)
		return err_set(-EINVAL, img->filename,
			       "request at %#llx+%llu beyond the virtual size %llu",
			       (unsigned long long)off, (unsigned long long)len,
			       (unsigned long long)img->size);
	return 0;
}

static int check_writable(struct image *img)
{
	if (!(img->flags & IMG_RDWR))
		return err_set(-EBADF, img->filename, "image opened read-only");
	return 0;
}

int image_read(struct image *img, void *buf, uint64_t off, size_t len)
{
	int ret = check_range(img, off, len);

	if (ret < 0 || len == 0)
		return ret;
	return img->ops->read(img, buf, off, len);
}

int image_write(struct image *img, const void *buf, uint64_t off, size_t len)
{
	int ret = check_writable(img);

	if (ret == 0)
		ret = check_range(img, off, len);
	if (ret < 0 || len == 0)
		return ret;
	return img->ops->write(img, buf, off, len);
}

int image_write_from(struct image *img, uint64_t off, struct backend *src, uint64_t src_off,
		     size_t len)
{
	int ret = check_writable(img);

	if (ret == 0)
		ret = check_range(img, off, len);
	if (ret < 0 || len == 0)
		return ret;
	if (!img->ops->write_from)
		return -ENOTSUP;
	return img->ops->write_from(img, off, src, src_off, len);
}

int image_write_zeroes(struct image *img, uint64_t off, uint64_t len, int flags)
{
	const size_t chunk = 1 * MiB;
	void *zero;
	int ret = check_writable(img);

	if (ret == 0)
		ret = check_range(img, off, len);
	if (ret < 0 || len == 0)
		return ret;
	if (img->ops->write_zeroes) {
		ret = img->ops->write_zeroes(img, off, len, flags);
		if (ret != -ENOTSUP)
			return ret;
		err_clear();
	}
	zero = calloc(1, chunk);
	if (!zero)
		return err_set(-ENOMEM, img->filename, "out of memory");
	while (len && ret == 0) {
		size_t n = (size_t)MIN((uint64_t)chunk, len);
		ret = img->ops->write(img, zero, off, n);
		off += n;
		len -= n;
	}
	free(zero);
	return ret;
}

int image_write_compressed(struct image *img, const void *buf, uint64_t off, size_t len)
{
	int ret = check_writable(img);

	if (ret == 0)
		ret = check_range(img, off, len);
	if (ret < 0)
		return ret;
	if (!img->ops->write_compressed)
		return err_set(-ENOTSUP, img->filename,
			       "format '%s' does not support compression", img->ops->name);
	return img->ops->write_compressed(img, buf, off, len);
}

int image_flush(struct image *img)
{
	/* read-only formats (dmg, cloop, bochs) have nothing to flush */
	if (!(img->flags & IMG_RDWR) || !img->ops->flush)
		return 0;
	return img->ops->flush(img);
}

int image_block_status(struct image *img, uint64_t off, uint64_t len,
		       struct block_status *bs)
{
	int ret = check_range(img, off, len);

	if (ret < 0)
		return ret;
	memset(bs, 0, sizeof(*bs));
	ret = img->ops->block_status(img, off, len, bs);
	if (ret < 0)
		return ret;
	if (bs->length == 0 || bs->length > len)
		return err_set(-EIO, img->filename, "internal error: bad block status length");
	return 0;
}

int image_block_status_above(struct image *img, uint64_t off, uint64_t len,
			     struct block_status *bs)
{
	struct image *layer = img;
	int depth = 0;
	int ret;

	for (;;) {
		ret = image_block_status(layer, off, len, bs);
		if (ret < 0)
			return ret;
		bs->depth = depth;
		if (bs->flags & BS_ALLOCATED)
			return 0;
		len = bs->length;
		if (!layer->backing)
			break;
		if (off >= layer->backing->size) {
			/* past the end of the backing file: zeros, not allocated */
			break;
		}
		len = MIN(len, layer->backing->size - off);
		layer = layer->backing;
		depth++;
	}
	/* Unallocated in the whole chain: zeros.  A host offset the last layer
	 * still knows (qcow2's unallocated subclusters) is kept, as qemu's map. */
	bs->flags = BS_ZERO | (bs->flags & BS_OFFSET_VALID);
	bs->length = len;
	return 0;
}

int image_read_backing(struct image *img, void *buf, uint64_t off, size_t len)
{
	struct image *b = img->backing;
	size_t n = 0;

	if (b && off < b->size) {
		n = (size_t)MIN((uint64_t)len, b->size - off);
		int ret = b->ops->read(b, buf, off, n);
		if (ret < 0)
			return ret;
	}
	if (n < len)
		memset((uint8_t *)buf + n, 0, len - n);
	return 0;
}

int image_info(struct image *img, struct image_info *info)
{
	uint64_t asize;

	memset(info, 0, sizeof(*info));
	info->virtual_size = img->size;
	info->actual_size = backend_allocated_size(img->be, &asize) == 0 ? (int64_t)asize : -1;
	if (img->ops->info)
		return img->ops->info(img, info);
	return 0;
}

int image_info_generic_only(struct image *img, struct image_info *info)
{
	info->no_driver_info = true;
	return 0;
}

void image_info_free(struct image_info *info)
{
	for (int i = 0; i < info->nb_snapshots; i++) {
		free(info->snapshots[i].id);
		free(info->snapshots[i].name);
	}
	free(info->snapshots);
	if (info->format_specific)
		json_object_put(info->format_specific);
	memset(info, 0, sizeof(*info));
}

int image_check(struct image *img, int fix, struct check_result *res)
{
	memset(res, 0, sizeof(*res));
	if (!img->ops->check)
		return err_set(-ENOTSUP, img->filename,
			       "This image format does not support checks");
	if (fix && !(img->flags & IMG_RDWR))
		return err_set(-EBADF, img->filename, "image opened read-only; cannot repair");
	return img->ops->check(img, fix, res);
}

int image_resize(struct image *img, uint64_t new_size, enum prealloc_mode prealloc,
		 bool shrink)
{
	int ret = check_writable(img);

	if (ret < 0)
		return ret;
	if (!img->ops->resize)
		return err_set(-ENOTSUP, img->filename,
			       "format '%s' does not support resizing", img->ops->name);
	if (new_size < img->size && !shrink)
		return err_set(-EINVAL, img->filename,
			       "Use the --shrink option to perform a shrink operation");
	return img->ops->resize(img, new_size, prealloc, shrink);
}

int image_measure(const char *format, struct opts *opts, uint64_t size,
		  struct image *src, struct measure_result *res)
{
	const struct format_ops *ops = format_find(format);
	int ret;

	if (!ops)
		return err_set(-EINVAL, NULL, "Unknown file format '%s'", format);
	if (!ops->measure)
		return err_set(-ENOTSUP, NULL, "Format driver '%s' does not support measure",
			       format);
	memset(res, 0, sizeof(*res));
	ret = create_opts_check(ops->create_opts, NULL, opts);
	if (ret < 0)
		return ret;
	return ops->measure(opts, size, src, res);
}

int image_set_backing(struct image *img, const char *name, const char *fmt)
{
	int ret = check_writable(img);

	if (ret < 0)
		return ret;
	if (!img->ops->set_backing)
		return err_set(-ENOTSUP, img->filename,
			       "format '%s' does not support backing files", img->ops->name);
	if (name && !*name)
		name = NULL;
	return img->ops->set_backing(img, name, name ? fmt : NULL);
}

int image_make_empty(struct image *img)
{
	int ret = check_writable(img);

	if (ret < 0)
		return ret;
	if (!img->ops->make_empty)
		return err_set(-ENOTSUP, img->filename,
			       "format '%s' cannot empty an image", img->ops->name);
	return img->ops->make_empty(img);
}

/* ---- internal snapshots and amend: thin checks around the optional ops ---- */

static int snapshot_unsupported(struct image *img)
{
	return err_set(-ENOTSUP, img->filename, "Format '%s' does not support internal "
		       "snapshots", img->ops->name);
}

int image_snapshot_create(struct image *img, const char *name)
{
	int ret = check_writable(img);

	if (ret < 0)
		return ret;
	if (!img->ops->snapshot_create)
		return snapshot_unsupported(img);
	return img->ops->snapshot_create(img, name);
}

int image_snapshot_list(struct image *img, struct snapshot_info **out, int *nb)
{
	*out = NULL;
	*nb = 0;
	if (!img->ops->snapshot_list)
		return 0;   /* no snapshots: an empty list, as qemu-img prints */
	return img->ops->snapshot_list(img, out, nb);
}

void image_snapshot_list_free(struct snapshot_info *list, int nb)
{
	for (int i = 0; list && i < nb; i++) {
		free(list[i].id);
		free(list[i].name);
	}
	free(list);
}

int image_snapshot_apply(struct image *img, const char *id_or_name)
{
	int ret = check_writable(img);

	if (ret < 0)
		return ret;
	if (!img->ops->snapshot_apply)
		return snapshot_unsupported(img);
	return img->ops->snapshot_apply(img, id_or_name);
}

int image_snapshot_delete(struct image *img, const char *id_or_name)
{
	int ret = check_writable(img);

	if (ret < 0)
		return ret;
	if (!img->ops->snapshot_delete)
		return snapshot_unsupported(img);
	return img->ops->snapshot_delete(img, id_or_name);
}

int image_snapshot_open(struct image *img, const char *id, const char *name)
{
	if (img->flags & IMG_RDWR)
		return err_set(-EINVAL, img->filename,
			       "a snapshot can only be opened read-only");
	if (!img->ops->snapshot_open)
		return snapshot_unsupported(img);
	return img->ops->snapshot_open(img, id, name);
}

int image_amend(struct image *img, struct opts *opts)
{
	int ret = check_writable(img);

	if (ret < 0)
		return ret;
	if (!img->ops->amend)
		return err_set(-ENOTSUP, img->filename, "Format driver '%s' does not "
			       "support option amendment", img->ops->name);
	ret = amend_opts_check(img->ops, opts);
	if (ret < 0)
		return ret;
	return img->ops->amend(img, opts);
}
