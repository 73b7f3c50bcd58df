/*
 * iscsi_lib.c - resolves libiscsi at run time (see iscsi_lib.h).
 *
 * Loaded at most once per process and never unloaded: connections may outlive
 * any one image, and dlclose() buys nothing for a short-lived command.
 */
#ifdef HAVE_LIBISCSI
#include "iscsi_lib.h"
#include "../../common/err.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* the ABI version, so only the runtime package (libiscsi7) is needed */
#define ISCSI_SONAME "libiscsi.so.7"

struct iscsi_lib iscsi_lib;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_ret;               /* 0 or the negative errno every caller gets */
static char load_msg[512];         /* why loading failed, without the URL */

static void *resolve(void *h, const char *name)
{
	void *sym = dlsym(h, name);

	if (sym)
		return sym;
	load_ret = -EPROTONOSUPPORT;
	snprintf(load_msg, sizeof(load_msg),
		 ISCSI_SONAME " has no %s(): the installed libiscsi is too old", name);
	return NULL;
}

static void load(void)
{
	void *h = dlopen(ISCSI_SONAME, RTLD_NOW | RTLD_LOCAL);
	const char *e;
	void *sym;

	if (!h) {
		e = dlerror();
		load_ret = -EPROTONOSUPPORT;
		/* a missing file is the common case; anything else (a broken
		 * install, a missing dependency) is worth showing verbatim */
		if (!e || (strstr(e, ISCSI_SONAME) && strstr(e, "No such file")))
			snprintf(load_msg, sizeof(load_msg),
				 "libiscsi is not installed (apt-get install libiscsi7)");
		else
			snprintf(load_msg, sizeof(load_msg), "cannot load libiscsi: %s", e);
		return;
	}
	/* POSIX guarantees a dlsym() result converts to a function pointer */
#define ISCSI_LIB_RESOLVE(fn) \
	if (!(sym = resolve(h, #fn))) \
		goto fail; \
	iscsi_lib.fn = (__typeof__(iscsi_lib.fn))sym;
	ISCSI_LIB_FUNCS(ISCSI_LIB_RESOLVE)
#undef ISCSI_LIB_RESOLVE
	return;
fail:
	memset(&iscsi_lib, 0, sizeof(iscsi_lib));
}

int iscsi_lib_load(const char *url)
{
	pthread_once(&load_once, load);
	if (load_ret < 0)
		return err_set(load_ret, url, "%s", load_msg);
	return 0;
}
#endif /* HAVE_LIBISCSI */
