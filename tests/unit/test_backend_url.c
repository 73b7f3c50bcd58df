/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_backend_url.c - CUnit tests for the network backends' URL handling
 * (backends/net.c): nfs://, iscsi:// and rbd: names parsed as qemu-img spells
 * them, secrets masked in anything that may be printed, secrets taken from the
 * environment or a file, bad URLs refused with a message that leaks no secret,
 * and the connection pool handing one connection to each concurrent caller.
 */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/backend.h"
#include "backends/net.h"
#include "common/err.h"
#include "common/util.h"
#include "tests/unit/unit.h"

static void check_mask(const char *in, const char *want)
{
	char *m = net_url_mask(in);

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_STRING_EQUAL(m, want);
	if (strcmp(m, want))
		fprintf(stderr, "\nmask(%s) = %s, want %s\n", in, m, want);
	free(m);
}

static void test_mask(void)
{
	check_mask("iscsi://u%secret@h/iqn.x:y/1", "iscsi://u%***@h/iqn.x:y/1");
	check_mask("iscsi://u@h/iqn.x:y/1", "iscsi://u@h/iqn.x:y/1");
	check_mask("iscsi://h:3260/iqn.x:y/1?target_user=t&target_password=tp",
		   "iscsi://h:3260/iqn.x:y/1?target_user=t&target_password=***");
	check_mask("iscsi://h/iqn/1?password-file=/etc/pw", "iscsi://h/iqn/1?password-file=/etc/pw");
	check_mask("nfs://h/export/f?uid=0", "nfs://h/export/f?uid=0");
	check_mask("http://user:pw@h/x", "http://user:***@h/x");
	check_mask("rbd:pool/img:id=admin:key=AQBxyz==:conf=/c", "rbd:pool/img:id=admin:key=***:conf=/c");
	check_mask("/plain/file", "/plain/file");
}

static void test_nfs_parse(void)
{
	struct nfs_url_parts u;

	CU_ASSERT_EQUAL_FATAL(nfs_url_parse("nfs://10.0.0.1/export/dir/disk.qcow2?version=3&uid=5&gid=6", &u), 0);
	CU_ASSERT_STRING_EQUAL(u.host, "10.0.0.1");
	CU_ASSERT_STRING_EQUAL(u.export, "/export/dir");
	CU_ASSERT_STRING_EQUAL(u.file, "/disk.qcow2");
	CU_ASSERT_EQUAL(u.version, 3);
	CU_ASSERT_EQUAL(u.uid, 5);
	CU_ASSERT_EQUAL(u.gid, 6);
	nfs_url_free(&u);

	CU_ASSERT_EQUAL_FATAL(nfs_url_parse("nfs://[::1]:2049/e/f%20g", &u), 0);
	CU_ASSERT_STRING_EQUAL(u.host, "::1");
	CU_ASSERT_EQUAL(u.nfsport, 2049);
	CU_ASSERT_STRING_EQUAL(u.file, "/f g");
	CU_ASSERT_EQUAL(u.uid, -1);
	nfs_url_free(&u);

	CU_ASSERT_EQUAL(nfs_url_parse("nfs://h/onlyfile", &u), -EINVAL);
	nfs_url_free(&u);
	CU_ASSERT_EQUAL(nfs_url_parse("nfs://h/e/f?version=2", &u), -EINVAL);
	nfs_url_free(&u);
	CU_ASSERT_EQUAL(nfs_url_parse("nfs://h/e/f?bogus=1", &u), -EINVAL);
	nfs_url_free(&u);
	CU_ASSERT_EQUAL(nfs_url_parse("nfs:///e/f", &u), -EINVAL);
	nfs_url_free(&u);
	CU_ASSERT_EQUAL(nfs_url_parse("nfs://h:99999/e/f", &u), -EINVAL);
	nfs_url_free(&u);
}

static void test_iscsi_parse(void)
{
	struct iscsi_url_parts u;

	CU_ASSERT_EQUAL_FATAL(iscsi_url_parse("iscsi://bob%s3cr%25t@host:3261/iqn.2026-01.test:disk1/2?initiator-name=iqn.x:me", &u), 0);
	CU_ASSERT_STRING_EQUAL(u.user, "bob");
	CU_ASSERT_STRING_EQUAL(u.password, "s3cr%t");
	CU_ASSERT_STRING_EQUAL(u.host, "host");
	CU_ASSERT_EQUAL(u.port, 3261);
	CU_ASSERT_STRING_EQUAL(u.iqn, "iqn.2026-01.test:disk1");
	CU_ASSERT_EQUAL(u.lun, 2);
	CU_ASSERT_STRING_EQUAL(u.initiator, "iqn.x:me");
	iscsi_url_free(&u);

	CU_ASSERT_EQUAL_FATAL(iscsi_url_parse("iscsi://h/iqn.a:b/0", &u), 0);
	CU_ASSERT_EQUAL(u.port, 3260);
	CU_ASSERT_PTR_NULL(u.user);
	CU_ASSERT_PTR_NULL(u.password);
	iscsi_url_free(&u);

	CU_ASSERT_EQUAL(iscsi_url_parse("iscsi://h/iqn.a:b", &u), -EINVAL);
	iscsi_url_free(&u);
	CU_ASSERT_EQUAL(iscsi_url_parse("iscsi://h/iqn.a:b/x", &u), -EINVAL);
	iscsi_url_free(&u);
	CU_ASSERT_EQUAL(iscsi_url_parse("iscsi://h/iqn.a:b/1?nope=1", &u), -EINVAL);
	iscsi_url_free(&u);
}

/* A bad URL's message must show the masked form only. */
static void test_iscsi_error_masks(void)
{
	struct iscsi_url_parts u;

	err_clear();
	CU_ASSERT_EQUAL(iscsi_url_parse("iscsi://bob%topsecret@h/iqn.a:b/zz", &u), -EINVAL);
	CU_ASSERT_PTR_NULL(strstr(err_get(), "topsecret"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err_get(), "bob%***@h"));
	iscsi_url_free(&u);
}

static void test_iscsi_secrets(void)
{
	struct iscsi_url_parts u;
	char path[] = "/tmp/imgtool-secret-XXXXXX";
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "filepw\n", 7), 7);
	close(fd);

	unsetenv("IMGTOOL_ISCSI_PASSWORD");
	unsetenv("LIBISCSI_CHAP_PASSWORD");
	unsetenv("IMGTOOL_ISCSI_PASSWORD_FILE");
	setenv("IMGTOOL_ISCSI_USER", "envuser", 1);
	setenv("LIBISCSI_CHAP_PASSWORD", "libpw", 1);
	CU_ASSERT_EQUAL_FATAL(iscsi_url_parse("iscsi://h/iqn.a:b/1", &u), 0);
	CU_ASSERT_EQUAL(iscsi_url_secrets(&u, "x"), 0);
	CU_ASSERT_STRING_EQUAL(u.user, "envuser");
	CU_ASSERT_STRING_EQUAL(u.password, "libpw");
	iscsi_url_free(&u);

	setenv("IMGTOOL_ISCSI_PASSWORD", "toolpw", 1);
	CU_ASSERT_EQUAL_FATAL(iscsi_url_parse("iscsi://h/iqn.a:b/1", &u), 0);
	CU_ASSERT_EQUAL(iscsi_url_secrets(&u, "x"), 0);
	CU_ASSERT_STRING_EQUAL(u.password, "toolpw");
	iscsi_url_free(&u);

	/* the URL's own password wins; a password file beats the environment */
	CU_ASSERT_EQUAL_FATAL(iscsi_url_parse("iscsi://me%urlpw@h/iqn.a:b/1", &u), 0);
	CU_ASSERT_EQUAL(iscsi_url_secrets(&u, "x"), 0);
	CU_ASSERT_STRING_EQUAL(u.user, "me");
	CU_ASSERT_STRING_EQUAL(u.password, "urlpw");
	iscsi_url_free(&u);

	{
		char url[256];
		snprintf(url, sizeof(url), "iscsi://h/iqn.a:b/1?password-file=%s", path);
		CU_ASSERT_EQUAL_FATAL(iscsi_url_parse(url, &u), 0);
		CU_ASSERT_EQUAL(iscsi_url_secrets(&u, "x"), 0);
		CU_ASSERT_STRING_EQUAL(u.password, "filepw");
		iscsi_url_free(&u);
	}
	unsetenv("IMGTOOL_ISCSI_PASSWORD");
	unsetenv("LIBISCSI_CHAP_PASSWORD");
	setenv("IMGTOOL_ISCSI_PASSWORD_FILE", path, 1);
	CU_ASSERT_EQUAL_FATAL(iscsi_url_parse("iscsi://h/iqn.a:b/1", &u), 0);
	CU_ASSERT_EQUAL(iscsi_url_secrets(&u, "x"), 0);
	CU_ASSERT_STRING_EQUAL(u.password, "filepw");
	iscsi_url_free(&u);

	setenv("IMGTOOL_ISCSI_PASSWORD_FILE", "/nonexistent/pw", 1);
	CU_ASSERT_EQUAL_FATAL(iscsi_url_parse("iscsi://h/iqn.a:b/1", &u), 0);
	CU_ASSERT_EQUAL(iscsi_url_secrets(&u, "x"), -ENOENT);
	iscsi_url_free(&u);
	unsetenv("IMGTOOL_ISCSI_PASSWORD_FILE");
	unsetenv("IMGTOOL_ISCSI_USER");
	unlink(path);
}

static void test_rbd_parse(void)
{
	struct rbd_spec s;

	CU_ASSERT_EQUAL_FATAL(rbd_spec_parse("rbd:pool/img@snap1:id=cinder:conf=/etc/c.conf:keyring=/k:rbd_cache=false", &s), 0);
	CU_ASSERT_STRING_EQUAL(s.pool, "pool");
	CU_ASSERT_STRING_EQUAL(s.image, "img");
	CU_ASSERT_STRING_EQUAL(s.snap, "snap1");
	CU_ASSERT_STRING_EQUAL(s.id, "cinder");
	CU_ASSERT_STRING_EQUAL(s.conf, "/etc/c.conf");
	CU_ASSERT_STRING_EQUAL(s.keyring, "/k");
	CU_ASSERT_EQUAL(s.nopts, 1);
	CU_ASSERT_STRING_EQUAL(s.keys[0], "rbd_cache");
	CU_ASSERT_STRING_EQUAL(s.vals[0], "false");
	rbd_spec_free(&s);

	CU_ASSERT_EQUAL_FATAL(rbd_spec_parse("rbd:p/ns/im\\:g", &s), 0);
	CU_ASSERT_STRING_EQUAL(s.ns, "ns");
	CU_ASSERT_STRING_EQUAL(s.image, "im:g");
	CU_ASSERT_PTR_NULL(s.snap);
	rbd_spec_free(&s);

	CU_ASSERT_EQUAL_FATAL(rbd_spec_parse("rbd://p/img@s?id=u", &s), 0);
	CU_ASSERT_STRING_EQUAL(s.pool, "p");
	CU_ASSERT_STRING_EQUAL(s.image, "img");
	CU_ASSERT_STRING_EQUAL(s.snap, "s");
	CU_ASSERT_STRING_EQUAL(s.id, "u");
	rbd_spec_free(&s);

	CU_ASSERT_EQUAL(rbd_spec_parse("rbd:poolonly", &s), -EINVAL);
	rbd_spec_free(&s);
	CU_ASSERT_EQUAL(rbd_spec_parse("rbd:p/", &s), -EINVAL);
	rbd_spec_free(&s);
	CU_ASSERT_EQUAL(rbd_spec_parse("rbd:p/i@", &s), -EINVAL);
	rbd_spec_free(&s);
	err_clear();
	CU_ASSERT_EQUAL(rbd_spec_parse("rbd:p/i:key=SECRETKEY:noequals", &s), -EINVAL);
	CU_ASSERT_PTR_NULL(strstr(err_get(), "SECRETKEY"));
	rbd_spec_free(&s);
}

/* Only the allow-listed Ceph options pass: none that writes files or logs. */
static void test_rbd_option_allow_list(void)
{
	static const char *const refused[] = {
		"rbd:p/i:log_file=/tmp/x", "rbd:p/i:mon_host=10.0.0.1:log_to_file=true",
		"rbd:p/i:admin_socket=/tmp/s", "rbd://p/i?log_file=/tmp/x", "rbd:p/i:debug_ms=20",
	};
	struct rbd_spec s;

	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		CU_ASSERT_EQUAL(rbd_spec_parse(refused[i], &s), -EPERM);
		CU_ASSERT_PTR_NOT_NULL(strstr(err_get(), "is not allowed"));
		rbd_spec_free(&s);
	}
	CU_ASSERT_EQUAL_FATAL(rbd_spec_parse("rbd:p/i:mon_host=10.0.0.1\\:6789:namespace=n:snap=s1", &s), 0);
	CU_ASSERT_STRING_EQUAL(s.ns, "n");
	CU_ASSERT_STRING_EQUAL(s.snap, "s1");
	CU_ASSERT_EQUAL(s.nopts, 1);
	CU_ASSERT_STRING_EQUAL(s.keys[0], "mon_host");
	CU_ASSERT_STRING_EQUAL(s.vals[0], "10.0.0.1:6789");
	rbd_spec_free(&s);
	err_clear();
}

/* Each backend's match() picks its own URLs only; the file backend keeps paths. */
static void test_registry_match(void)
{
	const char *urls[] = { "nfs://h/e/f", "iscsi://h/iqn.a:b/1", "rbd:p/i", "ssh://h/d/x.vmdk",
			       "/tmp/x", "x.qcow2" };
	const char *want[] = { "nfs", "iscsi", "rbd", "ssh", "file", "file" };

	for (size_t i = 0; i < ARRAY_SIZE(urls); i++) {
		const char *got = NULL;
		for (int k = 0; backend_registry[k]; k++) {
			if (backend_registry[k]->match(urls[i])) {
				got = backend_registry[k]->name;
				break;
			}
		}
		/* a backend built without its library does not claim its URLs */
		if (i < 4 && (!got || strcmp(got, "file") == 0))
			continue;
		CU_ASSERT_PTR_NOT_NULL_FATAL(got);
		CU_ASSERT_STRING_EQUAL(got, want[i]);
	}
}

/* ---- connection pool ---- */

static int pool_made;
static pthread_mutex_t pool_made_lock = PTHREAD_MUTEX_INITIALIZER;

static int fake_connect(void *arg, void **conn)
{
	pthread_mutex_lock(&pool_made_lock);
	pool_made++;
	pthread_mutex_unlock(&pool_made_lock);
	*conn = malloc(sizeof(int));
	**(int **)conn = 0;
	return 0;
}

static void fake_disconnect(void *arg, void *conn)
{
	free(conn);
}

static struct net_pool test_pool;

static void *pool_worker(void *arg)
{
	for (int i = 0; i < 200; i++) {
		int *c, slot;
		if (net_pool_get(&test_pool, (void **)&c, &slot))
			return (void *)1;
		/* nobody else may hold this connection now */
		if (__atomic_add_fetch(c, 1, __ATOMIC_SEQ_CST) != 1)
			return (void *)1;
		usleep(50);
		__atomic_sub_fetch(c, 1, __ATOMIC_SEQ_CST);
		net_pool_put(&test_pool, slot, i % 50 == 49);
	}
	return NULL;
}

static void test_pool_exclusive(void)
{
	pthread_t t[8];
	void *r;

	pool_made = 0;
	net_pool_init(&test_pool, 4, fake_connect, fake_disconnect, NULL);
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, pool_worker, NULL);
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], &r);
		CU_ASSERT_PTR_NULL(r);
	}
	CU_ASSERT(pool_made >= 4);
	net_pool_destroy(&test_pool);
}

static void test_timeout_env(void)
{
	setenv("IMGTOOL_NET_TIMEOUT", "7", 1);
	CU_ASSERT_EQUAL(net_timeout(), 7);
	setenv("IMGTOOL_NET_TIMEOUT", "junk", 1);
	CU_ASSERT_EQUAL(net_timeout(), 30);
	unsetenv("IMGTOOL_NET_TIMEOUT");
	CU_ASSERT_EQUAL(net_timeout(), 30);
}

static const struct unit_test url_tests[] = {
	{ "mask secrets", test_mask },
	{ "nfs URL", test_nfs_parse },
	{ "iscsi URL", test_iscsi_parse },
	{ "iscsi URL error is masked", test_iscsi_error_masks },
	{ "iscsi secrets from env and files", test_iscsi_secrets },
	{ "rbd name", test_rbd_parse },
	{ "rbd options: allow-list", test_rbd_option_allow_list },
	{ "registry matches", test_registry_match },
	{ "connection pool is exclusive", test_pool_exclusive },
	{ "network timeout", test_timeout_env },
};

UNIT_MAIN("backend_url", url_tests, NULL)
