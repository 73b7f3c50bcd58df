/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz_image.c - libFuzzer harness for one image format (built once per format,
 * FUZZ_FORMAT names it): the input is an image file.  Everything a command does to
 * a stranger's image runs on it: open, info, block status over the whole disk,
 * reads where block status finds data, check, then check -r all on the same file
 * (opened for writing, as `check -r` does).  Backing files are not opened (their
 * names come from the input); VMDK extents beside the descriptor are, and can only
 * name the scratch folder.
 */
#include "fuzz/fuzz_util.h"
#include "common/err.h"
#include "formats/format.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#ifndef FUZZ_FORMAT
#error "build with -DFUZZ_FORMAT=\"qcow2\" (or any name in the Makefile's FUZZ_FORMATS)"
#endif

#define MAX_STATUS_CALLS 512
#define MAX_READS        64
#define READ_CHUNK       (256u << 10)
/* check -r may grow the file (as qemu-img does for a refcount block outside it);
 * past this a write fails with EFBIG (fuzz/run.sh passes -handle_xfsz=0) */
#define MAX_FILE_BYTES   (256ULL << 20)

static uint8_t *buf;

static void read_around(struct image *img)
{
	uint64_t off = 0;
	int reads = 0;

	for (int i = 0; i < MAX_STATUS_CALLS && off < img->size; i++) {
		struct block_status bs = { 0 };

		if (image_block_status(img, off, img->size - off, &bs) < 0 || bs.length == 0)
			break;
		if ((bs.flags & BS_DATA) && reads < MAX_READS) {
			uint64_t n = bs.length < READ_CHUNK ? bs.length : READ_CHUNK;

			/* a short read at an odd offset as well: partial grains/clusters */
			image_read(img, buf, off, (size_t)n);
			if (n > 1536)
				image_read(img, buf, off + 512, 1024);
			reads++;
		}
		if (off + bs.length < off)
			break;
		off += bs.length;
	}
	if (img->size && reads < MAX_READS)
		image_read(img, buf, img->size - 1, 1);
}

static void inspect(const char *path)
{
	struct image *img;
	struct image_info info;
	struct check_result res;

	if (image_open(path, FUZZ_FORMAT, IMG_NO_BACKING, &img) < 0)
		return;
	memset(&info, 0, sizeof(info));
	if (image_info(img, &info) == 0)
		image_info_free(&info);
	read_around(img);
	memset(&res, 0, sizeof(res));
	image_check(img, 0, &res);
	image_close(img);
}

static void repair(const char *path)
{
	struct image *img;
	struct check_result res;

	if (image_open(path, FUZZ_FORMAT, IMG_RDWR | IMG_NO_BACKING | IMG_CHECK | IMG_REPAIR,
		       &img) < 0)
		return;
	memset(&res, 0, sizeof(res));
	image_check(img, CHECK_FIX_LEAKS | CHECK_FIX_ERRORS, &res);
	image_close(img);
}

int fuzz_setup(void)
{
	struct rlimit fsize = { MAX_FILE_BYTES, MAX_FILE_BYTES };

	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &fsize);
	buf = malloc(READ_CHUNK);
	return buf ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_write_file("image", data, size);

	inspect(path);
	repair(path);
	err_clear();
	return 0;
}
