/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_ssh_freeze.c - v2v --source-freeze (v2v/source_freeze.c) on a real
 * filesystem over a real sshd: frozen while held (a second FIFREEZE fails with
 * EBUSY), thawed after, thawed by itself when the holder's process is killed
 * (the link drops), and non-ssh:// disks refused.
 *
 * tests/backends/ssh.sh runs it in the servers' private namespaces with an ext4
 * on a loop device mounted there: SSH_FREEZE_DEV (the device) and SSH_FREEZE_MNT
 * (its mountpoint), SSH_URL, SSH_KEY, SSH_KNOWN_HOSTS.  Without them the tests
 * are counted as skipped.
 */

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "v2v/input/input.h"
#include "v2v/v2v.h"
#include "tests/unit/unit.h"

static char url[1024];
static const char *mnt;

static bool have_env(void)
{
	const char *u = getenv("SSH_URL"), *k = getenv("SSH_KEY"), *kh = getenv("SSH_KNOWN_HOSTS");
	const char *dev = getenv("SSH_FREEZE_DEV");

	mnt = getenv("SSH_FREEZE_MNT");
	if (!u || !k || !kh || !dev || !mnt)
		return false;
	snprintf(url, sizeof(url), "%s%s?identity=%s&known-hosts=%s", u, dev, k, kh);
	return true;
}

#define NEED_ENV()                                                                       \
	do {                                                                             \
		if (!have_env())                                                         \
			UNIT_SKIP("no sshd and loop device (SSH_FREEZE_DEV: run by tests/backends)"); \
	} while (0)

/* A second freeze fails (EBUSY) exactly while the filesystem is frozen. */
static bool is_frozen(void)
{
	if (run("fsfreeze -f '%s'", mnt) == 0) {
		run("fsfreeze -u '%s'", mnt);
		return false;
	}
	return true;
}

static void one_disk(struct v2v_source *s, struct v2v_disk *d, const char *path)
{
	memset(s, 0, sizeof(*s));
	memset(d, 0, sizeof(*d));
	d->path = (char *)path;
	s->disks = d;
	s->nb_disks = 1;
}

static void test_freeze_and_thaw(void)
{
	struct v2v_source s;
	struct v2v_disk d;
	struct v2v_freeze *fz = NULL;
	char detail[1024];

	NEED_ENV();
	CU_ASSERT_FALSE(is_frozen());
	one_disk(&s, &d, url);
	if (v2v_freeze_begin(&s, &fz, detail, sizeof(detail)) < 0)
		fprintf(stderr, "\n%s\n", err_get());
	CU_ASSERT_PTR_NOT_NULL_FATAL(fz);
	CU_ASSERT_PTR_NOT_NULL(strstr(detail, mnt));
	CU_ASSERT_TRUE(is_frozen());
	CU_ASSERT_EQUAL(v2v_freeze_end(fz, detail, sizeof(detail)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(detail, mnt));
	CU_ASSERT_FALSE(is_frozen());
	CU_ASSERT_EQUAL(run("echo written > '%s/after-thaw'", mnt), 0);
}

/* The holder's process dies without a word (as on Ctrl-C or kill -9, or a dropped
 * link): the source thaws by itself. */
static void test_thaw_when_killed(void)
{
	int pfd[2];
	char c = 0;
	pid_t pid;

	NEED_ENV();
	CU_ASSERT_EQUAL_FATAL(pipe(pfd), 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		struct v2v_source s;
		struct v2v_disk d;
		struct v2v_freeze *fz;
		char detail[1024];

		one_disk(&s, &d, url);
		c = v2v_freeze_begin(&s, &fz, detail, sizeof(detail)) == 0 ? 'y' : 'n';
		if (write(pfd[1], &c, 1) != 1)
			_exit(2);
		pause();
		_exit(0);
	}
	close(pfd[1]);
	CU_ASSERT_EQUAL(read(pfd[0], &c, 1), 1);
	close(pfd[0]);
	CU_ASSERT_EQUAL(c, 'y');
	CU_ASSERT_TRUE(is_frozen());
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	for (int i = 0; i < 100 && is_frozen(); i++)
		usleep(100 * 1000);
	CU_ASSERT_FALSE(is_frozen());
}

static void test_refuses_local_disk(void)
{
	struct v2v_source s;
	struct v2v_disk d;
	struct v2v_freeze *fz = NULL;
	char detail[256];

	one_disk(&s, &d, "/dev/sda");
	CU_ASSERT_EQUAL(v2v_freeze_begin(&s, &fz, detail, sizeof(detail)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_get(), "needs ssh:// source disks"));
	CU_ASSERT_PTR_NULL(fz);
}

static const struct unit_test freeze_tests[] = {
	{ "local disks refused", test_refuses_local_disk },
	{ "frozen while held, thawed after", test_freeze_and_thaw },
	{ "thawed by itself when imgtool dies", test_thaw_when_killed },
};

UNIT_MAIN("ssh_freeze", freeze_tests, NULL)
