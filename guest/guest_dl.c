/*
 * guest_dl.c - load libguestfs at run time (see guest.h for why it is not linked):
 * dlopen() on the first guest_open(), then every function in GUEST_DL_FUNCS is
 * resolved, or none is used.
 */
#define GUEST_DL_IMPL 1
#include "guest/guest.h"

#ifdef HAVE_LIBGUESTFS

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"

#define GUESTFS_SONAME "libguestfs.so.0"

#define GUEST_DL_DEFINE(n) __typeof__(guestfs_##n) *guest_dl_##n;
GUEST_DL_FUNCS(GUEST_DL_DEFINE)

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_ret;
static char load_msg[512];

static void load(void)
{
	void *h = dlopen(GUESTFS_SONAME, RTLD_NOW | RTLD_LOCAL);
	void *sym;

	if (!h) {
		const char *e = dlerror();

		load_ret = -ENOTSUP;
		if (!e || (strstr(e, GUESTFS_SONAME) && strstr(e, "No such file")))
			snprintf(load_msg, sizeof(load_msg),
				 "libguestfs is not installed (apt-get install libguestfs0)");
		else
			snprintf(load_msg, sizeof(load_msg), "cannot load libguestfs: %s", e);
		return;
	}
	/* POSIX guarantees a dlsym() result converts to a function pointer */
#define GUEST_DL_RESOLVE(n) \
	if (!(sym = dlsym(h, "guestfs_" #n))) { \
		load_ret = -ENOTSUP; \
		snprintf(load_msg, sizeof(load_msg), GUESTFS_SONAME " has no guestfs_" #n \
			 "(): the installed libguestfs is too old"); \
		return; \
	} \
	guest_dl_##n = (__typeof__(guest_dl_##n))sym;
	GUEST_DL_FUNCS(GUEST_DL_RESOLVE)
#undef GUEST_DL_RESOLVE
}

int guest_dl_load(void)
{
	pthread_once(&load_once, load);
	if (load_ret)
		return err_set(load_ret, NULL, "%s", load_msg);
	return 0;
}

#endif
