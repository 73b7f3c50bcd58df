/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gen_bad.h - what the generators of malformed images share (gen_bad_vdi.c,
 * gen_bad_qcow.c, gen_bad_parallels.c): the OUTDIR argument, the MANIFEST of
 * "name kind" lines (kinds: see gen_bad_qcow2.c) and writing one image.
 */
#ifndef IMGTOOL_GEN_BAD_H
#define IMGTOOL_GEN_BAD_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static FILE *gen_manifest;
static const char *gen_outdir;

/* Parse "PROG OUTDIR" and open OUTDIR/MANIFEST; exits on error. */
static void gen_start(int argc, char **argv)
{
	char path[4096];

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		exit(2);
	}
	gen_outdir = argv[1];
	snprintf(path, sizeof(path), "%s/MANIFEST", gen_outdir);
	gen_manifest = fopen(path, "w");
	if (!gen_manifest) {
		perror(path);
		exit(1);
	}
}

/* Write len bytes of b as OUTDIR/name and list it with its kind; exits on error. */
static void gen_emit(const char *name, const char *kind, const uint8_t *b, size_t len)
{
	char path[4096];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", gen_outdir, name);
	fp = fopen(path, "wb");
	if (!fp || fwrite(b, 1, len, fp) != len || fclose(fp)) {
		perror(path);
		exit(1);
	}
	fprintf(gen_manifest, "%s %s\n", name, kind);
}

static int gen_finish(void)
{
	return fclose(gen_manifest) ? 1 : 0;
}

#endif
