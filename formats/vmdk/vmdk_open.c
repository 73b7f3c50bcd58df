/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmdk_open.c - the vmdk format: probe, open (descriptor and extents), the
 * mapping of virtual offsets to extents, and the ops table.
 *
 * An image is either a hosted sparse file with its descriptor embedded
 * (monolithicSparse, streamOptimized) or a text descriptor naming extent files
 * that sit next to it.  Extent files are opened with backend_open() on the path
 * resolved against the descriptor's folder, under the reference policy of
 * ../reference.h (inside that folder unless the user allows more).  A delta disk
 * (parentFileNameHint) becomes a backing chain; its parentCID must match the
 * parent's CID.
 */
#include "vmdk.h"
#include "../reference.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

static int vmdk_probe(const uint8_t *buf, size_t len, const char *filename)
{
	if (len >= 4 && (load_le32(buf) == VMDK4_MAGIC || load_le32(buf) == VMDK_COWD_MAGIC))
		return 100;
	if (vmdk_desc_probe(buf, len))
		return 100;
	return 0;
}

static struct vmdk_extent *find_extent(struct vmdk *s, uint64_t off)
{
	int lo = 0, hi = s->n_ext - 1;

	while (lo < hi) {
		int mid = (lo + hi + 1) / 2;

		if (s->ext[mid].start <= off)
			lo = mid;
		else
			hi = mid - 1;
	}
	return &s->ext[lo];
}

static bool is_sparse(const struct vmdk_extent *e)
{
	return e->type == VMDK_EXT_SPARSE || e->type == VMDK_EXT_VMFSSPARSE;
}

static int open_extent_file(struct image *img, struct vmdk_extent *e, int flags)
{
	int be_flags = flags >> IMG_BE_SHIFT;
	int ret;

	ret = ref_resolve(img->filename, REF_EXTENT, e->name, flags, &e->path);
	if (ret < 0)
		return ret;
	if ((flags & IMG_RDWR) && e->access == VMDK_RW)
		be_flags |= BE_RDWR;
	ret = backend_open(e->path, be_flags, &e->be);
	if (ret < 0) {
		const char *m = err_get();
		size_t n = strlen(e->path);

		/* the backend's message starts with the path; say it once */
		if (!strncmp(m, e->path, n) && !strncmp(m + n, ": ", 2))
			m += n + 2;
		err_set(ret, img->filename, "extent file '%s': %s", e->path, m);
		return ret;
	}
	e->own_be = true;
	return 0;
}

int vmdk_open_extents(struct image *img, struct vmdk *s, int flags)
{
	uint64_t pos = 0;
	int ret;

	s->ext = calloc((size_t)s->desc.n_ext, sizeof(*s->ext));
	if (!s->ext)
		return err_set(-ENOMEM, img->filename, "out of memory");
	for (int i = 0; i < s->desc.n_ext; i++) {
		const struct vmdk_desc_extent *x = &s->desc.ext[i];
		struct vmdk_extent *e = &s->ext[i];

		s->n_ext = i + 1;
		e->type = x->type;
		e->access = x->access;
		e->start = pos;
		e->length = x->sectors * VMDK_SECTOR;
		if (x->sectors > VMDK_MAX_CAPACITY / VMDK_SECTOR ||
		    !add_ok(pos, e->length, &pos) || pos > VMDK_MAX_CAPACITY)
			return err_set(-EFBIG, img->filename, "extents add up to more than %llu bytes",
				       (unsigned long long)VMDK_MAX_CAPACITY);
		e->name = strdup(x->filename ? x->filename : "");
		if (!e->name)
			return err_set(-ENOMEM, img->filename, "out of memory");
		if (x->type == VMDK_EXT_ZERO || x->access == VMDK_NOACCESS || !e->length)
			continue;
		if (s->embedded) {
			/* the one extent of a monolithic sparse file is the file itself */
			e->be = img->be;
			e->path = strdup(img->filename);
			if (!e->path)
				return err_set(-ENOMEM, img->filename, "out of memory");
		} else {
			ret = open_extent_file(img, e, flags);
			if (ret < 0)
				return ret;
		}
		if (is_sparse(e)) {
			ret = vmdk_sparse_open(e, flags);
			if (ret == 0)
				ret = ref_check_metadata_size(img, "grain directory",
							      (uint64_t)e->gd_entries * 4);
			if (ret == 0 && e->compressed)
				ret = ref_check_inflate_size(img, "grain", e->grain);
			if (ret < 0)
				return ret;
			if (e->h.capacity < x->sectors)
				return err_set(-EINVAL, img->filename,
					       "extent '%s' (%" PRIu64 " sectors) is larger than its sparse file (%" PRIu64 " sectors)",
					       e->name, x->sectors, e->h.capacity);
		} else {
			if (x->offset > VMDK_MAX_CAPACITY / VMDK_SECTOR)
				return err_set(-EINVAL, img->filename, "bad offset of extent '%s'",
					       e->name);
			e->flat_offset = x->offset * VMDK_SECTOR;
		}
	}
	img->size = pos;
	return 0;
}

/* A monolithic sparse file: the descriptor is inside, or synthesised when absent. */
static int open_embedded(struct image *img, struct vmdk *s, const uint8_t *hdr,
			 uint64_t size)
{
	struct vmdk_header h;
	char *text;
	int ret;

	vmdk_header_decode(hdr, &h);
	s->embedded = true;
	if (h.desc_offset && h.desc_size) {
		if (h.desc_size > VMDK_MAX_DESC_BYTES / VMDK_SECTOR)
			return err_set(-EFBIG, img->filename, "embedded descriptor larger than %d bytes",
				       VMDK_MAX_DESC_BYTES);
		if (h.desc_offset > size / VMDK_SECTOR ||
		    (h.desc_offset + h.desc_size) * VMDK_SECTOR > align_up(size, 512))
			return err_set(-EINVAL, img->filename,
				       "embedded descriptor past the end of the file");
		s->desc_file_off = h.desc_offset * VMDK_SECTOR;
		s->desc_file_len = h.desc_size * VMDK_SECTOR;
		text = calloc(1, (size_t)s->desc_file_len + 1);
		if (!text)
			return err_set(-ENOMEM, img->filename, "out of memory");
		ret = backend_pread(img->be, text, (size_t)s->desc_file_len, s->desc_file_off);
		if (ret == 0)
			ret = vmdk_desc_parse(text, (size_t)s->desc_file_len, img->filename, &s->desc);
		free(text);
		if (ret < 0)
			return ret;
	} else {
		s->desc.parent_cid = UINT32_MAX;
		s->desc.create_type = strdup("monolithicSparse");
		s->desc.ext = calloc(1, sizeof(*s->desc.ext));
		if (!s->desc.create_type || !s->desc.ext)
			return err_set(-ENOMEM, img->filename, "out of memory");
		s->desc.n_ext = 1;
		s->desc.ext[0].sectors = h.capacity;
	}
	/* only the sparse extent describes this file; its size comes from the header */
	for (int i = 1; i < s->desc.n_ext; i++)
		free(s->desc.ext[i].filename);
	s->desc.n_ext = 1;
	s->desc.ext[0].type = VMDK_EXT_SPARSE;
	s->desc.ext[0].access = VMDK_RW;
	if (h.capacity <= VMDK_MAX_CAPACITY / VMDK_SECTOR)
		s->desc.ext[0].sectors = h.capacity;
	return 0;
}

static int open_text(struct image *img, struct vmdk *s, uint64_t size)
{
	char *text;
	int ret;

	if (size > VMDK_MAX_DESC_BYTES)
		return err_set(-EFBIG, img->filename, "descriptor file larger than %d bytes",
			       VMDK_MAX_DESC_BYTES);
	text = calloc(1, (size_t)size + 1);
	if (!text)
		return err_set(-ENOMEM, img->filename, "out of memory");
	ret = backend_pread(img->be, text, (size_t)size, 0);
	if (ret == 0)
		ret = vmdk_desc_parse(text, (size_t)size, img->filename, &s->desc);
	free(text);
	s->desc_file_off = 0;
	s->desc_file_len = size;
	return ret;
}

/* The parent's CID must be the one this delta was taken from. */
static int check_parent_cid(struct image *img, struct vmdk *s)
{
	struct vmdk_desc pd;
	struct backend *be;
	const char *path = img->backing_path;
	int ret;

	ret = backend_open(path, 0, &be);
	if (ret < 0) {
		const char *m = err_get();
		size_t n = strlen(path);

		if (!strncmp(m, path, n) && !strncmp(m + n, ": ", 2))
			m += n + 2;
		err_set(ret, img->filename, "parent '%s': %s", path, m);
		return ret;
	}
	ret = vmdk_read_desc_file(be, path, &pd);
	backend_close(be);
	if (ret == 0) {
		if (pd.cid != s->desc.parent_cid)
			ret = err_set(-EINVAL, img->filename,
				      "parent CID mismatch: parentCID=%08" PRIx32 " but '%s' has CID=%08" PRIx32 " (the parent changed after this snapshot was taken)",
				      s->desc.parent_cid, path, pd.cid);
		vmdk_desc_free(&pd);
	}
	return ret;
}

static void vmdk_close(struct image *img)
{
	struct vmdk *s = img->priv;

	if (!s)
		return;
	for (int i = 0; i < s->n_ext; i++) {
		struct vmdk_extent *e = &s->ext[i];

		if (e->sw) {
			vmdk_stream_finish(img, e);
			vmdk_stream_writer_free(e);
		}
		vmdk_sparse_close(e);
		if (e->own_be)
			backend_close(e->be);
		free(e->name);
		free(e->path);
	}
	free(s->ext);
	vmdk_desc_free(&s->desc);
	vmdk_grain_cache_free(s);
	pthread_mutex_destroy(&s->lock);
	free(s);
	img->priv = NULL;
}

static int vmdk_open(struct image *img, int flags)
{
	uint8_t hdr[512] = { 0 };
	struct vmdk *s;
	uint64_t size;
	bool zero = true;
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s)
		return err_set(-ENOMEM, img->filename, "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	img->priv = s;
	ret = backend_size(img->be, &size);
	if (ret < 0)
		goto fail;
	if (size >= 512) {
		ret = backend_pread(img->be, hdr, sizeof(hdr), 0);
		if (ret < 0)
			goto fail;
	}
	if (load_le32(hdr) == VMDK_COWD_MAGIC) {
		ret = err_set(-ENOTSUP, img->filename,
			      "ESX host sparse (COWD/vmfsSparse) files are not supported");
		goto fail;
	}
	if (size >= 512 && load_le32(hdr) == VMDK4_MAGIC)
		ret = open_embedded(img, s, hdr, size);
	else
		ret = open_text(img, s, size);
	if (ret < 0)
		goto fail;
	ret = vmdk_open_extents(img, s, flags);
	if (ret < 0)
		goto fail;
	img->cluster_size = 1;
	for (int i = 0; i < s->n_ext; i++) {
		struct vmdk_extent *e = &s->ext[i];

		if (e->grain && img->cluster_size == 1)
			img->cluster_size = (uint32_t)MIN(e->grain, (uint64_t)UINT32_MAX);
		if (!is_sparse(e) && e->be && !e->be->zero_init)
			zero = false;
		if (e->compressed && (flags & IMG_RDWR)) {
			/* a stream is written once, grain by grain in ascending order */
			img->whole_clusters = true;
			ret = vmdk_stream_writer_open(img, e);
			if (ret < 0)
				goto fail;
		}
	}
	if (s->desc.parent_hint && s->desc.parent_hint[0]) {
		img->backing_name = strdup(s->desc.parent_hint);
		img->backing_format = strdup("vmdk");
		if (!img->backing_name || !img->backing_format) {
			ret = err_set(-ENOMEM, img->filename, "out of memory");
			goto fail;
		}
		if (!(flags & IMG_NO_BACKING)) {
			ret = ref_resolve(img->filename, REF_PARENT, img->backing_name, flags,
					  &img->backing_path);
			if (ret == 0)
				ret = check_parent_cid(img, s);
			if (ret < 0)
				goto fail;
		}
		zero = false;
	}
	img->zero_init = zero;
	return 0;
fail:
	vmdk_close(img);
	return ret;
}

/* The first write of each open gives the disk a new content ID (as VMware and qemu
 * do), so a snapshot taken from the old contents no longer matches.  The 8 hex
 * digits are replaced in place, leaving the rest of the descriptor as written. */
static int touch_cid(struct image *img)
{
	struct vmdk *s = img->priv;
	char *text = NULL, *p;
	uint32_t cid;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if (s->cid_updated || !s->desc_file_len || s->desc_file_len > VMDK_MAX_DESC_BYTES)
		goto out;
	s->cid_updated = true;
	text = calloc(1, (size_t)s->desc_file_len + 1);
	if (!text) {
		ret = err_set(-ENOMEM, img->filename, "out of memory");
		goto out;
	}
	ret = backend_pread(img->be, text, (size_t)s->desc_file_len, s->desc_file_off);
	if (ret < 0)
		goto out;
	for (p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		char hex[9];

		if (strncasecmp(p, "CID=", 4) || strspn(p + 4, "0123456789abcdefABCDEF") != 8)
			continue;
		do {
			if (getrandom(&cid, sizeof(cid), 0) != sizeof(cid))
				cid = s->desc.cid * 2654435761u + 1;
		} while (cid == s->desc.cid || cid == UINT32_MAX);
		snprintf(hex, sizeof(hex), "%08" PRIx32, cid);
		ret = backend_pwrite(img->be, hex, 8, s->desc_file_off + (uint64_t)(p + 4 - text));
		if (ret == 0)
			s->desc.cid = cid;
		break;
	}
out:
	pthread_mutex_unlock(&s->lock);
	free(text);
	return ret;
}

static int vmdk_read(struct image *img, void *buf, uint64_t off, size_t len)
{
	struct vmdk *s = img->priv;
	uint8_t *p = buf;
	int ret = 0;

	while (len && ret == 0) {
		struct vmdk_extent *e = find_extent(s, off);
		uint64_t eoff = off - e->start;
		size_t n = (size_t)MIN((uint64_t)len, e->length - eoff);

		if (is_sparse(e) && e->be)
			ret = vmdk_sparse_read(img, e, p, eoff, n);
		else
			ret = vmdk_flat_read(e, p, eoff, n);
		p += n;
		off += n;
		len -= n;
	}
	return ret;
}

static int vmdk_write(struct image *img, const void *buf, uint64_t off, size_t len)
{
	struct vmdk *s = img->priv;
	const uint8_t *p = buf;
	int ret = __atomic_load_n(&s->cid_updated, __ATOMIC_RELAXED) ? 0 : touch_cid(img);

	while (len && ret == 0) {
		struct vmdk_extent *e = find_extent(s, off);
		uint64_t eoff = off - e->start;
		size_t n = (size_t)MIN((uint64_t)len, e->length - eoff);

		if (is_sparse(e) && e->be && e->access == VMDK_RW)
			ret = vmdk_sparse_write(img, e, p, eoff, n);
		else
			ret = vmdk_flat_write(e, p, eoff, n);
		p += n;
		off += n;
		len -= n;
	}
	return ret;
}

static int vmdk_write_zeroes(struct image *img, uint64_t off, uint64_t len, int flags)
{
	struct vmdk *s = img->priv;
	int ret = __atomic_load_n(&s->cid_updated, __ATOMIC_RELAXED) ? 0 : touch_cid(img);

	while (len && ret == 0) {
		struct vmdk_extent *e = find_extent(s, off);
		uint64_t eoff = off - e->start;
		uint64_t n = MIN(len, e->length - eoff);

		if (is_sparse(e) && e->be && e->access == VMDK_RW)
			ret = vmdk_sparse_zero(img, e, eoff, n);
		else
			ret = vmdk_flat_zero(e, eoff, n, flags);
		off += n;
		len -= n;
	}
	return ret;
}

static int vmdk_write_compressed(struct image *img, const void *buf, uint64_t off, size_t len)
{
	struct vmdk *s = img->priv;
	struct vmdk_extent *e = find_extent(s, off);

	if (!e->sw)
		return err_set(-ENOTSUP, img->filename,
			       "compression is only supported for streamOptimized VMDK");
	return vmdk_write(img, buf, off, len);
}

static int vmdk_block_status(struct image *img, uint64_t off, uint64_t len,
			     struct block_status *bs)
{
	struct vmdk *s = img->priv;
	struct vmdk_extent *e = find_extent(s, off);
	uint64_t eoff = off - e->start;

	len = MIN(len, e->length - eoff);
	if (is_sparse(e) && e->be)
		return vmdk_sparse_block_status(img, e, eoff, len, bs);
	return vmdk_flat_block_status(img, e, eoff, len, bs);
}

static int vmdk_flush(struct image *img)
{
	struct vmdk *s = img->priv;
	int ret = 0;

	for (int i = 0; i < s->n_ext && ret == 0; i++) {
		struct vmdk_extent *e = &s->ext[i];

		if (e->sw)
			ret = vmdk_stream_finish(img, e);
		if (ret == 0 && e->own_be && e->access == VMDK_RW)
			ret = backend_flush(e->be);
	}
	if (ret == 0)
		ret = backend_flush(img->be);
	return ret;
}

static const char *const vmdk_aliases[] = { NULL };

const struct format_ops vmdk_format_ops = {
	.name = "vmdk",
	.aliases = vmdk_aliases,
	.create_opts = vmdk_create_opts,
	.probe = vmdk_probe,
	.open = vmdk_open,
	.close = vmdk_close,
	.create = vmdk_create,
	.read = vmdk_read,
	.write = vmdk_write,
	.write_zeroes = vmdk_write_zeroes,
	.write_compressed = vmdk_write_compressed,
	.block_status = vmdk_block_status,
	.flush = vmdk_flush,
	.info = vmdk_info,
	.check = vmdk_check,
};
