/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz_ovf.c - libFuzzer harness for the OVF descriptor parser (v2v -i ova): the
 * input is the XML text.  libxml2 itself is not instrumented (it is dlopen()ed);
 * what is fuzzed is imgtool's walk over the document it returns.
 */
#include "common/err.h"
#include "fuzz/fuzz_util.h"
#include "v2v/input/input.h"
#include "v2v/input/ovf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct v2v_source src;

	if (ovf_parse("fuzz.ovf", (const char *)data, size, &src) == 0)
		v2v_source_free(&src);
	err_clear();
	return 0;
}
