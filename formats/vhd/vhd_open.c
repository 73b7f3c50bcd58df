/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd_open.c - the VHD ("vpc") format driver: probe, open (footer, dynamic header,
 * BAT, parent of a differencing disk), close, and the ops table.
 *
 * Everything read here is untrusted: the footer checksum is checked as qemu does,
 * every offset and count is bounded by the file size before anything is allocated
 * or read, and a differencing disk's parent must carry the unique id the child
 * records (a mismatch means the parent was replaced and reading would mix disks).
 */
#include "vhd.h"
#include "../reference.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/utf16.h"
#include "../../common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VHD_MAX_BAT_ENTRIES (64u * 1024 * 1024)  /* a 256 MiB table; 2 MiB blocks need 1M */

static int vhd_probe(const uint8_t *buf, size_t len, const char *filename)
{
	/* As qemu: only the footer copy at offset 0 is recognised, so a fixed VHD
	 * probes as raw and needs -f vpc. */
	if (len >= 8 && vhd_footer_cookie_ok(buf))
		return 100;
	return 0;
}

static int read_footer_at(struct image *img, uint64_t off, uint8_t *buf)
{
	return backend_pread(img->be, buf, VHD_FOOTER_SIZE, off);
}

/* Find and validate the footer; decides fixed vs dynamic/differencing. */
static int vhd_load_footer(struct image *img, struct vhd_state *s)
{
	uint8_t *buf = s->footer_buf;
	int ret;

	if (s->file_size < VHD_FOOTER_SIZE)
		return err_set(-EINVAL, img->filename,
			       "file too small for a VHD image (%llu bytes)",
			       (unsigned long long)s->file_size);
	ret = read_footer_at(img, 0, buf);
	if (ret < 0)
		return ret;
	if (!vhd_footer_cookie_ok(buf) || load_be32(buf + 60) == VHD_TYPE_FIXED) {
		ret = read_footer_at(img, s->file_size - VHD_FOOTER_SIZE, buf);
		if (ret < 0)
			return ret;
		if (!vhd_footer_cookie_ok(buf))
			return err_set(-EINVAL, img->filename,
				       "invalid VPC image: no 'conectix' footer at the start or end");
	}
	if (!vhd_footer_checksum_ok(buf))
		return err_set(-EINVAL, img->filename, "Incorrect header checksum");
	vhd_footer_decode(buf, &s->footer);
	s->type = s->footer.type;
	if (s->type != VHD_TYPE_FIXED && s->type != VHD_TYPE_DYNAMIC &&
	    s->type != VHD_TYPE_DIFF)
		return err_set(-ENOTSUP, img->filename, "unsupported VHD disk type %u",
			       s->type);
	img->size = vhd_footer_virtual_size(&s->footer);
	if (img->size > VHD_MAX_SECTORS * VHD_SECTOR)
		return err_set(-EFBIG, img->filename,
			       "virtual size %llu exceeds the VHD maximum of 2040 GiB",
			       (unsigned long long)img->size);
	return 0;
}

static int vhd_open_fixed(struct image *img, struct vhd_state *s)
{
	if (img->size > s->file_size - VHD_FOOTER_SIZE)
		return err_set(-EINVAL, img->filename,
			       "fixed VHD truncated: virtual size %llu but only %llu data bytes",
			       (unsigned long long)img->size,
			       (unsigned long long)(s->file_size - VHD_FOOTER_SIZE));
	img->cluster_size = 1;
	img->zero_init = img->be->zero_init;
	return 0;
}

static int vhd_load_dyn_header(struct image *img, struct vhd_state *s)
{
	uint8_t buf[VHD_DYN_HEADER_SIZE];
	uint64_t off = s->footer.data_offset, end;
	int ret;

	if (!add_ok(off, VHD_DYN_HEADER_SIZE, &end) || end > s->file_size)
		return err_set(-EINVAL, img->filename,
			       "dynamic disk header offset %#llx beyond the end of the file",
			       (unsigned long long)off);
	ret = backend_pread(img->be, buf, sizeof(buf), off);
	if (ret < 0)
		return ret;
	if (memcmp(buf, VHD_DYN_COOKIE, 8))
		return err_set(-EINVAL, img->filename,
			       "no dynamic disk header ('cxsparse') at offset %#llx",
			       (unsigned long long)off);
	/* qemu does not check this checksum; `check` reports it */
	vhd_dyn_header_decode(buf, &s->dyn);
	return 0;
}

static int vhd_check_dyn_geometry(struct image *img, struct vhd_state *s)
{
	uint32_t bs = s->dyn.block_size;
	uint64_t needed, end;

	if (!is_power_of_2(bs) || bs < VHD_SECTOR)
		return err_set(-EINVAL, img->filename, "Invalid block size %u", bs);
	if (bs > VHD_MAX_BLOCK)
		return err_set(-EINVAL, img->filename,
			       "block size %u too large (at most %u)", bs, VHD_MAX_BLOCK);
	needed = div_round_up(img->size, bs);
	if (s->dyn.max_entries < needed)
		return err_set(-EINVAL, img->filename,
			       "max_table_entries %u too small for a virtual size of %llu (needs %llu)",
			       s->dyn.max_entries, (unsigned long long)img->size,
			       (unsigned long long)needed);
	if (s->dyn.max_entries > VHD_MAX_SECTORS * VHD_SECTOR / bs ||
	    s->dyn.max_entries > VHD_MAX_BAT_ENTRIES)
		return err_set(-EINVAL, img->filename,
			       "max_table_entries %u is too large for block size %u",
			       s->dyn.max_entries, bs);
	s->block_size = bs;
	s->bitmap_size = vhd_bitmap_size(bs);
	s->nb_entries = s->dyn.max_entries;
	s->bat_offset = s->dyn.table_offset;
	if (!add_ok(s->bat_offset, (uint64_t)s->nb_entries * 4, &end) || end > s->file_size)
		return err_set(-EINVAL, img->filename,
			       "BAT at %#llx (%u entries) beyond the end of the file (%llu bytes)",
			       (unsigned long long)s->bat_offset, s->nb_entries,
			       (unsigned long long)s->file_size);
	s->data_start = align_up(end, VHD_SECTOR);
	return 0;
}

static bool range_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static bool overlaps_metadata(const struct vhd_state *s, uint64_t start, uint64_t len)
{
	return range_overlap(start, len, 0, VHD_FOOTER_SIZE) ||
	       range_overlap(start, len, s->footer.data_offset, VHD_DYN_HEADER_SIZE) ||
	       range_overlap(start, len, s->bat_offset, (uint64_t)s->nb_entries * 4);
}

/* Read the BAT and find where the next block goes. */
static int vhd_load_bat(struct image *img, struct vhd_state *s)
{
	size_t bytes = (size_t)s->nb_entries * 4;
	uint64_t blk = (uint64_t)s->bitmap_size + s->block_size;
	uint64_t free_off = s->data_start;
	uint8_t *raw;
	int ret = ref_check_metadata_size(img, "BAT", bytes);

	if (ret < 0)
		return ret;
	s->bat = malloc(bytes ? bytes : 4);
	raw = malloc(bytes ? bytes : 4);
	if (!s->bat || !raw) {
		free(raw);
		return err_set(-ENOMEM, img->filename, "out of memory for the BAT");
	}
	ret = bytes ? backend_pread(img->be, raw, bytes, s->bat_offset) : 0;
	for (uint32_t i = 0; ret == 0 && i < s->nb_entries; i++) {
		uint32_t e = load_be32(raw + 4 * (size_t)i);
		uint64_t start = (uint64_t)e * VHD_SECTOR;

		s->bat[i] = e;
		if (e == VHD_BAT_UNUSED)
			continue;
		if (start + blk > s->file_size) {
			if (img->flags & IMG_CHECK) {
				s->bad_bat_entries++;
				continue;
			}
			ret = err_set(-EINVAL, img->filename,
				      "BAT entry %u points to %llu, beyond the end of the file (%llu bytes); the image is truncated",
				      i, (unsigned long long)start,
				      (unsigned long long)s->file_size);
			break;
		}
		if ((img->flags & IMG_RDWR) && !(img->flags & IMG_CHECK) &&
		    overlaps_metadata(s, start, blk)) {
			/* reading it is harmless; writing it would destroy metadata */
			ret = err_set(-EINVAL, img->filename,
				      "BAT entry %u points into the image metadata at %#llx; refusing to write (run check)",
				      i, (unsigned long long)start);
			break;
		}
		free_off = MAX(free_off, start + blk);
	}
	free(raw);
	if (ret < 0)
		return ret;
	/* Never reuse space past the recorded blocks: it may hold a leaked block
	 * whose stale bytes a partial write would expose. */
	if (s->file_size >= VHD_FOOTER_SIZE)
		free_off = MAX(free_off, align_up(s->file_size - VHD_FOOTER_SIZE, VHD_SECTOR));
	s->free_off = free_off;
	return 0;
}

/* Windows path to a local one: backslashes become slashes, ".\" goes. */
static void normalize_path(char *p)
{
	for (char *c = p; *c; c++)
		if (*c == '\\')
			*c = '/';
	while (p[0] == '.' && p[1] == '/')
		memmove(p, p + 2, strlen(p + 2) + 1);
}

static bool is_windows_absolute(const char *p)
{
	return (p[0] && p[1] == ':') || (p[0] == '/' && p[1] == '/');
}

static const char *path_basename(const char *p)
{
	const char *b = strrchr(p, '/');

	return b ? b + 1 : p;
}

/* The path stored by one parent locator (NULL when it holds none we can use). */
static int vhd_locator_path(struct image *img, struct vhd_state *s, int i, char **out)
{
	const struct vhd_locator *l = &s->dyn.loc[i];
	uint64_t end;
	uint8_t *raw;
	char *name;
	int ret;

	*out = NULL;
	if (l->platform != VHD_PLAT_W2KU && l->platform != VHD_PLAT_W2RU &&
	    l->platform != VHD_PLAT_MACX)
		return 0;
	if (l->data_length == 0)
		return 0;
	if (l->data_length > VHD_LOCATOR_MAX)
		return err_set(-EINVAL, img->filename,
			       "parent locator %d is %u bytes long (at most %u)", i,
			       l->data_length, VHD_LOCATOR_MAX);
	if (!add_ok(l->data_offset, l->data_length, &end) || end > s->file_size)
		return err_set(-EINVAL, img->filename,
			       "parent locator %d data at %llu+%u beyond the end of the file",
			       i, (unsigned long long)l->data_offset, l->data_length);
	raw = malloc(l->data_length + 1);
	if (!raw)
		return err_set(-ENOMEM, img->filename, "out of memory");
	ret = backend_pread(img->be, raw, l->data_length, l->data_offset);
	if (ret < 0) {
		free(raw);
		return ret;
	}
	if (l->platform == VHD_PLAT_MACX) {
		raw[l->data_length] = 0;
		name = strdup((char *)raw);
		/* a file URL: file://localhost/path or file:///path */
		if (name && !strncmp(name, "file://", 7)) {
			char *p = name + 7;

			if (!strncmp(p, "localhost", 9))
				p += 9;
			memmove(name, p, strlen(p) + 1);
		}
	} else {
		name = utf16_to_utf8(raw, l->data_length, false);
	}
	free(raw);
	if (!name)
		return err_set(-ENOMEM, img->filename, "out of memory");
	normalize_path(name);
	if (!name[0]) {
		free(name);
		return 0;
	}
	*out = name;
	return 0;
}

#define MAX_CANDIDATES (2 * VHD_NB_LOCATORS + 1)

/* Gather the candidate parent names in preference order. */
static int vhd_parent_candidates(struct image *img, struct vhd_state *s, char **cand,
				 int *n)
{
	static const uint32_t order[] = { VHD_PLAT_W2RU, VHD_PLAT_W2KU, VHD_PLAT_MACX };
	int ret;

	*n = 0;
	for (size_t o = 0; o < ARRAY_SIZE(order); o++) {
		for (int i = 0; i < VHD_NB_LOCATORS; i++) {
			char *name;

			if (s->dyn.loc[i].platform != order[o])
				continue;
			ret = vhd_locator_path(img, s, i, &name);
			if (ret < 0)
				return ret;
			if (!name)
				continue;
			if (is_windows_absolute(name)) {
				/* C:/dir/p.vhd means nothing here; try p.vhd beside us */
				char *b = strdup(path_basename(name));

				free(name);
				if (!b)
					return -ENOMEM;
				name = b;
			}
			cand[(*n)++] = name;
		}
	}
	/* last resort: the parent's file name from the header, beside the child */
	char *pn = utf16_to_utf8(s->dyn.parent_name, sizeof(s->dyn.parent_name), true);

	if (pn) {
		normalize_path(pn);
		if (pn[0])
			cand[(*n)++] = strdup(path_basename(pn));
		free(pn);
	}
	return 0;
}

/* The parent's unique id must be the one the child was made against. */
static int vhd_check_parent_uuid(struct image *img, struct vhd_state *s)
{
	const char *path = img->backing_path;
	struct backend *be = NULL;
	uint8_t buf[VHD_FOOTER_SIZE];
	uint64_t size;
	char want[37], got[37];
	int ret;

	/* if the parent cannot be opened here, image.c reports it while opening
	 * the chain, with its usual message */
	if (backend_open(path, 0, &be) < 0 || backend_size(be, &size) < 0 ||
	    size < VHD_FOOTER_SIZE) {
		err_clear();
		ret = 0;
		goto out;
	}
	ret = backend_pread(be, buf, sizeof(buf), 0);
	if (ret == 0 && !vhd_footer_cookie_ok(buf))
		ret = backend_pread(be, buf, sizeof(buf), size - VHD_FOOTER_SIZE);
	if (ret < 0)
		goto out;
	if (!vhd_footer_cookie_ok(buf)) {
		ret = err_set(-EINVAL, img->filename, "parent '%s' is not a VHD image", path);
		goto out;
	}
	if (memcmp(buf + 68, s->dyn.parent_uuid, 16)) {
		vhd_uuid_format(s->dyn.parent_uuid, want);
		vhd_uuid_format(buf + 68, got);
		ret = err_set(-EINVAL, img->filename,
			      "parent '%s' has unique id %s but this differencing disk expects %s",
			      path, got, want);
	}
out:
	backend_close(be);
	return ret;
}

static int vhd_open_parent(struct image *img, struct vhd_state *s, int flags)
{
	char *cand[MAX_CANDIDATES] = { 0 };
	int n = 0, pick;
	int ret = vhd_parent_candidates(img, s, cand, &n);

	if (ret < 0)
		goto out;
	if (n == 0) {
		ret = err_set(-EINVAL, img->filename,
			      "differencing VHD without a usable parent locator");
		goto out;
	}
	/* the first candidate that exists, else the first the policy allows (its
	 * absence is reported with the chain), else the first (refused below) */
	pick = -1;
	for (int i = 0; i < n && pick < 0; i++)
		if (cand[i] && ref_exists(img->filename, REF_PARENT, cand[i], img->flags))
			pick = i;
	for (int i = 0; i < n && pick < 0; i++)
		if (cand[i] && ref_allowed(REF_PARENT, cand[i], img->flags))
			pick = i;
	if (pick < 0)
		pick = 0;
	img->backing_name = cand[pick];
	cand[pick] = NULL;
	img->backing_format = strdup("vpc");
	if (!img->backing_name || !img->backing_format) {
		ret = err_set(-ENOMEM, img->filename, "out of memory");
		goto out;
	}
	if (!(flags & IMG_NO_BACKING))
		ret = ref_resolve(img->filename, REF_PARENT, img->backing_name, flags,
				  &img->backing_path);
	if (ret == 0 && !(flags & IMG_NO_BACKING))
		ret = vhd_check_parent_uuid(img, s);
out:
	for (int i = 0; i < n; i++)
		free(cand[i]);
	return ret;
}

static int vhd_open_dynamic(struct image *img, struct vhd_state *s, int flags)
{
	int ret;

	/* check -r may trim a leaked tail (all it writes) */
	if (s->type == VHD_TYPE_DIFF && (flags & IMG_RDWR) && !(flags & IMG_REPAIR))
		return err_set(-ENOTSUP, img->filename,
			       "differencing VHD images can only be opened read-only");
	ret = vhd_load_dyn_header(img, s);
	if (ret == 0)
		ret = vhd_check_dyn_geometry(img, s);
	if (ret == 0)
		ret = vhd_load_bat(img, s);
	if (ret < 0)
		return ret;
	if (flags & IMG_RDWR) {
		s->pending = calloc(s->nb_entries / 8 + 1, 1);
		if (!s->pending)
			return err_set(-ENOMEM, img->filename, "out of memory");
	}
	img->cluster_size = s->block_size;
	img->zero_init = s->type == VHD_TYPE_DYNAMIC;
	if (s->type == VHD_TYPE_DIFF)
		return vhd_open_parent(img, s, flags);
	return 0;
}

static int vhd_open(struct image *img, int flags)
{
	struct vhd_state *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return err_set(-ENOMEM, img->filename, "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->alloc_done, NULL);
	img->priv = s;
	ret = backend_size(img->be, &s->file_size);
	if (ret == 0)
		ret = vhd_load_footer(img, s);
	if (ret == 0) {
		if (s->type == VHD_TYPE_FIXED)
			ret = vhd_open_fixed(img, s);
		else
			ret = vhd_open_dynamic(img, s, flags);
	}
	if (ret < 0) {
		err_set_default(ret, img->filename, "could not open the VHD image");
		/* image.c clears ops on failure (close is not called): free here */
		free(s->bat);
		free(s->pending);
		pthread_mutex_destroy(&s->lock);
		pthread_cond_destroy(&s->alloc_done);
		free(s);
		img->priv = NULL;
	}
	return ret;
}

static void vhd_close(struct image *img)
{
	struct vhd_state *s = img->priv;

	if (!s)
		return;
	free(s->bat);
	free(s->pending);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->alloc_done);
	free(s);
	img->priv = NULL;
}

static const char *const vhd_aliases[] = { "vhd", NULL };

const struct format_ops vhd_format_ops = {
	.name = "vpc",
	.aliases = vhd_aliases,
	.create_opts = vhd_create_opts,
	.probe = vhd_probe,
	.open = vhd_open,
	.close = vhd_close,
	.create = vhd_create,
	.read = vhd_read,
	.write = vhd_write,
	.write_zeroes = vhd_write_zeroes,
	.block_status = vhd_block_status,
	.flush = vhd_flush,
	.info = vhd_info,
	.check = vhd_check,
};
