/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * error.c - libimgtool's error-string API and version: the public face of
 * common/err.h's per-thread message.
 */
#include "handle.h"
#include "../common/err.h"

#include <string.h>

#ifndef IMGTOOL_VERSION_STRING
#error "IMGTOOL_VERSION_STRING comes from the Makefile (imgtool/cli.h's IMGTOOL_VERSION)"
#endif

const char *imgtool_version(void)
{
	return IMGTOOL_VERSION_STRING;
}

const char *imgtool_error(void)
{
	return err_get();
}

void api_begin(void)
{
	err_clear();
}

int api_end(int ret, const char *where)
{
	if (ret < 0)
		err_set_default(ret, where, "%s", strerror(-ret));
	return ret;
}
