/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * source_freeze.c - --source-freeze: a live P2V copy (-i disk ssh://root@srv/dev/sda)
 * made while the source machine's filesystems on that disk are frozen.
 *
 * What it guarantees: while frozen (fsfreeze -f, the FIFREEZE ioctl) each
 * filesystem has flushed its dirty data and journal and accepts no new writes
 * (writers block), so the copy holds every filesystem of the disk as it was at
 * one instant: crash-consistent, as after a power cut, with every write that
 * completed before the freeze.  Not more: applications' own buffers (a database
 * not told to checkpoint) and data not on a mounted filesystem (swap, raw
 * partitions, an unmounted LV) are not covered, and filesystems of other disks
 * are not frozen.  A frozen root filesystem stalls the source's writers for the
 * whole copy: that is the price of the guarantee.
 *
 * Always thawed: the freeze is held by one remote shell whose stdin is our SSH
 * channel.  It thaws when its stdin closes: at the end of the copy (failed or
 * not), and also when imgtool dies (Ctrl-C, kill -9: the kernel closes the
 * socket) or the link drops, because sshd then closes the channel.  The shell
 * ignores SIGHUP/INT/TERM/PIPE so that nothing can end it before the thaw.
 * Needs lsblk and fsfreeze (util-linux) on the source host, and root.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/net.h"
#include "backends/ssh/ssh_exec.h"
#include "common/err.h"
#include "v2v/v2v.h"

#define FREEZE_TIMEOUT_S 120   /* fsfreeze first flushes: may take a while */
#define THAW_TIMEOUT_S    60

/* The holder: freeze what is mounted from DEV (and its partitions and LVs),
 * say so, wait for stdin to close, thaw.  %s: the device, shell-quoted. */
static const char holder_fmt[] =
	"trap '' HUP INT TERM PIPE\n"
	"command -v fsfreeze >/dev/null && command -v lsblk >/dev/null ||"
	" { echo 'needs fsfreeze and lsblk (util-linux) on the source host' >&2; exit 2; }\n"
	"set -f\n"
	"IFS='\n'\n"
	"mps=$(lsblk -nlpo MOUNTPOINT %s | grep '^/')\n"
	"frozen=\n"
	"for m in $mps; do\n"
	"  if ! fsfreeze -f \"$m\"; then\n"
	"    for t in $frozen; do fsfreeze -u \"$t\"; done\n"
	"    exit 3\n"
	"  fi\n"
	"  frozen=\"$m\n$frozen\"\n"
	"done\n"
	"printf 'frozen'; for m in $mps; do printf ' %%s' \"$m\"; done; echo\n"
	"read -r _ || :\n"
	"rc=0\n"
	"for t in $frozen; do fsfreeze -u \"$t\" || rc=4; done\n"
	"exit $rc\n";

struct freeze_one {
	struct ssh_remote *remote;
	struct ssh_job *job;
	char *shown;            /* the disk's URL, masked */
	char mounts[600];       /* what was frozen, as the holder said */
};

struct v2v_freeze {
	int n;
	struct freeze_one *one;
};

static void append(char *detail, size_t dlen, const char *fmt, const char *a, const char *b)
{
	size_t used = strlen(detail);

	if (used < dlen)
		snprintf(detail + used, dlen - used, fmt, a, b);
}

static int freeze_disk(const char *url, struct freeze_one *f)
{
	struct ssh_url_parts u;
	char *dev = NULL, *cmd = NULL, line[600];
	int ret;

	f->shown = net_url_mask(url);
	if (!f->shown)
		return err_set(-ENOMEM, NULL, "out of memory");
	if (strncmp(url, "ssh://", 6))
		return err_set(-EINVAL, f->shown,
			       "--source-freeze needs ssh:// source disks (the filesystems are frozen over SSH on their host)");
	ret = ssh_url_parse(url, &u);
	if (ret == 0 && (!(dev = ssh_shell_quote(u.path)) ||
			 asprintf(&cmd, holder_fmt, dev) < 0)) {
		cmd = NULL;
		ret = err_set(-ENOMEM, f->shown, "out of memory");
	}
	ssh_url_free(&u);
	free(dev);
	if (ret == 0)
		ret = ssh_remote_open(url, &f->remote);
	if (ret == 0)
		ret = ssh_remote_spawn(f->remote, cmd, &f->job);
	free(cmd);
	if (ret == 0)
		ret = ssh_job_read_line(f->job, line, sizeof(line), FREEZE_TIMEOUT_S);
	if (ret == 0 && strncmp(line, "frozen", 6))
		ret = err_set(-EIO, f->shown, "--source-freeze: unexpected answer '%s'", line);
	if (ret < 0) {
		/* the holder thaws whatever it froze when its stdin closes */
		if (f->job) {
			int st;
			ssh_job_finish(f->job, THAW_TIMEOUT_S, &st, NULL, 0);
			f->job = NULL;
		}
		return err_set_default(ret, f->shown, "--source-freeze failed");
	}
	snprintf(f->mounts, sizeof(f->mounts), "%s", line[6] ? line + 7 : "");
	return 0;
}

int v2v_freeze_begin(const struct v2v_source *src, struct v2v_freeze **out, char *detail,
		     size_t dlen)
{
	struct v2v_freeze *fz = calloc(1, sizeof(*fz));
	int ret = 0;

	detail[0] = '\0';
	if (fz)
		fz->one = calloc((size_t)src->nb_disks, sizeof(*fz->one));
	if (!fz || !fz->one) {
		free(fz);
		return err_set(-ENOMEM, NULL, "out of memory");
	}
	for (int i = 0; i < src->nb_disks && ret == 0; i++) {
		struct freeze_one *f = &fz->one[i];

		fz->n = i + 1;
		ret = freeze_disk(src->disks[i].path, f);
		if (ret == 0)
			append(detail, dlen, "%s%s", i ? "; " : "",
			       f->mounts[0] ? f->mounts : "nothing mounted");
	}
	if (ret < 0) {
		char ignored[8];
		v2v_freeze_end(fz, ignored, sizeof(ignored));
		return ret;
	}
	*out = fz;
	return 0;
}

int v2v_freeze_end(struct v2v_freeze *fz, char *detail, size_t dlen)
{
	int ret = 0;

	detail[0] = '\0';
	for (int i = 0; i < fz->n; i++) {
		struct freeze_one *f = &fz->one[i];
		char err[256] = "";
		int st = -1, r = 0;

		if (f->job) {
			r = ssh_job_finish(f->job, THAW_TIMEOUT_S, &st, err, sizeof(err));
			if (r == 0 && st != 0)
				r = err_set(-EIO, f->shown, "--source-freeze: thawing failed (status %d): %s",
					    st, err[0] ? err : "(no message)");
			if (r == 0)
				append(detail, dlen, "%s%s", i ? "; " : "",
				       f->mounts[0] ? f->mounts : "nothing mounted");
		}
		if (r < 0 && ret == 0)
			ret = r;
		ssh_remote_close(f->remote);
		free(f->shown);
	}
	free(fz->one);
	free(fz);
	return ret;
}
