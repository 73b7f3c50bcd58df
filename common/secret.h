/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * secret.h - qemu's "secret" objects (--object secret,id=ID,file=PATH|data=TEXT):
 * a process-wide table of passphrases looked up by id (key-secret=ID), and
 * memory that holds key material.
 *
 * Secret bytes live in pages excluded from core dumps (MADV_DONTDUMP) and locked
 * where the limit allows; they are wiped before the pages are returned, and the
 * whole table is wiped at exit.  Once a secret is defined the process is no
 * longer dumpable (PR_SET_DUMPABLE 0), so no core file holds a stray copy.
 */
#ifndef IMGTOOL_SECRET_H
#define IMGTOOL_SECRET_H

#include <stddef.h>

/* Define a secret from the text after "--object ": "secret,id=ID,file=PATH" or
 * "secret,id=ID,data=TEXT" (format=raw|base64 optional).  0, or -EINVAL/-errno
 * with the message set (never quoting the secret). */
int secret_define(const char *spec);
/* The bytes of secret id (not NUL-terminated inside; *len set): 0, or -ENOENT
 * with "No secret with id 'ID'". */
int secret_lookup(const char *id, const unsigned char **data, size_t *len);
/* Wipe and drop every secret (also registered with atexit). */
void secret_forget_all(void);

/* Zeroed memory for key material: not in core dumps, locked if possible. */
void *secure_alloc(size_t len);
/* Wipe and unmap what secure_alloc returned (NULL is fine). */
void secure_free(void *p, size_t len);

#endif
