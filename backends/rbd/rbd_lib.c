/*
 * rbd_lib.c - resolves librados and librbd at run time (see rbd_lib.h).
 *
 * The libraries are loaded at most once per process and never unloaded:
 * librados starts threads and registers C++ static destructors, so dlclose()
 * while anything of Ceph is alive would be unsafe, and the cost is paid only
 * by processes that really open an rbd: image.
 */
#ifdef HAVE_LIBRBD
#include "rbd_lib.h"
#include "../../common/err.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* The sonames are ABI versions, not the -dev symlinks, so only the runtime
 * packages (librados2, librbd1) are needed. */
#define SONAME_rados "librados.so.2"
#define SONAME_rbd "librbd.so.1"

struct rbd_lib rbd_lib;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_ret;               /* 0 or the negative errno every caller gets */
static char load_msg[512];         /* why loading failed, without the URL */

static void *open_lib(const char *soname)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	const char *e;

	if (h)
		return h;
	e = dlerror();
	load_ret = -EPROTONOSUPPORT;
	/* a missing file is the common case; anything else (a broken install,
	 * a missing dependency of librbd) is worth showing verbatim */
	if (!e || (strstr(e, soname) && strstr(e, "No such file")))
		snprintf(load_msg, sizeof(load_msg),
			 "librbd is not installed (apt-get install librbd1)");
	else
		snprintf(load_msg, sizeof(load_msg), "cannot load librbd: %s", e);
	return NULL;
}

static void *resolve(void *h, const char *soname, const char *name)
{
	void *sym = dlsym(h, name);

	if (sym)
		return sym;
	load_ret = -EPROTONOSUPPORT;
	snprintf(load_msg, sizeof(load_msg),
		 "%s has no %s(): the installed Ceph libraries are too old", soname, name);
	return NULL;
}

static void load(void)
{
	void *rados = open_lib(SONAME_rados);
	void *rbd = rados ? open_lib(SONAME_rbd) : NULL;
	void *sym;

	if (!rbd)
		return;
	/* POSIX guarantees a dlsym() result converts to a function pointer */
#define RBD_LIB_RESOLVE(lib, fn) \
	if (!(sym = resolve(lib, SONAME_##lib, #fn))) \
		goto fail; \
	rbd_lib.fn = (__typeof__(rbd_lib.fn))sym;
	RBD_LIB_FUNCS(RBD_LIB_RESOLVE)
#undef RBD_LIB_RESOLVE
	return;
fail:
	memset(&rbd_lib, 0, sizeof(rbd_lib));
}

int rbd_lib_load(const char *url)
{
	pthread_once(&load_once, load);
	if (load_ret < 0)
		return err_set(load_ret, url, "%s", load_msg);
	return 0;
}
#endif /* HAVE_LIBRBD */
