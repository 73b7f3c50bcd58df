/*
 * customize.c - the customize operations (see customize.h).  Values are checked
 * when parsed (absolute guest paths, octal modes, user:file:key forms), so that a
 * typo fails before the 10-20 s appliance launch.  Guest files are read with a
 * size cap; host files (--upload, --root-password file:, --ssh-inject) are read by
 * the user's own rights.
 */
#include "customize.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/err.h"

#define GUEST_TEXT_MAX (4u << 20)
#define HOST_SMALL_MAX (64u << 10)   /* a password or public key file */

const char *const customize_option_names[] = {
	"hostname", "timezone", "write", "append-line", "upload", "mkdir", "chmod",
	"delete", "link", "root-password", "ssh-inject", "firstboot-command",
	"run-command",
};

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
	return op->a && op->b ? 0 : -ENOMEM;
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
		} else {
			return bad(k, "...", "expected password:PASSWORD or file:FILENAME");
		}
		return op->a ? 0 : -ENOMEM;
	case CUST_SSH_INJECT: {
		const char *c = strchr(v, ':');

		if (!c || c == v || strncmp(c + 1, "file:", 5) || !c[6])
			return bad(k, v, "expected USER:file:PUBLIC_KEY_FILE");
		op->a = strndup(v, (size_t)(c - v));
		op->b = strdup(c + 6);
		if (!op->a || !op->b) {
			r = -ENOMEM;
			goto fail;
		}
		if (strpbrk(op->a, "/: \n")) {
			r = bad(k, v, "not a user name");
			goto fail;
		}
		return 0;
	}
	default:
		return -EINVAL;
	}
	op->a = strdup(v);
	return op->a ? 0 : -ENOMEM;
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
		return -ENOMEM;
	}
	h = crypt_r(password, salt, cd);
	free(salt);
	if (!h || h[0] == '*') {
		free(cd);
		return err_set(-EINVAL, NULL, "crypt(3) cannot hash with %s", prefix);
	}
	*out = strdup(h);
	free(cd);
	return *out ? 0 : -ENOMEM;
}

#ifndef HAVE_LIBGUESTFS

int customize_run(struct guest *gu, const struct cust_op *ops, size_t n, const char *prefix)
{
	return err_set(-ENOTSUP, NULL, "imgtool was built without libguestfs");
}

#else

/* Read a small host file (password, public key). */
static int read_host_file(const char *path, char **out)
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
		return -ENOMEM;
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
		return -ENOMEM;
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

/* The guest's password scheme: that of root's current hash, else SHA-512. */
static const char *guest_hash_prefix(const char *field, size_t n)
{
	static const char *const known[] = { "$y$", "$6$", "$5$", "$2b$" };

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (n >= strlen(known[i]) && !strncmp(field, known[i], strlen(known[i])))
			return known[i];
	return "$6$";
}

static int op_root_password(struct guest *gu, const struct cust_op *op, char *msg, size_t len)
{
	const char *file = guest_is_file(gu, "/etc/shadow") ? "/etc/shadow" : "/etc/passwd";
	char *pw = NULL, *text = NULL, *hash = NULL, *out = NULL, *line, *field, *fend;
	size_t n;
	int r;

	if (op->pw_kind == 1) {
		if ((r = read_host_file(op->a, &pw)))
			return r;
		pw[strcspn(pw, "\r\n")] = 0;
	} else if (!(pw = strdup(op->a))) {
		return -ENOMEM;
	}
	r = guest_read(gu, file, GUEST_TEXT_MAX, &text, &n);
	if (r)
		goto out;
	line = !strncmp(text, "root:", 5) ? text : strstr(text, "\nroot:");
	if (!line) {
		r = err_set(-ENOENT, gu->image, "no root entry in %s", file);
		goto out;
	}
	line += line[0] == '\n';
	field = line + 5;
	fend = field + strcspn(field, ":\n");
	if (*fend != ':') {
		r = err_set(-EINVAL, gu->image, "%s: malformed root entry", file);
		goto out;
	}
	r = customize_hash_password(pw, guest_hash_prefix(field, (size_t)(fend - field)), &hash);
	if (r)
		goto out;
	out = malloc(n + strlen(hash) + 1);
	if (!out) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(out, text, (size_t)(field - text));
	strcpy(out + (field - text), hash);
	strcat(out, fend);
	r = do_write(gu, file, out, strlen(out));
	if (!r)
		snprintf(msg, len, "root's password set in %s (%.3s hash)", file, hash);
out:
	if (pw)
		memset(pw, 0, strlen(pw));
	free(pw);
	free(text);
	free(hash);
	free(out);
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
	    (r = read_host_file(op->b, &key)))
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
		r = -ENOMEM;
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
#define FB_UNIT "/etc/systemd/system/imgtool-firstboot.service"

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

static int op_firstboot(struct guest *gu, const struct cust_op *op, char *msg, size_t len)
{
	guestfs_h *g = guest_h(gu);
	char path[256], *script;
	char **v;
	size_t n;
	int r;

	/* only systemd is hooked: another init has no standard place to run once */
	if (!guest_exists(gu, "/lib/systemd/systemd") && !guest_exists(gu, "/usr/lib/systemd/systemd"))
		return err_set(-ENOTSUP, gu->image, "--firstboot-command is unsupported for this "
			       "guest: it has no systemd to run first-boot commands");
	if (guestfs_mkdir_p(g, FB_DIR "/scripts") < 0 ||
	    guestfs_mkdir_p(g, "/etc/systemd/system/multi-user.target.wants") < 0)
		return guest_err(gu, FB_DIR);
	v = guest_glob(gu, FB_DIR "/scripts/*");
	n = guest_strv_len(v);
	guest_free_strv(v);
	snprintf(path, sizeof(path), FB_DIR "/scripts/%04zu", n + 1);
	script = malloc(strlen(op->a) + 32);
	if (!script)
		return -ENOMEM;
	sprintf(script, "#!/bin/sh\n%s\n", op->a);
	r = do_write(gu, path, script, strlen(script));
	free(script);
	if (r || (r = do_write(gu, FB_DIR "/firstboot.sh", fb_runner, strlen(fb_runner))) ||
	    (r = do_write(gu, FB_UNIT, fb_unit, strlen(fb_unit))))
		return r;
	if (guestfs_chmod(g, 0755, FB_DIR "/firstboot.sh") < 0 ||
	    guestfs_ln_sf(g, "../imgtool-firstboot.service",
			  "/etc/systemd/system/multi-user.target.wants/imgtool-firstboot.service") < 0)
		return guest_err(gu, FB_UNIT);
	snprintf(msg, len, "queued as %s (systemd unit imgtool-firstboot.service)", path);
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
	if (*out) {
		/* the command's own output follows the op's line, indented */
		size_t l = strlen(msg);

		snprintf(msg + l, len - l, "; output:\n%.4000s", out);
		l = strlen(msg);
		while (l && msg[l - 1] == '\n')
			msg[--l] = 0;
	}
	free(out);
	return 0;
}

static int run_one(struct guest *gu, const struct cust_op *op, char *msg, size_t len)
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
	case CUST_ROOT_PASSWORD: return op_root_password(gu, op, msg, len);
	case CUST_SSH_INJECT: return op_ssh_inject(gu, op, msg, len);
	case CUST_FIRSTBOOT_COMMAND: return op_firstboot(gu, op, msg, len);
	case CUST_RUN_COMMAND: return op_run_command(gu, op, msg, len);
	}
	return -EINVAL;
}

int customize_run(struct guest *gu, const struct cust_op *ops, size_t n, const char *prefix)
{
	char msg[4608];

	for (size_t i = 0; i < n; i++) {
		int r;

		msg[0] = 0;
		r = run_one(gu, &ops[i], msg, sizeof(msg));
		if (r)
			return r;
		printf("%s%s: %s\n", prefix, customize_option_names[ops[i].kind], msg);
		fflush(stdout);
	}
	return 0;
}

#endif
