/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz_vmx.c - libFuzzer harness for the .vmx reader (v2v -i vmx): the input is a
 * .vmx file; its disk names resolve against the scratch folder.
 */
#include "common/err.h"
#include "fuzz/fuzz_util.h"
#include "v2v/input/input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct v2v_source src;

	if (v2v_source_from_vmx(fuzz_write_file("guest.vmx", data, size), &src) == 0)
		v2v_source_free(&src);
	err_clear();
	return 0;
}
