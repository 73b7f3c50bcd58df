/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz_vmdk_desc.c - libFuzzer harness for the VMDK descriptor parser: the input
 * is descriptor text (as in a standalone .vmdk or embedded in a sparse file).
 * What parses is written back and parsed again, as `amend`/`rebase` rewrite it.
 */
#include "common/err.h"
#include "formats/reference.h"
#include "formats/vmdk/vmdk.h"
#include "fuzz/fuzz_util.h"

#include <stdlib.h>
#include <string.h>

static void rewrite(const struct vmdk_desc *d)
{
	struct vmdk_desc_params p = {
		.cid = d->cid, .parent_cid = d->parent_cid,
		.create_type = d->create_type ? d->create_type : "monolithicSparse",
		.parent_hint = d->parent_hint, .ext = d->ext, .n_ext = d->n_ext,
		.adapter = "ide", .hwversion = "4", .toolsversion = "0", .capacity = 2048,
	};
	struct vmdk_desc again;
	char *text = vmdk_desc_write(&p);

	if (!text)
		return;
	if (vmdk_desc_parse(text, strlen(text), "rewritten.vmdk", &again) == 0)
		vmdk_desc_free(&again);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmdk_desc d;

	vmdk_desc_probe(data, size);
	if (vmdk_desc_parse((const char *)data, size, "fuzz.vmdk", &d) == 0) {
		for (int i = 0; i < d.n_ext; i++)
			if (d.ext[i].filename)
				ref_allowed(REF_EXTENT, d.ext[i].filename, 0);
		rewrite(&d);
		vmdk_desc_free(&d);
	}
	err_clear();
	return 0;
}
