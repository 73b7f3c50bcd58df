/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * customize_password.c - customize --root-password: password:PW, file:HOSTFILE or
 * random.  The hash uses the scheme the guest itself would use when root runs
 * passwd: the pam_unix option of its PAM password stack (Debian 12: yescrypt),
 * else ENCRYPT_METHOD in /etc/login.defs, else the scheme of root's current hash,
 * else SHA-512.  Hashing is libxcrypt's crypt_gensalt/crypt_r
 * (customize_hash_password), never hand-written.  A random password is printed
 * once, on the operation's line: it is stored nowhere else.
 */
#include "guest/customize_ops.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "common/err.h"

#define RANDOM_PW_LEN 16

static const struct { const char *word, *prefix; } schemes[] = {
	{ "yescrypt", "$y$" }, { "sha512", "$6$" }, { "sha256", "$5$" },
	{ "blowfish", "$2b$" }, { "bcrypt", "$2b$" }, { "md5", "$1$" },
};

static const char *scheme_of_word(const char *w, size_t n)
{
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strlen(schemes[i].word) == n && !strncasecmp(w, schemes[i].word, n))
			return schemes[i].prefix;
	return NULL;
}

/* The next whitespace-separated word of a line: *w and its length. */
static size_t next_word(const char **p, const char *end, const char **w)
{
	const char *s = *p;

	while (s < end && isspace((unsigned char)*s))
		s++;
	*w = s;
	while (s < end && !isspace((unsigned char)*s))
		s++;
	*p = s;
	return (size_t)(s - *w);
}

/* "password ... pam_unix.so ... yescrypt ...": the hash option of pam_unix. */
static const char *scheme_from_pam(const char *text)
{
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *end = l + strcspn(l, "\n"), *p = l, *w;
		size_t n = next_word(&p, end, &w);
		bool unix_seen = false;

		if (n != 8 || strncmp(w, "password", 8))
			continue;
		while ((n = next_word(&p, end, &w))) {
			const char *s;

			if (n >= 11 && !strncmp(w + n - 11, "pam_unix.so", 11))
				unix_seen = true;
			else if (unix_seen && (s = scheme_of_word(w, n)))
				return s;
		}
	}
	return NULL;
}

/* "ENCRYPT_METHOD YESCRYPT" in /etc/login.defs. */
static const char *scheme_from_login_defs(const char *text)
{
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *end = l + strcspn(l, "\n"), *p = l, *w;
		size_t n = next_word(&p, end, &w);

		if (n == 14 && !strncmp(w, "ENCRYPT_METHOD", 14) && (n = next_word(&p, end, &w)))
			return scheme_of_word(w, n);
	}
	return NULL;
}

static const char *scheme_from_hash(const char *hash)
{
	static const char *const known[] = { "$y$", "$6$", "$5$", "$2b$" };

	for (size_t i = 0; hash && i < sizeof(known) / sizeof(known[0]); i++)
		if (!strncmp(hash, known[i], strlen(known[i])))
			return known[i];
	return NULL;
}

const char *customize_password_scheme(const char *pam, const char *login_defs,
				      const char *root_hash)
{
	const char *s = pam ? scheme_from_pam(pam) : NULL;

	if (!s && login_defs)
		s = scheme_from_login_defs(login_defs);
	if (!s)
		s = scheme_from_hash(root_hash);
	return s ? s : "$6$";
}

#ifdef HAVE_LIBGUESTFS

static const char *scheme_name(const char *prefix)
{
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (!strcmp(schemes[i].prefix, prefix))
			return schemes[i].word;
	return prefix;
}

/* RANDOM_PW_LEN letters and digits from getrandom(), without modulo bias. */
static int random_password(char *out, size_t size)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	const unsigned limit = 256 - 256 % (sizeof(set) - 1);
	size_t n = 0;

	while (n < size - 1) {
		unsigned char buf[64];
		ssize_t got = getrandom(buf, sizeof(buf), 0);

		if (got < 0)
			return err_set(-errno, NULL, "getrandom: %s", strerror(errno));
		for (ssize_t i = 0; i < got && n < size - 1; i++)
			if (buf[i] < limit)
				out[n++] = set[buf[i] % (sizeof(set) - 1)];
	}
	out[n] = 0;
	return 0;
}

/* The guest's scheme, from its PAM stack, login.defs and root's hash field. */
static const char *guest_scheme(struct guest *gu, const char *root_hash)
{
	static const char *const pam_files[] = {
		"/etc/pam.d/common-password", "/etc/pam.d/system-auth", "/etc/pam.d/passwd",
	};
	char *pam = NULL, *defs = NULL;
	const char *s;

	for (size_t i = 0; i < sizeof(pam_files) / sizeof(pam_files[0]) && !pam; i++)
		if (guest_read(gu, pam_files[i], CUST_GUEST_TEXT_MAX, &pam, NULL))
			pam = NULL;
	if (guest_read(gu, "/etc/login.defs", CUST_GUEST_TEXT_MAX, &defs, NULL))
		defs = NULL;
	err_clear();
	s = customize_password_scheme(pam, defs, root_hash);
	free(pam);
	free(defs);
	return s;
}

static int get_password(const struct cust_op *op, char **pw)
{
	int r;

	*pw = NULL;
	if (op->pw_kind == 1) {
		if ((r = cust_read_host_file(op->a, pw)))
			return r;
		(*pw)[strcspn(*pw, "\r\n")] = 0;
		return 0;
	}
	if (op->pw_kind == 2) {
		if (!(*pw = malloc(RANDOM_PW_LEN + 1)))
			return err_set(-ENOMEM, NULL, "--root-password: out of memory");
		return random_password(*pw, RANDOM_PW_LEN + 1);
	}
	return (*pw = strdup(op->a)) ? 0 : err_set(-ENOMEM, NULL, "--root-password: out of memory");
}

/* Replace the password field of root's line in text (n bytes) by hash. */
static int replace_root_field(struct guest *gu, const char *file, const char *text,
			      size_t n, const char *hash, char **out)
{
	const char *line = !strncmp(text, "root:", 5) ? text : strstr(text, "\nroot:");
	const char *field, *fend;

	*out = NULL;
	if (!line)
		return err_set(-ENOENT, gu->image, "no root entry in %s", file);
	line += line[0] == '\n';
	field = line + 5;
	fend = field + strcspn(field, ":\n");
	if (*fend != ':')
		return err_set(-EINVAL, gu->image, "%s: malformed root entry", file);
	*out = malloc(n + strlen(hash) + 1);
	if (!*out)
		return err_set(-ENOMEM, gu->image, "%s: out of memory", file);
	memcpy(*out, text, (size_t)(field - text));
	strcpy(*out + (field - text), hash);
	strcat(*out, fend);
	return 0;
}

int cust_op_root_password(struct guest *gu, const struct cust_op *op, char *msg, size_t len)
{
	const char *file = guest_is_file(gu, "/etc/shadow") ? "/etc/shadow" : "/etc/passwd";
	char *pw = NULL, *text = NULL, *hash = NULL, *out = NULL, *field;
	const char *scheme;
	size_t n;
	int r;

	if ((r = get_password(op, &pw)) ||
	    (r = guest_read(gu, file, CUST_GUEST_TEXT_MAX, &text, &n)))
		goto out;
	field = !strncmp(text, "root:", 5) ? text + 5 : strstr(text, "\nroot:");
	if (field && *field == '\n')
		field += 6;
	scheme = guest_scheme(gu, field);
	if ((r = customize_hash_password(pw, scheme, &hash)) ||
	    (r = replace_root_field(gu, file, text, n, hash, &out)))
		goto out;
	if (guestfs_write(guest_h(gu), file, out, strlen(out)) < 0) {
		r = guest_err(gu, file);
		goto out;
	}
	if (op->pw_kind == 2)
		snprintf(msg, len, "root's random password is %s (%s hash in %s)", pw,
			 scheme_name(scheme), file);
	else
		snprintf(msg, len, "root's password set in %s (%s hash)", file, scheme_name(scheme));
out:
	if (pw)
		memset(pw, 0, strlen(pw));
	free(pw);
	free(text);
	free(hash);
	free(out);
	return r;
}

#endif
