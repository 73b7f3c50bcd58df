/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz_ova.c - libFuzzer harness for OVA archives (v2v -i ova): the input is a tar
 * file.  The member index (tar.c) is read and searched, then the whole OVA reader
 * runs on it: manifest, OVF, the sums of the members it names.
 */
#include "common/err.h"
#include "fuzz/fuzz_util.h"
#include "v2v/input/input.h"
#include "v2v/input/tar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_write_file("guest.ova", data, size);
	struct tar_list l;
	struct v2v_source src;

	if (tar_list_read(path, &l) == 0) {
		for (int i = 0; i < l.n; i++)
			tar_list_find(&l, l.m[i].name);
		tar_list_find(&l, "guest.ovf");
		tar_list_free(&l);
		if (v2v_source_from_ova(path, &src) == 0)
			v2v_source_free(&src);
	}
	err_clear();
	return 0;
}
