/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rebase.c - copy what a safe rebase must keep (see rebase.h).
 *
 * Same shape as the copy engine: a dispatcher under a mutex walks the image's
 * own block status and hands out chunks (at most COPY_BUF_SIZE, ending on
 * cluster boundaries) of the ranges the image does not allocate; workers read
 * both chains, compare cluster by cluster and write the old contents where they
 * differ, so reads, comparison and writes of different chunks overlap.
 */
#include "rebase.h"
#include "copy.h"
#include "../common/err.h"
#include "../common/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct rebase_state {
	const struct rebase_params *p;
	uint64_t gran;             /* comparison and write unit: the image's cluster */

	pthread_mutex_t lock;      /* guards everything below */
	uint64_t pos;
	uint64_t st_end;           /* end of the cached status run */
	bool st_alloc;             /* the run is allocated in the image itself */
	int error;
	char errmsg[ERR_MSG_MAX];
};

bool rebase_in_chain(struct image *img, const char *path)
{
	struct stat sp, st;

	if (stat(path, &sp) < 0)
		return false;
	for (struct image *l = img; l; l = l->backing)
		if (stat(l->filename, &st) == 0 && st.st_dev == sp.st_dev &&
		    st.st_ino == sp.st_ino)
			return true;
	return false;
}

static void record_error(struct rebase_state *s, int ret)
{
	pthread_mutex_lock(&s->lock);
	if (!s->error) {
		s->error = ret;
		snprintf(s->errmsg, sizeof(s->errmsg), "%s", err_get());
	}
	pthread_mutex_unlock(&s->lock);
}

/* Next chunk [*off, *off + *len) to examine (lock held); *len 0 when done. */
static int next_chunk(struct rebase_state *s, uint64_t *off, uint64_t *len)
{
	struct image *img = s->p->img;
	struct block_status bs;
	int ret;

	*len = 0;
	while (s->pos < img->size) {
		uint64_t end, lim;

		if (s->pos >= s->st_end) {
			ret = image_block_status(img, s->pos, img->size - s->pos, &bs);
			if (ret < 0)
				return ret;
			s->st_end = s->pos + bs.length;
			s->st_alloc = (bs.flags & BS_ALLOCATED) != 0;
		}
		if (s->st_alloc) {
			progress_add(s->p->progress, s->st_end - s->pos);
			s->pos = s->st_end;
			continue;
		}
		lim = align_down(s->pos + COPY_BUF_SIZE, s->gran);
		if (lim <= s->pos)
			lim = s->pos + COPY_BUF_SIZE;
		end = MIN(s->st_end, lim);
		*off = s->pos;
		*len = end - s->pos;
		s->pos = end;
		return 0;
	}
	return 0;
}

/* Does chain (NULL: nothing) read as zeros over all of [off, off+len)? */
static int chain_zero(struct image *chain, uint64_t off, uint64_t len, bool *zero)
{
	*zero = true;
	while (chain && len && off < chain->size) {
		struct block_status bs;
		uint64_t n = MIN(len, chain->size - off);
		int ret = image_block_status_above(chain, off, n, &bs);

		if (ret < 0)
			return ret;
		if (!(bs.flags & BS_ZERO)) {
			*zero = false;
			return 0;
		}
		off += bs.length;
		len -= bs.length;
	}
	return 0;
}

/* Read chain at [off, off+len): zeros past its end or without a chain. */
static int read_chain(struct image *chain, uint8_t *buf, uint64_t off, uint64_t len)
{
	uint64_t n = chain && off < chain->size ? MIN(len, chain->size - off) : 0;
	int ret = 0;

	if (n)
		ret = image_read(chain, buf, off, (size_t)n);
	if (n < len)
		memset(buf + n, 0, (size_t)(len - n));
	return ret;
}

/* Granule [b, e) of the chunk: write it (old contents) or not? */
static bool differs(const uint8_t *o, const uint8_t *n, uint64_t b, uint64_t e)
{
	return memcmp(o + b, n + b, (size_t)(e - b)) != 0;
}

static int write_old(struct image *img, const uint8_t *o, uint64_t off, uint64_t len)
{
	/* zeros become zero clusters: they hide the new backing just as well.  But
	 * where nothing lies below the image yet, write_zeroes may rightly leave an
	 * unallocated range alone (it already reads as zeros: partial clusters, v2
	 * images), and the new backing file would show through: write the bytes. */
	if (buffer_is_zero(o, (size_t)len) && img->backing && off + len <= img->backing->size)
		return image_write_zeroes(img, off, len, 0);
	return image_write(img, o, off, (size_t)len);
}

static int do_chunk(struct rebase_state *s, uint8_t *o, uint8_t *n, uint64_t off, uint64_t len)
{
	struct image *img = s->p->img;
	uint64_t g = s->gran, pos = 0;
	bool oz, nz;
	int ret;

	ret = chain_zero(img->backing, off, len, &oz);
	if (ret == 0 && oz)
		ret = chain_zero(s->p->new_backing, off, len, &nz);
	if (ret < 0 || (oz && nz))
		return ret;
	ret = read_chain(img->backing, o, off, len);
	if (ret == 0)
		ret = read_chain(s->p->new_backing, n, off, len);
	while (pos < len && ret == 0) {
		uint64_t start = pos, e = MIN(len, (off + pos) / g * g + g - off);
		bool d = differs(o, n, pos, e);

		pos = e;
		while (pos < len) {
			e = MIN(len, pos + g);
			if (differs(o, n, pos, e) != d)
				break;
			pos = e;
		}
		if (d)
			ret = write_old(img, o + start, off + start, pos - start);
	}
	return ret;
}

static void *rebase_worker(void *opaque)
{
	struct rebase_state *s = opaque;
	uint8_t *o = backend_buf_alloc(COPY_BUF_SIZE);
	uint8_t *n = backend_buf_alloc(COPY_BUF_SIZE);
	uint64_t off, len;
	int ret;

	if (!o || !n) {
		record_error(s, err_set(-ENOMEM, NULL, "out of memory for rebase buffers"));
		goto out;
	}
	for (;;) {
		pthread_mutex_lock(&s->lock);
		ret = s->error ? 0 : next_chunk(s, &off, &len);
		if (s->error)
			len = 0;
		pthread_mutex_unlock(&s->lock);
		if (ret < 0) {
			err_set_default(ret, s->p->img->filename, "block status failed");
			record_error(s, ret);
			break;
		}
		if (!len)
			break;
		ret = do_chunk(s, o, n, off, len);
		if (ret < 0) {
			err_set_default(ret, s->p->img->filename, "rebase failed at offset %#llx",
					(unsigned long long)off);
			record_error(s, ret);
			break;
		}
		progress_add(s->p->progress, len);
	}
out:
	free(o);
	free(n);
	return NULL;
}

int rebase_run(const struct rebase_params *p)
{
	struct rebase_state s = { .p = p };
	uint64_t cs = p->img->cluster_size;
	int ret;

	s.gran = (cs >= 512 && is_power_of_2(cs) && cs <= COPY_BUF_SIZE) ? cs : 65536;
	pthread_mutex_init(&s.lock, NULL);
	copy_run_workers(p->workers, p->img->size, rebase_worker, &s);
	ret = s.error;
	if (ret < 0)
		err_copy(s.errmsg);
	else
		ret = image_flush(p->img);
	pthread_mutex_destroy(&s.lock);
	return ret;
}
