/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2_compress.c - compress and decompress one cluster, in the two encodings
 * the qcow2 spec knows: raw deflate with a 4 KiB window (type 0, "zlib") and
 * zstd (type 1).
 *
 * Compression must stay readable by QEMU, whose inflater is set up with
 * windowBits -12: so we always compress with zlib and that same window (a
 * 32 KiB-window encoder such as libdeflate would produce streams QEMU rejects).
 * Decompression uses libdeflate when available (several times faster) and falls
 * back to zlib, which also accepts the streams libdeflate does not (e.g. data
 * that continues past the end of the cluster).
 *
 * The compressed length is only known to 512-byte precision, so decompression
 * stops once a full cluster is produced, whatever follows in the input.
 *
 * Codec contexts and scratch buffers are per thread (pthread key with a
 * destructor), so the copy engine's workers decompress in parallel without a
 * lock.  For sequential small reads of a read-only image, the last decompressed
 * cluster is cached per image (s->compress_ctx).
 */
#include "qcow2.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>
#ifdef HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif
#ifdef HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

#define DEFLATE_WBITS    (-12)
#define DEFLATE_MEMLEVEL 9

struct codec_tls {
	z_stream inf;
	bool inf_ok;
	z_stream def;
	bool def_ok;
	ZSTD_DCtx *zd;
	ZSTD_CCtx *zc;
#ifdef HAVE_LIBDEFLATE
	struct libdeflate_decompressor *ld;
#endif
#ifdef HAVE_ISAL
	uint8_t *isal_buf;      /* ISA-L level 1 working memory */
#endif
	uint8_t *in;            /* compressed input */
	size_t in_cap;
	uint8_t *out;           /* one decompressed cluster (for the cache path) */
	size_t out_cap;
};

/* The image's cache of its last decompressed cluster. */
struct last_cluster {
	pthread_mutex_t lock;
	bool valid;
	uint64_t l2_entry;
	uint8_t *data;
};

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static bool tls_key_ok;

static void codec_tls_free(void *p)
{
	struct codec_tls *t = p;

	if (!t)
		return;
	if (t->inf_ok)
		inflateEnd(&t->inf);
	if (t->def_ok)
		deflateEnd(&t->def);
	ZSTD_freeDCtx(t->zd);
	ZSTD_freeCCtx(t->zc);
#ifdef HAVE_LIBDEFLATE
	if (t->ld)
		libdeflate_free_decompressor(t->ld);
#endif
#ifdef HAVE_ISAL
	free(t->isal_buf);
#endif
	free(t->in);
	free(t->out);
	free(t);
}

static void tls_init(void)
{
	tls_key_ok = pthread_key_create(&tls_key, codec_tls_free) == 0;
}

static struct codec_tls *codec_tls(void)
{
	struct codec_tls *t;

	pthread_once(&tls_once, tls_init);
	if (!tls_key_ok)
		return NULL;
	t = pthread_getspecific(tls_key);
	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (pthread_setspecific(tls_key, t)) {
		free(t);
		return NULL;
	}
	return t;
}

static uint8_t *tls_buf(uint8_t **buf, size_t *cap, size_t need)
{
	if (*cap < need) {
		uint8_t *p = realloc(*buf, need);

		if (!p)
			return NULL;
		*buf = p;
		*cap = need;
	}
	return *buf;
}

/* ---- decompression ---- */

static int inflate_zlib(struct codec_tls *t, const uint8_t *in, size_t in_len,
			uint8_t *out, size_t out_len)
{
	int ret;

	if (!t->inf_ok) {
		memset(&t->inf, 0, sizeof(t->inf));
		if (inflateInit2(&t->inf, DEFLATE_WBITS) != Z_OK)
			return -ENOMEM;
		t->inf_ok = true;
	} else if (inflateReset(&t->inf) != Z_OK) {
		return -EIO;
	}
	t->inf.next_in = (Bytef *)in;
	t->inf.avail_in = (uInt)in_len;
	t->inf.next_out = out;
	t->inf.avail_out = (uInt)out_len;
	ret = inflate(&t->inf, Z_FINISH);
	/* Z_BUF_ERROR is fine once the cluster is full: the input length is only
	 * known to the sector, so the stream may not have ended yet */
	if ((ret == Z_STREAM_END || ret == Z_BUF_ERROR) && t->inf.avail_out == 0)
		return 0;
	return -EIO;
}

static int inflate_raw(struct codec_tls *t, const uint8_t *in, size_t in_len,
		       uint8_t *out, size_t out_len)
{
#ifdef HAVE_LIBDEFLATE
	size_t got_in = 0, got_out = 0;

	if (!t->ld)
		t->ld = libdeflate_alloc_decompressor();
	if (t->ld &&
	    libdeflate_deflate_decompress_ex(t->ld, in, in_len, out, out_len, &got_in,
					     &got_out) == LIBDEFLATE_SUCCESS &&
	    got_out == out_len)
		return 0;
#endif
	return inflate_zlib(t, in, in_len, out, out_len);
}

static int unzstd(struct codec_tls *t, const uint8_t *in, size_t in_len,
		  uint8_t *out, size_t out_len)
{
	ZSTD_inBuffer ib = { in, in_len, 0 };
	ZSTD_outBuffer ob = { out, out_len, 0 };
	size_t r = 0;

	size_t fsize;

	if (!t->zd) {
		t->zd = ZSTD_createDCtx();
		if (!t->zd)
			return -ENOMEM;
	} else {
		ZSTD_DCtx_reset(t->zd, ZSTD_reset_session_only);
	}
	/* Fast path: one frame holding exactly the cluster (what QEMU and we
	 * write) decodes in one shot, without the streaming buffers. */
	fsize = ZSTD_findFrameCompressedSize(in, in_len);
	if (!ZSTD_isError(fsize) && ZSTD_getFrameContentSize(in, in_len) == out_len) {
		r = ZSTD_decompressDCtx(t->zd, out, out_len, in, fsize);
		if (!ZSTD_isError(r) && r == out_len)
			return 0;
		ZSTD_DCtx_reset(t->zd, ZSTD_reset_session_only);
	}
	/* A cluster may be stored as several frames: go on until it is full. */
	while (ob.pos < ob.size) {
		size_t last_in = ib.pos, last_out = ob.pos;

		r = ZSTD_decompressStream(t->zd, &ob, &ib);
		if (ZSTD_isError(r))
			return -EIO;
		if (ib.pos <= last_in && ob.pos <= last_out)
			return -EIO;    /* no progress: input exhausted */
	}
	/* a frame still wanting output means more data than one cluster */
	if (r > 0) {
		uint8_t extra;
		ZSTD_outBuffer probe = { &extra, 1, 0 };

		r = ZSTD_decompressStream(t->zd, &probe, &ib);
		if (ZSTD_isError(r) || probe.pos)
			return -EIO;
	}
	return 0;
}

static int decompress_into(struct qcow2_state *s, struct codec_tls *t, uint64_t l2_entry,
			   uint8_t *out)
{
	const char *fn = s->img->filename;
	uint64_t off, nbytes, avail;
	uint8_t *in;
	int ret;

	qcow2_compressed_extent(s, l2_entry, &off, &nbytes);
	if (off >= s->file_size)
		return err_set(-EIO, fn, "compressed cluster at %#" PRIx64 " beyond end of file",
			       off);
	in = tls_buf(&t->in, &t->in_cap, (size_t)nbytes);
	if (!in)
		return err_set(-ENOMEM, fn, "out of memory");
	avail = MIN(nbytes, s->file_size - off);
	ret = backend_pread(s->img->be, in, (size_t)avail, off);
	if (ret < 0)
		return ret;
	if (avail < nbytes)
		memset(in + avail, 0, (size_t)(nbytes - avail));
	if (s->h.compression_type == QCOW2_COMPRESSION_ZSTD)
		ret = unzstd(t, in, (size_t)nbytes, out, (size_t)s->cluster_size);
	else
		ret = inflate_raw(t, in, (size_t)nbytes, out, (size_t)s->cluster_size);
	if (ret == -ENOMEM)
		return err_set(ret, fn, "out of memory");
	if (ret < 0 && avail < nbytes)
		return err_set(-EIO, fn,
			       "compressed cluster at %#" PRIx64 " (%" PRIu64 " bytes) runs past the end of the file",
			       off, nbytes);
	if (ret < 0)
		return err_set(-EIO, fn,
			       "could not decompress the cluster at %#" PRIx64 " (%s data corrupt)",
			       off, s->h.compression_type ? "zstd" : "deflate");
	return 0;
}

int qcow2_decompress_cluster(struct qcow2_state *s, uint64_t l2_entry, uint8_t *out)
{
	struct codec_tls *t = codec_tls();

	if (!t)
		return err_set(-ENOMEM, s->img->filename, "out of memory");
	return decompress_into(s, t, l2_entry, out);
}

int qcow2_inflate_raw(const void *in, size_t in_len, void *out, size_t out_len)
{
	struct codec_tls *t = codec_tls();

	if (!t)
		return -ENOMEM;
	return inflate_raw(t, in, in_len, out, out_len);
}

static struct last_cluster *last_cluster(struct qcow2_state *s)
{
	struct last_cluster *lc;

	pthread_mutex_lock(&s->lock);
	lc = s->compress_ctx;
	if (!lc) {
		lc = calloc(1, sizeof(*lc));
		if (lc) {
			lc->data = malloc((size_t)s->cluster_size);
			if (!lc->data) {
				free(lc);
				lc = NULL;
			} else {
				pthread_mutex_init(&lc->lock, NULL);
				s->compress_ctx = lc;
			}
		}
	}
	pthread_mutex_unlock(&s->lock);
	return lc;
}

int qcow2_read_compressed(struct qcow2_state *s, uint64_t l2_entry, uint64_t in_cluster,
			  void *buf, size_t len)
{
	struct codec_tls *t = codec_tls();
	struct last_cluster *lc = NULL;
	uint8_t *out;
	int ret;

	if (!t)
		return err_set(-ENOMEM, s->img->filename, "out of memory");
	if (in_cluster == 0 && len == s->cluster_size)
		return decompress_into(s, t, l2_entry, buf);
	/* The cache is only safe while nobody can rewrite compressed data in
	 * place: read-only images (the common case: a convert source). */
	if (s->read_only)
		lc = last_cluster(s);
	if (lc) {
		pthread_mutex_lock(&lc->lock);
		if (lc->valid && lc->l2_entry == l2_entry) {
			memcpy(buf, lc->data + in_cluster, len);
			pthread_mutex_unlock(&lc->lock);
			return 0;
		}
		pthread_mutex_unlock(&lc->lock);
	}
	out = tls_buf(&t->out, &t->out_cap, (size_t)s->cluster_size);
	if (!out)
		return err_set(-ENOMEM, s->img->filename, "out of memory");
	ret = decompress_into(s, t, l2_entry, out);
	if (ret < 0)
		return ret;
	memcpy(buf, out + in_cluster, len);
	if (lc) {
		pthread_mutex_lock(&lc->lock);
		memcpy(lc->data, out, (size_t)s->cluster_size);
		lc->l2_entry = l2_entry;
		lc->valid = true;
		pthread_mutex_unlock(&lc->lock);
	}
	return 0;
}

void qcow2_compress_state_free(struct qcow2_state *s)
{
	struct last_cluster *lc = s->compress_ctx;

	if (!lc)
		return;
	pthread_mutex_destroy(&lc->lock);
	free(lc->data);
	free(lc);
	s->compress_ctx = NULL;
}

/* ---- compression ---- */

#ifdef HAVE_ISAL
/* ISA-L's deflate (level 1) is several times faster than zlib's; with its history
 * limited to 4 KiB (hist_bits 12) its raw streams decode with QEMU's -12 window
 * (checked by tests/interop/test_qcow2_chain.sh and a qemu-img compare). */
static int deflate_raw_isal(struct codec_tls *t, const void *in, size_t len, void *out,
			    size_t cap)
{
	struct isal_zstream zs;
	int ret;

	if (!t->isal_buf) {
		t->isal_buf = malloc(ISAL_DEF_LVL1_DEFAULT);
		if (!t->isal_buf)
			return -ENOMEM;
	}
	isal_deflate_stateless_init(&zs);
	zs.hist_bits = 12;
	zs.level = 1;
	zs.level_buf = t->isal_buf;
	zs.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
	zs.gzip_flag = IGZIP_DEFLATE;
	zs.end_of_stream = 1;
	zs.flush = NO_FLUSH;
	zs.next_in = (uint8_t *)in;
	zs.avail_in = (uint32_t)len;
	zs.next_out = out;
	zs.avail_out = (uint32_t)cap;
	ret = isal_deflate_stateless(&zs);
	if (ret == STATELESS_OVERFLOW)
		return -ENOSPC;
	if (ret != COMP_OK)
		return -EIO;
	return (int)zs.total_out;
}
#endif

static int deflate_raw(struct codec_tls *t, const void *in, size_t len, void *out,
		       size_t cap)
{
	int ret;

#ifdef HAVE_ISAL
	return deflate_raw_isal(t, in, len, out, cap);
#endif

	if (!t->def_ok) {
		memset(&t->def, 0, sizeof(t->def));
		if (deflateInit2(&t->def, Z_DEFAULT_COMPRESSION, Z_DEFLATED, DEFLATE_WBITS,
				 DEFLATE_MEMLEVEL, Z_DEFAULT_STRATEGY) != Z_OK)
			return -ENOMEM;
		t->def_ok = true;
	} else if (deflateReset(&t->def) != Z_OK) {
		return -EIO;
	}
	t->def.next_in = (Bytef *)in;
	t->def.avail_in = (uInt)len;
	t->def.next_out = out;
	t->def.avail_out = (uInt)cap;
	ret = deflate(&t->def, Z_FINISH);
	if (ret != Z_STREAM_END)
		return -ENOSPC;      /* output full before the end */
	return (int)t->def.total_out;
}

static int zstd_compress(struct codec_tls *t, const void *in, size_t len, void *out,
			 size_t cap)
{
	size_t r;

	if (!t->zc) {
		t->zc = ZSTD_createCCtx();
		if (!t->zc)
			return -ENOMEM;
	} else {
		ZSTD_CCtx_reset(t->zc, ZSTD_reset_session_only);
	}
	r = ZSTD_compress2(t->zc, out, cap, in, len);
	if (ZSTD_isError(r)) {
		if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall)
			return -ENOSPC;
		return -EIO;
	}
	return (int)r;
}

int qcow2_compress_buffer(const struct qcow2_state *s, const void *in, size_t len,
			  void *out, size_t cap)
{
	struct codec_tls *t = codec_tls();
	const char *fn = s->img->filename;
	int ret;

	if (!t)
		return err_set(-ENOMEM, fn, "out of memory");
	if (len > s->cluster_size || cap == 0)
		return err_set(-EINVAL, fn, "internal error: bad compression request");
	if (s->h.compression_type == QCOW2_COMPRESSION_ZSTD)
		ret = zstd_compress(t, in, len, out, cap);
	else
		ret = deflate_raw(t, in, len, out, cap);
	if (ret == -ENOMEM)
		return err_set(ret, fn, "out of memory");
	if (ret == -EIO)
		return err_set(ret, fn, "compression failed");
	/* not smaller than the room given: store the cluster uncompressed */
	if (ret >= 0 && (size_t)ret >= cap)
		return -ENOSPC;
	return ret;
}
