/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * secret.c - the table of --object secret definitions and the memory that holds
 * passphrases and keys (secret.h).  A file's content is taken whole, with any
 * trailing newline, exactly as qemu reads it, so both tools derive the same key.
 */
#include "secret.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_MAX_LEN (64 * 1024)
#define SECRET_MAX_COUNT 32

struct secret {
	char *id;
	unsigned char *data;   /* secure_alloc'd, len + 1 bytes */
	size_t len;
	size_t cap;            /* what secure_alloc was given */
};

static struct secret secrets[SECRET_MAX_COUNT];
static int nb_secrets;

static size_t page_round(size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return (len + pg - 1) / pg * pg;
}

void *secure_alloc(size_t len)
{
	void *p;

	if (!len)
		len = 1;
	p = mmap(NULL, page_round(len), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	(void)madvise(p, page_round(len), MADV_DONTDUMP);
	(void)mlock(p, page_round(len));   /* best effort: RLIMIT_MEMLOCK may refuse */
	return p;
}

void secure_free(void *p, size_t len)
{
	if (!p)
		return;
	if (!len)
		len = 1;
	explicit_bzero(p, page_round(len));
	munlock(p, page_round(len));
	munmap(p, page_round(len));
}

void secret_forget_all(void)
{
	for (int i = 0; i < nb_secrets; i++) {
		secure_free(secrets[i].data, secrets[i].cap);
		free(secrets[i].id);
	}
	nb_secrets = 0;
}

static int b64_value(int c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

/* Decode base64 in place (the output is never longer than the input). */
static int b64_decode_inplace(unsigned char *s, size_t *len, const char *id)
{
	size_t o = 0, n = 0;
	unsigned acc = 0;

	for (size_t i = 0; i < *len; i++) {
		int v;

		if (s[i] == '=')
			break;
		v = b64_value(s[i]);
		if (v < 0)
			return err_set(-EINVAL, NULL, "secret '%s': invalid base64 data", id);
		acc = (acc << 6) | (unsigned)v;
		if (++n == 4) {
			s[o++] = (unsigned char)(acc >> 16);
			s[o++] = (unsigned char)(acc >> 8);
			s[o++] = (unsigned char)acc;
			acc = 0;
			n = 0;
		}
	}
	if (n == 1)
		return err_set(-EINVAL, NULL, "secret '%s': invalid base64 data", id);
	if (n == 2)
		s[o++] = (unsigned char)(acc >> 4);
	else if (n == 3) {
		s[o++] = (unsigned char)(acc >> 10);
		s[o++] = (unsigned char)(acc >> 2);
	}
	explicit_bzero(s + o, *len - o);
	*len = o;
	return 0;
}

static int read_secret_file(const char *path, const char *id, struct secret *s)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return err_set(-errno, NULL, "Unable to read %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || st.st_size > SECRET_MAX_LEN) {
		close(fd);
		return err_set(-EFBIG, NULL, "secret '%s': the file %s is larger than %d bytes",
			       id, path, SECRET_MAX_LEN);
	}
	s->cap = SECRET_MAX_LEN + 1;
	s->data = secure_alloc(s->cap);
	if (!s->data) {
		close(fd);
		return err_set(-ENOMEM, NULL, "out of memory");
	}
	s->len = 0;
	while ((n = read(fd, s->data + s->len, SECRET_MAX_LEN - s->len)) > 0)
		s->len += (size_t)n;
	if (n < 0)
		ret = err_set(-errno, NULL, "Unable to read %s: %s", path, strerror(errno));
	close(fd);
	return ret;
}

/* Split "k=v,k2=v2" in place (qemu's ",," escape kept for data=). */
static char *next_field(char **p)
{
	char *start = *p, *w = *p, *r = *p;

	if (!*r)
		return NULL;
	while (*r) {
		if (*r == ',' && r[1] == ',') {
			*w++ = ',';
			r += 2;
		} else if (*r == ',') {
			r++;
			break;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	*p = r;
	return start;
}

int secret_define(const char *spec)
{
	size_t speclen = strlen(spec);
	char *copy, *p, *f, *id = NULL, *file = NULL, *data = NULL, *fmt = NULL;
	struct secret s = { 0 };
	int ret = 0;

	copy = secure_alloc(speclen + 1);
	if (!copy)
		return err_set(-ENOMEM, NULL, "out of memory");
	memcpy(copy, spec, speclen);
	p = copy;
	f = next_field(&p);
	if (!f || strcmp(f, "secret") != 0) {
		ret = err_set(-EINVAL, NULL, "--object: only 'secret' objects are supported");
		goto out;
	}
	while ((f = next_field(&p))) {
		char *eq = strchr(f, '=');

		if (!eq) {
			ret = err_set(-EINVAL, NULL, "--object: '%s' needs a value", f);
			goto out;
		}
		*eq = '\0';
		if (!strcmp(f, "id"))
			id = eq + 1;
		else if (!strcmp(f, "file"))
			file = eq + 1;
		else if (!strcmp(f, "data"))
			data = eq + 1;
		else if (!strcmp(f, "format"))
			fmt = eq + 1;
		else {
			ret = err_set(-EINVAL, NULL, "Property 'secret.%s' not found", f);
			goto out;
		}
	}
	if (!id || !*id) {
		ret = err_set(-EINVAL, NULL, "Parameter 'id' is missing");
		goto out;
	}
	if (!!file == !!data) {
		ret = err_set(-EINVAL, NULL, "secret '%s': give exactly one of 'file' and 'data'", id);
		goto out;
	}
	if (fmt && strcmp(fmt, "raw") && strcmp(fmt, "base64")) {
		ret = err_set(-EINVAL, NULL, "Parameter 'format' does not accept value '%s'", fmt);
		goto out;
	}
	for (int i = 0; i < nb_secrets; i++)
		if (!strcmp(secrets[i].id, id)) {
			ret = err_set(-EEXIST, NULL, "attempt to add duplicate property '%s' to object", id);
			goto out;
		}
	if (nb_secrets == SECRET_MAX_COUNT) {
		ret = err_set(-E2BIG, NULL, "more than %d secrets", SECRET_MAX_COUNT);
		goto out;
	}
	if (file) {
		ret = read_secret_file(file, id, &s);
	} else {
		s.len = strlen(data);
		s.cap = s.len + 1;
		s.data = secure_alloc(s.cap);
		if (!s.data)
			ret = err_set(-ENOMEM, NULL, "out of memory");
		else
			memcpy(s.data, data, s.len);
	}
	if (ret == 0 && fmt && !strcmp(fmt, "base64"))
		ret = b64_decode_inplace(s.data, &s.len, id);
	if (ret == 0 && !(s.id = strdup(id)))
		ret = err_set(-ENOMEM, NULL, "out of memory");
	if (ret < 0) {
		secure_free(s.data, s.cap);
		goto out;
	}
	if (file) {   /* keep only what the file held */
		unsigned char *tight = secure_alloc(s.len + 1);

		if (!tight) {
			secure_free(s.data, s.cap);
			free(s.id);
			ret = err_set(-ENOMEM, NULL, "out of memory");
			goto out;
		}
		memcpy(tight, s.data, s.len);
		secure_free(s.data, s.cap);
		s.data = tight;
		s.cap = s.len + 1;
	}
	if (nb_secrets == 0) {
		atexit(secret_forget_all);
		/* copies we cannot reach (stack, library buffers) stay out of core
		 * files too: a process holding a passphrase dumps no core */
		(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	}
	secrets[nb_secrets++] = s;
out:
	secure_free(copy, speclen + 1);
	return ret;
}

int secret_lookup(const char *id, const unsigned char **data, size_t *len)
{
	for (int i = 0; i < nb_secrets; i++) {
		if (!strcmp(secrets[i].id, id)) {
			*data = secrets[i].data;
			*len = secrets[i].len;
			return 0;
		}
	}
	return err_set(-ENOENT, NULL, "No secret with id '%s'", id);
}
