/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * output.c - the one place that maps `-o NAME` to an output (see output.h), and
 * the writing of the output file they all share: created with O_EXCL (an
 * existing NAME.xml or NAME.sh is never overwritten, even one created while the
 * guest was being converted), removed again when it could not be written whole,
 * and recorded in the report.  The source's unknown memory and vCPUs get their
 * defaults here, once, for every output.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/newfile.h"
#include "common/util.h"
#include "v2v/output/output.h"

#define DEFAULT_MEMORY_MIB 1024

static const struct v2v_output_ops *const outputs[] = {
	&v2v_output_local,
	&v2v_output_libvirt,
	&v2v_output_qemu,
};

static const char *output_name(size_t i)
{
	return outputs[i]->name;
}

const struct v2v_output_ops *v2v_output_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(outputs); i++)
		if (!strcmp(outputs[i]->name, name))
			return outputs[i];
	v2v_unknown_choice("-o", name, output_name, ARRAY_SIZE(outputs));
	return NULL;
}

void v2v_output_path(const struct v2v_output_ops *o, const char *dir, const char *name,
		     char *path, size_t len)
{
	snprintf(path, len, "%s/%s.%s", dir, name, o->suffix);
}

/* Write with o->write to the new file at path (fd); the file is closed. */
static int fill(const struct v2v_output_ops *o, const struct v2v_target *t, int fd,
		const char *path)
{
	FILE *f = fdopen(fd, "w");
	int r;

	if (!f) {
		r = err_set(-errno, path, "%s", strerror(errno));
		close(fd);
		return r;
	}
	r = o->write(t, f);
	if (ferror(f) && !r)
		r = err_set(-EIO, path, "write error");
	if (fclose(f) && !r)
		r = err_set(-errno, path, "%s", strerror(errno));
	return r;
}

int v2v_output_write(const struct v2v_output_ops *o, const struct v2v_target *t,
		     struct v2v_report *r)
{
	struct v2v_target full = *t;
	char path[4096];
	int fd, ret;

	if (!full.memory_mib)
		full.memory_mib = DEFAULT_MEMORY_MIB;
	if (full.vcpus <= 0)
		full.vcpus = 1;
	v2v_output_path(o, t->dir, t->name, path, sizeof(path));
	fd = newfile_create(path, o->mode);
	if (fd < 0)
		return fd;
	ret = fill(o, &full, fd, path);
	if (ret) {
		unlink(path);
		return ret;
	}
	v2v_change(r, path, o->written, NULL, path);
	return 0;
}
