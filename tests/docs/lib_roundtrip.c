/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib_roundtrip.c - built by test_libimgtool.sh against an installed libimgtool
 * (pkg-config), to exercise what examples/img-info.c does not: create, write,
 * read back, convert with a progress callback, and the error string.
 *
 * lib_roundtrip DIR: makes DIR/a.qcow2 (64 MiB, a pattern at 1 MiB), converts it
 * to DIR/b.vmdk, and prints one "ok ..." or "FAIL ..." line per step; the shell
 * test then compares the two with qemu-img.
 */
#include <imgtool/imgtool.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int failures;

static void step(int cond, const char *what)
{
	printf("%s %s\n", cond ? "ok" : "FAIL", what);
	if (!cond)
		failures++;
}

struct progress_seen {
	int calls;
	uint64_t last_done, total;
	int backwards;
};

static void on_progress(uint64_t done, uint64_t total, void *opaque)
{
	struct progress_seen *p = opaque;

	if (done < p->last_done)
		p->backwards = 1;
	p->calls++;
	p->last_done = done;
	p->total = total;
}

int main(int argc, char **argv)
{
	char a[4096], b[4096], c[4096], buf[65536], back[65536];
	struct progress_seen seen = { 0 };
	imgtool_image *img = NULL;
	int ret;

	if (argc != 2)
		return 2;
	snprintf(a, sizeof(a), "%s/a.qcow2", argv[1]);
	snprintf(b, sizeof(b), "%s/b.vmdk", argv[1]);
	snprintf(c, sizeof(c), "%s/c.img", argv[1]);
	memset(buf, 0x5a, sizeof(buf));

	ret = imgtool_create(a, "qcow2", 64 << 20, "cluster_size=65536,compat=1.1");
	step(ret == 0, "imgtool_create qcow2");
	ret = imgtool_open(a, "qcow2", IMGTOOL_OPEN_RDWR, &img);
	step(ret == 0 && img, "imgtool_open read-write");
	if (!img)
		return 1;
	step(imgtool_get_size(img) == 64 << 20, "imgtool_get_size");
	step(!strcmp(imgtool_get_format(img), "qcow2"), "imgtool_get_format");
	step(imgtool_write(img, buf, 1 << 20, sizeof(buf)) == 0, "imgtool_write");
	step(imgtool_flush(img) == 0, "imgtool_flush");
	step(imgtool_read(img, back, 1 << 20, sizeof(back)) == 0 &&
	     !memcmp(buf, back, sizeof(buf)), "imgtool_read gives the written bytes");
	ret = imgtool_read(img, back, (64 << 20) - 512, 4096);
	step(ret < 0 && *imgtool_error(), "a read past the end fails with a message");
	imgtool_close(img);

	ret = imgtool_convert(a, NULL, b, "vmdk", "subformat=monolithicSparse", 0,
			      on_progress, &seen);
	step(ret == 0, "imgtool_convert qcow2 -> vmdk");
	if (ret)
		printf("  %s\n", imgtool_error());
	{
		char ha[65], hb[65];
		imgtool_image *ia = NULL, *ib = NULL;

		step(imgtool_open(a, NULL, 0, &ia) == 0 && imgtool_open(b, NULL, 0, &ib) == 0 &&
		     imgtool_checksum(ia, ha, sizeof(ha)) == 0 &&
		     imgtool_checksum(ib, hb, sizeof(hb)) == 0 && strlen(ha) == 64 &&
		     !strcmp(ha, hb), "imgtool_checksum: the same digest for the qcow2 and the vmdk");
		step(ia && imgtool_checksum(ia, ha, 10) == -EINVAL && *imgtool_error(),
		     "imgtool_checksum: a short buffer is refused with a message");
		imgtool_close(ia);
		imgtool_close(ib);
	}
	step(seen.calls >= 2 && seen.total == 64 << 20 && seen.last_done == seen.total &&
	     !seen.backwards, "progress callback: from 0 up to the total");

	ret = imgtool_create(c, "no-such-format", 1 << 20, NULL);
	step(ret < 0 && strstr(imgtool_error(), "no-such-format"),
	     "an unknown format fails, and the message names it");
	ret = imgtool_open("/nonexistent/x.qcow2", NULL, 0, &img);
	step(ret == -ENOENT && img == NULL && strstr(imgtool_error(), "/nonexistent/x.qcow2"),
	     "a missing file: -ENOENT and a message naming it");
	ret = imgtool_create(c, "qcow2", 1 << 20, "no_such_option=1");
	step(ret < 0 && strstr(imgtool_error(), "no_such_option"), "a bad -o option is named");
	return failures ? 1 : 0;
}
