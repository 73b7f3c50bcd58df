/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luks.c - the `luks` format: a LUKS1 volume over the whole file, as qemu's
 * luks driver writes it.  The virtual disk is the payload (the file minus the
 * header and key material), encrypted sector by sector; the passphrase comes
 * from key-secret (-o at create, --image-opts at open).  info opens it without
 * the key (IMG_NO_IO), as qemu-img info does.
 */
#include "luks.h"
#include "../create_opts.h"
#include "../format.h"
#include "../image_opts.h"
#include "../../common/err.h"
#include "../../common/secret.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#define LUKS_IO_CHUNK (1024 * 1024)

struct luks_image {
	struct luks_volume vol;
	uint64_t payload;          /* bytes */
	pthread_mutex_t rmw_lock;  /* read-modify-write of partial sectors */
};

static const struct create_opt luks_create_opts[] = {
	CREATE_OPT_SIZE("Virtual disk size"),
	{ .name = "key-secret", .type = OPT_TYPE_STRING,
	  .help = "ID of the secret that provides the keyslot passphrase" },
	LUKS_CIPHER_OPTS(""),
	CREATE_OPT_NOCOW,
	CREATE_OPT_FILE_PREALLOC,
	CREATE_OPT_EXTENT_SIZE_HINT,
	CREATE_OPT_END,
};

static const struct create_opt luks_amend_opts[] = {
	LUKS_AMEND_OPTS(""),
	CREATE_OPT_END,
};

static int luks_probe(const uint8_t *buf, size_t len, const char *filename)
{
	return luks_probe_magic(buf, len) ? 100 : 0;
}

static void luks_close(struct image *img);

static int luks_open(struct image *img, int flags)
{
	struct luks_image *li = calloc(1, sizeof(*li));
	const unsigned char *pass = NULL;
	size_t pass_len = 0;
	uint64_t fsize;
	int ret;

	if (!li)
		return err_set(-ENOMEM, img->filename, "out of memory");
	img->priv = li;
	pthread_mutex_init(&li->rmw_lock, NULL);
	ret = backend_size(img->be, &fsize);
	if (ret == 0 && !(flags & IMG_NO_IO))
		ret = luks_get_secret(image_opt(img->filename, "key-secret"), img->filename,
				      "key-secret", &pass, &pass_len);
	if (ret == 0)
		ret = luks_volume_open(&li->vol, img->be, 0, fsize, img->filename, pass, pass_len);
	if (ret < 0) {   /* image.c does not close what failed to open */
		luks_close(img);
		return ret;
	}
	li->payload = (uint64_t)li->vol.h.payload_offset * LUKS_SECTOR;
	img->size = (fsize - li->payload) / LUKS_SECTOR * LUKS_SECTOR;
	img->cluster_size = LUKS_SECTOR;
	img->zero_init = false;   /* holes decrypt to noise */
	return 0;
}

static void luks_close(struct image *img)
{
	struct luks_image *li = img->priv;

	if (!li)
		return;
	luks_volume_close(&li->vol);
	pthread_mutex_destroy(&li->rmw_lock);
	free(li);
	img->priv = NULL;
}

static int need_key(struct image *img)
{
	struct luks_image *li = img->priv;

	if (!li->vol.has_cipher)
		return err_set(-EACCES, img->filename, "Parameter 'key-secret' is required for cipher");
	return 0;
}

/* Whole sectors [off, off+len) of the payload, through the cipher. */
static int read_sectors(void *opaque, void *buf, uint64_t off, size_t len)
{
	struct luks_image *li = opaque;
	int ret = backend_pread(li->vol.be, buf, len, li->payload + off);

	if (ret == 0)
		ret = luks_cipher_run(&li->vol.cipher, false, off / LUKS_SECTOR, buf, len);
	return ret;
}

static int write_sectors(void *opaque, const void *buf, uint64_t off, size_t len)
{
	struct luks_image *li = opaque;
	size_t chunk = len < LUKS_IO_CHUNK ? len : LUKS_IO_CHUNK;
	uint8_t *tmp = malloc(chunk);
	int ret = 0;

	if (!tmp)
		return err_set(-ENOMEM, li->vol.name, "out of memory");
	for (size_t done = 0; done < len && ret == 0; done += chunk) {
		size_t n = len - done < chunk ? len - done : chunk;

		memcpy(tmp, (const uint8_t *)buf + done, n);
		ret = luks_cipher_run(&li->vol.cipher, true, (off + done) / LUKS_SECTOR, tmp, n);
		if (ret == 0)
			ret = backend_pwrite(li->vol.be, tmp, n, li->payload + off + done);
	}
	free(tmp);
	return ret;
}

static int luks_read(struct image *img, void *buf, uint64_t off, size_t len)
{
	int ret = need_key(img);

	if (ret < 0)
		return ret;
	if (luks_aligned(off, len))
		return read_sectors(img->priv, buf, off, len);
	return luks_read_unaligned(read_sectors, img->priv, img->filename, buf, off, len);
}

static int luks_write(struct image *img, const void *buf, uint64_t off, size_t len)
{
	struct luks_image *li = img->priv;
	int ret = need_key(img);

	if (ret < 0)
		return ret;
	if (luks_aligned(off, len))
		return write_sectors(li, buf, off, len);
	return luks_write_unaligned(read_sectors, write_sectors, li, &li->rmw_lock, img->filename,
				    buf, off, len);
}

static int luks_block_status(struct image *img, uint64_t off, uint64_t len,
			     struct block_status *bs)
{
	bs->length = len;
	bs->flags = BS_DATA | BS_ALLOCATED;
	return 0;
}

static int luks_flush(struct image *img)
{
	return backend_flush(img->be);
}

static int luks_create_precheck(const char *filename, uint64_t size, struct opts *opts)
{
	struct luks_spec spec;
	const unsigned char *pass;
	size_t pass_len;
	uint64_t iter_ms;
	int ret;

	ret = luks_get_secret(opts_get(opts, "key-secret"), filename, "key-secret", &pass, &pass_len);
	if (ret == 0)
		ret = luks_spec_from_opts(opts, "", filename, &spec, &iter_ms);
	if (ret == 0 && size % LUKS_SECTOR)
		ret = err_set(-EINVAL, filename, "The requested file size is not a multiple of %d bytes",
			      LUKS_SECTOR);
	return ret;
}

static int luks_create(struct backend *be, const char *filename, uint64_t size,
		       struct opts *opts)
{
	struct luks_volume vol;
	struct luks_spec spec;
	const unsigned char *pass;
	const char *pa = opts_get(opts, "preallocation");
	enum prealloc_mode prealloc = PREALLOC_OFF;
	size_t pass_len;
	uint64_t iter_ms, payload;
	int ret;

	if (pa && (parse_prealloc(pa, &prealloc) < 0 || prealloc == PREALLOC_METADATA))
		return err_set(-EINVAL, filename, "Unsupported preallocation mode '%s' for luks "
			       "(use off, falloc or full)", pa);
	ret = luks_get_secret(opts_get(opts, "key-secret"), filename, "key-secret", &pass, &pass_len);
	if (ret < 0)
		return ret;
	ret = luks_spec_from_opts(opts, "", filename, &spec, &iter_ms);
	if (ret == 0)
		ret = luks_payload_offset_for(&spec, filename, &payload);
	if (ret < 0)
		return ret;
	ret = luks_volume_create(&vol, be, 0, filename, &spec, iter_ms, pass, pass_len);
	if (ret < 0)
		return ret;
	luks_volume_close(&vol);
	ret = backend_truncate(be, payload + size);
	if (ret == 0 && prealloc == PREALLOC_FALLOC)
		ret = backend_preallocate(be, payload, size);
	else if (ret == 0 && prealloc == PREALLOC_FULL)
		ret = backend_write_zeroes(be, payload, size, 0);
	return ret;
}

static int luks_info(struct image *img, struct image_info *info)
{
	struct luks_image *li = img->priv;

	info->encrypted = true;
	info->format_specific = luks_info_json(&li->vol);
	return info->format_specific ? 0 : err_set(-ENOMEM, img->filename, "out of memory");
}

static int luks_resize(struct image *img, uint64_t new_size, enum prealloc_mode prealloc,
		       bool shrink)
{
	struct luks_image *li = img->priv;

	if (prealloc != PREALLOC_OFF)
		return err_set(-ENOTSUP, img->filename, "Unsupported preallocation mode for luks");
	if (new_size % LUKS_SECTOR)
		return err_set(-EINVAL, img->filename, "The new size must be a multiple of %d", LUKS_SECTOR);
	return backend_truncate(img->be, li->payload + new_size);
}

static int luks_amend(struct image *img, struct opts *opts)
{
	struct luks_image *li = img->priv;

	return luks_volume_amend(&li->vol, opts, "");
}

static int luks_measure(struct opts *opts, uint64_t size, struct image *src,
			struct measure_result *res)
{
	uint64_t payload;
	int ret = luks_measure_header(opts, "", &payload);

	if (ret < 0)
		return ret;
	res->required = payload + size;
	res->fully_allocated = payload + size;
	return 0;
}

const struct format_ops luks_format_ops = {
	.name = "luks",
	.create_opts = luks_create_opts,
	.amend_opts = luks_amend_opts,
	.probe = luks_probe,
	.open = luks_open,
	.close = luks_close,
	.create = luks_create,
	.create_precheck = luks_create_precheck,
	.read = luks_read,
	.write = luks_write,
	.block_status = luks_block_status,
	.flush = luks_flush,
	.info = luks_info,
	.resize = luks_resize,
	.measure = luks_measure,
	.amend = luks_amend,
};
