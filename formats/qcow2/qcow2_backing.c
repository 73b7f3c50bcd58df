/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2_backing.c - the two operations a backing chain needs from qcow2 besides
 * reading: changing the backing file recorded in the header (rebase, convert -B)
 * and emptying an overlay after commit.
 *
 * Crash safety: set_backing flushes all data and metadata before the header is
 * rewritten (one write of cluster 0), so the new pointer never names a backing
 * file the image's data was not yet made consistent with.  make_empty removes
 * the references first (L1 entries on disk, flushed) and only then drops the
 * refcounts, so an interruption leaves at worst leaked clusters.
 */
#include "qcow2.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* QEMU reads the backing format extension into a 16-byte buffer. */
#define BACKING_FMT_MAX 15

static int replace_str(char **dst, const char *src)
{
	char *n = NULL;

	if (src) {
		n = strdup(src);
		if (!n)
			return -ENOMEM;
	}
	free(*dst);
	*dst = n;
	return 0;
}

int qcow2_set_backing(struct image *img, const char *name, const char *fmt)
{
	struct qcow2_state *s = qcow2_state(img);
	char *old_name = NULL, *old_fmt = NULL, *old_ifmt = NULL;
	int ret;

	if (name && strlen(name) > QCOW2_MAX_BACKING_NAME)
		return err_set(-EINVAL, img->filename, "backing file name too long (%zu bytes)",
			       strlen(name));
	if (fmt && strlen(fmt) > BACKING_FMT_MAX)
		return err_set(-EINVAL, img->filename, "backing format name too long: '%s'", fmt);
	/* everything written so far must be durable before the pointer moves */
	ret = qcow2_flush(img);
	if (ret < 0)
		return ret;

	pthread_mutex_lock(&s->lock);
	old_name = img->backing_name;
	old_fmt = s->backing_fmt;
	old_ifmt = img->backing_format;
	img->backing_name = NULL;
	s->backing_fmt = NULL;
	img->backing_format = NULL;
	if (replace_str(&img->backing_name, name) < 0 ||
	    replace_str(&s->backing_fmt, fmt) < 0 ||
	    replace_str(&img->backing_format, fmt) < 0) {
		ret = err_set(-ENOMEM, img->filename, "out of memory");
		goto restore;
	}
	ret = qcow2_header_write(s);
	if (ret == 0)
		ret = backend_flush(img->be);
	if (ret < 0)
		goto restore;
	pthread_mutex_unlock(&s->lock);
	free(old_name);
	free(old_fmt);
	free(old_ifmt);
	return 0;
restore:
	free(img->backing_name);
	free(s->backing_fmt);
	free(img->backing_format);
	img->backing_name = old_name;
	s->backing_fmt = old_fmt;
	img->backing_format = old_ifmt;
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* A reference an L2 entry holds: host range to free (len 0: none). */
static void entry_ref(const struct qcow2_state *s, uint64_t e, uint64_t *host, uint64_t *len)
{
	*len = 0;
	if (e & QCOW2_OFLAG_COMPRESSED) {
		qcow2_compressed_extent(s, e, host, len);
		return;
	}
	*host = e & L2E_OFFSET_MASK;
	if (*host)
		*len = s->cluster_size;
}

/* Give the file space of freed (refcount 0) data clusters back to the backend,
 * as qemu does when it empties an image; contiguous clusters in one call.
 * Best effort: failing only keeps the space allocated. */
static void discard_freed(struct qcow2_state *s, const uint64_t *refs, uint64_t n)
{
	uint64_t start = 0, len = 0, rc;

	for (uint64_t k = 0; k <= n; k += 2) {
		bool freed = k < n && refs[k + 1] == s->cluster_size &&
			     qcow2_refcount_get(s, refs[k] >> s->cluster_bits, &rc) == 0 &&
			     rc == 0;

		if (freed && len && refs[k] == start + len) {
			len += s->cluster_size;
			continue;
		}
		if (len)
			backend_discard(s->img->be, start, len);
		start = refs[k < n ? k : 0];
		len = freed ? s->cluster_size : 0;
	}
	err_clear();
}

/* Empty the L2 table behind L1 entry i (lock held).  refs has room for
 * 2 * l2_entries values. */
static int empty_one(struct qcow2_state *s, uint64_t i, uint64_t *refs)
{
	uint64_t l2_off = s->l1[i] & L1E_OFFSET_MASK;
	uint64_t n = 0;
	uint8_t zero[8] = { 0 };
	void *t;
	int ret;

	if (!l2_off)
		return 0;
	if (!is_aligned(l2_off, s->cluster_size))
		return err_set(-EIO, s->img->filename,
			       "L1 entry %llu points to an unaligned L2 table",
			       (unsigned long long)i);
	ret = qcow2_cache_get(s->l2_cache, l2_off, &t);
	if (ret < 0)
		return ret;
	for (uint64_t j = 0; j < s->l2_entries; j++) {
		uint64_t host, len;

		entry_ref(s, qcow2_l2_entry_get(s, t, j), &host, &len);
		if (len) {
			refs[n++] = host;
			refs[n++] = len;
		}
	}
	qcow2_cache_put(s->l2_cache, &t);

	/* unreference on disk first: a crash from here on only leaks */
	ret = backend_pwrite(s->img->be, zero, 8, s->h.l1_table_offset + i * 8);
	if (ret == 0)
		ret = backend_flush(s->img->be);
	if (ret < 0)
		return ret;
	s->l1[i] = 0;
	qcow2_cache_discard(s->l2_cache, l2_off);
	ret = qcow2_free_clusters(s, l2_off, s->cluster_size);
	for (uint64_t k = 0; k < n && ret == 0; k += 2)
		ret = qcow2_free_clusters(s, refs[k], refs[k + 1]);
	if (ret == 0)
		discard_freed(s, refs, n);
	return ret;
}

int qcow2_make_empty(struct image *img)
{
	struct qcow2_state *s = qcow2_state(img);
	uint64_t *refs;
	int ret;

	/* what the guest sees becomes the backing file's: all of it changes */
	ret = qcow2_bitmaps_mark(s, 0, s->h.size);
	if (ret < 0)
		return ret;
	refs = malloc((size_t)s->l2_entries * 2 * sizeof(*refs));
	if (!refs)
		return err_set(-ENOMEM, img->filename, "out of memory");
	pthread_mutex_lock(&s->lock);
	/* no dirty table may be written back over a cluster freed below */
	ret = qcow2_cache_flush(s->l2_cache);
	for (uint64_t i = 0; i < s->h.l1_size && ret == 0; i++)
		ret = empty_one(s, i, refs);
	pthread_mutex_unlock(&s->lock);
	free(refs);
	if (ret < 0)
		return err_set_default(ret, img->filename, "could not empty the image");
	return qcow2_flush(img);
}
