/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * plan.c - the plan's keys and types (see plan.h and docs/migrate-plan.md).
 *
 * Every VM key may also stand under `defaults:`; a VM's own value wins.  Each
 * problem is appended to the error list with its position and the walk goes on,
 * so that one run reports them all.  A quoted scalar is a string: `jobs: "4"` is
 * a type error, as it would be in JSON.
 */
#include "migrate/plan.h"
#include "migrate/yaml_doc.h"
#include "common/err.h"
#include "formats/format.h"
#include "guest/sysprep.h"
#include "clone/clone.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct loader {
	const char *path;
	struct strbuf *errors;
	int nb_errors;
};

static void bad(struct loader *l, const struct ynode *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void bad(struct loader *l, const struct ynode *at, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	strbuf_printf(l->errors, "%s:%d:%d: %s\n", l->path, at ? at->pos.line : 1,
		      at ? at->pos.column : 1, msg);
	l->nb_errors++;
}

static const char *type_name(const struct ynode *n)
{
	return n->type == YNODE_MAP ? "a mapping" : n->type == YNODE_SEQ ? "a list" : "a scalar";
}

/* A string value (any scalar, quoted or not); NULL after reporting. */
static const char *want_string(struct loader *l, const char *key, const struct ynode *n)
{
	if (n->type != YNODE_SCALAR) {
		bad(l, n, "'%s' must be a string, not %s", key, type_name(n));
		return NULL;
	}
	if (!*n->value) {
		bad(l, n, "'%s' must not be empty", key);
		return NULL;
	}
	return n->value;
}

/* A whole number in [min, max] written plainly (not quoted). */
static bool want_int(struct loader *l, const char *key, const struct ynode *n, long min, long max,
		     long *out)
{
	char *end;
	long v;

	if (n->type != YNODE_SCALAR || n->quoted) {
		bad(l, n, "'%s' must be a number", key);
		return false;
	}
	errno = 0;
	v = strtol(n->value, &end, 10);
	if (errno || end == n->value || *end || v < min || v > max) {
		bad(l, n, "'%s' must be a whole number from %ld to %ld, not '%s'", key, min, max,
		    n->value);
		return false;
	}
	*out = v;
	return true;
}

/* true or false, written plainly. */
static bool want_bool(struct loader *l, const char *key, const struct ynode *n, bool *out)
{
	if (n->type == YNODE_SCALAR && !n->quoted &&
	    (!strcmp(n->value, "true") || !strcmp(n->value, "false"))) {
		*out = !strcmp(n->value, "true");
		return true;
	}
	bad(l, n, "'%s' must be true or false", key);
	return false;
}

/* A time as YYYY-MM-DDTHH:MM[:SS] followed by Z, +HH:MM, -HH:MM or nothing (the
 * local time); seconds since the epoch into *out. */
static bool parse_time(const char *s, double *out)
{
	struct tm tm = { 0 };
	const char *p = strptime(s, "%Y-%m-%dT%H:%M", &tm);
	int sign, hh, mm, n = 0;
	time_t t;

	if (!p)
		p = strptime(s, "%Y-%m-%d %H:%M", &tm);
	if (!p)
		return false;
	if (*p == ':' && !(p = strptime(p, ":%S", &tm)))
		return false;
	if (!*p) {
		tm.tm_isdst = -1;
		t = mktime(&tm);
	} else if (!strcmp(p, "Z")) {
		t = timegm(&tm);
	} else if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &n) == 2 &&
		   !p[1 + n] && hh < 24 && mm < 60) {
		sign = *p == '+' ? 1 : -1;
		t = timegm(&tm) - sign * (hh * 3600 + mm * 60);
	} else {
		return false;
	}
	*out = (double)t;
	return t != (time_t)-1;
}

static void load_time(struct loader *l, const char *key, const struct ynode *n, struct mig_vm *vm)
{
	const char *v = want_string(l, key, n);

	if (!v)
		return;
	if (!parse_time(v, &vm->cutover_at)) {
		bad(l, n, "'%s' must be a time like 2026-12-07T22:00:00Z (or +01:00, or no zone "
		    "for local time), not '%s'", key, v);
		return;
	}
	free(vm->cutover_at_text);
	vm->cutover_at_text = strdup(v);
}

static bool want_choice(struct loader *l, const char *key, const struct ynode *n,
			const char *const *choices, const char **out)
{
	const char *v = want_string(l, key, n);
	char list[256] = "";

	if (!v)
		return false;
	for (int i = 0; choices[i]; i++) {
		if (!strcmp(v, choices[i])) {
			*out = choices[i];
			return true;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 choices[i]);
	}
	bad(l, n, "'%s' must be one of %s, not '%s'", key, list, v);
	return false;
}

static bool set_str(struct loader *l, const char *key, const struct ynode *n, char **field)
{
	const char *v = want_string(l, key, n);

	if (!v)
		return false;
	free(*field);
	*field = strdup(v);
	return *field != NULL;
}

/* ---- limits ---- */

static void load_limits(struct loader *l, const struct ynode *m, struct mig_limits *lim)
{
	long v;

	if (m->type != YNODE_MAP) {
		bad(l, m, "'limits' must be a mapping");
		return;
	}
	for (int i = 0; i < m->n; i++) {
		const char *k = m->keys[i]->value;
		const struct ynode *n = m->items[i];

		if (!strcmp(k, "jobs") && want_int(l, k, n, 1, 256, &v))
			lim->jobs = (int)v;
		else if (!strcmp(k, "per_source_host") && want_int(l, k, n, 0, 256, &v))
			lim->per_source_host = (int)v;
		else if (!strcmp(k, "per_target") && want_int(l, k, n, 0, 256, &v))
			lim->per_target = (int)v;
		else if (!strcmp(k, "bandwidth_mib") && want_int(l, k, n, 0, 1L << 30, &v))
			lim->bandwidth = (uint64_t)v << 20;
		else if (strcmp(k, "jobs") && strcmp(k, "per_source_host") &&
			 strcmp(k, "per_target") && strcmp(k, "bandwidth_mib"))
			bad(l, m->keys[i], "unknown key '%s' in limits (jobs, per_source_host, "
			    "per_target, bandwidth_mib)", k);
	}
}

/* ---- one VM (or the defaults) ---- */

static const char *const modes[] = { "copy", "v2v", "clone", NULL };
static const char *const clone_kinds[] = { "linked", "full", NULL };
static const char *const inputs[] = { "disk", "vmx", "ova", NULL };
static const char *const outputs[] = { "local", "libvirt", "qemu", NULL };

static void load_disks(struct loader *l, const struct ynode *n, struct mig_vm *vm)
{
	if (n->type != YNODE_SEQ) {
		bad(l, n, "'disks' must be a list of disk names or URLs");
		return;
	}
	if (n->n < 1 || n->n > MIG_MAX_DISKS) {
		bad(l, n, "'disks' must name 1 to %d disks", MIG_MAX_DISKS);
		return;
	}
	vm->disks = calloc((size_t)n->n, sizeof(*vm->disks));
	if (!vm->disks)
		return;
	for (int i = 0; i < n->n; i++) {
		const char *v = want_string(l, "disks", n->items[i]);

		if (!v)
			continue;
		vm->disks[vm->nb_disks].source = strdup(v);
		vm->disks[vm->nb_disks].pos = n->items[i]->pos;
		vm->nb_disks++;
	}
}

static int cust_kind_of(const char *name)
{
	for (int k = 0; k < CUST_N_KINDS; k++)
		if (!strcmp(customize_option_names[k], name))
			return k;
	return -1;
}

/* One customize entry: {hostname: web01} or a bare option name (update). */
static void load_customize_op(struct loader *l, const struct ynode *e, struct mig_vm *vm)
{
	const struct ynode *name = e, *value = NULL;
	struct cust_op *op = &vm->customize[vm->nb_customize];
	int kind;

	if (e->type == YNODE_MAP && e->n == 1) {
		name = e->keys[0];
		value = e->items[0];
	} else if (e->type != YNODE_SCALAR) {
		bad(l, e, "a customize entry is {option: value} or an option name");
		return;
	}
	kind = cust_kind_of(name->value);
	if (kind < 0) {
		bad(l, name, "unknown customize option '%s'", name->value);
		return;
	}
	if (customize_takes_value(kind) != (value != NULL)) {
		bad(l, name, value ? "customize option '%s' takes no value"
				   : "customize option '%s' needs a value", name->value);
		return;
	}
	if (value && value->type != YNODE_SCALAR) {
		bad(l, value, "the value of customize option '%s' must be a string", name->value);
		return;
	}
	if (customize_parse_op(kind, value ? value->value : NULL, op) < 0) {
		bad(l, value ? value : name, "%s", err_get());
		err_clear();
		return;
	}
	vm->nb_customize++;
}

static void load_customize(struct loader *l, const struct ynode *n, struct mig_vm *vm)
{
	if (n->type != YNODE_SEQ) {
		bad(l, n, "'customize' must be a list like [{hostname: web01}]");
		return;
	}
	for (int i = 0; i < vm->nb_customize; i++)
		customize_free_op(&vm->customize[i]);
	free(vm->customize);
	vm->nb_customize = 0;
	vm->customize = calloc((size_t)n->n + 1, sizeof(*vm->customize));
	for (int i = 0; vm->customize && i < n->n; i++)
		load_customize_op(l, n->items[i], vm);
}

static void load_sysprep(struct loader *l, const struct ynode *n, struct mig_vm *vm)
{
	struct strbuf list = { 0 };
	bool *enabled;

	if (n->type != YNODE_SEQ || n->n < 1) {
		bad(l, n, "'sysprep' must be a list of operations like [defaults, -ssh-hostkeys]");
		return;
	}
	for (int i = 0; i < n->n; i++) {
		const char *v = want_string(l, "sysprep", n->items[i]);

		if (v)
			strbuf_printf(&list, "%s%s", i ? "," : "", v);
	}
	enabled = calloc(sysprep_nops + 1, sizeof(bool));
	if (enabled && sysprep_parse_operations(strbuf_str(&list), enabled) < 0) {
		bad(l, n, "%s", err_get());
		err_clear();
	}
	free(enabled);
	free(vm->sysprep);
	vm->sysprep = strbuf_take(&list);
	strbuf_free(&list);
}

static void load_strings(struct loader *l, const char *key, const struct ynode *n, char ***out,
			 int *nb)
{
	if (n->type != YNODE_SEQ) {
		bad(l, n, "'%s' must be a list", key);
		return;
	}
	*out = calloc((size_t)n->n + 1, sizeof(char *));
	for (int i = 0; *out && i < n->n; i++) {
		const char *v = want_string(l, key, n->items[i]);

		if (v)
			(*out)[(*nb)++] = strdup(v);
	}
}

/* One key of a VM (in_defaults: under `defaults:`, where name and disks make no
 * sense). */
static void load_vm_key(struct loader *l, const struct ynode *key, const struct ynode *n,
			struct mig_vm *vm, bool in_defaults)
{
	const char *k = key->value, *choice;
	long v;

	if (!strcmp(k, "name") && !in_defaults)
		set_str(l, k, n, &vm->name);
	else if (!strcmp(k, "mode") && want_choice(l, k, n, modes, &choice))
		vm->mode = !strcmp(choice, "v2v") ? MIG_MODE_V2V
			 : !strcmp(choice, "clone") ? MIG_MODE_CLONE : MIG_MODE_COPY;
	else if (!strcmp(k, "template") && !in_defaults)
		set_str(l, k, n, &vm->template_image);
	else if (!strcmp(k, "clone") && want_choice(l, k, n, clone_kinds, &choice))
		set_str(l, k, n, &vm->clone_kind);
	else if (!strcmp(k, "count") && !in_defaults)
		vm->count = want_int(l, k, n, 1, 1000, &v) ? (int)v : 0;
	else if (!strcmp(k, "name_pattern") && !in_defaults)
		set_str(l, k, n, &vm->name_pattern);
	else if (!strcmp(k, "xml"))
		set_str(l, k, n, &vm->xml);
	else if (!strcmp(k, "force"))
		want_bool(l, k, n, &vm->force);
	else if (!strcmp(k, "input") && want_choice(l, k, n, inputs, &choice))
		set_str(l, k, n, &vm->input);
	else if (!strcmp(k, "source") && !in_defaults)
		set_str(l, k, n, &vm->source);
	else if (!strcmp(k, "disks") && !in_defaults)
		load_disks(l, n, vm);
	else if (!strcmp(k, "format"))
		set_str(l, k, n, &vm->source_format);
	else if (!strcmp(k, "output") && want_choice(l, k, n, outputs, &choice))
		set_str(l, k, n, &vm->output);
	else if (!strcmp(k, "output_dir"))
		set_str(l, k, n, &vm->output_dir);
	else if (!strcmp(k, "output_format"))
		set_str(l, k, n, &vm->output_format);
	else if (!strcmp(k, "libvirt_uri"))
		set_str(l, k, n, &vm->libvirt_uri);
	else if (!strcmp(k, "virtio_win"))
		set_str(l, k, n, &vm->virtio_win);
	else if (!strcmp(k, "customize"))
		load_customize(l, n, vm);
	else if (!strcmp(k, "sysprep"))
		load_sysprep(l, n, vm);
	else if (!strcmp(k, "tags"))
		load_strings(l, k, n, &vm->tags, &vm->nb_tags);
	else if (!strcmp(k, "warm")) {
		if (want_bool(l, k, n, &vm->warm))
			vm->warm_set = true;
	} else if (!strcmp(k, "stop_command"))
		set_str(l, k, n, &vm->stop_command);
	else if (!strcmp(k, "remote_imgtool"))
		set_str(l, k, n, &vm->remote_imgtool);
	else if (!strcmp(k, "sync_interval") && want_int(l, k, n, 1, 86400, &v))
		vm->sync_interval = v;
	else if (!strcmp(k, "cutover_at"))
		load_time(l, k, n, vm);
	else if (strcmp(k, "mode") && strcmp(k, "input") && strcmp(k, "output") &&
		 strcmp(k, "clone") && strcmp(k, "force") && strcmp(k, "sync_interval"))
		bad(l, key, "unknown key '%s'%s", k, in_defaults ? " in defaults" : "");
}

static void load_vm_map(struct loader *l, const struct ynode *m, struct mig_vm *vm,
			bool in_defaults)
{
	if (m->type != YNODE_MAP) {
		bad(l, m, in_defaults ? "'defaults' must be a mapping"
				      : "each VM must be a mapping with at least a name");
		return;
	}
	for (int i = 0; i < m->n; i++) {
		if (m->keys[i]->type != YNODE_SCALAR) {
			bad(l, m->keys[i], "keys must be plain names");
			continue;
		}
		for (int j = 0; j < i; j++)
			if (m->keys[j]->type == YNODE_SCALAR &&
			    !strcmp(m->keys[j]->value, m->keys[i]->value))
				bad(l, m->keys[i], "duplicate key '%s'", m->keys[i]->value);
		load_vm_key(l, m->keys[i], m->items[i], vm, in_defaults);
	}
}

/* ---- defaults applied, then each VM completed and checked ---- */

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void apply_defaults(struct mig_vm *vm, const struct mig_vm *d, const struct ynode *m)
{
	if (!ynode_get(m, "mode"))
		vm->mode = d->mode;
#define DEF(f) if (!vm->f) vm->f = dup_or_null(d->f)
	DEF(input);
	DEF(source_format);
	DEF(output);
	DEF(output_dir);
	DEF(output_format);
	DEF(libvirt_uri);
	DEF(virtio_win);
	DEF(sysprep);
	DEF(clone_kind);
	DEF(xml);
	DEF(stop_command);
	DEF(remote_imgtool);
	DEF(cutover_at_text);
#undef DEF
	if (!ynode_get(m, "force"))
		vm->force = d->force;
	if (!vm->warm_set)
		vm->warm = d->warm;
	if (!vm->sync_interval)
		vm->sync_interval = d->sync_interval;
	if (!vm->cutover_at)
		vm->cutover_at = d->cutover_at;
	if (!ynode_get(m, "customize") && d->nb_customize) {
		/* each VM owns its operations (they are freed with it) */
		vm->customize = calloc((size_t)d->nb_customize, sizeof(*vm->customize));
		for (int i = 0; vm->customize && i < d->nb_customize; i++) {
			vm->customize[i] = d->customize[i];
			vm->customize[i].a = dup_or_null(d->customize[i].a);
			vm->customize[i].b = dup_or_null(d->customize[i].b);
			vm->nb_customize++;
		}
	}
}

static bool valid_name(const char *s)
{
	if (!*s || *s == '.' || *s == '-' || strlen(s) > 200)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' || *s == '_'))
			return false;
	return true;
}

static const char *input_from_source(const char *source)
{
	size_t n = strlen(source);

	if (n > 4 && !strcasecmp(source + n - 4, ".vmx"))
		return "vmx";
	if (n > 4 && (!strcasecmp(source + n - 4, ".ova") || !strcasecmp(source + n - 4, ".ovf")))
		return "ova";
	return NULL;
}

/* mode clone: a template and where the clones go; no disks, no conversion. */
static void complete_clone(struct loader *l, const struct ynode *m, struct mig_vm *vm)
{
	if (!vm->template_image)
		bad(l, m, "VM '%s': mode clone needs a 'template' (the image the clones are "
		    "made from)", vm->name);
	if (vm->nb_disks || vm->source || vm->input)
		bad(l, m, "VM '%s': mode clone takes 'template', not disks, source or input",
		    vm->name);
	if (vm->count && !vm->name_pattern)
		bad(l, ynode_get(m, "count"), "VM '%s': count needs a name_pattern like "
		    "'web%%02d'", vm->name);
	if (!vm->count && vm->name_pattern)
		bad(l, ynode_get(m, "name_pattern"), "VM '%s': name_pattern needs a count",
		    vm->name);
	if (!vm->count && !clone_name_valid(vm->name))
		bad(l, ynode_get(m, "name"), "VM '%s': a clone's name is a host name (1-63 "
		    "letters, digits and '-')", vm->name);
	if (vm->sysprep)
		bad(l, ynode_get(m, "sysprep"), "VM '%s': mode clone gives each clone its own "
		    "identity itself; sysprep the template instead", vm->name);
	if (!vm->output)
		vm->output = strdup("local");
	if (strcmp(vm->output, "local"))
		bad(l, ynode_get(m, "output"), "VM '%s': mode clone writes local files only",
		    vm->name);
	if (!vm->output_dir)
		bad(l, m, "VM '%s' needs an 'output_dir' (here or in defaults)", vm->name);
	else if (strchr(vm->output_dir, ':'))
		bad(l, ynode_get(m, "output_dir") ? ynode_get(m, "output_dir") : m,
		    "VM '%s': mode clone writes to a local output_dir, not '%s'", vm->name,
		    vm->output_dir);
	if (vm->output_format && !format_find(vm->output_format))
		bad(l, ynode_get(m, "output_format"), "unknown output_format '%s'",
		    vm->output_format);
}

/* The warm keys: stop_command needed by a warm VM, the others only for one. */
static void check_warm(struct loader *l, const struct ynode *m, struct mig_vm *vm)
{
	static const char *const only_warm[] = { "stop_command", "sync_interval", "cutover_at",
						 "remote_imgtool" };

	if (!vm->sync_interval)
		vm->sync_interval = MIG_SYNC_INTERVAL;
	if (vm->warm && !vm->stop_command)
		bad(l, ynode_get(m, "warm") ? ynode_get(m, "warm") : m,
		    "VM '%s': warm: true needs a 'stop_command' (what stops the source at the "
		    "cutover)", vm->name);
	for (int i = 0; !vm->warm && i < 4; i++)
		if (ynode_get(m, only_warm[i]))
			bad(l, ynode_get(m, only_warm[i]), "VM '%s': '%s' needs warm: true",
			    vm->name, only_warm[i]);
}

static void complete_vm(struct loader *l, const struct ynode *m, struct mig_vm *vm)
{
	if (!vm->name) {
		bad(l, m, "a VM needs a 'name'");
		return;
	}
	check_warm(l, m, vm);
	if (!valid_name(vm->name))
		bad(l, ynode_get(m, "name"), "VM name '%s' may hold only letters, digits, '.', "
		    "'-' and '_' (it names the output files)", vm->name);
	if (vm->mode == MIG_MODE_CLONE) {
		if (vm->warm)
			bad(l, ynode_get(m, "warm") ? ynode_get(m, "warm") : m,
			    "VM '%s': mode clone copies a template, which has no source to keep "
			    "in sync: warm needs mode copy or v2v", vm->name);
		complete_clone(l, m, vm);
		return;
	}
	if (vm->template_image || vm->count || vm->name_pattern)
		bad(l, ynode_get(m, "template") ? ynode_get(m, "template") : m,
		    "VM '%s': template, count and name_pattern need mode: clone", vm->name);
	if (!vm->input && vm->nb_disks)
		vm->input = strdup("disk");
	if (!vm->input && vm->source && input_from_source(vm->source))
		vm->input = strdup(input_from_source(vm->source));
	if (!vm->input)
		bad(l, m, "VM '%s' needs 'disks' (input: disk) or a .vmx/.ova 'source'", vm->name);
	else if (!strcmp(vm->input, "disk") && (!vm->nb_disks || vm->source))
		bad(l, m, "VM '%s': input disk takes 'disks', not 'source'", vm->name);
	else if (strcmp(vm->input, "disk") && (!vm->source || vm->nb_disks))
		bad(l, m, "VM '%s': input %s takes 'source', not 'disks'", vm->name, vm->input);
	if (!vm->output)
		vm->output = strdup("local");
	if (!vm->output_format)
		vm->output_format = strdup("qcow2");
	if (!format_find(vm->output_format))
		bad(l, ynode_get(m, "output_format"), "unknown output_format '%s'", vm->output_format);
	if (!vm->output_dir)
		bad(l, m, "VM '%s' needs an 'output_dir' (here or in defaults)", vm->name);
	if (vm->mode == MIG_MODE_COPY && (vm->nb_customize || vm->sysprep))
		bad(l, ynode_get(m, "customize") ? ynode_get(m, "customize") : m,
		    "VM '%s': customize and sysprep need mode: v2v", vm->name);
	if (vm->mode == MIG_MODE_COPY && vm->input && strcmp(vm->input, "disk"))
		bad(l, ynode_get(m, "input") ? ynode_get(m, "input") : m,
		    "VM '%s': input %s needs mode: v2v", vm->name, vm->input);
	if (vm->mode == MIG_MODE_V2V && vm->output_dir && strchr(vm->output_dir, ':'))
		bad(l, ynode_get(m, "output_dir") ? ynode_get(m, "output_dir") : m,
		    "VM '%s': mode v2v converts the guest in a local output_dir, not '%s'",
		    vm->name, vm->output_dir);
	if (vm->mode == MIG_MODE_COPY && strcmp(vm->output, "local"))
		bad(l, ynode_get(m, "output") ? ynode_get(m, "output") : m,
		    "VM '%s': output %s needs mode: v2v (mode copy writes disks only)",
		    vm->name, vm->output);
}

static void free_vm(struct mig_vm *vm)
{
	free(vm->name);
	free(vm->input);
	free(vm->source);
	free(vm->source_format);
	for (int i = 0; i < vm->nb_disks; i++) {
		free(vm->disks[i].source);
		free(vm->disks[i].format);
		free(vm->disks[i].output);
		free(vm->disks[i].source_host);
		free(vm->disks[i].target);
	}
	free(vm->disks);
	free(vm->output);
	free(vm->output_dir);
	free(vm->output_format);
	free(vm->libvirt_uri);
	free(vm->virtio_win);
	for (int i = 0; i < vm->nb_customize; i++)
		customize_free_op(&vm->customize[i]);
	free(vm->customize);
	free(vm->sysprep);
	for (int i = 0; i < vm->nb_tags; i++)
		free(vm->tags[i]);
	free(vm->tags);
	free(vm->template_image);
	free(vm->clone_kind);
	free(vm->name_pattern);
	free(vm->xml);
	free(vm->stop_command);
	free(vm->remote_imgtool);
	free(vm->cutover_at_text);
	memset(vm, 0, sizeof(*vm));
}

static void load_vms(struct loader *l, const struct ynode *seq, const struct ynode *defaults,
		     struct mig_plan *plan)
{
	struct mig_vm d = { 0 };

	if (defaults)
		load_vm_map(l, defaults, &d, true);
	if (!seq || seq->type != YNODE_SEQ || seq->n < 1) {
		bad(l, seq, "the plan needs 'vms': a list of at least one VM");
		free_vm(&d);
		return;
	}
	if (seq->n > MIG_MAX_VMS) {
		bad(l, seq, "the plan lists %d VMs; at most %d", seq->n, MIG_MAX_VMS);
		free_vm(&d);
		return;
	}
	plan->vms = calloc((size_t)seq->n, sizeof(*plan->vms));
	if (!plan->vms) {
		free_vm(&d);
		return;
	}
	for (int i = 0; i < seq->n; i++) {
		struct mig_vm *vm = &plan->vms[plan->nb_vms++];

		vm->pos = seq->items[i]->pos;
		load_vm_map(l, seq->items[i], vm, false);
		if (seq->items[i]->type != YNODE_MAP)
			continue;
		apply_defaults(vm, &d, seq->items[i]);
		complete_vm(l, seq->items[i], vm);
		for (int j = 0; vm->name && j < i; j++)
			if (plan->vms[j].name && !strcmp(plan->vms[j].name, vm->name))
				bad(l, ynode_get(seq->items[i], "name"),
				    "duplicate VM name '%s' (first at line %d)", vm->name,
				    ynode_get(seq->items[j], "name")->pos.line);
	}
	free_vm(&d);
}

static void load_top(struct loader *l, const struct ynode *root, struct mig_plan *plan)
{
	if (root->type != YNODE_MAP) {
		bad(l, root, "the plan must be a mapping with 'vms' (and 'defaults', 'limits')");
		return;
	}
	for (int i = 0; i < root->n; i++) {
		const char *k = root->keys[i]->type == YNODE_SCALAR ? root->keys[i]->value : "";

		if (strcmp(k, "vms") && strcmp(k, "defaults") && strcmp(k, "limits"))
			bad(l, root->keys[i], "unknown key '%s' (vms, defaults, limits)", k);
	}
	if (ynode_get(root, "limits"))
		load_limits(l, ynode_get(root, "limits"), &plan->limits);
	load_vms(l, ynode_get(root, "vms"), ynode_get(root, "defaults"), plan);
}

int mig_plan_load(const char *path, bool check_sources, struct mig_plan *plan,
		  struct strbuf *errors)
{
	struct loader l = { .path = path, .errors = errors };
	struct ynode *root;
	int ret;

	memset(plan, 0, sizeof(*plan));
	plan->limits.jobs = 4;
	plan->path = strdup(path);
	ret = yaml_doc_load(path, &root, errors);
	if (ret)
		return ret;
	load_top(&l, root, plan);
	ynode_free(root);
	if (!l.nb_errors)
		mig_plan_sources(plan, check_sources, errors);
	mig_plan_check(plan, check_sources, errors);
	return l.nb_errors || strbuf_str(errors)[0] ? -EINVAL : 0;
}

void mig_plan_free(struct mig_plan *plan)
{
	for (int i = 0; i < plan->nb_vms; i++)
		free_vm(&plan->vms[i]);
	free(plan->vms);
	free(plan->path);
	memset(plan, 0, sizeof(*plan));
}

int mig_plan_find(const struct mig_plan *plan, const char *name)
{
	for (int i = 0; i < plan->nb_vms; i++)
		if (!strcmp(plan->vms[i].name, name))
			return i;
	return -1;
}
