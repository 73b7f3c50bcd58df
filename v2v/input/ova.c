/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ova.c - -i ova: an OVA (a tar holding an .ovf, usually an .mf manifest and
 * the disks) or an OVF folder (the same files unpacked; the path may name the
 * folder or its .ovf file).
 *
 * Order of work, so that nothing is trusted before it is checked:
 *  1. list the package (tar.c for an OVA: headers only, nothing extracted);
 *  2. parse the .ovf (ovf.c);
 *  3. check every "SHA1(file)= hex" / "SHA256(...)" / "SHA512(...)" line of the
 *     manifest against the file's bytes: a mismatch, a listed file that is missing
 *     or a line that cannot be read refuses the whole package, naming the file;
 *  4. say where each disk lies: inside the OVA a disk is read in place
 *     (v2v_disk.offset/length; v2v_disk_open() opens a read-only window of the
 *     tar), in a folder it is the file next to the .ovf;
 *  5. open each disk once: an unreadable disk is an error now rather than
 *     halfway through a conversion, and a capacity that differs from the OVF's is
 *     reported as a warning (the disk's own size is what gets converted).
 */
#include <errno.h>
#include <stdio.h>

#include "common/err.h"
#include "v2v/input/input.h"

#ifndef HAVE_OVA
int v2v_source_from_ova(const char *path, struct v2v_source *out)
{
	return err_set(-ENOTSUP, path, "-i ova needs libxml2 and libcrypto: this imgtool was built without them (apt-get install libxml2-dev libssl-dev, then rebuild)");
}
#else
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/format.h"
#include "formats/reference.h"
#include "v2v/input/ovf.h"
#include "v2v/input/tar.h"
#include "v2v/input/ova_dl.h"

#define OVF_MAX_SIZE      (64u << 20)
#define MANIFEST_MAX_SIZE (1u << 20)
#define HASH_CHUNK        (1u << 20)

struct pkg {
	const char *path;     /* as the user gave it: named in messages */
	bool is_tar;
	struct tar_list tar;
	char *dir;            /* folder mode: the folder */
	char *ovf_name;       /* the descriptor's name in the package */
};

static void pkg_free(struct pkg *p)
{
	tar_list_free(&p->tar);
	free(p->dir);
	free(p->ovf_name);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcasecmp(s + a - b, suffix);
}

/* The folder's .ovf: the first in name order, so the choice does not depend on
 * readdir's order. */
static int find_ovf_in_dir(struct pkg *p)
{
	DIR *d = opendir(p->dir);
	struct dirent *e;

	if (!d)
		return err_set(-errno, p->path, "%s", strerror(errno));
	while ((e = readdir(d))) {
		if (!ends_with(e->d_name, ".ovf"))
			continue;
		if (!p->ovf_name || strcmp(e->d_name, p->ovf_name) < 0) {
			free(p->ovf_name);
			p->ovf_name = strdup(e->d_name);
		}
	}
	closedir(d);
	if (!p->ovf_name)
		return err_set(-ENOENT, p->path, "no .ovf descriptor in this folder");
	return 0;
}

static int pkg_open(const char *path, struct pkg *p)
{
	struct stat st;

	memset(p, 0, sizeof(*p));
	p->path = path;
	if (stat(path, &st) < 0)
		return err_set(-errno, path, "%s", strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		p->dir = strdup(path);
		return p->dir ? find_ovf_in_dir(p) : err_set(-ENOMEM, path, "out of memory");
	}
	if (ends_with(path, ".ovf")) {
		char *a = strdup(path), *b = strdup(path);
		if (a && b) {
			p->dir = strdup(dirname(a));
			p->ovf_name = strdup(basename(b));
		}
		free(a);
		free(b);
		return p->dir && p->ovf_name ? 0 : err_set(-ENOMEM, path, "out of memory");
	}
	p->is_tar = true;
	int ret = tar_list_read(path, &p->tar);
	if (ret < 0)
		return ret;
	for (int i = 0; i < p->tar.n && !p->ovf_name; i++)
		if (p->tar.m[i].regular && ends_with(p->tar.m[i].name, ".ovf"))
			p->ovf_name = strdup(p->tar.m[i].name);
	if (!p->ovf_name)
		return err_set(-EINVAL, path, "not an OVA: the archive holds no .ovf descriptor");
	return 0;
}

/* Where the package's file `name` lies: (*file, *off, *len), *file malloc'd.
 * -ENOENT when the package has no such file. */
static int pkg_locate(const struct pkg *p, const char *name, char **file, uint64_t *off,
		      uint64_t *len)
{
	struct stat st;

	if (p->is_tar) {
		const struct tar_member *m = tar_list_find(&p->tar, name);
		if (!m)
			return err_set(-ENOENT, p->path, "'%s' is not in the OVA", name);
		if (!m->regular)
			return err_set(-EINVAL, p->path, "'%s' in the OVA is not a plain file", name);
		*file = strdup(p->path);
		*off = m->offset;
		*len = m->size;
		return *file ? 0 : err_set(-ENOMEM, p->path, "out of memory");
	}
	/* an OVA is always untrusted: its files stay in the package's folder */
	if (ref_check(p->path, REF_DISK, name, IMG_UNTRUSTED) < 0)
		return -EPERM;
	if (asprintf(file, "%s/%s", p->dir, name) < 0)
		return err_set(-ENOMEM, p->path, "out of memory");
	if (stat(*file, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = errno;
		free(*file);
		*file = NULL;
		return err_set(-ENOENT, p->path, "'%s' is missing from the OVF folder: %s", name,
			       strerror(e));
	}
	*off = 0;
	*len = (uint64_t)st.st_size;
	return 0;
}

static int read_range(const char *file, int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
		if (n < 0)
			return err_set(-errno, file, "read error: %s", strerror(errno));
		if (n == 0)
			return err_set(-EIO, file, "file shorter than expected");
		got += (size_t)n;
	}
	return 0;
}

/* The whole of a small package file (the .ovf, the .mf), NUL-terminated. */
static int pkg_read(const struct pkg *p, const char *name, size_t cap, char **out, size_t *olen)
{
	char *file = NULL, *buf = NULL;
	uint64_t off, len;
	int fd, ret;

	ret = pkg_locate(p, name, &file, &off, &len);
	if (ret < 0)
		return ret;
	if (len > cap) {
		ret = err_set(-EFBIG, p->path, "'%s' is larger than %zu bytes", name, cap);
		goto out;
	}
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = err_set(-errno, file, "%s", strerror(errno));
		goto out;
	}
	buf = malloc((size_t)len + 1);
	ret = buf ? read_range(file, fd, buf, (size_t)len, off) : err_set(-ENOMEM, file, "out of memory");
	close(fd);
	if (ret == 0) {
		buf[len] = '\0';
		*out = buf;
		*olen = (size_t)len;
		buf = NULL;
	}
out:
	free(buf);
	free(file);
	return ret;
}

/* ---- the manifest --------------------------------------------------------- */

static int hash_file(const struct pkg *p, const char *name, const EVP_MD *md,
		     unsigned char *digest, unsigned *dlen)
{
	char *file = NULL, *buf = NULL;
	uint64_t off, len;
	EVP_MD_CTX *ctx = NULL;
	int fd = -1, ret;

	ret = pkg_locate(p, name, &file, &off, &len);
	if (ret < 0)
		return ret == -ENOENT ? err_set(-ENOENT, p->path, "the manifest lists '%s', which is missing from the package",
						name) : ret;
	fd = open(file, O_RDONLY | O_CLOEXEC);
	buf = malloc(HASH_CHUNK);
	ctx = EVP_MD_CTX_new();
	if (fd < 0) {
		ret = err_set(-errno, file, "%s", strerror(errno));
		goto out;
	}
	if (!buf || !ctx || !EVP_DigestInit_ex(ctx, md, NULL)) {
		ret = err_set(-ENOMEM, file, "cannot start a hash");
		goto out;
	}
	while (len > 0 && ret == 0) {
		size_t n = len < HASH_CHUNK ? (size_t)len : HASH_CHUNK;
		ret = read_range(file, fd, buf, n, off);
		if (ret == 0 && !EVP_DigestUpdate(ctx, buf, n))
			ret = err_set(-EIO, file, "hash failed");
		off += n;
		len -= n;
	}
	if (ret == 0 && !EVP_DigestFinal_ex(ctx, digest, dlen))
		ret = err_set(-EIO, file, "hash failed");
out:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(ctx);
	free(buf);
	free(file);
	return ret;
}

static const EVP_MD *manifest_md(const char *algo)
{
	if (!strcasecmp(algo, "SHA1"))
		return EVP_sha1();
	if (!strcasecmp(algo, "SHA256"))
		return EVP_sha256();
	if (!strcasecmp(algo, "SHA512"))
		return EVP_sha512();
	return NULL;
}

/* One line "ALGO(name)= hex": the named file's sum must be hex. */
static int check_line(const struct pkg *p, const char *mf, char *line, int lineno)
{
	char *open_paren = strchr(line, '('), *eq, *close_paren, *hex;
	unsigned char digest[EVP_MAX_MD_SIZE];
	char want[2 * EVP_MAX_MD_SIZE + 1];
	unsigned dlen = 0;
	const EVP_MD *md;
	int ret;

	eq = strrchr(line, '=');
	if (!open_paren || !eq || eq < open_paren)
		return err_set(-EINVAL, p->path, "manifest %s line %d is not 'ALGO(file)= sum'", mf,
			       lineno);
	close_paren = eq;
	while (close_paren > open_paren && *close_paren != ')')
		close_paren--;
	if (close_paren == open_paren)
		return err_set(-EINVAL, p->path, "manifest %s line %d is not 'ALGO(file)= sum'", mf,
			       lineno);
	*open_paren = '\0';
	*close_paren = '\0';
	const char *name = open_paren + 1;
	md = manifest_md(line);
	if (!md)
		return err_set(-ENOTSUP, p->path, "manifest %s line %d: unknown hash '%.20s'", mf,
			       lineno, line);
	hex = eq + 1;
	while (*hex == ' ' || *hex == '\t')
		hex++;
	hex[strcspn(hex, " \t\r")] = '\0';
	if (strlen(hex) != 2 * (size_t)EVP_MD_get_size(md))
		return err_set(-EINVAL, p->path, "manifest %s line %d: the %s sum of '%s' has the wrong length",
			       mf, lineno, line, name);
	ret = hash_file(p, name, md, digest, &dlen);
	if (ret < 0)
		return ret;
	for (unsigned i = 0; i < dlen; i++)
		snprintf(want + 2 * i, 3, "%02x", digest[i]);
	if (strcasecmp(want, hex))
		return err_set(-EBADMSG, p->path, "'%s' does not match its %s sum in the manifest %s (corrupt or tampered with)",
			       name, line, mf);
	return 0;
}

/* The manifest next to the .ovf (same base name, .mf); none is fine. */
static char *manifest_name(const struct pkg *p)
{
	size_t n = strlen(p->ovf_name);
	char *mf = malloc(n + 1);

	if (!mf)
		return NULL;
	memcpy(mf, p->ovf_name, n - 4);
	strcpy(mf + n - 4, ".mf");
	return mf;
}

static int check_manifest(const struct pkg *p)
{
	char *mf = manifest_name(p), *text = NULL, *line, *next;
	char *f = NULL;
	uint64_t off, len;
	size_t tlen;
	int ret, lineno = 0;

	if (!mf)
		return err_set(-ENOMEM, p->path, "out of memory");
	if (pkg_locate(p, mf, &f, &off, &len) < 0) {
		err_clear();
		free(mf);
		return 0;
	}
	free(f);
	ret = pkg_read(p, mf, MANIFEST_MAX_SIZE, &text, &tlen);
	if (ret == 0 && memchr(text, '\0', tlen))
		ret = err_set(-EINVAL, p->path, "manifest %s holds binary data", mf);
	for (line = text; ret == 0 && line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		line[strcspn(line, "\r")] = '\0';
		while (isspace((unsigned char)*line))
			line++;
		if (*line)
			ret = check_line(p, mf, line, lineno);
	}
	free(text);
	free(mf);
	return ret;
}

/* ---- the disks ------------------------------------------------------------ */

static int place_disks(const struct pkg *p, struct v2v_source *s)
{
	for (int i = 0; i < s->nb_disks; i++) {
		struct v2v_disk *d = &s->disks[i];
		char *file = NULL;
		uint64_t off, len;
		int ret = pkg_locate(p, d->path, &file, &off, &len);

		if (ret < 0)
			return ret;
		free(d->path);
		d->path = file;
		if (p->is_tar) {
			d->offset = off;
			d->length = len;
		}
	}
	return 0;
}

static int check_disks(const struct pkg *p, const struct v2v_source *s)
{
	for (int i = 0; i < s->nb_disks; i++) {
		const struct v2v_disk *d = &s->disks[i];
		struct image *img;
		int ret = v2v_disk_open(d, &img);

		if (ret < 0)
			return ret;
		if (d->capacity && img->size != d->capacity)
			fprintf(stderr, "imgtool: warning: %s: disk %d is %llu bytes, the OVF declares %llu: converting the disk's own size\n",
				p->path, i + 1, (unsigned long long)img->size,
				(unsigned long long)d->capacity);
		image_close(img);
	}
	return 0;
}

int v2v_source_from_ova(const char *path, struct v2v_source *out)
{
	struct pkg p;
	char *ovf = NULL, where[4200];
	size_t len;
	int ret;

	memset(out, 0, sizeof(*out));
	if ((ret = ova_dl_load()) < 0)
		return ret;
	ret = pkg_open(path, &p);
	if (ret == 0)
		ret = pkg_read(&p, p.ovf_name, OVF_MAX_SIZE, &ovf, &len);
	if (ret == 0) {
		snprintf(where, sizeof(where), "%s: %s", path, p.ovf_name);
		ret = ovf_parse(where, ovf, len, out);
	}
	free(ovf);
	if (ret == 0)
		ret = check_manifest(&p);
	if (ret == 0)
		ret = place_disks(&p, out);
	if (ret == 0)
		ret = check_disks(&p, out);
	pkg_free(&p);
	if (ret < 0)
		v2v_source_free(out);
	return ret;
}
#endif /* HAVE_OVA */

static int open_ova(const char *src, const char *format, struct v2v_source *out)
{
	return v2v_source_from_ova(src, out);
}

const struct v2v_input_ops v2v_input_ova = {
	.name = "ova",
	.open = open_ova,
};
