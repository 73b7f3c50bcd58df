/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * domain_xml.c - a clone's libvirt domain, made from the template's (a `virsh
 * dumpxml`, or what `imgtool v2v -o local` / `launch --xml` wrote): its own name,
 * a new UUID, a new MAC on every NIC, and the template's disk replaced by the
 * clone's (path and format).  Everything else (memory, CPUs, buses, consoles) is
 * the template's.  A domain with another writable disk is refused: the clones
 * would share it.  The XML is edited as a tree by libxml2 (dlopen()ed, see
 * v2v/input/ova_dl.h), never as text.
 */
#include "clone/clone_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/random.h"

#ifndef HAVE_OVA

int clone_domain_xml(const char *tpl_xml, const char *tpl_image, const char *name,
		     const char *image, const char *format, const char *out_path)
{
	return err_set(-ENOTSUP, tpl_xml, "--xml needs libxml2: imgtool was built without "
		       "it (apt-get install libxml2-dev, then rebuild)");
}

#else

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "v2v/input/ova_dl.h"

#define DOMAIN_XML_MAX (4u << 20)

static const xmlChar *X(const char *s) { return (const xmlChar *)s; }

static bool is_elem(xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

static xmlNode *child(xmlNode *parent, const char *name)
{
	for (xmlNode *c = parent->children; c; c = c->next)
		if (is_elem(c, name))
			return c;
	return NULL;
}

/* An attribute's value compared with s (absent: false). */
static bool prop_is(xmlNode *n, const char *attr, const char *s)
{
	xmlChar *v = xmlGetProp(n, X(attr));
	bool eq = v && !strcmp((const char *)v, s);

	xmlFree(v);
	return eq;
}

static int read_xml(const char *path, xmlDoc **doc)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (!f)
		return err_set(-errno, path, "%s", strerror(errno));
	buf = malloc(DOMAIN_XML_MAX + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, DOMAIN_XML_MAX + 1, f);
	fclose(f);
	if (n > DOMAIN_XML_MAX) {
		free(buf);
		return err_set(-EFBIG, path, "a domain XML larger than %u bytes", DOMAIN_XML_MAX);
	}
	xmlInitParser();
	xmlResetLastError();
	*doc = xmlReadMemory(buf, (int)n, path, NULL,
			     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	free(buf);
	if (!*doc) {
		const xmlError *e = xmlGetLastError();
		char msg[256];

		snprintf(msg, sizeof(msg), "%s", e && e->message ? e->message : "parse error");
		msg[strcspn(msg, "\n")] = 0;
		return err_set(-EINVAL, path, "not valid XML: line %d: %s", e ? e->line : 0, msg);
	}
	return 0;
}

/* <uuid> right after <name> (libvirt's schema wants that order). */
static int set_uuid(xmlDoc *doc, xmlNode *dom, xmlNode *name)
{
	char uuid[UUID_STR_LEN];
	xmlNode *u = child(dom, "uuid");
	int r = random_uuid_str(uuid);

	if (r)
		return r;
	if (u) {
		xmlNodeSetContent(u, X(uuid));
		return 0;
	}
	u = xmlNewDocNode(doc, NULL, X("uuid"), X(uuid));
	if (!u || !xmlAddNextSibling(name, u))
		return -ENOMEM;
	return 0;
}

static int set_mac(xmlNode *iface)
{
	char mac[MAC_STR_LEN];
	xmlNode *m = child(iface, "mac");
	int r = random_mac_str(mac);

	if (r)
		return r;
	if (!m && !(m = xmlNewChild(iface, NULL, X("mac"), NULL)))
		return -ENOMEM;
	return xmlSetProp(m, X("address"), X(mac)) ? 0 : -ENOMEM;
}

/* Does this <disk>'s source file name the template (whatever path spells it)? */
static bool is_template_disk(xmlNode *disk, const char *tpl_abs)
{
	xmlNode *src = child(disk, "source");
	xmlChar *file = src ? xmlGetProp(src, X("file")) : NULL;
	char abs[PATH_MAX];
	bool same = file && realpath((const char *)file, abs) && !strcmp(abs, tpl_abs);

	xmlFree(file);
	return same;
}

static bool writable_disk(xmlNode *disk)
{
	xmlChar *dev = xmlGetProp(disk, X("device"));
	bool w = (!dev || !strcmp((const char *)dev, "disk")) && !child(disk, "readonly") &&
		 !child(disk, "shareable");

	xmlFree(dev);
	return w;
}

static int set_disk(xmlNode *disk, const char *image, const char *format)
{
	xmlNode *src = child(disk, "source"), *drv = child(disk, "driver");

	if (!src || !prop_is(disk, "type", "file"))
		return -EINVAL;
	if (!xmlSetProp(src, X("file"), X(image)))
		return -ENOMEM;
	if (drv && !xmlSetProp(drv, X("type"), X(format)))
		return -ENOMEM;
	return 0;
}

static int edit_devices(xmlNode *devices, const char *where, const char *tpl_abs,
			const char *image, const char *format)
{
	xmlNode *mine = NULL;
	int r;

	for (xmlNode *c = devices->children; c; c = c->next) {
		if (is_elem(c, "interface") && (r = set_mac(c)))
			return r;
		if (!is_elem(c, "disk") || !writable_disk(c))
			continue;
		if (!mine && is_template_disk(c, tpl_abs)) {
			mine = c;
			continue;
		}
		return err_set(-EINVAL, where, "the domain has a writable disk other than the "
			       "template %s: the clones would share it", tpl_abs);
	}
	if (!mine)
		return err_set(-EINVAL, where, "no disk of the domain is the template %s", tpl_abs);
	if ((r = set_disk(mine, image, format)) == -EINVAL)
		return err_set(r, where, "the template's <disk> is not a file with a <source>");
	return r;
}

static int edit_domain(xmlDoc *doc, const char *where, const char *tpl_abs,
		       const char *name, const char *image, const char *format)
{
	xmlNode *dom = xmlDocGetRootElement(doc), *n, *devices;
	int r;

	if (doc->intSubset)
		return err_set(-EINVAL, where, "a domain XML with a DOCTYPE refused");
	if (!dom || !is_elem(dom, "domain") || !(n = child(dom, "name")) ||
	    !(devices = child(dom, "devices")))
		return err_set(-EINVAL, where, "not a libvirt domain (<domain> with <name> "
			       "and <devices>)");
	xmlNodeSetContent(n, X(name));
	if ((r = set_uuid(doc, dom, n)))
		return r;
	return edit_devices(devices, where, tpl_abs, image, format);
}

static int write_new(const char *path, const void *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644), e = 0;

	if (fd < 0)
		return err_set(-errno, path, "%s", strerror(errno));
	errno = 0;
	if (write(fd, data, n) != (ssize_t)n)
		e = errno ? errno : EIO;
	if (close(fd) && !e)
		e = errno;
	if (e) {
		unlink(path);
		return err_set(-e, path, "%s", strerror(e));
	}
	return 0;
}

int clone_domain_xml(const char *tpl_xml, const char *tpl_image, const char *name,
		     const char *image, const char *format, const char *out_path)
{
	char tpl_abs[PATH_MAX], img_abs[PATH_MAX];
	xmlDoc *doc = NULL;
	xmlChar *text = NULL;
	int r, n = 0;

	if (!realpath(tpl_image, tpl_abs))
		return err_set(-errno, tpl_image, "%s", strerror(errno));
	if (!realpath(image, img_abs))
		return err_set(-errno, image, "%s", strerror(errno));
	if ((r = ova_dl_load()) || (r = read_xml(tpl_xml, &doc)))
		return r;
	r = edit_domain(doc, tpl_xml, tpl_abs, name, img_abs, format);
	if (!r) {
		xmlDocDumpMemory(doc, &text, &n);
		r = text ? write_new(out_path, text, (size_t)n) : -ENOMEM;
	}
	xmlFree(text);
	xmlFreeDoc(doc);
	return r;
}

#endif
