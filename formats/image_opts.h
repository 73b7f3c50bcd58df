/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * image_opts.h - options for opening an image beyond its name and format, as
 * qemu-img takes them with --image-opts ("driver=luks,key-secret=sec0,
 * file.filename=disk.luks"): remembered per file name so that every open of
 * that file, wherever the command makes it, finds its key-secret.
 */
#ifndef IMGTOOL_IMAGE_OPTS_H
#define IMGTOOL_IMAGE_OPTS_H

/* Parse an --image-opts string; *filename points into the table (valid until
 * image_opts_forget_all).  0, or -EINVAL with the message set. */
int image_opts_add(const char *spec, const char **filename);
/* Set one open option for filename (convert's target takes its -o key-secret). */
int image_opts_set(const char *filename, const char *key, const char *value);
/* The option key given for filename, or NULL. */
const char *image_opt(const char *filename, const char *key);
void image_opts_forget_all(void);

#endif
