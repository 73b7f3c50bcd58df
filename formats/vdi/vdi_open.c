/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vdi_open.c - the VDI format driver: probe, open (header, block map), close,
 * info and the ops table.
 *
 * The block map is bounded by the file before it is allocated (a header cannot
 * ask for more memory than the file holds), and every allocated entry must name a
 * block inside the image; entries that share a block are harmless to read, so
 * only a writer (which would clobber one with the other) and check refuse them.
 */
#include "vdi.h"
#include "../reference.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int vdi_probe(const uint8_t *buf, size_t len, const char *filename)
{
	(void)filename;
	return vdi_signature_ok(buf, len) ? 100 : 0;
}

static int vdi_load_header(struct image *img, struct vdi_state *s)
{
	int ret;

	if (s->file_size < VDI_HEADER_BYTES)
		return err_set(-EINVAL, img->filename,
			       "file too small for a VDI image (%llu bytes)",
			       (unsigned long long)s->file_size);
	ret = backend_pread(img->be, s->header_buf, VDI_HEADER_BYTES, 0);
	if (ret < 0)
		return ret;
	vdi_header_decode(s->header_buf, &s->h);
	ret = vdi_header_validate(img->filename, &s->h);
	if (ret < 0)
		return ret;
	img->size = s->h.disk_size;
	return 0;
}

/* Entries that share a data block: a writer would mix two guest blocks. */
static int vdi_find_shared_block(struct image *img, struct vdi_state *s)
{
	uint8_t *seen = calloc(s->h.blocks / 8 + 1, 1);
	int ret = 0;

	if (!seen)
		return err_set(-ENOMEM, img->filename, "out of memory");
	for (uint32_t i = 0; i < s->h.blocks && ret == 0; i++) {
		uint32_t e = s->bmap[i];

		if (!VDI_IS_ALLOCATED(e))
			continue;
		if (seen[e / 8] & (1u << (e % 8)))
			ret = err_set(-EINVAL, img->filename,
				      "block map entry %u names data block %u a second time; refusing to write (run check)",
				      i, e);
		seen[e / 8] |= (uint8_t)(1u << (e % 8));
	}
	free(seen);
	return ret;
}

static int vdi_load_bmap(struct image *img, struct vdi_state *s)
{
	size_t bytes = (size_t)s->h.blocks * 4;
	uint64_t end;
	uint8_t *raw;
	int ret = ref_check_metadata_size(img, "block map", bytes);

	if (ret < 0)
		return ret;
	if (!add_ok(s->h.offset_bmap, bytes, &end) || end > s->file_size)
		return err_set(-EINVAL, img->filename,
			       "block map at %#x (%u entries) beyond the end of the file (%llu bytes)",
			       s->h.offset_bmap, s->h.blocks, (unsigned long long)s->file_size);
	s->bmap_bytes = (size_t)align_up(bytes, VDI_SECTOR);
	s->bmap = malloc(bytes ? bytes : 4);
	raw = malloc(bytes ? bytes : 4);
	if (!s->bmap || !raw) {
		free(raw);
		return err_set(-ENOMEM, img->filename, "out of memory for the block map");
	}
	ret = bytes ? backend_pread(img->be, raw, bytes, s->h.offset_bmap) : 0;
	s->next_block = s->h.allocated;
	for (uint32_t i = 0; ret == 0 && i < s->h.blocks; i++) {
		uint32_t e = load_le32(raw + 4 * (size_t)i);

		s->bmap[i] = e;
		if (!VDI_IS_ALLOCATED(e))
			continue;
		if (e >= s->h.blocks)
			ret = err_set(-EINVAL, img->filename,
				      "block map entry %u names data block %u, beyond the %u blocks of the image",
				      i, e, s->h.blocks);
		else
			s->next_block = MAX(s->next_block, e + 1);
	}
	free(raw);
	if (ret == 0 && (img->flags & IMG_RDWR) && !(img->flags & IMG_CHECK))
		ret = vdi_find_shared_block(img, s);
	return ret;
}

static void vdi_free(struct vdi_state *s)
{
	free(s->bmap);
	free(s->pending);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->alloc_done);
	free(s);
}

static int vdi_open(struct image *img, int flags)
{
	struct vdi_state *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return err_set(-ENOMEM, img->filename, "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->alloc_done, NULL);
	img->priv = s;
	ret = backend_size(img->be, &s->file_size);
	if (ret == 0)
		ret = vdi_load_header(img, s);
	if (ret == 0)
		ret = vdi_load_bmap(img, s);
	if (ret == 0 && (flags & IMG_RDWR)) {
		s->pending = calloc(s->h.blocks / 8 + 1, 1);
		if (!s->pending)
			ret = err_set(-ENOMEM, img->filename, "out of memory");
	}
	if (ret < 0) {
		err_set_default(ret, img->filename, "could not open the VDI image");
		/* image.c does not call close after a failed open */
		vdi_free(s);
		img->priv = NULL;
		return ret;
	}
	img->cluster_size = s->h.block_size;
	/* unallocated blocks read as zeros */
	img->zero_init = s->h.type != VDI_TYPE_STATIC || img->be->zero_init;
	return 0;
}

static void vdi_close(struct image *img)
{
	if (img->priv)
		vdi_free(img->priv);
	img->priv = NULL;
}

/* qemu-img 7.2 prints no format-specific data for vdi: the block size as the
 * cluster size and a dirty flag that is always false. */
static int vdi_info(struct image *img, struct image_info *info)
{
	struct vdi_state *s = img->priv;

	info->cluster_size = s->h.block_size;
	info->dirty_flag = false;
	return 0;
}

const struct format_ops vdi_format_ops = {
	.name = "vdi",
	.create_opts = vdi_create_opts,
	.probe = vdi_probe,
	.open = vdi_open,
	.close = vdi_close,
	.create = vdi_create,
	.read = vdi_read,
	.write = vdi_write,
	.write_zeroes = vdi_write_zeroes,
	.block_status = vdi_block_status,
	.flush = vdi_flush,
	.info = vdi_info,
	.check = vdi_check,
};
