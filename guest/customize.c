/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * customize.c - the customize operations (see customize.h).  Values are checked
 * when parsed (absolute guest paths, octal modes, user:file:key forms), so that a
 * typo fails before the 10-20 s appliance launch.  Guest files are read with a
 * size cap; host files (--upload, --root-password file:, --ssh-inject) are read by
 * the user's own rights.  The root password, the package manager and the SELinux
 * relabel have files of their own (customize_password.c, customize_pkg.c,
 * customize_selinux.c).
 */
#include "guest/customize.h"
#include "guest/customize_ops.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"

#define GUEST_TEXT_MAX (4u << 20)
#define HOST_SMALL_MAX (64u << 10)   /* a password or public key file */

const char *const customize_option_names[] = {
	"hostname", "timezone", "write", "append-line", "upload", "mkdir", "chmod",
	"delete", "link", "root-password", "ssh-inject", "firstboot-command",
	"run-command", "run", "copy-in", "install", "update", "selinux-relabel",
};

bool customize_takes_value(enum cust_kind k)
{
	return k != CUST_UPDATE && k != CUST_SELINUX_RELABEL;
}

bool customize_wants_network(const struct cust_op *ops, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ops[i].kind == CUST_INSTALL || ops[i].kind == CUST_UPDATE ||
		    ops[i].kind == CUST_RUN || ops[i].kind == CUST_RUN_COMMAND)
			return true;
	return false;
}

/* Package names, versions and arches go to the guest's shell: letters, digits and
 * the few signs package names use, separated by single commas. */
static bool valid_package_list(const char *v)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				 "0123456789.+-_:=~/@,";
	size_t n = strlen(v);

	return n && strspn(v, ok) == n && v[0] != ',' && v[0] != '-' && v[n - 1] != ',' &&
	       !strstr(v, ",,") && !strstr(v, ",-");
}

static int bad(enum cust_kind k, const char *value, const char *why)
{
	return err_set(-EINVAL, NULL, "--%s '%s': %s", customize_option_names[k], value, why);
}

/* Split "A:B" at the first colon into two malloc'd strings. */
static int split2(enum cust_kind k, const char *value, struct cust_op *op, const char *form)
{
	const char *c = strchr(value, ':');

	if (!c || c == value)
		return bad(k, value, form);
	op->a = strndup(value, (size_t)(c - value));
	op->b = strdup(c + 1);
	return op->a && op->b ? 0 : err_set(-ENOMEM, NULL, "--%s: out of memory", customize_option_names[k]);
}

static int need_abs(enum cust_kind k, const char *value, const char *path)
{
	if (path[0] != '/')
		return bad(k, value, "the guest path must be absolute");
	return 0;
}

int customize_parse_op(enum cust_kind k, const char *v, struct cust_op *op)
{
	char *end;
	int r = 0;

	memset(op, 0, sizeof(*op));
	op->kind = k;
	switch (k) {
	case CUST_HOSTNAME:
		if (!*v || strlen(v) > 253 || strpbrk(v, "/ \t\n:"))
			return bad(k, v, "not a valid host name");
		break;
	case CUST_TIMEZONE:
		if (!*v || v[0] == '/' || strstr(v, "..") || strpbrk(v, " \t\n"))
			return bad(k, v, "expected a zone name like Europe/Paris or UTC");
		break;
	case CUST_MKDIR:
	case CUST_DELETE:
		if ((r = need_abs(k, v, v)))
			return r;
		if (k == CUST_DELETE && v[strspn(v, "/")] == 0)
			return bad(k, v, "refusing to delete the root directory");
		break;
	case CUST_RUN_COMMAND:
	case CUST_FIRSTBOOT_COMMAND:
		if (!*v)
			return bad(k, v, "empty command");
		break;
	case CUST_RUN:
		if (!*v)
			return bad(k, v, "expected a script file on this host");
		break;
	case CUST_INSTALL:
		if (!valid_package_list(v))
			return bad(k, v, "expected package names separated by commas");
		break;
	case CUST_UPDATE:
	case CUST_SELINUX_RELABEL:
		return 0;   /* no value */
	case CUST_COPY_IN: {
		const char *c = strrchr(v, ':');

		/* the last colon: a host path may hold one, a guest directory is absolute */
		if (!c || c == v || c[1] != '/')
			return bad(k, v, "expected HOSTPATH:GUESTDIR (an absolute guest directory)");
		op->a = strndup(v, (size_t)(c - v));
		op->b = strdup(c + 1);
		if (!op->a || !op->b) {
			r = err_set(-ENOMEM, NULL, "--%s: out of memory", customize_option_names[k]);
			goto fail;
		}
		return 0;
	}
	case CUST_WRITE:
	case CUST_APPEND_LINE:
		if ((r = split2(k, v, op, "expected FILE:CONTENT")) || (r = need_abs(k, v, op->a)))
			goto fail;
		return 0;
	case CUST_UPLOAD:
		if ((r = split2(k, v, op, "expected HOSTFILE:GUESTPATH")) ||
		    (r = need_abs(k, v, op->b)))
			goto fail;
		return 0;
	case CUST_LINK:
		if ((r = split2(k, v, op, "expected TARGET:LINK")) || (r = need_abs(k, v, op->b)))
			goto fail;
		if (!*op->b || !*op->a) {
			r = bad(k, v, "expected TARGET:LINK");
			goto fail;
		}
		return 0;
	case CUST_CHMOD:
		if ((r = split2(k, v, op, "expected MODE:FILE (octal mode)")))
			goto fail;
		errno = 0;
		op->mode = (unsigned)strtoul(op->a, &end, 8);
		if (errno || *end || !*op->a || op->mode > 07777) {
			r = bad(k, v, "the mode must be octal, at most 7777");
			goto fail;
		}
		if ((r = need_abs(k, v, op->b)))
			goto fail;
		return 0;
	case CUST_ROOT_PASSWORD:
		if (!strncmp(v, "password:", 9) && v[9]) {
			op->pw_kind = 0;
			op->a = strdup(v + 9);
		} else if (!strncmp(v, "file:", 5) && v[5]) {
			op->pw_kind = 1;
			op->a = strdup(v + 5);
		} else if (!strcmp(v, "random")) {
			op->pw_kind = 2;
			op->a = strdup(v);
		} else {
			return bad(k, "...", "expected password:PASSWORD, file:FILENAME or random");
		}
		return op->a ? 0 : err_set(-ENOMEM, NULL, "--%s: out of memory", customize_option_names[k]);
	case CUST_SSH_INJECT: {
		const char *c = strchr(v, ':');

		if (!c || c == v || strncmp(c + 1, "file:", 5) || !c[6])
			return bad(k, v, "expected USER:file:PUBLIC_KEY_FILE");
		op->a = strndup(v, (size_t)(c - v));
		op->b = strdup(c + 6);
		if (!op->a || !op->b) {
			r = err_set(-ENOMEM, NULL, "--%s: out of memory", customize_option_names[k]);
			goto fail;
		}
		if (strpbrk(op->a, "/: \n")) {
			r = bad(k, v, "not a user name");
			goto fail;
		}
		return 0;
	}
	default:
		return err_set(-EINVAL, NULL, "unknown customize operation %d", (int)k);
	}
	op->a = strdup(v);
	return op->a ? 0 : err_set(-ENOMEM, NULL, "--%s: out of memory", customize_option_names[k]);
fail:
	customize_free_op(op);
	return r;
}

void customize_free_op(struct cust_op *op)
{
	free(op->a);
	free(op->b);
	op->a = op->b = NULL;
}

int customize_hash_password(const char *password, const char *prefix, char **out)
{
	struct crypt_data *cd;
	char *salt, *h;

	*out = NULL;
	/* NULL random bytes: libxcrypt takes them from the OS */
	salt = crypt_gensalt_ra(prefix, 0, NULL, 0);
	if (!salt)
		return err_set(-errno ? -errno : -EINVAL, NULL,
			       "cannot make a %s password salt", prefix);
	cd = calloc(1, sizeof(*cd));
	if (!cd) {
		free(salt);
		return err_set(-ENOMEM, NULL, "hash a password: out of memory");
	}
	h = crypt_r(password, salt, cd);
	free(salt);
	if (!h || h[0] == '*') {
		free(cd);
		return err_set(-EINVAL, NULL, "crypt(3) cannot hash with %s", prefix);
	}
	*out = strdup(h);
	free(cd);
	return *out ? 0 : err_set(-ENOMEM, NULL, "hash a password: out of memory");
}

#ifndef HAVE_LIBGUESTFS

int customize_run(struct guest *gu, const struct cust_op *ops, size_t n, const char *prefix,
		  bool network)
{
	return err_set(-ENOTSUP, NULL, "imgtool was built without libguestfs");
}

#else

int cust_read_host_file(const char *path, char **out)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	*out = NULL;
	if (!f)
		return err_set(-errno, path, "cannot open: %s", strerror(errno));
	buf = malloc(HOST_SMALL_MAX + 1);
	if (!buf) {
		fclose(f);
		return err_set(-ENOMEM, path, "out of memory");
	}
	n = fread(buf, 1, HOST_SMALL_MAX + 1, f);
	fclose(f);
	if (n > HOST_SMALL_MAX) {
		free(buf);
		return err_set(-EFBIG, path, "larger than %u bytes", HOST_SMALL_MAX);
	}
	buf[n] = 0;
	*out = buf;
	return 0;
}

static int do_write(struct guest *gu, const char *path, const char *data, size_t n)
{
	if (guestfs_write(guest_h(gu), path, data, n) < 0)
		return guest_err(gu, path);
	return 0;
}

static int op_hostname(struct guest *gu, const struct cust_op *op, char *msg, size_t len)
{
	char line[300];
	int r;

	snprintf(line, sizeof(line), "%s\n", op->a);
	r = do_write(gu, "/etc/hostname", line, strlen(line));
	if (!r)
		snprintf(msg, len, "set to %s in /etc/hostname", op->a);
	return r;
}

static int op_timezone(struct guest *gu, const struct cust_op *op, char *msg, size_t len)
{
	char zone[512], line[300];
	int r;

	snprintf(zone, sizeof(zone), "/usr/share/zoneinfo/%s", op->a);
	if (!guest_exists(gu, zone))
		return err_set(-ENOENT, gu->image, "--timezone %s: the guest has no %s "
			       "(tzdata not installed?)", op->a, zone);
	if (guestfs_ln_sf(guest_h(gu), zone, "/etc/localtime") < 0)
		return guest_err(gu, "/etc/localtime");
	if (guest_exists(gu, "/etc/timezone") || guest_exists(gu, "/etc/debian_version")) {
		snprintf(line, sizeof(line), "%s\n", op->a);
		if ((r = do_write(gu, "/etc/timezone", line, strlen(line))))
			return r;
	}
	snprintf(msg, len, "/etc/localtime -> %s", zone);
	return 0;
}

static int op_append_line(struct guest *gu, const struct cust_op *op, char *msg, size_t len)
{
	char *old = NULL, *line;
	size_t n = 0, l = strlen(op->b);
	int r = guest_read(gu, op->a, GUEST_TEXT_MAX, &old, &n);
	bool nl;

	if (r && r != -ENOENT)
		return r;
	err_clear();
	/* the line starts a line of its own, even after a file without a final newline */
	nl = old && n && old[n - 1] != '\n';
	free(old);
	line = malloc(l + 3);
	if (!line)
		return err_set(-ENOMEM, gu->image, "%s: out of memory", op->a);
	snprintf(line, l + 3, "%s%s\n", nl ? "\n" : "", op->b);
	if (r == -ENOENT)
		r = do_write(gu, op->a, line, strlen(line));
	else if (guestfs_write_append(guest_h(gu), op->a, line, strlen(line)) < 0)
		r = guest_err(gu, op->a);
	free(line);
	if (!r)
		snprintf(msg, len, "appended a line to %s", op->a);
	return r;
}

/* USER's home, uid and gid from the guest's /etc/passwd. */
static int find_user(struct guest *gu, const char *user, char *home, size_t hl, int *uid, int *gid)
{
	char *text, *save = NULL;
	size_t ul = strlen(user);
	int r = -ENOENT;

	if ((r = guest_read(gu, "/etc/passwd", GUEST_TEXT_MAX, &text, NULL)))
		return r == -ENOENT ? err_set(r, gu->image, "the guest has no /etc/passwd") : r;
	r = -ENOENT;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char name[256], dir[1024];
		int u, g;

		if (strncmp(l, user, ul) || l[ul] != ':')
			continue;
		if (sscanf(l, "%255[^:]:%*[^:]:%d:%d:%*[^:]:%1023[^:]", name, &u, &g, dir) != 4 &&
		    sscanf(l, "%255[^:]:%*[^:]:%d:%d::%1023[^:]", name, &u, &g, dir) != 4 &&
		    sscanf(l, "%255[^:]::%d:%d:%*[^:]:%1023[^:]", name, &u, &g, dir) != 4 &&
		    sscanf(l, "%255[^:]::%d:%d::%1023[^:]", name, &u, &g, dir) != 4)
			continue;
		if (dir[0] != '/')
			continue;
		snprintf(home, hl, "%s", dir);
		*uid = u;
		*gid = g;
		r = 0;
		break;
	}
	free(text);
	if (r)
		return err_set(r, gu->image, "--ssh-inject: no user %s in the guest's /etc/passwd", user);
	return 0;
}

static int op_ssh_inject(struct guest *gu, const struct cust_op *op, char *msg, size_t len)
{
	guestfs_h *g = guest_h(gu);
	char home[1024], dir[1100], ak[1200], *key = NULL, *old = NULL, *add = NULL;
	size_t on = 0, kl;
	int uid = 0, gid = 0, r;

	if ((r = find_user(gu, op->a, home, sizeof(home), &uid, &gid)) ||
	    (r = cust_read_host_file(op->b, &key)))
		return r;
	key[strcspn(key, "\r\n")] = 0;
	kl = strlen(key);
	if (!kl || (strncmp(key, "ssh-", 4) && strncmp(key, "ecdsa-", 6) && strncmp(key, "sk-", 3))) {
		r = err_set(-EINVAL, op->b, "not an OpenSSH public key");
		goto out;
	}
	snprintf(dir, sizeof(dir), "%s/.ssh", strcmp(home, "/") ? home : "");
	snprintf(ak, sizeof(ak), "%s/authorized_keys", dir);
	if (guestfs_mkdir_p(g, dir) < 0 || guestfs_chmod(g, 0700, dir) < 0 ||
	    guestfs_chown(g, uid, gid, dir) < 0) {
		r = guest_err(gu, dir);
		goto out;
	}
	r = guest_read(gu, ak, GUEST_TEXT_MAX, &old, &on);
	if (r && r != -ENOENT)
		goto out;
	err_clear();
	if (old && strstr(old, key)) {
		snprintf(msg, len, "key already in %s", ak);
		r = 0;
		goto out;
	}
	add = malloc(kl + 3);
	if (!add) {
		r = err_set(-ENOMEM, gu->image, "%s: out of memory", ak);
		goto out;
	}
	snprintf(add, kl + 3, "%s%s\n", old && on && old[on - 1] != '\n' ? "\n" : "", key);
	if ((old ? guestfs_write_append(g, ak, add, strlen(add))
		 : guestfs_write(g, ak, add, strlen(add))) < 0 ||
	    guestfs_chmod(g, 0600, ak) < 0 || guestfs_chown(g, uid, gid, ak) < 0) {
		r = guest_err(gu, ak);
		goto out;
	}
	r = 0;
	snprintf(msg, len, "key added to %s", ak);
out:
	free(key);
	free(old);
	free(add);
	return r;
}

#define FB_DIR "/usr/lib/imgtool-firstboot"
#define FB_UNIT_NAME "imgtool-firstboot.service"

static const char fb_runner[] =
	"#!/bin/sh\n"
	"# imgtool customize --firstboot-command: run each queued script once, in order\n"
	"for s in " FB_DIR "/scripts/*; do\n"
	"\t[ -f \"$s\" ] || continue\n"
	"\techo \"=== $s\" >>/root/imgtool-firstboot.log\n"
	"\tsh \"$s\" >>/root/imgtool-firstboot.log 2>&1\n"
	"\tmkdir -p " FB_DIR "/done && mv \"$s\" " FB_DIR "/done/\n"
	"done\n";

static const char fb_unit[] =
	"[Unit]\n"
	"Description=imgtool first-boot commands\n"
	"After=network.target\n"
	"ConditionDirectoryNotEmpty=" FB_DIR "/scripts\n\n"
	"[Service]\n"
	"Type=oneshot\n"
	"ExecStart=" FB_DIR "/firstboot.sh\n"
	"RemainAfterExit=yes\n\n"
	"[Install]\n"
	"WantedBy=multi-user.target\n";

bool customize_has_systemd(struct guest *gu)
{
	return guest_exists(gu, "/lib/systemd/systemd") ||
	       guest_exists(gu, "/usr/lib/systemd/systemd");
}

int customize_install_unit(struct guest *gu, const char *name, const char *text)
{
	char path[256], link[256], target[256];
	int r;

	snprintf(path, sizeof(path), "/etc/systemd/system/%s", name);
	snprintf(link, sizeof(link), "/etc/systemd/system/multi-user.target.wants/%s", name);
	snprintf(target, sizeof(target), "../%s", name);
	if (guestfs_mkdir_p(guest_h(gu), "/etc/systemd/system/multi-user.target.wants") < 0)
		return guest_err(gu, "/etc/systemd/system/multi-user.target.wants");
	if ((r = do_write(gu, path, text, strlen(text))))
		return r;
	/* what `systemctl enable` does for WantedBy=multi-user.target */
	if (guestfs_ln_sf(guest_h(gu), target, link) < 0)
		return guest_err(gu, link);
	return 0;
}

static int op_firstboot(struct guest *gu, const struct cust_op *op, char *msg, size_t len)
{
	guestfs_h *g = guest_h(gu);
	char path[256], *script;
	char **v;
	size_t n;
	int r;

	/* only systemd is hooked: another init has no standard place to run once */
	if (!customize_has_systemd(gu))
		return err_set(-ENOTSUP, gu->image, "--firstboot-command is unsupported for this "
			       "guest: it has no systemd to run first-boot commands");
	if (guestfs_mkdir_p(g, FB_DIR "/scripts") < 0)
		return guest_err(gu, FB_DIR);
	v = guest_glob(gu, FB_DIR "/scripts/*");
	n = guest_strv_len(v);
	guest_free_strv(v);
	snprintf(path, sizeof(path), FB_DIR "/scripts/%04zu", n + 1);
	script = malloc(strlen(op->a) + 32);
	if (!script)
		return err_set(-ENOMEM, gu->image, "%s: out of memory", path);
	sprintf(script, "#!/bin/sh\n%s\n", op->a);
	r = do_write(gu, path, script, strlen(script));
	free(script);
	if (r || (r = do_write(gu, FB_DIR "/firstboot.sh", fb_runner, strlen(fb_runner))) ||
	    (r = customize_install_unit(gu, FB_UNIT_NAME, fb_unit)))
		return r;
	if (guestfs_chmod(g, 0755, FB_DIR "/firstboot.sh") < 0)
		return guest_err(gu, FB_DIR "/firstboot.sh");
	snprintf(msg, len, "queued as %s (systemd unit " FB_UNIT_NAME ")", path);
	return 0;
}

static int op_run_command(struct guest *gu, const struct cust_op *op, char *msg, size_t len)
{
	char *out;

	if (!guest_exists(gu, "/bin/sh"))
		return err_set(-ENOTSUP, gu->image, "--run-command: the guest has no /bin/sh");
	out = guestfs_sh(guest_h(gu), op->a);
	if (!out)
		return guest_err(gu, "--run-command");
	snprintf(msg, len, "ran '%.200s' in the guest", op->a);
	cust_append_output(msg, len, out);
	free(out);
	return 0;
}

void cust_append_output(char *msg, size_t len, const char *out)
{
	size_t l = strlen(msg);

	if (!out || !*out)
		return;
	/* the command's own output follows the op's line */
	snprintf(msg + l, len - l, "; output:\n%.4000s", out);
	l = strlen(msg);
	while (l && msg[l - 1] == '\n')
		msg[--l] = 0;
}

/* --run: upload the host script into the guest's /tmp, run it there, remove it. */
static int op_run_script(struct guest *gu, const struct cust_op *op, char *msg, size_t len)
{
	static unsigned seq;
	guestfs_h *g = guest_h(gu);
	char path[128], *out;

	if (access(op->a, R_OK))
		return err_set(-errno, op->a, "cannot read: %s", strerror(errno));
	if (!guest_exists(gu, "/bin/sh"))
		return err_set(-ENOTSUP, gu->image, "--run: the guest has no /bin/sh");
	snprintf(path, sizeof(path), "/tmp/imgtool-run-%ld-%u", (long)getpid(), ++seq);
	if (guestfs_mkdir_p(g, "/tmp") < 0 || guestfs_upload(g, op->a, path) < 0 ||
	    guestfs_chmod(g, 0755, path) < 0)
		return guest_err(gu, path);
	/* through sh -c, so that a #! line picks the interpreter */
	out = guestfs_sh(g, path);
	if (!out) {
		int r = guest_err(gu, op->a);

		guestfs_rm_rf(g, path);
		return r;
	}
	guestfs_rm_rf(g, path);
	snprintf(msg, len, "ran the script %s in the guest", op->a);
	cust_append_output(msg, len, out);
	free(out);
	return 0;
}

/* --copy-in: a host file or directory tree into an existing guest directory. */
static int op_copy_in(struct guest *gu, const struct cust_op *op, char *msg, size_t len)
{
	if (access(op->a, R_OK))
		return err_set(-errno, op->a, "cannot read: %s", strerror(errno));
	if (!guest_is_dir(gu, op->b))
		return err_set(-ENOTDIR, gu->image, "--copy-in: %s is not a directory in the "
			       "guest (create it with --mkdir first)", op->b);
	if (guestfs_copy_in(guest_h(gu), op->a, op->b) < 0)
		return guest_err(gu, op->b);
	snprintf(msg, len, "copied %s into %s", op->a, op->b);
	return 0;
}

static int run_one(struct guest *gu, const struct cust_op *op, bool network, char *msg,
		   size_t len)
{
	guestfs_h *g = guest_h(gu);

	switch (op->kind) {
	case CUST_HOSTNAME: return op_hostname(gu, op, msg, len);
	case CUST_TIMEZONE: return op_timezone(gu, op, msg, len);
	case CUST_WRITE:
		snprintf(msg, len, "wrote %zu bytes to %s", strlen(op->b), op->a);
		return do_write(gu, op->a, op->b, strlen(op->b));
	case CUST_APPEND_LINE: return op_append_line(gu, op, msg, len);
	case CUST_UPLOAD:
		if (access(op->a, R_OK))
			return err_set(-errno, op->a, "cannot read: %s", strerror(errno));
		snprintf(msg, len, "uploaded %s to %s", op->a, op->b);
		return guestfs_upload(g, op->a, op->b) < 0 ? guest_err(gu, op->b) : 0;
	case CUST_MKDIR:
		snprintf(msg, len, "created directory %s", op->a);
		return guestfs_mkdir_p(g, op->a) < 0 ? guest_err(gu, op->a) : 0;
	case CUST_CHMOD:
		snprintf(msg, len, "mode of %s set to %04o", op->b, op->mode);
		return guestfs_chmod(g, (int)op->mode, op->b) < 0 ? guest_err(gu, op->b) : 0;
	case CUST_DELETE:
		snprintf(msg, len, guest_exists(gu, op->a) ? "deleted %s" : "%s did not exist", op->a);
		return guestfs_rm_rf(g, op->a) < 0 ? guest_err(gu, op->a) : 0;
	case CUST_LINK:
		snprintf(msg, len, "%s -> %s", op->b, op->a);
		return guestfs_ln_sf(g, op->a, op->b) < 0 ? guest_err(gu, op->b) : 0;
	case CUST_ROOT_PASSWORD: return cust_op_root_password(gu, op, msg, len);
	case CUST_SSH_INJECT: return op_ssh_inject(gu, op, msg, len);
	case CUST_FIRSTBOOT_COMMAND: return op_firstboot(gu, op, msg, len);
	case CUST_RUN_COMMAND: return op_run_command(gu, op, msg, len);
	case CUST_RUN: return op_run_script(gu, op, msg, len);
	case CUST_COPY_IN: return op_copy_in(gu, op, msg, len);
	case CUST_INSTALL:
	case CUST_UPDATE: return cust_op_packages(gu, op, network, msg, len);
	case CUST_SELINUX_RELABEL: return cust_op_selinux_relabel(gu, msg, len);
	}
	return err_set(-EINVAL, gu->image, "unknown customize operation %d", (int)op->kind);
}

int customize_run(struct guest *gu, const struct cust_op *ops, size_t n, const char *prefix,
		  bool network)
{
	char msg[4608];

	for (size_t i = 0; i < n; i++) {
		int r;

		msg[0] = 0;
		r = run_one(gu, &ops[i], network, msg, sizeof(msg));
		if (r)
			return r;
		printf("%s%s: %s\n", prefix, customize_option_names[ops[i].kind], msg);
		fflush(stdout);
	}
	return 0;
}

#endif
