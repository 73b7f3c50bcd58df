/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dmg_table.c - the chunk table of a dmg, from "mish" blocks found either in the
 * resource fork (a list of length-prefixed resources) or base64-encoded in the
 * XML property list's <data> elements, read as qemu 7.2 reads them: anything
 * that is not a mish block (other resources, checksums) is skipped, and so are
 * comment and terminator entries.
 *
 * The plist is searched for <data>...</data> pairs, not parsed as XML: that is
 * all qemu looks at, and a bounded string search cannot be led astray by
 * entities or depth.  What a mish block says is checked entry by entry (qemu's
 * 64 MiB caps, sums that cannot wrap, stored bytes before the trailer) and the
 * finished table is sorted by sector and refused if two chunks overlap.
 */
#include "dmg.h"
#include "../reference.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static int dmg_add_chunk(struct dmg_state *s, const struct dmg_chunk *c)
{
	if (s->n_chunks == s->cap_chunks) {
		uint32_t cap = s->cap_chunks ? s->cap_chunks * 2 : 64;
		struct dmg_chunk *n;

		if (s->n_chunks >= DMG_MAX_CHUNKS)
			return err_set(-EINVAL, s->img->filename, "more than %u chunks",
				       DMG_MAX_CHUNKS);
		n = realloc(s->chunks, (size_t)cap * sizeof(*n));
		if (!n)
			return err_set(-ENOMEM, s->img->filename, "out of memory for the chunk table");
		s->chunks = n;
		s->cap_chunks = cap;
	}
	s->chunks[s->n_chunks++] = *c;
	return 0;
}

/* One 40-byte entry of a mish block whose first sector is out_sector and whose
 * data starts at in_offset in the file. */
static int dmg_parse_entry(struct dmg_state *s, const uint8_t *e, uint64_t out_sector,
			   uint64_t in_offset)
{
	struct dmg_chunk c = { .type = load_be32(e) };
	const char *name = s->img->filename;
	uint32_t i = s->n_chunks;
	uint64_t end;

	if (c.type == DMG_COMMENT || c.type == DMG_LAST)
		return 0;
	c.count = load_be64(e + 0x10);
	c.length = load_be64(e + 0x20);
	if (c.count == 0)
		return 0;    /* covers nothing */
	if (!add_ok(load_be64(e + 8), out_sector, &c.sector) ||
	    !add_ok(c.sector, c.count, &end) || end > UINT64_MAX / 512)
		return err_set(-EINVAL, name, "chunk %" PRIu32 ": sectors out of range", i);
	if (c.type != DMG_ZERO && c.type != DMG_IGNORE && c.count > DMG_SECTORCOUNTS_MAX)
		return err_set(-EINVAL, name,
			       "sector count %" PRIu64 " for chunk %" PRIu32 " is larger than max (%u)",
			       c.count, i, DMG_SECTORCOUNTS_MAX);
	if (c.length > DMG_LENGTHS_MAX)
		return err_set(-EINVAL, name,
			       "length %" PRIu64 " for chunk %" PRIu32 " is larger than max (%u)",
			       c.length, i, DMG_LENGTHS_MAX);
	if (c.type != DMG_ZERO && c.type != DMG_IGNORE) {
		if (!add_ok(load_be64(e + 0x18), in_offset, &c.offset) ||
		    !add_ok(c.offset, c.length, &end) || end > s->koly_offset)
			return err_set(-EINVAL, name,
				       "chunk %" PRIu32 ": data at %#" PRIx64 "+%" PRIu64 " beyond the end of the data fork",
				       i, c.offset, c.length);
	}
	return dmg_add_chunk(s, &c);
}

/* qemu's rule: a block that does not start with "mish" or is too short is
 * not ours and is skipped. */
static int dmg_parse_mish(struct dmg_state *s, const uint8_t *b, size_t len)
{
	uint64_t out_sector, in_offset;
	int ret = 0;

	if (len < DMG_MISH_MIN || load_be32(b) != DMG_MISH_MAGIC)
		return 0;
	out_sector = load_be64(b + 8);
	if (!add_ok(s->data_fork_offset, load_be64(b + 0x18), &in_offset))
		return err_set(-EINVAL, s->img->filename, "mish block data offset out of range");
	for (size_t at = DMG_MISH_CHUNKS_AT; ret == 0 && at + DMG_CHUNK_ENTRY <= len;
	     at += DMG_CHUNK_ENTRY)
		ret = dmg_parse_entry(s, b + at, out_sector, in_offset);
	return ret;
}

int dmg_table_from_rsrc(struct dmg_state *s, uint64_t off, uint64_t len)
{
	const char *name = s->img->filename;
	uint8_t head[12], sz[4];
	uint64_t data_off, data_len, pos, end;
	uint8_t *buf = NULL;
	int ret = backend_pread(s->img->be, head, sizeof(head), off);

	if (ret < 0)
		return ret;
	data_off = load_be32(head);
	data_len = load_be32(head + 8);
	if (data_off > len || data_len == 0 || data_off + data_len > len)
		return err_set(-EINVAL, name, "resource fork data (%" PRIu64 "+%" PRIu64 ") outside the fork (%" PRIu64 " bytes)",
			       data_off, data_len, len);
	pos = off + data_off;
	end = pos + data_len;
	while (pos < end && ret == 0) {
		uint32_t n;

		ret = backend_pread(s->img->be, sz, sizeof(sz), pos);
		if (ret < 0)
			break;
		n = load_be32(sz);
		pos += 4;
		if (n == 0 || n > end - MIN(end, pos) || n > DMG_RESOURCE_MAX) {
			ret = err_set(-EINVAL, name, "resource of %" PRIu32 " bytes at %#" PRIx64 " does not fit the resource fork",
				      n, pos - 4);
			break;
		}
		free(buf);
		buf = malloc(n);
		if (!buf) {
			ret = err_set(-ENOMEM, name, "out of memory");
			break;
		}
		ret = backend_pread(s->img->be, buf, n, pos);
		if (ret == 0)
			ret = dmg_parse_mish(s, buf, n);
		pos += n;
	}
	free(buf);
	return ret;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decode base64 in place (the output is never longer than the input); like
 * glib, characters outside the alphabet (the plist's tabs and newlines) are
 * skipped and '=' ends the data.  Returns the decoded length. */
static size_t b64_decode_inplace(char *text, size_t len)
{
	uint8_t *out = (uint8_t *)text;
	uint32_t acc = 0;
	size_t n = 0;
	int bits = 0;

	for (size_t i = 0; i < len && text[i] != '='; i++) {
		int v = b64_value(text[i]);

		if (v < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return n;
}

int dmg_table_from_plist(struct dmg_state *s, uint64_t off, uint64_t len)
{
	const char *name = s->img->filename;
	char *xml, *p;
	int ret;

	if (len > DMG_PLIST_MAX)
		return err_set(-EINVAL, name, "property list of %" PRIu64 " bytes (at most %u)",
			       len, DMG_PLIST_MAX);
	xml = malloc((size_t)len + 1);
	if (!xml)
		return err_set(-ENOMEM, name, "out of memory for the property list");
	ret = backend_pread(s->img->be, xml, (size_t)len, off);
	xml[len] = '\0';
	p = xml;
	while (ret == 0 && (p = strstr(p, "<data>")) != NULL) {
		char *body = p + 6, *stop = strstr(body, "</data>");

		if (!stop) {
			ret = err_set(-EINVAL, name, "property list: <data> without </data>");
			break;
		}
		ret = dmg_parse_mish(s, (uint8_t *)body,
				     b64_decode_inplace(body, (size_t)(stop - body)));
		p = stop + 7;
	}
	free(xml);
	return ret;
}

static int chunk_cmp(const void *a, const void *b)
{
	const struct dmg_chunk *x = a, *y = b;

	return x->sector < y->sector ? -1 : x->sector > y->sector;
}

static bool dmg_chunk_compressed(uint32_t type)
{
	return type == DMG_ZLIB || type == DMG_BZIP2 || type == DMG_LZFSE || type == DMG_ADC;
}

/* Sort, refuse overlaps, and size the decompression buffer. */
int dmg_table_finish(struct dmg_state *s)
{
	int ret = ref_check_metadata_size(s->img, "chunk table",
					  (uint64_t)s->n_chunks * sizeof(*s->chunks));

	if (ret < 0)
		return ret;
	if (s->n_chunks == 0 && s->img->size)
		return err_set(-EINVAL, s->img->filename, "no chunks describe the disk");
	if (s->n_chunks)   /* an empty disk may have no table at all */
		qsort(s->chunks, s->n_chunks, sizeof(*s->chunks), chunk_cmp);
	for (uint32_t i = 0; i < s->n_chunks; i++) {
		const struct dmg_chunk *c = &s->chunks[i];

		if (i > 0 && s->chunks[i - 1].sector + s->chunks[i - 1].count > c->sector)
			return err_set(-EINVAL, s->img->filename,
				       "chunks overlap at sector %" PRIu64, c->sector);
		if (dmg_chunk_compressed(c->type))
			s->max_unit = MAX(s->max_unit, c->count * 512);
	}
	return 0;
}
