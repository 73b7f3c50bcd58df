/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * checksum.c - libimgtool's checksum: convert/checksum.c on an open handle.
 */
#include "handle.h"
#include "../common/err.h"
#include "../convert/checksum.h"

#include <errno.h>

int imgtool_checksum(imgtool_image *img, char *hex, size_t len)
{
	struct checksum_params cp = { 0 };

	api_begin();
	if (!img || !hex || len < CHECKSUM_HEX_LEN + 1)
		return api_end(err_set(-EINVAL, NULL, "imgtool_checksum: no image, or the "
				       "buffer holds fewer than %d bytes", CHECKSUM_HEX_LEN + 1),
			       NULL);
	cp.img = img->img;
	return api_end(checksum_run(&cp, hex), img->img->filename);
}
