/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_chain.c - CUnit tests for the backing-chain operations on qcow2: commit
 * (convert/commit.c) with and without emptying the overlay, a commit base that
 * must grow, safe rebase and standalone rebase (convert/rebase.c), the copy
 * engine's target-backing mode (convert -B), and the errors a broken chain
 * gives.  Each result is checked against an in-memory model of the contents.
 */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/opts.h"
#include "common/util.h"
#include "convert/commit.h"
#include "convert/copy.h"
#include "convert/rebase.h"
#include "formats/format.h"
#include "tests/unit/unit.h"

#define SZ (8u * 1024 * 1024)

static uint8_t model[SZ];

static void create(const char *name, uint64_t size, const char *backing)
{
	struct opts o = { 0 };

	if (backing) {
		opts_set(&o, "backing_file", backing);
		opts_set(&o, "backing_fmt", "qcow2");
	}
	CU_ASSERT_EQUAL_FATAL(image_create(path_of(name), "qcow2", size, &o), 0);
	opts_free(&o);
}

/* Write a pattern (seed 0: zeros through write_zeroes) and mirror it in model. */
static void put(const char *name, uint64_t off, uint64_t len, int seed)
{
	struct image *img;
	uint8_t *buf = malloc(len);

	CU_ASSERT_EQUAL_FATAL(image_open(path_of(name), "qcow2", IMG_RDWR, &img), 0);
	for (uint64_t i = 0; i < len; i++)
		buf[i] = seed ? (uint8_t)((off + i) * 7 + seed) : 0;
	if (seed) {
		CU_ASSERT_EQUAL(image_write(img, buf, off, len), 0);
	} else {
		CU_ASSERT_EQUAL(image_write_zeroes(img, off, len, IMG_ZERO_MAY_UNMAP), 0);
	}
	memcpy(model + off, buf, len);
	image_close(img);
	free(buf);
}

static bool equals_model(const char *name)
{
	struct image *img;
	uint8_t *buf = malloc(SZ);
	bool ok;

	if (image_open(path_of(name), "qcow2", 0, &img) < 0) {
		free(buf);
		return false;
	}
	ok = image_read(img, buf, 0, SZ) == 0 && !memcmp(buf, model, SZ);
	image_close(img);
	free(buf);
	return ok;
}

/* base <- mid <- top with overlapping writes, zeros over data and a tail. */
static void make_chain(void)
{
	memset(model, 0, sizeof(model));
	create("base", SZ, NULL);
	put("base", 0, 2 * MiB, 1);
	put("base", 6 * MiB, 1 * MiB, 2);
	create("mid", SZ, "base");
	put("mid", 512 * 1024, 1 * MiB, 3);
	put("mid", 6 * MiB, 64 * 1024, 0);
	create("top", SZ, "mid");
	put("top", 1 * MiB + 4096, 100000, 4);
	put("top", 7 * MiB, 1 * MiB, 5);
}

static void do_commit(int base_depth, const char *base_name, bool empty)
{
	struct commit_params cp = { 0 };
	struct image *layer;
	int depth;

	CU_ASSERT_EQUAL_FATAL(image_open(path_of("top"), "qcow2", IMG_RDWR, &cp.top), 0);
	CU_ASSERT_EQUAL_FATAL(commit_find_base(cp.top, path_of(base_name), &layer, &depth), 0);
	CU_ASSERT_EQUAL(depth, base_depth);
	cp.base_depth = depth;
	CU_ASSERT_EQUAL_FATAL(image_open(layer->filename, "qcow2", IMG_RDWR, &cp.base), 0);
	CU_ASSERT_EQUAL(commit_run(&cp), 0);
	image_close(cp.base);
	if (empty) {
		CU_ASSERT_EQUAL(image_make_empty(cp.top), 0);
	}
	image_close(cp.top);
}

static void test_commit_and_empty(void)
{
	struct image *top;
	struct block_status bs;

	make_chain();
	do_commit(1, "mid", true);
	CU_ASSERT_TRUE(equals_model("mid"));
	CU_ASSERT_TRUE(equals_model("top"));
	/* the overlay allocates nothing any more */
	CU_ASSERT_EQUAL_FATAL(image_open(path_of("top"), "qcow2", 0, &top), 0);
	CU_ASSERT_EQUAL(image_block_status(top, 0, SZ, &bs), 0);
	CU_ASSERT_EQUAL(bs.length, SZ);
	CU_ASSERT_FALSE(bs.flags & BS_ALLOCATED);
	image_close(top);
}

static void test_commit_deep(void)
{
	make_chain();
	do_commit(2, "base", false);
	CU_ASSERT_TRUE(equals_model("base"));
	CU_ASSERT_TRUE(equals_model("top"));
}

static void test_commit_grows_base(void)
{
	struct image *b;

	memset(model, 0, sizeof(model));
	create("base", SZ / 2, NULL);
	put("base", 0, SZ / 2, 6);
	create("top", SZ, "base");
	put("top", SZ - MiB, MiB, 7);
	do_commit(1, "base", true);
	CU_ASSERT_EQUAL_FATAL(image_open(path_of("base"), "qcow2", 0, &b), 0);
	CU_ASSERT_EQUAL(b->size, SZ);
	image_close(b);
	CU_ASSERT_TRUE(equals_model("base"));
}

static void rebase(const char *file, const char *new_name)
{
	struct rebase_params rp = { 0 };

	CU_ASSERT_EQUAL_FATAL(image_open(path_of(file), "qcow2", IMG_RDWR, &rp.img), 0);
	if (new_name) {
		CU_ASSERT_EQUAL_FATAL(image_open(path_of(new_name), "qcow2", 0, &rp.new_backing), 0);
	}
	CU_ASSERT_EQUAL(rebase_run(&rp), 0);
	CU_ASSERT_EQUAL(image_set_backing(rp.img, new_name, new_name ? "qcow2" : NULL), 0);
	image_close(rp.new_backing);
	image_close(rp.img);
}

static void test_rebase_safe(void)
{
	struct image *top;

	make_chain();
	rebase("top", "base");
	CU_ASSERT_TRUE(equals_model("top"));
	CU_ASSERT_EQUAL_FATAL(image_open(path_of("top"), "qcow2", 0, &top), 0);
	CU_ASSERT_STRING_EQUAL(top->backing_name, "base");
	CU_ASSERT_PTR_NULL(top->backing->backing);
	image_close(top);
}

static void test_rebase_standalone(void)
{
	struct image *top;

	make_chain();
	rebase("top", NULL);
	CU_ASSERT_TRUE(equals_model("top"));
	CU_ASSERT_EQUAL_FATAL(image_open(path_of("top"), "qcow2", 0, &top), 0);
	CU_ASSERT_PTR_NULL(top->backing);
	image_close(top);
}

static void test_copy_over_backing(void)
{
	struct copy_params cp = { 0 };
	struct image *src, *dst;
	struct block_status bs;

	make_chain();
	CU_ASSERT_EQUAL_FATAL(image_open(path_of("top"), "qcow2", 0, &src), 0);
	create("out", SZ, "base");
	CU_ASSERT_EQUAL_FATAL(image_open(path_of("out"), "qcow2", IMG_RDWR, &dst), 0);
	cp.src = &src;
	cp.nb_src = 1;
	cp.dst = dst;
	cp.min_sparse = COPY_DEFAULT_SPARSE;
	cp.dst_backing = dst->backing;
	CU_ASSERT_EQUAL(copy_run(&cp), 0);
	/* the first 512 KiB equal the backing: not written */
	CU_ASSERT_EQUAL(image_block_status(dst, 0, SZ, &bs), 0);
	CU_ASSERT_FALSE(bs.flags & BS_ALLOCATED);
	CU_ASSERT_EQUAL(bs.length, 512 * 1024);
	image_close(dst);
	image_close(src);
	CU_ASSERT_TRUE(equals_model("out"));
}

static void test_broken_chain_errors(void)
{
	struct image *img;

	make_chain();
	CU_ASSERT_EQUAL(unlink(path_of("base")), 0);
	err_clear();
	CU_ASSERT_EQUAL(image_open(path_of("top"), "qcow2", 0, &img), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_get(), "Could not open backing file"));
	/* a loop: base recreated on top of top */
	create("base", SZ, "top");
	err_clear();
	CU_ASSERT_EQUAL(image_open(path_of("top"), "qcow2", 0, &img), -ELOOP);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_get(), "loops"));
	err_clear();
}

static const struct unit_test tests[] = {
	{ "commit and empty the overlay", test_commit_and_empty },
	{ "commit two layers into the base", test_commit_deep },
	{ "commit grows a smaller base", test_commit_grows_base },
	{ "safe rebase past a layer", test_rebase_safe },
	{ "rebase to standalone", test_rebase_standalone },
	{ "copy over a target backing file", test_copy_over_backing },
	{ "missing backing and loop errors", test_broken_chain_errors },
};

UNIT_MAIN("chain", tests, NULL)
