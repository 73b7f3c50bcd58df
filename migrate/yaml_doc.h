/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * yaml_doc.h - a YAML or JSON file as a small tree whose every node knows its
 * line and column, so that the plan checker can point at the exact place of a
 * problem.  libyaml parses; this only copies its document into the tree, with
 * bounds (depth, node count, file size) against hostile input: aliases that
 * multiply a document ("billion laughs") stop at the node limit.
 */
#ifndef IMGTOOL_MIGRATE_YAML_DOC_H
#define IMGTOOL_MIGRATE_YAML_DOC_H

#include <stdbool.h>

#include "migrate/plan.h"

enum ynode_type { YNODE_SCALAR, YNODE_SEQ, YNODE_MAP };

struct ynode {
	enum ynode_type type;
	struct mig_pos pos;
	char *value;              /* scalar */
	bool quoted;              /* a quoted scalar is always a string */
	struct ynode **keys;      /* map: keys[i] -> items[i] */
	struct ynode **items;     /* seq, map */
	int n;
};

/* Parse path.  0 and *root, or -EINVAL with the parser's message appended to
 * errors as "path:line:col: message"; other errors have err_set's message. */
int yaml_doc_load(const char *path, struct ynode **root, struct strbuf *errors);
void ynode_free(struct ynode *n);
/* The value of key in map, or NULL. */
struct ynode *ynode_get(const struct ynode *map, const char *key);

#endif
