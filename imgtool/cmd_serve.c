/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_serve.c - `imgtool serve`: export an image over NBD (serve/nbd_server.h).
 *
 * Options follow qemu-nbd where it has the same thing (-f, -k/--socket, -b/--bind,
 * -p/--port, -r/--read-only, -x/--export-name, -e/--shared, --pidfile, --fork).
 * Without --socket or --bind/--port, a unix socket in the temporary folder is
 * used: an NBD export has no access control, so TCP is only on request (and then
 * on 127.0.0.1 unless --bind says otherwise).  The URL clients use is printed on
 * stdout once the server listens.
 */
#include "cli.h"
#include "../common/err.h"
#include "../serve/nbd_server.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(void)
{
	printf("usage: %s serve [-f fmt] [--socket PATH | --bind ADDR --port N] [--read-only]\n"
	       "    [--export-name NAME] [--shared N] [--pidfile FILE] [--foreground | --fork] "
	       "filename\n"
	       "Export the image over NBD until SIGINT/SIGTERM (then flush and close it).\n"
	       "Default: a unix socket in $TMPDIR; TCP binds %s port %s unless told otherwise.\n",
	       PROG_NAME, NBD_DEFAULT_BIND, NBD_DEFAULT_PORT);
}

static bool port_ok(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	return !errno && end != s && !*end && v > 0 && v < 65536;
}

static int parse(int argc, char **argv, struct nbd_serve_opts *o)
{
	enum { O_PIDFILE = 256, O_FOREGROUND, O_FORK };
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "format", required_argument, NULL, 'f' },
		{ "socket", required_argument, NULL, 'k' },
		{ "bind", required_argument, NULL, 'b' },
		{ "port", required_argument, NULL, 'p' },
		{ "read-only", no_argument, NULL, 'r' },
		{ "export-name", required_argument, NULL, 'x' },
		{ "shared", required_argument, NULL, 'e' },
		{ "pidfile", required_argument, NULL, O_PIDFILE },
		{ "foreground", no_argument, NULL, O_FOREGROUND },
		{ "fork", no_argument, NULL, O_FORK },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	o->shared = 1;
	o->ready_fd = -1;
	while ((c = cli_getopt(argc, argv, "hf:k:b:p:rx:e:", longopts)) != -1) {
		switch (c) {
		case 'h': usage(); exit(0);
		case 'f': o->format = optarg; break;
		case 'k': o->socket_path = optarg; break;
		case 'b': o->bind_addr = optarg; break;
		case 'p':
			if (!port_ok(optarg)) {
				cli_error("Invalid port '%s' (1 .. 65535)", optarg);
				return -EINVAL;
			}
			o->port = optarg;
			break;
		case 'r': o->read_only = true; break;
		case 'x':
			if (strlen(optarg) > 4096) {
				cli_error("Export name too long (at most 4096 bytes)");
				return -EINVAL;
			}
			o->export_name = optarg;
			break;
		case 'e':
			errno = 0;
			o->shared = (int)strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || o->shared < 1 || o->shared > 256) {
				cli_error("Invalid --shared '%s' (1 .. 256)", optarg);
				return -EINVAL;
			}
			break;
		case O_PIDFILE: o->pidfile = optarg; break;
		case O_FOREGROUND: o->fork = false; break;
		case O_FORK: o->fork = true; break;
		default: return -EINVAL;
		}
	}
	if (optind != argc - 1) {
		cli_error(optind >= argc ? "Expecting one image file name" :
			  "Expecting only one image file name");
		return -EINVAL;
	}
	o->image = argv[optind];
	if (o->socket_path && (o->bind_addr || o->port)) {
		cli_error("--socket and --bind/--port exclude each other");
		return -EINVAL;
	}
	return 0;
}

int cmd_serve(int argc, char **argv)
{
	struct nbd_serve_opts o = { 0 };
	char *defsock = NULL;
	int r;

	if (parse(argc, argv, &o))
		return 1;
	if (!o.socket_path && !o.bind_addr && !o.port) {
		const char *tmp = getenv("TMPDIR");

		if (asprintf(&defsock, "%s/imgtool-nbd-%d.sock", tmp && *tmp ? tmp : "/tmp",
			     (int)getpid()) < 0)
			return 1;
		o.socket_path = defsock;
	}
	r = nbd_serve(&o);
	free(defsock);
	if (r < 0) {
		cli_report(r, o.image);
		return 1;
	}
	return 0;
}
