/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysprep.c - the sysprep operations (see sysprep.h).  The defaults follow
 * virt-sysprep's: everything that identifies one installed machine goes, nothing a
 * template needs to boot goes.  Operations that lock accounts or delete users are
 * off unless asked for.  Files are read with a size cap and rewritten only when an
 * operation changed them.
 */
#include "guest/sysprep.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/strbuf.h"
#include "guest/customize.h"

#define EDIT_MAX (4u << 20)   /* configuration files we rewrite are small */

#ifdef HAVE_LIBGUESTFS

/* --force for the duration of sysprep_run: remove identity even where nothing in
 * the guest rebuilds it at first boot */
static bool force_removal;

int sysprep_edit_lines(struct guest *gu, const char *path, sysprep_line_fn fn, void *ctx,
		       bool *changed)
{
	struct strbuf out = { 0 };
	char *text;
	size_t len;
	int r;

	*changed = false;
	r = guest_read(gu, path, EDIT_MAX, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r)
		return r;
	for (size_t pos = 0; pos < len && !r;) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) + 1 : len - pos;

		r = fn(text + pos, n, ctx, &out);
		pos += n;
	}
	if (!r && (out.len != len || (len && memcmp(out.s, text, len)))) {
		*changed = true;
		if (guestfs_write(guest_h(gu), path, strbuf_str(&out), out.len) < 0)
			r = guest_err(gu, path);
	}
	free(text);
	strbuf_free(&out);
	return r;
}

/* "dir/." and "dir/.." (a ".*" pattern matches them; directories end in "/") */
static bool is_dot_entry(const char *path)
{
	size_t n = strlen(path);

	while (n && path[n - 1] == '/')
		n--;
	if (n >= 2 && path[n - 1] == '.' && path[n - 2] == '/')
		return true;
	return n >= 3 && path[n - 1] == '.' && path[n - 2] == '.' && path[n - 3] == '/';
}

/* Remove everything the patterns match; *count adds the number removed. */
static int rm_globs(struct guest *gu, const char *const *patterns, int *count)
{
	for (size_t i = 0; patterns[i]; i++) {
		char **v = guest_glob(gu, patterns[i]);

		for (size_t j = 0; v && v[j]; j++) {
			if (is_dot_entry(v[j]))
				continue;
			if (guestfs_rm_rf(guest_h(gu), v[j]) < 0) {
				int r = guest_err(gu, v[j]);

				guest_free_strv(v);
				return r;
			}
			(*count)++;
		}
		guest_free_strv(v);
	}
	return 0;
}

static int report_removed(struct guest *gu, const char *const *patterns, const char *what,
			  char *msg, size_t len)
{
	int n = 0, r = rm_globs(gu, patterns, &n);

	if (r)
		return r;
	if (n)
		snprintf(msg, len, "removed %d %s", n, what);
	else
		snprintf(msg, len, "no %s found", what);
	return 0;
}

/* D-Bus keeps its own copy of the id unless /var/lib/dbus/machine-id links to
 * /etc/machine-id: a link follows the id systemd writes at first boot. */
static int link_dbus_machine_id(struct guest *gu, bool *linked)
{
	static const char dbus_id[] = "/var/lib/dbus/machine-id";
	char *target = NULL;

	*linked = false;
	if (!guest_is_dir(gu, "/var/lib/dbus"))
		return 0;
	if (guest_exists(gu, dbus_id))
		target = guestfs_readlink(guest_h(gu), dbus_id);
	if (target && !strcmp(target, "/etc/machine-id")) {
		free(target);
		return 0;
	}
	free(target);
	if (guestfs_rm_rf(guest_h(gu), dbus_id) < 0 ||
	    guestfs_ln_sf(guest_h(gu), "/etc/machine-id", dbus_id) < 0)
		return guest_err(gu, dbus_id);
	*linked = true;
	return 0;
}

static int op_machine_id(struct guest *gu, char *msg, size_t len)
{
	bool trunc = false, linked;
	int r;

	/* an empty /etc/machine-id (not a missing one) makes systemd generate a new
	 * id at the next boot without running first-boot units */
	if (guest_is_file(gu, "/etc/machine-id") &&
	    guestfs_filesize(guest_h(gu), "/etc/machine-id") > 0) {
		if (guestfs_truncate(guest_h(gu), "/etc/machine-id") < 0)
			return guest_err(gu, "/etc/machine-id");
		trunc = true;
	}
	if ((r = link_dbus_machine_id(gu, &linked)))
		return r;
	snprintf(msg, len, "%s%s%s", trunc ? "emptied /etc/machine-id" : "no machine-id set",
		 linked ? ", /var/lib/dbus/machine-id -> /etc/machine-id" : "",
		 customize_has_systemd(gu) ? "; first boot: systemd writes a new id"
		 : "; first boot: no systemd, run dbus-uuidgen --ensure=/etc/machine-id");
	return 0;
}

#define SSH_KEYGEN_UNIT "imgtool-ssh-hostkeys.service"

/* Runs only while a key is missing; before sshd (which refuses to start without
 * keys) and before --firstboot-command scripts (which may use them). */
static const char ssh_keygen_unit[] =
	"[Unit]\n"
	"Description=Create the missing SSH host keys (imgtool sysprep)\n"
	"ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key\n"
	"Before=ssh.service sshd.service imgtool-firstboot.service\n\n"
	"[Service]\n"
	"Type=oneshot\n"
	"ExecStart=/usr/bin/ssh-keygen -A\n\n"
	"[Install]\n"
	"WantedBy=multi-user.target\n";

/* What recreates the host keys at first boot: the guest's own unit (RHEL family:
 * sshd-keygen), ours (installed now), or nothing (NULL: no systemd, no ssh-keygen). */
static int ssh_keys_regenerator(struct guest *gu, const char **how)
{
	static const char *const own[] = {
		"/usr/lib/systemd/system/sshd-keygen@.service",
		"/usr/lib/systemd/system/sshd-keygen.service",
		"/lib/systemd/system/sshd-keygen.service",
	};

	*how = NULL;
	if (!customize_has_systemd(gu) || !guest_exists(gu, "/usr/bin/ssh-keygen"))
		return 0;
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
		if (guest_exists(gu, own[i])) {
			*how = strrchr(own[i], '/') + 1;
			return 0;
		}
	}
	*how = SSH_KEYGEN_UNIT;
	return customize_install_unit(gu, SSH_KEYGEN_UNIT, ssh_keygen_unit);
}

static int op_ssh_hostkeys(struct guest *gu, char *msg, size_t len)
{
	static const char *const p[] = { "/etc/ssh/ssh_host_*", NULL };
	char **keys = guest_glob(gu, p[0]);
	size_t nkeys = guest_strv_len(keys), l;
	const char *how;
	int r;

	guest_free_strv(keys);
	if (!guest_exists(gu, "/usr/sbin/sshd") && !nkeys) {
		snprintf(msg, len, "no SSH server and no SSH host keys");
		return 0;
	}
	if ((r = ssh_keys_regenerator(gu, &how)))
		return r;
	if (!how && nkeys && !force_removal) {
		/* removing them would leave a guest nobody can log in to */
		snprintf(msg, len, "kept %zu SSH host key file(s): nothing in the guest (no systemd "
			 "or no ssh-keygen) would create new ones at first boot; --force removes them",
			 nkeys);
		return 0;
	}
	if ((r = report_removed(gu, p, "SSH host key file(s)", msg, len)))
		return r;
	l = strlen(msg);
	if (how)
		snprintf(msg + l, len - l, "; first boot: %s creates new keys before sshd starts",
			 how);
	else
		snprintf(msg + l, len - l, "; first boot: nothing creates new keys (run ssh-keygen -A)");
	return 0;
}

static int op_net_rules(struct guest *gu, char *msg, size_t len)
{
	static const char *const p[] = { "/etc/udev/rules.d/70-persistent-net.rules",
					 "/etc/udev/rules.d/75-persistent-net-generator.rules",
					 NULL };

	int r = report_removed(gu, p, "persistent net udev rule file(s)", msg, len);
	size_t l = strlen(msg);

	if (!r && strncmp(msg, "no ", 3))
		snprintf(msg + l, len - l, "; first boot: udev names the NICs anew");
	return r;
}

struct hw_ctx {
	const char *const *prefixes;
	int dropped;
	bool after_match;     /* netplan: the previous line was "match:" */
};

static int drop_prefixed(const char *line, size_t n, void *vctx, struct strbuf *out)
{
	struct hw_ctx *c = vctx;
	size_t sp = 0;

	while (sp < n && (line[sp] == ' ' || line[sp] == '\t'))
		sp++;
	for (size_t i = 0; c->prefixes[i]; i++) {
		size_t pl = strlen(c->prefixes[i]);

		/* netplan: a macaddress under "match:" selects the NIC; dropping it
		 * would leave an empty match, so it stays */
		if (n - sp >= pl && !strncasecmp(line + sp, c->prefixes[i], pl) && !c->after_match) {
			c->dropped++;
			return 0;
		}
	}
	c->after_match = n - sp >= 6 && !strncmp(line + sp, "match:", 6);
	return strbuf_add(out, line, n);
}

static int op_net_hwaddr(struct guest *gu, char *msg, size_t len)
{
	static const char *const ifcfg[] = { "HWADDR=", "MACADDR=", "UUID=", NULL };
	static const char *const nm[] = { "mac-address=", "uuid=", "cloned-mac-address=", NULL };
	static const char *const netplan[] = { "macaddress:", NULL };
	static const char *const ifupdown[] = { "hwaddress ", NULL };
	static const struct { const char *pattern; const char *const *prefixes; } files[] = {
		{ "/etc/sysconfig/network-scripts/ifcfg-*", ifcfg },
		{ "/etc/sysconfig/network/ifcfg-*", ifcfg },
		{ "/etc/NetworkManager/system-connections/*", nm },
		{ "/etc/netplan/*.yaml", netplan },
		{ "/etc/network/interfaces", ifupdown },
		{ "/etc/network/interfaces.d/*", ifupdown },
	};
	int lines = 0, nfiles = 0;

	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		char **v = guest_glob(gu, files[f].pattern);

		for (size_t i = 0; v && v[i]; i++) {
			struct hw_ctx c = { files[f].prefixes, 0, false };
			bool changed;
			int r;

			if (!guest_is_file(gu, v[i]))
				continue;
			r = sysprep_edit_lines(gu, v[i], drop_prefixed, &c, &changed);
			if (r) {
				guest_free_strv(v);
				return r;
			}
			lines += c.dropped;
			nfiles += changed;
		}
		guest_free_strv(v);
	}
	if (lines)
		snprintf(msg, len, "removed %d MAC/UUID line(s) from %d network configuration file(s)",
			 lines, nfiles);
	else
		snprintf(msg, len, "no MAC address or UUID in network configuration files");
	return 0;
}

static int op_dhcp_leases(struct guest *gu, char *msg, size_t len)
{
	static const char *const p[] = { "/var/lib/dhcp/*.leases", "/var/lib/dhcp/*.lease",
		"/var/lib/dhclient/*", "/var/lib/dhcpcd/*", "/var/lib/dhcpcd5/*",
		"/var/lib/NetworkManager/*.lease", "/var/lib/NetworkManager/dhclient-*",
		"/var/lib/systemd/network/*", NULL };

	return report_removed(gu, p, "DHCP lease file(s)", msg, len);
}

static int op_logfiles(struct guest *gu, char *msg, size_t len)
{
	char **v;
	char path[4096];
	int n = 0;

	if (!guest_is_dir(gu, "/var/log")) {
		snprintf(msg, len, "no /var/log");
		return 0;
	}
	v = guestfs_find(guest_h(gu), "/var/log");
	if (!v)
		return guest_err(gu, "/var/log");
	/* files only: daemons expect their log directories to exist */
	for (size_t i = 0; v[i]; i++) {
		snprintf(path, sizeof(path), "/var/log/%s", v[i]);
		if (guestfs_is_file(guest_h(gu), path) != 1)
			continue;
		if (guestfs_rm(guest_h(gu), path) < 0) {
			guest_free_strv(v);
			return guest_err(gu, path);
		}
		n++;
	}
	guest_free_strv(v);
	snprintf(msg, len, n ? "removed %d log file(s) under /var/log" : "no log files", n);
	return 0;
}

static int op_histories(struct guest *gu, char *msg, size_t len)
{
	static const char *const p[] = {
		"/root/.bash_history", "/root/.ash_history", "/root/.zsh_history",
		"/root/.history", "/root/.sh_history", "/root/.python_history",
		"/root/.lesshst", "/root/.viminfo", "/root/.mysql_history",
		"/home/*/.bash_history", "/home/*/.ash_history", "/home/*/.zsh_history",
		"/home/*/.history", "/home/*/.sh_history", "/home/*/.python_history",
		"/home/*/.lesshst", "/home/*/.viminfo", "/home/*/.mysql_history", NULL };

	return report_removed(gu, p, "shell history file(s)", msg, len);
}

static int op_tmp_files(struct guest *gu, char *msg, size_t len)
{
	static const char *const p[] = { "/tmp/*", "/tmp/.*", "/var/tmp/*", "/var/tmp/.*", NULL };

	return report_removed(gu, p, "entries from /tmp and /var/tmp", msg, len);
}

static int op_package_cache(struct guest *gu, char *msg, size_t len)
{
	static const char *const p[] = { "/var/cache/apt/archives/*.deb",
		"/var/cache/apt/archives/partial/*", "/var/cache/apt/*.bin",
		"/var/cache/dnf/*", "/var/cache/yum/*", "/var/cache/zypp/*",
		"/var/cache/apk/*", NULL };

	return report_removed(gu, p, "package manager cache entries", msg, len);
}

static int op_random_seed(struct guest *gu, char *msg, size_t len)
{
	static const char *const p[] = { "/var/lib/systemd/random-seed",
		"/var/lib/urandom/random-seed", "/var/lib/random-seed", NULL };

	int r = report_removed(gu, p, "random seed file(s)", msg, len);
	size_t l = strlen(msg);

	if (!r && strncmp(msg, "no ", 3))
		snprintf(msg + l, len - l, "; first boot: %s saves a new seed",
			 customize_has_systemd(gu) ? "systemd-random-seed.service" : "the init");
	return r;
}

static int op_cloud_init(struct guest *gu, char *msg, size_t len)
{
	static const char *const p[] = { "/var/lib/cloud/*", "/var/log/cloud-init*", NULL };

	return report_removed(gu, p, "cloud-init state entries", msg, len);
}

static int op_mail_spool(struct guest *gu, char *msg, size_t len)
{
	static const char *const p[] = { "/var/spool/mail/*", "/var/mail/*", NULL };

	return report_removed(gu, p, "mail spool file(s)", msg, len);
}

static int op_hostname(struct guest *gu, char *msg, size_t len)
{
	static const char name[] = "localhost\n";
	char *old = NULL;
	int r = guest_read(gu, "/etc/hostname", 4096, &old, NULL);

	if (r == -ENOENT) {
		err_clear();
		snprintf(msg, len, "no /etc/hostname");
		return 0;
	}
	if (r)
		return r;
	if (!strcmp(old, name)) {
		snprintf(msg, len, "hostname is already localhost");
		free(old);
		return 0;
	}
	old[strcspn(old, "\r\n")] = 0;
	if (guestfs_write(guest_h(gu), "/etc/hostname", name, strlen(name)) < 0)
		r = guest_err(gu, "/etc/hostname");
	else
		snprintf(msg, len, "/etc/hostname reset to localhost (was %.64s)", old);
	free(old);
	return r;
}

/* Field f (0-based) of a colon-separated line: start and length. */
static bool field_of(const char *line, size_t n, int f, size_t *start, size_t *flen)
{
	size_t pos = 0;

	for (int i = 0; i < f; i++) {
		const char *c = memchr(line + pos, ':', n - pos);

		if (!c)
			return false;
		pos = (size_t)(c - line) + 1;
	}
	*start = pos;
	*flen = strcspn(line + pos, ":\n");
	if (pos + *flen > n)
		*flen = n - pos;
	return true;
}

static int lock_root(const char *line, size_t n, void *ctx, struct strbuf *out)
{
	size_t s, l;
	int r;

	if (n < 5 || strncmp(line, "root:", 5) || !field_of(line, n, 1, &s, &l) ||
	    (l && line[s] == '!'))
		return strbuf_add(out, line, n);
	(*(int *)ctx)++;
	/* "!" in front keeps the hash (unlockable); an empty one becomes "!*" */
	if ((r = strbuf_add(out, line, s)) || (r = strbuf_add(out, l ? "!" : "!*", l ? 1 : 2)))
		return r;
	return strbuf_add(out, line + s, n - s);
}

static int op_root_lock(struct guest *gu, char *msg, size_t len)
{
	const char *file = guest_is_file(gu, "/etc/shadow") ? "/etc/shadow" : "/etc/passwd";
	bool changed;
	int n = 0, r = sysprep_edit_lines(gu, file, lock_root, &n, &changed);

	if (r)
		return r;
	snprintf(msg, len, changed ? "locked root's password in %s"
				   : "root's password already locked (or no root entry)", file);
	return 0;
}

struct users_ctx {
	char names[64][64];
	char homes[64][256];
	int n;
	bool collect;          /* /etc/passwd pass: collect, else drop by name */
};

static bool listed_user(struct users_ctx *c, const char *line, size_t n)
{
	for (int i = 0; i < c->n; i++) {
		size_t l = strlen(c->names[i]);

		if (n > l && line[l] == ':' && !strncmp(line, c->names[i], l))
			return true;
	}
	return false;
}

static int drop_users(const char *line, size_t n, void *vctx, struct strbuf *out)
{
	struct users_ctx *c = vctx;
	size_t s, l, hs, hl;
	char num[16];

	if (!c->collect)
		return listed_user(c, line, n) ? 0 : strbuf_add(out, line, n);
	if (!field_of(line, n, 2, &s, &l) || l == 0 || l >= sizeof(num) ||
	    !field_of(line, n, 5, &hs, &hl))
		return strbuf_add(out, line, n);
	memcpy(num, line + s, l);
	num[l] = 0;
	/* ordinary accounts only: system users and nobody (65534) stay */
	if (atol(num) < 1000 || atol(num) == 65534 || c->n >= 64)
		return strbuf_add(out, line, n);
	snprintf(c->names[c->n], sizeof(c->names[0]), "%.*s",
		 (int)strcspn(line, ":"), line);
	snprintf(c->homes[c->n], sizeof(c->homes[0]), "%.*s", (int)hl, line + hs);
	c->n++;
	return 0;
}

static int op_user_accounts(struct guest *gu, char *msg, size_t len)
{
	struct users_ctx *c = calloc(1, sizeof(*c));
	bool changed;
	int r;

	if (!c)
		return err_set(-ENOMEM, gu->image, "user-account: out of memory");
	c->collect = true;
	r = sysprep_edit_lines(gu, "/etc/passwd", drop_users, c, &changed);
	c->collect = false;
	if (!r && c->n)
		r = sysprep_edit_lines(gu, "/etc/shadow", drop_users, c, &changed);
	for (int i = 0; !r && i < c->n; i++) {
		/* only homes under /home: a user whose home is / must not take it along */
		if (!strncmp(c->homes[i], "/home/", 6) && !strstr(c->homes[i], "..") &&
		    guestfs_rm_rf(guest_h(gu), c->homes[i]) < 0)
			r = guest_err(gu, c->homes[i]);
	}
	if (!r)
		snprintf(msg, len, c->n ? "removed %d user account(s) (uid >= 1000) and their homes"
					: "no user accounts with uid >= 1000", c->n);
	free(c);
	return r;
}

#define OP(n, d, desc, fn) { n, d, desc, fn }
#else
#define OP(n, d, desc, fn) { n, d, desc, NULL }
#endif

const struct sysprep_op sysprep_ops[] = {
	OP("machine-id", true, "empty /etc/machine-id, remove /var/lib/dbus/machine-id", op_machine_id),
	OP("ssh-hostkeys", true, "remove the SSH host keys", op_ssh_hostkeys),
	OP("net-persistent-rules", true, "remove udev persistent net rules", op_net_rules),
	OP("net-hwaddr", true, "remove MAC addresses and UUIDs from network configuration", op_net_hwaddr),
	OP("dhcp-leases", true, "remove DHCP client leases", op_dhcp_leases),
	OP("logfiles", true, "remove log files under /var/log", op_logfiles),
	OP("shell-history", true, "remove shell and tool histories of root and users", op_histories),
	OP("tmp-files", true, "remove the contents of /tmp and /var/tmp", op_tmp_files),
	OP("package-manager-cache", true, "remove apt/dnf/yum/zypper/apk caches", op_package_cache),
	OP("random-seed", true, "remove the saved random seed", op_random_seed),
	OP("cloud-init", true, "remove cloud-init state so that it runs again", op_cloud_init),
	OP("mail-spool", true, "remove mail spools", op_mail_spool),
	OP("hostname", true, "reset /etc/hostname to localhost", op_hostname),
	OP("user-account", false, "remove user accounts with uid >= 1000 and their homes", op_user_accounts),
	OP("root-password-lock", false, "lock root's password", op_root_lock),
};
const size_t sysprep_nops = sizeof(sysprep_ops) / sizeof(sysprep_ops[0]);

void sysprep_default_operations(bool *enabled)
{
	for (size_t i = 0; i < sysprep_nops; i++)
		enabled[i] = sysprep_ops[i].default_on;
}

int sysprep_parse_operations(const char *list, bool *enabled)
{
	char *copy = strdup(list), *save = NULL;
	size_t n = 0;
	int r = 0;

	if (!copy)
		return err_set(-ENOMEM, NULL, "--operations: out of memory");
	memset(enabled, 0, sysprep_nops * sizeof(bool));
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		bool on = *t != '-';
		size_t i;

		t += !on;
		if (!strcmp(t, "defaults") || !strcmp(t, "all")) {
			for (i = 0; i < sysprep_nops; i++)
				if (sysprep_ops[i].default_on || t[0] == 'a')
					enabled[i] = on;
			continue;
		}
		for (i = 0; i < sysprep_nops && strcmp(sysprep_ops[i].name, t); i++)
			;
		if (i == sysprep_nops) {
			r = err_set(-EINVAL, NULL, "unknown sysprep operation '%s' "
				    "(see --list-operations)", t);
			goto out;
		}
		enabled[i] = on;
	}
	for (size_t i = 0; i < sysprep_nops; i++)
		n += enabled[i];
	if (!n)
		r = err_set(-EINVAL, NULL, "--operations '%s' selects no operation", list);
out:
	free(copy);
	return r;
}

void sysprep_list(FILE *f)
{
	for (size_t i = 0; i < sysprep_nops; i++)
		fprintf(f, "%-22s %-3s %s\n", sysprep_ops[i].name,
			sysprep_ops[i].default_on ? "*" : "", sysprep_ops[i].description);
	fprintf(f, "(* = enabled by default)\n");
}

int sysprep_run(struct guest *gu, const bool *enabled, bool force, const char *prefix)
{
	char msg[512];

#ifdef HAVE_LIBGUESTFS
	force_removal = force;
#endif
	for (size_t i = 0; i < sysprep_nops; i++) {
		int r;

		if (!enabled[i] || !sysprep_ops[i].run)
			continue;
		msg[0] = 0;
		r = sysprep_ops[i].run(gu, msg, sizeof(msg));
		if (r)
			return r;
		printf("%s%s: %s\n", prefix, sysprep_ops[i].name, msg);
		fflush(stdout);
	}
	return 0;
}
