/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * net.c - URL parsing, secret masking and handling, timeouts and the connection
 * pool shared by the nfs, iscsi, rbd and ssh backends (see net.h).  No network
 * library is needed here, so this file is always built and unit-tested.
 */
#include "net.h"
#include "backend.h"
#include "../common/err.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define URL_MAX 4096

/* ---- masking ---- */

static bool key_is_secret(const char *k, size_t n)
{
	char low[64];

	if (n >= sizeof(low))
		n = sizeof(low) - 1;
	for (size_t i = 0; i < n; i++)
		low[i] = (char)tolower((unsigned char)k[i]);
	low[n] = 0;
	if (strstr(low, "file"))      /* password-file=/path names a file, not a secret */
		return false;
	return strstr(low, "password") || strstr(low, "secret") || !strcmp(low, "key") ||
	       !strcmp(low, "pass");
}

/* Append s[0..n) to out at *o (out has room: masking never grows by more than 3
 * bytes per secret and the caller allocates generously). */
static void put(char *out, size_t *o, const char *s, size_t n)
{
	memcpy(out + *o, s, n);
	*o += n;
}

/* Mask values of key=value items separated by any of seps, from s on. */
static void mask_items(char *out, size_t *o, const char *s, const char *seps)
{
	while (*s) {
		size_t n = strcspn(s, seps);
		const char *eq = memchr(s, '=', n);

		if (eq && key_is_secret(s, (size_t)(eq - s))) {
			put(out, o, s, (size_t)(eq - s) + 1);
			put(out, o, "***", 3);
		} else {
			put(out, o, s, n);
		}
		s += n;
		if (*s)
			put(out, o, s++, 1);
	}
}

char *net_url_mask(const char *url)
{
	size_t len = strlen(url), o = 0;
	char *out = malloc(len * 2 + 16);
	const char *p, *auth, *at, *q;

	if (!out)
		return NULL;
	if (!strncmp(url, "rbd:", 4) && strncmp(url, "rbd://", 6)) {
		mask_items(out, &o, url, ":");
		out[o] = 0;
		return out;
	}
	p = strstr(url, "://");
	if (!p) {
		memcpy(out, url, len + 1);
		return out;
	}
	auth = p + 3;
	q = auth + strcspn(auth, "/?#");
	at = memchr(auth, '@', (size_t)(q - auth));
	put(out, &o, url, (size_t)(auth - url));
	if (at) {
		size_t ul = strcspn(auth, "%:@");
		put(out, &o, auth, ul);
		if (auth + ul < at)
			put(out, &o, auth[ul] == '%' ? "%***" : ":***", 4);
		put(out, &o, "@", 1);
		auth = at + 1;
	}
	/* host and path verbatim, then the query with secrets masked */
	q = auth + strcspn(auth, "?");
	put(out, &o, auth, (size_t)(q - auth));
	if (*q) {
		put(out, &o, "?", 1);
		mask_items(out, &o, q + 1, "&");
	}
	out[o] = 0;
	return out;
}

int net_backend_name(struct backend *be, const char *url)
{
	char *masked = net_url_mask(url);

	if (!masked)
		return err_set(-ENOMEM, NULL, "out of memory");
	free(be->url);
	be->url = masked;
	return 0;
}

/* ---- small helpers ---- */

int net_timeout(void)
{
	const char *s = getenv("IMGTOOL_NET_TIMEOUT");
	char *end;
	long v;

	if (!s || !*s)
		return 30;
	v = strtol(s, &end, 10);
	if (*end || v < 1 || v > 3600)
		return 30;
	return (int)v;
}

int net_read_secret_file(const char *path, const char *where, char **out)
{
	char buf[1025];
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return err_set(-errno, where, "cannot read the secret file '%s': %s", path,
			       strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	*out = strdup(buf);
	memset(buf, 0, sizeof(buf));
	if (!*out)
		return err_set(-ENOMEM, where, "out of memory");
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Copy s[0..n) decoding %XX escapes (a '%' without two hex digits stays). */
static char *dup_decoded(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	size_t o = 0;

	if (!d)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
		    hexval(s[i + 2]) >= 0) {
			d[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else {
			d[o++] = s[i];
		}
	}
	d[o] = 0;
	return d;
}

static bool parse_int(const char *s, long lo, long hi, int *out)
{
	char *end;
	long v;

	if (!*s)
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = (int)v;
	return true;
}

/* Split "host[:port]" or "[v6]:port" at auth[0..n).  Port 0 if absent. */
static int parse_hostport(const char *url, const char *auth, size_t n, char **host, int *port)
{
	const char *colon = NULL, *hend = auth + n;
	char num[16];

	*port = 0;
	if (n && auth[0] == '[') {
		const char *rb = memchr(auth, ']', n);
		if (!rb)
			return err_set(-EINVAL, url, "bad IPv6 address (missing ']')");
		*host = strndup(auth + 1, (size_t)(rb - auth - 1));
		if (rb + 1 < hend) {
			if (rb[1] != ':')
				return err_set(-EINVAL, url, "bad host");
			colon = rb + 1;
		}
	} else {
		colon = memchr(auth, ':', n);
		*host = strndup(auth, colon ? (size_t)(colon - auth) : n);
	}
	if (!*host)
		return err_set(-ENOMEM, url, "out of memory");
	if (!**host)
		return err_set(-EINVAL, url, "no host name in the URL");
	if (colon) {
		size_t pl = (size_t)(hend - colon - 1);
		if (pl == 0 || pl >= sizeof(num))
			return err_set(-EINVAL, url, "bad port number");
		memcpy(num, colon + 1, pl);
		num[pl] = 0;
		if (!parse_int(num, 1, 65535, port))
			return err_set(-EINVAL, url, "bad port number '%s'", num);
	}
	return 0;
}

/* Call fn(key, value) for each item of the query string q ("a=1&b=2"). */
static int for_each_query(const char *url, const char *q,
			  int (*fn)(void *ctx, const char *url, const char *k, const char *v),
			  void *ctx)
{
	while (q && *q) {
		size_t n = strcspn(q, "&");
		const char *eq = memchr(q, '=', n);
		char *k, *v;
		int ret;

		if (n == 0) {
			q++;
			continue;
		}
		k = dup_decoded(q, eq ? (size_t)(eq - q) : n);
		v = eq ? dup_decoded(eq + 1, n - (size_t)(eq - q) - 1) : strdup("");
		if (!k || !v) {
			free(k);
			free(v);
			return err_set(-ENOMEM, url, "out of memory");
		}
		ret = fn(ctx, url, k, v);
		free(k);
		if (v) {
			memset(v, 0, strlen(v));
			free(v);
		}
		if (ret < 0)
			return ret;
		q += n;
		if (*q)
			q++;
	}
	return 0;
}

/* ---- nfs ---- */

static int nfs_opt(void *ctx, const char *url, const char *k, const char *v)
{
	struct nfs_url_parts *u = ctx;
	int *dst = NULL;
	long lo = 0, hi = 65535;

	if (!strcmp(k, "version")) {
		if (!parse_int(v, 3, 4, &u->version))
			return err_set(-EINVAL, url, "NFS version must be 3 or 4, not '%s'", v);
		return 0;
	}
	if (!strcmp(k, "uid"))
		dst = &u->uid, hi = 0x7fffffff;
	else if (!strcmp(k, "gid"))
		dst = &u->gid, hi = 0x7fffffff;
	else if (!strcmp(k, "nfsport"))
		dst = &u->nfsport, lo = 1;
	else if (!strcmp(k, "mountport"))
		dst = &u->mountport, lo = 1;
	else if (!strcmp(k, "debug"))
		dst = &u->debug, hi = 10;
	if (!dst)
		return err_set(-EINVAL, url, "unknown NFS URL option '%s' (known: version, uid, gid, nfsport, mountport, debug)", k);
	if (!parse_int(v, lo, hi, dst))
		return err_set(-EINVAL, url, "bad value for NFS URL option '%s'", k);
	return 0;
}

static int nfs_url_parse_at(const char *src, const char *url, struct nfs_url_parts *u)
{
	const char *auth, *path, *q, *slash;
	size_t plen;
	char *dpath;
	int ret;

	memset(u, 0, sizeof(*u));
	u->uid = u->gid = -1;
	if (strlen(src) > URL_MAX)
		return err_set(-EINVAL, url, "URL too long");
	if (strncmp(src, "nfs://", 6))
		return err_set(-EINVAL, url, "not an nfs:// URL");
	auth = src + 6;
	path = auth + strcspn(auth, "/?");
	if (memchr(auth, '@', (size_t)(path - auth)))
		return err_set(-EINVAL, url, "NFS URLs take no user name (use ?uid=&gid=)");
	ret = parse_hostport(url, auth, (size_t)(path - auth), &u->host, &u->port);
	if (ret < 0)
		return ret;
	u->nfsport = u->port;
	q = strchr(path, '?');
	plen = q ? (size_t)(q - path) : strlen(path);
	dpath = dup_decoded(path, plen);
	if (!dpath)
		return err_set(-ENOMEM, url, "out of memory");
	slash = strrchr(dpath, '/');
	if (!slash || slash == dpath || !slash[1]) {
		free(dpath);
		return err_set(-EINVAL, url, "the URL must name an export and a file: nfs://host/export/file");
	}
	u->export = strndup(dpath, (size_t)(slash - dpath));
	u->file = strdup(slash);
	free(dpath);
	if (!u->export || !u->file)
		return err_set(-ENOMEM, url, "out of memory");
	return q ? for_each_query(url, q + 1, nfs_opt, u) : 0;
}

int nfs_url_parse(const char *url, struct nfs_url_parts *u)
{
	char *where = net_url_mask(url);
	int ret;

	if (!where)
		return err_set(-ENOMEM, NULL, "out of memory");
	ret = nfs_url_parse_at(url, where, u);
	free(where);
	return ret;
}

void nfs_url_free(struct nfs_url_parts *u)
{
	free(u->host);
	free(u->export);
	free(u->file);
	memset(u, 0, sizeof(*u));
}

/* ---- iscsi ---- */

static int set_str(char **dst, const char *v, const char *url)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : err_set(-ENOMEM, url, "out of memory");
}

static int iscsi_opt(void *ctx, const char *url, const char *k, const char *v)
{
	struct iscsi_url_parts *u = ctx;

	if (!strcmp(k, "initiator-name") || !strcmp(k, "initiator_name"))
		return set_str(&u->initiator, v, url);
	if (!strcmp(k, "target_user") || !strcmp(k, "target-user"))
		return set_str(&u->target_user, v, url);
	if (!strcmp(k, "target_password") || !strcmp(k, "target-password"))
		return set_str(&u->target_password, v, url);
	if (!strcmp(k, "password-file") || !strcmp(k, "password_file"))
		return set_str(&u->password_file, v, url);
	if (!strcmp(k, "header-digest") || !strcmp(k, "header_digest")) {
		if (strcmp(v, "none") && strcmp(v, "crc32c") && strcmp(v, "none-crc32c") &&
		    strcmp(v, "crc32c-none"))
			return err_set(-EINVAL, url, "header-digest must be none, crc32c, none-crc32c or crc32c-none");
		return set_str(&u->header_digest, v, url);
	}
	return err_set(-EINVAL, url, "unknown iSCSI URL option '%s' (known: initiator-name, target_user, target_password, password-file, header-digest)", k);
}

static int iscsi_url_parse_at(const char *src, const char *url, struct iscsi_url_parts *u)
{
	const char *auth, *hp, *path, *q, *lunp;
	char *dpath = NULL;
	int ret;

	memset(u, 0, sizeof(*u));
	if (strlen(src) > URL_MAX)
		return err_set(-EINVAL, url, "URL too long");
	if (strncmp(src, "iscsi://", 8))
		return err_set(-EINVAL, url, "not an iscsi:// URL");
	auth = src + 8;
	path = auth + strcspn(auth, "/?");
	hp = auth;
	{
		const char *at = memchr(auth, '@', (size_t)(path - auth));
		if (at) {
			size_t ul = strcspn(auth, "%@");
			u->user = dup_decoded(auth, ul);
			if (auth + ul < at)
				u->password = dup_decoded(auth + ul + 1, (size_t)(at - auth - ul - 1));
			if (!u->user || (auth + ul < at && !u->password))
				return err_set(-ENOMEM, url, "out of memory");
			hp = at + 1;
		}
	}
	ret = parse_hostport(url, hp, (size_t)(path - hp), &u->host, &u->port);
	if (ret < 0)
		return ret;
	if (!u->port)
		u->port = 3260;
	q = strchr(path, '?');
	dpath = dup_decoded(path, q ? (size_t)(q - path) : strlen(path));
	if (!dpath)
		return err_set(-ENOMEM, url, "out of memory");
	lunp = strrchr(dpath, '/');
	if (dpath[0] != '/' || !lunp || lunp == dpath) {
		free(dpath);
		return err_set(-EINVAL, url, "the URL must be iscsi://host[:port]/target-iqn/lun");
	}
	if (!parse_int(lunp + 1, 0, 16383, &u->lun)) {
		ret = err_set(-EINVAL, url, "bad LUN number '%s'", lunp + 1);
		free(dpath);
		return ret;
	}
	u->iqn = strndup(dpath + 1, (size_t)(lunp - dpath - 1));
	free(dpath);
	if (!u->iqn)
		return err_set(-ENOMEM, url, "out of memory");
	if (!*u->iqn || strchr(u->iqn, '/'))
		return err_set(-EINVAL, url, "bad target name in the URL");
	return q ? for_each_query(url, q + 1, iscsi_opt, u) : 0;
}

int iscsi_url_parse(const char *url, struct iscsi_url_parts *u)
{
	char *where = net_url_mask(url);
	int ret;

	if (!where)
		return err_set(-ENOMEM, NULL, "out of memory");
	ret = iscsi_url_parse_at(url, where, u);
	free(where);
	return ret;
}

static int env_default(char **dst, const char *a, const char *b, const char *where)
{
	const char *v = getenv(a);

	if (*dst)
		return 0;
	if ((!v || !*v) && b)
		v = getenv(b);
	if (!v || !*v)
		return 0;
	return set_str(dst, v, where);
}

int iscsi_url_secrets(struct iscsi_url_parts *u, const char *where)
{
	const char *pf = getenv("IMGTOOL_ISCSI_PASSWORD_FILE");
	int ret;

	ret = env_default(&u->user, "IMGTOOL_ISCSI_USER", "LIBISCSI_CHAP_USERNAME", where);
	if (!ret)
		ret = env_default(&u->initiator, "IMGTOOL_ISCSI_INITIATOR", NULL, where);
	if (!ret)
		ret = env_default(&u->target_user, "LIBISCSI_CHAP_TARGET_USERNAME", NULL, where);
	if (!ret)
		ret = env_default(&u->target_password, "LIBISCSI_CHAP_TARGET_PASSWORD", NULL, where);
	if (ret)
		return ret;
	if (u->password)
		return 0;
	if (u->password_file)
		return net_read_secret_file(u->password_file, where, &u->password);
	ret = env_default(&u->password, "IMGTOOL_ISCSI_PASSWORD", "LIBISCSI_CHAP_PASSWORD", where);
	if (ret || u->password || !pf || !*pf)
		return ret;
	return net_read_secret_file(pf, where, &u->password);
}

static void free_secret(char **s)
{
	if (*s)
		memset(*s, 0, strlen(*s));
	free(*s);
	*s = NULL;
}

void iscsi_url_free(struct iscsi_url_parts *u)
{
	free(u->user);
	free_secret(&u->password);
	free(u->host);
	free(u->iqn);
	free(u->initiator);
	free(u->target_user);
	free_secret(&u->target_password);
	free(u->password_file);
	free(u->header_digest);
	memset(u, 0, sizeof(*u));
}

/* ---- ssh ---- */

static int ssh_opt(void *ctx, const char *url, const char *k, const char *v)
{
	struct ssh_url_parts *u = ctx;

	if (!*v)
		return err_set(-EINVAL, url, "the ssh URL option '%s' needs a value", k);
	if (!strcmp(k, "identity"))
		return set_str(&u->identity, v, url);
	if (!strcmp(k, "known-hosts") || !strcmp(k, "known_hosts"))
		return set_str(&u->known_hosts, v, url);
	if (!strcmp(k, "password-file") || !strcmp(k, "password_file"))
		return set_str(&u->password_file, v, url);
	if (!strcmp(k, "host-key") || !strcmp(k, "host_key")) {
		if (strncmp(v, "SHA256:", 7) || !v[7])
			return err_set(-EINVAL, url, "host-key must be a SHA256:... fingerprint (as ssh-keygen -lf prints it)");
		return set_str(&u->host_key, v, url);
	}
	return err_set(-EINVAL, url, "unknown ssh URL option '%s' (known: identity, known-hosts, host-key, password-file)", k);
}

static int ssh_url_parse_at(const char *src, const char *url, struct ssh_url_parts *u)
{
	const char *auth, *hp, *path, *q, *at;
	int ret;

	memset(u, 0, sizeof(*u));
	if (strlen(src) > URL_MAX)
		return err_set(-EINVAL, url, "URL too long");
	if (strncmp(src, "ssh://", 6))
		return err_set(-EINVAL, url, "not an ssh:// URL");
	auth = src + 6;
	path = auth + strcspn(auth, "/?");
	hp = auth;
	at = memchr(auth, '@', (size_t)(path - auth));
	if (at) {
		if (memchr(auth, ':', (size_t)(at - auth)))
			return err_set(-EINVAL, url, "a password in the URL is refused (it would show in the process list): use ?password-file=FILE or IMGTOOL_SSH_PASSWORD");
		u->user = dup_decoded(auth, (size_t)(at - auth));
		if (!u->user)
			return err_set(-ENOMEM, url, "out of memory");
		if (!*u->user)
			return err_set(-EINVAL, url, "empty user name");
		hp = at + 1;
	}
	ret = parse_hostport(url, hp, (size_t)(path - hp), &u->host, &u->port);
	if (ret < 0)
		return ret;
	if (!u->port)
		u->port = 22;
	q = strchr(path, '?');
	u->path = dup_decoded(path, q ? (size_t)(q - path) : strlen(path));
	if (!u->path)
		return err_set(-ENOMEM, url, "out of memory");
	if (u->path[0] != '/')
		return err_set(-EINVAL, url, "the URL must name an absolute path: ssh://[user@]host[:port]/path");
	return q ? for_each_query(url, q + 1, ssh_opt, u) : 0;
}

int ssh_url_parse(const char *url, struct ssh_url_parts *u)
{
	char *where = net_url_mask(url);
	int ret;

	if (!where)
		return err_set(-ENOMEM, NULL, "out of memory");
	ret = ssh_url_parse_at(url, where, u);
	free(where);
	return ret;
}

int ssh_url_secrets(struct ssh_url_parts *u, const char *where)
{
	if (u->password)
		return 0;
	if (u->password_file)
		return net_read_secret_file(u->password_file, where, &u->password);
	return env_default(&u->password, "IMGTOOL_SSH_PASSWORD", NULL, where);
}

void ssh_url_free(struct ssh_url_parts *u)
{
	free(u->user);
	free(u->host);
	free(u->path);
	free(u->identity);
	free(u->known_hosts);
	free(u->host_key);
	free(u->password_file);
	free_secret(&u->password);
	memset(u, 0, sizeof(*u));
}

/* ---- rbd ---- */

/* Copy the next token of s up to an unescaped char of stops, removing escapes. */
static char *rbd_token(const char **s, const char *stops)
{
	const char *p = *s;
	char *out = malloc(strlen(p) + 1);
	size_t o = 0;

	if (!out)
		return NULL;
	while (*p && !strchr(stops, *p)) {
		if (*p == '\\' && p[1])
			p++;
		out[o++] = *p++;
	}
	out[o] = 0;
	*s = p;
	return out;
}

/* The Ceph options a name may set with rados_conf_set(): where the cluster is
 * and how to authenticate.  Whatever else librados takes (log_file,
 * log_to_file, admin_socket, ...) can write files or change where logs go, so a
 * name cannot set it, whoever wrote the name. */
static const char *const rbd_conf_allowed[] = {
	"mon_host", "key", "auth_supported", "auth_client_required", "rbd_cache",
};

static bool rbd_conf_key_allowed(const char *k)
{
	for (size_t i = 0; i < sizeof(rbd_conf_allowed) / sizeof(rbd_conf_allowed[0]); i++)
		if (!strcmp(k, rbd_conf_allowed[i]))
			return true;
	return false;
}

static int rbd_kv(struct rbd_spec *s, const char *url, const char *k, const char *v)
{
	char **dst = NULL;

	if (!strcmp(k, "id"))
		dst = &s->id;
	else if (!strcmp(k, "conf"))
		dst = &s->conf;
	else if (!strcmp(k, "keyring"))
		dst = &s->keyring;
	else if (!strcmp(k, "namespace"))
		dst = &s->ns;
	else if (!strcmp(k, "snap"))
		dst = &s->snap;
	if (dst)
		return set_str(dst, v, url);
	if (!*k)
		return err_set(-EINVAL, url, "empty option name");
	if (!rbd_conf_key_allowed(k))
		return err_set(-EPERM, url,
			       "rbd option '%s' is not allowed (allowed: id, conf, keyring, namespace, snap, mon_host, key, auth_supported, auth_client_required, rbd_cache)",
			       k);
	if (s->nopts >= RBD_MAX_OPTS)
		return err_set(-EINVAL, url, "too many rbd options");
	s->keys[s->nopts] = strdup(k);
	s->vals[s->nopts] = strdup(v);
	if (!s->keys[s->nopts] || !s->vals[s->nopts]) {
		free(s->keys[s->nopts]);
		free(s->vals[s->nopts]);
		return err_set(-ENOMEM, url, "out of memory");
	}
	s->nopts++;
	return 0;
}

static int rbd_query_opt(void *ctx, const char *url, const char *k, const char *v)
{
	return rbd_kv(ctx, url, k, v);
}

static int rbd_spec_parse_at(const char *src, const char *url, struct rbd_spec *s)
{
	const char *p;
	char *a = NULL, *b = NULL;
	bool uri;
	int ret = 0;

	memset(s, 0, sizeof(*s));
	if (strlen(src) > URL_MAX)
		return err_set(-EINVAL, url, "URL too long");
	uri = !strncmp(src, "rbd://", 6);
	if (!uri && strncmp(src, "rbd:", 4))
		return err_set(-EINVAL, url, "not an rbd: name");
	p = src + (uri ? 6 : 4);
	a = rbd_token(&p, uri ? "/@?" : "/@:");
	if (!a)
		return err_set(-ENOMEM, url, "out of memory");
	if (*p != '/' || !*a) {
		free(a);
		return err_set(-EINVAL, url, "the name must be rbd:pool/image[@snap][:opt=val...]");
	}
	p++;
	b = rbd_token(&p, uri ? "/@?" : "/@:");
	if (!b) {
		free(a);
		return err_set(-ENOMEM, url, "out of memory");
	}
	if (*p == '/') {        /* pool/namespace/image */
		p++;
		s->ns = b;
		b = rbd_token(&p, uri ? "@?" : "@:");
		if (!b) {
			free(a);
			return err_set(-ENOMEM, url, "out of memory");
		}
	}
	s->pool = a;
	s->image = b;
	if (!*s->image || (s->ns && !*s->ns))
		return err_set(-EINVAL, url, "no image name");
	if (*p == '@') {
		p++;
		s->snap = rbd_token(&p, uri ? "?" : ":");
		if (!s->snap)
			return err_set(-ENOMEM, url, "out of memory");
		if (!*s->snap)
			return err_set(-EINVAL, url, "empty snapshot name");
	}
	if (uri) {
		if (*p == '?')
			ret = for_each_query(url, p + 1, rbd_query_opt, s);
		else if (*p)
			ret = err_set(-EINVAL, url, "unexpected text after the image name");
		return ret;
	}
	while (*p == ':' && ret == 0) {
		char *kv, *eq;

		p++;
		kv = rbd_token(&p, ":");
		if (!kv)
			return err_set(-ENOMEM, url, "out of memory");
		eq = strchr(kv, '=');
		if (!eq)
			ret = err_set(-EINVAL, url, "an rbd option lacks '=' (expected :key=value)");
		else {
			*eq = 0;
			ret = rbd_kv(s, url, kv, eq + 1);
		}
		memset(kv, 0, strlen(kv) + (eq ? strlen(eq + 1) + 1 : 0));
		free(kv);
	}
	if (ret == 0 && *p)
		ret = err_set(-EINVAL, url, "unexpected text after the options");
	return ret;
}

int rbd_spec_parse(const char *url, struct rbd_spec *s)
{
	char *where = net_url_mask(url);
	int ret;

	if (!where)
		return err_set(-ENOMEM, NULL, "out of memory");
	ret = rbd_spec_parse_at(url, where, s);
	free(where);
	return ret;
}

void rbd_spec_free(struct rbd_spec *s)
{
	free(s->pool);
	free(s->ns);
	free(s->image);
	free(s->snap);
	free(s->id);
	free(s->conf);
	free(s->keyring);
	for (int i = 0; i < s->nopts; i++) {
		free(s->keys[i]);
		free_secret(&s->vals[i]);
	}
	memset(s, 0, sizeof(*s));
}

/* ---- connection pool ---- */

void net_pool_init(struct net_pool *p, int max, int (*connect)(void *, void **),
		   void (*disconnect)(void *, void *), void *arg)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->max = max < 1 ? 1 : max > NET_POOL_MAX ? NET_POOL_MAX : max;
	p->connect = connect;
	p->disconnect = disconnect;
	p->arg = arg;
}

void net_pool_add(struct net_pool *p, void *conn)
{
	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < p->max; i++) {
		if (!p->conn[i] && !p->busy[i]) {
			p->conn[i] = conn;
			conn = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&p->lock);
	if (conn)
		p->disconnect(p->arg, conn);
}

int net_pool_get(struct net_pool *p, void **conn, int *slot)
{
	int ret;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		int empty = -1;

		for (int i = 0; i < p->max; i++) {
			if (p->conn[i] && !p->busy[i]) {
				p->busy[i] = true;
				*conn = p->conn[i];
				*slot = i;
				pthread_mutex_unlock(&p->lock);
				return 0;
			}
			if (!p->conn[i] && !p->busy[i] && empty < 0)
				empty = i;
		}
		if (empty >= 0) {
			/* reserve the slot, connect without holding the lock */
			p->busy[empty] = true;
			pthread_mutex_unlock(&p->lock);
			ret = p->connect(p->arg, conn);
			pthread_mutex_lock(&p->lock);
			if (ret < 0) {
				p->busy[empty] = false;
				pthread_cond_signal(&p->cond);
				pthread_mutex_unlock(&p->lock);
				return ret;
			}
			p->conn[empty] = *conn;
			*slot = empty;
			pthread_mutex_unlock(&p->lock);
			return 0;
		}
		pthread_cond_wait(&p->cond, &p->lock);
	}
}

void net_pool_put(struct net_pool *p, int slot, bool broken)
{
	void *dead = NULL;

	pthread_mutex_lock(&p->lock);
	if (broken) {
		dead = p->conn[slot];
		p->conn[slot] = NULL;
	}
	p->busy[slot] = false;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	if (dead)
		p->disconnect(p->arg, dead);
}

void net_pool_destroy(struct net_pool *p)
{
	for (int i = 0; i < NET_POOL_MAX; i++) {
		if (p->conn[i])
			p->disconnect(p->arg, p->conn[i]);
		p->conn[i] = NULL;
	}
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
}
