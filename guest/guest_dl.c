/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * guest_dl.c - libguestfs's symbol table for common/dl.c (see guest.h for why it is
 * dlopen()ed rather than linked): every function in GUEST_DL_FUNCS is resolved on
 * the first guest_open(), or none is used.
 */
#define GUEST_DL_IMPL 1
#include "guest/guest.h"

#ifdef HAVE_LIBGUESTFS

#include <errno.h>

#include "common/dl.h"

#define GUEST_DL_DEFINE(n) __typeof__(guestfs_##n) *guest_dl_##n;
GUEST_DL_FUNCS(GUEST_DL_DEFINE)

#define GUEST_DL_SYM(n) { "guestfs_" #n, &guest_dl_##n },
static const struct dl_sym guestfs_syms[] = { GUEST_DL_FUNCS(GUEST_DL_SYM) { NULL, NULL } };

static const struct dl_lib guestfs_libs[] = {
	{ "libguestfs", { "libguestfs.so.0" }, "libguestfs0", guestfs_syms },
	{ NULL },
};

static struct dl_loader guestfs_loader = DL_LOADER(guestfs_libs, -ENOTSUP);

int guest_dl_load(void)
{
	return dl_load(&guestfs_loader, NULL);
}

#endif
