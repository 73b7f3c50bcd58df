/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * input.c - the one place that maps `-i NAME` to an input.  A new input (ssh, a
 * batch list...) is its own file defining a struct v2v_input_ops, plus one line in
 * the table below; nothing else chooses between inputs.
 */
#include <string.h>

#include "common/util.h"
#include "v2v/v2v.h"

static const struct v2v_input_ops *const inputs[] = {
	&v2v_input_disk,
	&v2v_input_vmx,
	&v2v_input_ova,
};

static const char *input_name(size_t i)
{
	return inputs[i]->name;
}

const struct v2v_input_ops *v2v_input_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(inputs); i++)
		if (!strcmp(inputs[i]->name, name))
			return inputs[i];
	v2v_unknown_choice("-i", name, input_name, ARRAY_SIZE(inputs));
	return NULL;
}
