/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * disk_job.c - one source disk: copy it to its output, then prove the copy.
 *
 * The disk's record in the state moves pending -> copying -> copied -> verified.
 * While copying, the copy engine reports checkpoints (an offset below which the
 * output holds the source's bytes, flushed); a run that finds "copying" opens
 * the output again and continues from the last checkpoint, so the bytes before
 * it are neither read nor written again.  "copied" goes straight to the
 * verification: the digest of the source and of the output (convert/checksum.h)
 * must be equal.  A copy that ran from offset 0 digests the source as it reads
 * it (convert/checksum_feed.h) and records that digest with "copied", so the
 * verification only reads the output back; a copy resumed from a checkpoint did
 * not see the bytes below it, so its verification digests both sides afresh.
 *
 * An output that exists without a record in the state is not ours: it is never
 * overwritten.  A network error is retried (--retry N, with a growing pause),
 * resuming from the checkpoint.
 */
#include "migrate/migrate.h"
#include "common/err.h"
#include "common/opts.h"
#include "convert/checksum.h"
#include "convert/checksum_feed.h"
#include "convert/copy.h"
#include "convert/progress.h"
#include "formats/format.h"
#include "v2v/input/input.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

struct disk_ctx {
	struct mig_run *r;
	struct mig_job *j;
	const struct mig_vm *vm;
	const struct mig_disk *d;
	int disk;                 /* the VM's disk index (sda = 0) */
	struct mig_disk_state ds;
	struct copy_stats stats;  /* of the copy running now */
	uint64_t base_read, base_written; /* what earlier runs read and wrote */
	char step[32];
};

static double now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static bool is_url(const char *s)
{
	return strstr(s, "://") || !strncmp(s, "rbd:", 4);
}

static int put(struct disk_ctx *c)
{
	return mig_state_disk_put(c->r->state, c->d->source, c->vm->name, c->d->output, &c->ds);
}

static void set_step(struct disk_ctx *c, const char *what, struct progress *p, uint64_t total)
{
	pthread_mutex_lock(&c->r->lock);
	snprintf(c->j->step, sizeof(c->j->step), "%s sd%c", what, 'a' + c->disk);
	c->j->progress = p;
	c->j->total = total;
	pthread_mutex_unlock(&c->r->lock);
}

/* Does the output exist?  A local path by stat; a URL by opening it. */
static bool output_exists(const char *path)
{
	struct image *img;
	struct stat st;

	if (!is_url(path))
		return stat(path, &st) == 0;
	if (image_open(path, NULL, 0, &img) < 0) {
		err_clear();
		return false;
	}
	image_close(img);
	return true;
}

int mig_disk_open(const struct mig_disk *d, struct image **out)
{
	struct v2v_disk vd = { .path = d->source, .format = d->format };
	char *at;
	int ret;

	if (!d->length)
		return image_open(d->source, d->format, 0, out);
	/* ARCHIVE@OFFSET: the archive is the name without its last '@' */
	at = strrchr(d->source, '@');
	vd.path = at ? strndup(d->source, (size_t)(at - d->source)) : NULL;
	if (!vd.path)
		return err_set(-ENOMEM, d->source, "out of memory");
	vd.offset = d->offset;
	vd.length = d->length;
	ret = v2v_disk_open(&vd, out);
	free(vd.path);
	return ret;
}

static int checkpoint_cb(void *opaque, uint64_t done)
{
	struct disk_ctx *c = opaque;

	c->ds.checkpoint = done;
	return mig_state_checkpoint(c->r->state, c->d->source, done,
				    c->base_read + c->stats.bytes_read,
				    c->base_written + c->stats.bytes_written);
}

static int feed_source(void *opaque, uint64_t off, const uint8_t *buf, uint64_t len)
{
	return checksum_feed_add(opaque, off, buf, len);
}

/* Open the output to continue at the checkpoint, or create it anew; *start is
 * where the copy begins. */
static int prepare_output(struct disk_ctx *c, struct image *src, struct image **dst,
			  uint64_t *start)
{
	const char *out = c->d->output, *fmt = c->vm->output_format;
	struct opts o = { 0 };
	int ret;

	*start = 0;
	if (!strcmp(c->ds.status, "copying") && c->ds.checkpoint >= COPY_BUF_SIZE &&
	    image_open(out, fmt, IMG_RDWR, dst) == 0) {
		if ((*dst)->size >= src->size && !(*dst)->whole_clusters) {
			*start = c->ds.checkpoint / COPY_BUF_SIZE * COPY_BUF_SIZE;
			return 0;
		}
		image_close(*dst);
	}
	err_clear();
	if (output_exists(out)) {
		if (!strcmp(c->ds.status, "pending"))
			return err_set(-EEXIST, out, "already exists and this plan's state did not "
				       "write it: remove it or change output_dir");
		if (!is_url(out) && unlink(out) < 0)
			return err_set(-errno, out, "cannot remove the unfinished copy: %s",
				       strerror(errno));
	}
	/* recorded before the file exists: a kill right after its creation leaves
	 * "copying" at checkpoint 0, and the next run removes it and starts again
	 * instead of taking it for a file this plan did not write */
	snprintf(c->ds.status, sizeof(c->ds.status), "copying");
	c->ds.checkpoint = 0;
	ret = put(c);
	if (ret)
		return ret;
	/* a VHD keeps the source's exact size (not rounded to a CHS geometry, as
	 * qemu-img does by default): the copy must read back as the source */
	if (!strcmp(fmt, "vpc"))
		opts_set(&o, "force_size", "on");
	ret = image_create(out, fmt, src->size, &o);
	opts_free(&o);
	if (ret == 0)
		ret = image_open(out, fmt, IMG_RDWR, dst);
	return ret;
}

static int copy_disk(struct disk_ctx *c, struct image *src)
{
	struct image *dst = NULL;
	struct copy_params cp = { 0 };
	struct checksum_feed *feed = NULL;
	struct progress *p;
	uint64_t start;
	int ret;

	ret = prepare_output(c, src, &dst, &start);
	if (ret)
		return ret;
	if (!start) {
		feed = checksum_feed_new(src->size, c->d->source);
		if (!feed) {
			image_close(dst);
			return -ENOMEM;
		}
	}
	c->ds.source_sum[0] = c->ds.output_sum[0] = '\0';
	c->ds.size = src->size;
	c->ds.resumed_from = start;
	c->ds.checkpoint = start;
	if (!start)
		c->ds.started = now();
	snprintf(c->ds.status, sizeof(c->ds.status), "copying");
	ret = put(c);
	p = progress_new(PROGRESS_NONE, src->size);
	progress_add(p, start);
	set_step(c, "copy", p, src->size);
	if (start)
		mig_view_event(c->r, c->vm->name, "copy sd%c resumes at %.1f%%", 'a' + c->disk,
			       100.0 * (double)start / (double)src->size);
	cp.src = &src;
	cp.nb_src = 1;
	cp.dst = dst;
	cp.min_sparse = COPY_DEFAULT_SPARSE;
	cp.target_zeroed = dst->zero_init;
	cp.progress = p;
	cp.start = start;
	cp.checkpoint = checkpoint_cb;
	cp.checkpoint_opaque = c;
	cp.checkpoint_bytes = c->r->opts->checkpoint_bytes;
	cp.on_source = feed ? feed_source : NULL;
	cp.on_source_opaque = feed;
	cp.ratelimit = c->r->ratelimit;
	atomic_store(&c->stats.bytes_read, 0);
	atomic_store(&c->stats.bytes_written, 0);
	cp.stats = &c->stats;
	c->base_read = c->ds.bytes_read;
	c->base_written = c->ds.bytes_written;
	pthread_mutex_lock(&c->r->lock);
	c->j->stats = &c->stats;
	pthread_mutex_unlock(&c->r->lock);
	if (!ret)
		ret = copy_run(&cp);
	c->ds.bytes_read = c->base_read + c->stats.bytes_read;
	c->ds.bytes_written = c->base_written + c->stats.bytes_written;
	pthread_mutex_lock(&c->r->lock);
	c->j->stats = NULL;
	c->r->bytes_read += c->stats.bytes_read;
	c->r->bytes_written += c->stats.bytes_written;
	pthread_mutex_unlock(&c->r->lock);
	set_step(c, "copy", NULL, 0);
	progress_free(p);
	image_close(dst);
	if (!ret && feed)
		ret = checksum_feed_finish(feed, c->ds.source_sum);
	checksum_feed_free(feed);
	if (!ret) {
		snprintf(c->ds.status, sizeof(c->ds.status), "copied");
		c->ds.ended = now();
		ret = put(c);
	}
	return ret;
}

/* ---- verification ---- */

struct sum_arg {
	struct image *img;
	struct progress *p;
	char hex[CHECKSUM_HEX_LEN + 1];
	int ret;
	char err[ERR_MSG_MAX];
};

static void *sum_thread(void *opaque)
{
	struct sum_arg *a = opaque;
	struct checksum_params cp = { .img = a->img, .progress = a->p, .workers = 2 };

	a->ret = checksum_run(&cp, a->hex);
	if (a->ret)
		snprintf(a->err, sizeof(a->err), "%s", err_get());
	return NULL;
}

/* The output as storage holds it: past the page cache (O_DIRECT), which also
 * spares the CPU a copy of every byte, where the filesystem allows it. */
static int open_read_back(struct disk_ctx *c, struct image **img)
{
	const char *out = c->d->output, *fmt = c->vm->output_format;

	if (!is_url(out) && image_open(out, fmt, IMG_BE_FLAGS(BE_NOCACHE), img) == 0)
		return 0;
	err_clear();
	return image_open(out, fmt, 0, img);
}

/* The output is opened afresh, as a reader would find it, and read back.  The
 * source's digest is the copy's (source_sum already set) or, after a resumed
 * copy, computed here side by side on the source's own connection. */
static int verify_disk(struct disk_ctx *c)
{
	struct sum_arg s = { 0 }, o = { 0 };
	bool both = !c->ds.source_sum[0], threaded = false;
	uint64_t total;
	pthread_t t;
	int ret;

	ret = both ? mig_disk_open(c->d, &s.img) : 0;
	if (ret)
		return ret;
	ret = open_read_back(c, &o.img);
	if (ret) {
		image_close(s.img);
		return ret;
	}
	total = o.img->size + (both ? s.img->size : 0);
	o.p = progress_new(PROGRESS_NONE, total);
	s.p = o.p;
	set_step(c, "verify", o.p, total);
	if (both)
		threaded = pthread_create(&t, NULL, sum_thread, &s) == 0;
	if (both && !threaded)
		sum_thread(&s);
	sum_thread(&o);
	if (threaded)
		pthread_join(t, NULL);
	set_step(c, "verify", NULL, 0);
	progress_free(o.p);
	image_close(o.img);
	image_close(s.img);
	if (s.ret || o.ret) {
		err_copy(s.ret ? s.err : o.err);
		return s.ret ? s.ret : o.ret;
	}
	if (both)
		snprintf(c->ds.source_sum, sizeof(c->ds.source_sum), "%s", s.hex);
	snprintf(c->ds.output_sum, sizeof(c->ds.output_sum), "%s", o.hex);
	if (strcmp(c->ds.source_sum, o.hex)) {
		snprintf(c->ds.status, sizeof(c->ds.status), "failed");
		put(c);
		return err_set(-EIO, c->d->output, "the copy's content differs from %s "
			       "(digest %.16s... against %.16s...)", c->d->source, o.hex,
			       c->ds.source_sum);
	}
	snprintf(c->ds.status, sizeof(c->ds.status), "verified");
	c->ds.ended = now();
	return put(c);
}

/* The verification as a step of its own (the report's timeline shows it). */
static int verify_step(struct disk_ctx *c)
{
	char step[32];
	int ret;

	snprintf(step, sizeof(step), "verify sd%c", 'a' + c->disk);
	mig_state_step(c->r->state, c->vm->name, step, "running", c->d->output, 0, 0);
	ret = verify_disk(c);
	mig_state_step(c->r->state, c->vm->name, step, ret ? "failed" : "done",
		       ret ? err_get() : c->ds.source_sum, 0, 0);
	return ret;
}

/* ---- the job ---- */

static bool transient(int ret, const char *source)
{
	switch (-ret) {
	case ECONNRESET: case ECONNREFUSED: case ECONNABORTED: case ETIMEDOUT:
	case EHOSTUNREACH: case ENETUNREACH: case ENETDOWN: case EPIPE: case ENOTCONN:
	case EAGAIN:
		return true;
	case EIO:
		return is_url(source);
	default:
		return false;
	}
}

static int attempt(struct disk_ctx *c)
{
	struct image *src = NULL;
	int ret;

	ret = mig_state_disk_get(c->r->state, c->d->source, &c->ds);
	if (ret || !strcmp(c->ds.status, "verified"))
		return ret;
	if (strcmp(c->ds.status, "copied")) {
		ret = mig_disk_open(c->d, &src);
		if (!ret)
			ret = copy_disk(c, src);
		image_close(src);
	}
	/* a warm VM's source still runs: its copy is verified after the final sync
	 * (warm.c), when source and copy must be equal */
	if (ret || c->vm->warm)
		return ret;
	return verify_step(c);
}

int mig_disk_verify(struct mig_run *r, struct mig_job *j, int disk)
{
	struct disk_ctx c = { .r = r, .j = j, .vm = &r->plan->vms[j->vm],
			      .d = &r->plan->vms[j->vm].disks[disk], .disk = disk };
	int ret = mig_state_disk_get(r->state, c.d->source, &c.ds);

	if (ret)
		return ret;
	/* the digest taken during the first copy is of a source that ran on since:
	 * the stopped source is digested again beside the output */
	c.ds.source_sum[0] = '\0';
	return verify_step(&c);
}

int mig_disk_job(struct mig_run *r, struct mig_job *j)
{
	struct disk_ctx c = { .r = r, .j = j, .vm = &r->plan->vms[j->vm],
			      .d = &r->plan->vms[j->vm].disks[j->disk], .disk = j->disk };
	char detail[256];
	int ret;

	/* verified in an earlier run (a VM whose conversion is resumed): its steps
	 * stand as they were recorded */
	ret = mig_state_disk_get(r->state, c.d->source, &c.ds);
	if (ret || !strcmp(c.ds.status, "verified"))
		return ret;
	snprintf(c.step, sizeof(c.step), "copy sd%c", 'a' + j->disk);
	mig_state_step(r->state, c.vm->name, c.step, "running", c.d->source, 0, 0);
	for (int n = 0;; n++) {
		ret = attempt(&c);
		if (!ret || !transient(ret, c.d->source) || n >= r->opts->retry)
			break;
		mig_view_event(r, c.vm->name, "copy sd%c: %s; retry %d of %d in %d s",
			       'a' + c.disk, err_get(), n + 1, r->opts->retry, 1 << n);
		err_clear();
		sleep(1u << (n < 5 ? n : 5));
	}
	if (ret) {
		/* the status stays where the copy stood (copying: resume from the
		 * checkpoint; failed: a verification mismatch, copy again) */
		snprintf(c.ds.error, sizeof(c.ds.error), "%s", err_get());
		c.ds.ended = now();
		put(&c);
	}
	snprintf(detail, sizeof(detail), "%s -> %s", c.d->source, c.d->output);
	mig_state_step(r->state, c.vm->name, c.step, ret ? "failed" : "done",
		       ret ? err_get() : detail, c.ds.bytes_read, c.ds.bytes_written);
	return ret;
}
