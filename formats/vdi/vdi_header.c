/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vdi_header.c - reading and judging a VDI header.
 *
 * The checks and their words are qemu's (so that a script sees the same refusal
 * from either tool); the header is untrusted, so every field used later to size
 * or place anything is checked here or, against the file size, in vdi_open.c.
 */
#include "vdi.h"
#include "../../common/bswap.h"
#include "../../common/err.h"

#include <errno.h>
#include <string.h>

bool vdi_signature_ok(const uint8_t *buf, size_t len)
{
	return len >= VDI_OFF_SIGNATURE + 4 &&
	       load_le32(buf + VDI_OFF_SIGNATURE) == VDI_SIGNATURE;
}

void vdi_header_decode(const uint8_t *buf, struct vdi_header *h)
{
	h->signature = load_le32(buf + VDI_OFF_SIGNATURE);
	h->version = load_le32(buf + VDI_OFF_VERSION);
	h->header_size = load_le32(buf + VDI_OFF_HEADER_SIZE);
	h->type = load_le32(buf + VDI_OFF_TYPE);
	h->flags = load_le32(buf + VDI_OFF_FLAGS);
	h->offset_bmap = load_le32(buf + VDI_OFF_BMAP);
	h->offset_data = load_le32(buf + VDI_OFF_DATA);
	h->sector_size = load_le32(buf + VDI_OFF_SECTOR_SIZE);
	h->disk_size = load_le64(buf + VDI_OFF_DISK_SIZE);
	h->block_size = load_le32(buf + VDI_OFF_BLOCK_SIZE);
	h->block_extra = load_le32(buf + VDI_OFF_BLOCK_EXTRA);
	h->blocks = load_le32(buf + VDI_OFF_BLOCKS);
	h->allocated = load_le32(buf + VDI_OFF_ALLOCATED);
	memcpy(h->uuid_link, buf + VDI_OFF_UUID_LINK, 16);
	memcpy(h->uuid_parent, buf + VDI_OFF_UUID_PARENT, 16);
}

static bool uuid_is_null(const uint8_t *u)
{
	static const uint8_t zero[16];

	return !memcmp(u, zero, 16);
}

/* qemu's checks, in qemu's order and words.  A disk size that is not a whole
 * number of sectors (VBoxManage convertfromraw makes them) is rounded up to the
 * next sector, as in qemu. */
int vdi_header_validate(const char *filename, struct vdi_header *h)
{
	if (h->signature != VDI_SIGNATURE)
		return err_set(-EINVAL, filename,
			       "Image not in VDI format (bad signature %08x)", h->signature);
	if (h->version != VDI_VERSION_1_1)
		return err_set(-ENOTSUP, filename, "unsupported VDI image (version %u.%u)",
			       h->version >> 16, h->version & 0xffff);
	if (h->offset_bmap % VDI_SECTOR)
		return err_set(-ENOTSUP, filename,
			       "unsupported VDI image (unaligned block map offset 0x%x)",
			       h->offset_bmap);
	if (h->offset_data % VDI_SECTOR)
		return err_set(-ENOTSUP, filename,
			       "unsupported VDI image (unaligned data offset 0x%x)",
			       h->offset_data);
	if (h->sector_size != VDI_SECTOR)
		return err_set(-ENOTSUP, filename,
			       "unsupported VDI image (sector size %u is not %u)",
			       h->sector_size, VDI_SECTOR);
	if (h->block_size != VDI_BLOCK_SIZE)
		return err_set(-ENOTSUP, filename,
			       "unsupported VDI image (block size %u is not %u)",
			       h->block_size, VDI_BLOCK_SIZE);
	if (h->disk_size > UINT64_MAX - VDI_SECTOR)
		return err_set(-EINVAL, filename, "invalid VDI image (disk size %llu)",
			       (unsigned long long)h->disk_size);
	h->disk_size = (h->disk_size + VDI_SECTOR - 1) / VDI_SECTOR * VDI_SECTOR;
	if (h->disk_size > (uint64_t)h->blocks * h->block_size)
		return err_set(-ENOTSUP, filename,
			       "unsupported VDI image (disk size %llu, image bitmap has room for %llu)",
			       (unsigned long long)h->disk_size,
			       (unsigned long long)h->blocks * h->block_size);
	if (!uuid_is_null(h->uuid_link))
		return err_set(-ENOTSUP, filename, "unsupported VDI image (non-NULL link UUID)");
	if (!uuid_is_null(h->uuid_parent))
		return err_set(-ENOTSUP, filename,
			       "unsupported VDI image (non-NULL parent UUID): differencing VDI images are not supported");
	if (h->blocks > VDI_BLOCKS_MAX)
		return err_set(-ENOTSUP, filename,
			       "unsupported VDI image (too many blocks %u, max is %u)",
			       h->blocks, VDI_BLOCKS_MAX);
	if (h->allocated > h->blocks)
		return err_set(-EINVAL, filename,
			       "invalid VDI image: %u blocks allocated but only %u in the image",
			       h->allocated, h->blocks);
	return 0;
}
