/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sync_remote.h - the digest stream of an ssh:// source made where the source
 * lives: `PATH sync --print-digests` runs on the source host over the ssh exec
 * channel (backends/ssh/ssh_exec.h) and its stdout feeds a digest reader here, so
 * that sync_run() reads over SSH only the blocks whose digests differ
 * (`imgtool sync --remote-imgtool PATH`, warm migration passes).
 */
#ifndef IMGTOOL_SYNC_REMOTE_H
#define IMGTOOL_SYNC_REMOTE_H

#include <stdint.h>

#include "convert/sync_digests.h"

struct sync_remote;

/* Start PATH (imgtool on the host of ssh:// url) printing the digests of url's
 * path (format fmt, NULL: probed; block_size 0: the default) and open a reader
 * on its output in *reader. */
int sync_remote_open(const char *url, const char *imgtool_path, const char *fmt,
		     uint32_t block_size, struct sync_remote **out,
		     struct digest_reader **reader);

/* Wait for the remote command and free r (NULL is fine).  ret is the caller's
 * result so far; returned unless the remote command failed, whose error (one
 * line naming the URL, with the start of its stderr) takes its place. */
int sync_remote_finish(struct sync_remote *r, int ret);

#endif
