/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * err.c - thread-local error message (see err.h for the convention).
 */
#include "err.h"

#include <stdio.h>
#include <string.h>

static _Thread_local char err_buf[ERR_MSG_MAX];
/* a fixed second line (never a name from an image: those stay on the one line
 * the CLI escapes), as some qemu-img messages have */
static _Thread_local const char *err_hint_text;

int err_vset(int ret, const char *where, const char *fmt, va_list ap)
{
	/* Format into a scratch buffer first: the arguments may point into err_buf
	 * (a caller adding the file name to a lower layer's message). */
	char tmp[ERR_MSG_MAX];
	size_t n = 0;

	if (where && *where)
		n = (size_t)snprintf(tmp, sizeof(tmp), "%s: ", where);
	if (n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	vsnprintf(tmp + n, sizeof(tmp) - n, fmt, ap);
	memcpy(err_buf, tmp, sizeof(err_buf));
	return ret;
}

int err_set(int ret, const char *where, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(ret, where, fmt, ap);
	va_end(ap);
	return ret;
}

int err_set_default(int ret, const char *where, const char *fmt, ...)
{
	va_list ap;

	if (err_buf[0])
		return ret;
	va_start(ap, fmt);
	err_vset(ret, where, fmt, ap);
	va_end(ap);
	return ret;
}

const char *err_get(void)
{
	return err_buf;
}

bool err_is_set(void)
{
	return err_buf[0] != '\0';
}

void err_clear(void)
{
	err_buf[0] = '\0';
	err_hint_text = NULL;
}

int err_hint(int ret, const char *line)
{
	err_hint_text = line;
	return ret;
}

const char *err_get_hint(void)
{
	return err_buf[0] ? err_hint_text : NULL;
}

void err_copy(const char *msg)
{
	snprintf(err_buf, sizeof(err_buf), "%s", msg ? msg : "");
}

int err_reword_open(int ret, const char *name)
{
	char rest[ERR_MSG_MAX], out[2 * ERR_MSG_MAX + 32];
	size_t n = strlen(name);
	const char *msg = err_buf;

	if (!strncmp(msg, "Could not open '", 16))
		return ret;
	if (!strncmp(msg, name, n) && !strncmp(msg + n, ": ", 2))
		msg += n + 2;
	snprintf(rest, sizeof(rest), "%s", msg[0] ? msg : strerror(-ret));
	snprintf(out, sizeof(out), "Could not open '%s': %s", name, rest);
	n = strnlen(out, ERR_MSG_MAX - 1);   /* cut like every message */
	memcpy(err_buf, out, n);
	err_buf[n] = '\0';
	return ret;
}
