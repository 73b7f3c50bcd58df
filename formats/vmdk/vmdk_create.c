/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmdk_create.c - creating VMDK images with qemu-img's options: subformat
 * (monolithicSparse, monolithicFlat, twoGbMaxExtentSparse, twoGbMaxExtentFlat,
 * streamOptimized), adapter_type, hwversion, compat6, toolsversion, zeroed_grain,
 * backing_file/backing_fmt (a delta disk) and preallocation (flat extents).
 *
 * Defaults follow qemu-img 7.2 (monolithicSparse, ide, hwversion 4); streamOptimized
 * uses VMware's layout (vmdk_stream.c) and descriptor conventions.
 */
#include "vmdk.h"
#include "../create_opts.h"
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
#include <time.h>
#include <unistd.h>

enum subformat { SUB_MONO_SPARSE, SUB_MONO_FLAT, SUB_SPLIT_SPARSE, SUB_SPLIT_FLAT, SUB_STREAM };

static const char *const subformat_names[] = {
	"monolithicSparse", "monolithicFlat", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat",
	"streamOptimized",
};

const struct create_opt vmdk_create_opts[] = {
	CREATE_OPT_SIZE("Virtual disk size"),
	{ .name = "adapter_type", .type = OPT_TYPE_STRING,
	  .help = "Virtual adapter type, can be one of ide (default), lsilogic, buslogic or "
		  "legacyESX" },
	CREATE_OPT_BACKING_FILE,
	{ .name = "backing_fmt", .type = OPT_TYPE_STRING, .help = "Must be 'vmdk' if present" },
	{ .name = "compat6", .type = OPT_TYPE_BOOL, .def = "off",
	  .help = "VMDK version 6 image" },
	{ .name = "hwversion", .type = OPT_TYPE_STRING, .def = "undefined",
	  .help = "VMDK hardware version" },
	{ .name = "toolsversion", .type = OPT_TYPE_STRING, .help = "VMware guest tools version" },
	{ .name = "subformat", .type = OPT_TYPE_STRING,
	  .help = "VMDK flat extent format, can be one of {monolithicSparse (default) | "
		  "monolithicFlat | twoGbMaxExtentSparse | twoGbMaxExtentFlat | streamOptimized} " },
	{ .name = "zeroed_grain", .type = OPT_TYPE_BOOL,
	  .help = "Enable efficient zero writes using the zeroed-grain GTE feature" },
	CREATE_OPT_NOCOW,
	CREATE_OPT_FILE_PREALLOC,
	CREATE_OPT_EXTENT_SIZE_HINT,
	CREATE_OPT_END,
};

struct create_args {
	enum subformat sub;
	const char *adapter;
	const char *hwversion;
	const char *toolsversion;
	bool zeroed_grain;
	const char *backing;
	enum prealloc_mode prealloc;
};

static uint32_t random_cid(void)
{
	uint32_t v;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16);
	return v;
}

static int parse_args(struct opts *opts, const char *filename, struct create_args *a)
{
	static const char *const adapters[] = { "ide", "lsilogic", "buslogic", "legacyESX" };
	const char *v;
	bool compat6 = false, found;
	int ret;

	memset(a, 0, sizeof(*a));
	a->adapter = "ide";
	a->toolsversion = "2147483647";
	v = opts_get(opts, "subformat");
	if (v) {
		found = false;
		for (int i = 0; i < (int)ARRAY_SIZE(subformat_names); i++) {
			if (!strcasecmp(v, subformat_names[i])) {
				a->sub = (enum subformat)i;
				found = true;
			}
		}
		if (!found)
			return err_set(-EINVAL, filename, "Unknown subformat: %s", v);
	}
	v = opts_get(opts, "adapter_type");
	if (v) {
		found = false;
		for (size_t i = 0; i < ARRAY_SIZE(adapters); i++) {
			if (!strcasecmp(v, adapters[i])) {
				a->adapter = adapters[i];
				found = true;
			}
		}
		if (!found)
			return err_set(-EINVAL, filename, "Unknown adapter type: '%s'", v);
	}
	if ((ret = opts_get_bool(opts, "compat6", &compat6)) < 0 && ret != -ENOENT)
		return err_set(ret, filename, "%s", err_get());
	if ((ret = opts_get_bool(opts, "zeroed_grain", &a->zeroed_grain)) < 0 && ret != -ENOENT)
		return err_set(ret, filename, "%s", err_get());
	a->hwversion = opts_get(opts, "hwversion");
	if (a->hwversion && compat6)
		return err_set(-EINVAL, filename, "compat6 cannot be enabled with hwversion set");
	if (!a->hwversion)
		a->hwversion = compat6 ? "6" : "4";
	v = opts_get(opts, "toolsversion");
	if (v)
		a->toolsversion = v;
	a->backing = opts_get(opts, "backing_file");
	v = opts_get(opts, "backing_fmt");
	if (v && strcmp(v, "vmdk"))
		return err_set(-EINVAL, filename, "backing_fmt must be 'vmdk' for a vmdk image");
	v = opts_get(opts, "preallocation");
	if (v && parse_prealloc(v, &a->prealloc) < 0)
		return err_set(-EINVAL, filename, "%s", err_get());
	if (a->prealloc == PREALLOC_METADATA)
		return err_set(-EINVAL, filename,
			       "Unsupported preallocation mode 'metadata' for vmdk (use off, falloc or full)");
	if (a->prealloc != PREALLOC_OFF && a->sub != SUB_MONO_FLAT && a->sub != SUB_SPLIT_FLAT)
		return err_set(-EINVAL, filename,
			       "preallocation is only supported for the flat subformats");
	if (a->backing && a->sub == SUB_STREAM)
		return err_set(-EINVAL, filename, "a streamOptimized image cannot have a backing file");
	if (a->backing && a->sub != SUB_MONO_SPARSE && a->sub != SUB_SPLIT_SPARSE)
		return err_set(-EINVAL, filename, "a backing file needs a sparse subformat");
	return 0;
}

/* "dir/name.vmdk" -> "name-s001.vmdk" (the name stored in the descriptor) */
static char *extent_name(const char *filename, const char *tag, int idx)
{
	char *copy = strdup(filename);
	char *base, *out;
	size_t n;

	if (!copy)
		return NULL;
	base = basename(copy);
	n = strlen(base);
	if (n > 5 && !strcasecmp(base + n - 5, ".vmdk"))
		base[n - 5] = '\0';
	out = malloc(strlen(base) + 32);
	if (out) {
		if (idx > 0)
			sprintf(out, "%s-%s%03d.vmdk", base, tag, idx);
		else
			sprintf(out, "%s-%s.vmdk", base, tag);
	}
	free(copy);
	return out;
}

static char *base_name(const char *filename)
{
	char *copy = strdup(filename);
	char *out;

	if (!copy)
		return NULL;
	out = strdup(basename(copy));
	free(copy);
	return out;
}

static int parent_info(const char *filename, const char *backing, uint32_t *cid,
		       uint64_t *size)
{
	char *path = image_resolve_backing(filename, backing);
	struct image *img;
	int ret;

	if (!path)
		return err_set(-ENOMEM, filename, "out of memory");
	ret = image_open(path, "vmdk", IMG_NO_BACKING, &img);
	free(path);
	if (ret < 0)
		return ret;
	*cid = ((struct vmdk *)img->priv)->desc.cid;
	*size = img->size;
	image_close(img);
	return 0;
}

static int write_text(struct backend *be, const char *text)
{
	int ret = backend_truncate(be, 0);

	if (ret == 0)
		ret = backend_pwrite(be, text, strlen(text), 0);
	return ret;
}

static int create_flat_file(const char *path, uint64_t bytes, enum prealloc_mode m)
{
	struct backend *be;
	int ret = backend_open(path, BE_RDWR | BE_CREATE, &be);

	if (ret < 0)
		return ret;
	ret = backend_truncate(be, bytes);
	if (ret == 0 && m == PREALLOC_FALLOC)
		ret = backend_preallocate(be, 0, bytes);
	else if (ret == 0 && m == PREALLOC_FULL)
		ret = backend_write_zeroes(be, 0, bytes, 0);
	if (ret == 0)
		ret = backend_flush(be);
	backend_close(be);
	return ret;
}

static int create_sparse_file(const char *path, uint64_t sectors, bool zeroed)
{
	struct backend *be;
	int ret = backend_open(path, BE_RDWR | BE_CREATE, &be);

	if (ret < 0)
		return ret;
	ret = vmdk_sparse_create(be, path, sectors, NULL, zeroed);
	if (ret == 0)
		ret = backend_flush(be);
	backend_close(be);
	return ret;
}

/* Descriptor file plus extent files (monolithicFlat and the twoGb* splits). */
static int create_split(struct backend *be, const char *filename, uint64_t capacity,
			struct create_args *a, struct vmdk_desc_params *p)
{
	bool flat = a->sub != SUB_SPLIT_SPARSE;
	uint64_t split = a->sub == SUB_MONO_FLAT ? capacity : VMDK_SPLIT_BYTES / VMDK_SECTOR;
	int n = (int)MAX((uint64_t)1, div_round_up(capacity, split));
	struct vmdk_desc_extent *ext;
	char *text = NULL;
	int ret = 0;

	if (n > VMDK_MAX_EXTENTS)
		return err_set(-EFBIG, filename, "disk too large (more than %d extents)",
			       VMDK_MAX_EXTENTS);
	ext = calloc((size_t)n, sizeof(*ext));
	if (!ext)
		return err_set(-ENOMEM, filename, "out of memory");
	for (int i = 0; i < n && ret == 0; i++) {
		uint64_t sectors = MIN(split, capacity - (uint64_t)i * split);
		char *path;

		ext[i].access = VMDK_RW;
		ext[i].type = flat ? VMDK_EXT_FLAT : VMDK_EXT_SPARSE;
		ext[i].sectors = sectors;
		ext[i].filename = extent_name(filename, a->sub == SUB_MONO_FLAT ? "flat" :
					      flat ? "f" : "s",
					      a->sub == SUB_MONO_FLAT ? 0 : i + 1);
		if (!ext[i].filename) {
			ret = err_set(-ENOMEM, filename, "out of memory");
			break;
		}
		path = image_resolve_backing(filename, ext[i].filename);
		if (!path) {
			ret = err_set(-ENOMEM, filename, "out of memory");
			break;
		}
		ret = flat ? create_flat_file(path, sectors * VMDK_SECTOR, a->prealloc)
			   : create_sparse_file(path, sectors, a->zeroed_grain);
		free(path);
	}
	if (ret == 0) {
		p->ext = ext;
		p->n_ext = n;
		text = vmdk_desc_write(p);
		ret = text ? write_text(be, text) : err_set(-ENOMEM, filename, "out of memory");
	}
	free(text);
	for (int i = 0; i < n; i++)
		free(ext[i].filename);
	free(ext);
	return ret;
}

int vmdk_create(struct backend *be, const char *filename, uint64_t size, struct opts *opts)
{
	struct create_args a;
	struct vmdk_desc_params p = { 0 };
	struct vmdk_desc_extent ext = { 0 };
	uint32_t parent_cid = UINT32_MAX;
	uint64_t capacity;
	char *text = NULL;
	int ret;

	ret = parse_args(opts, filename, &a);
	if (ret < 0)
		return ret;
	if (a.backing) {
		uint64_t psize = 0;

		ret = parent_info(filename, a.backing, &parent_cid, &psize);
		if (ret < 0)
			return ret;
		if (!size)
			size = psize;
	}
	capacity = div_round_up(size, VMDK_SECTOR);
	if (capacity > VMDK_MAX_CAPACITY / VMDK_SECTOR)
		return err_set(-EFBIG, filename, "disk too large for VMDK (at most %llu bytes)",
			       (unsigned long long)VMDK_MAX_CAPACITY);
	p.cid = random_cid();
	p.parent_cid = parent_cid;
	p.create_type = subformat_names[a.sub];
	p.parent_hint = a.backing;
	p.adapter = a.adapter;
	p.hwversion = a.hwversion;
	p.toolsversion = a.toolsversion;
	p.capacity = capacity;
	p.vmware_style = a.sub == SUB_STREAM;
	if (a.sub != SUB_MONO_SPARSE && a.sub != SUB_STREAM)
		return create_split(be, filename, capacity, &a, &p);

	ext.access = VMDK_RW;
	ext.type = VMDK_EXT_SPARSE;
	ext.sectors = capacity;
	ext.filename = base_name(filename);
	if (!ext.filename)
		return err_set(-ENOMEM, filename, "out of memory");
	p.ext = &ext;
	p.n_ext = 1;
	text = vmdk_desc_write(&p);
	if (!text)
		ret = err_set(-ENOMEM, filename, "out of memory");
	else if (a.sub == SUB_STREAM)
		ret = vmdk_stream_create(be, filename, capacity, text);
	else
		ret = vmdk_sparse_create(be, filename, capacity, text, a.zeroed_grain);
	free(text);
	free(ext.filename);
	return ret;
}
