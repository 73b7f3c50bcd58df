/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * yaml_doc.c - libyaml's document, copied into the positioned tree of
 * yaml_doc.h.  libyaml reports 0-based marks; the tree holds 1-based lines and
 * columns, as editors and compilers print them.
 */
#include "migrate/yaml_doc.h"
#include "common/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#define YAML_MAX_FILE   (64u << 20)
#define YAML_MAX_DEPTH  64
#define YAML_MAX_NODES  (4u << 20)

struct copier {
	yaml_document_t *doc;
	unsigned nodes;           /* nodes made so far (aliases count each time) */
};

static struct mig_pos pos_of(const yaml_node_t *yn)
{
	return (struct mig_pos){ (int)yn->start_mark.line + 1, (int)yn->start_mark.column + 1 };
}

static int copy_node(struct copier *c, yaml_node_t *yn, int depth, struct ynode **out);

static int copy_children(struct copier *c, yaml_node_t *yn, int depth, struct ynode *n)
{
	int count = yn->type == YAML_SEQUENCE_NODE
		? (int)(yn->data.sequence.items.top - yn->data.sequence.items.start)
		: (int)(yn->data.mapping.pairs.top - yn->data.mapping.pairs.start);
	int ret;

	n->items = calloc((size_t)count + 1, sizeof(*n->items));
	if (yn->type == YAML_MAPPING_NODE)
		n->keys = calloc((size_t)count + 1, sizeof(*n->keys));
	if (!n->items || (yn->type == YAML_MAPPING_NODE && !n->keys))
		return -ENOMEM;
	n->n = count;   /* the arrays start NULL: a partial tree frees cleanly */
	for (int i = 0; i < count; i++) {
		if (yn->type == YAML_SEQUENCE_NODE) {
			yaml_node_t *item = yaml_document_get_node(c->doc,
								   yn->data.sequence.items.start[i]);

			ret = copy_node(c, item, depth + 1, &n->items[i]);
		} else {
			yaml_node_pair_t *pair = &yn->data.mapping.pairs.start[i];

			ret = copy_node(c, yaml_document_get_node(c->doc, pair->key), depth + 1,
					&n->keys[i]);
			if (ret == 0)
				ret = copy_node(c, yaml_document_get_node(c->doc, pair->value),
						depth + 1, &n->items[i]);
		}
		if (ret)
			return ret;
	}
	return 0;
}

static int copy_node(struct copier *c, yaml_node_t *yn, int depth, struct ynode **out)
{
	struct ynode *n;

	if (!yn)
		return -EINVAL;
	if (depth > YAML_MAX_DEPTH || ++c->nodes > YAML_MAX_NODES)
		return -E2BIG;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	*out = n;
	n->pos = pos_of(yn);
	switch (yn->type) {
	case YAML_SCALAR_NODE:
		n->type = YNODE_SCALAR;
		n->quoted = yn->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
		n->value = strndup((const char *)yn->data.scalar.value, yn->data.scalar.length);
		return n->value ? 0 : -ENOMEM;
	case YAML_SEQUENCE_NODE:
		n->type = YNODE_SEQ;
		return copy_children(c, yn, depth, n);
	case YAML_MAPPING_NODE:
		n->type = YNODE_MAP;
		return copy_children(c, yn, depth, n);
	default:
		return -EINVAL;
	}
}

static int parse_error(const char *path, const yaml_parser_t *p, struct strbuf *errors)
{
	const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->context_mark;

	strbuf_printf(errors, "%s:%zu:%zu: %s%s%s\n", path, m->line + 1, m->column + 1,
		      p->problem ? p->problem : "not valid YAML or JSON",
		      p->context ? " " : "", p->context ? p->context : "");
	return -EINVAL;
}

static int check_file(const char *path, FILE *f)
{
	struct stat st;

	if (fstat(fileno(f), &st) < 0)
		return err_set(-errno, path, "cannot read the plan: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return err_set(-EINVAL, path, "the plan is not a regular file");
	if (st.st_size > YAML_MAX_FILE)
		return err_set(-EFBIG, path, "the plan is larger than %u MiB", YAML_MAX_FILE >> 20);
	return 0;
}

int yaml_doc_load(const char *path, struct ynode **root, struct strbuf *errors)
{
	struct copier c = { 0 };
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *top;
	FILE *f;
	int ret;

	*root = NULL;
	f = fopen(path, "rb");
	if (!f)
		return err_set(-errno, path, "cannot read the plan: %s", strerror(errno));
	ret = check_file(path, f);
	if (ret) {
		fclose(f);
		return ret;
	}
	if (!yaml_parser_initialize(&parser)) {
		fclose(f);
		return err_set(-ENOMEM, path, "out of memory for the YAML parser");
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		ret = parse_error(path, &parser, errors);
		yaml_parser_delete(&parser);
		fclose(f);
		return ret;
	}
	top = yaml_document_get_root_node(&doc);
	if (!top) {
		strbuf_printf(errors, "%s:1:1: the plan is empty\n", path);
		ret = -EINVAL;
	} else {
		c.doc = &doc;
		ret = copy_node(&c, top, 0, root);
		if (ret == -E2BIG) {
			strbuf_printf(errors, "%s:1:1: the plan nests deeper than %d levels or "
				      "expands to more than %u nodes\n", path, YAML_MAX_DEPTH,
				      YAML_MAX_NODES);
			ret = -EINVAL;
		} else if (ret == -ENOMEM) {
			ret = err_set(-ENOMEM, path, "out of memory reading the plan");
		}
		if (ret) {
			ynode_free(*root);
			*root = NULL;
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	return ret;
}

void ynode_free(struct ynode *n)
{
	if (!n)
		return;
	for (int i = 0; i < n->n; i++) {
		if (n->keys)
			ynode_free(n->keys[i]);
		ynode_free(n->items[i]);
	}
	free(n->keys);
	free(n->items);
	free(n->value);
	free(n);
}

struct ynode *ynode_get(const struct ynode *map, const char *key)
{
	if (!map || map->type != YNODE_MAP)
		return NULL;
	for (int i = 0; i < map->n; i++)
		if (map->keys[i] && map->keys[i]->type == YNODE_SCALAR &&
		    !strcmp(map->keys[i]->value, key))
			return map->items[i];
	return NULL;
}
