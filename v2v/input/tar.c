/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tar.c - list a tar archive's members in place (see tar.h).
 *
 * Only the 512-byte headers are read; member data is skipped by its size.  Every
 * header is untrusted: its checksum must match, sizes must fit in the file (a
 * member running past the end is "truncated"), long names are capped, and so is
 * the number of members.
 */
#include "v2v/input/tar.h"
#include "common/err.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAR_BLOCK       512
#define TAR_MAX_MEMBERS 10000
#define TAR_MAX_NAME    4096     /* a GNU 'L' or pax path longer than this is refused */
#define TAR_MAX_PAX     65536    /* bytes of pax extended header read */

/* One tar header's fields we use (offsets from POSIX ustar). */
#define H_NAME     0
#define H_SIZE     124
#define H_CHKSUM   148
#define H_TYPE     156
#define H_MAGIC    257
#define H_PREFIX   345

struct pending {        /* what a GNU 'L' or pax 'x' header says of the next member */
	char *name;
	uint64_t size;
	bool has_size;
};

static bool octal_field(const uint8_t *f, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (f[0] & 0x80) {          /* GNU base-256: big-endian, top bit is the marker */
		if (f[0] != 0x80)
			return false;   /* negative or > 2^(8*(len-1)) */
		for (i = 1; i < len; i++) {
			if (v >> 56)
				return false;
			v = v << 8 | f[i];
		}
		*out = v;
		return true;
	}
	while (i < len && f[i] == ' ')
		i++;
	for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return false;
		v = v << 3 | (uint64_t)(f[i] - '0');
	}
	if (i < len && f[i] != ' ' && f[i] != '\0')
		return false;
	*out = v;
	return true;
}

static bool checksum_ok(const uint8_t *h)
{
	uint64_t stored;
	unsigned sum_u = 0;
	int sum_s = 0;

	if (!octal_field(h + H_CHKSUM, 8, &stored))
		return false;
	for (int i = 0; i < TAR_BLOCK; i++) {
		uint8_t c = (i >= H_CHKSUM && i < H_CHKSUM + 8) ? ' ' : h[i];
		sum_u += c;
		sum_s += (signed char)c;
	}
	return stored == sum_u || stored == (uint64_t)(unsigned)sum_s;
}

static bool all_zero(const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

static int read_at(int fd, const char *path, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
		if (n < 0)
			return err_set(-errno, path, "read error: %s", strerror(errno));
		if (n == 0)
			return err_set(-EINVAL, path, "truncated tar archive (ends inside a header at offset %#llx)",
				       (unsigned long long)off);
		got += (size_t)n;
	}
	return 0;
}

/* Parse pax records "LEN key=value\n" for path and size. */
static int parse_pax(const char *path, char *data, size_t len, struct pending *p)
{
	size_t pos = 0;

	while (pos < len) {
		char *end;
		unsigned long rlen = strtoul(data + pos, &end, 10);

		if (end == data + pos || *end != ' ' || rlen < 5 || rlen > len - pos ||
		    data[pos + rlen - 1] != '\n')
			return err_set(-EINVAL, path, "bad pax extended header");
		data[pos + rlen - 1] = '\0';
		char *kv = end + 1;
		if (!strncmp(kv, "path=", 5)) {
			free(p->name);
			p->name = strdup(kv + 5);
			if (!p->name)
				return err_set(-ENOMEM, path, "out of memory");
		} else if (!strncmp(kv, "size=", 5)) {
			char *e2;
			errno = 0;
			p->size = strtoull(kv + 5, &e2, 10);
			if (errno || *e2 || e2 == kv + 5)
				return err_set(-EINVAL, path, "bad pax size record");
			p->has_size = true;
		}
		pos += rlen;
	}
	return 0;
}

/* The data of a 'L' or 'x' pseudo-member, NUL-terminated. */
static int read_meta(int fd, const char *path, uint64_t off, uint64_t size, size_t cap,
		     char **out)
{
	char *buf;
	int ret;

	if (size > cap)
		return err_set(-EINVAL, path, "tar extended header of %llu bytes (more than %zu)",
			       (unsigned long long)size, cap);
	buf = malloc((size_t)size + 1);
	if (!buf)
		return err_set(-ENOMEM, path, "out of memory");
	ret = read_at(fd, path, buf, (size_t)size, off);
	if (ret < 0) {
		free(buf);
		return ret;
	}
	buf[size] = '\0';
	*out = buf;
	return 0;
}

static char *member_name(const uint8_t *h, struct pending *p)
{
	char name[101], prefix[156], *full;

	if (p->name) {
		full = p->name;
		p->name = NULL;
	} else {
		memcpy(name, h + H_NAME, 100);
		name[100] = '\0';
		memcpy(prefix, h + H_PREFIX, 155);
		prefix[155] = '\0';
		if (!memcmp(h + H_MAGIC, "ustar", 5) && prefix[0]) {
			if (asprintf(&full, "%s/%s", prefix, name) < 0)
				return NULL;
		} else {
			full = strdup(name);
		}
	}
	while (full && !strncmp(full, "./", 2))
		memmove(full, full + 2, strlen(full + 2) + 1);
	return full;
}

static int add_member(struct tar_list *l, const char *path, char *name, uint64_t off,
		      uint64_t size, bool regular)
{
	struct tar_member *m;

	if (l->n >= TAR_MAX_MEMBERS) {
		free(name);
		return err_set(-EFBIG, path, "more than %d members in the tar archive",
			       TAR_MAX_MEMBERS);
	}
	if (l->n % 16 == 0) {
		m = realloc(l->m, (size_t)(l->n + 16) * sizeof(*m));
		if (!m) {
			free(name);
			return err_set(-ENOMEM, path, "out of memory");
		}
		l->m = m;
	}
	l->m[l->n++] = (struct tar_member){ name, off, size, regular };
	return 0;
}

/* Walk the headers from offset 0 to the end-of-archive blocks (or the end of the
 * file at a header boundary). */
static int walk(int fd, const char *path, uint64_t fsize, struct tar_list *l)
{
	struct pending p = { 0 };
	uint8_t h[TAR_BLOCK];
	uint64_t off = 0, size, end, padded;
	int ret = 0;

	while (off + TAR_BLOCK <= fsize) {
		ret = read_at(fd, path, h, TAR_BLOCK, off);
		if (ret < 0)
			break;
		if (all_zero(h, TAR_BLOCK))
			break;
		if (!checksum_ok(h) || !octal_field(h + H_SIZE, 12, &size)) {
			ret = off == 0 ? err_set(-EINVAL, path, "not an OVA: not a tar archive")
				       : err_set(-EINVAL, path, "bad tar header at offset %#llx",
						 (unsigned long long)off);
			break;
		}
		char type = (char)h[H_TYPE];
		if (p.has_size && type != 'x' && type != 'g' && type != 'L' && type != 'K')
			size = p.size;
		off += TAR_BLOCK;
		if (!add_ok(off, size, &end) || end > fsize) {
			ret = err_set(-EINVAL, path, "truncated tar archive: a member of %llu bytes at offset %#llx runs past its end",
				      (unsigned long long)size, (unsigned long long)off);
			break;
		}
		padded = (size + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
		if (type == 'L' || type == 'x') {
			char *data = NULL;
			ret = read_meta(fd, path, off, size, type == 'L' ? TAR_MAX_NAME : TAR_MAX_PAX,
					&data);
			if (ret == 0 && type == 'L') {
				free(p.name);
				p.name = data;
				data = NULL;
			} else if (ret == 0) {
				ret = parse_pax(path, data, (size_t)size, &p);
			}
			free(data);
			if (ret < 0)
				break;
		} else if (type != 'g' && type != 'K') {
			char *name = member_name(h, &p);
			if (!name) {
				ret = err_set(-ENOMEM, path, "out of memory");
				break;
			}
			ret = add_member(l, path, name, off, size, type == '0' || type == '\0' || type == '7');
			p.has_size = false;
			if (ret < 0)
				break;
		}
		off += padded;
	}
	free(p.name);
	if (ret == 0 && l->n == 0)
		ret = err_set(-EINVAL, path, "not an OVA: an empty tar archive");
	return ret;
}

int tar_list_read(const char *path, struct tar_list *out)
{
	struct stat st;
	uint8_t magic[2] = { 0, 0 };
	int fd, ret;

	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(-errno, path, "%s", strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(-EINVAL, path, "not a regular file");
	}
	if (pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
		close(fd);
		return err_set(-ENOTSUP, path, "is gzip-compressed: decompress it first (gunzip -c X.ova.gz > X.ova)");
	}
	if ((uint64_t)st.st_size < TAR_BLOCK) {
		close(fd);
		return err_set(-EINVAL, path, "not an OVA: too short for a tar archive");
	}
	ret = walk(fd, path, (uint64_t)st.st_size, out);
	close(fd);
	if (ret < 0)
		tar_list_free(out);
	return ret;
}

const struct tar_member *tar_list_find(const struct tar_list *l, const char *name)
{
	while (!strncmp(name, "./", 2))
		name += 2;
	for (int i = 0; i < l->n; i++)
		if (!strcmp(l->m[i].name, name))
			return &l->m[i];
	return NULL;
}

void tar_list_free(struct tar_list *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->m[i].name);
	free(l->m);
	memset(l, 0, sizeof(*l));
}
