/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * stop_source.c - a warm VM's cutover starts by stopping its source: the plan's
 * `stop_command`, run by /bin/sh -c with IMGTOOL_VM set to the VM's name (so that
 * one command under `defaults:` serves every VM), standard input from /dev/null
 * and its output kept for the message when it fails.  It must be safe to run
 * twice: a run killed while the command ran runs it again.
 *
 * Where it runs: for a VM whose disk is an ssh:// URL, on that host, through the
 * remote user's shell over the ssh backend's exec channel (the same key, host
 * key check and options as the copy; its stderr kept for the message); for
 * any other source here, on the conversion host, where a command like
 * `ssh root@esx vim-cmd vmsvc/power.off 12` reaches another host.
 */
#include "migrate/migrate.h"
#include "common/err.h"
#include "backends/ssh/ssh_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define TAIL 400   /* bytes of the command's output kept for the message */

/* environ plus IMGTOOL_VM=name (malloc'd array; entries borrowed but the last). */
static char **child_env(const char *name)
{
	size_t n = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0, k = 0; i < n; i++)
		if (strncmp(environ[i], "IMGTOOL_VM=", 11))
			env[k++] = environ[i];
	for (n = 0; env[n]; n++)
		;
	if (asprintf(&env[n], "IMGTOOL_VM=%s", name) < 0) {
		free(env);
		return NULL;
	}
	return env;
}

static void free_env(char **env)
{
	size_t n = 0;

	while (env[n])
		n++;
	if (n)
		free(env[n - 1]);   /* the IMGTOOL_VM entry, the only one allocated */
	free(env);
}

/* Read the child's output to its end, keeping the last TAIL bytes, one line. */
static void read_tail(int fd, char *tail)
{
	char buf[4096];
	size_t len = 0;
	ssize_t n;

	tail[0] = 0;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (len == TAIL) {
				memmove(tail, tail + 1, TAIL - 1);
				len--;
			}
			tail[len++] = buf[i];
		}
	}
	while (len && (tail[len - 1] == '\n' || tail[len - 1] == '\r'))
		len--;
	tail[len] = 0;
	for (size_t i = 0; i < len; i++)
		if (tail[i] == '\n' || tail[i] == '\r' || tail[i] == '\t')
			tail[i] = ' ';
}

static int run_local(const struct mig_vm *vm)
{
	char *argv[] = { "/bin/sh", "-c", vm->stop_command, NULL };
	char **env = child_env(vm->name), tail[TAIL + 1];
	posix_spawn_file_actions_t fa;
	int pipefd[2], status = 0, ret;
	pid_t pid;

	if (!env || pipe2(pipefd, O_CLOEXEC) < 0) {
		if (env)
			free_env(env);
		return err_set(-ENOMEM, vm->name, "cannot run the stop_command: %s", strerror(errno));
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	ret = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	free_env(env);
	if (ret) {
		close(pipefd[0]);
		return err_set(-ret, vm->name, "cannot run /bin/sh for the stop_command: %s",
			       strerror(ret));
	}
	read_tail(pipefd[0], tail);
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		return err_set(-EIO, vm->name, "stop_command failed (exit %d)%s%s: the source may "
			       "still run", WEXITSTATUS(status), tail[0] ? ": " : "", tail);
	return err_set(-EIO, vm->name, "stop_command killed by signal %d: the source may still run",
		       WTERMSIG(status));
}

/* "IMGTOOL_VM='name'; export IMGTOOL_VM; stop_command" on the ssh:// host of url */
static int run_remote(const struct mig_vm *vm, const char *url)
{
	struct ssh_exec_io io = { 0 };
	struct ssh_remote *r = NULL;
	char *qname = ssh_shell_quote(vm->name), *cmd = NULL, *nl;
	int status = 0, ret;

	if (!qname || asprintf(&cmd, "IMGTOOL_VM=%s; export IMGTOOL_VM; %s", qname,
			       vm->stop_command) < 0) {
		free(qname);
		return err_set(-ENOMEM, vm->name, "out of memory");
	}
	free(qname);
	ret = ssh_remote_open(url, &r);
	if (ret == 0)
		ret = ssh_remote_exec(r, cmd, &io, &status);
	ssh_remote_close(r);
	free(cmd);
	if (ret < 0)
		return ret;   /* the ssh layer's message names the URL */
	if (status == 0)
		return 0;
	nl = strchr(io.err, '\n');
	if (nl)
		*nl = '\0';
	if (status < 0)
		return err_set(-EIO, vm->name, "stop_command killed on the source host: the "
			       "source may still run");
	return err_set(-EIO, vm->name, "stop_command failed on the source host (exit %d)%s%s: "
		       "the source may still run", status, io.err[0] ? ": " : "", io.err);
}

int mig_stop_source(const struct mig_vm *vm)
{
	if (vm->nb_disks > 0 && !strncmp(vm->disks[0].source, "ssh://", 6))
		return run_remote(vm, vm->disks[0].source);
	return run_local(vm);
}
