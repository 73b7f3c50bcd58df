/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_qcow2_write.c - the qcow2 write side against qemu-img as the oracle:
 * create with option combinations, multi-threaded writes at odd offsets,
 * write_zeroes, compressed writes, copy-on-write over backing files and internal
 * snapshots, lazy refcounts, refcount-table growth, grow/shrink and measure.
 * Every image written must pass `qemu-img check` and `qemu-img compare` against
 * a raw reference kept in memory.
 */
#include "formats/format.h"
#include "formats/qcow2/qcow2.h"
#include "common/bswap.h"
#include "common/err.h"
#include "common/opts.h"
#include "common/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tests/unit/unit.h"

/* First line of a command's output into out. */
static int run_capture(char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	FILE *f;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	n = fread(out, 1, outlen - 1, f);
	out[n] = '\0';
	return pclose(f);
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)((i / 7) * 31 + seed * 13 + 1);
}

static int write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	size_t n;

	if (!f)
		return -1;
	n = fwrite(buf, 1, len, f);
	fclose(f);
	return n == len ? 0 : -1;
}

static int create(const char *name, uint64_t size, const char *optstr)
{
	struct opts o = { 0 };
	int ret = 0;

	if (optstr && *optstr)
		ret = opts_parse(&o, optstr);
	if (ret == 0)
		ret = image_create(path_of(name), "qcow2", size, &o);
	opts_free(&o);
	return ret;
}

static bool qemu_check_clean(const char *name)
{
	int rc = run("qemu-img check -f qcow2 %s", path_of(name));

	if (rc != 0) {
		char cmd[512];
		snprintf(cmd, sizeof(cmd), "qemu-img check -f qcow2 %s 1>&2", path_of(name));
		if (system(cmd) < 0)
			perror("system");
	}
	return rc == 0;
}

static bool qemu_compare_raw(const char *name, const uint8_t *ref, size_t len)
{
	char raw[300];

	snprintf(raw, sizeof(raw), "%s.ref", path_of(name));
	if (write_file(raw, ref, len) < 0)
		return false;
	return run("qemu-img compare -f qcow2 -F raw %s %s", path_of(name), raw) == 0;
}

/* ---- multi-threaded writes at odd offsets ---- */

struct writer {
	struct image *img;
	uint8_t *ref;
	uint64_t size;
	unsigned seed;
	int nthreads;
	int ret;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	uint64_t period = (uint64_t)w->nthreads * 512;
	uint8_t buf[512];
	unsigned r = (w->seed + 1) * 2654435761u;

	/* each thread owns one 512-byte stripe per period, so the reference is
	 * exact while threads still hit the same clusters at the same time */
	for (int i = 0; i < 80 && w->ret == 0; i++) {
		uint64_t base, inner, off, len;

		r = r * 1103515245u + 12345u;
		base = ((r >> 3) % (w->size / period)) * period + w->seed * 512ULL;
		inner = r % 300;
		len = 1 + (r >> 11) % (512 - inner);
		off = base + inner;
		fill(buf, len, w->seed + (unsigned)i);
		w->ret = image_write(w->img, buf, off, len);
		memcpy(w->ref + off, buf, len);
	}
	return NULL;
}

static void write_threads(struct image *img, uint8_t *ref, int nthreads)
{
	pthread_t t[8];
	struct writer w[8];

	for (int i = 0; i < nthreads; i++) {
		w[i] = (struct writer){ img, ref, img->size, (unsigned)i, nthreads, 0 };
		pthread_create(&t[i], NULL, writer_main, &w[i]);
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT(w[i].ret == 0);
		if (w[i].ret)
			fprintf(stderr, "write: %s\n", err_get());
	}
}

/* Create with opts, write from threads, plus a long single-thread write, verify. */
static void roundtrip(const char *optstr, uint64_t size)
{
	const char *name = "rt.qcow2";
	struct image *img;
	uint8_t *ref = calloc(1, size), *big;
	uint64_t cs;

	CU_ASSERT_FATAL(ref != NULL);
	unlink(path_of(name));
	if (create(name, size, optstr) < 0)
		fprintf(stderr, "create (%s): %s\n", optstr, err_get());
	CU_ASSERT_FATAL(access(path_of(name), F_OK) == 0);
	CU_ASSERT(qemu_check_clean(name));
	CU_ASSERT_FATAL(image_open(path_of(name), "qcow2", IMG_RDWR, &img) == 0);
	cs = img->cluster_size;
	write_threads(img, ref, 4);
	/* a long unaligned write across several clusters and L2 tables */
	size_t blen = (size_t)MIN(size / 3, 3 * cs + 12345);
	big = malloc(blen);
	fill(big, blen, 99);
	CU_ASSERT(image_write(img, big, size / 2 + 333, blen) == 0);
	memcpy(ref + size / 2 + 333, big, blen);
	/* read back through imgtool */
	uint8_t *rb = malloc(blen);
	CU_ASSERT(image_read(img, rb, size / 2 + 333, blen) == 0);
	CU_ASSERT(memcmp(rb, big, blen) == 0);
	free(rb);
	free(big);
	CU_ASSERT(image_flush(img) == 0);
	image_close(img);
	if (!qemu_check_clean(name))
		CU_FAIL("qemu-img check not clean");
	if (!qemu_compare_raw(name, ref, size)) {
		fprintf(stderr, "compare failed for opts '%s'\n", optstr);
		CU_FAIL("qemu-img compare differs");
	}
	free(ref);
}

static void test_roundtrip_default(void) { roundtrip("", 64 * MiB); }
static void test_roundtrip_v2(void) { roundtrip("compat=0.10", 64 * MiB); }
static void test_roundtrip_c512(void) { roundtrip("cluster_size=512", 8 * MiB); }
static void test_roundtrip_c4k_rc1(void) { roundtrip("cluster_size=4096,refcount_bits=1", 16 * MiB); }
static void test_roundtrip_rc_widths(void)
{
	static const char *o[] = { "refcount_bits=2,cluster_size=1024", "refcount_bits=4",
				   "refcount_bits=8,cluster_size=2048", "refcount_bits=32",
				   "refcount_bits=64,cluster_size=512" };
	for (size_t i = 0; i < ARRAY_SIZE(o); i++)
		roundtrip(o[i], 8 * MiB);
}
static void test_roundtrip_2m(void) { roundtrip("cluster_size=2M", 32 * MiB + 1536); }
static void test_roundtrip_zstd_lazy(void) { roundtrip("compression_type=zstd,lazy_refcounts=on", 32 * MiB); }
static void test_roundtrip_extl2(void)
{
	roundtrip("extended_l2=on", 32 * MiB);
	roundtrip("extended_l2=on,cluster_size=16k,refcount_bits=8", 8 * MiB + 4096);
	roundtrip("extended_l2=on,preallocation=metadata", 16 * MiB);
}
static void test_roundtrip_prealloc(void)
{
	roundtrip("preallocation=metadata", 32 * MiB);
	roundtrip("preallocation=falloc,cluster_size=4k", 8 * MiB);
	roundtrip("preallocation=full,compat=0.10", 8 * MiB);
}

/* qemu-img check must agree on the layout and info must report what we set. */
static void test_create_options(void)
{
	char out[8192];

	CU_ASSERT(create("o1.qcow2", GiB, "compat=1.1,lazy_refcounts=on,refcount_bits=8,"
			 "compression_type=zstd") == 0);
	CU_ASSERT(qemu_check_clean("o1.qcow2"));
	CU_ASSERT(run_capture(out, sizeof(out), "qemu-img info --output=json %s",
			      path_of("o1.qcow2")) == 0);
	CU_ASSERT(strstr(out, "\"lazy-refcounts\": true") != NULL);
	CU_ASSERT(strstr(out, "\"refcount-bits\": 8") != NULL);
	CU_ASSERT(strstr(out, "\"compression-type\": \"zstd\"") != NULL);
	CU_ASSERT(strstr(out, "\"virtual-size\": 1073741824") != NULL);

	CU_ASSERT(create("o2.qcow2", GiB, "compat=0.10,lazy_refcounts=on") == -EINVAL);
	CU_ASSERT(strstr(err_get(), "Lazy refcounts only supported with compatibility "
			 "level 1.1 and above") != NULL);
	CU_ASSERT(create("o2.qcow2", GiB, "cluster_size=1000") == -EINVAL);
	CU_ASSERT(create("o2.qcow2", GiB, "refcount_bits=3") == -EINVAL);
	CU_ASSERT(create("o2.qcow2", GiB, "compat=0.10,refcount_bits=8") == -EINVAL);
	CU_ASSERT(create("o2.qcow2", GiB, "compat=0.10,compression_type=zstd") == -EINVAL);
	CU_ASSERT(create("o2.qcow2", GiB, "extended_l2=on,cluster_size=4k") == -EINVAL);
	CU_ASSERT(create("o2.qcow2", GiB, "bogus=1") == -EINVAL);
	CU_ASSERT(create("o2.qcow2", GiB, "backing_file=o1.qcow2") == -EINVAL);
	CU_ASSERT(strstr(err_get(), "Backing file specified without backing format") != NULL);

	/* extended L2 images can be created (qemu-img validates them) */
	CU_ASSERT(create("o3.qcow2", GiB, "extended_l2=on,cluster_size=128k") == 0);
	CU_ASSERT(qemu_check_clean("o3.qcow2"));

	/* huge: 1 PiB with 64 KiB clusters fits; 1 PiB with 512 bytes does not */
	CU_ASSERT(create("huge.qcow2", 1024 * 1024 * GiB, "") == 0);
	CU_ASSERT(qemu_check_clean("huge.qcow2"));
	CU_ASSERT(create("huge2.qcow2", 1024 * 1024 * GiB, "cluster_size=512") == -EFBIG);
	unlink(path_of("huge.qcow2"));

	/* backing file: size taken from it, backing format recorded */
	CU_ASSERT(create("bk.qcow2", 0, "backing_file=o1.qcow2,backing_fmt=qcow2") == 0);
	CU_ASSERT(qemu_check_clean("bk.qcow2"));
	CU_ASSERT(run_capture(out, sizeof(out), "qemu-img info --output=json %s",
			      path_of("bk.qcow2")) == 0);
	CU_ASSERT(strstr(out, "\"backing-filename-format\": \"qcow2\"") != NULL);
	CU_ASSERT(strstr(out, "\"virtual-size\": 1073741824") != NULL);

	/* metadata preallocation: the map matches qemu's (all allocated) */
	CU_ASSERT(create("pm.qcow2", 100 * MiB, "preallocation=metadata") == 0);
	CU_ASSERT(qemu_check_clean("pm.qcow2"));
	CU_ASSERT(run_capture(out, sizeof(out), "qemu-img map --output=json %s",
			      path_of("pm.qcow2")) == 0);
	CU_ASSERT(strstr(out, "\"length\": 104857600") != NULL);
	CU_ASSERT(strstr(out, "\"data\": true") != NULL);
}

/* Same file layout as qemu-img for the default options. */
static void test_create_layout_like_qemu(void)
{
	CU_ASSERT(create("ly.qcow2", GiB, "") == 0);
	CU_ASSERT(run("qemu-img create -q -f qcow2 %s 1G", path_of("lyq.qcow2")) == 0);
	CU_ASSERT(run("cmp %s %s", path_of("ly.qcow2"), path_of("lyq.qcow2")) == 0);
	CU_ASSERT(create("ly2.qcow2", GiB, "compat=0.10,cluster_size=4k") == 0);
	CU_ASSERT(run("qemu-img create -q -f qcow2 -o compat=0.10,cluster_size=4k %s 1G",
		      path_of("ly2q.qcow2")) == 0);
	CU_ASSERT(run("cmp %s %s", path_of("ly2.qcow2"), path_of("ly2q.qcow2")) == 0);
}

/* ---- write_zeroes ---- */

static void test_write_zeroes(void)
{
	const uint64_t size = 16 * MiB;
	const char *names[] = { "z3.qcow2", "z2.qcow2", "zx.qcow2" };
	const char *optv[] = { "", "compat=0.10", "extended_l2=on" };

	for (int v = 0; v < 3; v++) {
		struct image *img;
		uint8_t *ref = calloc(1, size), *buf = malloc(4 * MiB);

		CU_ASSERT_FATAL(create(names[v], size, optv[v]) == 0);
		CU_ASSERT_FATAL(image_open(path_of(names[v]), "qcow2", IMG_RDWR, &img) == 0);
		fill(buf, 4 * MiB, 5);
		CU_ASSERT(image_write(img, buf, 1 * MiB, 4 * MiB) == 0);
		memcpy(ref + 1 * MiB, buf, 4 * MiB);
		CU_ASSERT(image_write_zeroes(img, 1 * MiB + 1000, 200 * KiB, 0) == 0);
		memset(ref + 1 * MiB + 1000, 0, 200 * KiB);
		CU_ASSERT(image_write_zeroes(img, 2 * MiB + 77, 1 * MiB, IMG_ZERO_MAY_UNMAP) == 0);
		memset(ref + 2 * MiB + 77, 0, 1 * MiB);
		CU_ASSERT(image_write_zeroes(img, 8 * MiB, 4 * MiB, IMG_ZERO_MAY_UNMAP) == 0);
		/* write over a zero cluster again, partially */
		fill(buf, 5000, 6);
		CU_ASSERT(image_write(img, buf, 2 * MiB + 300 * KiB + 3, 5000) == 0);
		memcpy(ref + 2 * MiB + 300 * KiB + 3, buf, 5000);
		CU_ASSERT(image_write_zeroes(img, size - 64 * KiB, 64 * KiB, 0) == 0);
		memset(ref + size - 64 * KiB, 0, 64 * KiB);
		/* write into clusters zeroed without unmapping (reused in place) */
		fill(buf, 70000, 8);
		CU_ASSERT(image_write(img, buf, 1 * MiB + 64 * KiB + 10, 70000) == 0);
		memcpy(ref + 1 * MiB + 64 * KiB + 10, buf, 70000);
		image_close(img);
		CU_ASSERT(qemu_check_clean(names[v]));
		CU_ASSERT(qemu_compare_raw(names[v], ref, size));
		free(ref);
		free(buf);
	}
}

/* ---- compressed ---- */

static void test_compressed(void)
{
	const char *optv[] = { "", "compression_type=zstd", "cluster_size=4k", "compat=0.10",
			       "extended_l2=on,cluster_size=32k" };

	for (size_t v = 0; v < ARRAY_SIZE(optv); v++) {
		const uint64_t size = 4 * MiB + 5120;
		struct image *img;
		uint8_t *ref = calloc(1, size);
		uint64_t cs;
		char raw[300];

		CU_ASSERT_FATAL(create("cz.qcow2", size, optv[v]) == 0);
		CU_ASSERT_FATAL(image_open(path_of("cz.qcow2"), "qcow2", IMG_RDWR, &img) == 0);
		cs = img->cluster_size;
		for (uint64_t off = 0; off < size; off += cs) {
			size_t len = (size_t)MIN(cs, size - off);
			uint8_t *p = ref + off;

			if ((off / cs) % 5 == 3)
				continue;   /* leave holes */
			if ((off / cs) % 7 == 2) {
				/* incompressible */
				for (size_t i = 0; i < len; i++)
					p[i] = (uint8_t)(rand() >> 7);
			} else {
				memset(p, 0, len);
				snprintf((char *)p, len, "cluster %llu of image", (unsigned long long)(off / cs));
			}
			CU_ASSERT(image_write_compressed(img, p, off, len) == 0);
		}
		/* overwrite part of a compressed cluster normally (copy-on-write) */
		memset(ref + cs + 10, 0xab, 100);
		CU_ASSERT(image_write(img, ref + cs + 10, cs + 10, 100) == 0);
		/* compressed over an allocated cluster is refused */
		CU_ASSERT(image_write_compressed(img, ref, 0, cs) < 0);
		image_close(img);
		CU_ASSERT(qemu_check_clean("cz.qcow2"));
		CU_ASSERT(qemu_compare_raw("cz.qcow2", ref, size));
		snprintf(raw, sizeof(raw), "%s", path_of("cz.raw"));
		CU_ASSERT(run("qemu-img convert -f qcow2 -O raw %s %s", path_of("cz.qcow2"), raw) == 0);
		CU_ASSERT(run("cmp %s %s.ref", raw, path_of("cz.qcow2")) == 0);
		free(ref);
	}
}

/* ---- backing file copy-on-write ---- */

static void backing_cow(const char *extra)
{
	const uint64_t size = 8 * MiB;
	struct image *img;
	uint8_t *ref = malloc(size), buf[3000];
	char o[256];

	fill(ref, size, 42);
	CU_ASSERT_FATAL(write_file(path_of("base.raw"), ref, size) == 0);
	CU_ASSERT_FATAL(run("qemu-img convert -f raw -O qcow2 %s %s", path_of("base.raw"),
			    path_of("base.qcow2")) == 0);
	snprintf(o, sizeof(o), "backing_file=base.qcow2,backing_fmt=qcow2%s", extra);
	unlink(path_of("ov.qcow2"));
	CU_ASSERT_FATAL(create("ov.qcow2", 0, o) == 0);
	CU_ASSERT_FATAL(image_open(path_of("ov.qcow2"), "qcow2", IMG_RDWR, &img) == 0);
	CU_ASSERT(img->size == size);
	fill(buf, sizeof(buf), 7);
	CU_ASSERT(image_write(img, buf, 100000, sizeof(buf)) == 0);
	memcpy(ref + 100000, buf, sizeof(buf));
	CU_ASSERT(image_write(img, buf, size - 100, 100) == 0);
	memcpy(ref + size - 100, buf, 100);
	CU_ASSERT(image_write_zeroes(img, 3 * MiB + 5, 300 * KiB, 0) == 0);
	memset(ref + 3 * MiB + 5, 0, 300 * KiB);
	image_close(img);
	CU_ASSERT(qemu_check_clean("ov.qcow2"));
	CU_ASSERT(qemu_compare_raw("ov.qcow2", ref, size));
	free(ref);
}

static void test_backing_cow(void)
{
	backing_cow("");
	backing_cow(",extended_l2=on");
	backing_cow(",extended_l2=on,cluster_size=32k,preallocation=metadata");
}

/* ---- internal snapshot: shared clusters and L2 tables are copied ---- */

static void snapshot_cow(const char *optstr)
{
	const uint64_t size = 8 * MiB;
	struct image *img;
	uint8_t *ref = calloc(1, size), *snapref, buf[5000];

	unlink(path_of("sn.qcow2"));
	CU_ASSERT_FATAL(create("sn.qcow2", size, optstr) == 0);
	CU_ASSERT_FATAL(image_open(path_of("sn.qcow2"), "qcow2", IMG_RDWR, &img) == 0);
	fill(ref, 2 * MiB, 3);
	CU_ASSERT(image_write(img, ref, 0, 2 * MiB) == 0);
	image_close(img);
	snapref = malloc(size);
	memcpy(snapref, ref, size);
	CU_ASSERT_FATAL(run("qemu-img snapshot -c s1 %s", path_of("sn.qcow2")) == 0);
	CU_ASSERT_FATAL(image_open(path_of("sn.qcow2"), "qcow2", IMG_RDWR, &img) == 0);
	fill(buf, sizeof(buf), 9);
	CU_ASSERT(image_write(img, buf, 70000, sizeof(buf)) == 0);
	memcpy(ref + 70000, buf, sizeof(buf));
	CU_ASSERT(image_write(img, buf, 4 * MiB, sizeof(buf)) == 0);
	memcpy(ref + 4 * MiB, buf, sizeof(buf));
	CU_ASSERT(image_write_zeroes(img, 1 * MiB, 128 * KiB, IMG_ZERO_MAY_UNMAP) == 0);
	memset(ref + 1 * MiB, 0, 128 * KiB);
	/* shrinking an image with snapshots: allowed on v3 as in qemu 7.2 (the
	 * snapshot keeps its data and size), refused on v2 */
	bool v2 = strstr(optstr, "compat=0.10") != NULL;
	int rret = image_resize(img, size / 2, PREALLOC_OFF, true);
	CU_ASSERT(v2 ? rret == -ENOTSUP : rret == 0);
	image_close(img);
	CU_ASSERT(qemu_check_clean("sn.qcow2"));
	CU_ASSERT(qemu_compare_raw("sn.qcow2", ref, v2 ? size : size / 2));
	/* the snapshot still holds the old data (qemu-img exports it at the
	 * image's current size) */
	CU_ASSERT(write_file(path_of("snap.ref"), snapref, v2 ? size : size / 2) == 0);
	CU_ASSERT(run("qemu-img convert -f qcow2 -l snapshot.name=s1 -O raw %s %s",
		      path_of("sn.qcow2"), path_of("snap.raw")) == 0);
	CU_ASSERT(run("cmp %s %s", path_of("snap.raw"), path_of("snap.ref")) == 0);
	free(ref);
	free(snapref);
}

static void test_snapshot_cow(void)
{
	snapshot_cow("");
	snapshot_cow("extended_l2=on");
}

/* ---- lazy refcounts: dirty while open, clean after close ---- */

static void test_lazy_refcounts(void)
{
	struct image *img;
	uint8_t buf[4096], hdr[8];
	FILE *f;

	CU_ASSERT_FATAL(create("lz.qcow2", 16 * MiB, "lazy_refcounts=on") == 0);
	CU_ASSERT_FATAL(image_open(path_of("lz.qcow2"), "qcow2", IMG_RDWR, &img) == 0);
	fill(buf, sizeof(buf), 1);
	CU_ASSERT(image_write(img, buf, 12345, sizeof(buf)) == 0);
	f = fopen(path_of("lz.qcow2"), "rb");
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT(fseek(f, 72, SEEK_SET) == 0 && fread(hdr, 1, 8, f) == 8);
	fclose(f);
	CU_ASSERT(load_be64(hdr) & QCOW2_INCOMPAT_DIRTY);
	image_close(img);
	f = fopen(path_of("lz.qcow2"), "rb");
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT(fseek(f, 72, SEEK_SET) == 0 && fread(hdr, 1, 8, f) == 8);
	fclose(f);
	CU_ASSERT(!(load_be64(hdr) & QCOW2_INCOMPAT_DIRTY));
	CU_ASSERT(qemu_check_clean("lz.qcow2"));
}

/* ---- the refcount table must grow ---- */

static void test_reftable_growth(void)
{
	const uint64_t size = 40 * MiB;
	struct image *img;
	uint8_t *ref = calloc(1, size);

	/* 512-byte clusters, 64-bit refcounts: one table cluster covers 64 blocks of
	 * 64 clusters = 2 MiB, so 40 MiB of data forces growth */
	CU_ASSERT_FATAL(create("rg.qcow2", size, "cluster_size=512,refcount_bits=64") == 0);
	CU_ASSERT_FATAL(image_open(path_of("rg.qcow2"), "qcow2", IMG_RDWR, &img) == 0);
	fill(ref, size, 11);
	for (uint64_t off = 0; off < size; off += 1 * MiB)
		CU_ASSERT(image_write(img, ref + off, off, 1 * MiB) == 0);
	image_close(img);
	{
		/* the table moved away from cluster 1 */
		uint8_t hdr[8];
		FILE *f = fopen(path_of("rg.qcow2"), "rb");
		CU_ASSERT_FATAL(f != NULL);
		CU_ASSERT(fseek(f, 48, SEEK_SET) == 0 && fread(hdr, 1, 8, f) == 8);
		fclose(f);
		CU_ASSERT(load_be64(hdr) != 512);
	}
	CU_ASSERT(qemu_check_clean("rg.qcow2"));
	CU_ASSERT(qemu_compare_raw("rg.qcow2", ref, size));
	free(ref);
}

/* ---- parallel 2 MiB chunks, as the copy engine writes ---- */

struct chunker {
	struct image *img;
	const uint8_t *src;
	int id, n;
	int ret;
};

static void *chunker_main(void *arg)
{
	struct chunker *c = arg;

	for (uint64_t off = (uint64_t)c->id * 2 * MiB; off < c->img->size && !c->ret;
	     off += (uint64_t)c->n * 2 * MiB)
		c->ret = image_write(c->img, c->src + off, off, (size_t)MIN(2 * MiB, c->img->size - off));
	return NULL;
}

static void test_parallel_chunks(void)
{
	const uint64_t size = 96 * MiB;
	struct image *img;
	uint8_t *ref = malloc(size);
	pthread_t t[3];
	struct chunker c[3];

	fill(ref, size, 77);
	CU_ASSERT_FATAL(create("pc.qcow2", size, "") == 0);
	CU_ASSERT_FATAL(image_open(path_of("pc.qcow2"), "qcow2", IMG_RDWR, &img) == 0);
	for (int i = 0; i < 3; i++) {
		c[i] = (struct chunker){ img, ref, i, 3, 0 };
		pthread_create(&t[i], NULL, chunker_main, &c[i]);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT(c[i].ret == 0);
	}
	image_close(img);
	CU_ASSERT(qemu_check_clean("pc.qcow2"));
	CU_ASSERT(qemu_compare_raw("pc.qcow2", ref, size));
	free(ref);
}

/* Two threads racing on the same unallocated cluster must not allocate twice. */
struct racer {
	struct image *img;
	uint64_t off;
	uint8_t val;
	int ret;
};

static void *racer_main(void *arg)
{
	struct racer *r = arg;
	uint8_t buf[512];

	memset(buf, r->val, sizeof(buf));
	for (int i = 0; i < 64 && !r->ret; i++)
		r->ret = image_write(r->img, buf, r->off + (uint64_t)i * 65536, sizeof(buf));
	return NULL;
}

static void test_same_cluster_race(void)
{
	const uint64_t size = 8 * MiB;
	struct image *img;
	uint8_t *ref = calloc(1, size), b1[512], b2[512];
	pthread_t t[2];
	struct racer r[2];

	CU_ASSERT_FATAL(create("race.qcow2", size, "") == 0);
	CU_ASSERT_FATAL(image_open(path_of("race.qcow2"), "qcow2", IMG_RDWR, &img) == 0);
	r[0] = (struct racer){ img, 0, 0x11, 0 };
	r[1] = (struct racer){ img, 1024, 0x22, 0 };
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, racer_main, &r[i]);
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT(r[i].ret == 0);
	}
	memset(b1, 0x11, 512);
	memset(b2, 0x22, 512);
	for (int i = 0; i < 64; i++) {
		memcpy(ref + (uint64_t)i * 65536, b1, 512);
		memcpy(ref + (uint64_t)i * 65536 + 1024, b2, 512);
	}
	image_close(img);
	CU_ASSERT(qemu_check_clean("race.qcow2"));
	CU_ASSERT(qemu_compare_raw("race.qcow2", ref, size));
	free(ref);
}

/* ---- resize ---- */

static void test_resize(void)
{
	const uint64_t size = 64 * MiB;
	struct image *img;
	uint8_t *ref = calloc(1, 32 * MiB), *buf = malloc(MiB);
	char out[4096];

	CU_ASSERT_FATAL(create("rs.qcow2", size, "cluster_size=4k") == 0);
	CU_ASSERT_FATAL(image_open(path_of("rs.qcow2"), "qcow2", IMG_RDWR, &img) == 0);
	fill(buf, MiB, 4);
	CU_ASSERT(image_write(img, buf, 0, MiB) == 0);
	CU_ASSERT(image_write(img, buf, 40 * MiB, MiB) == 0);
	/* grow beyond what the L1 maps (4k clusters: 2 MiB per L2 table) */
	CU_ASSERT(image_resize(img, 3 * GiB, PREALLOC_OFF, false) == 0);
	CU_ASSERT(img->size == 3 * GiB);
	CU_ASSERT(image_write(img, buf, 3 * GiB - MiB, MiB) == 0);
	image_close(img);
	CU_ASSERT(qemu_check_clean("rs.qcow2"));
	CU_ASSERT(run_capture(out, sizeof(out), "qemu-img info --output=json %s",
			      path_of("rs.qcow2")) == 0);
	CU_ASSERT(strstr(out, "\"virtual-size\": 3221225472") != NULL);

	/* shrink: data past the end is dropped and the file trimmed */
	CU_ASSERT_FATAL(image_open(path_of("rs.qcow2"), "qcow2", IMG_RDWR, &img) == 0);
	CU_ASSERT(image_resize(img, 20 * MiB, PREALLOC_OFF, false) == -EINVAL);
	CU_ASSERT(image_resize(img, 20 * MiB + 512, PREALLOC_OFF, true) == 0);
	image_close(img);
	CU_ASSERT(qemu_check_clean("rs.qcow2"));
	memcpy(ref, buf, MiB);
	CU_ASSERT(qemu_compare_raw("rs.qcow2", ref, 20 * MiB + 512));
	struct stat st;
	CU_ASSERT(stat(path_of("rs.qcow2"), &st) == 0 && (uint64_t)st.st_size < 4 * MiB);

	/* grow with metadata preallocation */
	CU_ASSERT_FATAL(image_open(path_of("rs.qcow2"), "qcow2", IMG_RDWR, &img) == 0);
	CU_ASSERT(image_resize(img, 30 * MiB, PREALLOC_METADATA, false) == 0);
	image_close(img);
	CU_ASSERT(qemu_check_clean("rs.qcow2"));
	CU_ASSERT(qemu_compare_raw("rs.qcow2", ref, 30 * MiB));
	CU_ASSERT(run_capture(out, sizeof(out), "qemu-img map --output=json %s | tail -1",
			      path_of("rs.qcow2")) == 0);
	CU_ASSERT(strstr(out, "\"data\": true") != NULL);
	free(ref);
	free(buf);
}

/* ---- measure: equal to qemu-img measure ---- */

static void measure_compare(const char *optstr, uint64_t size, const char *src)
{
	struct opts o = { 0 };
	struct measure_result res;
	struct image *img = NULL;
	char out[1024], want[256];
	int ret;

	if (optstr && *optstr)
		opts_parse(&o, optstr);
	if (src)
		CU_ASSERT_FATAL(image_open(src, NULL, 0, &img) == 0);
	ret = image_measure("qcow2", &o, size, img, &res);
	CU_ASSERT(ret == 0);
	if (ret)
		fprintf(stderr, "measure: %s\n", err_get());
	if (src)
		run_capture(out, sizeof(out), "qemu-img measure --output=json -O qcow2 %s%s %s",
			    optstr && *optstr ? "-o " : "", optstr ? optstr : "", src);
	else
		run_capture(out, sizeof(out), "qemu-img measure --output=json -O qcow2 %s%s --size %llu",
			    optstr && *optstr ? "-o " : "", optstr ? optstr : "",
			    (unsigned long long)size);
	snprintf(want, sizeof(want), "\"required\": %llu", (unsigned long long)res.required);
	CU_ASSERT(strstr(out, want) != NULL);
	if (!strstr(out, want))
		fprintf(stderr, "measure %s %llu: qemu %s, ours %llu/%llu\n", optstr,
			(unsigned long long)size, out, (unsigned long long)res.required,
			(unsigned long long)res.fully_allocated);
	snprintf(want, sizeof(want), "\"fully-allocated\": %llu",
		 (unsigned long long)res.fully_allocated);
	CU_ASSERT(strstr(out, want) != NULL);
	if (img)
		image_close(img);
	opts_free(&o);
}

static void test_measure(void)
{
	uint8_t *buf = malloc(MiB);

	measure_compare("", GiB, NULL);
	measure_compare("", 100 * GiB, NULL);
	measure_compare("", 1024 * GiB, NULL);
	measure_compare("cluster_size=4k,refcount_bits=1", 100 * GiB, NULL);
	measure_compare("cluster_size=2M,preallocation=full", 1024 * GiB + 12345, NULL);
	measure_compare("extended_l2=on", 100 * GiB, NULL);
	/* a source with data: raw with holes, and qcow2 */
	fill(buf, MiB, 1);
	FILE *f = fopen(path_of("ms.raw"), "wb");
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT(fseek(f, 10 * MiB + 3000, SEEK_SET) == 0);
	CU_ASSERT(fwrite(buf, 1, MiB, f) == MiB);
	CU_ASSERT(fseek(f, 300 * MiB, SEEK_SET) == 0);
	CU_ASSERT(fwrite(buf, 1, 1000, f) == 1000);
	CU_ASSERT(ftruncate(fileno(f), GiB) == 0);
	fclose(f);
	CU_ASSERT(run("qemu-img convert -f raw -O qcow2 %s %s", path_of("ms.raw"),
		      path_of("ms.qcow2")) == 0);
	measure_compare("", 0, path_of("ms.qcow2"));
	measure_compare("", 0, path_of("ms.raw"));
	measure_compare("cluster_size=4k,preallocation=metadata", 0, path_of("ms.raw"));
	measure_compare("backing_file=x.qcow2", 0, path_of("ms.qcow2"));
	measure_compare("cluster_size=1M", 0, path_of("ms.qcow2"));
	free(buf);
}

static const struct unit_test tests[] = {
	{ "create options and errors", test_create_options },
	{ "create layout equals qemu-img's", test_create_layout_like_qemu },
	{ "roundtrip default", test_roundtrip_default },
	{ "roundtrip compat=0.10", test_roundtrip_v2 },
	{ "roundtrip 512-byte clusters", test_roundtrip_c512 },
	{ "roundtrip 4k clusters, 1-bit refcounts", test_roundtrip_c4k_rc1 },
	{ "roundtrip refcount widths", test_roundtrip_rc_widths },
	{ "roundtrip 2M clusters", test_roundtrip_2m },
	{ "roundtrip zstd + lazy refcounts", test_roundtrip_zstd_lazy },
	{ "roundtrip preallocation modes", test_roundtrip_prealloc },
	{ "roundtrip extended L2", test_roundtrip_extl2 },
	{ "write_zeroes v2/v3", test_write_zeroes },
	{ "compressed writes", test_compressed },
	{ "backing file copy-on-write", test_backing_cow },
	{ "snapshot copy-on-write", test_snapshot_cow },
	{ "lazy refcounts dirty bit", test_lazy_refcounts },
	{ "refcount table growth", test_reftable_growth },
	{ "parallel 2 MiB chunks", test_parallel_chunks },
	{ "same-cluster race", test_same_cluster_race },
	{ "resize grow/shrink", test_resize },
	{ "measure equals qemu-img", test_measure },
};

UNIT_MAIN("qcow2_write", tests, NULL)
