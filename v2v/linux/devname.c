/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * v2v_devname.c - the guest's old device names and their rewriting.  A guest made
 * on VMware or Hyper-V names its disks /dev/sdX (SCSI/SATA), older ones /dev/hdX
 * (IDE) or /dev/xvdX (Xen); VMware's udev names carry the SCSI target in
 * /dev/disk/by-path/...-scsi-0:0:T:0-partN.  On virtio-blk the same disks are
 * /dev/vdX, so every such name in fstab, the bootloader and the kernel command line
 * must become UUID= (stable on any bus) or the virtio name.  Pure text functions:
 * the caller decides the replacement (v2v_linux.c).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "v2v/v2v.h"

/* "a".."z", "aa".. -> 0.. (bijective base 26, as the kernel names disks). */
static int letters_index(const char *s, size_t n)
{
	int v = 0;

	if (n == 0 || n > 3)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 'a' || s[i] > 'z')
			return -1;
		v = v * 26 + (s[i] - 'a' + 1);
	}
	return v - 1;
}

/* Length of the device-name token starting at s (letters, digits, -_:.). */
static size_t token_len(const char *s)
{
	size_t n = 0;

	while (s[n] && (isalnum((unsigned char)s[n]) || strchr("/-_:.", s[n])))
		n++;
	return n;
}

static int parse_short(const char *p, size_t n, int *disk, int *part)
{
	static const char *const prefixes[] = { "sd", "hd", "xvd", NULL };
	size_t i, pl;

	for (i = 0; prefixes[i]; i++) {
		pl = strlen(prefixes[i]);
		if (n > pl && !strncmp(p, prefixes[i], pl))
			break;
	}
	if (!prefixes[i])
		return -1;
	p += pl;
	n -= pl;
	for (i = 0; i < n && islower((unsigned char)p[i]); i++)
		;
	*disk = letters_index(p, i);
	if (*disk < 0)
		return -1;
	*part = 0;
	if (i == n)
		return 0;
	for (size_t j = i; j < n; j++)
		if (!isdigit((unsigned char)p[j]))
			return -1;
	if (n - i > 3)
		return -1;
	*part = atoi(p + i);
	return *part > 0 ? 0 : -1;
}

/* /dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:T:0[-partN] (VMware's pvscsi/lsilogic). */
static int parse_by_path(const char *p, size_t n, int *disk, int *part)
{
	char buf[256];
	const char *s;
	int t, l;

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	s = strstr(buf, "-scsi-0:0:");
	if (!s || sscanf(s, "-scsi-0:0:%d:%d", &t, &l) != 2 || t < 0 || t > 64)
		return -1;
	*disk = t;
	*part = 0;
	s = strstr(s, "-part");
	if (s)
		*part = atoi(s + 5);
	return 0;
}

int v2v_devname_parse(const char *name, int *disk, int *part)
{
	size_t n = token_len(name);

	if (strncmp(name, "/dev/", 5) || n <= 5)
		return -1;
	if (!strncmp(name, "/dev/disk/by-path/", 18))
		return parse_by_path(name + 18, n - 18, disk, part);
	return parse_short(name + 5, n - 5, disk, part);
}

int v2v_devname_rewrite(const char *text, char *(*map)(void *arg, const char *name, int disk, int part),
			void *arg, char **out, int *count)
{
	struct strbuf b = { 0 };
	const char *p = text;
	int r = strbuf_add(&b, "", 0);

	*count = 0;
	while (!r && *p) {
		const char *d = strstr(p, "/dev/");
		int disk, part;
		size_t n;
		char *rep = NULL;

		if (!d) {
			r = strbuf_add(&b, p, strlen(p));
			break;
		}
		n = token_len(d);
		/* a name inside a longer path (/mnt/dev/sda) is not a device name */
		bool boundary = d == text || !(isalnum((unsigned char)d[-1]) || strchr("/_.-", d[-1]));
		if (boundary && !v2v_devname_parse(d, &disk, &part)) {
			char *name = strndup(d, n);

			rep = name ? map(arg, name, disk, part) : NULL;
			free(name);
		}
		r = strbuf_add(&b, p, (size_t)(d - p));
		if (!r && rep) {
			r = strbuf_add(&b, rep, strlen(rep));
			(*count)++;
		} else if (!r) {
			r = strbuf_add(&b, d, n ? n : 5);
		}
		free(rep);
		p = d + (n ? n : 5);
	}
	if (r) {
		strbuf_free(&b);
		return r;
	}
	*out = strbuf_take(&b);
	return 0;
}
