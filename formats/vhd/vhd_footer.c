/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd_footer.c - the VHD footer and dynamic disk header: decode, encode, checksum,
 * and the CHS geometry rules that decide a VHD's virtual size.
 *
 * Sizes: Virtual PC sizes a disk by its CHS geometry (C*H*S sectors, which rounds
 * the size down), Hyper-V, Disk2vhd, Azure and the rest by the footer's
 * current_size.  We follow current qemu (10.0): geometry only for the creators
 * "vpc " and "qemu", and never when the geometry is the 65535/16/255 maximum.
 */
#include "vhd.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* One's complement of the byte sum, the 4 checksum bytes counted as zero. */
uint32_t vhd_checksum(const uint8_t *buf, size_t len, size_t csum_off)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < len; i++)
		if (i < csum_off || i >= csum_off + 4)
			sum += buf[i];
	return ~sum;
}

bool vhd_footer_cookie_ok(const uint8_t *buf)
{
	return !memcmp(buf, VHD_COOKIE, 8);
}

bool vhd_footer_checksum_ok(const uint8_t *buf)
{
	return vhd_checksum(buf, VHD_FOOTER_SIZE, 64) == load_be32(buf + 64);
}

bool vhd_dyn_header_checksum_ok(const uint8_t *buf)
{
	return vhd_checksum(buf, VHD_DYN_HEADER_SIZE, 36) == load_be32(buf + 36);
}

void vhd_footer_decode(const uint8_t *buf, struct vhd_footer *f)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->cookie, buf, 8);
	f->features = load_be32(buf + 8);
	f->version = load_be32(buf + 12);
	f->data_offset = load_be64(buf + 16);
	f->timestamp = load_be32(buf + 24);
	memcpy(f->creator_app, buf + 28, 4);
	f->creator_version = load_be32(buf + 32);
	memcpy(f->creator_os, buf + 36, 4);
	f->orig_size = load_be64(buf + 40);
	f->cur_size = load_be64(buf + 48);
	f->cyls = load_be16(buf + 56);
	f->heads = buf[58];
	f->spt = buf[59];
	f->type = load_be32(buf + 60);
	f->checksum = load_be32(buf + 64);
	memcpy(f->uuid, buf + 68, 16);
	f->saved_state = buf[84];
}

/* Fills all 512 bytes; the checksum is computed, f->checksum is ignored. */
void vhd_footer_encode(const struct vhd_footer *f, uint8_t *buf)
{
	memset(buf, 0, VHD_FOOTER_SIZE);
	memcpy(buf, f->cookie, 8);
	store_be32(buf + 8, f->features);
	store_be32(buf + 12, f->version);
	store_be64(buf + 16, f->data_offset);
	store_be32(buf + 24, f->timestamp);
	memcpy(buf + 28, f->creator_app, 4);
	store_be32(buf + 32, f->creator_version);
	memcpy(buf + 36, f->creator_os, 4);
	store_be64(buf + 40, f->orig_size);
	store_be64(buf + 48, f->cur_size);
	store_be16(buf + 56, f->cyls);
	buf[58] = f->heads;
	buf[59] = f->spt;
	store_be32(buf + 60, f->type);
	memcpy(buf + 68, f->uuid, 16);
	buf[84] = f->saved_state;
	store_be32(buf + 64, vhd_checksum(buf, VHD_FOOTER_SIZE, 64));
}

void vhd_dyn_header_decode(const uint8_t *buf, struct vhd_dyn_header *h)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->cookie, buf, 8);
	h->data_offset = load_be64(buf + 8);
	h->table_offset = load_be64(buf + 16);
	h->version = load_be32(buf + 24);
	h->max_entries = load_be32(buf + 28);
	h->block_size = load_be32(buf + 32);
	h->checksum = load_be32(buf + 36);
	memcpy(h->parent_uuid, buf + 40, 16);
	h->parent_timestamp = load_be32(buf + 56);
	memcpy(h->parent_name, buf + 64, 512);
	for (int i = 0; i < VHD_NB_LOCATORS; i++) {
		const uint8_t *p = buf + 576 + 24 * i;

		h->loc[i].platform = load_be32(p);
		h->loc[i].data_space = load_be32(p + 4);
		h->loc[i].data_length = load_be32(p + 8);
		h->loc[i].data_offset = load_be64(p + 16);
	}
}

void vhd_dyn_header_encode(const struct vhd_dyn_header *h, uint8_t *buf)
{
	memset(buf, 0, VHD_DYN_HEADER_SIZE);
	memcpy(buf, h->cookie, 8);
	store_be64(buf + 8, h->data_offset);
	store_be64(buf + 16, h->table_offset);
	store_be32(buf + 24, h->version);
	store_be32(buf + 28, h->max_entries);
	store_be32(buf + 32, h->block_size);
	memcpy(buf + 40, h->parent_uuid, 16);
	store_be32(buf + 56, h->parent_timestamp);
	memcpy(buf + 64, h->parent_name, 512);
	for (int i = 0; i < VHD_NB_LOCATORS; i++) {
		uint8_t *p = buf + 576 + 24 * i;

		store_be32(p, h->loc[i].platform);
		store_be32(p + 4, h->loc[i].data_space);
		store_be32(p + 8, h->loc[i].data_length);
		store_be64(p + 16, h->loc[i].data_offset);
	}
	store_be32(buf + 36, vhd_checksum(buf, VHD_DYN_HEADER_SIZE, 36));
}

/*
 * The geometry algorithm of the VHD specification (appendix "CHS calculation"):
 * the result may describe fewer sectors than asked for (it rounds down).
 */
void vhd_chs_geometry(uint64_t sectors, uint16_t *cyls, uint8_t *heads, uint8_t *spt)
{
	uint64_t cth;
	uint32_t h, s;

	if (sectors > VHD_MAX_GEOMETRY)
		sectors = VHD_MAX_GEOMETRY;
	if (sectors >= 65535ULL * 16 * 63) {
		s = 255;
		h = 16;
		cth = sectors / s;
	} else {
		s = 17;
		cth = sectors / s;
		h = (uint32_t)((cth + 1023) / 1024);
		if (h < 4)
			h = 4;
		if (cth >= h * 1024ULL || h > 16) {
			s = 31;
			h = 16;
			cth = sectors / s;
		}
		if (cth >= h * 1024ULL) {
			s = 63;
			h = 16;
			cth = sectors / s;
		}
	}
	*cyls = (uint16_t)(cth / h);
	*heads = (uint8_t)h;
	*spt = (uint8_t)s;
}

/*
 * The sector count and geometry `create` writes for a requested size, as qemu-img
 * does: the size goes up to a whole sector, then (without force_size) up to the
 * next size the geometry can describe, so that converting never truncates.  When
 * only the maximum geometry fits, the exact size is kept.
 */
int vhd_rounded_sectors(uint64_t size, bool force_size, uint64_t *sectors,
			uint16_t *cyls, uint8_t *heads, uint8_t *spt)
{
	uint64_t want = div_round_up(size, VHD_SECTOR);
	uint16_t c = 0;
	uint8_t h = 0, s = 0;

	if (want > VHD_MAX_SECTORS)
		return -EFBIG;
	if (force_size) {
		c = VHD_CHS_MAX_C;
		h = VHD_CHS_MAX_H;
		s = VHD_CHS_MAX_S;
	} else {
		uint64_t target = MIN(want, VHD_MAX_GEOMETRY);

		/* at most heads*spt (4080) steps before the cylinder count goes up */
		for (uint64_t i = 0; target > (uint64_t)c * h * s; i++)
			vhd_chs_geometry(target + i, &c, &h, &s);
	}
	if ((uint64_t)c * h * s == VHD_MAX_GEOMETRY)
		*sectors = want;
	else
		*sectors = (uint64_t)c * h * s;
	*cyls = c;
	*heads = h;
	*spt = s;
	return 0;
}

bool vhd_size_uses_chs(const struct vhd_footer *f)
{
	if ((uint64_t)f->cyls * f->heads * f->spt == VHD_MAX_GEOMETRY)
		return false;
	return !memcmp(f->creator_app, "vpc ", 4) || !memcmp(f->creator_app, "qemu", 4);
}

uint64_t vhd_footer_virtual_size(const struct vhd_footer *f)
{
	if (vhd_size_uses_chs(f))
		return (uint64_t)f->cyls * f->heads * f->spt * VHD_SECTOR;
	return align_down(f->cur_size, VHD_SECTOR);
}

/* One bit per sector, padded to whole sectors. */
uint32_t vhd_bitmap_size(uint32_t block_size)
{
	return (uint32_t)align_up(div_round_up(block_size / VHD_SECTOR, 8), VHD_SECTOR);
}

void vhd_uuid_format(const uint8_t *u, char *out)
{
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
		 u[12], u[13], u[14], u[15]);
}
