/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nbd_spawn.c - a private NBD server for the launcher, for images qemu cannot
 * open itself (a URL scheme or format its build lacks): the server runs in a
 * child process on a unix socket in a fresh 0700 folder, in its own process
 * group (a Ctrl-C on the terminal goes to the launcher, which stops qemu first
 * and then the server), with PR_SET_PDEATHSIG so that it flushes and exits even
 * if the launcher is killed.
 */
#include "nbd_server.h"
#include "../common/err.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STOP_GRACE_MS 10000

static void child(const char *image, const char *fmt, bool read_only, const char *sock,
		  int ready_fd, pid_t parent)
{
	struct nbd_serve_opts o = {
		.image = image, .format = fmt, .read_only = read_only,
		.socket_path = sock, .shared = 4, .ready_fd = ready_fd, .quiet = true,
	};
	int r;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(1);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	r = nbd_serve(&o);
	if (r < 0)
		fprintf(stderr, "imgtool: %s\n", err_get());
	fflush(NULL);
	_exit(r < 0 ? 1 : 0);
}

int nbd_spawn(const char *image, const char *fmt, bool read_only, char **sock, pid_t *pid)
{
	char dir[] = "/tmp/imgtool-nbd.XXXXXX";
	pid_t parent = getpid(), p;
	int pfd[2], r;
	char ready;

	if (!mkdtemp(dir))
		return err_set(-errno, dir, "cannot create the NBD socket folder: %s",
			       strerror(errno));
	if (asprintf(sock, "%s/nbd.sock", dir) < 0) {
		rmdir(dir);
		return err_set(-ENOMEM, NULL, "out of memory");
	}
	if (pipe2(pfd, O_CLOEXEC)) {
		r = err_set(-errno, NULL, "pipe: %s", strerror(errno));
		goto fail;
	}
	fflush(NULL);
	p = fork();
	if (p < 0) {
		r = err_set(-errno, NULL, "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		goto fail;
	}
	if (p == 0) {
		close(pfd[0]);
		child(image, fmt, read_only, *sock, pfd[1], parent);
	}
	setpgid(p, p);
	close(pfd[1]);
	/* one byte once it listens; end of file when it failed (it said why) */
	while ((r = (int)read(pfd[0], &ready, 1)) < 0 && errno == EINTR)
		;
	close(pfd[0]);
	if (r != 1) {
		waitpid(p, NULL, 0);
		r = err_set(-EIO, image, "the NBD server for the image did not start");
		goto fail;
	}
	*pid = p;
	return 0;
fail:
	unlink(*sock);
	rmdir(dir);
	free(*sock);
	*sock = NULL;
	return r;
}

void nbd_spawn_stop(pid_t pid, char *sock)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int status;

	if (pid > 0) {
		kill(pid, SIGTERM);
		for (int i = 0; i < STOP_GRACE_MS / 10; i++) {
			if (waitpid(pid, &status, WNOHANG) == pid) {
				pid = 0;
				break;
			}
			nanosleep(&ts, NULL);
		}
		if (pid) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
		}
	}
	if (sock) {
		char *slash = strrchr(sock, '/');

		unlink(sock);
		if (slash) {
			*slash = '\0';
			rmdir(sock);
		}
		free(sock);
	}
}
