/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2_header.c - parse and validate the qcow2 header (cluster 0) and its
 * extensions, and write it back.
 *
 * Parsing trusts nothing: every field is range-checked before anything is
 * allocated from it, and every extension length is checked against the space
 * that is left in the first cluster.  Rewriting keeps what we do not understand
 * (unknown extensions, header bytes past the fields we know) so that an image
 * written by a newer QEMU survives a round trip through imgtool.
 */
#include "qcow2.h"
#include "../reference.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FEATURE_ENTRY_SIZE 48
#define FEATURE_NAME_LEN   46
/* QEMU keeps the backing format in a 16-byte buffer: longer names are bogus. */
#define BACKING_FMT_MAX    15

/* The feature name table qemu-img 7.2 writes into every v3 image. */
static const struct qcow2_feature std_features[] = {
	{ 0, 0, "dirty bit" },
	{ 0, 1, "corrupt bit" },
	{ 0, 2, "external data file" },
	{ 0, 3, "compression type" },
	{ 0, 4, "extended L2 entries" },
	{ 1, 0, "lazy refcounts" },
	{ 2, 0, "bitmaps" },
	{ 2, 1, "raw external data" },
};

void qcow2_header_derive(struct qcow2_state *s)
{
	struct qcow2_header *h = &s->h;

	s->cluster_bits = h->cluster_bits;
	s->cluster_size = 1ULL << h->cluster_bits;
	s->extended_l2 = (h->incompatible_features & QCOW2_INCOMPAT_EXTL2) != 0;
	s->l2_entry_size = s->extended_l2 ? 16 : 8;
	s->l2_entries = s->cluster_size / s->l2_entry_size;
	s->subcluster_size = s->extended_l2 ? s->cluster_size / QCOW2_SUBCLUSTERS
					    : s->cluster_size;
	s->refcount_bits = 1U << h->refcount_order;
	s->refcount_max = s->refcount_bits == 64 ? UINT64_MAX
						 : (1ULL << s->refcount_bits) - 1;
	s->refblock_entries = s->cluster_size * 8 / s->refcount_bits;
	s->csize_shift = 62 - (h->cluster_bits - 8);
	s->csize_mask = (1ULL << (h->cluster_bits - 8)) - 1;
	s->cluster_offset_mask = (1ULL << s->csize_shift) - 1;
}

void qcow2_feature_names(const struct qcow2_state *s, int type, uint64_t mask,
			 char *buf, size_t buflen)
{
	size_t n = 0;

	if (buflen == 0)
		return;
	buf[0] = '\0';
	for (int bit = 0; bit < 64; bit++) {
		const char *name = NULL;
		char tmp[16];

		if (!(mask & (1ULL << bit)))
			continue;
		for (int i = 0; i < s->nb_features; i++) {
			if (s->features[i].type == type && s->features[i].bit == bit &&
			    s->features[i].name[0]) {
				name = s->features[i].name;
				break;
			}
		}
		if (!name) {
			snprintf(tmp, sizeof(tmp), "bit %d", bit);
			name = tmp;
		}
		n += (size_t)snprintf(buf + n, buflen - n, "%s%s", n ? ", " : "", name);
		if (n >= buflen)
			return;
	}
}

int qcow2_header_add_ext(struct qcow2_state *s, uint32_t type, const uint8_t *data,
			  uint32_t len)
{
	struct qcow2_ext *v;

	v = realloc(s->unknown_exts, (size_t)(s->nb_unknown_exts + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->unknown_exts = v;
	v = &v[s->nb_unknown_exts];
	v->type = type;
	v->len = len;
	v->data = malloc(len ? len : 1);
	if (!v->data)
		return -ENOMEM;
	memcpy(v->data, data, len);
	s->nb_unknown_exts++;
	return 0;
}

static int parse_feature_table(struct qcow2_state *s, const uint8_t *p, uint32_t len)
{
	uint32_t n = len / FEATURE_ENTRY_SIZE;
	struct qcow2_feature *f;

	if (n == 0)
		return 0;
	f = realloc(s->features, (size_t)(s->nb_features + n) * sizeof(*f));
	if (!f)
		return -ENOMEM;
	s->features = f;
	for (uint32_t i = 0; i < n; i++, p += FEATURE_ENTRY_SIZE) {
		struct qcow2_feature *e = &f[s->nb_features++];

		e->type = p[0];
		e->bit = p[1];
		memcpy(e->name, p + 2, FEATURE_NAME_LEN);
		e->name[FEATURE_NAME_LEN] = '\0';
	}
	return 0;
}

/* Walk the extension area [start, end) of cluster 0. */
static int parse_extensions(struct qcow2_state *s, const uint8_t *buf, uint64_t start,
			    uint64_t end)
{
	const char *fn = s->img->filename;
	uint64_t off = start;
	int ret;

	while (off < end) {
		uint32_t type, len;
		const uint8_t *data;

		if (end - off < 8)
			return err_set(-EINVAL, fn,
				       "qcow2 header extension at %#" PRIx64 " truncated", off);
		type = load_be32(buf + off);
		len = load_be32(buf + off + 4);
		off += 8;
		if (type == QCOW2_EXT_END)
			return 0;
		if (len > end - off)
			return err_set(-EINVAL, fn,
				       "qcow2 header extension %#x too large (%u bytes at %#" PRIx64 ")",
				       type, len, off);
		data = buf + off;
		switch (type) {
		case QCOW2_EXT_BACKING_FMT:
			if (len > BACKING_FMT_MAX)
				return err_set(-EINVAL, fn,
					       "backing format name too long (%u bytes)", len);
			free(s->backing_fmt);
			s->backing_fmt = strndup((const char *)data, len);
			if (!s->backing_fmt)
				return -ENOMEM;
			break;
		case QCOW2_EXT_FEATURE_TABLE:
			ret = parse_feature_table(s, data, len);
			if (ret < 0)
				return ret;
			break;
		default:
			/* bitmaps, crypto header, data file name and anything newer:
			 * kept verbatim so that rewriting the header preserves them */
			ret = qcow2_header_add_ext(s, type, data, len);
			if (ret < 0)
				return ret;
			break;
		}
		off += align_up(len, 8);
	}
	return 0;
}

/* A table (L1, refcount table) must be cluster aligned and lie inside the file.
 * past_eof_ok: `check` opens an image whose table runs past the end (what lies
 * there reads as zeros) to diagnose it, as qemu-img check does (a corruption,
 * exit 2), instead of refusing it. */
static int check_table(struct qcow2_state *s, const char *what, uint64_t offset,
		       uint64_t entries, uint64_t entry_size, bool past_eof_ok)
{
	const char *fn = s->img->filename;
	uint64_t bytes = entries * entry_size, end;

	if (entries == 0)
		return 0;
	if (!is_aligned(offset, s->cluster_size) || offset == 0)
		return err_set(-EINVAL, fn, "%s offset %#" PRIx64 " invalid (not cluster aligned)",
			       what, offset);
	if (!add_ok(offset, bytes, &end) || end > (uint64_t)INT64_MAX)
		return err_set(-EINVAL, fn, "%s at %#" PRIx64 " too large", what, offset);
	if (end > s->file_size && !past_eof_ok)
		return err_set(-EINVAL, fn, "%s at %#" PRIx64 " beyond end of file", what, offset);
	return 0;
}

static void parse_fields(struct qcow2_header *h, const uint8_t *buf)
{
	memset(h, 0, sizeof(*h));
	h->version = load_be32(buf + 4);
	h->backing_file_offset = load_be64(buf + 8);
	h->backing_file_size = load_be32(buf + 16);
	h->cluster_bits = load_be32(buf + 20);
	h->size = load_be64(buf + 24);
	h->crypt_method = load_be32(buf + 32);
	h->l1_size = load_be32(buf + 36);
	h->l1_table_offset = load_be64(buf + 40);
	h->refcount_table_offset = load_be64(buf + 48);
	h->refcount_table_clusters = load_be32(buf + 56);
	h->nb_snapshots = load_be32(buf + 60);
	h->snapshots_offset = load_be64(buf + 64);
	if (h->version == 2) {
		h->refcount_order = 4;
		h->header_length = QCOW2_V2_HEADER_LENGTH;
		return;
	}
	h->incompatible_features = load_be64(buf + 72);
	h->compatible_features = load_be64(buf + 80);
	h->autoclear_features = load_be64(buf + 88);
	h->refcount_order = load_be32(buf + 96);
	h->header_length = load_be32(buf + 100);
}

/* Checks of the fixed fields that need nothing but the header itself. */
static int check_basic(struct qcow2_state *s, size_t len)
{
	struct qcow2_header *h = &s->h;
	const char *fn = s->img->filename;

	if (h->version != 2 && h->version != 3)
		return err_set(-ENOTSUP, fn, "Unsupported qcow2 version %u", h->version);
	if (h->cluster_bits < QCOW2_MIN_CLUSTER_BITS || h->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		return err_set(-EINVAL, fn, "Unsupported cluster size: 2^%u", h->cluster_bits);
	if (h->version == 3) {
		if (len < QCOW2_V3_HEADER_LENGTH)
			return err_set(-EINVAL, fn, "qcow2 header truncated");
		if (h->header_length < QCOW2_V3_HEADER_LENGTH)
			return err_set(-EINVAL, fn, "qcow2 header too short (%u bytes)",
				       h->header_length);
		if (h->header_length % 8)
			return err_set(-EINVAL, fn,
				       "qcow2 header length %u is not a multiple of 8",
				       h->header_length);
		if (h->header_length > (1U << h->cluster_bits) || h->header_length > len)
			return err_set(-EINVAL, fn, "qcow2 header exceeds cluster size");
	}
	if (h->refcount_order > 6)
		return err_set(-EINVAL, fn, "Reference count entry width too large; may not exceed 64 bits");
	if (h->crypt_method > 2)
		return err_set(-ENOTSUP, fn, "Unsupported encryption method: %u", h->crypt_method);
	if (h->size > (uint64_t)INT64_MAX)
		return err_set(-EINVAL, fn, "virtual size %#" PRIx64 " too large", h->size);
	return 0;
}

/* Fields past the fixed 104 bytes of a v3 header. */
static int parse_additional(struct qcow2_state *s, const uint8_t *buf)
{
	struct qcow2_header *h = &s->h;

	if (h->version < 3 || h->header_length <= 104)
		return 0;
	h->compression_type = buf[104];
	if (h->header_length > QCOW2_WRITE_HEADER_LENGTH) {
		s->extra_header_len = h->header_length - QCOW2_WRITE_HEADER_LENGTH;
		s->extra_header = malloc(s->extra_header_len);
		if (!s->extra_header)
			return -ENOMEM;
		memcpy(s->extra_header, buf + QCOW2_WRITE_HEADER_LENGTH, s->extra_header_len);
	}
	return 0;
}

static int check_features(struct qcow2_state *s)
{
	struct qcow2_header *h = &s->h;
	const char *fn = s->img->filename;
	uint64_t unknown = h->incompatible_features & ~QCOW2_INCOMPAT_MASK;
	char names[512];

	if (unknown) {
		qcow2_feature_names(s, 0, unknown, names, sizeof(names));
		return err_set(-ENOTSUP, fn, "Unsupported qcow2 feature(s): %s", names);
	}
	if (h->incompatible_features & QCOW2_INCOMPAT_DATA_FILE)
		return err_set(-ENOTSUP, fn, "images with an external data file are not supported");
	if (h->compression_type > QCOW2_COMPRESSION_ZSTD)
		return err_set(-ENOTSUP, fn, "Unknown compression type %u", h->compression_type);
	if (h->compression_type != QCOW2_COMPRESSION_ZLIB &&
	    !(h->incompatible_features & QCOW2_INCOMPAT_COMPRESSION))
		return err_set(-EINVAL, fn,
			       "compression_type field is non-zero but the compression type feature bit is not set");
	if ((h->incompatible_features & QCOW2_INCOMPAT_EXTL2) && h->cluster_bits < 14)
		return err_set(-EINVAL, fn,
			       "extended L2 entries are only supported with cluster sizes of at least 16384 bytes");
	return 0;
}

static int check_tables(struct qcow2_state *s)
{
	struct qcow2_header *h = &s->h;
	const char *fn = s->img->filename;
	uint64_t need, reft_bytes;
	int ret;

	if ((uint64_t)h->l1_size * 8 > QCOW2_MAX_L1_BYTES)
		return err_set(-EFBIG, fn, "Active L1 table too large");
	need = qcow2_l1_entries_for(s, h->size);
	if (need > QCOW2_MAX_L1_BYTES / 8)
		return err_set(-EFBIG, fn, "Image is too big");
	if (h->l1_size < need)
		return err_set(-EINVAL, fn, "L1 table is too small (%u entries for %" PRIu64 " needed)",
			       h->l1_size, need);
	ret = check_table(s, "L1 table", h->l1_table_offset, h->l1_size, 8,
			  s->img->flags & (IMG_CHECK | IMG_REPAIR));
	if (ret == 0)
		ret = ref_check_metadata_size(s->img, "L1 table", (uint64_t)h->l1_size * 8);
	if (ret < 0)
		return ret;
	reft_bytes = (uint64_t)h->refcount_table_clusters << h->cluster_bits;
	if (reft_bytes > QCOW2_MAX_REFTABLE_BYTES)
		return err_set(-EINVAL, fn, "Reference count table too large");
	if (h->refcount_table_clusters == 0)
		return err_set(-EINVAL, fn, "Image does not contain a reference count table");
	ret = check_table(s, "Reference count table", h->refcount_table_offset,
			  reft_bytes / 8, 8, false);
	if (ret == 0)
		ret = ref_check_metadata_size(s->img, "Reference count table", reft_bytes);
	if (ret < 0)
		return ret;
	if (h->nb_snapshots > QCOW2_MAX_SNAPSHOTS)
		return err_set(-EINVAL, fn, "Too many snapshots (%u)", h->nb_snapshots);
	if (h->nb_snapshots) {
		if (!is_aligned(h->snapshots_offset, s->cluster_size) || !h->snapshots_offset)
			return err_set(-EINVAL, fn, "Snapshot table offset %#" PRIx64 " invalid",
				       h->snapshots_offset);
		if (h->snapshots_offset >= s->file_size)
			return err_set(-EINVAL, fn, "Snapshot table at %#" PRIx64 " beyond end of file",
				       h->snapshots_offset);
	}
	return 0;
}

static int parse_backing_name(struct qcow2_state *s, const uint8_t *buf, size_t len)
{
	struct qcow2_header *h = &s->h;
	const char *fn = s->img->filename;
	uint64_t end;

	if (!h->backing_file_offset)
		return 0;
	if (h->backing_file_size > QCOW2_MAX_BACKING_NAME)
		return err_set(-EINVAL, fn, "Backing file name too long");
	end = h->backing_file_offset + h->backing_file_size;
	if (h->backing_file_offset > s->cluster_size || end > s->cluster_size || end > len)
		return err_set(-EINVAL, fn, "Invalid backing file offset");
	if (h->backing_file_offset < h->header_length)
		return err_set(-EINVAL, fn, "backing file name overlaps the qcow2 header");
	if (h->backing_file_size == 0)
		return 0;
	free(s->img->backing_name);
	s->img->backing_name = strndup((const char *)buf + h->backing_file_offset,
				       h->backing_file_size);
	return s->img->backing_name ? 0 : -ENOMEM;
}

int qcow2_header_parse(struct qcow2_state *s, const uint8_t *buf, size_t len)
{
	struct qcow2_header *h = &s->h;
	const char *fn = s->img->filename;
	uint64_t ext_end;
	int ret;

	if (len < QCOW2_V2_HEADER_LENGTH || load_be32(buf) != QCOW2_MAGIC)
		return err_set(-EINVAL, fn, "not a qcow2 image (bad magic or truncated header)");
	parse_fields(h, buf);
	ret = check_basic(s, len);
	if (ret < 0)
		return ret;
	ret = parse_additional(s, buf);
	if (ret < 0)
		goto nomem;
	qcow2_header_derive(s);
	if (len > s->cluster_size)
		len = (size_t)s->cluster_size;

	/* The extensions end where the backing file name starts (or at the end
	 * of the first cluster) - the name must not be read as an extension. */
	ext_end = len;
	if (h->backing_file_offset && h->backing_file_offset < ext_end)
		ext_end = h->backing_file_offset;
	if (ext_end > h->header_length) {
		ret = parse_extensions(s, buf, h->header_length, ext_end);
		if (ret < 0)
			goto nomem;
	}
	ret = check_features(s);
	if (ret < 0)
		return ret;
	ret = check_tables(s);
	if (ret < 0)
		return ret;
	ret = parse_backing_name(s, buf, len);
	if (ret < 0)
		goto nomem;
	if (s->backing_fmt && s->img->backing_name) {
		free(s->img->backing_format);
		s->img->backing_format = strdup(s->backing_fmt);
		if (!s->img->backing_format)
			return err_set(-ENOMEM, fn, "out of memory");
	}
	return 0;
nomem:
	if (ret == -ENOMEM)
		return err_set(-ENOMEM, fn, "out of memory");
	return ret;
}

/* ---- writing ---- */

struct hbuf {
	uint8_t *p;
	uint64_t cap;
	uint64_t len;
	bool overflow;
};

static void hbuf_ext(struct hbuf *b, uint32_t type, const void *data, uint32_t len)
{
	uint64_t need = 8 + align_up(len, 8);

	if (b->overflow || b->len + need > b->cap) {
		b->overflow = true;
		return;
	}
	store_be32(b->p + b->len, type);
	store_be32(b->p + b->len + 4, len);
	if (len)
		memcpy(b->p + b->len + 8, data, len);
	b->len += need;
}

static bool is_std_feature(const struct qcow2_feature *f)
{
	for (size_t i = 0; i < ARRAY_SIZE(std_features); i++)
		if (std_features[i].type == f->type && std_features[i].bit == f->bit)
			return true;
	return false;
}

/* The standard table, plus any entry read from the image that names a bit we
 * do not know (written by a newer QEMU). */
static int hbuf_feature_table(struct qcow2_state *s, struct hbuf *b)
{
	size_t n = ARRAY_SIZE(std_features) + (size_t)s->nb_features, used = 0;
	uint8_t *t = calloc(n, FEATURE_ENTRY_SIZE);
	const struct qcow2_feature *f;

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (i < ARRAY_SIZE(std_features)) {
			f = &std_features[i];
		} else {
			f = &s->features[i - ARRAY_SIZE(std_features)];
			if (is_std_feature(f))
				continue;
		}
		t[used * FEATURE_ENTRY_SIZE] = f->type;
		t[used * FEATURE_ENTRY_SIZE + 1] = f->bit;
		memcpy(t + used * FEATURE_ENTRY_SIZE + 2, f->name,
		       strnlen(f->name, FEATURE_NAME_LEN));
		used++;
	}
	hbuf_ext(b, QCOW2_EXT_FEATURE_TABLE, t, (uint32_t)(used * FEATURE_ENTRY_SIZE));
	free(t);
	return 0;
}

static void store_fields(const struct qcow2_header *h, uint8_t *p)
{
	store_be32(p, QCOW2_MAGIC);
	store_be32(p + 4, h->version);
	store_be64(p + 8, h->backing_file_offset);
	store_be32(p + 16, h->backing_file_size);
	store_be32(p + 20, h->cluster_bits);
	store_be64(p + 24, h->size);
	store_be32(p + 32, h->crypt_method);
	store_be32(p + 36, h->l1_size);
	store_be64(p + 40, h->l1_table_offset);
	store_be64(p + 48, h->refcount_table_offset);
	store_be32(p + 56, h->refcount_table_clusters);
	store_be32(p + 60, h->nb_snapshots);
	store_be64(p + 64, h->snapshots_offset);
	if (h->version < 3)
		return;
	store_be64(p + 72, h->incompatible_features);
	store_be64(p + 80, h->compatible_features);
	store_be64(p + 88, h->autoclear_features);
	store_be32(p + 96, h->refcount_order);
	store_be32(p + 100, h->header_length);
	p[104] = h->compression_type;
}

int qcow2_header_write(struct qcow2_state *s)
{
	struct qcow2_header *h = &s->h;
	const char *fn = s->img->filename;
	const char *backing = s->img->backing_name;
	size_t blen = backing ? strlen(backing) : 0;
	struct hbuf b = { 0 };
	int ret;

	if (blen > QCOW2_MAX_BACKING_NAME)
		return err_set(-EINVAL, fn, "backing file name too long (%zu bytes)", blen);
	b.cap = s->cluster_size;
	b.p = calloc(1, (size_t)b.cap);
	if (!b.p)
		return err_set(-ENOMEM, fn, "out of memory");

	if (h->version >= 3) {
		h->header_length = QCOW2_WRITE_HEADER_LENGTH + s->extra_header_len;
		if (s->extra_header_len)
			memcpy(b.p + QCOW2_WRITE_HEADER_LENGTH, s->extra_header,
			       s->extra_header_len);
	} else {
		h->header_length = QCOW2_V2_HEADER_LENGTH;
	}
	b.len = h->header_length;
	if (s->backing_fmt && blen)
		hbuf_ext(&b, QCOW2_EXT_BACKING_FMT, s->backing_fmt, (uint32_t)strlen(s->backing_fmt));
	if (h->version >= 3) {
		ret = hbuf_feature_table(s, &b);
		if (ret < 0)
			goto out_nomem;
	}
	for (int i = 0; i < s->nb_unknown_exts; i++)
		hbuf_ext(&b, s->unknown_exts[i].type, s->unknown_exts[i].data,
			 s->unknown_exts[i].len);
	hbuf_ext(&b, QCOW2_EXT_END, NULL, 0);
	if (b.overflow || b.len + blen > b.cap) {
		ret = err_set(-ENOSPC, fn,
			      "header extensions and backing file name do not fit in the first cluster");
		goto out;
	}
	h->backing_file_offset = blen ? b.len : 0;
	h->backing_file_size = (uint32_t)blen;
	if (blen)
		memcpy(b.p + b.len, backing, blen);
	store_fields(h, b.p);
	ret = backend_pwrite(s->img->be, b.p, (size_t)b.cap, 0);
	if (ret == 0 && s->file_size < b.cap)
		s->file_size = b.cap;
	goto out;
out_nomem:
	ret = err_set(-ENOMEM, fn, "out of memory");
out:
	free(b.p);
	return ret;
}

int qcow2_header_write_incompat(struct qcow2_state *s)
{
	uint8_t v[8];

	if (s->h.version < 3) {
		if (s->h.incompatible_features == 0)
			return 0;
		return err_set(-ENOTSUP, s->img->filename,
			       "feature bits need a version 3 (compat=1.1) image");
	}
	store_be64(v, s->h.incompatible_features);
	return backend_pwrite(s->img->be, v, sizeof(v), 72);
}
