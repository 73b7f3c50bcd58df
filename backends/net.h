/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * net.h - helpers shared by the network backends (nfs, iscsi, rbd, ssh): parsing the
 * URLs as qemu-img spells them, masking secrets for messages, reading secrets from
 * the environment or a file, the network timeout, and a small connection pool.
 *
 * Everything here is plain C with no network library, so it is always built and
 * unit-tested (tests/unit/test_backend_url.c) even where libnfs, libiscsi or
 * librbd are missing.
 */
#ifndef IMGTOOL_NET_H
#define IMGTOOL_NET_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* A copy of url with every secret replaced by "***": the password of
 * "scheme://user%password@" (or user:password@), query values whose key holds
 * "password" or "secret", and rbd ":key=" values.  NULL only when out of memory. */
char *net_url_mask(const char *url);

struct backend;
/* be->url becomes the masked url, the name every message of a network backend
 * gives; 0 or -ENOMEM (message set). */
int net_backend_name(struct backend *be, const char *url);

/* Seconds a network operation may stall before it fails (IMGTOOL_NET_TIMEOUT,
 * default 30, 1..3600). */
int net_timeout(void);

/* Read a secret from a file: the first line, without its newline; at most 1 KiB.
 * Sets the message (naming where) on failure. */
int net_read_secret_file(const char *path, const char *where, char **out);

/* nfs://host[:port]/export/dir/file[?version=3|4&uid=N&gid=N&nfsport=N&mountport=N&debug=N]
 * The export is everything up to the last '/', as with qemu's nfs driver. */
struct nfs_url_parts {
	char *host;       /* no brackets for IPv6 */
	int port;         /* 0 if none (sets nfsport) */
	char *export;     /* "/export" */
	char *file;       /* "/disk.qcow2" */
	int version;      /* 0 = library default (3) */
	int uid, gid;     /* -1 = default */
	int nfsport, mountport; /* 0 = portmapper */
	int debug;
};
int nfs_url_parse(const char *url, struct nfs_url_parts *u);
void nfs_url_free(struct nfs_url_parts *u);

/* iscsi://[user[%password]@]host[:port]/target-iqn/lun[?initiator-name=..&
 *   target_user=..&target_password=..&password-file=..&header-digest=..] */
struct iscsi_url_parts {
	char *user;
	char *password;
	char *host;       /* IPv6 without brackets */
	int port;         /* 3260 if absent */
	char *iqn;
	int lun;
	char *initiator;  /* NULL = default / IMGTOOL_ISCSI_INITIATOR */
	char *target_user;
	char *target_password;
	char *password_file;
	char *header_digest; /* none, crc32c, none-crc32c, crc32c-none */
};
int iscsi_url_parse(const char *url, struct iscsi_url_parts *u);
void iscsi_url_free(struct iscsi_url_parts *u);
/* Fill in user / passwords / initiator from the environment and secret files:
 * IMGTOOL_ISCSI_USER or LIBISCSI_CHAP_USERNAME, IMGTOOL_ISCSI_PASSWORD or
 * LIBISCSI_CHAP_PASSWORD, IMGTOOL_ISCSI_PASSWORD_FILE (or ?password-file=),
 * LIBISCSI_CHAP_TARGET_USERNAME/_PASSWORD, IMGTOOL_ISCSI_INITIATOR. */
int iscsi_url_secrets(struct iscsi_url_parts *u, const char *where);

/* ssh://[user@]host[:port]/absolute/path[?identity=FILE&known-hosts=FILE&
 *   host-key=SHA256:...&password-file=FILE]
 * A password inside the URL (user:password@) is refused: it would sit in the
 * shell history and the process list; ?password-file= or IMGTOOL_SSH_PASSWORD
 * give one (ssh_url_secrets). */
struct ssh_url_parts {
	char *user;          /* NULL = the local user name */
	char *host;          /* IPv6 without brackets */
	int port;            /* 22 if absent */
	char *path;          /* decoded, absolute */
	char *identity;      /* private key file; NULL = ssh-agent, then ~/.ssh/id_* */
	char *known_hosts;   /* NULL = ~/.ssh/known_hosts */
	char *host_key;      /* "SHA256:base64" pin, or NULL */
	char *password_file;
	char *password;      /* filled by ssh_url_secrets() only */
};
int ssh_url_parse(const char *url, struct ssh_url_parts *u);
/* The password from ?password-file=, else IMGTOOL_SSH_PASSWORD, else none. */
int ssh_url_secrets(struct ssh_url_parts *u, const char *where);
void ssh_url_free(struct ssh_url_parts *u);

/* rbd:pool[/namespace]/image[@snap][:id=USER][:conf=FILE][:keyring=FILE][:key=val...]
 * (also rbd://pool/image[@snap][?id=..&conf=..&keyring=..]).  Backslash escapes ':'
 * '@' '/' and '\' inside names.  Besides id, conf, keyring, namespace and snap,
 * only mon_host, key, auth_supported, auth_client_required and rbd_cache are accepted (they
 * go to rados_conf_set); any other option is refused (-EPERM): log_file,
 * admin_socket and their like would let a name write files. */
#define RBD_MAX_OPTS 16
struct rbd_spec {
	char *pool;
	char *ns;         /* NULL = default namespace */
	char *image;
	char *snap;       /* NULL = head */
	char *id;         /* client id, NULL = "admin" */
	char *conf;
	char *keyring;
	int nopts;
	char *keys[RBD_MAX_OPTS];
	char *vals[RBD_MAX_OPTS];
};
int rbd_spec_parse(const char *url, struct rbd_spec *s);
void rbd_spec_free(struct rbd_spec *s);

/* A pool of connections: each caller takes one idle connection (making a new one
 * when all are busy and fewer than max exist, waiting otherwise), uses it with the
 * library's synchronous API and gives it back.  So concurrent copy workers each
 * have their own connection and run in parallel. */
#define NET_POOL_MAX 16
struct net_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int max;
	void *conn[NET_POOL_MAX];
	bool busy[NET_POOL_MAX];
	int (*connect)(void *arg, void **conn);   /* sets the message on failure */
	void (*disconnect)(void *arg, void *conn);
	void *arg;
};
void net_pool_init(struct net_pool *p, int max, int (*connect)(void *, void **),
		   void (*disconnect)(void *, void *), void *arg);
/* Put an already made connection into the pool (the one open() proved). */
void net_pool_add(struct net_pool *p, void *conn);
int net_pool_get(struct net_pool *p, void **conn, int *slot);
/* broken: the connection failed (timeout, reset); drop it, the next get reconnects. */
void net_pool_put(struct net_pool *p, int slot, bool broken);
/* Disconnect everything (no caller may still hold a connection). */
void net_pool_destroy(struct net_pool *p);

#endif
