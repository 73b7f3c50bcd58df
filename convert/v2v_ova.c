/*
 * v2v_ova.c - -i ova: read an OVA or OVF folder.  (Being written.)
 */
#include <errno.h>

#include "../common/err.h"
#include "v2v_source.h"

int v2v_source_from_ova(const char *path, struct v2v_source *out)
{
	return err_set(-ENOTSUP, path, "-i ova is not implemented yet");
}
