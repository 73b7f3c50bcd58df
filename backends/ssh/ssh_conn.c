/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ssh_conn.c - connect, verify the host key, authenticate (see ssh_conn.h).
 *
 * No trust on first use: a host whose key is not in known_hosts (or does not
 * match the pinned fingerprint) is refused, and the message gives the
 * fingerprint with the two ways of accepting it.  ~/.ssh/config is not read, so
 * what a URL means does not depend on the user running imgtool.  Every blocking
 * libssh call is bounded by IMGTOOL_NET_TIMEOUT (SSH_OPTIONS_TIMEOUT).
 */
#ifdef HAVE_LIBSSH
#include "ssh_conn.h"
#include "../../common/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define L ssh_lib

/* AES-GCM first: with AES-NI it costs the least CPU per byte on both ends. */
static const char ssh_ciphers[] =
	"aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,"
	"aes128-ctr,aes256-ctr";

static int set_opts(struct ssh_conn *c, const struct ssh_url_parts *u, const char *where)
{
	long timeout = net_timeout();
	unsigned port = (unsigned)u->port;
	int no = 0;

	if (L.ssh_options_set(c->ssh, SSH_OPTIONS_HOST, u->host) < 0 ||
	    L.ssh_options_set(c->ssh, SSH_OPTIONS_PORT, &port) < 0 ||
	    L.ssh_options_set(c->ssh, SSH_OPTIONS_TIMEOUT, &timeout) < 0 ||
	    L.ssh_options_set(c->ssh, SSH_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
	    L.ssh_options_set(c->ssh, SSH_OPTIONS_CIPHERS_C_S, ssh_ciphers) < 0 ||
	    L.ssh_options_set(c->ssh, SSH_OPTIONS_CIPHERS_S_C, ssh_ciphers) < 0 ||
	    (u->user && L.ssh_options_set(c->ssh, SSH_OPTIONS_USER, u->user) < 0) ||
	    (u->known_hosts &&
	     L.ssh_options_set(c->ssh, SSH_OPTIONS_KNOWNHOSTS, u->known_hosts) < 0))
		return err_set(-EINVAL, where, "cannot set the SSH options: %s",
			       L.ssh_get_error(c->ssh));
	return 0;
}

/* "SHA256:base64" of the server's key (without base64 padding, as OpenSSH). */
static int server_fingerprint(struct ssh_conn *c, const char *where, char **out)
{
	ssh_key key = NULL;
	unsigned char *hash = NULL;
	size_t hlen = 0;
	char *fp;

	if (L.ssh_get_server_publickey(c->ssh, &key) < 0)
		return err_set(-EIO, where, "the server sent no host key");
	if (L.ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) < 0) {
		L.ssh_key_free(key);
		return err_set(-EIO, where, "cannot hash the server's host key");
	}
	L.ssh_key_free(key);
	fp = L.ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
	L.ssh_clean_pubkey_hash(&hash);
	if (!fp)
		return err_set(-ENOMEM, where, "out of memory");
	*out = strdup(fp);
	L.ssh_string_free_char(fp);
	if (!*out)
		return err_set(-ENOMEM, where, "out of memory");
	(*out)[strcspn(*out, "=")] = 0;
	return 0;
}

static bool same_fingerprint(const char *a, const char *b)
{
	size_t la = strcspn(a, "="), lb = strcspn(b, "=");

	return la == lb && !memcmp(a, b, la);
}

static int verify_host(struct ssh_conn *c, const struct ssh_url_parts *u, const char *where)
{
	const char *kh = u->known_hosts ? u->known_hosts : "~/.ssh/known_hosts";
	char *fp = NULL;
	int ret = server_fingerprint(c, where, &fp);

	if (ret < 0)
		return ret;
	if (u->host_key) {
		if (!same_fingerprint(fp, u->host_key))
			ret = err_set(-EPERM, where,
				      "host key mismatch: the server's key is %s, not the pinned %s (refused)",
				      fp, u->host_key);
		free(fp);
		return ret;
	}
	switch (L.ssh_session_is_known_server(c->ssh)) {
	case SSH_KNOWN_HOSTS_OK:
		break;
	case SSH_KNOWN_HOSTS_CHANGED:
	case SSH_KNOWN_HOSTS_OTHER:
		ret = err_set(-EPERM, where,
			      "the host key of %s CHANGED (now %s; %s holds another): refused; if the change is expected, remove the old entry (ssh-keygen -R '%s' -f %s) or pin it with ?host-key=%s",
			      u->host, fp, kh, u->host, kh, fp);
		break;
	case SSH_KNOWN_HOSTS_NOT_FOUND:
	case SSH_KNOWN_HOSTS_UNKNOWN:
		ret = err_set(-EPERM, where,
			      "unknown host key %s for %s (not in %s): refused; to accept it add ?host-key=%s to the URL, or add the key to %s (ssh-keyscan -p %d %s >> %s)",
			      fp, u->host, kh, fp, kh, u->port, u->host, kh);
		break;
	default:
		ret = err_set(-EIO, where, "cannot check the host key against %s: %s", kh,
			      L.ssh_get_error(c->ssh));
	}
	free(fp);
	return ret;
}

static int authenticate(struct ssh_conn *c, const struct ssh_url_parts *u, const char *where)
{
	const char *tried;
	int rc;

	rc = L.ssh_userauth_none(c->ssh, NULL);
	if (rc == SSH_AUTH_SUCCESS)
		return 0;
	if (rc == SSH_AUTH_ERROR)
		return ssh_conn_fail(c, where, "authentication");
	if (u->identity) {
		ssh_key key = NULL;

		tried = "the key given by ?identity=";
		if (L.ssh_pki_import_privkey_file(u->identity, NULL, NULL, NULL, &key) < 0)
			return err_set(-EACCES, where, "cannot read the private key '%s' (missing, unreadable or protected by a passphrase: use ssh-agent)",
				       u->identity);
		rc = L.ssh_userauth_publickey(c->ssh, NULL, key);
		L.ssh_key_free(key);
	} else {
		tried = "ssh-agent and ~/.ssh/id_*";
		rc = L.ssh_userauth_publickey_auto(c->ssh, NULL, NULL);
	}
	if (rc == SSH_AUTH_SUCCESS)
		return 0;
	if (rc == SSH_AUTH_ERROR)
		return ssh_conn_fail(c, where, "authentication");
	if (u->password) {
		rc = L.ssh_userauth_password(c->ssh, NULL, u->password);
		if (rc == SSH_AUTH_SUCCESS)
			return 0;
		if (rc == SSH_AUTH_ERROR)
			return ssh_conn_fail(c, where, "authentication");
		return err_set(-EACCES, where, "authentication refused for user '%s' (tried %s, then the password)",
			       u->user ? u->user : "(local user)", tried);
	}
	return err_set(-EACCES, where, "authentication refused for user '%s' (tried %s; a password can come from ?password-file= or IMGTOOL_SSH_PASSWORD)",
		       u->user ? u->user : "(local user)", tried);
}

static int start_sftp(struct ssh_conn *c, const char *where)
{
	c->sftp = L.sftp_new(c->ssh);
	if (!c->sftp)
		return ssh_conn_fail(c, where, "starting SFTP");
	if (L.sftp_init(c->sftp) < 0)
		return err_set(-EPROTONOSUPPORT, where,
			       "the server offers no SFTP subsystem: %s", L.ssh_get_error(c->ssh));
	return 0;
}

int ssh_conn_open(const struct ssh_url_parts *u, const char *where, bool want_sftp,
		  struct ssh_conn **out)
{
	struct ssh_conn *c;
	int ret = ssh_lib_load(where);

	if (ret < 0)
		return ret;
	c = calloc(1, sizeof(*c));
	if (!c)
		return err_set(-ENOMEM, where, "out of memory");
	c->ssh = L.ssh_new();
	if (!c->ssh) {
		free(c);
		return err_set(-ENOMEM, where, "out of memory");
	}
	ret = set_opts(c, u, where);
	ssh_watchdog_add(c);
	ssh_conn_active(c);
	if (ret == 0 && L.ssh_connect(c->ssh) != SSH_OK) {
		const char *e = L.ssh_get_error(c->ssh);

		/* libssh's own timeout and the watchdog's cut (which libssh sees as
		 * "disconnected") are the same event: a server that did not answer */
		if (atomic_load(&c->timed_out) || strstr(e, "imeout"))
			ret = err_set(-ETIMEDOUT, where, "cannot connect to %s port %d: the server "
				      "did not answer within %d s", u->host, u->port, net_timeout());
		else
			ret = err_set(-ECONNREFUSED, where, "cannot connect to %s port %d: %s",
				      u->host, u->port, e);
	}
	if (ret == 0)
		ret = verify_host(c, u, where);
	if (ret == 0)
		ret = authenticate(c, u, where);
	if (ret == 0 && want_sftp)
		ret = start_sftp(c, where);
	if (ret < 0) {
		ssh_conn_close(c);
		return ret;
	}
	ssh_conn_idle(c);
	*out = c;
	return 0;
}

void ssh_conn_close(struct ssh_conn *c)
{
	if (!c)
		return;
	ssh_watchdog_remove(c);
	if (c->sftp)
		L.sftp_free(c->sftp);
	L.ssh_disconnect(c->ssh);
	L.ssh_free(c->ssh);
	free(c);
}

int ssh_conn_fail(struct ssh_conn *c, const char *where, const char *what)
{
	const char *e = L.ssh_get_error(c->ssh);
	bool sftp_status = c->sftp && e && !strncmp(e, "SFTP server", 11);

	if (!e)
		e = "";
	if (atomic_load(&c->timed_out))
		return err_set(-ETIMEDOUT, where, "%s: the server did not answer within %d s",
			       what, net_timeout());
	/* libssh words an SFTP status reply as "SFTP server: ..."; anything else
	 * with an error code set is the link itself */
	if (!sftp_status && L.ssh_get_error_code(c->ssh) != SSH_NO_ERROR && *e) {
		if (strstr(e, "imeout") || strstr(e, "imed out"))
			return err_set(-ETIMEDOUT, where, "%s: the server did not answer within %d s",
				       what, net_timeout());
		return err_set(-ECONNRESET, where, "%s: the connection failed: %s", what, e);
	}
	switch (c->sftp ? L.sftp_get_error(c->sftp) : SSH_FX_OK) {
	case SSH_FX_NO_SUCH_FILE:
	case SSH_FX_NO_SUCH_PATH:
		return err_set(-ENOENT, where, "%s: no such file or directory", what);
	case SSH_FX_PERMISSION_DENIED:
		return err_set(-EACCES, where, "%s: permission denied", what);
	case SSH_FX_WRITE_PROTECT:
		return err_set(-EROFS, where, "%s: read-only", what);
	case SSH_FX_OP_UNSUPPORTED:
		return err_set(-ENOTSUP, where, "%s: not supported by the SFTP server", what);
	case SSH_FX_NO_CONNECTION:
	case SSH_FX_CONNECTION_LOST:
		return err_set(-ECONNRESET, where, "%s: the connection was lost", what);
	}
	return err_set(-EIO, where, "%s failed%s%s", what, *e ? ": " : "", e);
}

bool ssh_conn_broken(int ret)
{
	return ret == -ETIMEDOUT || ret == -ECONNRESET || ret == -EPIPE || ret == -ENOTCONN;
}
#endif /* HAVE_LIBSSH */
