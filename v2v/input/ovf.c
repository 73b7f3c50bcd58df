/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovf.c - read an OVF descriptor into a v2v source (see ovf.h).
 *
 * The XML is parsed by libxml2 (no network, no DTD: a descriptor with a DOCTYPE
 * is refused, which rules out entity expansion bombs).  Elements and attributes
 * are matched by local name, so the ovf:, rasd:, vssd:, vmw: prefixes (and OVF
 * 2's StorageItem/EthernetPortItem) need no namespace bookkeeping.
 *
 * What is read: References/File (href, compression, chunkSize), DiskSection/Disk
 * (fileRef, capacity with capacityAllocationUnits, format), the first
 * VirtualSystem's Name, and its VirtualHardwareSection: Items by
 * rasd:ResourceType (3 CPU, 4 memory, 5 IDE, 6 SCSI, 20 SATA/NVMe, 17 disk,
 * 10 NIC) and vmw:Config firmware="efi".  Disks come out in controller/unit order.
 */
#include "v2v/input/ovf.h"
#include "common/err.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OVF_MAX_ITEMS   4096
#define OVF_MAX_DISKS   256
#define OVF_MAX_MEM_MIB (16ull << 20)
#define OVF_MAX_VCPUS   1024

static bool mul_ok(uint64_t a, uint64_t b, uint64_t *out)
{
	if (b && a > UINT64_MAX / b)
		return false;
	*out = a * b;
	return true;
}

static const char *skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

int ovf_parse_units(const char *s, uint64_t *mult)
{
	static const struct { const char *name; uint64_t mult; } named[] = {
		{ "byte", 1 }, { "bytes", 1 }, { "KiloBytes", 1ull << 10 },
		{ "MegaBytes", 1ull << 20 }, { "GigaBytes", 1ull << 30 },
		{ "TeraBytes", 1ull << 40 },
	};
	uint64_t m = 0;
	size_t n;

	if (!s || !*skip_ws(s)) {
		*mult = 1;
		return 0;
	}
	s = skip_ws(s);
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		n = strlen(named[i].name);
		if (!strncasecmp(s, named[i].name, n) && !isalpha((unsigned char)s[n])) {
			m = named[i].mult;
			s += n;
			break;
		}
	}
	if (!m)
		return -EINVAL;
	/* then any number of "* B^E" or "* N" factors */
	for (s = skip_ws(s); *s; s = skip_ws(s)) {
		uint64_t base, exp = 1, f = 1;
		char *end;

		if (*s != '*')
			return -EINVAL;
		s = skip_ws(s + 1);
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		errno = 0;
		base = strtoull(s, &end, 10);
		s = skip_ws(end);
		if (*s == '^') {
			s = skip_ws(s + 1);
			if (!isdigit((unsigned char)*s))
				return -EINVAL;
			exp = strtoull(s, &end, 10);
			s = end;
		}
		if (errno || exp > 64)
			return -EINVAL;
		for (uint64_t i = 0; i < exp; i++)
			if (!mul_ok(f, base, &f))
				return -EINVAL;
		if (!mul_ok(m, f, &m) || m == 0)
			return -EINVAL;
	}
	*mult = m;
	return 0;
}

#ifdef HAVE_OVA
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "v2v/input/ova_dl.h"

struct ovf_file {
	char *id, *href;
	bool compressed, chunked;
};

struct ovf_disk {
	char *id, *file_ref, *format;
	uint64_t capacity;
	bool used;
};

struct ovf_ctl {
	char *instance;
	int rank;        /* index in bus_names, -1 unknown */
	char *model;
	int order;       /* position in the hardware section */
};

struct ovf_item_disk {
	char *disk_id;   /* from HostResource */
	char *parent;
	long address;
	int order;
};

struct ovf {
	const char *where;
	xmlDocPtr doc;
	struct ovf_file *files;
	int nb_files;
	struct ovf_disk *disks;
	int nb_disks;
	struct ovf_ctl *ctls;
	int nb_ctls;
	struct ovf_item_disk *idisks;
	int nb_idisks;
};

static const char *const bus_names[] = { "scsi", "sata", "nvme", "ide" };

static bool is_elem(const xmlNode *n, const char *local)
{
	return n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, local);
}

static xmlNode *child(const xmlNode *n, const char *local)
{
	for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (is_elem(c, local))
			return c;
	return NULL;
}

/* An attribute by local name (ovf:href, vmw:value...), malloc'd; NULL if absent. */
static char *attr(const struct ovf *o, const xmlNode *n, const char *local)
{
	for (xmlAttr *a = n->properties; a; a = a->next) {
		if (strcmp((const char *)a->name, local))
			continue;
		xmlChar *v = xmlNodeListGetString(o->doc, a->children, 1);
		char *s = strdup(v ? (const char *)v : "");
		xmlFree(v);
		return s;
	}
	return NULL;
}

/* The trimmed text of a child element, malloc'd; NULL if absent. */
static char *child_text(const xmlNode *n, const char *local)
{
	xmlNode *c = child(n, local);
	xmlChar *v;
	char *s, *start, *end;

	if (!c)
		return NULL;
	v = xmlNodeGetContent(c);
	start = (char *)(v ? v : (xmlChar *)"");
	while (isspace((unsigned char)*start))
		start++;
	s = strdup(start);
	xmlFree(v);
	for (end = s ? s + strlen(s) : NULL; end && end > s && isspace((unsigned char)end[-1]);)
		*--end = '\0';
	return s;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return !errno && !*end;
}

static char *lower_dup(const char *s)
{
	char *d = s ? strdup(s) : NULL;

	for (char *p = d; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

static void ovf_free(struct ovf *o)
{
	for (int i = 0; i < o->nb_files; i++) {
		free(o->files[i].id);
		free(o->files[i].href);
	}
	for (int i = 0; i < o->nb_disks; i++) {
		free(o->disks[i].id);
		free(o->disks[i].file_ref);
		free(o->disks[i].format);
	}
	for (int i = 0; i < o->nb_ctls; i++) {
		free(o->ctls[i].instance);
		free(o->ctls[i].model);
	}
	for (int i = 0; i < o->nb_idisks; i++) {
		free(o->idisks[i].disk_id);
		free(o->idisks[i].parent);
	}
	free(o->files);
	free(o->disks);
	free(o->ctls);
	free(o->idisks);
	if (o->doc)
		xmlFreeDoc(o->doc);
}

static int count_elems(const xmlNode *n, const char *local)
{
	int c = 0;

	for (xmlNode *x = n ? n->children : NULL; x; x = x->next)
		c += is_elem(x, local);
	return c;
}

/* ---- References and DiskSection ------------------------------------------- */

static int read_files(struct ovf *o, const xmlNode *env)
{
	const xmlNode *refs = child(env, "References");
	int n = count_elems(refs, "File");

	if (n > OVF_MAX_ITEMS)
		return err_set(-EFBIG, o->where, "more than %d files in References", OVF_MAX_ITEMS);
	o->files = calloc((size_t)n + 1, sizeof(*o->files));
	if (!o->files)
		return err_set(-ENOMEM, o->where, "out of memory");
	for (xmlNode *f = refs ? refs->children : NULL; f; f = f->next) {
		if (!is_elem(f, "File"))
			continue;
		struct ovf_file *x = &o->files[o->nb_files++];
		char *comp = attr(o, f, "compression"), *chunk = attr(o, f, "chunkSize");
		x->id = attr(o, f, "id");
		x->href = attr(o, f, "href");
		x->compressed = comp && *comp && strcasecmp(comp, "identity");
		x->chunked = chunk && *chunk;
		free(comp);
		free(chunk);
		if (!x->id || !x->href)
			return err_set(-EINVAL, o->where, "a References/File lacks ovf:id or ovf:href");
	}
	return 0;
}

static int read_disk(struct ovf *o, const xmlNode *d, struct ovf_disk *x)
{
	char *cap = attr(o, d, "capacity"), *units = attr(o, d, "capacityAllocationUnits");
	uint64_t n, mult;
	int ret = 0;

	x->id = attr(o, d, "diskId");
	x->file_ref = attr(o, d, "fileRef");
	x->format = attr(o, d, "format");
	if (!x->id)
		ret = err_set(-EINVAL, o->where, "a DiskSection/Disk has no ovf:diskId");
	else if (ovf_parse_units(units, &mult) < 0)
		ret = err_set(-EINVAL, o->where, "disk '%s': capacityAllocationUnits \"%.60s\" not understood",
			      x->id, units);
	else if (parse_u64(cap, &n) && !mul_ok(n, mult, &x->capacity))
		ret = err_set(-EINVAL, o->where, "disk '%s': capacity %s x %llu bytes is absurd",
			      x->id, cap, (unsigned long long)mult);
	else if (x->capacity > (1ull << 62))
		ret = err_set(-EINVAL, o->where, "disk '%s': capacity of %llu bytes is absurd",
			      x->id, (unsigned long long)x->capacity);
	/* a capacity that is not a number (a ${property}) stays unknown (0) */
	free(cap);
	free(units);
	return ret;
}

static int read_disks(struct ovf *o, const xmlNode *env)
{
	const xmlNode *sec = child(env, "DiskSection");
	int n = count_elems(sec, "Disk");

	if (n > OVF_MAX_DISKS)
		return err_set(-EFBIG, o->where, "more than %d disks", OVF_MAX_DISKS);
	o->disks = calloc((size_t)n + 1, sizeof(*o->disks));
	if (!o->disks)
		return err_set(-ENOMEM, o->where, "out of memory");
	for (xmlNode *d = sec ? sec->children : NULL; d; d = d->next) {
		if (!is_elem(d, "Disk"))
			continue;
		int ret = read_disk(o, d, &o->disks[o->nb_disks++]);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* ---- the hardware section ------------------------------------------------- */

static const char *scsi_model(const char *sub)
{
	if (!sub)
		return NULL;
	if (!strcasecmp(sub, "VirtualSCSI"))
		return "pvscsi";
	if (!strcasecmp(sub, "lsilogicsas"))
		return "lsisas1068";
	return sub;
}

static int add_ctl(struct ovf *o, const xmlNode *it, int rt, int order)
{
	char *sub = child_text(it, "ResourceSubType");
	struct ovf_ctl *c = &o->ctls[o->nb_ctls];
	int rank = -1;

	if (rt == 6)
		rank = 0;
	else if (rt == 5)
		rank = 3;
	else if (sub && (strcasestr(sub, "sata") || strcasestr(sub, "ahci")))
		rank = 1;
	else if (sub && strcasestr(sub, "nvme"))
		rank = 2;
	c->instance = child_text(it, "InstanceID");
	c->rank = rank;
	c->order = order;
	c->model = rt == 6 && sub ? lower_dup(scsi_model(sub)) : NULL;
	free(sub);
	if (!c->instance)
		return 0;       /* nothing can name it as a parent */
	o->nb_ctls++;
	return 0;
}

static int add_item_disk(struct ovf *o, const xmlNode *it, int order)
{
	char *host = child_text(it, "HostResource"), *addr = child_text(it, "AddressOnParent");
	struct ovf_item_disk *d = &o->idisks[o->nb_idisks];
	const char *slash;
	uint64_t a = 0;

	if (!host || !(slash = strrchr(host, '/')) || slash - host < 5 || strncmp(slash - 5, "/disk", 5)) {
		free(host);
		free(addr);
		return 0;       /* not one of the DiskSection's disks (a file-backed CD...) */
	}
	d->disk_id = strdup(slash + 1);
	d->parent = child_text(it, "Parent");
	d->address = parse_u64(addr, &a) && a < 1000 ? (long)a : 999;
	d->order = order;
	free(host);
	free(addr);
	if (!d->disk_id)
		return err_set(-ENOMEM, o->where, "out of memory");
	o->nb_idisks++;
	return 0;
}

static int add_nic(struct ovf *o, const xmlNode *it, struct v2v_source *out)
{
	char *sub = child_text(it, "ResourceSubType"), *mac = child_text(it, "Address");
	struct v2v_nic *nic = &out->nics[out->nb_nics++];

	nic->model = lower_dup(sub);
	nic->network = child_text(it, "Connection");
	if (mac && strlen(mac) == 17)
		nic->mac = lower_dup(mac);
	free(sub);
	free(mac);
	return 0;
}

/* CPU count or memory size of an Item, with its AllocationUnits. */
static int read_quantity(struct ovf *o, const xmlNode *it, int rt, struct v2v_source *out)
{
	char *q = child_text(it, "VirtualQuantity"), *units = child_text(it, "AllocationUnits");
	uint64_t n = 0, mult = 1ull << 20, bytes;
	int ret = 0;

	if (!parse_u64(q, &n)) {
		ret = err_set(-EINVAL, o->where, "%s VirtualQuantity \"%.40s\" is not a number",
			      rt == 3 ? "CPU" : "memory", q ? q : "");
	} else if (rt == 3) {
		if (n < 1 || n > OVF_MAX_VCPUS)
			ret = err_set(-EINVAL, o->where, "%llu vCPUs is absurd", (unsigned long long)n);
		else
			out->vcpus = (int)n;
	} else {
		if (units && *units && ovf_parse_units(units, &mult) < 0)
			ret = err_set(-EINVAL, o->where, "memory AllocationUnits \"%.60s\" not understood",
				      units);
		else if (!mul_ok(n, mult, &bytes) || bytes / (1ull << 20) > OVF_MAX_MEM_MIB || n == 0)
			ret = err_set(-EINVAL, o->where, "memory of %s x %llu bytes is absurd", q,
				      (unsigned long long)mult);
		else
			out->memory_mib = bytes >> 20;
	}
	free(q);
	free(units);
	return ret;
}

static int read_item(struct ovf *o, const xmlNode *it, int order, struct v2v_source *out)
{
	char *rts = child_text(it, "ResourceType");
	uint64_t rt = 0;

	if (!parse_u64(rts, &rt)) {
		free(rts);
		return 0;
	}
	free(rts);
	switch (rt) {
	case 3: case 4:
		return read_quantity(o, it, (int)rt, out);
	case 5: case 6: case 20:
		return add_ctl(o, it, (int)rt, order);
	case 17:
		return add_item_disk(o, it, order);
	case 10:
		return add_nic(o, it, out);
	default:
		return 0;
	}
}

static void read_config(struct ovf *o, const xmlNode *c, struct v2v_source *out)
{
	char *key = attr(o, c, "key"), *value = attr(o, c, "value");

	if (key && value && !strcasecmp(key, "firmware"))
		out->firmware = !strcasecmp(value, "efi") ? V2V_FW_UEFI : V2V_FW_BIOS;
	free(key);
	free(value);
}

static int read_hardware(struct ovf *o, const xmlNode *vs, struct v2v_source *out)
{
	const xmlNode *hw = child(vs, "VirtualHardwareSection");
	int n = 0, order = 0, ret = 0;

	for (xmlNode *it = hw ? hw->children : NULL; it; it = it->next)
		n += it->type == XML_ELEMENT_NODE;
	if (n > OVF_MAX_ITEMS)
		return err_set(-EFBIG, o->where, "more than %d hardware items", OVF_MAX_ITEMS);
	o->ctls = calloc((size_t)n + 1, sizeof(*o->ctls));
	o->idisks = calloc((size_t)n + 1, sizeof(*o->idisks));
	out->nics = calloc((size_t)n + 1, sizeof(*out->nics));
	if (!o->ctls || !o->idisks || !out->nics)
		return err_set(-ENOMEM, o->where, "out of memory");
	for (xmlNode *it = hw ? hw->children : NULL; it && ret == 0; it = it->next) {
		if (is_elem(it, "Config"))
			read_config(o, it, out);
		else if (it->type == XML_ELEMENT_NODE && child(it, "ResourceType"))
			ret = read_item(o, it, order++, out);
	}
	return ret;
}

/* ---- assembling the disks ------------------------------------------------- */

static const struct ovf_ctl *find_ctl(const struct ovf *o, const char *instance)
{
	for (int i = 0; instance && i < o->nb_ctls; i++)
		if (!strcmp(o->ctls[i].instance, instance))
			return &o->ctls[i];
	return NULL;
}

static struct ovf_disk *find_disk(struct ovf *o, const char *id)
{
	for (int i = 0; i < o->nb_disks; i++)
		if (!strcmp(o->disks[i].id, id))
			return &o->disks[i];
	return NULL;
}

static const struct ovf *sort_ctx;

/* Sort key: the controller's bus (scsi, sata, nvme, ide, unknown), its place in
 * the hardware section, then the unit. */
static long long item_key(const struct ovf_item_disk *d)
{
	const struct ovf_ctl *c = find_ctl(sort_ctx, d->parent);
	long long rank = c && c->rank >= 0 ? c->rank : 9;
	long long corder = c ? c->order : d->order;

	return (rank * OVF_MAX_ITEMS + corder) * 1000 + d->address;
}

static int idisk_cmp(const void *a, const void *b)
{
	long long x = item_key(a), y = item_key(b);

	return x < y ? -1 : x > y;
}

static int add_disk(struct ovf *o, struct ovf_disk *d, const struct ovf_ctl *c,
		    struct v2v_source *out)
{
	struct v2v_disk *vd = &out->disks[out->nb_disks];
	struct ovf_file *f = NULL;

	if (d->used)
		return 0;
	d->used = true;
	for (int i = 0; d->file_ref && i < o->nb_files; i++)
		if (!strcmp(o->files[i].id, d->file_ref))
			f = &o->files[i];
	if (!f)
		return err_set(-EINVAL, o->where, "disk '%s' names no file in References (empty disks are not supported)",
			       d->id);
	if (f->compressed)
		return err_set(-ENOTSUP, o->where, "disk file '%s' is compressed (ovf:compression): decompress the package first (ovftool --compress=0)",
			       f->href);
	if (f->chunked)
		return err_set(-ENOTSUP, o->where, "disk file '%s' is split into chunks (ovf:chunkSize): not supported",
			       f->href);
	memset(vd, 0, sizeof(*vd));
	out->nb_disks++;
	vd->path = strdup(f->href);
	vd->capacity = d->capacity;
	if (d->format && strcasestr(d->format, "vmdk"))
		vd->format = strdup("vmdk");
	if (c && c->rank >= 0)
		vd->controller = strdup(bus_names[c->rank]);
	if (c && c->model)
		vd->controller_model = strdup(c->model);
	if (!vd->path)
		return err_set(-ENOMEM, o->where, "out of memory");
	return 0;
}

static int assemble_disks(struct ovf *o, struct v2v_source *out)
{
	int ret = 0;

	out->disks = calloc((size_t)o->nb_disks + 1, sizeof(*out->disks));
	if (!out->disks)
		return err_set(-ENOMEM, o->where, "out of memory");
	sort_ctx = o;
	qsort(o->idisks, (size_t)o->nb_idisks, sizeof(*o->idisks), idisk_cmp);
	for (int i = 0; i < o->nb_idisks && ret == 0; i++) {
		struct ovf_disk *d = find_disk(o, o->idisks[i].disk_id);
		if (!d)
			return err_set(-EINVAL, o->where, "a disk drive names disk '%s', which DiskSection lacks",
				       o->idisks[i].disk_id);
		ret = add_disk(o, d, find_ctl(o, o->idisks[i].parent), out);
	}
	/* disks no drive names still belong to the guest */
	for (int i = 0; i < o->nb_disks && ret == 0; i++)
		ret = add_disk(o, &o->disks[i], NULL, out);
	if (ret == 0 && out->nb_disks == 0)
		ret = err_set(-EINVAL, o->where, "the OVF names no disk");
	return ret;
}

/* ---- the envelope --------------------------------------------------------- */

static xmlNode *find_system(xmlNode *env)
{
	xmlNode *vs = child(env, "VirtualSystem");

	if (!vs)
		vs = child(child(env, "VirtualSystemCollection"), "VirtualSystem");
	return vs;
}

static char *safe_name(char *name)
{
	for (char *p = name; p && *p; p++)
		if (*p == '/' || (unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '_';
	if (name && (!*name || !strcmp(name, ".") || !strcmp(name, ".."))) {
		free(name);
		name = strdup("guest");
	}
	return name;
}

static int read_envelope(struct ovf *o, xmlNode *env, struct v2v_source *out)
{
	xmlNode *vs;
	int ret;

	if (!env || !is_elem(env, "Envelope"))
		return err_set(-EINVAL, o->where, "not an OVF descriptor (no Envelope element)");
	vs = find_system(env);
	if (!vs)
		return err_set(-EINVAL, o->where, "no VirtualSystem in the OVF");
	out->name = child_text(vs, "Name");
	if (!out->name || !*out->name) {
		free(out->name);
		out->name = attr(o, vs, "id");
	}
	if (!out->name)
		out->name = strdup("guest");
	out->name = safe_name(out->name);
	if (!out->name)
		return err_set(-ENOMEM, o->where, "out of memory");
	ret = read_files(o, env);
	if (ret == 0)
		ret = read_disks(o, env);
	if (ret == 0)
		ret = read_hardware(o, vs, out);
	if (ret == 0)
		ret = assemble_disks(o, out);
	return ret;
}

int ovf_parse(const char *where, const char *xml, size_t len, struct v2v_source *out)
{
	struct ovf o = { .where = where };
	int ret;

	memset(out, 0, sizeof(*out));
	if ((ret = ova_dl_load()) < 0)
		return ret;
	if (len > 64u << 20)
		return err_set(-EFBIG, where, "OVF descriptor larger than 64 MiB");
	xmlInitParser();
	xmlResetLastError();
	o.doc = xmlReadMemory(xml, (int)len, where, NULL,
			      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!o.doc) {
		const xmlError *e = xmlGetLastError();
		char msg[256];

		snprintf(msg, sizeof(msg), "%s", e && e->message ? e->message : "parse error");
		msg[strcspn(msg, "\n")] = '\0';
		return err_set(-EINVAL, where, "not a valid OVF descriptor: line %d: %s",
			       e ? e->line : 0, msg);
	}
	if (o.doc->intSubset) {
		ovf_free(&o);
		return err_set(-EINVAL, where, "OVF descriptor with a DOCTYPE refused");
	}
	ret = read_envelope(&o, xmlDocGetRootElement(o.doc), out);
	ovf_free(&o);
	if (ret < 0)
		v2v_source_free(out);
	return ret;
}
#endif /* HAVE_OVA */
