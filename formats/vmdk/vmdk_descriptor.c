/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmdk_descriptor.c - the VMDK text descriptor: a lenient parser and a writer.
 *
 * Real descriptors come from many writers (VMware products, VirtualBox, qemu,
 * hand edits), so the parser accepts any case for keys and access/type words,
 * spaces or tabs anywhere, comments, CRLF line ends and unknown keys, and keeps
 * every extent line whatever its access (RDONLY and NOACCESS extents still occupy
 * their place in the disk).  Nothing in it is trusted: counts and sizes are capped.
 */
#include "vmdk.h"
#include "../../common/err.h"
#include "../../common/strbuf.h"
#include "../../common/util.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	enum vmdk_ext_type type;
} ext_types[] = {
	{ "SPARSE", VMDK_EXT_SPARSE },
	{ "FLAT", VMDK_EXT_FLAT },
	{ "ZERO", VMDK_EXT_ZERO },
	{ "VMFS", VMDK_EXT_VMFS },
	{ "VMFSSPARSE", VMDK_EXT_VMFSSPARSE },
	{ "VMFSRDM", VMDK_EXT_VMFSRDM },
	{ "VMFSRAW", VMDK_EXT_VMFSRAW },
};

const char *vmdk_ext_type_name(enum vmdk_ext_type t)
{
	for (size_t i = 0; i < ARRAY_SIZE(ext_types); i++)
		if (ext_types[i].type == t)
			return ext_types[i].name;
	return "?";
}

const char *vmdk_access_name(enum vmdk_access a)
{
	return a == VMDK_RW ? "RW" : a == VMDK_RDONLY ? "RDONLY" : "NOACCESS";
}

void vmdk_desc_free(struct vmdk_desc *d)
{
	for (int i = 0; i < d->n_ext; i++)
		free(d->ext[i].filename);
	for (int i = 0; i < d->n_ddb; i++) {
		free(d->ddb[i].key);
		free(d->ddb[i].value);
	}
	free(d->ext);
	free(d->ddb);
	free(d->create_type);
	free(d->parent_hint);
	free(d->encoding);
	memset(d, 0, sizeof(*d));
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Strip one pair of surrounding double quotes. */
static char *unquote(char *s)
{
	char *q;

	/* "value" and anything after the closing quote (a stray comment) is dropped */
	if (s[0] == '"' && (q = strchr(s + 1, '"'))) {
		*q = '\0';
		return s + 1;
	}
	return s;
}

static int parse_access(const char *w, enum vmdk_access *a)
{
	if (!strcasecmp(w, "RW"))
		*a = VMDK_RW;
	else if (!strcasecmp(w, "RDONLY"))
		*a = VMDK_RDONLY;
	else if (!strcasecmp(w, "NOACCESS"))
		*a = VMDK_NOACCESS;
	else
		return -1;
	return 0;
}

static const char *next_word(const char *p, char *w, size_t cap)
{
	size_t n = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	while (*p && *p != ' ' && *p != '\t') {
		if (n + 1 < cap)
			w[n++] = *p;
		p++;
	}
	w[n] = '\0';
	return p;
}

static int parse_u64(const char *s, int base, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* "ACCESS SECTORS TYPE ["FILENAME" [OFFSET]]" */
static int parse_extent(const char *line, const char *filename, int lineno,
			struct vmdk_desc *d)
{
	struct vmdk_desc_extent x = { 0 };
	char w[64];
	const char *p = line;
	bool found = false;
	void *n;

	p = next_word(p, w, sizeof(w));
	parse_access(w, &x.access);
	p = next_word(p, w, sizeof(w));
	if (parse_u64(w, 10, &x.sectors) < 0)
		return err_set(-EINVAL, filename, "descriptor line %d: bad extent size '%s'",
			       lineno, w);
	p = next_word(p, w, sizeof(w));
	for (size_t i = 0; i < ARRAY_SIZE(ext_types); i++) {
		if (!strcasecmp(w, ext_types[i].name)) {
			x.type = ext_types[i].type;
			found = true;
		}
	}
	if (!found)
		return err_set(-ENOTSUP, filename,
			       "descriptor line %d: unsupported extent type '%s'", lineno, w);
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '"') {
		const char *q = strchr(p + 1, '"');

		if (!q)
			return err_set(-EINVAL, filename,
				       "descriptor line %d: unterminated extent file name", lineno);
		x.filename = strndup(p + 1, (size_t)(q - p - 1));
		if (!x.filename)
			return err_set(-ENOMEM, filename, "out of memory");
		p = next_word(q + 1, w, sizeof(w));
		if (w[0] && parse_u64(w, 10, &x.offset) < 0) {
			free(x.filename);
			return err_set(-EINVAL, filename,
				       "descriptor line %d: bad extent offset '%s'", lineno, w);
		}
	} else if (*p) {
		/* unquoted file name (seen in hand-written descriptors) */
		p = next_word(p, w, sizeof(w));
		x.filename = strdup(w);
		if (!x.filename)
			return err_set(-ENOMEM, filename, "out of memory");
		p = next_word(p, w, sizeof(w));
		if (w[0] && parse_u64(w, 10, &x.offset) < 0) {
			free(x.filename);
			return err_set(-EINVAL, filename,
				       "descriptor line %d: bad extent offset '%s'", lineno, w);
		}
	}
	if (x.type != VMDK_EXT_ZERO && x.access != VMDK_NOACCESS &&
	    (!x.filename || !x.filename[0])) {
		free(x.filename);
		return err_set(-EINVAL, filename, "descriptor line %d: extent without a file name",
			       lineno);
	}
	if (d->n_ext >= VMDK_MAX_EXTENTS) {
		free(x.filename);
		return err_set(-EINVAL, filename, "descriptor has more than %d extents",
			       VMDK_MAX_EXTENTS);
	}
	n = realloc(d->ext, sizeof(*d->ext) * (size_t)(d->n_ext + 1));
	if (!n) {
		free(x.filename);
		return err_set(-ENOMEM, filename, "out of memory");
	}
	d->ext = n;
	d->ext[d->n_ext++] = x;
	return 0;
}

static int set_str(char **dst, const char *v, const char *filename)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : err_set(-ENOMEM, filename, "out of memory");
}

static int parse_kv(char *key, char *val, const char *filename, int lineno,
		    struct vmdk_desc *d)
{
	uint64_t v;
	void *n;

	key = trim(key);
	val = unquote(trim(val));
	if (!strcasecmp(key, "version")) {
		if (parse_u64(val, 10, &v) < 0 || v > 1000)
			return err_set(-EINVAL, filename, "descriptor line %d: bad version '%s'",
				       lineno, val);
		d->version = (int)v;
	} else if (!strcasecmp(key, "CID")) {
		if (parse_u64(val, 16, &v) < 0 || v > UINT32_MAX)
			return err_set(-EINVAL, filename, "descriptor line %d: bad CID '%s'",
				       lineno, val);
		d->cid = (uint32_t)v;
		d->has_cid = true;
	} else if (!strcasecmp(key, "parentCID")) {
		if (parse_u64(val, 16, &v) < 0 || v > UINT32_MAX)
			return err_set(-EINVAL, filename, "descriptor line %d: bad parentCID '%s'",
				       lineno, val);
		d->parent_cid = (uint32_t)v;
	} else if (!strcasecmp(key, "createType")) {
		return set_str(&d->create_type, val, filename);
	} else if (!strcasecmp(key, "parentFileNameHint")) {
		return set_str(&d->parent_hint, val, filename);
	} else if (!strcasecmp(key, "encoding")) {
		return set_str(&d->encoding, val, filename);
	} else if (!strncasecmp(key, "ddb.", 4)) {
		if (d->n_ddb >= 4096)
			return 0;
		n = realloc(d->ddb, sizeof(*d->ddb) * (size_t)(d->n_ddb + 1));
		if (!n)
			return err_set(-ENOMEM, filename, "out of memory");
		d->ddb = n;
		d->ddb[d->n_ddb].key = strdup(key);
		d->ddb[d->n_ddb].value = strdup(val);
		d->n_ddb++;
		if (!d->ddb[d->n_ddb - 1].key || !d->ddb[d->n_ddb - 1].value)
			return err_set(-ENOMEM, filename, "out of memory");
	}
	/* unknown keys (isNativeSnapshot, uuid, ...) are ignored */
	return 0;
}

static int parse_line(char *line, const char *filename, int lineno, struct vmdk_desc *d)
{
	char w[16];
	enum vmdk_access a;
	char *eq;

	line = trim(line);
	if (!line[0] || line[0] == '#')
		return 0;
	next_word(line, w, sizeof(w));
	if (parse_access(w, &a) == 0 && !strchr(w, '='))
		return parse_extent(line, filename, lineno, d);
	eq = strchr(line, '=');
	if (!eq)
		return 0;   /* lenient: stray text is ignored */
	*eq = '\0';
	return parse_kv(line, eq + 1, filename, lineno, d);
}

int vmdk_desc_parse(const char *text, size_t len, const char *filename, struct vmdk_desc *d)
{
	char *copy, *p;
	int lineno = 0, ret = 0;

	memset(d, 0, sizeof(*d));
	d->parent_cid = UINT32_MAX;
	if (len > VMDK_MAX_DESC_BYTES)
		return err_set(-EFBIG, filename, "descriptor larger than %d bytes",
			       VMDK_MAX_DESC_BYTES);
	/* the embedded descriptor is NUL padded */
	len = strnlen(text, len);
	copy = strndup(text, len);
	if (!copy)
		return err_set(-ENOMEM, filename, "out of memory");
	for (p = copy; p && ret == 0;) {
		char *nl = strchr(p, '\n');

		if (nl)
			*nl = '\0';
		lineno++;
		ret = parse_line(p, filename, lineno, d);
		p = nl ? nl + 1 : NULL;
	}
	free(copy);
	if (ret == 0 && d->n_ext == 0)
		ret = err_set(-EINVAL, filename, "descriptor lists no extents");
	if (ret == 0 && !d->create_type)
		ret = err_set(-EINVAL, filename, "descriptor has no createType");
	if (ret < 0)
		vmdk_desc_free(d);
	return ret;
}

bool vmdk_desc_probe(const uint8_t *buf, size_t len)
{
	static const char sig[] = "# Disk DescriptorFile";
	size_t n = MIN(len, (size_t)4096);
	size_t i = 0;

	while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	if (n - i >= sizeof(sig) - 1 && !strncasecmp((const char *)buf + i, sig, sizeof(sig) - 1))
		return true;
	/* no signature: text that mentions createType within its first 4 KiB */
	for (size_t j = 0; j < n; j++)
		if (buf[j] == 0 || (buf[j] < 0x20 && !isspace(buf[j])))
			return false;
	for (size_t j = 0; j + 10 <= n; j++)
		if (!strncasecmp((const char *)buf + j, "createType", 10))
			return true;
	return false;
}

char *vmdk_desc_write(const struct vmdk_desc_params *p)
{
	struct strbuf b = { 0 };
	uint32_t heads = strcmp(p->adapter, "ide") ? 255 : 16;
	uint64_t cyl = p->capacity / ((uint64_t)heads * 63);

	if (p->vmware_style && cyl > 65535)
		cyl = 65535;
	strbuf_printf(&b, "# Disk DescriptorFile\nversion=1\n");
	if (p->vmware_style)
		strbuf_printf(&b, "encoding=\"UTF-8\"\n");
	strbuf_printf(&b, "CID=%08" PRIx32 "\nparentCID=%08" PRIx32 "\ncreateType=\"%s\"\n",
		      p->cid, p->parent_cid, p->create_type);
	if (p->parent_hint)
		strbuf_printf(&b, "parentFileNameHint=\"%s\"\n", p->parent_hint);
	strbuf_printf(&b, "\n# Extent description\n");
	for (int i = 0; i < p->n_ext; i++) {
		const struct vmdk_desc_extent *x = &p->ext[i];

		strbuf_printf(&b, "%s %" PRIu64 " %s", vmdk_access_name(x->access), x->sectors,
			      vmdk_ext_type_name(x->type));
		if (x->filename)
			strbuf_printf(&b, " \"%s\"", x->filename);
		if (x->type == VMDK_EXT_FLAT)
			strbuf_printf(&b, " %" PRIu64, x->offset);
		strbuf_printf(&b, "\n");
	}
	strbuf_printf(&b, "\n# The Disk Data Base\n#DDB\n\n");
	strbuf_printf(&b, "ddb.virtualHWVersion = \"%s\"\n", p->hwversion);
	strbuf_printf(&b, "ddb.geometry.cylinders = \"%" PRIu64 "\"\n", cyl);
	strbuf_printf(&b, "ddb.geometry.heads = \"%" PRIu32 "\"\n", heads);
	strbuf_printf(&b, "ddb.geometry.sectors = \"63\"\n");
	strbuf_printf(&b, "ddb.adapterType = \"%s\"\n", p->adapter);
	strbuf_printf(&b, "ddb.toolsVersion = \"%s\"\n", p->toolsversion);
	return strbuf_take(&b);
}

int vmdk_read_desc_file(struct backend *be, const char *filename, struct vmdk_desc *d)
{
	uint8_t hdr[512];
	uint64_t size, off = 0, len;
	char *text;
	int ret;

	ret = backend_size(be, &size);
	if (ret < 0)
		return ret;
	if (size >= 512) {
		ret = backend_pread(be, hdr, sizeof(hdr), 0);
		if (ret < 0)
			return ret;
	}
	if (size >= 512 && !memcmp(hdr, "KDMV", 4)) {
		struct vmdk_header h;

		vmdk_header_decode(hdr, &h);
		if (!h.desc_offset || !h.desc_size)
			return err_set(-EINVAL, filename, "sparse file has no embedded descriptor");
		if (h.desc_size > VMDK_MAX_DESC_BYTES / VMDK_SECTOR)
			return err_set(-EFBIG, filename, "descriptor larger than %d bytes",
				       VMDK_MAX_DESC_BYTES);
		if (h.desc_offset > size / VMDK_SECTOR)
			return err_set(-EINVAL, filename, "descriptor offset past the end of the file");
		off = h.desc_offset * VMDK_SECTOR;
		len = h.desc_size * VMDK_SECTOR;
	} else {
		if (size > VMDK_MAX_DESC_BYTES)
			return err_set(-EFBIG, filename, "descriptor larger than %d bytes",
				       VMDK_MAX_DESC_BYTES);
		len = size;
	}
	text = calloc(1, (size_t)len + 1);
	if (!text)
		return err_set(-ENOMEM, filename, "out of memory");
	ret = backend_pread(be, text, (size_t)len, off);
	if (ret == 0)
		ret = vmdk_desc_parse(text, (size_t)len, filename, d);
	free(text);
	return ret;
}
