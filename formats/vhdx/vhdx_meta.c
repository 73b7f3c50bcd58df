/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhdx_meta.c - VHDX on-disk structures shared by open, create and check: the
 * well-known GUIDs, the 4 KiB header (decode, encode with its CRC-32C, picking
 * the current one of the two copies, rewriting both), and UTF-16LE strings.
 */
#include "vhdx.h"
#include "../../common/bswap.h"
#include "../../common/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* A GUID written as text a-b-c-d is stored as a, b, c little-endian, d as bytes. */
#define VHDX_GUID(a, b, c, d0, d1, d2, d3, d4, d5, d6, d7) { {                  \
	(a) & 0xff, ((a) >> 8) & 0xff, ((a) >> 16) & 0xff, ((uint32_t)(a) >> 24) & 0xff, \
	(b) & 0xff, ((b) >> 8) & 0xff, (c) & 0xff, ((c) >> 8) & 0xff,              \
	d0, d1, d2, d3, d4, d5, d6, d7 } }

const vhdx_guid vhdx_guid_bat_region = VHDX_GUID(0x2dc27766, 0xf623, 0x4200,
	0x9d, 0x64, 0x11, 0x5e, 0x9b, 0xfd, 0x4a, 0x08);
const vhdx_guid vhdx_guid_metadata_region = VHDX_GUID(0x8b7ca206, 0x4790, 0x4b9a,
	0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e);
const vhdx_guid vhdx_guid_file_params = VHDX_GUID(0xcaa16737, 0xfa36, 0x4d43,
	0xb3, 0xb6, 0x33, 0xf0, 0xaa, 0x44, 0xe7, 0x6b);
const vhdx_guid vhdx_guid_disk_size = VHDX_GUID(0x2fa54224, 0xcd1b, 0x4876,
	0xb2, 0x11, 0x5d, 0xbe, 0xd8, 0x3b, 0xf4, 0xb8);
const vhdx_guid vhdx_guid_page83 = VHDX_GUID(0xbeca12ab, 0xb2e6, 0x4523,
	0x93, 0xef, 0xc3, 0x09, 0xe0, 0x00, 0xc7, 0x46);
const vhdx_guid vhdx_guid_logical_sector = VHDX_GUID(0x8141bf1d, 0xa96f, 0x4709,
	0xba, 0x47, 0xf2, 0x33, 0xa8, 0xfa, 0xab, 0x5f);
const vhdx_guid vhdx_guid_physical_sector = VHDX_GUID(0xcda348c7, 0x445d, 0x4471,
	0x9c, 0xc9, 0xe9, 0x88, 0x52, 0x51, 0xc5, 0x56);
const vhdx_guid vhdx_guid_parent_locator = VHDX_GUID(0xa8d35f2d, 0xb30b, 0x454d,
	0xab, 0xf7, 0xd3, 0xd8, 0x48, 0x34, 0xab, 0x0c);
const vhdx_guid vhdx_guid_locator_type_vhdx = VHDX_GUID(0xb04aefb7, 0xd19e, 0x4a81,
	0xb7, 0x89, 0x25, 0xb8, 0xe9, 0x44, 0x59, 0x13);

bool vhdx_guid_eq(const vhdx_guid *a, const vhdx_guid *b)
{
	return !memcmp(a->b, b->b, 16);
}

bool vhdx_guid_is_zero(const vhdx_guid *g)
{
	static const vhdx_guid zero;

	return vhdx_guid_eq(g, &zero);
}

void vhdx_guid_format(const vhdx_guid *g, char *out)
{
	const uint8_t *b = g->b;

	snprintf(out, 39, "{%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x}",
		 load_le32(b), load_le16(b + 4), load_le16(b + 6), b[8], b[9], b[10],
		 b[11], b[12], b[13], b[14], b[15]);
}

void vhdx_guid_random(vhdx_guid *g)
{
	size_t got = 0;

	while (got < 16) {
		ssize_t n = getrandom(g->b + got, 16 - got, 0);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < 16) {
		/* no entropy source: unique enough per process and second */
		srand((unsigned)time(NULL) ^ (unsigned)(uintptr_t)g);
		for (int i = 0; i < 16; i++)
			g->b[i] = (uint8_t)rand();
	}
	g->b[7] = (uint8_t)((g->b[7] & 0x0f) | 0x40);  /* version 4 (stored LE) */
	g->b[8] = (uint8_t)((g->b[8] & 0x3f) | 0x80);  /* RFC 4122 variant */
}

void vhdx_header_decode(const uint8_t *buf, struct vhdx_header *h)
{
	h->checksum = load_le32(buf + 4);
	h->seq = load_le64(buf + 8);
	memcpy(h->file_write_guid.b, buf + 16, 16);
	memcpy(h->data_write_guid.b, buf + 32, 16);
	memcpy(h->log_guid.b, buf + 48, 16);
	h->log_version = load_le16(buf + 64);
	h->version = load_le16(buf + 66);
	h->log_length = load_le32(buf + 68);
	h->log_offset = load_le64(buf + 72);
}

void vhdx_header_encode(const struct vhdx_header *h, uint8_t *buf)
{
	memset(buf, 0, VHDX_HEADER_SIZE);
	memcpy(buf, VHDX_HEADER_SIG, 4);
	store_le64(buf + 8, h->seq);
	memcpy(buf + 16, h->file_write_guid.b, 16);
	memcpy(buf + 32, h->data_write_guid.b, 16);
	memcpy(buf + 48, h->log_guid.b, 16);
	store_le16(buf + 64, h->log_version);
	store_le16(buf + 66, h->version);
	store_le32(buf + 68, h->log_length);
	store_le64(buf + 72, h->log_offset);
	store_le32(buf + 4, vhdx_checksum(buf, VHDX_HEADER_SIZE, 4));
}

bool vhdx_header_valid(const uint8_t *buf)
{
	return !memcmp(buf, VHDX_HEADER_SIG, 4) &&
	       load_le32(buf + 4) == vhdx_checksum(buf, VHDX_HEADER_SIZE, 4);
}

/* The current header: the valid copy with the higher sequence number. */
int vhdx_read_current_header(struct backend *be, const char *filename,
			     struct vhdx_header *h, int *slot)
{
	static const uint32_t offs[2] = { VHDX_HEADER1_OFF, VHDX_HEADER2_OFF };
	uint8_t *buf = malloc(VHDX_HEADER_SIZE);
	struct vhdx_header cand[2];
	bool ok[2] = { false, false };
	int ret = 0, pick;

	if (!buf)
		return err_set(-ENOMEM, filename, "out of memory");
	for (int i = 0; i < 2 && ret == 0; i++) {
		ret = backend_pread(be, buf, VHDX_HEADER_SIZE, offs[i]);
		if (ret == 0 && vhdx_header_valid(buf)) {
			ok[i] = true;
			vhdx_header_decode(buf, &cand[i]);
		}
	}
	free(buf);
	if (ret < 0)
		return ret;
	if (!ok[0] && !ok[1])
		return err_set(-EINVAL, filename,
			       "no valid VHDX header (both headers have a bad signature or CRC-32C)");
	pick = !ok[0] ? 1 : !ok[1] ? 0 : (cand[1].seq > cand[0].seq ? 1 : 0);
	*h = cand[pick];
	if (slot)
		*slot = pick;
	return 0;
}

static int write_header_slot(struct image *img, const struct vhdx_header *h, int slot)
{
	uint8_t *buf = malloc(VHDX_HEADER_SIZE);
	int ret;

	if (!buf)
		return err_set(-ENOMEM, img->filename, "out of memory");
	vhdx_header_encode(h, buf);
	ret = backend_pwrite(img->be, buf, VHDX_HEADER_SIZE,
			     slot ? VHDX_HEADER2_OFF : VHDX_HEADER1_OFF);
	free(buf);
	if (ret == 0)
		ret = backend_flush(img->be);
	return ret;
}

/* Write s->hdr (sequence bumped) into both slots, the stale one first, so that a
 * crash in between leaves one valid current header. */
int vhdx_write_headers(struct image *img, struct vhdx_state *s)
{
	int other = 1 - s->cur_hdr;
	int ret;

	s->hdr.seq++;
	ret = write_header_slot(img, &s->hdr, other);
	if (ret < 0)
		return ret;
	s->hdr.seq++;
	ret = write_header_slot(img, &s->hdr, s->cur_hdr);
	return ret;
}

