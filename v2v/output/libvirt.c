/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvirt.c - -o libvirt: the domain XML (domain_xml.c) written as DIR/NAME.xml,
 * then given to `virsh define` at the -oc URI (virsh's default without it).
 * libvirt is asked before any copy (precheck: the URI answers, no domain has the
 * guest's name there), so that an unreachable URI or a name already defined fails
 * in a second, not after the conversion; a name taken meanwhile still fails the
 * define at the end, which keeps the disks and the XML for a define by hand.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"
#include "v2v/output/output.h"

/* Keep virsh's last line: on failure it prints what it tried ("error: Failed to
 * define domain from X", "error: failed to connect to the hypervisor") and then
 * the cause, which is what the one-line message needs. */
static void last_line(char *out)
{
	size_t n = strlen(out);
	char *start;

	while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = '\0';
	start = strrchr(out, '\n');
	start = start ? start + 1 : out;
	if (!strncmp(start, "error: ", 7))
		start += 7;
	memmove(out, start, strlen(start) + 1);
}

/* Run `virsh -q [-c URI] ARGS...` (no shell: paths and names go as they are); -c
 * wins over virsh's environment (VIRSH_DEFAULT_CONNECT_URI, LIBVIRT_DEFAULT_URI),
 * which applies when uri is NULL.  Its last output line goes to out. */
static int run_virsh(const char *uri, const char *const *args, char *out, size_t len)
{
	const char *argv[10] = { "virsh", "-q" };
	int fds[2], st, n = 2;
	size_t got = 0;
	ssize_t k;
	pid_t pid;

	if (uri) {
		argv[n++] = "-c";
		argv[n++] = uri;
	}
	for (; *args && n < 9; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	if (pipe(fds))
		return -errno;
	pid = fork();
	if (pid < 0) {
		st = -errno;
		close(fds[0]);
		close(fds[1]);
		return st;
	}
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		execvp("virsh", (char *const *)argv);
		dprintf(2, "cannot run virsh: %s\n", strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	while ((k = read(fds[0], out + got, len - 1 - got)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			break;
		got += (size_t)k;
		if (got == len - 1) {   /* the rest is not needed: drain it */
			char sink[512];
			while (read(fds[0], sink, sizeof(sink)) > 0)
				;
			break;
		}
	}
	out[got] = '\0';
	close(fds[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	last_line(out);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

static const char *uri_shown(const char *uri)
{
	return uri ? uri : "virsh's default URI";
}

static int check_libvirt(const struct v2v_params *p, const char *name)
{
	const char *uri = p->libvirt_uri;
	char out[1024];
	const char *uri_args[] = { "uri", NULL };
	const char *dom_args[] = { "domuuid", "--domain", name, NULL };

	if (run_virsh(uri, uri_args, out, sizeof(out)))
		return err_set(-EHOSTUNREACH, uri_shown(uri), "cannot connect to libvirt (-oc URI): %s; "
			       "nothing was converted", *out ? out : "no output");
	if (name && !run_virsh(uri, dom_args, out, sizeof(out)))
		return err_set(-EEXIST, uri_shown(uri), "a domain named '%s' is already defined there "
			       "(uuid %s): choose another -on NAME or undefine it; nothing was "
			       "converted", name, out);
	return 0;
}

/* On failure the disks and the XML stay (v2v.c keeps them when this step fails),
 * so that the guest can be defined by hand once libvirt is fixed. */
static int define(const struct v2v_target *t, const struct v2v_params *p, const char *xml,
		  struct v2v_report *r, char *detail, size_t dlen)
{
	const char *args[] = { "define", "--file", xml, NULL };
	char out[1024], what[PATH_MAX];

	snprintf(detail, dlen, "libvirt domain %s at %s", t->name, uri_shown(p->libvirt_uri));
	if (run_virsh(p->libvirt_uri, args, out, sizeof(out)))
		return err_set(-EIO, xml, "virsh define failed at %s: %s; the converted disks "
			       "and this XML are kept (virsh define it by hand)",
			       uri_shown(p->libvirt_uri), *out ? out : "no output");
	snprintf(what, sizeof(what), "libvirt domain defined at %s", uri_shown(p->libvirt_uri));
	v2v_change(r, xml, what, NULL, xml);
	return 0;
}

const struct v2v_output_ops v2v_output_libvirt = {
	.name = "libvirt",
	.suffix = "xml",
	.mode = 0644,
	.written = "libvirt XML written",
	.takes_uri = true,
	.precheck = check_libvirt,
	.write = v2v_domain_xml_write,
	.finish_step = "define",
	.finish = define,
};
