/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmdk_stream.c - compressed grains and streamOptimized images.
 *
 * Reading: a compressed grain is zlib-wrapped deflate, preceded by a 12-byte grain
 * marker (LBA, size) when the markers flag is set.  A header whose gdOffset is
 * GD_AT_END defers to the footer found 1536 bytes before the end of the file.
 *
 * Writing follows VMware's own layout: header (gdOffset = GD_AT_END, version 3,
 * flags NL|COMPRESSED|MARKERS), descriptor, grains in ascending LBA order, a GT
 * marker + GT for every grain table in use, GD marker + GD, footer marker + footer
 * (the header with the real gdOffset), end-of-stream marker.  Grains are compressed
 * in the calling threads (so the copy engine compresses in parallel) and kept in a
 * small reorder heap keyed by grain number; they go to the file in ascending order
 * when the heap exceeds its budget and at flush.  Grains written only in part are
 * assembled in memory first; all-zero grains are not stored.  The tables, GD,
 * footer and EOS are written at flush (and again if more data follows).
 */
#include "vmdk.h"
#include "../decompress.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#ifdef HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

/* Grains go to the file in ascending order: grain g is written once every grain
 * below it is accounted for - written, or declared zero by a write_zeroes (the
 * copy engine declares the zero ranges of a whole-cluster target instead of
 * skipping them).  This budget is only the safety valve for a writer that
 * stalls or leaves gaps: past it the lowest queued grains are written anyway
 * (still a valid file, just not in order). */
#define PENDING_MAX_GRAINS 1024
#define PENDING_MAX_BYTES  (32ULL << 20)
#define PARTIAL_MAX        256
#define COMPRESS_LEVEL     5    /* libdeflate 5 compresses about as well as zlib 6 */
#define MARKER_BYTES       12

struct pgrain {
	uint64_t gi;
	uint8_t *data;        /* marker + compressed bytes, padded to a sector */
	size_t bytes;
};

struct partial {
	uint64_t gi;
	uint8_t *buf;         /* one grain */
	uint64_t covered;
	struct partial *next;
};

struct vmdk_stream_writer {
	struct pgrain *heap;
	size_t n, cap;
	uint64_t bytes;
	struct partial *partials;
	int n_partials;
	uint64_t data_start;  /* first grain */
	uint64_t data_end;    /* next grain goes here */
	bool dirty;           /* tables/footer need writing */
	uint64_t next_gi;     /* lowest grain not yet written or declared zero */
	struct zrange { uint64_t start, end; } *zeros; /* declared zero, above next_gi */
	int n_zeros, cap_zeros;
};

/* ---- compression ---- */

#ifdef HAVE_LIBDEFLATE
static pthread_key_t codec_key;
static pthread_once_t codec_once = PTHREAD_ONCE_INIT;

struct codec {
	struct libdeflate_compressor *c;
	struct libdeflate_compressor *c0;     /* level 0: stored blocks */
	struct libdeflate_decompressor *d;
};

static void codec_free(void *p)
{
	struct codec *c = p;

	if (c->c)
		libdeflate_free_compressor(c->c);
	if (c->c0)
		libdeflate_free_compressor(c->c0);
	if (c->d)
		libdeflate_free_decompressor(c->d);
	free(c);
}

static void codec_key_init(void)
{
	pthread_key_create(&codec_key, codec_free);
}

static struct codec *codec_get(void)
{
	struct codec *c;

	pthread_once(&codec_once, codec_key_init);
	c = pthread_getspecific(codec_key);
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (c)
			pthread_setspecific(codec_key, c);
	}
	return c;
}
#endif

static size_t deflate_bound(size_t len)
{
	return compressBound((uLong)len) + 64;
}

/* Bits of entropy per byte of the byte histogram: data near 8 (already compressed
 * or encrypted) is stored in deflate's uncompressed blocks instead of wasting most
 * of the CPU time on a search that cannot win. */
static bool looks_incompressible(const uint8_t *in, size_t len)
{
	uint32_t hist[4][256] = { { 0 } };
	size_t n = 0;
	double h = 0;

	if (len < 16384)
		return false;
	/* a quarter of the bytes (64 of every 256) is plenty for the estimate */
	for (size_t b = 0; b + 256 <= len; b += 256) {
		for (size_t i = 0; i < 64; i += 4) {
			hist[0][in[b + i]]++;
			hist[1][in[b + i + 1]]++;
			hist[2][in[b + i + 2]]++;
			hist[3][in[b + i + 3]]++;
		}
		n += 64;
	}
	for (int i = 0; i < 256; i++) {
		uint32_t c = hist[0][i] + hist[1][i] + hist[2][i] + hist[3][i];

		if (c) {
			double p = (double)c / (double)n;

			h -= p * log2(p);
		}
	}
	return h > 7.95;
}

static int deflate_grain(const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *olen)
{
#ifdef HAVE_LIBDEFLATE
	struct codec *c = codec_get();
	bool store = looks_incompressible(in, len);

	if (c && !c->c)
		c->c = libdeflate_alloc_compressor(COMPRESS_LEVEL);
	if (c && store && !c->c0)
		c->c0 = libdeflate_alloc_compressor(0);
	if (c && c->c && (!store || c->c0)) {
		size_t n = libdeflate_zlib_compress(store ? c->c0 : c->c, in, len, out, cap);

		if (n) {
			*olen = n;
			return 0;
		}
	}
#endif
	uLongf n = (uLongf)cap;

	if (compress2(out, &n, in, (uLong)len, COMPRESS_LEVEL) != Z_OK)
		return -EIO;
	*olen = n;
	return 0;
}

int vmdk_inflate(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
		 size_t *out_len)
{
#ifdef HAVE_LIBDEFLATE
	struct codec *c = codec_get();

	if (c && !c->d)
		c->d = libdeflate_alloc_decompressor();
	if (c && c->d) {
		size_t got_in, got_out;

		if (libdeflate_zlib_decompress_ex(c->d, in, in_len, out, out_cap, &got_in,
						  &got_out) == LIBDEFLATE_SUCCESS) {
			*out_len = got_out;
			return 0;
		}
	}
#endif
	return zlib_inflate(in, in_len, out, out_cap, out_len);
}

int vmdk_read_compressed_grain(struct vmdk_extent *e, uint64_t host, uint64_t gi,
			       uint8_t *out)
{
	uint64_t avail = e->file_size > host ? e->file_size - host : 0;
	uint64_t want, data_off = host;
	uint8_t *cbuf;
	size_t olen;
	int ret;

	if (e->markers) {
		uint8_t m[MARKER_BYTES];
		uint32_t size;

		if (avail < MARKER_BYTES)
			return err_set(-EIO, e->path, "grain marker at %#" PRIx64 " past the end of the file",
				       host);
		ret = backend_pread(e->be, m, sizeof(m), host);
		if (ret < 0)
			return ret;
		size = load_le32(m + 8);
		if (size == 0 || size > 2 * e->grain + 4096 || size > avail - MARKER_BYTES)
			return err_set(-EIO, e->path,
				       "grain %" PRIu64 ": bad compressed size %" PRIu32 " at offset %#" PRIx64,
				       gi, size, host);
		want = size;
		data_off = host + MARKER_BYTES;
	} else {
		want = MIN(avail, 2 * e->grain + 4096);
	}
	cbuf = malloc((size_t)want);
	if (!cbuf)
		return err_set(-ENOMEM, e->path, "out of memory");
	ret = backend_pread(e->be, cbuf, (size_t)want, data_off);
	if (ret == 0 && vmdk_inflate(cbuf, (size_t)want, out, (size_t)e->grain, &olen) < 0)
		ret = err_set(-EIO, e->path, "grain %" PRIu64 " at offset %#" PRIx64
			      ": compressed data is corrupt", gi, host);
	free(cbuf);
	if (ret == 0 && olen < e->grain)
		memset(out + olen, 0, (size_t)(e->grain - olen));
	return ret;
}

int vmdk_stream_read_footer(struct vmdk_extent *e, const char *filename, struct vmdk_header *h)
{
	uint8_t b[1536];
	struct vmdk_header f;
	int ret;

	if (e->file_size < 512 + sizeof(b))
		return err_set(-EINVAL, filename,
			       "grain directory at end of stream, but the file is too short for a footer");
	ret = backend_pread(e->be, b, sizeof(b), align_down(e->file_size, 512) - sizeof(b));
	if (ret < 0)
		return ret;
	if (load_le32(b + 12) != VMDK_MARKER_FOOTER || load_le32(b + 8) != 0 ||
	    load_le32(b + 512) != VMDK4_MAGIC)
		return err_set(-EINVAL, filename,
			       "streamOptimized footer not found at the end of the file (truncated or unfinished stream?)");
	if (load_le64(b + 1024) != 0 || load_le32(b + 1024 + 8) != 0 ||
	    load_le32(b + 1024 + 12) != VMDK_MARKER_EOS)
		return err_set(-EINVAL, filename, "end-of-stream marker missing after the footer");
	vmdk_header_decode(b + 512, &f);
	ret = vmdk_header_validate(&f, filename, e->file_size);
	if (ret < 0)
		return ret;
	if (f.gd_offset == VMDK_GD_AT_END)
		return err_set(-EINVAL, filename, "footer has no grain directory offset");
	if (f.capacity != h->capacity || f.grain_size != h->grain_size)
		return err_set(-EINVAL, filename, "footer does not match the header");
	*h = f;
	return 0;
}

/* ---- writer ---- */

static void heap_swap(struct pgrain *a, struct pgrain *b)
{
	struct pgrain t = *a;

	*a = *b;
	*b = t;
}

static int heap_push(struct vmdk_stream_writer *w, struct pgrain g)
{
	size_t i;

	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 256;
		void *n = realloc(w->heap, cap * sizeof(*w->heap));

		if (!n)
			return -ENOMEM;
		w->heap = n;
		w->cap = cap;
	}
	i = w->n++;
	w->heap[i] = g;
	while (i && w->heap[(i - 1) / 2].gi > w->heap[i].gi) {
		heap_swap(&w->heap[(i - 1) / 2], &w->heap[i]);
		i = (i - 1) / 2;
	}
	w->bytes += g.bytes;
	return 0;
}

static struct pgrain heap_pop(struct vmdk_stream_writer *w)
{
	struct pgrain top = w->heap[0];
	size_t i = 0;

	w->heap[0] = w->heap[--w->n];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < w->n && w->heap[l].gi < w->heap[m].gi)
			m = l;
		if (r < w->n && w->heap[r].gi < w->heap[m].gi)
			m = r;
		if (m == i)
			break;
		heap_swap(&w->heap[m], &w->heap[i]);
		i = m;
	}
	w->bytes -= top.bytes;
	return top;
}

/* Append one compressed grain to the file and point its GT entry at it (lock held). */
static int emit(struct vmdk_extent *e, struct pgrain *g)
{
	struct vmdk_stream_writer *w = e->sw;
	uint32_t j = (uint32_t)(g->gi / VMDK_GTES);
	uint64_t host = w->data_end;
	int ret;

	if ((host + g->bytes) / 512 > UINT32_MAX)
		return err_set(-EFBIG, e->path, "stream too large (grain offsets exceed 32 bits)");
	if (!e->gt[j]) {
		uint32_t *t = calloc(1, VMDK_GT_BYTES);

		if (!t)
			return err_set(-ENOMEM, e->path, "out of memory");
		__atomic_store_n(&e->gt[j], t, __ATOMIC_RELEASE);
	}
	ret = backend_pwrite(e->be, g->data, g->bytes, host);
	if (ret < 0)
		return ret;
	w->data_end += g->bytes;
	e->file_size = MAX(e->file_size, w->data_end);
	__atomic_store_n(&e->gt[j][g->gi % VMDK_GTES], (uint32_t)(host / 512), __ATOMIC_RELAXED);
	w->dirty = true;
	return 0;
}

/* Move next_gi past the zero ranges that now touch it. */
static void skip_declared_zeros(struct vmdk_stream_writer *w)
{
	bool moved = true;

	while (moved) {
		moved = false;
		for (int i = 0; i < w->n_zeros; i++) {
			if (w->zeros[i].start > w->next_gi)
				continue;
			w->next_gi = MAX(w->next_gi, w->zeros[i].end);
			w->zeros[i] = w->zeros[--w->n_zeros];
			moved = true;
			break;
		}
	}
}

/* Grains [start, end) read as zeros and will not be written (lock held). */
static int declare_zeros(struct vmdk_extent *e, uint64_t start, uint64_t end)
{
	struct vmdk_stream_writer *w = e->sw;

	if (end <= w->next_gi)
		return 0;
	if (w->n_zeros == w->cap_zeros) {
		int cap = w->cap_zeros ? w->cap_zeros * 2 : 16;
		struct zrange *z = realloc(w->zeros, sizeof(*z) * (size_t)cap);

		if (!z)
			return err_set(-ENOMEM, e->path, "out of memory");
		w->zeros = z;
		w->cap_zeros = cap;
	}
	w->zeros[w->n_zeros].start = start;
	w->zeros[w->n_zeros].end = end;
	w->n_zeros++;
	return 0;
}

static int drain(struct vmdk_extent *e, bool all)
{
	struct vmdk_stream_writer *w = e->sw;
	int ret = 0;

	while (w->n && ret == 0) {
		skip_declared_zeros(w);
		if (!all && w->heap[0].gi > w->next_gi &&
		    w->n <= PENDING_MAX_GRAINS && w->bytes <= PENDING_MAX_BYTES)
			break;
		struct pgrain g = heap_pop(w);

		ret = emit(e, &g);
		w->next_gi = MAX(w->next_gi, g.gi + 1);
		free(g.data);
	}
	return ret;
}

/* Grain length inside the extent (the last one may be short). */
static uint64_t grain_len(struct vmdk_extent *e, uint64_t gi)
{
	return MIN(e->grain, e->length - gi * e->grain);
}

/* Compress a grain (src holds grain_len bytes) into a marker + data block. */
static int pack_grain(struct vmdk_extent *e, uint64_t gi, const uint8_t *src, struct pgrain *g)
{
	uint64_t glen = grain_len(e, gi);
	uint8_t *tmp = NULL;
	size_t cap = deflate_bound((size_t)e->grain), clen;
	int ret;

	if (glen < e->grain) {
		/* readers expect whole grains: pad the last one with zeros */
		tmp = calloc(1, (size_t)e->grain);
		if (!tmp)
			return err_set(-ENOMEM, e->path, "out of memory");
		memcpy(tmp, src, (size_t)glen);
		src = tmp;
	}
	g->data = malloc(align_up(MARKER_BYTES + cap, 512));
	if (!g->data) {
		free(tmp);
		return err_set(-ENOMEM, e->path, "out of memory");
	}
	ret = deflate_grain(src, (size_t)e->grain, g->data + MARKER_BYTES, cap, &clen);
	free(tmp);
	if (ret < 0) {
		free(g->data);
		return err_set(-EIO, e->path, "compression failed");
	}
	store_le64(g->data, gi * e->h.grain_size);
	store_le32(g->data + 8, (uint32_t)clen);
	g->bytes = align_up(MARKER_BYTES + clen, 512);
	memset(g->data + MARKER_BYTES + clen, 0, g->bytes - MARKER_BYTES - clen);
	g->gi = gi;
	/* keep only what the grain needs while it waits in the reorder heap */
	uint8_t *shrunk = realloc(g->data, g->bytes);
	if (shrunk)
		g->data = shrunk;
	return 0;
}

/* Queue a compressed grain (lock held). */
static int queue_grain(struct vmdk_extent *e, struct pgrain *g)
{
	if (heap_push(e->sw, *g) < 0) {
		free(g->data);
		return err_set(-ENOMEM, e->path, "out of memory");
	}
	return drain(e, false);
}

static int submit(struct vmdk_extent *e, uint64_t gi, const uint8_t *src)
{
	struct pgrain g;
	int ret;

	if (buffer_is_zero(src, (size_t)grain_len(e, gi)))
		return 0;
	ret = pack_grain(e, gi, src, &g);      /* outside the lock: parallel */
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&e->lock);
	ret = queue_grain(e, &g);
	pthread_mutex_unlock(&e->lock);
	return ret;
}

/* Fill buf with what grain gi holds so far (emitted or queued), else zeros (lock held). */
static int existing_grain(struct vmdk_extent *e, uint64_t gi, uint8_t *buf)
{
	struct vmdk_stream_writer *w = e->sw;
	uint32_t *t = e->gt[gi / VMDK_GTES];
	size_t olen;

	for (size_t i = 0; i < w->n; i++) {
		if (w->heap[i].gi != gi)
			continue;
		if (vmdk_inflate(w->heap[i].data + MARKER_BYTES, load_le32(w->heap[i].data + 8),
				 buf, (size_t)e->grain, &olen) < 0)
			return err_set(-EIO, e->path, "internal error: cannot reread a queued grain");
		return 0;
	}
	if (t && t[gi % VMDK_GTES] > 1)
		return vmdk_read_compressed_grain(e, (uint64_t)t[gi % VMDK_GTES] * 512, gi, buf);
	memset(buf, 0, (size_t)e->grain);
	return 0;
}

static int flush_partial(struct vmdk_extent *e, struct partial *p)
{
	struct pgrain g;
	int ret = 0;

	if (!buffer_is_zero(p->buf, (size_t)grain_len(e, p->gi))) {
		ret = pack_grain(e, p->gi, p->buf, &g);
		if (ret == 0)
			ret = queue_grain(e, &g);
	}
	free(p->buf);
	free(p);
	e->sw->n_partials--;
	return ret;
}

/* Merge [in, in+n) of grain gi; src NULL means zeros. */
static int write_partial(struct vmdk_extent *e, uint64_t gi, const uint8_t *src, uint64_t in,
			 uint64_t n)
{
	struct vmdk_stream_writer *w = e->sw;
	struct partial **pp, *p = NULL;
	int ret = 0;

	pthread_mutex_lock(&e->lock);
	for (pp = &w->partials; *pp; pp = &(*pp)->next) {
		if ((*pp)->gi == gi) {
			p = *pp;
			break;
		}
	}
	if (!p) {
		if (w->n_partials >= PARTIAL_MAX) {
			/* too many open grains: store the oldest as it is */
			struct partial **last = &w->partials;

			while ((*last)->next)
				last = &(*last)->next;
			struct partial *old = *last;
			*last = NULL;
			ret = flush_partial(e, old);
			if (ret < 0)
				goto out;
		}
		p = calloc(1, sizeof(*p));
		if (p)
			p->buf = malloc((size_t)e->grain);
		if (!p || !p->buf) {
			if (p)
				free(p);
			ret = err_set(-ENOMEM, e->path, "out of memory");
			goto out;
		}
		p->gi = gi;
		ret = existing_grain(e, gi, p->buf);
		if (ret < 0) {
			free(p->buf);
			free(p);
			goto out;
		}
		p->next = w->partials;
		w->partials = p;
		w->n_partials++;
		pp = &w->partials;
	}
	if (src)
		memcpy(p->buf + in, src, (size_t)n);
	else
		memset(p->buf + in, 0, (size_t)n);
	p->covered += n;
	if (p->covered >= grain_len(e, gi)) {
		*pp = p->next;
		ret = flush_partial(e, p);
	}
out:
	pthread_mutex_unlock(&e->lock);
	return ret;
}

int vmdk_stream_write(struct image *img, struct vmdk_extent *e, const uint8_t *buf,
		      uint64_t off, uint64_t len)
{
	int ret = 0;

	while (len && ret == 0) {
		uint64_t gi = off / e->grain, in = off % e->grain;
		uint64_t n = MIN(len, e->grain - in);

		if (in == 0 && n == grain_len(e, gi))
			ret = submit(e, gi, buf);
		else
			ret = write_partial(e, gi, buf, in, n);
		buf += n;
		off += n;
		len -= n;
	}
	return ret;
}

int vmdk_stream_zero(struct image *img, struct vmdk_extent *e, uint64_t off, uint64_t len)
{
	int ret = 0;

	while (len && ret == 0) {
		uint64_t gi = off / e->grain, in = off % e->grain;
		uint64_t n = MIN(len, e->grain - in);

		/* a whole zero grain is not stored (the image is written once); it
		 * is declared so that the grains after it need not wait for it */
		if (in == 0 && n == grain_len(e, gi)) {
			uint64_t end_gi = (off + len) / e->grain;

			if (off + len >= e->length)   /* through a short last grain */
				end_gi = div_round_up(e->length, e->grain);
			end_gi = MAX(end_gi, gi + 1);
			pthread_mutex_lock(&e->lock);
			ret = declare_zeros(e, gi, end_gi);
			if (ret == 0)
				ret = drain(e, false);
			pthread_mutex_unlock(&e->lock);
			n = MIN(len, (end_gi - gi) * e->grain);
		} else {
			ret = write_partial(e, gi, NULL, in, n);
		}
		off += n;
		len -= n;
	}
	return ret;
}

/* Buffered sequential writer for the trailing metadata. */
struct tail {
	struct backend *be;
	uint8_t *buf;
	size_t len, cap;
	uint64_t off;        /* file offset of buf[0] */
};

static int tail_put(struct tail *t, const void *data, size_t n)
{
	while (n) {
		size_t k = MIN(n, t->cap - t->len);

		memcpy(t->buf + t->len, data, k);
		t->len += k;
		data = (const uint8_t *)data + k;
		n -= k;
		if (t->len == t->cap) {
			int ret = backend_pwrite(t->be, t->buf, t->len, t->off);

			if (ret < 0)
				return ret;
			t->off += t->len;
			t->len = 0;
		}
	}
	return 0;
}

static int tail_marker(struct tail *t, uint64_t sectors, uint32_t type)
{
	uint8_t m[512] = { 0 };

	store_le64(m, sectors);
	store_le32(m + 12, type);
	return tail_put(t, m, sizeof(m));
}

static uint64_t tail_pos(struct tail *t)
{
	return t->off + t->len;
}

/* Write GTs, GD, footer and EOS from pos; gt may be NULL (an empty disk).  The
 * header copy h gets the real GD offset for the footer. */
static int write_tail(struct backend *be, const char *path, struct vmdk_header *h,
		      uint64_t pos, uint32_t gd_entries, uint32_t **gt, uint64_t *end)
{
	struct tail t = { .be = be, .cap = 1 << 20, .off = pos };
	uint64_t gd_sectors = div_round_up((uint64_t)gd_entries * 4, 512);
	uint8_t *gd = calloc(1, (size_t)gd_sectors * 512);
	uint8_t raw[VMDK_GT_BYTES], hb[512];
	int ret = 0;

	t.buf = malloc(t.cap);
	if (!gd || !t.buf) {
		free(gd);
		free(t.buf);
		return err_set(-ENOMEM, path, "out of memory");
	}
	for (uint32_t j = 0; gt && j < gd_entries && ret == 0; j++) {
		bool used = false;

		if (!gt[j])
			continue;
		for (int i = 0; i < VMDK_GTES; i++) {
			store_le32(raw + 4 * i, gt[j][i]);
			used |= gt[j][i] != 0;
		}
		if (!used)
			continue;
		ret = tail_marker(&t, VMDK_GT_BYTES / 512, VMDK_MARKER_GT);
		store_le32(gd + 4 * (size_t)j, (uint32_t)(tail_pos(&t) / 512));
		if (ret == 0)
			ret = tail_put(&t, raw, sizeof(raw));
	}
	if (ret == 0)
		ret = tail_marker(&t, gd_sectors, VMDK_MARKER_GD);
	h->gd_offset = tail_pos(&t) / 512;
	if (ret == 0)
		ret = tail_put(&t, gd, (size_t)gd_sectors * 512);
	if (ret == 0)
		ret = tail_marker(&t, 1, VMDK_MARKER_FOOTER);
	vmdk_header_encode(h, hb);
	if (ret == 0)
		ret = tail_put(&t, hb, sizeof(hb));
	if (ret == 0)
		ret = tail_marker(&t, 0, VMDK_MARKER_EOS);
	if (ret == 0 && t.len)
		ret = backend_pwrite(be, t.buf, t.len, t.off);
	*end = tail_pos(&t);
	free(gd);
	free(t.buf);
	return ret;
}

static void stream_header(struct vmdk_header *h, uint64_t capacity, uint64_t desc_sectors,
			  uint64_t overhead)
{
	memset(h, 0, sizeof(*h));
	h->version = 3;
	h->flags = VMDK_FLAG_NL_DETECT | VMDK_FLAG_COMPRESSED | VMDK_FLAG_MARKERS;
	h->capacity = capacity;
	h->grain_size = VMDK_DEFAULT_GRAIN;
	h->desc_offset = desc_sectors ? 1 : 0;
	h->desc_size = desc_sectors;
	h->num_gtes = VMDK_GTES;
	h->overhead = overhead;
	h->compress_algo = VMDK_COMPRESS_DEFLATE;
}

int vmdk_stream_finish(struct image *img, struct vmdk_extent *e)
{
	struct vmdk_stream_writer *w = e->sw;
	struct vmdk_header h = e->h;
	uint8_t hb[512];
	uint64_t end;
	int ret = 0;

	pthread_mutex_lock(&e->lock);
	while (w->partials && ret == 0) {
		struct partial *p = w->partials;

		w->partials = p->next;
		ret = flush_partial(e, p);
	}
	if (ret == 0)
		ret = drain(e, true);
	if (ret < 0 || !w->dirty)
		goto out;
	stream_header(&h, e->h.capacity, e->h.desc_size, w->data_start / 512);
	h.desc_offset = e->h.desc_offset;
	h.grain_size = e->h.grain_size;
	ret = write_tail(e->be, e->path, &h, w->data_end, e->gd_entries, e->gt, &end);
	if (ret == 0)
		ret = backend_truncate(e->be, end);
	if (ret < 0)
		goto out;
	/* the directory now lives at the end: readers take it from the footer */
	for (uint32_t j = 0; j < e->gd_entries; j++)
		e->gd[j] = 0;
	e->file_size = end;
	h.gd_offset = VMDK_GD_AT_END;
	vmdk_header_encode(&h, hb);
	ret = backend_pwrite(e->be, hb, sizeof(hb), 0);
	if (ret == 0)
		w->dirty = false;
out:
	pthread_mutex_unlock(&e->lock);
	return ret;
}

int vmdk_stream_writer_open(struct image *img, struct vmdk_extent *e)
{
	struct vmdk_stream_writer *w;
	uint64_t start;
	int ret = 0;

	/* only an image with no grains yet can be (re)written as a stream */
	for (uint32_t j = 0; j < e->gd_entries; j++) {
		if (!e->gd[j])
			continue;
		pthread_mutex_lock(&e->lock);
		ret = vmdk_gt_load(e, j);
		pthread_mutex_unlock(&e->lock);
		if (ret < 0)
			return ret;
		for (int i = 0; e->gt[j] && i < VMDK_GTES; i++)
			if (e->gt[j][i])
				return 0;   /* not empty: writes will be refused */
	}
	start = e->h.overhead * 512;
	if (!start || start > e->file_size)
		start = align_up((e->h.desc_offset + e->h.desc_size) * 512, 512);
	start = MAX(start, 512);
	w = calloc(1, sizeof(*w));
	if (!w)
		return err_set(-ENOMEM, e->path, "out of memory");
	w->data_start = start;
	w->data_end = start;
	for (uint32_t j = 0; j < e->gd_entries; j++) {
		free(e->gt[j]);
		e->gt[j] = NULL;
		e->gd[j] = 0;
	}
	free(e->rgd);
	e->rgd = NULL;
	e->sw = w;
	return 0;
}

void vmdk_stream_writer_free(struct vmdk_extent *e)
{
	struct vmdk_stream_writer *w = e->sw;

	if (!w)
		return;
	while (w->partials) {
		struct partial *p = w->partials;

		w->partials = p->next;
		free(p->buf);
		free(p);
	}
	for (size_t i = 0; i < w->n; i++)
		free(w->heap[i].data);
	free(w->heap);
	free(w->zeros);
	free(w);
	e->sw = NULL;
}

int vmdk_stream_create(struct backend *be, const char *filename, uint64_t capacity,
		       const char *desc)
{
	struct vmdk_header h;
	uint64_t desc_sectors = MAX((uint64_t)20, div_round_up(strlen(desc), 512));
	uint64_t overhead = align_up(1 + desc_sectors, VMDK_DEFAULT_GRAIN);
	uint32_t gd_entries = (uint32_t)div_round_up(capacity, VMDK_DEFAULT_GRAIN * VMDK_GTES);
	uint8_t hb[512];
	uint64_t end;
	char *d;
	int ret;

	if (capacity > VMDK_MAX_CAPACITY / 512)
		return err_set(-EFBIG, filename, "disk too large for VMDK");
	stream_header(&h, capacity, desc_sectors, overhead);
	h.gd_offset = VMDK_GD_AT_END;
	vmdk_header_encode(&h, hb);
	ret = backend_truncate(be, 0);
	if (ret == 0)
		ret = backend_pwrite(be, hb, sizeof(hb), 0);
	if (ret < 0)
		return ret;
	d = calloc(1, (size_t)(overhead - 1) * 512);
	if (!d)
		return err_set(-ENOMEM, filename, "out of memory");
	memcpy(d, desc, strlen(desc));
	ret = backend_pwrite(be, d, (size_t)(overhead - 1) * 512, 512);
	free(d);
	if (ret == 0)
		ret = write_tail(be, filename, &h, overhead * 512, gd_entries, NULL, &end);
	return ret;
}
