/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmx.c - -i vmx: read a VMware .vmx into a v2v source.
 *
 * A .vmx is a flat list of `key = "value"` lines (keys case-insensitive, '#'
 * comments, a leading .encoding line, '|XX' hex escapes inside values).  What a
 * conversion needs from it: the name, memory, vCPUs, firmware, the hard disks in
 * controller/unit order with their bus and controller model, and the NICs.
 * CD-ROM and floppy devices are skipped; a listed disk whose file is missing is
 * an error (a conversion without one of the guest's disks would not boot or would
 * lose data).  The file is untrusted: its size, line length, entry count and
 * every number are capped, and anything that is not a text .vmx is refused with
 * one message naming the file.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/backend.h"
#include "backends/net.h"
#include "common/err.h"
#include "formats/reference.h"
#include "v2v/input/input.h"

#define VMX_MAX_SIZE     (4u << 20)  /* real .vmx files are a few KiB */
#define VMX_MAX_LINE     16384
#define VMX_MAX_ENTRIES  65536
#define VMX_MAX_MEM_MIB  (16ull << 20) /* 16 TiB: VMware's own limit is lower */
#define VMX_MAX_VCPUS    1024
#define VMX_MAX_DISKS    256
#define VMX_MAX_NICS     100

struct vmx_entry {
	char *key;    /* lower-cased */
	char *value;  /* unescaped */
};

struct vmx {
	const char *path;
	char *shown;  /* path for messages: a URL's secrets masked */
	struct vmx_entry *e;
	int n;
};

static void vmx_free(struct vmx *v)
{
	free(v->shown);
	for (int i = 0; i < v->n; i++) {
		free(v->e[i].key);
		free(v->e[i].value);
	}
	free(v->e);
}

/* The value of a key (the last one wins, as in VMware), or NULL. */
static const char *vmx_get(const struct vmx *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static const char *vmx_get(const struct vmx *v, const char *fmt, ...)
{
	char key[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(key, sizeof(key), fmt, ap);
	va_end(ap);
	for (char *p = key; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	for (int i = v->n - 1; i >= 0; i--)
		if (!strcmp(v->e[i].key, key))
			return v->e[i].value;
	return NULL;
}

static bool vmx_true(const char *s)
{
	return s && (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcmp(s, "1"));
}

static bool key_char(char c)
{
	return isalnum((unsigned char)c) || strchr("_.:-[]", c);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Unescape a quoted value in place: VMware writes "|22" for '"', "|7C" for '|'. */
static void unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '|' && hexval(r[1]) >= 0 && hexval(r[2]) >= 0) {
			*w++ = (char)(hexval(r[1]) * 16 + hexval(r[2]));
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/* One non-comment line "key = value" (value quoted or bare, optional trailing
 * comment) added to v; a line with no key or a broken quote is an error. */
static int parse_line(struct vmx *v, char *line, int lineno)
{
	char *eq = strchr(line, '='), *key, *val, *end;
	struct vmx_entry *e;

	if (!eq)
		return err_set(-EINVAL, v->shown, "line %d is not 'key = value' (not a .vmx file?)",
			       lineno);
	*eq = '\0';
	key = trim(line);
	val = trim(eq + 1);
	if (!*key)
		return err_set(-EINVAL, v->shown, "line %d has no key", lineno);
	for (char *p = key; *p; p++) {
		if (!key_char(*p))
			return err_set(-EINVAL, v->shown, "line %d: bad character in key", lineno);
		*p = (char)tolower((unsigned char)*p);
	}
	if (*val == '"') {
		val++;
		end = strchr(val, '"');
		if (!end)
			return err_set(-EINVAL, v->shown, "line %d: unterminated quoted value",
				       lineno);
		*end = '\0';
		if (*trim(end + 1) && *trim(end + 1) != '#')
			return err_set(-EINVAL, v->shown, "line %d: text after the quoted value",
				       lineno);
	} else {
		end = strchr(val, '#');
		if (end)
			*end = '\0';
		val = trim(val);
	}
	unescape(val);
	if (v->n >= VMX_MAX_ENTRIES)
		return err_set(-EFBIG, v->shown, "more than %d entries", VMX_MAX_ENTRIES);
	if (v->n % 64 == 0) {
		e = realloc(v->e, (size_t)(v->n + 64) * sizeof(*e));
		if (!e)
			return err_set(-ENOMEM, v->shown, "out of memory");
		v->e = e;
	}
	e = &v->e[v->n];
	e->key = strdup(key);
	e->value = strdup(val);
	if (!e->key || !e->value) {
		free(e->key);
		free(e->value);
		return err_set(-ENOMEM, v->shown, "out of memory");
	}
	v->n++;
	return 0;
}

/* A .vmx named by URL (ssh://esxi/vmfs/volumes/ds1/vm/vm.vmx) is read through its
 * backend, as its disks will be. */
static int read_text_url(const char *path, char **out, size_t *len)
{
	struct backend *be;
	uint64_t size;
	char *buf;
	int ret = backend_open(path, 0, &be);

	if (ret < 0)
		return ret;
	ret = backend_size(be, &size);
	if (ret == 0 && size > VMX_MAX_SIZE)
		ret = err_set(-EFBIG, be->url, "larger than %u bytes: not a .vmx file", VMX_MAX_SIZE);
	buf = ret == 0 ? malloc((size_t)size + 1) : NULL;
	if (ret == 0 && !buf)
		ret = err_set(-ENOMEM, be->url, "out of memory");
	if (ret == 0)
		ret = backend_pread(be, buf, (size_t)size, 0);
	backend_close(be);
	if (ret < 0) {
		free(buf);
		return ret;
	}
	buf[size] = '\0';
	*out = buf;
	*len = (size_t)size;
	return 0;
}

static int read_text(const char *path, char **out, size_t *len)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t got = 0;
	int fd;

	if (ref_has_scheme(path))
		return read_text_url(path, out, len);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(-errno, path, "%s", strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(-EINVAL, path, "not a regular file");
	}
	if ((uint64_t)st.st_size > VMX_MAX_SIZE) {
		close(fd);
		return err_set(-EFBIG, path, "larger than %u bytes: not a .vmx file", VMX_MAX_SIZE);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return err_set(-ENOMEM, path, "out of memory");
	}
	while (got < (size_t)st.st_size &&
	       (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

static int vmx_parse(const char *path, struct vmx *v)
{
	char *text = NULL, *line, *next;
	size_t len = 0;
	int lineno = 0, ret;

	memset(v, 0, sizeof(*v));
	v->path = path;
	v->shown = net_url_mask(path);
	if (!v->shown)
		return err_set(-ENOMEM, NULL, "out of memory");
	ret = read_text(path, &text, &len);
	if (ret < 0) {
		vmx_free(v);
		return ret;
	}
	if (memchr(text, '\0', len)) {
		free(text);
		ret = err_set(-EINVAL, v->shown, "contains binary data: not a .vmx file");
		vmx_free(v);
		return ret;
	}
	for (line = text; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		if (strlen(line) > VMX_MAX_LINE) {
			ret = err_set(-EINVAL, v->shown, "line %d is longer than %d bytes", lineno,
				      VMX_MAX_LINE);
			break;
		}
		line = trim(line);
		if (!*line || *line == '#')
			continue;
		ret = parse_line(v, line, lineno);
		if (ret < 0)
			break;
	}
	free(text);
	if (ret < 0)
		vmx_free(v);
	return ret;
}

/* A decimal number within [min, max]; NULL gives *out = dflt. */
static int get_number(const struct vmx *v, const char *key, uint64_t min, uint64_t max,
		      uint64_t dflt, uint64_t *out)
{
	const char *s = vmx_get(v, "%s", key);
	char *end;
	unsigned long long n;

	if (!s) {
		*out = dflt;
		return 0;
	}
	errno = 0;
	n = strtoull(s, &end, 10);
	if (!isdigit((unsigned char)*s) || *end || errno || n < min || n > max)
		return err_set(-EINVAL, v->shown, "%s = \"%.40s\" is not a number from %" PRIu64
			       " to %" PRIu64, key, s, min, max);
	*out = n;
	return 0;
}

/* ---- disks ---------------------------------------------------------------- */

static const struct vmx_bus {
	const char *name;
	int max_ctrl, max_unit;
} vmx_buses[] = {
	/* the order disks are listed in: the boot disk is usually scsi0:0 */
	{ "scsi", 3, 63 },
	{ "sata", 3, 29 },
	{ "nvme", 3, 63 },
	{ "ide", 1, 1 },
};

struct slot {
	int bus, ctrl, unit;
};

static int slot_cmp(const void *a, const void *b)
{
	const struct slot *x = a, *y = b;

	if (x->bus != y->bus)
		return x->bus - y->bus;
	if (x->ctrl != y->ctrl)
		return x->ctrl - y->ctrl;
	return x->unit - y->unit;
}

/* "scsi0:1.present" -> bus, controller, unit; false for any other key. */
static bool parse_slot_key(const char *key, struct slot *s)
{
	for (int b = 0; b < (int)(sizeof(vmx_buses) / sizeof(vmx_buses[0])); b++) {
		size_t n = strlen(vmx_buses[b].name);
		unsigned c, u;
		int used = 0;

		if (strncmp(key, vmx_buses[b].name, n) || !isdigit((unsigned char)key[n]))
			continue;
		if (sscanf(key + n, "%3u:%3u.present%n", &c, &u, &used) == 2 && used &&
		    !key[n + (size_t)used]) {
			s->bus = b;
			s->ctrl = (int)c;
			s->unit = (int)u;
			return true;
		}
	}
	return false;
}

static bool is_removable(const struct vmx *v, const struct slot *s, const char *file)
{
	const char *bus = vmx_buses[s->bus].name;
	const char *type = vmx_get(v, "%s%d:%d.deviceType", bus, s->ctrl, s->unit);
	size_t n = strlen(file);

	if (type)
		return strcasestr(type, "cdrom") || strcasestr(type, "floppy");
	return n >= 4 && !strcasecmp(file + n - 4, ".iso");
}

static char *lower_dup(const char *s)
{
	char *d = s ? strdup(s) : NULL;

	for (char *p = d; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

/* A missing disk is named now, not when the copy reaches it. */
static int disk_url_exists(const struct vmx *v, const struct slot *s, const char *url)
{
	const struct vmx_bus *bus = &vmx_buses[s->bus];
	struct backend *be;
	int ret = backend_open(url, 0, &be);

	if (ret == -ENOENT) {
		char *shown = net_url_mask(url);
		ret = err_set(-ENOENT, v->shown, "disk file '%s' (%s%d:%d) not found",
			      shown ? shown : "?", bus->name, s->ctrl, s->unit);
		free(shown);
	}
	if (ret == 0)
		backend_close(be);
	return ret;
}

static int add_disk(const struct vmx *v, const struct slot *s, struct v2v_source *out)
{
	const struct vmx_bus *bus = &vmx_buses[s->bus];
	const char *file = vmx_get(v, "%s%d:%d.fileName", bus->name, s->ctrl, s->unit);
	struct v2v_disk *d;
	struct stat st;
	int ret;

	if (s->ctrl > bus->max_ctrl || s->unit > bus->max_unit)
		return err_set(-EINVAL, v->shown, "%s%d:%d is not a valid %s slot", bus->name,
			       s->ctrl, s->unit, bus->name);
	if (vmx_get(v, "%s%d.present", bus->name, s->ctrl) &&
	    !vmx_true(vmx_get(v, "%s%d.present", bus->name, s->ctrl)))
		return 0;   /* its controller is absent: VMware ignores the disk too */
	if (!file || !*file)
		return err_set(-EINVAL, v->shown, "%s%d:%d has no fileName", bus->name, s->ctrl,
			       s->unit);
	if (is_removable(v, s, file))
		return 0;
	if (out->nb_disks >= VMX_MAX_DISKS)
		return err_set(-EFBIG, v->shown, "more than %d disks", VMX_MAX_DISKS);
	d = &out->disks[out->nb_disks];
	memset(d, 0, sizeof(*d));
	ret = ref_resolve(v->path, REF_DISK, file, ref_policy_flags(), &d->path);
	if (ret < 0)
		return ret;
	d->controller = strdup(bus->name);
	if (!d->path || !d->controller) {
		free(d->path);
		free(d->controller);
		return err_set(-ENOMEM, v->shown, "out of memory");
	}
	out->nb_disks++;
	if (strcmp(bus->name, "scsi") == 0) {
		const char *model = vmx_get(v, "scsi%d.virtualDev", s->ctrl);
		if (model && !(d->controller_model = lower_dup(model)))
			return err_set(-ENOMEM, v->shown, "out of memory");
	}
	if (ref_has_scheme(d->path))
		return disk_url_exists(v, s, d->path);
	if (stat(d->path, &st) < 0)
		return err_set(-ENOENT, v->shown, "disk file '%s' (%s%d:%d) not found: %s", d->path,
			       bus->name, s->ctrl, s->unit, strerror(errno));
	return 0;
}

static int find_disks(const struct vmx *v, struct v2v_source *out)
{
	struct slot *slots;
	int n = 0, ret = 0;

	slots = calloc((size_t)v->n + 1, sizeof(*slots));
	out->disks = calloc(VMX_MAX_DISKS, sizeof(*out->disks));
	if (!slots || !out->disks) {
		free(slots);
		return err_set(-ENOMEM, v->shown, "out of memory");
	}
	for (int i = 0; i < v->n; i++) {
		struct slot s;

		if (!parse_slot_key(v->e[i].key, &s) || !vmx_true(v->e[i].value))
			continue;
		bool dup = false;
		for (int j = 0; j < n; j++)
			dup |= !slot_cmp(&slots[j], &s);
		if (!dup)
			slots[n++] = s;
	}
	qsort(slots, (size_t)n, sizeof(*slots), slot_cmp);
	for (int i = 0; i < n && ret == 0; i++)
		ret = add_disk(v, &slots[i], out);
	free(slots);
	if (ret == 0 && out->nb_disks == 0)
		ret = err_set(-EINVAL, v->shown, "names no hard disk (no scsiN:M, sataN:M, nvmeN:M or ideN:M with a disk file)");
	return ret;
}

/* ---- NICs ----------------------------------------------------------------- */

/* "00:50:56:AB:cd:EF" (or with '-') -> lower case with ':'; NULL if not a MAC. */
static char *normalise_mac(const char *s)
{
	char *m;

	if (strlen(s) != 17)
		return NULL;
	for (int i = 0; i < 17; i++) {
		if (i % 3 == 2 ? (s[i] != ':' && s[i] != '-') : hexval(s[i]) < 0)
			return NULL;
	}
	m = lower_dup(s);
	for (int i = 2; m && i < 17; i += 3)
		m[i] = ':';
	return m;
}

static int add_nic(const struct vmx *v, int idx, struct v2v_source *out)
{
	const char *type = vmx_get(v, "ethernet%d.addressType", idx);
	const char *mac = vmx_get(v, "ethernet%d.address", idx);
	const char *gen = vmx_get(v, "ethernet%d.generatedAddress", idx);
	const char *model = vmx_get(v, "ethernet%d.virtualDev", idx);
	const char *net = vmx_get(v, "ethernet%d.networkName", idx);
	struct v2v_nic *nic = &out->nics[out->nb_nics++];

	if (!mac || (type && strcasecmp(type, "static") && gen))
		mac = gen;
	if (mac && *mac && !(nic->mac = normalise_mac(mac)))
		return err_set(-EINVAL, v->shown, "ethernet%d has a bad MAC address \"%.40s\"", idx,
			       mac);
	if ((model && !(nic->model = lower_dup(model))) || (net && !(nic->network = strdup(net))))
		return err_set(-ENOMEM, v->shown, "out of memory");
	return 0;
}

static int find_nics(const struct vmx *v, struct v2v_source *out)
{
	bool present[VMX_MAX_NICS] = { false };
	int count = 0;

	for (int i = 0; i < v->n; i++) {
		unsigned idx;
		int used = 0;

		if (sscanf(v->e[i].key, "ethernet%4u.present%n", &idx, &used) != 1 || !used ||
		    v->e[i].key[used] || !vmx_true(v->e[i].value))
			continue;
		if (idx >= VMX_MAX_NICS)
			return err_set(-EINVAL, v->shown, "ethernet%u: more than %d NICs", idx,
				       VMX_MAX_NICS);
		count += !present[idx];
		present[idx] = true;
	}
	if (!count)
		return 0;
	out->nics = calloc((size_t)count, sizeof(*out->nics));
	if (!out->nics)
		return err_set(-ENOMEM, v->shown, "out of memory");
	for (int i = 0; i < VMX_MAX_NICS; i++) {
		if (present[i]) {
			int ret = add_nic(v, i, out);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

/* ---- the VM --------------------------------------------------------------- */

/* The guest's name, safe as a file name: displayName, else the .vmx's name. */
static char *guest_name(const struct vmx *v)
{
	const char *dn = vmx_get(v, "displayName");
	char *name;

	name = dn && *dn ? strdup(dn) : v2v_name_from_path(v->path);
	for (char *p = name; p && *p; p++)
		if (*p == '/' || (unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '_';
	if (name && (!strcmp(name, ".") || !strcmp(name, "..")))
		name[0] = '_';
	return name;
}

static int read_settings(const struct vmx *v, struct v2v_source *out)
{
	const char *fw = vmx_get(v, "firmware");
	uint64_t n;
	int ret;

	out->name = guest_name(v);
	if (!out->name)
		return err_set(-ENOMEM, v->shown, "out of memory");
	ret = get_number(v, "memsize", 1, VMX_MAX_MEM_MIB, 0, &out->memory_mib);
	if (ret < 0)
		return ret;
	ret = get_number(v, "numvcpus", 1, VMX_MAX_VCPUS, 1, &n);
	if (ret < 0)
		return ret;
	out->vcpus = (int)n;
	/* VMware's default firmware is BIOS */
	out->firmware = fw && !strcasecmp(fw, "efi") ? V2V_FW_UEFI : V2V_FW_BIOS;
	return 0;
}

int v2v_source_from_vmx(const char *vmx_path, struct v2v_source *out)
{
	struct vmx v;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = vmx_parse(vmx_path, &v);
	if (ret < 0)
		return ret;
	ret = read_settings(&v, out);
	if (ret == 0)
		ret = find_disks(&v, out);
	if (ret == 0)
		ret = find_nics(&v, out);
	vmx_free(&v);
	if (ret < 0)
		v2v_source_free(out);
	return ret;
}

static int open_vmx(const char *src, const char *format, struct v2v_source *out)
{
	return v2v_source_from_vmx(src, out);
}

const struct v2v_input_ops v2v_input_vmx = {
	.name = "vmx",
	.names_quickly = true,
	.open = open_vmx,
};
