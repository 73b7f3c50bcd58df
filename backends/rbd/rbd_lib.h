/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rbd_lib.h - librbd and librados, loaded with dlopen() when an rbd: name is
 * first opened.
 *
 * Linking them directly drags libceph-common, boost and libstdc++ into every
 * imgtool process and costs ~15 ms of dynamic loading before main(), even for
 * "imgtool --version".  The headers are still used for the types and the
 * prototypes: each pointer's type is __typeof__ the real function, so a
 * signature cannot drift from the installed headers.
 */
#ifndef IMGTOOL_RBD_LIB_H
#define IMGTOOL_RBD_LIB_H

#include <rados/librados.h>
#include <rbd/librbd.h>

/* Every function rbd.c calls, by library. */
#define RADOS_LIB_FUNCS(X) \
	X(rados_create) \
	X(rados_conf_read_file) \
	X(rados_conf_parse_env) \
	X(rados_conf_set) \
	X(rados_connect) \
	X(rados_ioctx_create) \
	X(rados_ioctx_set_namespace) \
	X(rados_ioctx_destroy) \
	X(rados_shutdown)

#define RBD_LIB_FUNCS(X) \
	X(rbd_open) \
	X(rbd_open_read_only) \
	X(rbd_close) \
	X(rbd_image_options_create) \
	X(rbd_image_options_destroy) \
	X(rbd_create4) \
	X(rbd_resize) \
	X(rbd_get_size) \
	X(rbd_read) \
	X(rbd_write) \
	X(rbd_flush) \
	X(rbd_write_zeroes) \
	X(rbd_discard)

struct rbd_lib {
#define RBD_LIB_MEMBER(fn) __typeof__(&fn) fn;
	RADOS_LIB_FUNCS(RBD_LIB_MEMBER)
	RBD_LIB_FUNCS(RBD_LIB_MEMBER)
#undef RBD_LIB_MEMBER
};

/* The resolved functions; valid only after rbd_lib_load() returned 0. */
extern struct rbd_lib rbd_lib;

/* Load both libraries and resolve every function, once per process (thread-safe).
 * Returns 0, or a negative errno with the message set against url. */
int rbd_lib_load(const char *url);

#endif
