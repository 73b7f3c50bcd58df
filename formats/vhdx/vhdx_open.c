/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhdx_open.c - the VHDX driver: probe, open (file identifier, current header, log
 * replay, region table, metadata items, BAT, parent of a differencing disk), close
 * and the ops table.
 *
 * Every structure read here is untrusted: checksums are verified, every offset and
 * length is bounded by the file size and the region it lives in before anything is
 * allocated or read, and a differencing disk's parent must carry the data write
 * GUID the child recorded (a mismatch means the parent changed under the child).
 */
#include "vhdx.h"
#include "../reference.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/utf16.h"
#include "../../common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define VHDX_MAX_LOCATOR      (64u * 1024)   /* a parent locator item bigger than this is bogus */

static int vhdx_probe(const uint8_t *buf, size_t len, const char *filename)
{
	if (len >= 8 && !memcmp(buf, VHDX_FILE_ID_SIG, 8))
		return 100;
	return 0;
}

static bool range_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

static int vhdx_load_header(struct image *img, struct vhdx_state *s)
{
	uint8_t id[8];
	int ret;

	if (s->file_size < VHDX_REGION2_OFF + VHDX_REGION_SIZE)
		return err_set(-EINVAL, img->filename,
			       "file too small for a VHDX image (%llu bytes)",
			       (unsigned long long)s->file_size);
	ret = backend_pread(img->be, id, sizeof(id), 0);
	if (ret < 0)
		return ret;
	if (memcmp(id, VHDX_FILE_ID_SIG, 8))
		return err_set(-EINVAL, img->filename, "no 'vhdxfile' file type identifier");
	ret = vhdx_read_current_header(img->be, img->filename, &s->hdr, &s->cur_hdr);
	if (ret < 0)
		return ret;
	if (s->hdr.version != 1 || s->hdr.log_version != 0)
		return err_set(-ENOTSUP, img->filename,
			       "unsupported VHDX version %u (log version %u)", s->hdr.version,
			       s->hdr.log_version);
	return 0;
}

/* One region table copy: valid signature, CRC and entry count. */
static int read_region_table(struct image *img, struct vhdx_state *s, uint64_t off,
			     uint8_t *buf, bool *ok)
{
	int ret = vhdx_pread(img, s, buf, VHDX_REGION_SIZE, off);

	*ok = ret == 0 && !memcmp(buf, VHDX_REGION_SIG, 4) &&
	      load_le32(buf + 4) == vhdx_checksum(buf, VHDX_REGION_SIZE, 4) &&
	      load_le32(buf + 8) <= VHDX_REGION_MAX_ENTRIES;
	return ret;
}

static int check_region(struct image *img, struct vhdx_state *s, const char *what,
			uint64_t off, uint64_t len)
{
	uint64_t end;

	if (off % VHDX_MiB || len % VHDX_MiB || len == 0 || off < VHDX_MiB ||
	    !add_ok(off, len, &end) || end > s->file_size)
		return err_set(-EINVAL, img->filename,
			       "%s region at %#llx (%llu bytes) is misaligned or beyond the end of the file",
			       what, (unsigned long long)off, (unsigned long long)len);
	if (range_overlap(off, len, s->hdr.log_offset, s->hdr.log_length))
		return err_set(-EINVAL, img->filename,
			       "%s region at %#llx overlaps the log", what,
			       (unsigned long long)off);
	return 0;
}

static int parse_regions(struct image *img, struct vhdx_state *s, const uint8_t *buf)
{
	uint32_t n = load_le32(buf + 8);
	bool have_bat = false, have_meta = false;
	int ret;

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = buf + 16 + (size_t)i * 32;
		const vhdx_guid *g = (const vhdx_guid *)e;
		uint64_t off = load_le64(e + 16);
		uint32_t len = load_le32(e + 24);

		if (vhdx_guid_eq(g, &vhdx_guid_bat_region) && !have_bat) {
			have_bat = true;
			s->bat_off = off;
			s->bat_len = len;
		} else if (vhdx_guid_eq(g, &vhdx_guid_metadata_region) && !have_meta) {
			have_meta = true;
			s->meta_off = off;
			s->meta_len = len;
		} else if (vhdx_guid_eq(g, &vhdx_guid_bat_region) ||
			   vhdx_guid_eq(g, &vhdx_guid_metadata_region)) {
			return err_set(-EINVAL, img->filename,
				       "region table lists the same region twice");
		} else if (load_le32(e + 28) & 1) {
			return err_set(-ENOTSUP, img->filename,
				       "region table has an unknown required region");
		}
	}
	if (!have_bat || !have_meta)
		return err_set(-EINVAL, img->filename,
			       "region table lacks the %s region", have_bat ? "metadata" : "BAT");
	ret = check_region(img, s, "BAT", s->bat_off, s->bat_len);
	if (ret == 0)
		ret = check_region(img, s, "metadata", s->meta_off, s->meta_len);
	if (ret == 0 && range_overlap(s->bat_off, s->bat_len, s->meta_off, s->meta_len))
		ret = err_set(-EINVAL, img->filename,
			      "region table: the BAT region (%llu) overlaps the metadata region (%llu)",
			      (unsigned long long)s->bat_off, (unsigned long long)s->meta_off);
	return ret;
}

static int vhdx_load_regions(struct image *img, struct vhdx_state *s)
{
	uint8_t *buf = malloc(VHDX_REGION_SIZE);
	bool ok = false;
	int ret;

	if (!buf)
		return err_set(-ENOMEM, img->filename, "out of memory");
	ret = read_region_table(img, s, VHDX_REGION1_OFF, buf, &ok);
	if (ret == 0 && !ok)
		ret = read_region_table(img, s, VHDX_REGION2_OFF, buf, &ok);
	if (ret == 0 && !ok)
		ret = err_set(-EINVAL, img->filename,
			      "both region tables are damaged (bad signature, CRC-32C or entry count)");
	if (ret == 0)
		ret = parse_regions(img, s, buf);
	free(buf);
	return ret;
}

/* ---- metadata ---- */

struct meta_item {
	uint32_t off, len;
	bool found;
};

/* Read one item's value (len bytes, exactly as the item must be). */
static int meta_read(struct image *img, struct vhdx_state *s, const struct meta_item *it,
		     const char *what, void *buf, uint32_t len)
{
	if (it->len < len)
		return err_set(-EINVAL, img->filename, "metadata item %s is %u bytes (needs %u)",
			       what, it->len, len);
	return vhdx_pread(img, s, buf, len, s->meta_off + it->off);
}

static int meta_table(struct image *img, struct vhdx_state *s, struct meta_item items[7])
{
	static const vhdx_guid *const known[7] = {
		&vhdx_guid_file_params, &vhdx_guid_disk_size, &vhdx_guid_page83,
		&vhdx_guid_logical_sector, &vhdx_guid_physical_sector,
		&vhdx_guid_parent_locator, NULL,
	};
	uint8_t *buf = malloc(VHDX_METADATA_TABLE_SIZE);
	uint16_t n;
	int ret;

	if (!buf)
		return err_set(-ENOMEM, img->filename, "out of memory");
	ret = vhdx_pread(img, s, buf, VHDX_METADATA_TABLE_SIZE, s->meta_off);
	if (ret < 0)
		goto out;
	n = load_le16(buf + 10);
	if (memcmp(buf, VHDX_METADATA_SIG, 8) || n > VHDX_METADATA_MAX_ENTRIES) {
		ret = err_set(-EINVAL, img->filename,
			      "no valid metadata table at %#llx", (unsigned long long)s->meta_off);
		goto out;
	}
	for (uint16_t i = 0; i < n && ret == 0; i++) {
		const uint8_t *e = buf + 32 + (size_t)i * 32;
		uint32_t off = load_le32(e + 16), len = load_le32(e + 20);
		uint32_t flags = load_le32(e + 24);
		int k;

		for (k = 0; known[k]; k++)
			if (vhdx_guid_eq((const vhdx_guid *)e, known[k]))
				break;
		if (len && (off < VHDX_METADATA_TABLE_SIZE || off > s->meta_len ||
			    len > s->meta_len - off)) {
			ret = err_set(-EINVAL, img->filename,
				      "metadata item %u at %#x (%u bytes) lies outside the metadata region",
				      i, off, len);
		} else if (!known[k]) {
			if (flags & VHDX_META_REQUIRED)
				ret = err_set(-ENOTSUP, img->filename,
					      "unsupported required metadata item");
		} else if (items[k].found) {
			ret = err_set(-EINVAL, img->filename, "metadata item listed twice");
		} else {
			items[k].found = true;
			items[k].off = off;
			items[k].len = len;
		}
	}
out:
	free(buf);
	return ret;
}

static int meta_values(struct image *img, struct vhdx_state *s, struct meta_item *items)
{
	uint8_t v[16];
	int ret;

	if (!items[0].found || !items[1].found || !items[3].found)
		return err_set(-EINVAL, img->filename,
			       "metadata lacks a required item (file parameters, disk size or logical sector size)");
	ret = meta_read(img, s, &items[0], "file parameters", v, 8);
	if (ret < 0)
		return ret;
	s->block_size = load_le32(v);
	s->params_flags = load_le32(v + 4);
	s->has_parent = s->params_flags & VHDX_PARAM_HAS_PARENT;
	ret = meta_read(img, s, &items[1], "virtual disk size", v, 8);
	if (ret < 0)
		return ret;
	img->size = load_le64(v);
	ret = meta_read(img, s, &items[3], "logical sector size", v, 4);
	if (ret < 0)
		return ret;
	s->logical_sector = load_le32(v);
	s->physical_sector = 512;
	if (items[4].found) {
		ret = meta_read(img, s, &items[4], "physical sector size", v, 4);
		if (ret < 0)
			return ret;
		s->physical_sector = load_le32(v);
	}
	if (items[2].found)
		ret = meta_read(img, s, &items[2], "page 83 data", s->page83.b, 16);
	return ret;
}

static int meta_geometry(struct image *img, struct vhdx_state *s)
{
	if (!is_power_of_2(s->block_size) || s->block_size < VHDX_MIN_BLOCK ||
	    s->block_size > VHDX_MAX_BLOCK)
		return err_set(-EINVAL, img->filename,
			       "invalid block size %u (a power of two from 1 MiB to 256 MiB)",
			       s->block_size);
	if (s->logical_sector != 512 && s->logical_sector != 4096)
		return err_set(-EINVAL, img->filename, "invalid logical sector size %u",
			       s->logical_sector);
	if (s->physical_sector != 512 && s->physical_sector != 4096)
		return err_set(-EINVAL, img->filename, "invalid physical sector size %u",
			       s->physical_sector);
	if (img->size > VHDX_MAX_SIZE || img->size % s->logical_sector)
		return err_set(-EINVAL, img->filename,
			       "invalid virtual disk size %llu (at most 64 TiB, whole logical sectors)",
			       (unsigned long long)img->size);
	s->chunk_ratio = ((uint64_t)VHDX_SB_SECTORS * s->logical_sector) / s->block_size;
	s->data_blocks = div_round_up(img->size, s->block_size);
	if (s->has_parent)
		s->bat_entries = div_round_up(s->data_blocks, s->chunk_ratio) *
				 (s->chunk_ratio + 1);
	else
		s->bat_entries = s->data_blocks +
				 (s->data_blocks ? (s->data_blocks - 1) / s->chunk_ratio : 0);
	if (s->bat_entries * 8 > s->bat_len)
		return err_set(-EINVAL, img->filename,
			       "BAT region (%u bytes) too small for %llu entries",
			       s->bat_len, (unsigned long long)s->bat_entries);
	return 0;
}

static int vhdx_load_metadata(struct image *img, struct vhdx_state *s,
			      struct meta_item *items)
{
	int ret = meta_table(img, s, items);

	if (ret == 0)
		ret = meta_values(img, s, items);
	if (ret == 0)
		ret = meta_geometry(img, s);
	return ret;
}

/* ---- BAT ---- */

static bool in_metadata(const struct vhdx_state *s, uint64_t off, uint64_t len)
{
	return off < VHDX_MiB ||
	       range_overlap(off, len, s->hdr.log_offset, s->hdr.log_length) ||
	       range_overlap(off, len, s->bat_off, s->bat_len) ||
	       range_overlap(off, len, s->meta_off, s->meta_len);
}

/* Validate one entry; *end: where its block ends in the file (0 if none). */
static int check_bat_entry(struct image *img, struct vhdx_state *s, uint64_t i,
			   uint64_t e, uint64_t *end)
{
	bool sb = (i + 1) % (s->chunk_ratio + 1) == 0;
	unsigned st = (unsigned)(e & VHDX_BAT_STATE_MASK);
	uint64_t off = e >> VHDX_BAT_OFFSET_SHIFT << VHDX_BAT_OFFSET_SHIFT;
	uint64_t blen = sb ? VHDX_MiB : s->block_size;

	*end = 0;
	if (sb ? (st != VHDX_SB_NOT_PRESENT && st != VHDX_SB_PRESENT) : (st == 4 || st == 5))
		return err_set(-EINVAL, img->filename, "BAT entry %llu has invalid state %u",
			       (unsigned long long)i, st);
	if (sb && (!s->has_parent || st != VHDX_SB_PRESENT))
		return 0;   /* a bitmap entry means nothing without a parent */
	if (!sb && st == VHDX_PAYLOAD_PARTIALLY_PRESENT && !s->has_parent)
		return err_set(-EINVAL, img->filename,
			       "BAT entry %llu is partially present in a disk without a parent",
			       (unsigned long long)i);
	if (!sb && st < VHDX_PAYLOAD_FULLY_PRESENT)
		return 0;
	if (off + blen > s->file_size) {
		if (img->flags & IMG_CHECK) {
			s->bad_bat_entries++;
			return 0;
		}
		return err_set(-EINVAL, img->filename,
			       "BAT entry %llu points to %llu, beyond the end of the file (%llu bytes)",
			       (unsigned long long)i, (unsigned long long)off,
			       (unsigned long long)s->file_size);
	}
	if (in_metadata(s, off, blen) && !(img->flags & IMG_CHECK))
		return err_set(-EINVAL, img->filename,
			       "BAT entry %llu points into the image metadata at %#llx",
			       (unsigned long long)i, (unsigned long long)off);
	*end = off + blen;
	return 0;
}

static int vhdx_load_bat(struct image *img, struct vhdx_state *s)
{
	size_t bytes = (size_t)s->bat_entries * 8;
	uint64_t free_off = align_up(s->file_size, VHDX_MiB);
	bool fixed = !s->has_parent && s->data_blocks > 0;
	uint8_t *raw;
	int ret = ref_check_metadata_size(img, "BAT", bytes);

	if (ret < 0)
		return ret;
	s->bat = malloc(bytes ? bytes : 8);
	raw = malloc(bytes ? bytes : 8);
	if (!s->bat || !raw) {
		free(raw);
		return err_set(-ENOMEM, img->filename, "out of memory for the BAT");
	}
	ret = bytes ? vhdx_pread(img, s, raw, bytes, s->bat_off) : 0;
	for (uint64_t i = 0; ret == 0 && i < s->bat_entries; i++) {
		uint64_t e = load_le64(raw + 8 * i), end;

		s->bat[i] = e;
		ret = check_bat_entry(img, s, i, e, &end);
		free_off = MAX(free_off, align_up(end, VHDX_MiB));
		if ((i + 1) % (s->chunk_ratio + 1) &&
		    (e & VHDX_BAT_STATE_MASK) != VHDX_PAYLOAD_FULLY_PRESENT)
			fixed = false;
	}
	free(raw);
	s->free_off = free_off;
	s->fixed = fixed;
	return ret;
}

/* ---- parent locator ---- */

struct locator {
	char *linkage, *linkage2, *relative, *volume, *absolute;
};

static int locator_kv(struct image *img, const uint8_t *buf, uint32_t len,
		      const uint8_t *e, char **key, char **val)
{
	uint32_t ko = load_le32(e), vo = load_le32(e + 4);
	uint16_t kl = load_le16(e + 8), vl = load_le16(e + 10);

	if (ko > len || kl > len - ko || vo > len || vl > len - vo || !kl || !vl)
		return err_set(-EINVAL, img->filename,
			       "parent locator entry outside the locator item");
	*key = utf16_to_utf8(buf + ko, kl, false);
	*val = utf16_to_utf8(buf + vo, vl, false);
	if (!*key || !*val)
		return err_set(-ENOMEM, img->filename, "out of memory");
	return 0;
}

static void locator_store(struct locator *l, char *key, char *val)
{
	char **slot = !strcmp(key, "parent_linkage") ? &l->linkage :
		      !strcmp(key, "parent_linkage2") ? &l->linkage2 :
		      !strcmp(key, "relative_path") ? &l->relative :
		      !strcmp(key, "volume_path") ? &l->volume :
		      !strcmp(key, "absolute_win32_path") ? &l->absolute : NULL;

	if (slot && !*slot) {
		*slot = val;
		val = NULL;
	}
	free(key);
	free(val);
}

static int parse_locator(struct image *img, struct vhdx_state *s,
			 const struct meta_item *it, struct locator *l)
{
	uint8_t *buf;
	uint16_t n;
	int ret;

	if (!it->found || it->len < 20 || it->len > VHDX_MAX_LOCATOR)
		return err_set(-EINVAL, img->filename,
			       "differencing VHDX without a valid parent locator");
	buf = malloc(it->len);
	if (!buf)
		return err_set(-ENOMEM, img->filename, "out of memory");
	ret = vhdx_pread(img, s, buf, it->len, s->meta_off + it->off);
	if (ret < 0)
		goto out;
	n = load_le16(buf + 18);
	if (!vhdx_guid_eq((const vhdx_guid *)buf, &vhdx_guid_locator_type_vhdx) ||
	    20 + (uint64_t)n * 12 > it->len) {
		ret = err_set(-EINVAL, img->filename,
			      "parent locator is not a VHDX locator or lists too many entries");
		goto out;
	}
	for (uint16_t i = 0; i < n && ret == 0; i++) {
		char *key = NULL, *val = NULL;

		ret = locator_kv(img, buf, it->len, buf + 20 + (size_t)i * 12, &key, &val);
		if (ret == 0)
			locator_store(l, key, val);
		else {
			free(key);
			free(val);
		}
	}
	if (ret == 0 && !l->linkage)
		ret = err_set(-EINVAL, img->filename, "parent locator lacks parent_linkage");
out:
	free(buf);
	return ret;
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

/* relative_path first; absolute Windows paths only by their file name beside us */
static char *pick_parent(struct image *img, struct locator *l)
{
	char *cand[3] = { l->relative, l->absolute, l->volume };
	char *first = NULL;

	for (int i = 0; i < 3; i++) {
		char *c = cand[i], *b;

		if (!c || !c[0])
			continue;
		normalize_path(c);
		b = strrchr(c, '/');
		if (i > 0 && b)
			c = b + 1;
		if (!first)
			first = c;
		if (ref_exists(img->filename, REF_PARENT, c, img->flags))
			return strdup(c);
	}
	return first ? strdup(first) : NULL;
}

static int check_parent_guid(struct image *img, struct vhdx_state *s)
{
	const char *path = img->backing_path;
	struct backend *be = NULL;
	struct vhdx_header h;
	char got[40];
	int ret = 0;

	/* a parent that cannot be opened is reported by image.c with the chain */
	if (backend_open(path, 0, &be) < 0) {
		err_clear();
		goto out;
	}
	ret = vhdx_read_current_header(be, path, &h, NULL);
	if (ret < 0)
		goto out;
	vhdx_guid_format(&h.data_write_guid, got);
	if (strcasecmp(got, s->parent_linkage) &&
	    (!s->parent_linkage2 || strcasecmp(got, s->parent_linkage2)))
		ret = err_set(-EINVAL, img->filename,
			      "parent '%s' has data write GUID %s but this differencing disk expects %s",
			      path, got, s->parent_linkage);
out:
	backend_close(be);
	return ret;
}

static int vhdx_open_parent(struct image *img, struct vhdx_state *s,
			    const struct meta_item *it, int flags)
{
	struct locator l = { 0 };
	int ret = parse_locator(img, s, it, &l);

	if (ret < 0)
		goto out;
	img->backing_name = pick_parent(img, &l);
	if (!img->backing_name) {
		ret = err_set(-EINVAL, img->filename, "parent locator names no parent path");
		goto out;
	}
	img->backing_format = strdup("vhdx");
	s->parent_linkage = l.linkage;
	s->parent_linkage2 = l.linkage2;
	l.linkage = l.linkage2 = NULL;
	if (!img->backing_format) {
		ret = err_set(-ENOMEM, img->filename, "out of memory");
		goto out;
	}
	if (!(flags & IMG_NO_BACKING))
		ret = ref_resolve(img->filename, REF_PARENT, img->backing_name, flags,
				  &img->backing_path);
	if (ret == 0 && !(flags & IMG_NO_BACKING))
		ret = check_parent_guid(img, s);
out:
	free(l.linkage);
	free(l.linkage2);
	free(l.relative);
	free(l.volume);
	free(l.absolute);
	return ret;
}

/* ---- open / close ---- */

static void vhdx_free_state(struct vhdx_state *s)
{
	free(s->bat);
	free(s->pending);
	free(s->parent_linkage);
	free(s->parent_linkage2);
	vhdx_log_free(&s->log);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->alloc_done);
	free(s);
}

static int vhdx_open_layout(struct image *img, struct vhdx_state *s, int flags)
{
	struct meta_item items[7] = { 0 };
	int ret = backend_size(img->be, &s->file_size);

	if (ret == 0)
		ret = vhdx_load_header(img, s);
	if (ret == 0)
		ret = vhdx_log_load(img, s);
	if (ret == 0 && s->log.n && (flags & IMG_RDWR))
		ret = vhdx_log_apply_to_file(img, s);
	if (ret == 0)
		ret = vhdx_load_regions(img, s);
	if (ret == 0)
		ret = vhdx_load_metadata(img, s, items);
	if (ret == 0 && s->has_parent && (flags & IMG_RDWR) && !(flags & IMG_CHECK))
		ret = err_set(-ENOTSUP, img->filename,
			      "differencing VHDX images can only be opened read-only");
	if (ret == 0)
		ret = vhdx_load_bat(img, s);
	if (ret == 0 && s->has_parent)
		ret = vhdx_open_parent(img, s, &items[5], flags);
	return ret;
}

static int vhdx_open(struct image *img, int flags)
{
	struct vhdx_state *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return err_set(-ENOMEM, img->filename, "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->alloc_done, NULL);
	img->priv = s;
	ret = vhdx_open_layout(img, s, flags);
	if (ret == 0 && (flags & IMG_RDWR)) {
		s->pending = calloc(s->data_blocks / 8 + 1, 1);
		if (!s->pending)
			ret = err_set(-ENOMEM, img->filename, "out of memory");
	}
	if (ret < 0) {
		err_set_default(ret, img->filename, "could not open the VHDX image");
		/* image.c does not call close after a failed open */
		vhdx_free_state(s);
		img->priv = NULL;
		return ret;
	}
	img->cluster_size = s->block_size;
	/* a fixed disk's blocks are holes in a fresh file: zeros if the file is */
	img->zero_init = !s->has_parent && (!s->fixed || img->be->zero_init);
	return 0;
}

static void vhdx_close(struct image *img)
{
	struct vhdx_state *s = img->priv;

	if (!s)
		return;
	vhdx_free_state(s);
	img->priv = NULL;
}

const struct format_ops vhdx_format_ops = {
	.name = "vhdx",
	.create_opts = vhdx_create_opts,
	.probe = vhdx_probe,
	.open = vhdx_open,
	.close = vhdx_close,
	.create = vhdx_create,
	.read = vhdx_read,
	.write = vhdx_write,
	.write_zeroes = vhdx_write_zeroes,
	.block_status = vhdx_block_status,
	.flush = vhdx_flush,
	.info = vhdx_info,
	.check = vhdx_check,
};
