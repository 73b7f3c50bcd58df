/*
 * cmd_create.c - `imgtool create`: make a new image, like qemu-img create.
 *
 * -b/-F become the backing_file/backing_fmt options; without a size the backing
 * file's virtual size is used (it is opened to check it exists unless -u).  The
 * "Formatting ..." line lists the options in the order and spelling qemu-img uses,
 * so logs read the same whichever tool made the image.
 */
#include "cli.h"
#include "../common/err.h"
#include "../common/opts.h"
#include "../formats/format.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct opt_help {
	const char *name;
	const char *type;
	const char *help;
	const char *def;      /* shown in "Formatting" when the user gave no value */
	bool is_size;         /* normalised to bytes when printed */
};

static const struct opt_help qcow2_opts[] = {
	{ "encrypt.format", "str", NULL, NULL, false },
	{ "cluster_size", "size", "qcow2 cluster size", "65536", true },
	{ "extended_l2", "bool (on/off)", "Extended L2 tables", "off", false },
	{ "preallocation", "str",
	  "Preallocation mode (allowed values: off, metadata, falloc, full)", NULL, false },
	{ "compression_type", "str", "Compression method used for image cluster compression",
	  "zlib", false },
	{ "size", "size", "Virtual disk size", NULL, true },
	{ "compat", "str", "Compatibility level (v2 [0.10] or v3 [1.1])", NULL, false },
	{ "backing_file", "str", "File name of a base image", NULL, false },
	{ "backing_fmt", "str", "Image format of the base image", NULL, false },
	{ "data_file", "str", "File name of an external data file", NULL, false },
	{ "data_file_raw", "bool (on/off)",
	  "The external data file must stay valid as a raw image", NULL, false },
	{ "lazy_refcounts", "bool (on/off)", "Postpone refcount updates", "off", false },
	{ "refcount_bits", "num", "Width of a reference count entry in bits", "16", false },
	{ NULL, NULL, NULL, NULL, false },
};

static const struct opt_help raw_opts[] = {
	{ "size", "size", "Virtual disk size", NULL, true },
	{ "preallocation", "str",
	  "Preallocation mode (allowed values: off, falloc, full)", NULL, false },
	{ NULL, NULL, NULL, NULL, false },
};

static const struct opt_help generic_opts[] = {
	{ "size", "size", "Virtual disk size", NULL, true },
	{ NULL, NULL, NULL, NULL, false },
};

static const struct opt_help *opts_for(const char *fmt)
{
	if (!strcmp(fmt, "qcow2"))
		return qcow2_opts;
	if (!strcmp(fmt, "raw"))
		return raw_opts;
	return generic_opts;
}

static int cmp_opt_name(const void *a, const void *b)
{
	const struct opt_help *x = *(const struct opt_help *const *)a;
	const struct opt_help *y = *(const struct opt_help *const *)b;

	return strcmp(x->name, y->name);
}

/* "-o help": the options of a format, sorted by name as qemu-img lists them. */
void create_print_opts_help(const char *fmt)
{
	const struct opt_help *list = opts_for(fmt);
	const struct opt_help *sorted[64];
	int n = 0;

	for (int i = 0; list[i].name && n < 64; i++)
		if (list[i].help)
			sorted[n++] = &list[i];
	qsort(sorted, (size_t)n, sizeof(sorted[0]), cmp_opt_name);
	printf("Supported %s options:\n", fmt);
	for (int i = 0; i < n; i++) {
		char lhs[128];

		snprintf(lhs, sizeof(lhs), "%s=<%s>", sorted[i]->name, sorted[i]->type);
		printf("  %-22s - %s\n", lhs, sorted[i]->help);
	}
	printf("\nThe protocol level may support further options.\n"
	       "Specify the target filename to include those options.\n");
}

bool create_opts_want_help(const char *o)
{
	return o && (!strcmp(o, "help") || !strcmp(o, "?"));
}

static void print_value(const struct opt_help *h, const char *v)
{
	uint64_t n;

	if (h->is_size && parse_size(v, &n) == 0)
		printf(" %s=%llu", h->name, (unsigned long long)n);
	else
		printf(" %s=%s", h->name, v);
}

/* Print "Formatting 'f', fmt=F k=v ..." (values peeked without marking them used). */
static void print_formatting(const char *filename, const char *fmt, uint64_t size,
			     const struct opts *o)
{
	const struct opt_help *list = opts_for(fmt);
	char sizebuf[32];

	printf("Formatting '%s', fmt=%s", filename, fmt);
	snprintf(sizebuf, sizeof(sizebuf), "%llu", (unsigned long long)size);
	for (int i = 0; list[i].name; i++) {
		const char *v = list[i].def;

		if (!strcmp(list[i].name, "size"))
			v = sizebuf;
		for (int j = 0; j < o->n; j++)
			if (!strcmp(o->v[j].key, list[i].name))
				v = o->v[j].value;
		if (v)
			print_value(&list[i], v);
	}
	/* options this table does not know (the format decides if they are valid) */
	for (int j = 0; j < o->n; j++) {
		bool known = false;

		for (int i = 0; list[i].name; i++)
			if (!strcmp(o->v[j].key, list[i].name))
				known = true;
		if (!known)
			printf(" %s=%s", o->v[j].key, o->v[j].value);
	}
	printf("\n");
	fflush(stdout);
}

/* Size of the backing image (which must open) for a create without a size. */
static int backing_size(const char *filename, const char *backing, const char *bfmt,
			uint64_t *size)
{
	struct image *img;
	char *path = image_resolve_backing(filename, backing);
	int ret;

	if (!path)
		return err_set(-ENOMEM, filename, "out of memory");
	ret = image_open(path, bfmt, IMG_NO_BACKING, &img);
	free(path);
	if (ret < 0) {
		char msg[ERR_MSG_MAX];

		snprintf(msg, sizeof(msg), "%s", err_get());
		return err_set(ret, filename, "%s; could not open backing image", msg);
	}
	*size = img->size;
	image_close(img);
	return 0;
}

int cmd_create(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "object", required_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	const char *fmt = "raw", *backing = NULL, *bfmt = NULL, *filename;
	struct opts o = { 0 };
	bool quiet = false, unsafe = false, have_size = false, want_help = false;
	uint64_t size = 0;
	int c, ret, rc = 1;

	while ((c = cli_getopt(argc, argv, "hf:o:b:F:uq", longopts)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'b': backing = optarg; break;
		case 'F': bfmt = optarg; break;
		case 'u': unsafe = true; break;
		case 'q': quiet = true; break;
		case 'o':
			if (create_opts_want_help(optarg)) {
				want_help = true;
				break;
			}
			if (opts_parse(&o, optarg) < 0) {
				cli_error("Invalid option list: %s", optarg);
				goto out;
			}
			break;
		case 'h':
			printf("usage: %s create [-q] [-f fmt] [-b backing_file [-F backing_fmt]] [-u] [-o options] filename [size]\n",
			       PROG_NAME);
			rc = 0;
			goto out;
		case 'J':
			cli_error("--object is not supported");
			goto out;
		default:
			goto out;
		}
	}
	if (want_help) {
		if (!format_find(fmt)) {
			cli_error("Unknown file format '%s'", fmt);
			goto out;
		}
		create_print_opts_help(fmt);
		rc = 0;
		goto out;
	}
	if (optind >= argc) {
		cli_error("Expecting image file name");
		goto out;
	}
	filename = argv[optind++];
	if (optind < argc) {
		if (parse_size(argv[optind], &size) < 0 || size > (uint64_t)INT64_MAX) {
			cli_error("Invalid image size specified. You may use k, M, G, T, P or E suffixes for kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
			goto out;
		}
		have_size = true;
		optind++;
	}
	if (optind < argc) {
		cli_error("Unexpected argument: %s", argv[optind]);
		goto out;
	}
	if (!format_find(fmt)) {
		cli_error("%s: Unknown file format '%s'", filename, fmt);
		goto out;
	}
	if (!backing)
		backing = opts_get(&o, "backing_file");
	if (!bfmt)
		bfmt = opts_get(&o, "backing_fmt");
	if (backing && !bfmt) {
		cli_error("%s: Backing file specified without backing format", filename);
		goto out;
	}
	if (backing) {
		opts_set(&o, "backing_file", backing);
		opts_set(&o, "backing_fmt", bfmt);
		/* opts_set replaced the strings the pointers may have come from */
		backing = opts_get(&o, "backing_file");
		bfmt = opts_get(&o, "backing_fmt");
		/* the values were read above; the format still sees and marks them */
		for (int i = 0; i < o.n; i++)
			o.v[i].used = false;
	}
	if (!have_size) {
		const char *s = opts_get(&o, "size");

		if (s) {
			if (parse_size(s, &size) < 0) {
				cli_error("%s: Parameter 'size' expects a size", filename);
				goto out;
			}
			have_size = true;
		}
	}
	for (int i = 0; i < o.n; i++)
		if (!strcmp(o.v[i].key, "size")) {
			/* size is an argument of image_create, not a format option */
			free(o.v[i].key);
			free(o.v[i].value);
			o.v[i] = o.v[--o.n];
			break;
		}
	if (backing && (!unsafe || !have_size)) {
		uint64_t bsize;

		if (!have_size && unsafe) {
			cli_error("%s: Image creation needs a size parameter", filename);
			goto out;
		}
		ret = backing_size(filename, backing, bfmt, &bsize);
		if (ret < 0) {
			cli_report(ret, filename);
			goto out;
		}
		if (!have_size)
			size = bsize;
		have_size = true;
	}
	if (!have_size) {
		cli_error("%s: Image creation needs a size parameter", filename);
		goto out;
	}
	/* Printed once the format has accepted the options (qemu-img validates
	 * them before printing, and only the format knows them). */
	ret = image_create(filename, fmt, size, &o);
	if (ret < 0) {
		cli_report(ret, filename);
		goto out;
	}
	if (!quiet)
		print_formatting(filename, fmt, size, &o);
	rc = 0;
out:
	opts_free(&o);
	return rc;
}
