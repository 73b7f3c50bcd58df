/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd_create.c - creating fixed and dynamic VHD images.
 *
 * Options (qemu-img's, plus two of our own):
 *   subformat=dynamic|fixed  dynamic (default): footer copy, header at 512, BAT at
 *                            1536 sized to the disk, 2 MiB blocks; fixed: the data
 *                            area (sparse) and the footer.
 *   force_size=on            keep the exact size: geometry 65535/16/255, creator
 *                            "qem2" (without it the size is rounded up to what the
 *                            CHS geometry can describe, creator "qemu", as qemu-img).
 *   azure=on                 an image Azure accepts: fixed, size rounded up to a
 *                            whole MiB and kept exactly (file = N MiB + 512).
 *   hyperv=on                a Hyper-V style footer: creator "win " 10.0, exact
 *                            size, geometry computed (rounded down) from it.
 *   preallocation=off|falloc|full  (fixed) how the data area is allocated;
 *   nocow, extent_size_hint  accepted as qemu-img does, no effect here.
 * vhd_create_opts below declares them for -o help and image_create's check.
 */
#include "vhd.h"
#include "../create_opts.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define VHD_CREATOR_QEMU_VERSION   0x00050003u  /* Virtual PC 2007, as qemu writes */
#define VHD_CREATOR_HYPERV_VERSION 0x000a0000u  /* Hyper-V 10.0 */

struct vhd_create_params {
	uint32_t type;
	bool force_size;
	bool azure;
	bool hyperv;
	enum prealloc_mode prealloc;  /* fixed only: how the data area is allocated */
};

static const char *const vhd_subformats[] = { "dynamic", "fixed", NULL };

const struct create_opt vhd_create_opts[] = {
	CREATE_OPT_SIZE("Virtual disk size"),
	{ .name = "subformat", .type = OPT_TYPE_ENUM, .values = vhd_subformats,
	  .help = "Type of virtual hard disk format. Supported formats are "
		  "{dynamic (default) | fixed} " },
	{ .name = "force_size", .type = OPT_TYPE_BOOL,
	  .help = "Force disk size calculation to use the actual size specified, rather "
		  "than using the nearest CHS-based calculation" },
	{ .name = "azure", .type = OPT_TYPE_BOOL,
	  .help = "An image Azure accepts: fixed, the size rounded up to a whole MiB and "
		  "kept exactly (imgtool)" },
	{ .name = "hyperv", .type = OPT_TYPE_BOOL,
	  .help = "A Hyper-V style footer: creator 'win ' 10.0, the exact size (imgtool)" },
	CREATE_OPT_NOCOW,
	CREATE_OPT_FILE_PREALLOC,
	CREATE_OPT_EXTENT_SIZE_HINT,
	CREATE_OPT_END,
};

/* preallocation shapes a fixed disk's data area (a dynamic one has none to
 * preallocate) */
static int parse_prealloc_opt(const char *filename, struct opts *opts,
			      struct vhd_create_params *p)
{
	const char *pre = opts_get(opts, "preallocation");

	p->prealloc = PREALLOC_OFF;
	if (pre && parse_prealloc(pre, &p->prealloc) < 0)
		return err_set(-EINVAL, filename, "%s", err_get());
	if (p->prealloc == PREALLOC_METADATA)
		return err_set(-EINVAL, filename,
			       "Unsupported preallocation mode 'metadata' for vpc (use off, falloc or full)");
	return 0;
}

static int parse_create_opts(const char *filename, struct opts *opts,
			     struct vhd_create_params *p)
{
	const char *sub = opts_get(opts, "subformat");
	int ret;

	memset(p, 0, sizeof(*p));
	p->type = VHD_TYPE_DYNAMIC;
	if (sub && !strcmp(sub, "fixed"))
		p->type = VHD_TYPE_FIXED;
	else if (sub && strcmp(sub, "dynamic"))
		return err_set(-EINVAL, filename,
			       "Parameter 'subformat' does not accept value '%s'", sub);
	ret = opts_get_bool(opts, "force_size", &p->force_size);
	if (ret == 0 || ret == -ENOENT)
		ret = opts_get_bool(opts, "azure", &p->azure);
	if (ret == 0 || ret == -ENOENT)
		ret = opts_get_bool(opts, "hyperv", &p->hyperv);
	if (ret < 0 && ret != -ENOENT)
		return err_set(ret, filename, "%s", err_get());
	ret = parse_prealloc_opt(filename, opts, p);
	if (ret < 0)
		return ret;
	if (p->azure) {
		if (sub && p->type != VHD_TYPE_FIXED)
			return err_set(-EINVAL, filename,
				       "azure=on needs subformat=fixed (Azure takes only fixed VHDs)");
		p->type = VHD_TYPE_FIXED;
		p->force_size = true;
	}
	return 0;
}

static void random_uuid(uint8_t *u)
{
	size_t got = 0;

	while (got < 16) {
		ssize_t n = getrandom(u + got, 16 - got, 0);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < 16) {
		/* no entropy source: still unique enough per process and second */
		srand((unsigned)time(NULL) ^ (unsigned)(uintptr_t)u);
		for (int i = 0; i < 16; i++)
			u[i] = (uint8_t)rand();
	}
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);  /* version 4 */
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);  /* RFC 4122 variant */
}

/* Size, geometry and creator for the footer. */
static int fill_footer(const char *filename, uint64_t size,
		       const struct vhd_create_params *p, struct vhd_footer *f)
{
	uint64_t sectors;
	int ret;

	memset(f, 0, sizeof(*f));
	if (p->azure)
		size = align_up(size, MiB);
	if (p->hyperv) {
		sectors = div_round_up(size, VHD_SECTOR);
		ret = sectors > VHD_MAX_SECTORS ? -EFBIG : 0;
		if (ret == 0)
			vhd_chs_geometry(sectors, &f->cyls, &f->heads, &f->spt);
	} else {
		ret = vhd_rounded_sectors(size, p->force_size, &sectors, &f->cyls, &f->heads,
					  &f->spt);
	}
	if (ret < 0)
		return err_set(-EFBIG, filename,
			       "The image size is too large for file format 'vpc' (at most 2040 GiB)");
	memcpy(f->cookie, VHD_COOKIE, 8);
	f->features = VHD_FEATURES_RESERVED;
	f->version = VHD_VERSION;
	f->data_offset = p->type == VHD_TYPE_FIXED ? UINT64_MAX : VHD_FOOTER_SIZE;
	f->timestamp = (uint32_t)((uint64_t)time(NULL) - VHD_TIMESTAMP_BASE);
	if (p->hyperv) {
		memcpy(f->creator_app, "win ", 4);
		f->creator_version = VHD_CREATOR_HYPERV_VERSION;
	} else {
		memcpy(f->creator_app, p->force_size ? "qem2" : "qemu", 4);
		f->creator_version = VHD_CREATOR_QEMU_VERSION;
	}
	memcpy(f->creator_os, "Wi2k", 4);
	f->orig_size = sectors * VHD_SECTOR;
	f->cur_size = sectors * VHD_SECTOR;
	f->type = p->type;
	random_uuid(f->uuid);
	return 0;
}

static int create_fixed(struct backend *be, const struct vhd_footer *f,
			enum prealloc_mode prealloc)
{
	uint8_t buf[VHD_FOOTER_SIZE];
	int ret;

	vhd_footer_encode(f, buf);
	/* without preallocation the data area stays a hole: it reads as zeros */
	ret = backend_truncate(be, f->cur_size + VHD_FOOTER_SIZE);
	if (ret == 0 && prealloc == PREALLOC_FALLOC)
		ret = backend_preallocate(be, 0, f->cur_size);
	else if (ret == 0 && prealloc == PREALLOC_FULL)
		ret = backend_write_zeroes(be, 0, f->cur_size, 0);
	if (ret == 0)
		ret = backend_pwrite(be, buf, sizeof(buf), f->cur_size);
	return ret;
}

static int create_dynamic(struct backend *be, const char *filename,
			  const struct vhd_footer *f)
{
	const size_t chunk = 64 * KiB;
	uint64_t entries = div_round_up(f->cur_size, VHD_DEFAULT_BLOCK);
	uint64_t bat_off = VHD_FOOTER_SIZE + VHD_DYN_HEADER_SIZE;
	uint64_t bat_bytes = align_up(entries * 4, VHD_SECTOR);
	uint8_t foot[VHD_FOOTER_SIZE], head[VHD_DYN_HEADER_SIZE];
	struct vhd_dyn_header h;
	uint8_t *ff;
	int ret;

	memset(&h, 0, sizeof(h));
	memcpy(h.cookie, VHD_DYN_COOKIE, 8);
	h.data_offset = UINT64_MAX;   /* the spec says 32 bits; MS tools expect 64 */
	h.table_offset = bat_off;
	h.version = VHD_VERSION;
	h.max_entries = (uint32_t)entries;
	h.block_size = VHD_DEFAULT_BLOCK;
	vhd_footer_encode(f, foot);
	vhd_dyn_header_encode(&h, head);

	ff = malloc(chunk);
	if (!ff)
		return err_set(-ENOMEM, filename, "out of memory");
	memset(ff, 0xff, chunk);
	ret = backend_pwrite(be, foot, sizeof(foot), 0);
	if (ret == 0)
		ret = backend_pwrite(be, head, sizeof(head), VHD_FOOTER_SIZE);
	for (uint64_t done = 0; ret == 0 && done < bat_bytes; done += chunk)
		ret = backend_pwrite(be, ff, (size_t)MIN((uint64_t)chunk, bat_bytes - done),
				     bat_off + done);
	if (ret == 0)
		ret = backend_pwrite(be, foot, sizeof(foot), bat_off + bat_bytes);
	free(ff);
	return ret;
}

int vhd_create(struct backend *be, const char *filename, uint64_t size, struct opts *opts)
{
	struct vhd_create_params p;
	struct vhd_footer f;
	int ret = parse_create_opts(filename, opts, &p);

	if (ret == 0)
		ret = fill_footer(filename, size, &p, &f);
	if (ret < 0)
		return ret;
	if (p.type == VHD_TYPE_FIXED)
		return create_fixed(be, &f, p.prealloc);
	return create_dynamic(be, filename, &f);
}
