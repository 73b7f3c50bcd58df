/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * customize_pkg.c - customize --install PKG,PKG and --update: the guest's own
 * package manager (apt-get, dnf, yum or zypper, as inspection names it) run in the
 * guest's root inside the appliance.  It needs the guest's package sources and the
 * appliance's network (libguestfs then puts the appliance's resolv.conf in the
 * guest for the command's duration).  Rather than a page of apt-get output, a
 * failure says which of the usual causes it is: no package sources configured,
 * sources unreachable (offline, or --no-network), or the package manager's own
 * error line.
 */
#include "guest/customize_ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

#ifdef HAVE_LIBGUESTFS

#define EXIT_TAG "imgtool-exit="

struct pkg_manager {
	const char *name;     /* as guestfs_inspect_get_package_management says */
	const char *install;  /* the package names follow */
	const char *update;
};

/* Non-interactive, keeping the guest's changed configuration files' new versions
 * out of the way as the distributions' own unattended tools do. */
#define APT_ENV "export DEBIAN_FRONTEND=noninteractive; "
#define APT_GET "apt-get -q -y -o Dpkg::Options::=--force-confnew "
#define APT_UPDATE "apt-get -q -o APT::Update::Error-Mode=any update && "

static const struct pkg_manager managers[] = {
	{ "apt", APT_ENV APT_UPDATE APT_GET "install",
		 APT_ENV APT_UPDATE APT_GET "upgrade" },
	{ "dnf", "dnf -y install", "dnf -y --best upgrade" },
	{ "yum", "yum -y install", "yum -y update" },
	{ "zypper", "zypper -n in -l", "zypper -n update -l" },
};

/* Lines of package manager output that mean "the sources cannot be reached". */
static const char *const offline_signs[] = {
	"Temporary failure resolving", "Could not resolve", "Network is unreachable",
	"Could not connect", "Connection refused", "Failed to fetch", "Curl error",
	"Failed to download metadata", "Cannot find a valid baseurl", "Download (curl) error",
	"No route to host", "Connection timed out",
};

static const struct pkg_manager *find_manager(const char *name)
{
	for (size_t i = 0; name && i < sizeof(managers) / sizeof(managers[0]); i++)
		if (!strcmp(managers[i].name, name))
			return &managers[i];
	return NULL;
}

/* Does one of the files matching pattern hold a line starting with one of keys? */
static bool any_line_starts(struct guest *gu, const char *pattern, const char *const *keys)
{
	char **v = guest_glob(gu, pattern);
	bool found = false;

	for (size_t i = 0; v[i] && !found; i++) {
		char *text = NULL;

		if (guest_read(gu, v[i], CUST_GUEST_TEXT_MAX, &text, NULL))
			continue;
		for (char *l = text; l && *l && !found; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
			l += strspn(l, " \t");
			for (size_t k = 0; keys[k] && !found; k++)
				found = !strncmp(l, keys[k], strlen(keys[k]));
		}
		free(text);
	}
	guest_free_strv(v);
	err_clear();
	return found;
}

/* Where the guest's package sources are configured, or NULL when it has some. */
static const char *missing_sources(struct guest *gu, const char *pm)
{
	static const char *const deb[] = { "deb ", "deb\t", "URIs:", NULL };
	static const char *const repo[] = { "baseurl", "mirrorlist", "metalink", NULL };

	if (!strcmp(pm, "apt"))
		return any_line_starts(gu, "/etc/apt/sources.list", deb) ||
		       any_line_starts(gu, "/etc/apt/sources.list.d/*", deb)
		       ? NULL : "/etc/apt/sources.list and /etc/apt/sources.list.d";
	if (!strcmp(pm, "zypper"))
		return any_line_starts(gu, "/etc/zypp/repos.d/*.repo", repo)
		       ? NULL : "/etc/zypp/repos.d";
	return any_line_starts(gu, "/etc/yum.repos.d/*.repo", repo) ? NULL : "/etc/yum.repos.d";
}

/* The first output line showing the sources are unreachable, else NULL. */
static char *offline_line(const char *out)
{
	for (size_t i = 0; i < sizeof(offline_signs) / sizeof(offline_signs[0]); i++) {
		const char *p = strstr(out, offline_signs[i]), *b;

		if (!p)
			continue;
		for (b = p; b > out && b[-1] != '\n'; b--)
			;
		b += strspn(b, " \t");
		return strndup(b, strcspn(b, "\n"));
	}
	return NULL;
}

/* The package manager's last error line ("E: ...", "Error..."), else the last
 * line it printed. */
static char *error_line(const char *out)
{
	const char *err = NULL, *last = NULL;

	for (const char *l = out; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] == '\n')) {
		if (!strncmp(l, EXIT_TAG, strlen(EXIT_TAG)))
			break;
		if (!strncmp(l, "E: ", 3) || !strncmp(l, "Error", 5))
			err = l;
		if (l[0] != '\n')
			last = l;
	}
	if (!err)
		err = last;
	return err ? strndup(err, strcspn(err, "\n")) : strdup("(no output)");
}

/* The shell command: the package manager with its output, then its exit status. */
static char *pm_command(const struct pkg_manager *m, const struct cust_op *op)
{
	const char *base = op->kind == CUST_INSTALL ? m->install : m->update;
	size_t n = strlen(base) + (op->a ? strlen(op->a) : 0) + 64;
	char *cmd = malloc(n);

	if (!cmd)
		return NULL;
	snprintf(cmd, n, "( %s %s ) 2>&1; echo " EXIT_TAG "$?", base,
		 op->kind == CUST_INSTALL ? op->a : "");
	if (op->kind == CUST_INSTALL)
		for (char *p = cmd + strlen(base) + 3; *p && *p != ')'; p++)
			if (*p == ',')
				*p = ' ';
	return cmd;
}

/* Turn a failed run's output into one clear message. */
static int diagnose(struct guest *gu, const struct cust_op *op, const char *pm,
		    const char *out, int status, bool network)
{
	const char *what = op->kind == CUST_INSTALL ? "--install" : "--update";
	char *line = offline_line(out);
	int r;

	if (line) {
		r = err_set(-ENETUNREACH, gu->image, "%s %s: the guest's package sources cannot be "
			    "reached from the appliance (%s: \"%.200s\"): %s; %s needs the network "
			    "and the archive the guest's sources name", what, op->a ? op->a : "",
			    pm, line, network ? "this machine looks offline"
					      : "the appliance had no network (--no-network)", what);
		free(line);
		return r;
	}
	line = error_line(out);
	r = err_set(-EIO, gu->image, "%s %s: %s failed (exit status %d): %.300s", what,
		    op->a ? op->a : "", pm, status, line ? line : "");
	free(line);
	return r;
}

int cust_op_packages(struct guest *gu, const struct cust_op *op, bool network,
		     char *msg, size_t len)
{
	char *pm = guestfs_inspect_get_package_management(guest_h(gu), gu->root);
	const struct pkg_manager *m = find_manager(pm);
	const char *where, *tag;
	char *cmd = NULL, *out = NULL;
	int r, status;

	if (!m) {
		r = err_set(-ENOTSUP, gu->image, "%s: the guest's package manager (%s) is not "
			    "one imgtool drives (apt, dnf, yum, zypper)",
			    op->kind == CUST_INSTALL ? "--install" : "--update",
			    pm ? pm : "unknown");
		goto done;
	}
	if ((where = missing_sources(gu, m->name))) {
		r = err_set(-ENOENT, gu->image, "%s: the guest has no package sources configured "
			    "(nothing in %s): there is nowhere to get packages from",
			    op->kind == CUST_INSTALL ? "--install" : "--update", where);
		goto done;
	}
	if (!(cmd = pm_command(m, op))) {
		r = err_set(-ENOMEM, gu->image, "%s: out of memory",
			    op->kind == CUST_INSTALL ? "--install" : "--update");
		goto done;
	}
	out = guestfs_sh(guest_h(gu), cmd);
	if (!out) {
		r = guest_err(gu, op->kind == CUST_INSTALL ? "--install" : "--update");
		goto done;
	}
	tag = strstr(out, EXIT_TAG);
	status = tag ? atoi(tag + strlen(EXIT_TAG)) : -1;
	if (status) {
		r = diagnose(gu, op, m->name, out, status, network);
		goto done;
	}
	r = 0;
	if (op->kind == CUST_INSTALL)
		snprintf(msg, len, "installed %s with %s", op->a, m->name);
	else
		snprintf(msg, len, "upgraded the installed packages with %s", m->name);
done:
	free(pm);
	free(cmd);
	free(out);
	return r;
}

#endif
