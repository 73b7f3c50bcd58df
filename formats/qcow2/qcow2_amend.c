/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2_amend.c - change options of an existing qcow2 image (qemu-img amend -o):
 * compat=0.10|1.1 and lazy_refcounts=on|off.
 *
 * Upgrading to 1.1 and toggling lazy refcounts only rewrite the header.
 * Downgrading to 0.10 is done only where the result means the same thing: it is
 * refused (with qemu-img's messages) for refcount_bits != 16 and incompatible
 * features (extended L2, zstd, data file), and - unlike qemu, which expands them
 * - for images that contain zero clusters in any L1 table, because v2 has no
 * zero flag.  Other creation options are refused (image_amend, from the
 * qcow2_amend_opts table) as qemu-img refuses them.
 */
#include "qcow2.h"
#include "../luks/luks.h"
#include "../create_opts.h"
#include "../../common/bswap.h"
#include "../../common/err.h"
#include "../../common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* What amend takes (-o help lists it; image_amend refuses the rest, the
 * creation-only options in qemu-img's words). */
const struct create_opt qcow2_amend_opts[] = {
	{ .name = "compat", .type = OPT_TYPE_STRING,
	  .help = "Compatibility level (v2 [0.10] or v3 [1.1])" },
	{ .name = "lazy_refcounts", .type = OPT_TYPE_BOOL, .help = "Postpone refcount updates" },
	LUKS_AMEND_OPTS("encrypt."),
	CREATE_OPT_END,
};

/* Does any L2 table reached from this L1 hold a zero-flagged entry? */
static int l1_has_zero(struct qcow2_state *s, const uint64_t *l1, uint64_t n, uint8_t *buf,
		       bool *found)
{
	int ret;

	for (uint64_t i = 0; i < n && !*found; i++) {
		uint64_t l2 = l1[i] & L1E_OFFSET_MASK;

		if (!l2)
			continue;
		ret = backend_pread(s->img->be, buf, s->cluster_size, l2);
		if (ret < 0)
			return ret;
		for (uint64_t j = 0; j < s->l2_entries && !*found; j++) {
			uint64_t e = qcow2_l2_entry_get(s, buf, j);
			if (!(e & QCOW2_OFLAG_COMPRESSED) && (e & QCOW2_OFLAG_ZERO))
				*found = true;
		}
	}
	return 0;
}

static int has_zero_clusters(struct qcow2_state *s, bool *found)
{
	uint8_t *buf = malloc(s->cluster_size);
	int ret;

	*found = false;
	if (!buf)
		return err_set(-ENOMEM, s->img->filename, "out of memory");
	ret = qcow2_cache_flush(s->l2_cache);
	if (ret == 0)
		ret = l1_has_zero(s, s->l1, s->h.l1_size, buf, found);
	for (int i = 0; ret == 0 && !*found && i < s->nb_snapshots; i++) {
		const struct qcow2_snapshot *sn = &s->snapshots[i];
		uint64_t bytes = (uint64_t)sn->l1_size * 8;
		uint64_t *l1;

		if (bytes > QCOW2_MAX_L1_BYTES)
			return err_set(-EFBIG, s->img->filename, "Snapshot L1 table too large");
		l1 = malloc(bytes ? bytes : 1);
		if (!l1) {
			ret = err_set(-ENOMEM, s->img->filename, "out of memory");
			break;
		}
		ret = backend_pread(s->img->be, l1, bytes, sn->l1_table_offset);
		for (uint64_t k = 0; ret == 0 && k < sn->l1_size; k++)
			l1[k] = load_be64((uint8_t *)&l1[k]);
		if (ret == 0)
			ret = l1_has_zero(s, l1, sn->l1_size, buf, found);
		free(l1);
	}
	free(buf);
	return ret;
}

static int downgrade(struct qcow2_state *s)
{
	const char *fn = s->img->filename;
	uint64_t incompat = s->h.incompatible_features & ~QCOW2_INCOMPAT_DIRTY;
	bool zero;
	int ret;

	if (s->refcount_bits != 16)
		return err_set(-ENOTSUP, fn, "compat=0.10 requires refcount_bits=16");
	if (incompat)
		return err_set(-ENOTSUP, fn, "Cannot downgrade an image with incompatible "
			       "features 0x%" PRIx64 " set", incompat);
	ret = has_zero_clusters(s, &zero);
	if (ret < 0)
		return ret;
	if (zero)
		return err_set(-ENOTSUP, fn, "Cannot downgrade an image with zero clusters "
			       "(compat=0.10 has no zero flag); write them as data first");
	s->h.version = 2;
	s->h.compatible_features = 0;
	s->h.autoclear_features = 0;
	s->h.incompatible_features = 0;
	s->dirty_set = false;
	s->lazy_refcounts = false;
	return 0;
}

int qcow2_amend(struct image *img, struct opts *opts)
{
	struct qcow2_state *s = qcow2_state(img);
	const char *compat = opts_get(opts, "compat");
	bool lazy = false, have_lazy;
	int target = (int)s->h.version, ret;

	ret = opts_get_bool(opts, "lazy_refcounts", &lazy);
	if (ret == -EINVAL)
		return ret;
	have_lazy = ret == 0;
	if (compat && (!strcmp(compat, "0.10") || !strcmp(compat, "v2")))
		target = 2;
	else if (compat && (!strcmp(compat, "1.1") || !strcmp(compat, "v3")))
		target = 3;
	else if (compat)
		return err_set(-EINVAL, NULL, "Unknown compatibility level %s", compat);
	if (have_lazy && lazy && target < 3)
		return err_set(-EINVAL, NULL, "Lazy refcounts only supported with compatibility "
			       "level 1.1 and above (use compat=1.1 or greater)");

	ret = qcow2_flush(img);   /* takes s->lock itself */
	if (ret < 0)
		return ret;
	if (opts_get(opts, "encrypt.state")) {
		ret = qcow2_crypt_amend(s, opts);
		if (ret < 0)
			return ret;
	}
	pthread_mutex_lock(&s->lock);
	if (target < (int)s->h.version)
		ret = downgrade(s);
	else if (target > (int)s->h.version)
		s->h.version = (uint32_t)target;
	if (ret == 0 && have_lazy && target >= 3) {
		if (lazy)
			s->h.compatible_features |= QCOW2_COMPAT_LAZY_REFCOUNTS;
		else
			s->h.compatible_features &= ~QCOW2_COMPAT_LAZY_REFCOUNTS;
	}
	if (ret == 0)
		ret = qcow2_header_write(s);
	if (ret == 0)
		ret = backend_flush(img->be);
	pthread_mutex_unlock(&s->lock);
	return ret;
}
