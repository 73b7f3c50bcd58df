/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * input.h - what `imgtool v2v` converts: the disks and the settings of one guest
 * (struct v2v_source), and the inputs that read one (struct v2v_input_ops): a bare
 * disk, block device or URL (-i disk, disk.c), a VMware .vmx (-i vmx, vmx.c) or an
 * OVA/OVF (-i ova, ova.c with its helpers ovf.c, tar.c, ova_dl.c).  The conversion
 * (v2v.c) sees only the struct, whatever the input was, so each input stands
 * alone; input.c holds the one table that maps -i NAME to an input, so a new input
 * is one file and one line there.  source.c: the helpers every input shares.
 */
#ifndef IMGTOOL_V2V_INPUT_H
#define IMGTOOL_V2V_INPUT_H

#include <stdbool.h>
#include <stdint.h>

struct image;

enum v2v_firmware { V2V_FW_UNKNOWN, V2V_FW_BIOS, V2V_FW_UEFI };

struct v2v_disk {
	char *path;             /* the file, device or URL imgtool opens */
	char *format;           /* NULL: probed by imgtool */
	/* offset or length nonzero: the disk is a member stored inside an archive
	 * (an OVA's tar), read in place at path + offset for length bytes */
	uint64_t offset;
	uint64_t length;
	char *controller;       /* the source VM's bus: "scsi", "ide", "sata", "nvme"; NULL unknown */
	char *controller_model; /* "lsilogic", "pvscsi", ...; NULL unknown */
	uint64_t capacity;      /* declared capacity in bytes; 0 unknown */
};

struct v2v_nic {
	char *model;            /* "vmxnet3", "e1000", ...; NULL unknown */
	char *mac;              /* NULL unknown */
	char *network;          /* the source's network name; NULL unknown */
};

struct v2v_source {
	char *name;             /* the guest's name (the output files are named after it) */
	uint64_t memory_mib;    /* 0: unknown */
	int vcpus;              /* 0: unknown */
	enum v2v_firmware firmware;
	struct v2v_disk *disks;
	int nb_disks;
	struct v2v_nic *nics;
	int nb_nics;
};

struct v2v_input_ops {
	const char *name;       /* -i NAME */
	/* -f FMT applies: the source does not name its disks' formats itself */
	bool takes_format;
	/* open() reads no disk data, so a pre-check may open the source just to learn
	 * the guest's name (an OVA's open checksums every disk: it is not) */
	bool names_quickly;
	/* Read src into out (zeroed first; freed again on failure).  format: -f, NULL
	 * when not given (always NULL unless takes_format). */
	int (*open)(const char *src, const char *format, struct v2v_source *out);
};

/* input.c: the input called name, or NULL with the message set (naming the known
 * inputs). */
const struct v2v_input_ops *v2v_input_find(const char *name);

extern const struct v2v_input_ops v2v_input_disk, v2v_input_vmx, v2v_input_ova;

/* The readers behind the ops (also called directly by the unit tests). */
/* -i disk: one disk (a file, a block device for P2V, or an nfs://, iscsi://, rbd:
 * URL); the name is the file name without its extension. */
int v2v_source_from_disk(const char *path, const char *format, struct v2v_source *out);
/* -i vmx: the disks (paths relative to the .vmx), memory, vCPUs, firmware, NICs. */
int v2v_source_from_vmx(const char *vmx_path, struct v2v_source *out);
/* -i ova: an OVA file (tar) or an OVF folder; the manifest's SHA1/SHA256 sums are
 * checked before anything is returned (a mismatch is an error naming the file). */
int v2v_source_from_ova(const char *path, struct v2v_source *out);
/* source.c: open one source disk read-only. */
int v2v_disk_open(const struct v2v_disk *d, struct image **out);
void v2v_source_free(struct v2v_source *s);
/* source.c: a file name's last component without its extension, a URL's query
 * left out ("nfs://h/e/web01.vmdk" and "ssh://h/vm/web01.vmx?identity=/k" give
 * "web01"); malloc()ed, NULL when out of memory. */
char *v2v_name_from_path(const char *path);

#endif
