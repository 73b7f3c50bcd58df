/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * object_args.c - qemu-img's --object secret,... and --image-opts /
 * --target-image-opts, taken out of argv before a command parses its options
 * (like policy_args.c), so every command accepts them as qemu-img does.
 *
 * A secret is defined in common/secret.c and its argv text wiped (a data= value
 * then no longer shows in /proc/PID/cmdline, though it did at exec: hence the
 * warning).  With --image-opts, each argument that is an option string
 * ("driver=luks,key-secret=sec0,file.filename=x") is replaced by its file name
 * and its options remembered for that file (formats/image_opts.h).
 */
#include "cli.h"
#include "../common/err.h"
#include "../common/secret.h"
#include "../formats/image_opts.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int define_secret(char *spec)
{
	int ret;

	if (strstr(spec, ",data=") || !strncmp(spec, "data=", 5))
		fprintf(stderr, "%s: warning: a secret given with data= is visible to other users "
			"in the process list; use file= instead\n", PROG_NAME);
	ret = secret_define(spec);
	explicit_bzero(spec, strlen(spec));
	return ret;
}

static bool is_image_opts(const char *arg)
{
	return arg[0] != '-' && (strstr(arg, "file.filename=") || !strncmp(arg, "driver=", 7)) &&
	       strchr(arg, '=');
}

int cli_take_object_options(int *argc, char **argv)
{
	bool image_opts = false;
	int out = 1, first_arg;

	for (int i = 1; i < *argc; i++) {
		int ret = 0;

		if (!strcmp(argv[i], "--")) {
			while (i < *argc)
				argv[out++] = argv[i++];
			break;
		}
		if (!strcmp(argv[i], "--object")) {
			if (i + 1 >= *argc)
				return err_set(-EINVAL, NULL, "option '--object' requires an argument");
			ret = define_secret(argv[++i]);
		} else if (!strncmp(argv[i], "--object=", 9)) {
			ret = define_secret(argv[i] + 9);
		} else if (!strcmp(argv[i], "--image-opts") || !strcmp(argv[i], "--target-image-opts")) {
			image_opts = true;
		} else {
			argv[out++] = argv[i];
		}
		if (ret < 0)
			return ret;
	}
	argv[out] = NULL;
	*argc = out;
	if (!image_opts)
		return 0;
	first_arg = 1;
	for (int i = first_arg; i < *argc; i++) {
		const char *name;

		if (!is_image_opts(argv[i]) || (i > 1 && !strcmp(argv[i - 1], "-o")))
			continue;
		if (image_opts_add(argv[i], &name) < 0)
			return -EINVAL;
		argv[i] = (char *)name;
	}
	return 0;
}
