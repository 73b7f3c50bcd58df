/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dl.h - the one loader for the libraries imgtool dlopen()s at first use instead of
 * linking: libguestfs (guest/guest_dl.c), libxml2 and libcrypto (v2v/input/ova_dl.c),
 * libiscsi (backends/iscsi/iscsi_lib.c), librados and librbd (backends/rbd/rbd_lib.c).
 * Linked, each would load dozens of libraries into every imgtool command, even
 * `imgtool --version`; loaded here, only the command that needs one pays for it.
 *
 * A user of this file keeps only its own symbol table: which library (the ABI
 * sonames, so that only the runtime package is needed), the Debian package that
 * ships it, and {symbol name, pointer to fill}.  dl_load() then does the rest once
 * per process, whichever thread asks first: every library is opened and every
 * symbol resolved, or nothing is kept (every handle closed, every pointer NULL) and
 * each caller gets the same message: "<lib> is not installed (apt-get install
 * <package>)", or the symbol the installed version lacks.
 */
#ifndef IMGTOOL_DL_H
#define IMGTOOL_DL_H

#include <pthread.h>
#include <stdbool.h>

#define DL_MAX_LIBS 4

/* One symbol: its name in the library, and the address of the pointer (function or
 * data pointer) that receives it. */
struct dl_sym {
	const char *name;
	void *slot;
};

/* One library. */
struct dl_lib {
	const char *name;            /* in messages: "libguestfs" */
	const char *sonames[4];      /* tried in order, NULL-terminated */
	const char *package;         /* the Debian package that ships it */
	const struct dl_sym *syms;   /* ends with an entry whose name is NULL */
};

/* Libraries loaded together (all or none), at most once per process.  Define one
 * with DL_LOADER() in static storage; the fields after errcode are dl_load()'s. */
struct dl_loader {
	const struct dl_lib *libs;   /* ends with an entry whose name is NULL */
	int errcode;                 /* the negative errno callers get on failure */
	pthread_mutex_t lock;
	bool tried;
	int ret;
	char msg[512];
	void *handles[DL_MAX_LIBS];
};

#define DL_LOADER(libs_, errcode_) \
	{ .libs = (libs_), .errcode = (errcode_), .lock = PTHREAD_MUTEX_INITIALIZER }

/* Load every library of l and resolve every symbol, the first time only.  Returns 0,
 * or l->errcode with the message set against where (may be NULL), on every call. */
int dl_load(struct dl_loader *l, const char *where);

#endif
