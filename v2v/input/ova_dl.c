/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ova_dl.c - the symbol tables of libxml2 and libcrypto for common/dl.c (see
 * ova_dl.h for why they are dlopen()ed rather than linked): every function in the
 * lists is resolved, or none is used.
 */
#define OVA_DL_IMPL 1
#include "v2v/input/ova_dl.h"

#ifdef HAVE_OVA

#include <errno.h>

#include "common/dl.h"

#define OVA_DL_DEFINE(n) __typeof__(n) *ova_dl_##n;
OVA_DL_XML_FUNCS(OVA_DL_DEFINE)
OVA_DL_CRYPTO_FUNCS(OVA_DL_DEFINE)

#define OVA_DL_SYM(n) { #n, &ova_dl_##n },
static const struct dl_sym xml_syms[] = { OVA_DL_XML_FUNCS(OVA_DL_SYM) { NULL, NULL } };
static const struct dl_sym crypto_syms[] = { OVA_DL_CRYPTO_FUNCS(OVA_DL_SYM) { NULL, NULL } };

static const struct dl_lib ova_libs[] = {
	{ "libxml2", { "libxml2.so.2" }, "libxml2", xml_syms },
	{ "libcrypto", { "libcrypto.so.3" }, "libssl3", crypto_syms },
	{ NULL },
};

static struct dl_loader ova_loader = DL_LOADER(ova_libs, -ENOTSUP);

int ova_dl_load(void)
{
	return dl_load(&ova_loader, NULL);
}

#endif
