/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * choice.c - the one message for an -i/-o NAME that no table knows: it lists the
 * names the table does know, so that a new input or output is offered as soon as
 * its table line exists.
 */
#include <errno.h>

#include "common/err.h"
#include "common/strbuf.h"
#include "v2v/v2v.h"

int v2v_unknown_choice(const char *option, const char *given,
		       const char *(*name_at)(size_t i), size_t n)
{
	struct strbuf known = { 0 };
	int r;

	for (size_t i = 0; i < n; i++)
		strbuf_printf(&known, "%s%s", i == 0 ? "" : i + 1 < n ? ", " : " or ", name_at(i));
	r = err_set(-EINVAL, NULL, "%s must be %s, not '%s'", option, strbuf_str(&known), given);
	strbuf_free(&known);
	return r;
}
