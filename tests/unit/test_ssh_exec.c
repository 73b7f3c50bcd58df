/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_ssh_exec.c - CUnit tests for ssh:// URLs (backends/net.c) and the remote
 * command API (backends/ssh/ssh_exec.h).
 *
 * The URL and quoting tests always run.  The command tests need a real sshd:
 * tests/backends/run.sh runs this binary inside its server namespace with
 * SSH_URL, SSH_KEY and SSH_KNOWN_HOSTS set (tests/servers/lib.sh start_sshd);
 * elsewhere (make check-unit) they are counted as skipped.
 */

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backends/net.h"
#include "backends/ssh/ssh_exec.h"
#include "common/err.h"
#include "tests/unit/unit.h"

static void test_ssh_url_parse(void)
{
	struct ssh_url_parts u;

	CU_ASSERT_EQUAL_FATAL(ssh_url_parse("ssh://alice@h.example:2200/vmfs/volumes/ds%201/x.vmdk?identity=/k&known-hosts=/kh&host-key=SHA256:abc&password-file=/pw", &u), 0);
	CU_ASSERT_STRING_EQUAL(u.user, "alice");
	CU_ASSERT_STRING_EQUAL(u.host, "h.example");
	CU_ASSERT_EQUAL(u.port, 2200);
	CU_ASSERT_STRING_EQUAL(u.path, "/vmfs/volumes/ds 1/x.vmdk");
	CU_ASSERT_STRING_EQUAL(u.identity, "/k");
	CU_ASSERT_STRING_EQUAL(u.known_hosts, "/kh");
	CU_ASSERT_STRING_EQUAL(u.host_key, "SHA256:abc");
	CU_ASSERT_STRING_EQUAL(u.password_file, "/pw");
	ssh_url_free(&u);

	CU_ASSERT_EQUAL_FATAL(ssh_url_parse("ssh://[::1]/dev/sda", &u), 0);
	CU_ASSERT_PTR_NULL(u.user);
	CU_ASSERT_STRING_EQUAL(u.host, "::1");
	CU_ASSERT_EQUAL(u.port, 22);
	CU_ASSERT_STRING_EQUAL(u.path, "/dev/sda");
	ssh_url_free(&u);

	CU_ASSERT_EQUAL(ssh_url_parse("ssh://h", &u), -EINVAL);
	ssh_url_free(&u);
	CU_ASSERT_EQUAL(ssh_url_parse("ssh://h/", &u), 0);   /* a host only, for commands */
	ssh_url_free(&u);
	CU_ASSERT_EQUAL(ssh_url_parse("ssh://h/x?bogus=1", &u), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_get(), "unknown ssh URL option 'bogus'"));
	ssh_url_free(&u);
	CU_ASSERT_EQUAL(ssh_url_parse("ssh://h/x?host-key=MD5:aa", &u), -EINVAL);
	ssh_url_free(&u);
	CU_ASSERT_EQUAL(ssh_url_parse("ssh://h:0/x", &u), -EINVAL);
	ssh_url_free(&u);
}

/* A password in the URL is refused, and the message does not repeat it. */
static void test_ssh_url_password_refused(void)
{
	struct ssh_url_parts u;
	char *m;

	CU_ASSERT_EQUAL(ssh_url_parse("ssh://bob:Hunter2secret@h/x", &u), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_get(), "password-file"));
	CU_ASSERT_PTR_NULL(strstr(err_get(), "Hunter2secret"));
	ssh_url_free(&u);
	m = net_url_mask("ssh://bob:Hunter2secret@h/x?password-file=/p");
	CU_ASSERT_STRING_EQUAL(m, "ssh://bob:***@h/x?password-file=/p");
	free(m);
}

static void test_ssh_url_secrets(void)
{
	struct ssh_url_parts u;
	FILE *f = fopen(path_of("pw"), "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("filepass\n", f);
	fclose(f);
	setenv("IMGTOOL_SSH_PASSWORD", "envpass", 1);
	CU_ASSERT_EQUAL_FATAL(ssh_url_parse("ssh://h/x", &u), 0);
	CU_ASSERT_EQUAL(ssh_url_secrets(&u, "w"), 0);
	CU_ASSERT_STRING_EQUAL(u.password, "envpass");
	ssh_url_free(&u);
	{
		char url[600];
		snprintf(url, sizeof(url), "ssh://h/x?password-file=%s", path_of("pw"));
		CU_ASSERT_EQUAL_FATAL(ssh_url_parse(url, &u), 0);
	}
	CU_ASSERT_EQUAL(ssh_url_secrets(&u, "w"), 0);
	CU_ASSERT_STRING_EQUAL(u.password, "filepass");
	ssh_url_free(&u);
	unsetenv("IMGTOOL_SSH_PASSWORD");
	CU_ASSERT_EQUAL_FATAL(ssh_url_parse("ssh://h/x", &u), 0);
	CU_ASSERT_EQUAL(ssh_url_secrets(&u, "w"), 0);
	CU_ASSERT_PTR_NULL(u.password);
	ssh_url_free(&u);
}

static void test_shell_quote(void)
{
	char *q = ssh_shell_quote("a'b c");

	CU_ASSERT_STRING_EQUAL(q, "'a'\\''b c'");
	free(q);
	q = ssh_shell_quote("");
	CU_ASSERT_STRING_EQUAL(q, "''");
	free(q);
}

/* ---- remote commands (need SSH_URL) ---- */

static struct ssh_remote *remote;

/* false: no sshd here (the caller skips); else remote is connected */
static bool have_remote(void)
{
	const char *url = getenv("SSH_URL"), *key = getenv("SSH_KEY"), *kh = getenv("SSH_KNOWN_HOSTS");
	char full[1024];

	if (!url || !key || !kh)
		return false;
	if (!remote) {
		snprintf(full, sizeof(full), "%s/?identity=%s&known-hosts=%s", url, key, kh);
		CU_ASSERT_EQUAL(ssh_remote_open(full, &remote), 0);
		if (!remote)
			fprintf(stderr, "\n%s\n", err_get());
	}
	return true;
}

#define NEED_REMOTE()                                                                      \
	do {                                                                               \
		if (!have_remote())                                                        \
			UNIT_SKIP("no sshd (SSH_URL, SSH_KEY, SSH_KNOWN_HOSTS: run by tests/backends)"); \
		CU_ASSERT_PTR_NOT_NULL_FATAL(remote);                                      \
	} while (0)

struct sink {
	char buf[256];
	size_t len, total;
	int fail_with;
};

static int sink_out(void *opaque, const void *buf, size_t len)
{
	struct sink *s = opaque;
	size_t take = len < sizeof(s->buf) - 1 - s->len ? len : sizeof(s->buf) - 1 - s->len;

	if (s->fail_with)
		return s->fail_with;
	memcpy(s->buf + s->len, buf, take);
	s->len += take;
	s->buf[s->len] = 0;
	s->total += len;
	return 0;
}

static int exec_into(const char *cmd, struct sink *s, struct ssh_exec_io *io, int *status)
{
	io->out = sink_out;
	io->opaque = s;
	return ssh_remote_exec(remote, cmd, io, status);
}

static void test_exec_stdout_status(void)
{
	struct ssh_exec_io io = { 0 };
	struct sink s = { 0 };
	int st = -2;

	NEED_REMOTE();
	CU_ASSERT_EQUAL(exec_into("echo hello; exit 3", &s, &io, &st), 0);
	CU_ASSERT_STRING_EQUAL(s.buf, "hello\n");
	CU_ASSERT_EQUAL(st, 3);
	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL(exec_into("true", &s, &io, &st), 0);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_EQUAL(s.total, 0);
}

static void test_exec_stdin_stderr(void)
{
	struct ssh_exec_io io = { .in = "abc", .in_len = 3 };
	struct sink s = { 0 };
	int st = -2;

	NEED_REMOTE();
	CU_ASSERT_EQUAL(exec_into("cat; echo oops >&2; exit 1", &s, &io, &st), 0);
	CU_ASSERT_STRING_EQUAL(s.buf, "abc");
	CU_ASSERT_STRING_EQUAL(io.err, "oops\n");
	CU_ASSERT_EQUAL(st, 1);
}

/* Much more output than the channel window, on both streams at once. */
static void test_exec_large_output(void)
{
	struct ssh_exec_io io = { 0 };
	struct sink s = { 0 };
	int st = -2;

	NEED_REMOTE();
	CU_ASSERT_EQUAL(exec_into("head -c 3000000 /dev/zero >&2 & head -c 5000000 /dev/zero; wait",
				  &s, &io, &st), 0);
	CU_ASSERT_EQUAL(s.total, 5000000);
	CU_ASSERT_EQUAL(st, 0);
}

static void test_exec_quoted_argument(void)
{
	const char *nasty = "it's $(touch /tmp/pwned) `x` \"q\" ; |";
	struct ssh_exec_io io = { 0 };
	struct sink s = { 0 };
	char cmd[512], *q;
	int st = -2;

	NEED_REMOTE();
	q = ssh_shell_quote(nasty);
	snprintf(cmd, sizeof(cmd), "printf %%s %s", q);
	free(q);
	CU_ASSERT_EQUAL(exec_into(cmd, &s, &io, &st), 0);
	CU_ASSERT_STRING_EQUAL(s.buf, nasty);
	CU_ASSERT_EQUAL(st, 0);
}

static void test_exec_to_fd(void)
{
	struct ssh_exec_io io = { .out = ssh_exec_write_fd };
	char buf[32] = { 0 };
	int fd, st = -2;
	FILE *f;

	NEED_REMOTE();
	fd = open(path_of("out"), O_CREAT | O_TRUNC | O_WRONLY, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	io.opaque = &fd;
	CU_ASSERT_EQUAL(ssh_remote_exec(remote, "echo to-a-file", &io, &st), 0);
	close(fd);
	f = fopen(path_of("out"), "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_PTR_NOT_NULL(fgets(buf, sizeof(buf), f));
	fclose(f);
	CU_ASSERT_STRING_EQUAL(buf, "to-a-file\n");
	CU_ASSERT_EQUAL(st, 0);
}

/* A silent command is given up after idle_timeout; the callback's error stops a
 * command; the connection still runs the next one. */
static void test_exec_timeout_and_abort(void)
{
	struct ssh_exec_io io = { .idle_timeout = 1 };
	struct sink s = { 0 };
	time_t t0 = time(NULL);
	int st = -2;

	NEED_REMOTE();
	CU_ASSERT_EQUAL(exec_into("sleep 6", &s, &io, &st), -ETIMEDOUT);
	CU_ASSERT(time(NULL) - t0 <= 4);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_get(), "gave no output"));
	s.fail_with = -EPIPE;
	io.idle_timeout = 0;
	CU_ASSERT_EQUAL(exec_into("yes", &s, &io, &st), -EPIPE);
	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL(exec_into("echo again", &s, &io, &st), 0);
	CU_ASSERT_STRING_EQUAL(s.buf, "again\n");
}

static void test_remote_refused(void)
{
	const char *url = getenv("SSH_URL"), *kh = getenv("SSH_KNOWN_HOSTS");
	struct ssh_remote *r = NULL;
	char full[1024];

	if (!url || !kh)
		UNIT_SKIP("no sshd (SSH_URL: run by tests/backends)");
	snprintf(full, sizeof(full), "%s/?identity=%s&known-hosts=%s", url, path_of("nokey"), kh);
	CU_ASSERT_EQUAL(ssh_remote_open(full, &r), -EACCES);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_get(), "cannot read the private key"));
	snprintf(full, sizeof(full), "%s/?host-key=SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", url);
	CU_ASSERT_EQUAL(ssh_remote_open(full, &r), -EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_get(), "host key mismatch"));
}

static void test_close(void)
{
	ssh_remote_close(remote);
	remote = NULL;
}

static const struct unit_test ssh_tests[] = {
	{ "ssh URL", test_ssh_url_parse },
	{ "ssh URL: no password inside", test_ssh_url_password_refused },
	{ "ssh password from env and file", test_ssh_url_secrets },
	{ "shell quoting", test_shell_quote },
	{ "exec: stdout and exit status", test_exec_stdout_status },
	{ "exec: stdin and stderr", test_exec_stdin_stderr },
	{ "exec: large output on both streams", test_exec_large_output },
	{ "exec: a quoted argument arrives intact", test_exec_quoted_argument },
	{ "exec: output into a file descriptor", test_exec_to_fd },
	{ "exec: idle timeout and abort", test_exec_timeout_and_abort },
	{ "exec: refused key and host key", test_remote_refused },
	{ "close", test_close },
};

UNIT_MAIN("ssh_exec", ssh_tests, NULL)
