/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * newfile.h - create a file that must not exist yet.  Outputs that must never
 * overwrite anything (v2v's disks and NAME.xml/NAME.sh) are created with O_EXCL:
 * a check-then-create leaves a window in which a file appearing under the name
 * would be truncated; O_EXCL (with O_NOFOLLOW: not even a symlink's target) makes
 * the kernel refuse an existing name atomically.
 */
#ifndef IMGTOOL_NEWFILE_H
#define IMGTOOL_NEWFILE_H

/* Create path (mode, less the umask), open for reading and writing.  Returns the
 * descriptor, or a negative errno with the message set ("already exists" for
 * -EEXIST). */
int newfile_create(const char *path, int mode);

#endif
