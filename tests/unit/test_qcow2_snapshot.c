/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_qcow2_snapshot.c - randomized, seeded sequences of qcow2 writes, zero
 * writes, discards and internal snapshot create/apply/delete, checked against an
 * in-memory model of the active disk and of every snapshot's contents.  Every few
 * steps the image is closed, `qemu-img check` must report neither errors nor
 * leaks, `qemu-img compare` must find the model's bytes, and the image (reopened)
 * must read back as the model.  Applying a snapshot must show exactly its model.
 *
 * A second scenario does the same for backing chains (base <- mid <- top):
 * random writes and zero writes into any layer, commit (into the backing file,
 * with -b deeper, with or without -d) and rebase (safe, -u, -b "") through the
 * convert/commit.c and convert/rebase.c engines exactly as the CLI calls them,
 * against a model of what each layer allocates and reads through its chain.
 * Progress letters: c commit, r safe rebase, u unsafe rebase;
 * IMGTOOL_CHAIN_TRACE=1 logs every operation.
 *
 * Each run prints its seed; IMGTOOL_SEED=N replays that seed in every
 * configuration (IMGTOOL_SNAP_CONFIG=name limits the configurations).
 */
#include "convert/commit.h"
#include "convert/rebase.h"
#include "formats/format.h"
#include "common/err.h"
#include "common/opts.h"
#include "common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "tests/unit/unit.h"

#define MAX_SNAPS 5

struct config {
	const char *name;
	const char *opts;       /* -o for image_create */
	uint64_t size;          /* virtual size */
	uint32_t cluster;       /* cluster size (for lengths and alignment) */
	int steps;
	int check_every;        /* close + qemu-img check + compare every N steps */
	bool rc1;               /* refcount_bits=1: snapshots of used clusters overflow */
	bool flush;             /* real fsyncs (else cache=unsafe: same logic, faster) */
};

static const struct config configs[] = {
	{ "v3-64k", "", 16 * MiB, 65536, 60, 10, false, true },
	{ "c512", "cluster_size=512", 2 * MiB, 512, 60, 10, false, false },
	{ "rc1", "refcount_bits=1", 8 * MiB, 65536, 40, 10, true, false },
	{ "rc64", "refcount_bits=64,cluster_size=4k", 8 * MiB, 4096, 60, 10, false, false },
	{ "extl2", "extended_l2=on", 16 * MiB, 65536, 60, 10, false, false },
	{ "extl2-c16k", "extended_l2=on,cluster_size=16k", 8 * MiB, 16384, 60, 10, false, false },
	{ "v2", "compat=0.10", 16 * MiB, 65536, 60, 10, false, false },
	{ "lazy", "lazy_refcounts=on,cluster_size=4k", 8 * MiB, 4096, 60, 10, false, false },
};

/* ---- helpers ---- */

static uint64_t rng_next(uint64_t *x)
{
	/* splitmix64: every seed gives a good sequence */
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd(uint64_t *x, uint64_t n)
{
	return n ? rng_next(x) % n : 0;
}

static int write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ret = 0;

	if (!f)
		return -1;
	if (fwrite(buf, 1, len, f) != len)
		ret = -1;
	if (fclose(f))
		ret = -1;
	return ret;
}

/* ---- the run ---- */

struct snap {
	char name[32];
	uint8_t *data;
};

struct run_state {
	const struct config *cfg;
	uint64_t seed, rng;
	char img_path[256], raw_path[256];
	struct image *img;
	uint8_t *model;
	struct snap snaps[MAX_SNAPS];
	int nb_snaps;
	int serial;
	int step;
	bool failed;
};

static void fail(struct run_state *r, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\n  FAIL %s seed=%" PRIu64 " step %d: ", r->cfg->name, r->seed,
		r->step);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (%s)\n", err_get());
	r->failed = true;
}

static int reopen(struct run_state *r)
{
	int ret;

	if (r->img)
		image_close(r->img);
	r->img = NULL;
	ret = image_open(r->img_path, "qcow2",
			 IMG_RDWR | (r->cfg->flush ? 0 : IMG_BE_FLAGS(BE_NOFLUSH)), &r->img);
	if (ret < 0)
		fail(r, "open: %d", ret);
	return ret;
}

/* The image reads exactly as want. */
static int compare_image(struct run_state *r, const uint8_t *want, const char *what)
{
	uint64_t size = r->cfg->size;
	uint8_t *buf = malloc(size);
	int ret;

	if (!buf)
		return -ENOMEM;
	ret = image_read(r->img, buf, 0, size);
	if (ret < 0) {
		fail(r, "read: %d", ret);
	} else if (memcmp(buf, want, size)) {
		uint64_t i = 0;

		while (buf[i] == want[i])
			i++;
		fail(r, "%s differs at byte %#" PRIx64 " (image %#x, model %#x)", what, i,
		     buf[i], want[i]);
		ret = -EIO;
	}
	free(buf);
	return ret;
}

/* Close, check with qemu-img, (with_qemu: compare with qemu-img), reopen,
 * compare with us. */
static int full_check(struct run_state *r, bool with_qemu)
{
	int ret;

	image_close(r->img);
	r->img = NULL;
	if (run("qemu-img check -f qcow2 %s", r->img_path)) {
		fail(r, "qemu-img check");
		return -EIO;
	}
	if (with_qemu && (write_file(r->raw_path, r->model, r->cfg->size) ||
	    run("qemu-img compare -q -f qcow2 -F raw %s %s", r->img_path, r->raw_path))) {
		fail(r, "qemu-img compare with the model");
		return -EIO;
	}
	ret = reopen(r);
	if (ret == 0)
		ret = compare_image(r, r->model, "active disk");
	return ret;
}

static void random_range(struct run_state *r, uint64_t *off, uint64_t *len)
{
	uint64_t size = r->cfg->size, cs = r->cfg->cluster;
	uint64_t o, l;

	switch (rnd(&r->rng, 4)) {
	case 0:  l = 1 + rnd(&r->rng, 2 * cs); break;
	case 1:  l = cs * (1 + rnd(&r->rng, 8)); break;
	case 2:  l = 512 * (1 + rnd(&r->rng, 64)); break;
	default: l = 1 + rnd(&r->rng, MIN(size / 4, 32 * cs)); break;
	}
	l = MIN(l, size);
	o = rnd(&r->rng, size - l + 1);
	switch (rnd(&r->rng, 3)) {
	case 0: o = o / cs * cs; break;
	case 1: o = o / 512 * 512; break;
	default: break;
	}
	*off = o;
	*len = l;
}

static int step_write(struct run_state *r)
{
	uint64_t off, len;
	uint8_t *buf;
	int ret;

	random_range(r, &off, &len);
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	if (rnd(&r->rng, 2)) {
		memset(buf, (int)(1 + rnd(&r->rng, 255)), len);
	} else {
		for (uint64_t i = 0; i < len; i++)
			buf[i] = (uint8_t)rng_next(&r->rng);
	}
	ret = image_write(r->img, buf, off, len);
	if (ret < 0)
		fail(r, "write %#" PRIx64 "+%#" PRIx64 ": %d", off, len, ret);
	else
		memcpy(r->model + off, buf, len);
	free(buf);
	return ret;
}

/* A whole cluster, compressed if it shrinks (64K-cluster configurations). */
static int step_compressed(struct run_state *r)
{
	uint64_t cs = r->cfg->cluster;
	uint64_t off = rnd(&r->rng, r->cfg->size / cs) * cs;
	struct block_status bs;
	uint8_t *buf;
	int ret;

	/* like qemu, compressed data is only written into unallocated clusters */
	ret = image_block_status(r->img, off, cs, &bs);
	if (ret < 0) {
		fail(r, "block_status %#" PRIx64 ": %d", off, ret);
		return ret;
	}
	if (bs.length < cs || (bs.flags & (BS_OFFSET_VALID | BS_COMPRESSED)))
		return 0;
	buf = malloc(cs);
	if (!buf)
		return -ENOMEM;
	for (uint64_t i = 0; i < cs; i++)
		buf[i] = (uint8_t)((i / 64) * 7 + r->serial);
	ret = image_write_compressed(r->img, buf, off, cs);
	if (ret < 0)
		fail(r, "compressed write %#" PRIx64 ": %d", off, ret);
	else
		memcpy(r->model + off, buf, cs);
	free(buf);
	return ret;
}

static int step_zeroes(struct run_state *r)
{
	uint64_t off, len;
	int flags = rnd(&r->rng, 2) ? IMG_ZERO_MAY_UNMAP : 0;
	int ret;

	random_range(r, &off, &len);
	ret = image_write_zeroes(r->img, off, len, flags);
	if (ret < 0)
		fail(r, "write_zeroes %#" PRIx64 "+%#" PRIx64 " flags %d: %d", off, len, flags,
		     ret);
	else
		memset(r->model + off, 0, len);
	return ret;
}

static int step_create(struct run_state *r)
{
	struct snap *sn;
	struct snapshot_info *list = NULL;
	int ret, nb = 0;

	if (r->nb_snaps >= MAX_SNAPS)
		return 0;
	sn = &r->snaps[r->nb_snaps];
	snprintf(sn->name, sizeof(sn->name), "s%d", ++r->serial);
	ret = image_snapshot_create(r->img, sn->name);
	if (ret == -ERANGE && r->cfg->rc1) {
		/* one-bit refcounts cannot share a cluster: refused, nothing changed */
		err_clear();
		return compare_image(r, r->model, "active disk after a refused snapshot");
	}
	if (ret < 0) {
		fail(r, "snapshot create %s: %d", sn->name, ret);
		return ret;
	}
	sn->data = malloc(r->cfg->size);
	if (!sn->data)
		return -ENOMEM;
	memcpy(sn->data, r->model, r->cfg->size);
	r->nb_snaps++;
	ret = image_snapshot_list(r->img, &list, &nb);
	if (ret == 0 && (nb != r->nb_snaps || strcmp(list[nb - 1].name, sn->name))) {
		fail(r, "snapshot list has %d entries, expected %d", nb, r->nb_snaps);
		ret = -EIO;
	}
	image_snapshot_list_free(list, nb);
	return ret;
}

static int step_apply(struct run_state *r)
{
	struct snap *sn;
	int ret;

	if (!r->nb_snaps)
		return 0;
	sn = &r->snaps[rnd(&r->rng, r->nb_snaps)];
	ret = image_snapshot_apply(r->img, sn->name);
	if (ret < 0) {
		fail(r, "snapshot apply %s: %d", sn->name, ret);
		return ret;
	}
	memcpy(r->model, sn->data, r->cfg->size);
	return compare_image(r, sn->data, "disk after apply");
}

static int step_delete(struct run_state *r)
{
	int i, ret;

	if (!r->nb_snaps)
		return 0;
	i = (int)rnd(&r->rng, r->nb_snaps);
	ret = image_snapshot_delete(r->img, r->snaps[i].name);
	if (ret < 0) {
		fail(r, "snapshot delete %s: %d", r->snaps[i].name, ret);
		return ret;
	}
	free(r->snaps[i].data);
	memmove(&r->snaps[i], &r->snaps[i + 1], (size_t)(r->nb_snaps - i - 1) * sizeof(r->snaps[0]));
	r->nb_snaps--;
	return 0;
}

/* Every remaining snapshot still holds its contents (checked via apply at the
 * end, with qemu-img reading them too through convert -l). */
static int verify_snapshots(struct run_state *r)
{
	int ret = 0;

	for (int i = 0; i < r->nb_snaps && ret == 0; i++) {
		if (write_file(r->raw_path, r->snaps[i].data, r->cfg->size))
			return -EIO;
		image_close(r->img);
		r->img = NULL;
		if (run("qemu-img convert -f qcow2 -O raw -l %s %s %s.snap", r->snaps[i].name,
			r->img_path, r->raw_path) ||
		    run("cmp -s %s %s.snap", r->raw_path, r->raw_path)) {
			fail(r, "snapshot %s read by qemu-img differs from its model",
			     r->snaps[i].name);
			return -EIO;
		}
		ret = reopen(r);
		if (ret == 0)
			ret = image_snapshot_apply(r->img, r->snaps[i].name);
		if (ret < 0) {
			fail(r, "final apply %s", r->snaps[i].name);
			return ret;
		}
		memcpy(r->model, r->snaps[i].data, r->cfg->size);
		ret = compare_image(r, r->model, "disk after final apply");
	}
	return ret;
}

static bool one_run(const struct config *cfg, uint64_t seed)
{
	struct run_state r = { .cfg = cfg, .seed = seed, .rng = seed };
	struct opts o = { 0 };
	int ret;

	printf("\n    %s seed=%" PRIu64 " ", cfg->name, seed);
	fflush(stdout);
	snprintf(r.img_path, sizeof(r.img_path), "%s", path_of("t.qcow2"));
	snprintf(r.raw_path, sizeof(r.raw_path), "%s", path_of("t.raw"));
	unlink(r.img_path);
	r.model = calloc(1, cfg->size);
	ret = r.model ? opts_parse(&o, cfg->opts) : -ENOMEM;
	if (ret == 0)
		ret = image_create(r.img_path, "qcow2", cfg->size, &o);
	opts_free(&o);
	if (ret < 0) {
		fail(&r, "create: %d", ret);
		goto out;
	}
	if (reopen(&r) < 0)
		goto out;
	for (r.step = 1; r.step <= cfg->steps && ret == 0; r.step++) {
		uint64_t p = rnd(&r.rng, 100);

		if (p < 40)
			ret = step_write(&r);
		else if (p < 55)
			ret = step_zeroes(&r);
		else if (p < 60 && cfg->cluster == 65536)
			ret = step_compressed(&r);
		else if (p < 75)
			ret = step_create(&r);
		else if (p < 87)
			ret = step_apply(&r);
		else
			ret = step_delete(&r);
		if (ret == 0 && r.step % cfg->check_every == 0)
			ret = full_check(&r, false);
	}
	if (ret == 0)
		ret = full_check(&r, true);
	if (ret == 0)
		ret = verify_snapshots(&r);
	if (ret == 0)
		ret = full_check(&r, false);
out:
	if (ret < 0 && !r.failed)
		fail(&r, "error %d", ret);
	if (r.img)
		image_close(r.img);
	for (int i = 0; i < r.nb_snaps; i++)
		free(r.snaps[i].data);
	free(r.model);
	if (r.failed)
		printf("FAILED (replay: IMGTOOL_SEED=%" PRIu64 " IMGTOOL_SNAP_CONFIG=%s)",
		       seed, cfg->name);
	return !r.failed;
}

static uint64_t base_seed;
static bool seed_given;

static void test_sequences(void)
{
	const char *only = getenv("IMGTOOL_SNAP_CONFIG");
	int seeds = seed_given ? 1 : 3;

	for (size_t c = 0; c < ARRAY_SIZE(configs); c++) {
		if (only && strcmp(only, configs[c].name))
			continue;
		for (int i = 0; i < seeds; i++)
			CU_ASSERT(one_run(&configs[c], seed_given ? base_seed :
					  base_seed + c * 1000 + (uint64_t)i));
	}
}

/* ---- backing chains: commit and rebase against a model per layer ---- */

/*
 * base.qcow2 <- mid.qcow2 <- top.qcow2.  The model keeps, per layer, which
 * 512-byte sectors the layer allocates and their bytes; a layer's view is its
 * allocated sectors over its backing layer's view (zeros without one).  After
 * every operation each layer read through its chain must equal its view, the
 * model's allocation is reconciled with the image's block status (a layer may
 * allocate more than written, e.g. a whole cluster, but only bytes its backing
 * reads the same), and qemu-img check must find every file clean.
 */
#define NB_LAYERS 3
#define SECT 512

static const char *const layer_file[NB_LAYERS] = { "base.qcow2", "mid.qcow2", "top.qcow2" };

struct chain_config {
	const char *name;
	const char *opts[NB_LAYERS];   /* -o per layer: base, mid, top */
	uint64_t size;
	int steps;
	int compare_every;             /* qemu-img compare of top with the model */
};

static const struct chain_config chain_configs[] = {
	{ "chain-64k", { "", "", "" }, 8 * MiB, 30, 5 },
	{ "chain-mixed", { "cluster_size=4k", "extended_l2=on", "cluster_size=16k" },
	  4 * MiB, 30, 5 },
	{ "chain-v2", { "compat=0.10,cluster_size=32k", "compat=0.10", "compat=0.10" },
	  4 * MiB, 25, 5 },
};

struct layer_model {
	uint8_t *data;
	uint8_t *alloc;   /* per sector */
	int backing;      /* index of the backing layer, -1: none */
};

struct chain_run {
	const struct chain_config *cfg;
	uint64_t seed, rng;
	struct layer_model lay[NB_LAYERS];
	uint8_t *tmp, *tmp2, *buf;
	int step;
	bool failed;
};

static void cfail(struct chain_run *r, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\n  FAIL %s seed=%" PRIu64 " step %d: ", r->cfg->name, r->seed,
		r->step);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (%s)\n", err_get());
	r->failed = true;
}

/* What layer l reads (through its model chain) into out. */
static void model_view(const struct chain_run *r, int l, uint8_t *out)
{
	const struct layer_model *m = &r->lay[l];
	uint64_t nsect = r->cfg->size / SECT;

	if (m->backing >= 0)
		model_view(r, m->backing, out);
	else
		memset(out, 0, r->cfg->size);
	for (uint64_t s = 0; s < nsect; s++)
		if (m->alloc[s])
			memcpy(out + s * SECT, m->data + s * SECT, SECT);
}

/* What layer l's backing reads (zeros without one). */
static void model_below(const struct chain_run *r, int l, uint8_t *out)
{
	if (r->lay[l].backing >= 0)
		model_view(r, r->lay[l].backing, out);
	else
		memset(out, 0, r->cfg->size);
}

/* Model of a guest write of buf into layer l: partial sectors keep what
 * the layer read before. */
static void model_write(struct chain_run *r, int l, const uint8_t *buf, uint64_t off,
			uint64_t len)
{
	struct layer_model *m = &r->lay[l];

	model_view(r, l, r->tmp);
	for (uint64_t s = off / SECT; s * SECT < off + len; s++) {
		if (!m->alloc[s])
			memcpy(m->data + s * SECT, r->tmp + s * SECT, SECT);
		m->alloc[s] = 1;
	}
	memcpy(m->data + off, buf, len);
}

static int open_layer(struct chain_run *r, int l, int flags, struct image **img)
{
	int ret = image_open(path_of(layer_file[l]), "qcow2",
			     flags | IMG_BE_FLAGS(BE_NOFLUSH), img);

	if (ret < 0)
		cfail(r, "open %s: %d", layer_file[l], ret);
	return ret;
}

/* Take the image's allocation of layer l into the model (bottom layer first). */
static int sync_alloc(struct chain_run *r, int l)
{
	struct layer_model *m = &r->lay[l];
	struct image *img;
	uint64_t off = 0, size = r->cfg->size;
	int ret;

	ret = open_layer(r, l, IMG_NO_BACKING, &img);
	if (ret < 0)
		return ret;
	model_below(r, l, r->tmp);
	while (off < size && ret == 0) {
		struct block_status bs;

		ret = image_block_status(img, off, size - off, &bs);
		if (ret < 0 || !bs.length) {
			cfail(r, "block status %s at %#" PRIx64 ": %d", layer_file[l], off, ret);
			ret = ret < 0 ? ret : -EIO;
			break;
		}
		bs.length = MIN(bs.length, size - off);
		if ((off | bs.length) % SECT) {
			cfail(r, "block status %s: unaligned %#" PRIx64 "+%#" PRIx64,
			      layer_file[l], off, bs.length);
			ret = -EIO;
			break;
		}
		for (uint64_t s = off / SECT; s < (off + bs.length) / SECT; s++) {
			bool a = bs.flags & BS_ALLOCATED;

			if (a && !m->alloc[s]) {
				memcpy(m->data + s * SECT, r->tmp + s * SECT, SECT);
			} else if (!a && m->alloc[s] &&
				   memcmp(m->data + s * SECT, r->tmp + s * SECT, SECT)) {
				cfail(r, "%s does not allocate sector %#" PRIx64
				      " whose contents differ from its backing",
				      layer_file[l], s * SECT);
				ret = -EIO;
				break;
			}
			m->alloc[s] = a;
		}
		off += bs.length;
	}
	image_close(img);
	return ret;
}

/* Every layer reads as its model view, has the expected chain depth, is
 * allocated as modelled and passes qemu-img check; now and then qemu-img
 * compares top with the model too. */
static int chain_verify(struct chain_run *r)
{
	int ret = 0;

	for (int l = 0; l < NB_LAYERS && ret == 0; l++) {
		struct image *img, *b;
		int depth = 0, want = 0;

		for (int x = r->lay[l].backing; x >= 0; x = r->lay[x].backing)
			want++;
		ret = open_layer(r, l, 0, &img);
		if (ret < 0)
			return ret;
		for (b = img->backing; b; b = b->backing)
			depth++;
		model_view(r, l, r->tmp);
		ret = image_read(img, r->buf, 0, r->cfg->size);
		image_close(img);
		if (ret < 0) {
			cfail(r, "read %s: %d", layer_file[l], ret);
		} else if (depth != want) {
			cfail(r, "%s has a chain of %d backing files, expected %d",
			      layer_file[l], depth, want);
			ret = -EIO;
		} else if (memcmp(r->buf, r->tmp, r->cfg->size)) {
			uint64_t i = 0;

			while (r->buf[i] == r->tmp[i])
				i++;
			cfail(r, "%s differs at byte %#" PRIx64 " (image %#x, model %#x)",
			      layer_file[l], i, r->buf[i], r->tmp[i]);
			ret = -EIO;
		}
	}
	for (int l = 0; l < NB_LAYERS && ret == 0; l++)
		ret = sync_alloc(r, l);
	for (int l = 0; l < NB_LAYERS && ret == 0; l++) {
		if (run("qemu-img check -q -f qcow2 %s", path_of(layer_file[l]))) {
			cfail(r, "qemu-img check %s", layer_file[l]);
			ret = -EIO;
		}
	}
	if (ret == 0 && (r->step % r->cfg->compare_every == 0 || r->step > r->cfg->steps)) {
		model_view(r, 2, r->tmp);
		if (write_file(path_of("chain.raw"), r->tmp, r->cfg->size) ||
		    run("qemu-img compare -q -f qcow2 -F raw %s %s", path_of(layer_file[2]),
			path_of("chain.raw"))) {
			cfail(r, "qemu-img compare of top with the model");
			ret = -EIO;
		}
	}
	return ret;
}

/* A random write or zero write into top (mostly), mid or base. */
static int chain_step_write(struct chain_run *r, bool zeroes)
{
	uint64_t size = r->cfg->size, cs = 65536, off, len, p = rnd(&r->rng, 10);
	int l = p < 6 ? 2 : p < 8 ? 1 : 0;
	int flags = rnd(&r->rng, 2) ? IMG_ZERO_MAY_UNMAP : 0;
	struct image *img;
	int ret;

	switch (rnd(&r->rng, 4)) {
	case 0:  len = 1 + rnd(&r->rng, 2 * cs); break;
	case 1:  len = cs * (1 + rnd(&r->rng, 8)); break;
	case 2:  len = 512 * (1 + rnd(&r->rng, 64)); break;
	default: len = 1 + rnd(&r->rng, size / 4); break;
	}
	len = MIN(len, size);
	off = rnd(&r->rng, size - len + 1);
	if (rnd(&r->rng, 2))
		off = off / 4096 * 4096;
	if (zeroes) {
		memset(r->buf, 0, len);
	} else if (rnd(&r->rng, 2)) {
		memset(r->buf, (int)(1 + rnd(&r->rng, 255)), len);
	} else {
		for (uint64_t i = 0; i < len; i++)
			r->buf[i] = (uint8_t)rng_next(&r->rng);
	}
	if (getenv("IMGTOOL_CHAIN_TRACE"))
		fprintf(stderr, "\n  step %d: %s %s %#" PRIx64 "+%#" PRIx64 " flags %d",
			r->step, zeroes ? "zeroes" : "write", layer_file[l], off, len, flags);
	ret = open_layer(r, l, IMG_RDWR, &img);
	if (ret < 0)
		return ret;
	ret = zeroes ? image_write_zeroes(img, off, len, flags) :
		       image_write(img, r->buf, off, len);
	if (ret < 0)
		cfail(r, "%s %s %#" PRIx64 "+%#" PRIx64 ": %d", zeroes ? "zeroes" : "write",
		      layer_file[l], off, len, ret);
	image_close(img);
	if (ret < 0)
		return ret;
	model_write(r, l, r->buf, off, len);
	/* the layer allocated whole clusters: a later write below must not show
	 * through where the model thought it did not allocate */
	return sync_alloc(r, l);
}

/* commit [-b BASE] [-d] LAYER, as imgtool/cmd_commit.c runs it. */
static int chain_step_commit(struct chain_run *r)
{
	int l = r->lay[1].backing >= 0 && rnd(&r->rng, 4) == 0 ? 1 : 2;
	struct commit_params cp = { 0 };
	struct image *layer;
	int target, depth = 1, want_depth = 1, ret;
	bool explicit_base, keep;

	if (r->lay[l].backing < 0)
		return 0;
	target = r->lay[l].backing;
	explicit_base = rnd(&r->rng, 2);
	if (explicit_base && r->lay[target].backing >= 0 && rnd(&r->rng, 2)) {
		target = r->lay[target].backing;
		want_depth = 2;
	}
	keep = explicit_base || rnd(&r->rng, 3) == 0;   /* -b implies -d */
	printf("c");
	ret = open_layer(r, l, IMG_RDWR, &cp.top);
	if (ret < 0)
		return ret;
	layer = cp.top->backing;
	if (explicit_base) {
		ret = commit_find_base(cp.top, layer_file[target], &layer, &depth);
		if (ret == 0 && depth != want_depth) {
			cfail(r, "commit base %s found at depth %d, expected %d",
			      layer_file[target], depth, want_depth);
			ret = -EIO;
		}
	}
	cp.base_depth = depth;
	if (ret == 0)
		ret = image_open(layer->filename, "qcow2", IMG_RDWR | IMG_BE_FLAGS(BE_NOFLUSH),
				 &cp.base);
	if (ret == 0) {
		ret = commit_run(&cp);
		if (ret == 0)
			ret = image_flush(cp.base);
		image_close(cp.base);
		if (ret == 0 && !keep)
			ret = image_make_empty(cp.top);
		if (ret == 0)
			ret = image_flush(cp.top);
	}
	image_close(cp.top);
	if (ret < 0) {
		cfail(r, "commit %s%s into %s: %d", layer_file[l], keep ? " -d" : "",
		      layer_file[target], ret);
		return ret;
	}
	if (getenv("IMGTOOL_CHAIN_TRACE"))
		fprintf(stderr, "\n  step %d: commit%s%s %s into %s", r->step,
			explicit_base ? " -b" : "", keep ? " -d" : "", layer_file[l],
			layer_file[target]);
	/* the target reads what l read wherever a layer above it allocates */
	model_view(r, l, r->tmp);
	for (uint64_t s = 0; s < r->cfg->size / SECT; s++) {
		bool above = false;

		for (int x = l; x != target; x = r->lay[x].backing)
			above |= r->lay[x].alloc[s];
		if (above) {
			memcpy(r->lay[target].data + s * SECT, r->tmp + s * SECT, SECT);
			r->lay[target].alloc[s] = 1;
		}
	}
	if (!keep)
		memset(r->lay[l].alloc, 0, r->cfg->size / SECT);
	return 0;
}

/* rebase [-u] -b NEW|"" -F qcow2 LAYER, as imgtool/cmd_rebase.c runs it; the
 * new backing file is a layer below, so there is never a loop. */
static int chain_step_rebase(struct chain_run *r)
{
	int l = rnd(&r->rng, 4) == 0 ? 1 : 2;
	int nb = (int)rnd(&r->rng, (uint64_t)l + 1) - 1;    /* -1 .. l-1 */
	bool unsafe = rnd(&r->rng, 3) == 0;
	const char *name = nb >= 0 ? layer_file[nb] : NULL;
	struct rebase_params rp = { 0 };
	int ret;

	printf(unsafe ? "u" : "r");
	ret = open_layer(r, l, IMG_RDWR | (unsafe ? IMG_NO_BACKING : 0), &rp.img);
	if (ret < 0)
		return ret;
	if (!unsafe) {
		if (nb >= 0)
			ret = open_layer(r, nb, 0, &rp.new_backing);
		if (ret == 0 && rp.new_backing && rebase_in_chain(rp.new_backing,
								  rp.img->filename)) {
			cfail(r, "rebase_in_chain: %s seen below %s", layer_file[l], name);
			ret = -EIO;
		}
		if (ret == 0)
			ret = rebase_run(&rp);
		if (ret < 0 && !r->failed)
			cfail(r, "rebase %s onto %s: %d", layer_file[l], name ? name : "\"\"", ret);
		image_close(rp.new_backing);
	}
	/* relative names: resolved against the image's folder */
	if (ret == 0)
		ret = image_set_backing(rp.img, name, name ? "qcow2" : NULL);
	if (ret == 0)
		ret = image_flush(rp.img);
	image_close(rp.img);
	if (ret < 0) {
		if (!r->failed)
			cfail(r, "set backing of %s to %s: %d", layer_file[l],
			      name ? name : "\"\"", ret);
		return ret;
	}
	if (getenv("IMGTOOL_CHAIN_TRACE"))
		fprintf(stderr, "\n  step %d: rebase%s %s onto %s", r->step, unsafe ? " -u" : "",
			layer_file[l], name ? name : "\"\"");
	if (!unsafe) {
		/* safe: sectors that read differently now hold the old contents */
		struct layer_model *m = &r->lay[l];

		model_below(r, l, r->tmp);
		if (nb >= 0)
			model_view(r, nb, r->tmp2);
		else
			memset(r->tmp2, 0, r->cfg->size);
		for (uint64_t s = 0; s < r->cfg->size / SECT; s++) {
			if (m->alloc[s] || !memcmp(r->tmp + s * SECT, r->tmp2 + s * SECT, SECT))
				continue;
			memcpy(m->data + s * SECT, r->tmp + s * SECT, SECT);
			m->alloc[s] = 1;
		}
	}
	r->lay[l].backing = nb;
	return 0;
}

static int chain_create(struct chain_run *r)
{
	int ret = 0;

	for (int l = 0; l < NB_LAYERS && ret == 0; l++) {
		struct opts o = { 0 };

		unlink(path_of(layer_file[l]));
		ret = opts_parse(&o, r->cfg->opts[l]);
		if (ret == 0 && l > 0) {
			/* absolute at creation; rebase writes relative names */
			opts_set(&o, "backing_file", path_of(layer_file[l - 1]));
			opts_set(&o, "backing_fmt", "qcow2");
		}
		if (ret == 0)
			ret = image_create(path_of(layer_file[l]), "qcow2", r->cfg->size, &o);
		opts_free(&o);
		if (ret < 0)
			cfail(r, "create %s: %d", layer_file[l], ret);
		r->lay[l].backing = l - 1;
	}
	return ret;
}

static bool chain_run_one(const struct chain_config *cfg, uint64_t seed)
{
	struct chain_run r = { .cfg = cfg, .seed = seed, .rng = seed };
	uint64_t size = cfg->size;
	int ret = -ENOMEM;

	printf("\n    %s seed=%" PRIu64 " ", cfg->name, seed);
	fflush(stdout);
	r.tmp = malloc(size);
	r.tmp2 = malloc(size);
	r.buf = malloc(size);
	for (int l = 0; l < NB_LAYERS; l++) {
		r.lay[l].data = calloc(1, size);
		r.lay[l].alloc = calloc(1, size / SECT);
		if (!r.lay[l].data || !r.lay[l].alloc)
			goto out;
	}
	if (!r.tmp || !r.tmp2 || !r.buf)
		goto out;
	ret = chain_create(&r);
	/* a few writes into every layer first, so that commit and rebase have data */
	for (int i = 0; i < 6 && ret == 0; i++)
		ret = chain_step_write(&r, i == 5);
	if (ret == 0)
		ret = chain_verify(&r);
	for (r.step = 1; r.step <= cfg->steps && ret == 0; r.step++) {
		uint64_t p = rnd(&r.rng, 100);

		if (p < 30)
			ret = chain_step_write(&r, false);
		else if (p < 45)
			ret = chain_step_write(&r, true);
		else if (p < 70)
			ret = chain_step_commit(&r);
		else
			ret = chain_step_rebase(&r);
		fflush(stdout);
		if (ret == 0)
			ret = chain_verify(&r);
	}
out:
	if (ret < 0 && !r.failed)
		cfail(&r, "error %d", ret);
	for (int l = 0; l < NB_LAYERS; l++) {
		free(r.lay[l].data);
		free(r.lay[l].alloc);
	}
	free(r.tmp);
	free(r.tmp2);
	free(r.buf);
	if (r.failed)
		printf("FAILED (replay: IMGTOOL_SEED=%" PRIu64 " IMGTOOL_SNAP_CONFIG=%s)",
		       seed, cfg->name);
	return !r.failed;
}

static void test_chain_sequences(void)
{
	const char *only = getenv("IMGTOOL_SNAP_CONFIG");
	int seeds = seed_given ? 1 : 2;

	for (size_t c = 0; c < ARRAY_SIZE(chain_configs); c++) {
		if (only && strcmp(only, chain_configs[c].name))
			continue;
		for (int i = 0; i < seeds; i++)
			CU_ASSERT(chain_run_one(&chain_configs[c], seed_given ? base_seed :
						base_seed + 50000 + c * 1000 + (uint64_t)i));
	}
}

/* ---- threads: disjoint regions written at once, then a snapshot ---- */

struct worker {
	struct image *img;
	uint64_t off, len, seed;
	uint8_t *model;
	int ret;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t x = w->seed;
	uint8_t buf[96 * 1024];

	for (int i = 0; i < 100 && w->ret == 0; i++) {
		uint64_t len = 1 + rnd(&x, sizeof(buf));
		uint64_t off = w->off + rnd(&x, w->len - len + 1);

		memset(buf, (int)(1 + rnd(&x, 255)), len);
		w->ret = image_write(w->img, buf, off, len);
		if (w->ret == 0)
			memcpy(w->model + off, buf, len);
	}
	return NULL;
}

static int threaded_round(struct image *img, uint8_t *model, uint64_t size, uint64_t seed)
{
	struct worker w[4];
	pthread_t th[4];

	for (int i = 0; i < 4; i++) {
		/* regions end at odd offsets so neighbours share a cluster edge */
		w[i] = (struct worker){ img, i * (size / 4) + (i ? 777 : 0), size / 4 - 1555,
					seed * 4 + (uint64_t)i, model, 0 };
		pthread_create(&th[i], NULL, worker_main, &w[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 4; i++)
		if (w[i].ret < 0)
			return w[i].ret;
	return 0;
}

static void test_threads(void)
{
	const uint64_t size = 16 * MiB;
	const char *opts_list[] = { "", "cluster_size=4k", "extended_l2=on" };
	uint8_t *model = calloc(1, size), *snap = malloc(size), *buf = malloc(size);
	const char *p = path_of("th.qcow2"), *raw = path_of("th.raw");

	CU_ASSERT_FATAL(model && snap && buf);
	for (size_t k = 0; k < ARRAY_SIZE(opts_list); k++) {
		struct opts o = { 0 };
		struct image *img = NULL;

		memset(model, 0, size);
		unlink(p);
		CU_ASSERT_FATAL(opts_parse(&o, opts_list[k]) == 0);
		CU_ASSERT_FATAL(image_create(p, "qcow2", size, &o) == 0);
		opts_free(&o);
		CU_ASSERT_FATAL(image_open(p, "qcow2", IMG_RDWR | IMG_BE_FLAGS(BE_NOFLUSH),
					   &img) == 0);
		CU_ASSERT(threaded_round(img, model, size, base_seed + k) == 0);
		CU_ASSERT(image_snapshot_create(img, "t1") == 0);
		memcpy(snap, model, size);
		CU_ASSERT(threaded_round(img, model, size, base_seed + k + 100) == 0);
		CU_ASSERT(image_read(img, buf, 0, size) == 0);
		CU_ASSERT(memcmp(buf, model, size) == 0);
		image_close(img);
		CU_ASSERT(run("qemu-img check -f qcow2 %s", p) == 0);
		CU_ASSERT(write_file(raw, model, size) == 0);
		CU_ASSERT(run("qemu-img compare -q -f qcow2 -F raw %s %s", p, raw) == 0);
		CU_ASSERT(write_file(raw, snap, size) == 0);
		CU_ASSERT(run("qemu-img snapshot -a t1 %s", p) == 0);
		CU_ASSERT(run("qemu-img compare -q -f qcow2 -F raw %s %s", p, raw) == 0);
		CU_ASSERT(run("qemu-img check -f qcow2 %s", p) == 0);
	}
	free(model);
	free(snap);
	free(buf);
}

/* the base seed: IMGTOOL_SEED replays a run, else the clock */
static int seed_init(void)
{
	const char *env = getenv("IMGTOOL_SEED");

	if (env && *env) {
		base_seed = strtoull(env, NULL, 0);
		seed_given = true;
	} else {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		base_seed = (uint64_t)ts.tv_sec * 1000003u + (uint64_t)ts.tv_nsec / 1000;
	}
	printf("test_qcow2_snapshot: base seed %" PRIu64 " (IMGTOOL_SEED=N replays)\n",
	       base_seed);
	return 0;
}

static const struct unit_test tests[] = {
	{ "random write/zero/snapshot sequences", test_sequences },
	{ "4 threads, disjoint regions, snapshot", test_threads },
	{ "random commit/rebase sequences on a 3-layer chain", test_chain_sequences },
};

UNIT_MAIN("qcow2_snapshot", tests, seed_init)
