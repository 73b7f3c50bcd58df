/*
 * ova_dl.c - load libxml2 and libcrypto at run time for -i ova (see ova_dl.h for
 * why they are not linked): every function in the lists is resolved, or none is
 * used.
 */
#define OVA_DL_IMPL 1
#include "v2v/input/ova_dl.h"

#ifdef HAVE_OVA

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"

#define XML_SONAME "libxml2.so.2"
#define CRYPTO_SONAME "libcrypto.so.3"

#define OVA_DL_DEFINE(n) __typeof__(n) *ova_dl_##n;
OVA_DL_XML_FUNCS(OVA_DL_DEFINE)
OVA_DL_CRYPTO_FUNCS(OVA_DL_DEFINE)

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_ret;
static char load_msg[512];

static void *open_lib(const char *soname, const char *package)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		load_ret = -ENOTSUP;
		snprintf(load_msg, sizeof(load_msg), "cannot load %s (apt-get install %s): %s",
			 soname, package, dlerror());
	}
	return h;
}

static void load(void)
{
	void *xml = open_lib(XML_SONAME, "libxml2");
	void *crypto = xml ? open_lib(CRYPTO_SONAME, "libssl3") : NULL;
	void *sym;

	if (!crypto)
		return;
	/* POSIX guarantees a dlsym() result converts to a function pointer */
#define OVA_DL_RESOLVE(lib, soname, n) \
	if (!(sym = dlsym(lib, #n))) { \
		load_ret = -ENOTSUP; \
		snprintf(load_msg, sizeof(load_msg), soname " has no " #n "()"); \
		return; \
	} \
	ova_dl_##n = (__typeof__(ova_dl_##n))sym;
#define OVA_DL_RESOLVE_XML(n) OVA_DL_RESOLVE(xml, XML_SONAME, n)
#define OVA_DL_RESOLVE_CRYPTO(n) OVA_DL_RESOLVE(crypto, CRYPTO_SONAME, n)
	OVA_DL_XML_FUNCS(OVA_DL_RESOLVE_XML)
	OVA_DL_CRYPTO_FUNCS(OVA_DL_RESOLVE_CRYPTO)
#undef OVA_DL_RESOLVE
}

int ova_dl_load(void)
{
	pthread_once(&load_once, load);
	if (load_ret)
		return err_set(load_ret, NULL, "%s", load_msg);
	return 0;
}

#endif
