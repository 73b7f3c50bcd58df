/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rbd_lib.c - the symbol tables of librados and librbd for common/dl.c (see
 * rbd_lib.h for why they are dlopen()ed rather than linked).
 */
#ifdef HAVE_LIBRBD
#include "rbd_lib.h"
#include "../../common/dl.h"

#include <errno.h>

struct rbd_lib rbd_lib;

#define RBD_LIB_SYM(fn) { #fn, &rbd_lib.fn },
static const struct dl_sym rados_syms[] = { RADOS_LIB_FUNCS(RBD_LIB_SYM) { NULL, NULL } };
static const struct dl_sym rbd_syms[] = { RBD_LIB_FUNCS(RBD_LIB_SYM) { NULL, NULL } };

/* The sonames are ABI versions, not the -dev symlinks, so only the runtime
 * packages (librados2, librbd1) are needed. */
static const struct dl_lib rbd_libs[] = {
	{ "librados", { "librados.so.2" }, "librados2", rados_syms },
	{ "librbd", { "librbd.so.1" }, "librbd1", rbd_syms },
	{ NULL },
};

static struct dl_loader rbd_loader = DL_LOADER(rbd_libs, -EPROTONOSUPPORT);

int rbd_lib_load(const char *url)
{
	return dl_load(&rbd_loader, url);
}
#endif /* HAVE_LIBRBD */
