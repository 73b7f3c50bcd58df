/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_qcow2_read.c - the qcow2 read side against qemu-img/qemu-io as oracles.
 *
 * Images are made by qemu-img and qemu-io (every compat level, cluster size,
 * refcount width, extended L2, metadata preallocation, zlib and zstd compression,
 * a backing chain, snapshots); each one must read back byte for byte like the raw
 * image `qemu-img convert -O raw` produces (whole-image and random unaligned
 * reads), block status must agree with `qemu-img map --output=json`, and the
 * format-specific info with `qemu-img info --output=json`.  Damaged headers and
 * tables must fail with a clear message, never crash.
 */
#include "formats/format.h"
#include "formats/qcow2/qcow2.h"
#include "common/bswap.h"
#include "common/err.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "tests/unit/unit.h"

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n ? (size_t)n : 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void patch(const char *name, uint64_t off, const void *data, size_t len)
{
	int fd = open(path_of(name), O_WRONLY);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(pwrite(fd, data, len, (off_t)off) == (ssize_t)len);
	close(fd);
}

static void patch_be32(const char *name, uint64_t off, uint32_t v)
{
	uint8_t b[4];

	store_be32(b, v);
	patch(name, off, b, 4);
}

static void patch_be64(const char *name, uint64_t off, uint64_t v)
{
	uint8_t b[8];

	store_be64(b, v);
	patch(name, off, b, 8);
}

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* ---- oracles ---- */

/* Whole-image and random reads must equal qemu-img's raw conversion. */
static void check_read(const char *name)
{
	const char *q = path_of(name);
	struct image *img = NULL;
	uint8_t *raw, *buf;
	size_t rawlen;
	int ret;

	CU_ASSERT_FATAL(run("qemu-img convert -O raw %s %s.raw", name, name) == 0);
	{
		char rp[600];

		snprintf(rp, sizeof(rp), "%s.raw", q);
		raw = slurp(rp, &rawlen);
		unlink(rp);
	}
	CU_ASSERT_FATAL(raw != NULL);
	ret = image_open(q, "qcow2", 0, &img);
	if (ret < 0)
		fprintf(stderr, "\nopen %s: %s\n", name, err_get());
	CU_ASSERT_FATAL(ret == 0);
	CU_ASSERT(img->size == rawlen);
	buf = malloc(rawlen + 1);
	CU_ASSERT_FATAL(buf != NULL);

	/* sequential in 1 MiB + 4 KiB steps (crossing every boundary kind) */
	memset(buf, 0x5a, rawlen);
	for (size_t off = 0; off < rawlen;) {
		size_t n = MIN((size_t)(MiB + 4096), rawlen - off);

		ret = image_read(img, buf + off, off, n);
		if (ret < 0) {
			fprintf(stderr, "\nread %s at %zu: %s\n", name, off, err_get());
			break;
		}
		off += n;
	}
	CU_ASSERT(ret == 0);
	CU_ASSERT(memcmp(buf, raw, rawlen) == 0);

	/* random unaligned reads, small and large */
	for (int i = 0; i < 300 && ret == 0; i++) {
		uint64_t off = rng() % rawlen;
		size_t n = (size_t)(rng() % (i & 1 ? 300000 : 5000)) + 1;

		n = MIN(n, rawlen - off);
		ret = image_read(img, buf, off, n);
		CU_ASSERT(ret == 0);
		if (ret < 0)
			fprintf(stderr, "\nread %s at %llu+%zu: %s\n", name,
				(unsigned long long)off, n, err_get());
		if (ret == 0 && memcmp(buf, raw + off, n) != 0) {
			CU_FAIL("random read differs");
			fprintf(stderr, "\n%s: random read at %llu+%zu differs\n", name,
				(unsigned long long)off, n);
			break;
		}
	}
	image_close(img);
	free(buf);
	free(raw);
}

struct ext {
	uint64_t start, length, offset;
	int depth;
	bool present, zero, data, has_offset;
};

static bool ext_mergeable(const struct ext *a, const struct ext *b)
{
	return a->depth == b->depth && a->present == b->present && a->zero == b->zero &&
	       a->data == b->data && a->has_offset == b->has_offset &&
	       (!a->has_offset || a->offset + a->length == b->offset) &&
	       a->start + a->length == b->start;
}

static void ext_add(struct ext *v, int *n, int cap, const struct ext *in)
{
	struct ext tmp = *in, *e = &tmp;

	/* qemu reports the host offset of unallocated subclusters of an
	 * allocated cluster (extended L2); the generic chain walk does not keep
	 * it for ranges nobody allocates, and nothing uses it: ignore it */
	if (!e->present)
		e->has_offset = false, e->offset = 0;
	if (*n && ext_mergeable(&v[*n - 1], e)) {
		v[*n - 1].length += e->length;
		return;
	}
	if (*n < cap)
		v[(*n)++] = *e;
}

static void ext_print(const char *who, const struct ext *v, int n)
{
	for (int i = 0; i < n && i < 40; i++)
		fprintf(stderr, "%s: start %llu len %llu depth %d present %d zero %d data %d off %lld\n",
			who, (unsigned long long)v[i].start, (unsigned long long)v[i].length,
			v[i].depth, v[i].present, v[i].zero, v[i].data,
			v[i].has_offset ? (long long)v[i].offset : -1LL);
}

/* Block status through the chain must match `qemu-img map --output=json`. */
static void check_map(const char *name)
{
	enum { CAP = 4096 };
	static struct ext want[CAP], got[CAP];
	int nw = 0, ng = 0, ret;
	struct json_object *arr;
	struct image *img;
	char mp[600];

	CU_ASSERT_FATAL(run("qemu-img map --output=json %s > %s.map", name, name) == 0);
	snprintf(mp, sizeof(mp), "%s.map", path_of(name));
	arr = json_object_from_file(mp);
	unlink(mp);
	CU_ASSERT_FATAL(arr != NULL);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *o = json_object_array_get_idx(arr, i), *v;
		struct ext e = { 0 };

		json_object_object_get_ex(o, "start", &v);
		e.start = (uint64_t)json_object_get_int64(v);
		json_object_object_get_ex(o, "length", &v);
		e.length = (uint64_t)json_object_get_int64(v);
		json_object_object_get_ex(o, "depth", &v);
		e.depth = json_object_get_int(v);
		json_object_object_get_ex(o, "present", &v);
		e.present = json_object_get_boolean(v);
		json_object_object_get_ex(o, "zero", &v);
		e.zero = json_object_get_boolean(v);
		json_object_object_get_ex(o, "data", &v);
		e.data = json_object_get_boolean(v);
		if (json_object_object_get_ex(o, "offset", &v)) {
			e.has_offset = true;
			e.offset = (uint64_t)json_object_get_int64(v);
		}
		ext_add(want, &nw, CAP, &e);
	}
	json_object_put(arr);

	CU_ASSERT_FATAL(image_open(path_of(name), "qcow2", 0, &img) == 0);
	for (uint64_t off = 0; off < img->size;) {
		struct block_status bs;
		struct ext e = { 0 };

		ret = image_block_status_above(img, off, img->size - off, &bs);
		if (ret < 0) {
			fprintf(stderr, "\nblock status %s at %llu: %s\n", name,
				(unsigned long long)off, err_get());
			CU_FAIL("block status failed");
			break;
		}
		e.start = off;
		e.length = bs.length;
		e.depth = bs.depth;
		e.present = bs.flags & BS_ALLOCATED;
		e.zero = bs.flags & BS_ZERO;
		e.data = bs.flags & BS_DATA;
		e.has_offset = bs.flags & BS_OFFSET_VALID;
		e.offset = bs.host_offset;
		ext_add(got, &ng, CAP, &e);
		off += bs.length;
	}
	image_close(img);
	CU_ASSERT(nw == ng);
	if (nw == ng && memcmp(want, got, sizeof(*want) * (size_t)nw) == 0)
		return;
	CU_FAIL("block status differs from qemu-img map");
	fprintf(stderr, "\n%s: map mismatch\n", name);
	ext_print("qemu", want, nw);
	ext_print("ours", got, ng);
}

/* format-specific info must match qemu-img info's format-specific data. */
static void check_info(const char *name)
{
	struct json_object *q, *fs, *data, *dirty, *cs;
	struct image_info info;
	struct image *img;
	char ip[600];

	CU_ASSERT_FATAL(run("qemu-img info --output=json %s > %s.info", name, name) == 0);
	snprintf(ip, sizeof(ip), "%s.info", path_of(name));
	q = json_object_from_file(ip);
	unlink(ip);
	CU_ASSERT_FATAL(q != NULL);
	CU_ASSERT_FATAL(json_object_object_get_ex(q, "format-specific", &fs));
	CU_ASSERT_FATAL(json_object_object_get_ex(fs, "data", &data));
	CU_ASSERT_FATAL(image_open(path_of(name), "qcow2", IMG_NO_BACKING, &img) == 0);
	CU_ASSERT_FATAL(image_info(img, &info) == 0);
	CU_ASSERT_FATAL(info.format_specific != NULL);
	if (strcmp(json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN),
		   json_object_to_json_string_ext(info.format_specific,
						  JSON_C_TO_STRING_PLAIN)) != 0) {
		CU_FAIL("format-specific info differs");
		fprintf(stderr, "\nqemu: %s\nours: %s\n",
			json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN),
			json_object_to_json_string_ext(info.format_specific,
						       JSON_C_TO_STRING_PLAIN));
	}
	if (json_object_object_get_ex(q, "dirty-flag", &dirty)) {
		CU_ASSERT(info.has_dirty_flag);
		CU_ASSERT(info.dirty_flag == json_object_get_boolean(dirty));
	}
	if (json_object_object_get_ex(q, "cluster-size", &cs))
		CU_ASSERT(info.cluster_size == (uint64_t)json_object_get_int64(cs));
	image_info_free(&info);
	image_close(img);
	json_object_put(q);
}

/* A mixed guest pattern: data, zeros, partial clusters, holes. */
static int fill_pattern(const char *name, uint64_t size, bool zero_ok)
{
	char cmds[2048];
	int n;

	n = snprintf(cmds, sizeof(cmds),
		     "-c 'write -P 0xab 0 64k' -c 'write -P 0x11 100k 3k' "
		     "-c 'write -P 0x22 %llu 512' -c 'write -P 0x33 1M 1M' ",
		     (unsigned long long)(size - 512));
	if (zero_ok)
		n += snprintf(cmds + n, sizeof(cmds) - (size_t)n,
			      "-c 'write -z 1200k 64k' -c 'write -z -u 3M 256k' "
			      "-c 'write -z 1536k 4k' ");
	snprintf(cmds + n, sizeof(cmds) - (size_t)n, "-c 'write -P 0x44 %llu 70k'",
		 (unsigned long long)(size / 2 + 1234));
	return run("qemu-io %s %s", cmds, name);
}

/* ---- tests ---- */

static void test_cluster_sizes(void)
{
	static const char *const sizes[] = { "512", "4k", "64k", "2M" };
	static const char *const compat[] = { "0.10", "1.1" };

	for (size_t c = 0; c < ARRAY_SIZE(compat); c++) {
		for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
			char name[64];

			snprintf(name, sizeof(name), "cs-%s-%s.qcow2", compat[c], sizes[i]);
			CU_ASSERT_FATAL(run("qemu-img create -f qcow2 -o compat=%s,cluster_size=%s %s 8M",
					   compat[c], sizes[i], name) == 0);
			CU_ASSERT_FATAL(fill_pattern(name, 8 * MiB, c == 1) == 0);
			check_read(name);
			check_map(name);
			check_info(name);
		}
	}
}

static void test_refcount_bits(void)
{
	static const int bits[] = { 1, 16, 64 };

	for (size_t i = 0; i < ARRAY_SIZE(bits); i++) {
		char name[64];

		snprintf(name, sizeof(name), "rc%d.qcow2", bits[i]);
		CU_ASSERT_FATAL(run("qemu-img create -f qcow2 -o refcount_bits=%d %s 5M", bits[i],
				   name) == 0);
		CU_ASSERT_FATAL(fill_pattern(name, 5 * MiB, true) == 0);
		check_read(name);
		check_map(name);
		check_info(name);
	}
}

static void test_zero_alloc(void)
{
	/* zero flag on an allocated cluster (ZERO_ALLOC keeps its offset) */
	CU_ASSERT_FATAL(run("qemu-img create -f qcow2 za.qcow2 2M") == 0);
	CU_ASSERT_FATAL(run("qemu-io -c 'write -P 0x77 0 1M' -c 'write -z 128k 256k' "
			   "-c 'write -z -u 512k 64k' za.qcow2") == 0);
	check_read("za.qcow2");
	check_map("za.qcow2");
}

static void test_extended_l2(void)
{
	CU_ASSERT_FATAL(run("qemu-img create -f qcow2 -o extended_l2=on,cluster_size=64k el2.qcow2 6M") == 0);
	CU_ASSERT_FATAL(fill_pattern("el2.qcow2", 6 * MiB, true) == 0);
	/* subcluster-sized writes and zeroes inside one cluster */
	CU_ASSERT_FATAL(run("qemu-io -c 'write -P 0x55 2M 2k' -c 'write -P 0x56 2052k 6k' "
			   "-c 'write -z 2060k 2k' -c 'write -P 0x57 2100k 2k' el2.qcow2") == 0);
	check_read("el2.qcow2");
	check_map("el2.qcow2");
	check_info("el2.qcow2");

	/* with a backing file: unallocated subclusters fall through */
	CU_ASSERT_FATAL(run("qemu-img create -f qcow2 el2b.qcow2 6M && "
			   "qemu-io -c 'write -P 0x99 0 6M' el2b.qcow2 && "
			   "qemu-img create -f qcow2 -o extended_l2=on,cluster_size=32k "
			   "-b el2b.qcow2 -F qcow2 el2t.qcow2 && "
			   "qemu-io -c 'write -P 0x12 8k 2k' -c 'write -z 20k 1k' "
			   "-c 'write -P 0x13 1M 33k' el2t.qcow2") == 0);
	check_read("el2t.qcow2");
	check_map("el2t.qcow2");
}

static void test_prealloc_metadata(void)
{
	CU_ASSERT_FATAL(run("qemu-img create -f qcow2 -o preallocation=metadata pm.qcow2 20M") == 0);
	CU_ASSERT_FATAL(run("qemu-io -c 'write -P 0x61 64k 64k' -c 'write -P 0x62 5M 100k' pm.qcow2") == 0);
	check_read("pm.qcow2");
	check_map("pm.qcow2");
}

static void test_compressed(void)
{
	static const char *const types[] = { "zlib", "zstd" };

	CU_ASSERT_FATAL(run("rm -f csrc.raw && truncate -s 9M csrc.raw") == 0);
	CU_ASSERT_FATAL(fill_pattern("-f raw csrc.raw", 9 * MiB, true) == 0);
	/* incompressible data stays uncompressed in qemu's output */
	CU_ASSERT_FATAL(run("dd if=/dev/urandom of=csrc.raw bs=64k seek=100 count=8 conv=notrunc") == 0);
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		static const char *const cs[] = { "64k", "4k", "2M", "512" };

		for (size_t j = 0; j < ARRAY_SIZE(cs); j++) {
			char name[64];

			snprintf(name, sizeof(name), "c-%s-%s.qcow2", types[i], cs[j]);
			CU_ASSERT_FATAL(run("qemu-img convert -c -f raw -O qcow2 -o compression_type=%s,cluster_size=%s csrc.raw %s",
					   types[i], cs[j], name) == 0);
			check_read(name);
			check_map(name);
			check_info(name);
		}
	}
	/* compressed v2 image */
	CU_ASSERT_FATAL(run("qemu-img convert -c -f raw -O qcow2 -o compat=0.10 csrc.raw c-v2.qcow2") == 0);
	check_read("c-v2.qcow2");
}

struct par_arg {
	struct image *img;
	const uint8_t *raw;
	size_t len;
	uint64_t seed;
	int bad;
};

static void *par_reader(void *p)
{
	struct par_arg *a = p;
	uint8_t *buf = malloc(256 * KiB);
	uint64_t x = a->seed;

	for (int i = 0; i < 400 && buf; i++) {
		uint64_t off, n;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		off = x % a->len;
		n = MIN((x >> 20) % (256 * KiB) + 1, a->len - off);
		if (image_read(a->img, buf, off, (size_t)n) < 0 ||
		    memcmp(buf, a->raw + off, (size_t)n) != 0)
			a->bad++;
	}
	free(buf);
	return NULL;
}

/* Several threads reading one image at once (compressed, normal, backing). */
static void test_parallel_reads(void)
{
	static const char *const names[] = { "pz.qcow2", "pc.qcow2", "pt.qcow2" };

	CU_ASSERT_FATAL(run("rm -f pr.raw && truncate -s 9M pr.raw && "
			   "seq 1 400000 | dd of=pr.raw conv=notrunc && "
			   "dd if=/dev/urandom of=pr.raw bs=64k seek=60 count=8 conv=notrunc && "
			   "qemu-img convert -c -f raw -O qcow2 -o compression_type=zstd pr.raw pz.qcow2 && "
			   "qemu-img convert -c -f raw -O qcow2 -o cluster_size=4k pr.raw pc.qcow2 && "
			   "qemu-img create -f qcow2 -b pc.qcow2 -F qcow2 pt.qcow2 && "
			   "qemu-io -c 'write -P 0x3c 1M 3M' -c 'write -z 5M 1M' pt.qcow2") == 0);
	for (size_t k = 0; k < ARRAY_SIZE(names); k++) {
		struct par_arg args[4];
		pthread_t th[4];
		struct image *img;
		uint8_t *raw;
		size_t len;
		char rp[600];

		CU_ASSERT_FATAL(run("qemu-img convert -O raw %s par.raw", names[k]) == 0);
		snprintf(rp, sizeof(rp), "%s", path_of("par.raw"));
		raw = slurp(rp, &len);
		CU_ASSERT_FATAL(raw != NULL);
		CU_ASSERT_FATAL(image_open(path_of(names[k]), "qcow2", 0, &img) == 0);
		for (int i = 0; i < 4; i++) {
			args[i] = (struct par_arg){ img, raw, len, 1234567ULL * (i + 1), 0 };
			pthread_create(&th[i], NULL, par_reader, &args[i]);
		}
		for (int i = 0; i < 4; i++) {
			pthread_join(th[i], NULL);
			CU_ASSERT(args[i].bad == 0);
		}
		image_close(img);
		free(raw);
	}
}

static void test_backing_chain(void)
{
	CU_ASSERT_FATAL(run("qemu-img create -f qcow2 base.qcow2 4M && "
			   "qemu-io -c 'write -P 0x11 0 1M' -c 'write -z 1M 512k' "
			   "-c 'write -P 0x12 3M 1M' base.qcow2 && "
			   "qemu-img create -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2 5M && "
			   "qemu-io -c 'write -P 0x22 512k 64k' -c 'write -z 3M 64k' mid.qcow2 && "
			   "qemu-img create -f qcow2 -o compat=0.10 -b mid.qcow2 -F qcow2 top.qcow2 7M && "
			   "qemu-io -c 'write -P 0x33 4M 100k' -c 'write -P 0x34 100 1k' top.qcow2") == 0);
	check_read("top.qcow2");
	check_map("top.qcow2");
	check_map("mid.qcow2");
	check_info("top.qcow2");
}

static void test_snapshots(void)
{
	struct image_info info;
	struct image *img;

	CU_ASSERT_FATAL(run("qemu-img create -f qcow2 sn.qcow2 3M && "
			   "qemu-io -c 'write -P 0x1 0 1M' sn.qcow2 && "
			   "qemu-img snapshot -c first sn.qcow2 && "
			   "qemu-io -c 'write -P 0x2 512k 1M' sn.qcow2 && "
			   "qemu-img snapshot -c second sn.qcow2") == 0);
	check_read("sn.qcow2");
	check_map("sn.qcow2");
	CU_ASSERT_FATAL(image_open(path_of("sn.qcow2"), "qcow2", 0, &img) == 0);
	CU_ASSERT_FATAL(image_info(img, &info) == 0);
	CU_ASSERT(info.nb_snapshots == 2);
	if (info.nb_snapshots == 2) {
		CU_ASSERT_STRING_EQUAL(info.snapshots[0].name, "first");
		CU_ASSERT_STRING_EQUAL(info.snapshots[1].name, "second");
		CU_ASSERT_STRING_EQUAL(info.snapshots[0].id, "1");
		CU_ASSERT(info.snapshots[0].disk_size == 3 * MiB);
		CU_ASSERT(info.snapshots[0].date_sec > 1600000000U);
	}
	image_info_free(&info);
	image_close(img);
}

static void test_bitmaps_info(void)
{
	CU_ASSERT_FATAL(run("rm -f bm.qcow2 && qemu-img create -f qcow2 bm.qcow2 10M && "
			   "qemu-img bitmap --add bm.qcow2 b0 && "
			   "qemu-img bitmap --add -g 128k --disable bm.qcow2 second-bitmap") == 0);
	check_info("bm.qcow2");
	check_read("bm.qcow2");
}

static void test_header_details(void)
{
	struct image *img;
	struct qcow2_state *s;

	/* v2 with backing: name, format extension */
	CU_ASSERT_FATAL(run("qemu-img create -f qcow2 hb.qcow2 1M && "
			   "qemu-img create -f qcow2 -o compat=0.10 -b hb.qcow2 -F qcow2 hv2.qcow2") == 0);
	CU_ASSERT_FATAL(image_open(path_of("hv2.qcow2"), "qcow2", IMG_NO_BACKING, &img) == 0);
	CU_ASSERT_STRING_EQUAL(img->backing_name, "hb.qcow2");
	CU_ASSERT_STRING_EQUAL(img->backing_format, "qcow2");
	s = qcow2_state(img);
	CU_ASSERT(s->h.version == 2 && s->h.header_length == 72 && s->refcount_bits == 16);
	image_close(img);

	/* v3: feature table read, 112-byte header */
	CU_ASSERT_FATAL(image_open(path_of("hb.qcow2"), "qcow2", 0, &img) == 0);
	s = qcow2_state(img);
	CU_ASSERT(s->h.header_length == 112);
	CU_ASSERT(s->nb_features == 8);
	CU_ASSERT(s->nb_unknown_exts == 0);
	CU_ASSERT(img->zero_init);
	CU_ASSERT(img->cluster_size == 65536);
	image_close(img);
}

/* Write the header back through qcow2_header_write on a copy and compare the
 * first cluster with what qemu-img wrote. */
static void test_header_rewrite(void)
{
	static const char *const opts[] = {
		"compat=1.1", "compat=0.10", "compat=1.1,compression_type=zstd",
		"compat=1.1,extended_l2=on,lazy_refcounts=on",
	};

	CU_ASSERT_FATAL(run("qemu-img create -f qcow2 rwb.qcow2 1M") == 0);
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
		for (int backing = 0; backing < 2; backing++) {
			struct image *img;
			struct qcow2_state *s;
			uint8_t *a, *b;
			size_t alen, blen;
			int ret;

			CU_ASSERT_FATAL(run("rm -f rw.qcow2 && qemu-img create -f qcow2 -o %s %s rw.qcow2 1M && cp rw.qcow2 rw-orig.qcow2",
					   opts[i], backing ? "-b rwb.qcow2 -F qcow2" : "") == 0);
			CU_ASSERT_FATAL(image_open(path_of("rw.qcow2"), "qcow2",
						   IMG_NO_BACKING | IMG_RDWR, &img) == 0);
			s = qcow2_state(img);
			ret = qcow2_header_write(s);
			if (ret < 0)
				fprintf(stderr, "\nheader write: %s\n", err_get());
			CU_ASSERT(ret == 0);
			image_close(img);
			a = slurp(path_of("rw.qcow2"), &alen);
			b = slurp(path_of("rw-orig.qcow2"), &blen);
			CU_ASSERT_FATAL(a && b);
			CU_ASSERT(memcmp(a, b, 4096) == 0);
			if (memcmp(a, b, 4096) != 0)
				fprintf(stderr, "\nheader rewrite differs for -o %s backing %d\n",
					opts[i], backing);
			free(a);
			free(b);
			CU_ASSERT(run("qemu-img check rw.qcow2") == 0);
		}
	}
}

/* Extensions we do not know survive a rewrite, and unknown autoclear bits are
 * cleared by a read-write open. */
static void test_unknown_ext_kept(void)
{
	struct image *img;
	struct qcow2_state *s;
	uint8_t ext[16] = { 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o' };
	uint8_t *a;
	size_t alen;

	CU_ASSERT_FATAL(run("qemu-img create -f qcow2 ux.qcow2 1M") == 0);
	/* insert before the feature table: move it right by 16 bytes */
	a = slurp(path_of("ux.qcow2"), &alen);
	CU_ASSERT_FATAL(a != NULL);
	memmove(a + 112 + 16, a + 112, 1024);
	memcpy(a + 112, ext, 16);
	patch("ux.qcow2", 0, a, 2048);
	free(a);
	patch_be64("ux.qcow2", 88, 0x8004);   /* unknown autoclear bits */
	CU_ASSERT_FATAL(image_open(path_of("ux.qcow2"), "qcow2", 0, &img) == 0);
	s = qcow2_state(img);
	CU_ASSERT(s->nb_unknown_exts == 1);
	if (s->nb_unknown_exts == 1) {
		CU_ASSERT(s->unknown_exts[0].type == 0x12345678);
		CU_ASSERT(s->unknown_exts[0].len == 5);
		CU_ASSERT(memcmp(s->unknown_exts[0].data, "hello", 5) == 0);
	}
	image_close(img);
	CU_ASSERT_FATAL(image_open(path_of("ux.qcow2"), "qcow2", IMG_RDWR, &img) == 0);
	image_close(img);
	a = slurp(path_of("ux.qcow2"), &alen);
	CU_ASSERT_FATAL(a != NULL);
	CU_ASSERT(load_be64(a + 88) == 0);
	CU_ASSERT(memmem(a, 65536, ext, 13) != NULL);
	free(a);
	CU_ASSERT(run("qemu-img check ux.qcow2") == 0);
}

/* Header bytes past the fields we know are kept; a header that cannot fit
 * its cluster is refused with -ENOSPC and leaves the file alone. */
static void test_header_extra_and_enospc(void)
{
	struct image *img;
	struct qcow2_state *s;
	uint8_t *a, *b;
	size_t alen, blen;
	char longname[600];

	CU_ASSERT_FATAL(run("rm -f xh.qcow2 && qemu-img create -f qcow2 xh.qcow2 1M && "
			   "qemu-io -c 'write -P 0x42 0 64k' xh.qcow2") == 0);
	a = slurp(path_of("xh.qcow2"), &alen);
	CU_ASSERT_FATAL(a != NULL);
	memmove(a + 120, a + 112, 2048);
	memcpy(a + 112, "EXTRAHDR", 8);
	store_be32(a + 100, 120);
	patch("xh.qcow2", 0, a, 4096);
	free(a);
	CU_ASSERT_FATAL(image_open(path_of("xh.qcow2"), "qcow2", IMG_RDWR, &img) == 0);
	s = qcow2_state(img);
	CU_ASSERT(s->extra_header_len == 8);
	CU_ASSERT(qcow2_header_write(s) == 0);
	image_close(img);
	a = slurp(path_of("xh.qcow2"), &alen);
	CU_ASSERT_FATAL(a != NULL);
	CU_ASSERT(load_be32(a + 100) == 120 && memcmp(a + 112, "EXTRAHDR", 8) == 0);
	CU_ASSERT(load_be32(a + 120) == QCOW2_EXT_FEATURE_TABLE);
	free(a);
	CU_ASSERT(run("qemu-img check xh.qcow2") == 0);
	check_read("xh.qcow2");

	CU_ASSERT_FATAL(run("rm -f sm.qcow2 && qemu-img create -f qcow2 -o cluster_size=512 sm.qcow2 1M") == 0);
	a = slurp(path_of("sm.qcow2"), &alen);
	CU_ASSERT_FATAL(image_open(path_of("sm.qcow2"), "qcow2", IMG_RDWR | IMG_NO_BACKING, &img) == 0);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	free(img->backing_name);
	img->backing_name = strdup(longname);
	err_clear();
	CU_ASSERT(qcow2_header_write(qcow2_state(img)) == -ENOSPC);
	CU_ASSERT(strstr(err_get(), "do not fit") != NULL);
	free(img->backing_name);
	img->backing_name = NULL;
	image_close(img);
	b = slurp(path_of("sm.qcow2"), &blen);
	CU_ASSERT(a && b && alen == blen && memcmp(a, b, 512) == 0);
	free(a);
	free(b);
}

/* Open must fail with a message containing `msg`. */
static void expect_open_error(const char *name, int flags, const char *msg)
{
	struct image *img = NULL;
	int ret;

	err_clear();
	ret = image_open(path_of(name), "qcow2", flags, &img);
	CU_ASSERT(ret < 0);
	if (ret == 0) {
		fprintf(stderr, "\n%s: opened but should fail with '%s'\n", name, msg);
		image_close(img);
		return;
	}
	if (!strstr(err_get(), msg)) {
		CU_FAIL("wrong error message");
		fprintf(stderr, "\n%s: got '%s', want '%s'\n", name, err_get(), msg);
	}
}

/* Read the whole image: must fail with a message containing msg. */
static void expect_read_error(const char *name, const char *msg)
{
	struct image *img = NULL;
	uint8_t *buf;
	int ret = 0;

	CU_ASSERT_FATAL(image_open(path_of(name), "qcow2", 0, &img) == 0);
	buf = malloc(MiB);
	err_clear();
	for (uint64_t off = 0; off < img->size && ret == 0; off += MiB)
		ret = image_read(img, buf, off, (size_t)MIN(MiB, img->size - off));
	CU_ASSERT(ret < 0);
	if (ret < 0 && !strstr(err_get(), msg)) {
		CU_FAIL("wrong error message");
		fprintf(stderr, "\n%s: got '%s', want '%s'\n", name, err_get(), msg);
	}
	free(buf);
	image_close(img);
}

static void fresh(const char *name, const char *opts)
{
	CU_ASSERT_FATAL(run("rm -f %s && qemu-img create -f qcow2 %s %s 4M && "
			   "qemu-io -c 'write -P 0xab 0 128k' %s",
			   name, opts, name, name) == 0);
}

static void test_bad_headers(void)
{
	fresh("bad.qcow2", "");
	patch_be32("bad.qcow2", 4, 4);
	expect_open_error("bad.qcow2", 0, "Unsupported qcow2 version 4");

	fresh("bad.qcow2", "");
	patch_be32("bad.qcow2", 20, 30);
	expect_open_error("bad.qcow2", 0, "cluster size");

	fresh("bad.qcow2", "");
	patch_be32("bad.qcow2", 32, 2);   /* LUKS encrypted: needs its key first */
	expect_open_error("bad.qcow2", 0, "Parameter 'encrypt.key-secret' is required");
	expect_open_error("bad.qcow2", IMG_NO_IO, "no crypto header extension");

	fresh("bad.qcow2", "");
	patch_be32("bad.qcow2", 32, 3);
	expect_open_error("bad.qcow2", 0, "Unsupported encryption method: 3");

	/* unknown incompatible bits, named through the feature table */
	fresh("bad.qcow2", "");
	patch_be64("bad.qcow2", 72, (1ULL << 7) | (1ULL << 40));
	{
		uint8_t ent[48] = { 0, 7, 'f', 'o', 'o' };

		/* overwrite the first table entry (dirty bit) with {incompat 7, "foo"} */
		patch("bad.qcow2", 120, ent, sizeof(ent));
	}
	expect_open_error("bad.qcow2", 0, "Unsupported qcow2 feature(s): foo, bit 40");

	fresh("bad.qcow2", "");
	patch_be64("bad.qcow2", 72, QCOW2_INCOMPAT_DATA_FILE);
	expect_open_error("bad.qcow2", 0, "external data file");

	fresh("bad.qcow2", "");
	patch_be32("bad.qcow2", 100, 100);
	expect_open_error("bad.qcow2", 0, "header too short");

	fresh("bad.qcow2", "");
	patch_be32("bad.qcow2", 100, 116);
	expect_open_error("bad.qcow2", 0, "multiple of 8");

	fresh("bad.qcow2", "");
	patch_be32("bad.qcow2", 100, 1 << 20);
	expect_open_error("bad.qcow2", 0, "exceeds cluster size");

	fresh("bad.qcow2", "");
	patch_be32("bad.qcow2", 96, 7);
	expect_open_error("bad.qcow2", 0, "Reference count entry width");

	fresh("bad.qcow2", "");
	{
		uint8_t one = 1;

		patch("bad.qcow2", 104, &one, 1);   /* zstd without the feature bit */
	}
	expect_open_error("bad.qcow2", 0, "compression");

	fresh("bad.qcow2", "");
	patch_be32("bad.qcow2", 36, 0x7fffffff);   /* huge L1 */
	expect_open_error("bad.qcow2", 0, "L1 table too large");

	fresh("bad.qcow2", "");
	patch_be32("bad.qcow2", 36, 0);   /* L1 too small for the size */
	expect_open_error("bad.qcow2", 0, "L1 table is too small");

	fresh("bad.qcow2", "");
	patch_be64("bad.qcow2", 40, 0x123);
	expect_open_error("bad.qcow2", 0, "L1 table offset");

	fresh("bad.qcow2", "");
	patch_be64("bad.qcow2", 40, 1ULL << 40);
	expect_open_error("bad.qcow2", 0, "beyond end of file");

	fresh("bad.qcow2", "");
	patch_be64("bad.qcow2", 48, 1ULL << 40);
	expect_open_error("bad.qcow2", 0, "Reference count table");

	fresh("bad.qcow2", "");
	patch_be32("bad.qcow2", 56, 0x10000000);
	expect_open_error("bad.qcow2", 0, "Reference count table too large");

	fresh("bad.qcow2", "");
	patch_be32("bad.qcow2", 60, 1000000);
	expect_open_error("bad.qcow2", 0, "Too many snapshots");

	fresh("bad.qcow2", "");
	patch_be64("bad.qcow2", 24, 1ULL << 62);
	expect_open_error("bad.qcow2", 0, "");

	/* backing file name out of the cluster / too long */
	fresh("bad.qcow2", "");
	patch_be64("bad.qcow2", 8, 65000);
	patch_be32("bad.qcow2", 16, 1000);
	expect_open_error("bad.qcow2", 0, "backing file");
	fresh("bad.qcow2", "");
	patch_be64("bad.qcow2", 8, 1024);
	patch_be32("bad.qcow2", 16, 2000);
	expect_open_error("bad.qcow2", 0, "Backing file name too long");

	/* extension length past the cluster */
	fresh("bad.qcow2", "");
	patch_be32("bad.qcow2", 116, 0x7fffffff);
	expect_open_error("bad.qcow2", 0, "extension");

	/* extended L2 needs 16k clusters */
	fresh("bad.qcow2", "-o cluster_size=4k");
	patch_be64("bad.qcow2", 72, QCOW2_INCOMPAT_EXTL2);
	expect_open_error("bad.qcow2", 0, "extended L2");

	/* truncated file */
	CU_ASSERT(run("head -c 50 bad.qcow2 > trunc.qcow2") == 0);
	expect_open_error("trunc.qcow2", 0, "");

	/* corrupt bit: read-only fine, read-write refused */
	fresh("bad.qcow2", "");
	patch_be64("bad.qcow2", 72, QCOW2_INCOMPAT_CORRUPT);
	expect_open_error("bad.qcow2", IMG_RDWR, "Image is corrupt; cannot be opened read/write");
	{
		struct image *img;

		CU_ASSERT(image_open(path_of("bad.qcow2"), "qcow2", 0, &img) == 0);
		image_close(img);
	}
}

static void test_bad_tables(void)
{
	/* Layout of a fresh 64k-cluster image: L1 at 0x30000, L2 at 0x40000,
	 * first data cluster at 0x50000. */
	fresh("bt.qcow2", "");
	patch_be64("bt.qcow2", 0x30000, 0x8000000000000000ULL | (1ULL << 40));
	expect_read_error("bt.qcow2", "L2 table at 0x10000000000 beyond end of file");

	fresh("bt.qcow2", "");
	patch_be64("bt.qcow2", 0x30000, 0x8000000000040100ULL);
	expect_read_error("bt.qcow2", "reserved bits");

	fresh("bt.qcow2", "");
	patch_be64("bt.qcow2", 0x30000, 0x8000000000041000ULL);
	expect_read_error("bt.qcow2", "unaligned");

	fresh("bt.qcow2", "");
	patch_be64("bt.qcow2", 0x40000, 0x8000000000051000ULL);
	expect_read_error("bt.qcow2", "unaligned");

	fresh("bt.qcow2", "");
	patch_be64("bt.qcow2", 0x40000, 0x8000100000000000ULL);
	expect_read_error("bt.qcow2", "beyond end of file");

	fresh("bt.qcow2", "");
	patch_be64("bt.qcow2", 0x40000, 0x8000000000050002ULL);
	expect_read_error("bt.qcow2", "reserved bits");

	/* compressed cluster whose data lies past the end of the file */
	fresh("bt.qcow2", "");
	patch_be64("bt.qcow2", 0x40000, QCOW2_OFLAG_COMPRESSED | (1ULL << 40));
	expect_read_error("bt.qcow2", "beyond end of file");

	/* compressed cluster with garbage data */
	fresh("bt.qcow2", "");
	patch_be64("bt.qcow2", 0x40000, QCOW2_OFLAG_COMPRESSED | 0x50000ULL);
	expect_read_error("bt.qcow2", "decompress");

	/* compressed data running past the end of the file */
	CU_ASSERT_FATAL(run("rm -f t.raw btc.qcow2 && seq 1 30000 > t.raw && truncate -s 1M t.raw && "
			   "qemu-img convert -c -f raw -O qcow2 t.raw btc.qcow2") == 0);
	{
		size_t len;
		uint8_t *a = slurp(path_of("btc.qcow2"), &len);

		free(a);
		CU_ASSERT(run("truncate -s %zu btc.qcow2", len - 3000) == 0);
	}
	expect_read_error("btc.qcow2", "past the end of the file");

	/* extended L2 with both bits of a subcluster set */
	fresh("bt.qcow2", "-o extended_l2=on");
	patch_be64("bt.qcow2", 0x40008, 0x0000000100000001ULL);
	expect_read_error("bt.qcow2", "subcluster");

	/* bad snapshot table */
	CU_ASSERT_FATAL(run("rm -f bs.qcow2 && qemu-img create -f qcow2 bs.qcow2 1M && "
			   "qemu-img snapshot -c s bs.qcow2") == 0);
	{
		struct image *img;
		struct qcow2_state *s;
		uint64_t snoff;

		CU_ASSERT_FATAL(image_open(path_of("bs.qcow2"), "qcow2", 0, &img) == 0);
		s = qcow2_state(img);
		snoff = s->h.snapshots_offset;
		image_close(img);
		patch_be32("bs.qcow2", snoff + 36, 100000);   /* extra data size */
		expect_open_error("bs.qcow2", 0, "extra");
	}
}

/* qcow2_compress_buffer must produce what QEMU's inflater (4 KiB window) reads. */
static void test_compress_buffer(void)
{
	struct image *img;
	struct qcow2_state *s;
	uint8_t *in, *out, *back;
	size_t cs = 65536;
	int n;

	CU_ASSERT_FATAL(run("rm -f cb.qcow2 && qemu-img create -f qcow2 cb.qcow2 1M") == 0);
	CU_ASSERT_FATAL(image_open(path_of("cb.qcow2"), "qcow2", 0, &img) == 0);
	s = qcow2_state(img);
	in = malloc(cs);
	out = malloc(cs);
	back = malloc(cs);
	for (size_t i = 0; i < cs; i++)
		in[i] = (uint8_t)((i / 100) ^ (i % 7));
	n = qcow2_compress_buffer(s, in, cs, out, cs - 1);
	CU_ASSERT(n > 0 && (size_t)n < cs - 1);
	if (n > 0) {
		z_stream z = { 0 };

		CU_ASSERT(inflateInit2(&z, -12) == Z_OK);
		z.next_in = out;
		z.avail_in = (uInt)n;
		z.next_out = back;
		z.avail_out = (uInt)cs;
		CU_ASSERT(inflate(&z, Z_FINISH) == Z_STREAM_END);
		CU_ASSERT(z.total_out == cs && memcmp(in, back, cs) == 0);
		inflateEnd(&z);
	}
	/* random data does not shrink */
	for (size_t i = 0; i < cs; i++)
		in[i] = (uint8_t)rng();
	CU_ASSERT(qcow2_compress_buffer(s, in, cs, out, cs - 1) == -ENOSPC);
	/* zstd */
	s->h.compression_type = QCOW2_COMPRESSION_ZSTD;
	memset(in, 7, cs / 2);
	n = qcow2_compress_buffer(s, in, cs, out, cs - 1);
	CU_ASSERT(n > 0 && (size_t)n < cs - 1);
	s->h.compression_type = 0;
	image_close(img);
	free(in);
	free(out);
	free(back);
}

static const struct unit_test tests[] = {
	{ "cluster sizes 512..2M, compat 0.10 and 1.1", test_cluster_sizes },
	{ "refcount widths 1, 16, 64", test_refcount_bits },
	{ "zero clusters with and without allocation", test_zero_alloc },
	{ "extended L2 (subclusters)", test_extended_l2 },
	{ "preallocation=metadata", test_prealloc_metadata },
	{ "compressed zlib and zstd", test_compressed },
	{ "backing chain", test_backing_chain },
	{ "parallel readers", test_parallel_reads },
	{ "snapshot table", test_snapshots },
	{ "persistent bitmaps in info", test_bitmaps_info },
	{ "header details", test_header_details },
	{ "header rewrite matches qemu-img", test_header_rewrite },
	{ "unknown extensions kept, autoclear cleared", test_unknown_ext_kept },
	{ "extra header bytes kept, -ENOSPC", test_header_extra_and_enospc },
	{ "bad headers are refused clearly", test_bad_headers },
	{ "bad tables fail reads clearly", test_bad_tables },
	{ "compress buffer (qemu-compatible)", test_compress_buffer },
};

UNIT_MAIN("qcow2_read", tests, NULL)
