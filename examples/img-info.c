/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * img-info.c - an example program for libimgtool: print an image's format, sizes,
 * backing file, how many bytes hold data (from block status) and its check result.
 *
 * Build against the installed library:
 *     cc -o img-info img-info.c $(pkg-config --cflags --libs imgtool)
 * Run:  img-info disk.qcow2   (exit 1 with imgtool's message if it cannot open it)
 */
#include <imgtool/imgtool.h>

#include <errno.h>
#include <stdio.h>

/* Sum the bytes that read the stored data (not holes, not zeros). */
static int count_data(imgtool_image *img, uint64_t *data)
{
	uint64_t off = 0, size = imgtool_get_size(img);
	struct imgtool_extent ext;

	*data = 0;
	while (off < size) {
		if (imgtool_block_status(img, off, size - off, &ext) < 0)
			return -1;
		if (ext.flags & IMGTOOL_STATUS_DATA)
			*data += ext.length;
		off += ext.length;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct imgtool_info info = { .size = sizeof(info) };
	struct imgtool_check_result chk = { .size = sizeof(chk) };
	imgtool_image *img;
	uint64_t data;
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: img-info IMAGE\n");
		return 2;
	}
	if (imgtool_open(argv[1], NULL, 0, &img) < 0 || imgtool_info(img, &info) < 0 ||
	    count_data(img, &data) < 0) {
		fprintf(stderr, "img-info: %s\n", imgtool_error());
		imgtool_close(img);
		return 1;
	}
	printf("library: %s\n", imgtool_version());
	printf("format: %s\n", info.format);
	printf("virtual size: %llu\n", (unsigned long long)info.virtual_size);
	printf("cluster size: %llu\n", (unsigned long long)info.cluster_size);
	printf("backing file: %s\n", info.backing_file ? info.backing_file : "(none)");
	printf("data bytes: %llu\n", (unsigned long long)data);
	ret = imgtool_check(img, 0, &chk);
	if (ret == -ENOTSUP)
		printf("check: not supported\n");
	else if (ret < 0)
		printf("check: failed: %s\n", imgtool_error());
	else
		printf("check: %d corruptions, %d leaks\n", chk.corruptions, chk.leaks);
	imgtool_close(img);
	return 0;
}
