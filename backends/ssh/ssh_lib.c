/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ssh_lib.c - libssh's symbol table for common/dl.c (see ssh_lib.h for why it is
 * dlopen()ed rather than linked).
 */
#ifdef HAVE_LIBSSH
#include "ssh_lib.h"
#include "../../common/dl.h"

#include <errno.h>

struct ssh_lib ssh_lib;

#define SSH_LIB_SYM(fn) { #fn, &ssh_lib.fn },
static const struct dl_sym ssh_syms[] = { SSH_LIB_FUNCS(SSH_LIB_SYM) { NULL, NULL } };

/* the ABI version, so only the runtime package (libssh-4) is needed */
static const struct dl_lib ssh_libs[] = {
	{ "libssh", { "libssh.so.4" }, "libssh-4", ssh_syms },
	{ NULL },
};

static struct dl_loader ssh_loader = DL_LOADER(ssh_libs, -EPROTONOSUPPORT);

int ssh_lib_load(const char *where)
{
	return dl_load(&ssh_loader, where);
}
#endif /* HAVE_LIBSSH */
