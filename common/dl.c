/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dl.c - load a set of libraries and their symbols at first use (see dl.h).
 *
 * Once loaded, a library is never closed: a connection or a guest handle may live
 * as long as the process, and librados starts threads and registers C++ static
 * destructors, so unloading it while anything of it is alive would be unsafe.  A
 * load that fails part-way closes what it opened: nothing of it has run yet.
 */
#include "common/dl.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"

/* A slot receives a dlsym() result by memcpy: POSIX guarantees that a function
 * pointer and a void * have the same size and representation. */
_Static_assert(sizeof(void (*)(void)) == sizeof(void *), "function pointers are not void *");

/* Open the first of lib's sonames that loads; NULL with l->msg set when none does. */
static void *open_lib(struct dl_loader *l, const struct dl_lib *lib, const char **soname)
{
	bool missing = true;

	for (size_t i = 0; i < sizeof(lib->sonames) / sizeof(lib->sonames[0]) &&
			   lib->sonames[i]; i++) {
		void *h = dlopen(lib->sonames[i], RTLD_NOW | RTLD_LOCAL);
		const char *e;

		if (h) {
			*soname = lib->sonames[i];
			return h;
		}
		/* a missing file is the common case; anything else (a broken install, a
		 * missing dependency of the library) is worth showing verbatim */
		e = dlerror();
		if (e && !(strstr(e, lib->sonames[i]) && strstr(e, "No such file"))) {
			missing = false;
			snprintf(l->msg, sizeof(l->msg), "cannot load %s: %s", lib->name, e);
		}
	}
	if (missing)
		snprintf(l->msg, sizeof(l->msg), "%s is not installed (apt-get install %s)",
			 lib->name, lib->package);
	return NULL;
}

static int resolve(struct dl_loader *l, const struct dl_lib *lib, void *h, const char *soname)
{
	for (const struct dl_sym *s = lib->syms; s->name; s++) {
		void *sym = dlsym(h, s->name);

		if (!sym) {
			snprintf(l->msg, sizeof(l->msg), "%s has no %s(): the installed %s is "
				 "too old", soname, s->name, lib->name);
			return -1;
		}
		memcpy(s->slot, &sym, sizeof(sym));
	}
	return 0;
}

static int load_all(struct dl_loader *l)
{
	for (size_t i = 0; l->libs[i].name; i++) {
		const struct dl_lib *lib = &l->libs[i];
		const char *soname = NULL;

		if (i == DL_MAX_LIBS) {
			snprintf(l->msg, sizeof(l->msg), "%s: more than %d libraries in one "
				 "loader", lib->name, DL_MAX_LIBS);
			return -1;
		}
		l->handles[i] = open_lib(l, lib, &soname);
		if (!l->handles[i] || resolve(l, lib, l->handles[i], soname))
			return -1;
	}
	return 0;
}

/* After a failure: no handle kept, no pointer left half-filled. */
static void unload_all(struct dl_loader *l)
{
	static void *const null;

	for (size_t i = 0; l->libs[i].name && i < DL_MAX_LIBS; i++) {
		for (const struct dl_sym *s = l->libs[i].syms; s->name; s++)
			memcpy(s->slot, &null, sizeof(null));
		if (l->handles[i])
			dlclose(l->handles[i]);
		l->handles[i] = NULL;
	}
}

int dl_load(struct dl_loader *l, const char *where)
{
	int ret;

	pthread_mutex_lock(&l->lock);
	if (!l->tried) {
		l->tried = true;
		l->ret = load_all(l) ? l->errcode : 0;
		if (l->ret)
			unload_all(l);
	}
	ret = l->ret;
	pthread_mutex_unlock(&l->lock);
	/* l->msg no longer changes once tried is set */
	if (ret)
		return err_set(ret, where, "%s", l->msg);
	return 0;
}
