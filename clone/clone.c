/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * clone.c - clone_run (see clone.h): plan the clones' names and files and refuse
 * any that exist, make the disks, give each clone its identity (as many clones
 * per appliance as appliance.c allows, the template's identity checked on the
 * first one, whose content is still the template's), then write the domain XMLs.
 * A failure removes what this run made.
 */
#include "clone/clone_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"

struct clone_item {
	char name[64];
	char *image;
	char *xml;           /* NULL without --xml */
	bool made_image, made_xml;
};

struct clone_job {
	const struct clone_params *p;
	struct image *tpl;
	bool linked;
	const char *format;
	struct clone_item *items;
	int n;
	bool made_dir;
};

static const char *image_ext(const char *format)
{
	return !strcmp(format, "raw") ? "img" : format;
}

/* "dir/web01.qcow2" -> "web01" */
static void name_from_path(const char *path, char *out, size_t len)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	const char *dot = strrchr(base, '.');

	snprintf(out, len, "%.*s", (int)(dot && dot != base ? (size_t)(dot - base)
						       : strlen(base)), base);
}

/* "dir/web01.qcow2" -> "dir/web01.xml" */
static char *xml_path_for(const char *image)
{
	const char *base = strrchr(image, '/') ? strrchr(image, '/') + 1 : image;
	const char *dot = strrchr(base, '.');
	size_t keep = dot && dot != base ? (size_t)(dot - image) : strlen(image);
	char *x = NULL;

	return asprintf(&x, "%.*s.xml", (int)keep, image) < 0 ? NULL : x;
}

static int plan_one(struct clone_job *j, struct clone_item *it, const char *name,
		    const char *image)
{
	const struct clone_params *p = j->p;

	if (!clone_name_valid(name))
		return err_set(-EINVAL, p->target, "'%s' cannot name a clone (host and domain "
			       "name): 1-63 letters, digits and '-'%s", name,
			       p->count ? "" : "; give --name");
	snprintf(it->name, sizeof(it->name), "%s", name);
	if (!(it->image = strdup(image)))
		return -ENOMEM;
	if (p->xml && !(it->xml = xml_path_for(image)))
		return -ENOMEM;
	/* never overwrite: a VM's disk or definition may be in use */
	if (!access(it->image, F_OK))
		return err_set(-EEXIST, it->image, "exists: a clone is never written over an "
			       "existing file");
	if (it->xml && !access(it->xml, F_OK))
		return err_set(-EEXIST, it->xml, "exists: a clone's domain XML is never written "
			       "over an existing file");
	return 0;
}

static int plan(struct clone_job *j)
{
	const struct clone_params *p = j->p;
	int n = p->count > 0 ? p->count : 1, r = 0;

	j->items = calloc((size_t)n, sizeof(*j->items));
	if (!j->items)
		return -ENOMEM;
	j->n = n;
	if (!p->count) {
		char name[256];

		name_from_path(p->target, name, sizeof(name));
		return plan_one(j, &j->items[0], p->name ? p->name : name, p->target);
	}
	for (int i = 0; i < n && !r; i++) {
		char name[64], *image = NULL;

		if ((r = clone_name_format(p->name_pattern, i + 1, name, sizeof(name))))
			break;
		for (int k = 0; k < i; k++)
			if (!strcmp(j->items[k].name, name))
				return err_set(-EINVAL, NULL, "--name-pattern '%s' gives two clones "
					       "the name %s", p->name_pattern, name);
		if (asprintf(&image, "%s/%s.%s", p->target, name, image_ext(j->format)) < 0)
			return -ENOMEM;
		r = plan_one(j, &j->items[i], name, image);
		free(image);
	}
	return r;
}

static int make_dir(struct clone_job *j)
{
	struct stat st;

	if (!j->p->count)
		return 0;
	if (!stat(j->p->target, &st))
		return S_ISDIR(st.st_mode) ? 0 : err_set(-ENOTDIR, j->p->target, "with --count "
				"the target is a folder for the clones");
	if (mkdir(j->p->target, 0755))
		return err_set(-errno, j->p->target, "%s", strerror(errno));
	j->made_dir = true;
	return 0;
}

static int make_disks(struct clone_job *j)
{
	for (int i = 0; i < j->n; i++) {
		struct clone_item *it = &j->items[i];
		int r = j->linked ? clone_disk_linked(j->tpl, it->image)
				  : clone_disk_full(j->tpl, j->format, it->image);

		/* a create that failed half-way may have left the file */
		it->made_image = true;
		if (r)
			return r;
		printf("%s: disk %s (%s %s)\n", it->name, it->image,
		       j->linked ? "linked to" : "full copy of", j->tpl->filename);
		fflush(stdout);
	}
	return 0;
}

static int check_template(struct clone_job *j, struct guest *gu)
{
	char list[1024];

	if (j->p->force || !clone_identity_left(gu, list, sizeof(list)))
		return 0;
	return err_set(-EPERM, j->p->template_image, "the template still holds a machine's "
		       "identity (%s) that every clone would share: run imgtool sysprep on it "
		       "first, or give --force", list);
}

/* Clones first..first+n-1 on one appliance, else (-EAGAIN) one appliance each. */
static int customize_batch(struct clone_job *j, int first, int n)
{
	const struct clone_params *p = j->p;
	struct clone_appliance ca;
	char *images[CLONE_BATCH_MAX];
	int r, c;

	for (int i = 0; i < n; i++)
		images[i] = j->items[first + i].image;
	r = clone_appliance_open(images, j->format, n, p->network, &ca);
	if (r == -EAGAIN) {
		for (int i = 0; i < n && !r; i++)
			r = customize_batch(j, first + i, 1);
		return r;
	}
	if (r)
		return r;
	for (int i = 0; i < n && !r; i++) {
		char prefix[80];

		snprintf(prefix, sizeof(prefix), "%s: ", j->items[first + i].name);
		if (!(r = clone_appliance_select(&ca, i)) && first + i == 0)
			r = check_template(j, ca.gu);
		if (!r)
			r = clone_identity_apply(ca.gu, j->items[first + i].name, p->ops, p->nops,
						 p->network, p->force, prefix);
	}
	c = clone_appliance_close(&ca);
	return r ? r : c;
}

static int customize_all(struct clone_job *j)
{
	int r = 0;

	for (int first = 0; first < j->n && !r; first += CLONE_BATCH_MAX)
		r = customize_batch(j, first, j->n - first < CLONE_BATCH_MAX ? j->n - first
									  : CLONE_BATCH_MAX);
	return r;
}

static int write_xmls(struct clone_job *j)
{
	for (int i = 0; i < j->n && j->p->xml; i++) {
		struct clone_item *it = &j->items[i];
		int r = clone_domain_xml(j->p->xml, j->p->template_image, it->name, it->image,
					 j->format, it->xml);

		if (r)
			return r;
		it->made_xml = true;
		printf("%s: domain XML %s\n", it->name, it->xml);
	}
	return 0;
}

static void remove_made(struct clone_job *j)
{
	for (int i = 0; i < j->n; i++) {
		if (j->items[i].made_image)
			unlink(j->items[i].image);
		if (j->items[i].made_xml)
			unlink(j->items[i].xml);
	}
	if (j->made_dir)
		rmdir(j->p->target);
}

/* --linked/--full and -O against the template's format. */
static int choose_kind(struct clone_job *j)
{
	const struct clone_params *p = j->p;
	const char *tfmt = j->tpl->ops->name;

	j->linked = p->kind == CLONE_LINKED || (p->kind == CLONE_AUTO && !strcmp(tfmt, "qcow2"));
	if (j->linked) {
		if (p->format && strcmp(p->format, "qcow2"))
			return err_set(-EINVAL, NULL, "a linked clone is a qcow2 overlay: -O %s "
				       "needs --full", p->format);
		j->format = "qcow2";
	} else {
		j->format = p->format ? p->format
			  : !strcmp(tfmt, "raw") || !strcmp(tfmt, "qcow2") ? tfmt : "qcow2";
		if (!format_find(j->format))
			return err_set(-EINVAL, NULL, "unknown format '%s'", j->format);
	}
	return 0;
}

static int check_params(const struct clone_params *p)
{
	if (p->count < 0 || p->count > 1000)
		return err_set(-EINVAL, NULL, "--count %d: from 1 to 1000", p->count);
	if (p->count && !p->name_pattern)
		return err_set(-EINVAL, NULL, "--count needs --name-pattern (e.g. 'web%%02d')");
	if (!p->count && p->name_pattern)
		return err_set(-EINVAL, NULL, "--name-pattern needs --count");
	if (p->count && p->name)
		return err_set(-EINVAL, NULL, "--name names one clone: with --count use "
			       "--name-pattern");
	return 0;
}

int clone_run(const struct clone_params *p)
{
	struct clone_job j = { .p = p };
	int r;

	if ((r = check_params(p)))
		return r;
	r = image_open(p->template_image, p->template_format, 0, &j.tpl);
	if (r)
		return r;
	if (!(r = choose_kind(&j)) && !(r = plan(&j)) && !(r = make_dir(&j)) &&
	    !(r = make_disks(&j)) && !(r = customize_all(&j)))
		r = write_xmls(&j);
	if (r)
		remove_made(&j);
	image_close(j.tpl);
	for (int i = 0; j.items && i < j.n; i++) {
		free(j.items[i].image);
		free(j.items[i].xml);
	}
	free(j.items);
	return r;
}
