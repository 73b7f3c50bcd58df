/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * iscsi_lib.c - libiscsi's symbol table for common/dl.c (see iscsi_lib.h for why
 * it is dlopen()ed rather than linked).
 */
#ifdef HAVE_LIBISCSI
#include "iscsi_lib.h"
#include "../../common/dl.h"

#include <errno.h>

struct iscsi_lib iscsi_lib;

#define ISCSI_LIB_SYM(fn) { #fn, &iscsi_lib.fn },
static const struct dl_sym iscsi_syms[] = { ISCSI_LIB_FUNCS(ISCSI_LIB_SYM) { NULL, NULL } };

/* the ABI version, so only the runtime package (libiscsi7) is needed */
static const struct dl_lib iscsi_libs[] = {
	{ "libiscsi", { "libiscsi.so.7" }, "libiscsi7", iscsi_syms },
	{ NULL },
};

static struct dl_loader iscsi_loader = DL_LOADER(iscsi_libs, -EPROTONOSUPPORT);

int iscsi_lib_load(const char *url)
{
	return dl_load(&iscsi_loader, url);
}
#endif /* HAVE_LIBISCSI */
