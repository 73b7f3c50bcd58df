/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * err.h - one error message per thread, set once where the problem is understood.
 *
 * Functions across imgtool return 0 or a negative errno.  The function that first
 * understands *why* something failed attaches a human message with err_set(); the
 * callers above it only propagate the errno.  The CLI then prints
 * "imgtool: <message>" where the message already names the file.
 *
 * The message lives in thread-local storage so that copy-engine workers do not race;
 * the engine copies a worker's message to the caller's thread (err_copy/err_get).
 */
#ifndef IMGTOOL_ERR_H
#define IMGTOOL_ERR_H

#include <stdarg.h>
#include <stdbool.h>

#define ERR_MSG_MAX 1024

/* Set the thread's message to "<where>: <fmt...>" (where may be NULL) and return ret
 * (a negative errno), so that callers can write: return err_set(-EINVAL, path, "..."); */
int err_set(int ret, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int err_vset(int ret, const char *where, const char *fmt, va_list ap);

/* The same, but only if no message is set yet (for a generic fallback). */
int err_set_default(int ret, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Reword the message as qemu-img's "Could not open 'NAME': reason" (scripts grep
 * for it): a message that starts with "NAME: " loses that prefix.  Returns ret. */
int err_reword_open(int ret, const char *name);

/* The current thread's message, or "" when none. */
const char *err_get(void);
/* A second line for the message just set: a string constant, printed as it is
 * (names from images belong in the message, which the CLI escapes).  Returns
 * ret; err_get_hint() is NULL when there is none. */
int err_hint(int ret, const char *line);
const char *err_get_hint(void);
bool err_is_set(void);
void err_clear(void);
/* Replace the current thread's message with msg (used to carry a worker's message). */
void err_copy(const char *msg);

#endif
