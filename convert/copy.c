/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * copy.c - the copy engine (see copy.h).
 *
 * One dispatcher, shared under a mutex, turns the concatenated sources into tasks:
 * it asks block status once per run (cached until the run is used up), skips or
 * emits zero ranges, and cuts data runs into chunks of at most COPY_BUF_SIZE that end
 * on target-cluster boundaries so that no two chunks share a cluster where this can
 * be avoided.  Workers take tasks and do the I/O outside the lock, so reads of one
 * worker overlap writes (and compression) of the others.  The number of workers
 * bounds the memory: each owns exactly one buffer.
 */
#include "copy.h"
#include "ratelimit.h"
#include "../common/err.h"
#include "../common/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ZERO_TASK_MAX (1ULL << 30)   /* bounds a zero write so progress moves */

enum task_kind {
	TASK_NONE,
	TASK_DATA,
	TASK_ZERO,
};

struct task {
	enum task_kind kind;
	uint64_t off;   /* in the concatenated source space */
	uint64_t len;
	bool known_zero; /* TASK_DATA whose source reads as zeros: fill, don't read */
};

struct copy_state {
	const struct copy_params *p;
	uint64_t total;           /* end of the copied window, in source space */
	uint64_t *base;           /* base[i]: where source i starts */
	uint64_t align;           /* chunk ends fall on multiples of this */
	uint64_t zero_gran;       /* zero detection granularity inside data */

	pthread_mutex_t lock;     /* guards everything below */
	uint64_t pos;             /* next byte to dispatch */
	int cur;                  /* source holding pos */
	uint64_t st_end;          /* end of the cached status run */
	bool st_zero;             /* the cached run reads as zeros */
	bool st_skip;             /* the cached run is not copied (above_depth) */
	int error;
	char errmsg[ERR_MSG_MAX];
	_Atomic bool offload_refused; /* an offload returned -ENOTSUP: copy as usual */
	/* checkpoints: the task each worker has in hand (UINT64_MAX: none) */
	int nb_slots;
	uint64_t inflight[COPY_MAX_WORKERS];
	uint64_t ckpt_done;       /* the last offset passed to checkpoint() */
	double ckpt_time;
	bool ckpt_running;
};

void copy_run_workers(int requested, uint64_t total, void *(*fn)(void *), void *arg)
{
	pthread_t tids[COPY_MAX_WORKERS];
	int workers = requested > 0 ? MIN(requested, COPY_MAX_WORKERS) : copy_default_workers();
	int nthreads = 0;

	/* No point in more workers than chunks. */
	if ((uint64_t)workers > total / COPY_BUF_SIZE + 1)
		workers = (int)(total / COPY_BUF_SIZE + 1);
	for (int i = 1; i < workers; i++) {
		if (pthread_create(&tids[nthreads], NULL, fn, arg))
			break;
		nthreads++;
	}
	fn(arg);
	for (int i = 0; i < nthreads; i++)
		pthread_join(tids[i], NULL);
}

int copy_default_workers(void)
{
	int n = cpu_count();

	return MIN(MAX(n, 4), COPY_MAX_WORKERS);
}

uint64_t copy_total_size(struct image **src, int nb_src)
{
	uint64_t total = 0;

	for (int i = 0; i < nb_src; i++)
		if (!add_ok(total, src[i]->size, &total))
			return 0;
	return total;
}

/* Where source-space offset off lands in the target. */
static uint64_t target_of(const struct copy_state *s, uint64_t off)
{
	return s->p->dst_offset + (off - s->p->src_offset);
}

static void record_error(struct copy_state *s, int ret)
{
	pthread_mutex_lock(&s->lock);
	if (!s->error) {
		s->error = ret;
		snprintf(s->errmsg, sizeof(s->errmsg), "%s", err_get());
	}
	pthread_mutex_unlock(&s->lock);
}

/* Refresh the cached status run at s->pos (lock held). */
static int refresh_status(struct copy_state *s)
{
	const struct copy_params *p = s->p;
	struct image *src;
	struct block_status bs;
	uint64_t soff, end;
	int ret;

	while (s->cur + 1 < p->nb_src && s->pos >= s->base[s->cur + 1])
		s->cur++;
	src = p->src[s->cur];
	soff = s->pos - s->base[s->cur];
	ret = image_block_status_above(src, soff, MIN(src->size - soff, s->total - s->pos), &bs);
	if (ret < 0)
		return ret;
	end = s->pos + bs.length;
	/* Cut a long run on an aligned boundary so the next run starts aligned. */
	if (bs.length > s->align && !is_aligned(end, s->align))
		end = align_down(end, s->align);
	s->st_end = end;
	/* ZERO wins over DATA (a hole in a fixed VHD, a preallocated cluster that
	 * is a hole in the file): it reads as zeros, so it is never read. */
	s->st_zero = (bs.flags & BS_ZERO) != 0;
	s->st_skip = p->above_depth > 0 &&
		     (!(bs.flags & BS_ALLOCATED) || bs.depth >= p->above_depth);
	return 0;
}

/* Next task for an uncompressed copy (lock held); TASK_NONE when done. */
static int next_plain(struct copy_state *s, struct task *t)
{
	const struct copy_params *p = s->p;
	int ret;

	while (s->pos < s->total) {
		uint64_t len, lim;

		if (s->pos >= s->st_end) {
			ret = refresh_status(s);
			if (ret < 0)
				return ret;
		}
		len = s->st_end - s->pos;
		t->known_zero = false;
		if (s->st_skip) {
			progress_add(p->progress, len);
			s->pos += len;
			continue;
		}
		if (s->st_zero && p->min_sparse == 0 && !p->dst_backing) {
			/* -S 0: a fully allocated target, zeros written as data (qemu-img) */
			t->kind = TASK_DATA;
			t->known_zero = true;
			lim = align_down(s->pos + COPY_BUF_SIZE, s->align);
			if (lim <= s->pos)
				lim = s->pos + COPY_BUF_SIZE;
			len = MIN(len, lim - s->pos);
		} else if (s->st_zero) {
			if (p->target_zeroed) {
				if (p->on_source) {
					ret = p->on_source(p->on_source_opaque, s->pos, NULL, len);
					if (ret < 0)
						return ret;
				}
				progress_add(p->progress, len);
				s->pos += len;
				continue;
			}
			t->kind = TASK_ZERO;
			len = MIN(len, ZERO_TASK_MAX);
		} else {
			t->kind = TASK_DATA;
			lim = align_down(s->pos + COPY_BUF_SIZE, s->align);
			if (lim <= s->pos)
				lim = s->pos + COPY_BUF_SIZE;
			len = MIN(len, lim - s->pos);
		}
		t->off = s->pos;
		t->len = len;
		s->pos += len;
		return 0;
	}
	t->kind = TASK_NONE;
	return 0;
}

/* A zeroed target needs nothing written for zeros - except a whole-cluster
 * target, which is told so that it can keep its clusters in order. */
static bool skip_zeros(const struct copy_params *p)
{
	return p->target_zeroed && !p->dst->whole_clusters;
}

/* Next task for a compressed copy (lock held): whole clusters only; a cluster that
 * is partly data is read whole (its holes read as zeros). */
static int next_compressed(struct copy_state *s, struct task *t)
{
	const struct copy_params *p = s->p;
	uint64_t cs = s->align;
	int ret;

	while (s->pos < s->total) {
		uint64_t len, end;

		t->known_zero = false;
		if (s->pos >= s->st_end) {
			ret = refresh_status(s);
			if (ret < 0)
				return ret;
		}
		end = s->st_end;
		if (s->st_skip) {
			progress_add(p->progress, end - s->pos);
			s->pos = end;
			continue;
		}
		if (s->st_zero && (end - s->pos >= cs || end == s->total)) {
			len = end == s->total ? end - s->pos : align_down(end - s->pos, cs);
			if (skip_zeros(p)) {
				progress_add(p->progress, len);
				s->pos += len;
				continue;
			}
			t->kind = TASK_ZERO;
			len = MIN(len, ZERO_TASK_MAX);
		} else {
			t->kind = TASK_DATA;
			if (s->st_zero)
				end = s->pos + cs;
			else
				end = align_up(end, cs);
			end = MIN(end, s->pos + COPY_BUF_SIZE);
			end = MIN(end, s->total);
			len = end - s->pos;
		}
		t->off = s->pos;
		t->len = len;
		s->pos += len;
		return 0;
	}
	t->kind = TASK_NONE;
	return 0;
}

static void next_task(struct copy_state *s, int slot, struct task *t)
{
	int ret;

	pthread_mutex_lock(&s->lock);
	s->inflight[slot] = UINT64_MAX;
	if (s->error) {
		t->kind = TASK_NONE;
		pthread_mutex_unlock(&s->lock);
		return;
	}
	if (s->p->compress || s->p->dst->whole_clusters)
		ret = next_compressed(s, t);
	else
		ret = next_plain(s, t);
	if (ret < 0) {
		err_set_default(ret, s->p->src[s->cur]->filename, "block status failed");
		s->error = ret;
		snprintf(s->errmsg, sizeof(s->errmsg), "%s", err_get());
		t->kind = TASK_NONE;
	}
	if (t->kind != TASK_NONE)
		s->inflight[slot] = t->off;
	pthread_mutex_unlock(&s->lock);
}

/* Read [off, off+len) of the concatenated sources into buf. */
static int read_sources(struct copy_state *s, uint8_t *buf, uint64_t off, uint64_t len)
{
	const struct copy_params *p = s->p;
	int i = 0;

	while (i + 1 < p->nb_src && off >= s->base[i + 1])
		i++;
	while (len) {
		uint64_t soff = off - s->base[i];
		uint64_t n = MIN(len, p->src[i]->size - soff);
		int ret;

		if (n) {
			ret = image_read(p->src[i], buf, soff, (size_t)n);
			if (ret < 0)
				return ret;
		}
		buf += n;
		off += n;
		len -= n;
		i++;
		if (len && i >= p->nb_src)
			return err_set(-EIO, NULL, "internal error: read past the sources");
	}
	return 0;
}

/* Target backing mode: length of the run at target offset toff (at most len)
 * over which the target's backing file does or does not read as zeros. */
static int backing_zero_run(struct copy_state *s, uint64_t toff, uint64_t len, bool *zero,
			    uint64_t *run)
{
	struct image *b = s->p->dst_backing;
	struct block_status bs;
	int ret;

	if (toff >= b->size) {
		*zero = true;
		*run = len;
		return 0;
	}
	ret = image_block_status_above(b, toff, MIN(len, b->size - toff), &bs);
	if (ret < 0)
		return ret;
	*zero = (bs.flags & BS_ZERO) != 0;
	*run = bs.length;
	return 0;
}

/* Zeros over a backing file: only where the backing does not already read as
 * zeros (elsewhere the target stays unallocated). */
static int zero_over_backing(struct copy_state *s, uint64_t off, uint64_t len)
{
	uint64_t toff = target_of(s, off);

	while (len) {
		uint64_t run;
		bool zero;
		int ret = backing_zero_run(s, toff, len, &zero, &run);

		if (ret < 0)
			return ret;
		if (!zero) {
			ret = image_write_zeroes(s->p->dst, toff, run, IMG_ZERO_MAY_UNMAP);
			if (ret < 0)
				return ret;
		}
		toff += run;
		len -= run;
	}
	return 0;
}

static int write_zero_range(struct copy_state *s, uint64_t off, uint64_t len)
{
	if (skip_zeros(s->p))
		return 0;
	if (s->p->dst_backing)
		return zero_over_backing(s, off, len);
	return image_write_zeroes(s->p->dst, target_of(s, off), len, IMG_ZERO_MAY_UNMAP);
}

/* image_write, counted for copy_stats. */
static int write_data(struct copy_state *s, const uint8_t *buf, uint64_t toff, uint64_t len)
{
	int ret = image_write(s->p->dst, buf, toff, (size_t)len);

	if (ret == 0 && s->p->stats)
		s->p->stats->bytes_written += len;
	return ret;
}

/* Read the target's backing file at target offset toff (zeros past its end). */
static int read_dst_backing(struct copy_state *s, uint8_t *buf, uint64_t toff, uint64_t len)
{
	struct image *b = s->p->dst_backing;
	uint64_t n = toff < b->size ? MIN(len, b->size - toff) : 0;
	int ret = 0;

	if (n)
		ret = image_read(b, buf, toff, (size_t)n);
	if (n < len)
		memset(buf + n, 0, (size_t)(len - n));
	return ret;
}

/* How a target granule differs from its backing file. */
enum granule_kind {
	GRAN_SAME,      /* reads the same through the backing: not written */
	GRAN_ZERO,      /* zeros over non-zero backing data */
	GRAN_DATA,
};

static enum granule_kind granule_vs_backing(const uint8_t *buf, const uint8_t *bbuf, size_t n)
{
	if (!memcmp(buf, bbuf, n))
		return GRAN_SAME;
	return buffer_is_zero(buf, n) ? GRAN_ZERO : GRAN_DATA;
}

/* Write a data chunk over a backing file: granules (target clusters) that read
 * the same as the backing are left alone, so they stay unallocated. */
static int write_vs_backing(struct copy_state *s, const uint8_t *buf, uint8_t *bbuf,
			    uint64_t off, uint64_t len)
{
	uint64_t toff = target_of(s, off);
	uint64_t g = s->align;
	uint64_t pos = 0;
	int ret = read_dst_backing(s, bbuf, toff, len);

	while (pos < len && ret == 0) {
		uint64_t start = pos;
		uint64_t e = MIN(len, (toff + pos) / g * g + g - toff);
		enum granule_kind k = granule_vs_backing(buf + pos, bbuf + pos, (size_t)(e - pos));

		pos = e;
		while (pos < len) {
			e = MIN(len, pos + g);
			if (granule_vs_backing(buf + pos, bbuf + pos, (size_t)(e - pos)) != k)
				break;
			pos = e;
		}
		if (k == GRAN_ZERO)
			ret = image_write_zeroes(s->p->dst, toff + start, pos - start,
						 IMG_ZERO_MAY_UNMAP);
		else if (k == GRAN_DATA)
			ret = write_data(s, buf + start, toff + start, pos - start);
	}
	return ret;
}

/* Is the block [b, e) of buf (offsets in the chunk) a zero run worth skipping?  A
 * whole granule counts; so does a partial one at a chunk edge (the rest of its
 * cluster lies in another chunk, often a hole) if it still spans -S bytes, and
 * the image's last partial one. */
static bool granule_is_zero(struct copy_state *s, const uint8_t *buf, uint64_t b, uint64_t e,
			    uint64_t abs_end)
{
	if (e - b != s->zero_gran && abs_end != s->total && e - b < s->p->min_sparse)
		return false;
	return buffer_is_zero(buf + b, (size_t)(e - b));
}

/* Write a data chunk, turning zero granules into zero writes (or nothing). */
static int write_sparse(struct copy_state *s, const uint8_t *buf, uint64_t off, uint64_t len)
{
	uint64_t g = s->zero_gran;
	uint64_t pos = 0;
	int ret = 0;

	if (!g)
		return write_data(s, buf, target_of(s, off), len);
	while (pos < len && ret == 0) {
		uint64_t start = pos;
		uint64_t e = MIN(len, (off + pos) / g * g + g - off);
		bool zero = granule_is_zero(s, buf, pos, e, off + e);

		pos = e;
		while (pos < len) {
			e = MIN(len, pos + g);
			if (granule_is_zero(s, buf, pos, e, off + e) != zero)
				break;
			pos = e;
		}
		if (zero)
			ret = write_zero_range(s, off + start, pos - start);
		else
			ret = write_data(s, buf + start, target_of(s, off + start), pos - start);
	}
	return ret;
}

/* Compress cluster by cluster; wholly zero clusters are not written, nor (over a
 * backing file) clusters that read the same as the backing. */
static int write_compressed_chunk(struct copy_state *s, const uint8_t *buf, uint8_t *bbuf,
				  uint64_t off, uint64_t len)
{
	uint64_t cs = s->align;
	uint64_t pos = 0;
	int ret = 0;

	if (s->p->dst_backing)
		ret = read_dst_backing(s, bbuf, target_of(s, off), len);
	while (pos < len && ret == 0) {
		uint64_t n = MIN(cs, len - pos);

		if (s->p->dst_backing && !memcmp(buf + pos, bbuf + pos, (size_t)n))
			; /* same as the backing: stays unallocated */
		else if (buffer_is_zero(buf + pos, (size_t)n))
			ret = write_zero_range(s, off + pos, n);
		else
			ret = image_write_compressed(s->p->dst, buf + pos, target_of(s, off + pos),
						     (size_t)n);
		pos += n;
	}
	return ret;
}

/* Read [off, off+len) of the sources and write it, zero runs detected. */
static int copy_through_memory(struct copy_state *s, uint8_t *buf, uint64_t off, uint64_t len)
{
	int ret = read_sources(s, buf, off, len);

	if (ret < 0)
		return ret;
	if (s->p->stats)
		s->p->stats->bytes_read += len;
	return write_sparse(s, buf, off, len);
}

/* The source layer holding off (concatenated space) and the offset in it. */
static struct image *source_at(struct copy_state *s, uint64_t off, uint64_t *soff)
{
	int i = 0;

	while (i + 1 < s->p->nb_src && off >= s->base[i + 1])
		i++;
	*soff = off - s->base[i];
	return s->p->src[i];
}

/* One run of a data task by copy offloading where the source stores it raw;
 * *run is set to the bytes handled.  -ENOTSUP: not offloaded (nothing written). */
static int offload_run(struct copy_state *s, uint64_t off, uint64_t len, uint64_t *run)
{
	uint64_t soff;
	struct image *src = source_at(s, off, &soff);
	struct block_status bs;
	int ret;

	len = MIN(len, src->size - soff);
	ret = image_block_status_above(src, soff, len, &bs);
	if (ret < 0)
		return ret;
	*run = MIN(bs.length, len);
	if ((bs.flags & (BS_OFFSET_VALID | BS_DATA | BS_ZERO | BS_COMPRESSED)) !=
	    (BS_OFFSET_VALID | BS_DATA))
		return -ENOTSUP;
	for (int d = 0; d < bs.depth && src; d++)
		src = src->backing;
	if (!src)
		return -ENOTSUP;
	ret = image_write_from(s->p->dst, target_of(s, off), src->be, bs.host_offset,
			       (size_t)*run);
	if (ret == -ENOTSUP)
		s->offload_refused = true;   /* this target cannot: don't ask again */
	if (ret == 0 && s->p->stats) {
		s->p->stats->bytes_read += *run;
		s->p->stats->bytes_written += *run;
	}
	return ret;
}

/* A data task with copy offloading: run by run, offloaded where possible,
 * through memory elsewhere (zeros, compressed clusters, a refusing target). */
static int offload_task(struct copy_state *s, uint8_t *buf, const struct task *t)
{
	uint64_t off = t->off, end = t->off + t->len;

	while (off < end) {
		uint64_t run = end - off;
		int ret = -ENOTSUP;

		if (!s->offload_refused)
			ret = offload_run(s, off, end - off, &run);
		if (ret == -ENOTSUP)
			ret = copy_through_memory(s, buf, off, run);
		if (ret < 0)
			return ret;
		off += run;
	}
	return 0;
}

/* Hand a task's source bytes (NULL: zeros) to p->on_source, when there is one. */
static int hand_source(struct copy_state *s, const struct task *t, const uint8_t *buf)
{
	const struct copy_params *p = s->p;

	return p->on_source ? p->on_source(p->on_source_opaque, t->off, buf, t->len) : 0;
}

static int run_task(struct copy_state *s, uint8_t *buf, uint8_t *bbuf, const struct task *t)
{
	int ret;

	if (t->kind == TASK_ZERO) {
		ret = write_zero_range(s, t->off, t->len);
		return ret < 0 ? ret : hand_source(s, t, NULL);
	}
	if (t->known_zero) {
		memset(buf, 0, (size_t)t->len);
		ret = write_data(s, buf, target_of(s, t->off), t->len);
		return ret < 0 ? ret : hand_source(s, t, NULL);
	}
	if (s->p->ratelimit)
		ratelimit_wait(s->p->ratelimit, t->len);
	/* offloaded bytes never pass through memory: a digest of the source needs them */
	if (s->p->offload && !s->p->compress && !s->p->dst_backing && !s->p->on_source)
		return offload_task(s, buf, t);
	ret = read_sources(s, buf, t->off, t->len);
	if (ret < 0)
		return ret;
	if (s->p->stats)
		s->p->stats->bytes_read += t->len;
	ret = hand_source(s, t, buf);
	if (ret < 0)
		return ret;
	if (s->p->compress)
		return write_compressed_chunk(s, buf, bbuf, t->off, t->len);
	if (s->p->dst_backing)
		return write_vs_backing(s, buf, bbuf, t->off, t->len);
	return write_sparse(s, buf, t->off, t->len);
}

/* Everything below the lowest task still in hand (or below the dispatch point) is
 * written (lock held). */
static uint64_t done_below_locked(const struct copy_state *s)
{
	uint64_t done = s->pos;

	for (int i = 0; i < s->nb_slots; i++)
		done = MIN(done, s->inflight[i]);
	return done;
}

/* Flush and report a checkpoint when one is due; one worker at a time, the others
 * go on copying (only what was written before the flush began is claimed). */
static int maybe_checkpoint(struct copy_state *s, int slot)
{
	const struct copy_params *p = s->p;
	uint64_t every = p->checkpoint_bytes ? p->checkpoint_bytes : 1ULL << 30;
	double secs = p->checkpoint_secs > 0 ? p->checkpoint_secs : 30;
	uint64_t done;
	int ret;

	if (!p->checkpoint)
		return 0;
	pthread_mutex_lock(&s->lock);
	s->inflight[slot] = UINT64_MAX;
	done = done_below_locked(s);
	if (s->ckpt_running || done <= s->ckpt_done ||
	    (done - s->ckpt_done < every && monotonic_seconds() - s->ckpt_time < secs)) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	s->ckpt_running = true;
	pthread_mutex_unlock(&s->lock);
	ret = image_flush(p->dst);
	if (ret == 0)
		ret = p->checkpoint(p->checkpoint_opaque, done);
	pthread_mutex_lock(&s->lock);
	s->ckpt_running = false;
	s->ckpt_done = done;
	s->ckpt_time = monotonic_seconds();
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int take_slot(struct copy_state *s)
{
	int slot;

	pthread_mutex_lock(&s->lock);
	slot = s->nb_slots++;
	s->inflight[slot] = UINT64_MAX;
	pthread_mutex_unlock(&s->lock);
	return slot;
}

static void *copy_worker(void *opaque)
{
	struct copy_state *s = opaque;
	uint8_t *buf = backend_buf_alloc(COPY_BUF_SIZE);
	uint8_t *bbuf = s->p->dst_backing ? backend_buf_alloc(COPY_BUF_SIZE) : NULL;
	int slot = take_slot(s);
	struct task t;
	int ret;

	if (!buf || (s->p->dst_backing && !bbuf)) {
		free(buf);
		free(bbuf);
		record_error(s, err_set(-ENOMEM, NULL, "out of memory for copy buffers"));
		return NULL;
	}
	for (;;) {
		next_task(s, slot, &t);
		if (t.kind == TASK_NONE)
			break;
		ret = run_task(s, buf, bbuf, &t);
		if (ret == 0)
			progress_add(s->p->progress, t.len);
		if (ret == 0)
			ret = maybe_checkpoint(s, slot);
		if (ret < 0) {
			err_set_default(ret, s->p->dst->filename, "copy failed at offset %#llx",
					(unsigned long long)t.off);
			record_error(s, ret);
			break;
		}
	}
	free(buf);
	free(bbuf);
	return NULL;
}

/* The window [src_offset, *end) of the sources that is copied. */
static int copy_window(const struct copy_params *p, uint64_t *end)
{
	uint64_t whole = copy_total_size(p->src, p->nb_src);

	*end = whole;
	if (p->length && (!add_ok(p->src_offset, p->length, end) || *end > whole))
		return err_set(-EINVAL, NULL, "internal error: copy window past the sources");
	if (p->src_offset > *end)
		return err_set(-EINVAL, NULL, "internal error: copy window past the sources");
	if ((p->src_offset || p->length) && (p->start || p->checkpoint))
		return err_set(-EINVAL, NULL,
			       "internal error: a copy window cannot resume or checkpoint");
	return 0;
}

/* total: the number of bytes copied (the window's length). */
static int copy_check_params(const struct copy_params *p, uint64_t total)
{
	uint64_t end;

	if (!add_ok(p->dst_offset, total, &end) || end > p->dst->size)
		return err_set(-ENOSPC, p->dst->filename,
			       "target is smaller than the source (%llu < %llu bytes)",
			       (unsigned long long)p->dst->size, (unsigned long long)end);
	if (p->compress) {
		if (p->dst->cluster_size < 512 || !is_power_of_2(p->dst->cluster_size) ||
		    p->dst->cluster_size > COPY_BUF_SIZE)
			return err_set(-ENOTSUP, p->dst->filename,
				       "format '%s' does not support compression",
				       p->dst->ops->name);
		if ((p->dst_offset | p->src_offset) % p->dst->cluster_size)
			return err_set(-EINVAL, p->dst->filename,
				       "compressed copy must start on a cluster boundary");
	}
	if (p->above_depth > 0 && (p->nb_src != 1 || p->compress || p->dst_backing))
		return err_set(-EINVAL, NULL,
			       "internal error: above_depth needs one uncompressed source");
	if (p->on_source && (p->compress || p->dst->whole_clusters || p->above_depth > 0))
		return err_set(-EINVAL, NULL,
			       "internal error: this copy cannot hand its source bytes out");
	if (p->min_sparse > COPY_MAX_SPARSE)
		return err_set(-EINVAL, NULL, "sparse granularity too large");
	if ((p->start || p->checkpoint) &&
	    (p->compress || p->dst->whole_clusters || p->start % COPY_BUF_SIZE || p->start > total))
		return err_set(-EINVAL, p->dst->filename,
			       "internal error: this copy cannot start at 0x%llx or checkpoint",
			       (unsigned long long)p->start);
	return 0;
}

static void setup_geometry(struct copy_state *s)
{
	const struct copy_params *p = s->p;
	uint64_t cs = p->dst->cluster_size;

	if (p->compress) {
		s->align = cs;
		return;
	}
	if (p->dst->whole_clusters && is_power_of_2(cs) && cs <= COPY_BUF_SIZE) {
		s->align = cs;
		s->zero_gran = p->min_sparse ? cs : 0;
		return;
	}
	s->align = (cs > 4096 && is_power_of_2(cs) && cs <= COPY_BUF_SIZE) ? cs : 4096;
	/* Inside a cluster a skipped zero run saves nothing and costs a second write,
	 * so zero detection works on whole clusters for formats that have them. */
	s->zero_gran = p->min_sparse;
	if (s->zero_gran && cs > 1 && is_power_of_2(cs) && cs <= COPY_BUF_SIZE)
		s->zero_gran = MAX(s->zero_gran, cs);
	if (s->zero_gran > COPY_BUF_SIZE)
		s->zero_gran = COPY_BUF_SIZE;
}

int copy_run(const struct copy_params *p)
{
	struct copy_state s = { .p = p };
	int ret;

	if (p->nb_src < 1)
		return err_set(-EINVAL, NULL, "no source image");
	ret = copy_window(p, &s.total);
	if (ret == 0)
		ret = copy_check_params(p, s.total - p->src_offset);
	if (ret < 0)
		return ret;
	s.base = calloc((size_t)p->nb_src, sizeof(*s.base));
	if (!s.base)
		return err_set(-ENOMEM, NULL, "out of memory");
	for (int i = 1; i < p->nb_src; i++)
		s.base[i] = s.base[i - 1] + p->src[i - 1]->size;
	setup_geometry(&s);
	s.pos = s.ckpt_done = p->src_offset + p->start;
	s.ckpt_time = monotonic_seconds();
	while (s.cur + 1 < p->nb_src && s.pos >= s.base[s.cur + 1])
		s.cur++;
	pthread_mutex_init(&s.lock, NULL);

	copy_run_workers(p->workers, s.total - s.pos, copy_worker, &s);

	ret = s.error;
	if (ret < 0)
		err_copy(s.errmsg);
	else
		ret = image_flush(p->dst);
	if (ret == 0 && p->checkpoint && s.total > s.ckpt_done)
		ret = p->checkpoint(p->checkpoint_opaque, s.total);

	pthread_mutex_destroy(&s.lock);
	free(s.base);
	return ret;
}
