/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * newfile.c - exclusive creation of a file (see newfile.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "err.h"
#include "newfile.h"

int newfile_create(const char *path, int mode)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);

	if (fd >= 0)
		return fd;
	if (errno == EEXIST)
		return err_set(-EEXIST, path, "already exists (it is never overwritten)");
	return err_set(-errno, path, "cannot create: %s", strerror(errno));
}
