/*
 * v2v_vmx.c - -i vmx: read a VMware .vmx.  (Being written.)
 */
#include <errno.h>

#include "../common/err.h"
#include "v2v_source.h"

int v2v_source_from_vmx(const char *vmx_path, struct v2v_source *out)
{
	return err_set(-ENOTSUP, vmx_path, "-i vmx is not implemented yet");
}
