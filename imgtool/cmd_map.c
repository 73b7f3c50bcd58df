/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_map.c - `imgtool map`: where each guest range of an image (and its chain)
 * lives, in qemu-img map's human table or JSON lines.
 *
 * Entries are merged exactly as qemu-img 7.2 merges them, so that the JSON is
 * identical byte for byte on the same image and scripts can diff the two tools.
 */
#include "cli.h"
#include "../common/err.h"
#include "../common/util.h"
#include "../formats/format.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct map_entry {
	uint64_t start;
	uint64_t length;
	int depth;
	bool present;
	bool zero;
	bool data;
	bool has_offset;
	uint64_t offset;
	const char *filename;   /* layer holding the bytes, when has_offset */
};

static const char *layer_name(struct image *img, int depth)
{
	while (depth-- > 0 && img->backing)
		img = img->backing;
	return img->filename;
}

static int map_status(struct image *img, uint64_t off, uint64_t len, struct map_entry *e)
{
	struct block_status bs;
	int ret = image_block_status_above(img, off, len, &bs);

	if (ret < 0)
		return ret;
	memset(e, 0, sizeof(*e));
	e->start = off;
	e->length = bs.length;
	e->depth = bs.depth;
	e->present = bs.flags & BS_ALLOCATED;
	e->zero = bs.flags & BS_ZERO;
	e->data = bs.flags & BS_DATA;
	e->has_offset = bs.flags & BS_OFFSET_VALID;
	e->offset = bs.host_offset;
	e->filename = e->has_offset ? layer_name(img, bs.depth) : NULL;
	return 0;
}

static bool mergeable(const struct map_entry *c, const struct map_entry *n)
{
	if (c->length == 0)
		return false;
	if (c->zero != n->zero || c->data != n->data || c->depth != n->depth ||
	    c->present != n->present)
		return false;
	if (!c->filename != !n->filename)
		return false;
	if (c->filename && strcmp(c->filename, n->filename))
		return false;
	if (c->has_offset != n->has_offset)
		return false;
	if (c->has_offset && c->offset + c->length != n->offset)
		return false;
	return true;
}

/* Print one entry; n is the next one (NULL at the end), which the human form may
 * adjust to coalesce ranges that it shows the same way. */
static int dump_entry(enum output_format of, const struct map_entry *e, struct map_entry *n)
{
	if (of == OUTPUT_HUMAN) {
		if (e->data && !e->has_offset) {
			cli_error("File contains external, encrypted or compressed clusters.");
			return -EINVAL;
		}
		if (e->data && !e->zero) {
			printf("%#-16" PRIx64 "%#-16" PRIx64 "%#-16" PRIx64, e->start,
			       e->length, e->has_offset ? e->offset : 0);
			/* a backing file's name comes from the image above it */
			cli_fputs_escaped(e->filename ? e->filename : "", stdout);
			putchar('\n');
		}
		if (n && (!n->data || n->zero)) {
			n->data = false;
			n->zero = true;
		}
		return 0;
	}
	printf("{ \"start\": %" PRIu64 ", \"length\": %" PRIu64 ", \"depth\": %d,"
	       " \"present\": %s, \"zero\": %s, \"data\": %s", e->start, e->length, e->depth,
	       e->present ? "true" : "false", e->zero ? "true" : "false",
	       e->data ? "true" : "false");
	if (e->has_offset)
		printf(", \"offset\": %" PRIu64, e->offset);
	putchar('}');
	if (n)
		puts(",");
	return 0;
}

static int map_image(struct image *img, enum output_format of, uint64_t start, uint64_t end)
{
	struct map_entry cur = { .start = start }, next;
	int ret;

	if (of == OUTPUT_HUMAN)
		printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
	else
		putchar('[');
	while (cur.start + cur.length < end) {
		uint64_t off = cur.start + cur.length;

		ret = map_status(img, off, MIN(end - off, 1ULL << 30), &next);
		if (ret < 0) {
			cli_report(ret, img->filename);
			return ret;
		}
		if (mergeable(&cur, &next)) {
			cur.length += next.length;
			continue;
		}
		if (cur.length > 0) {
			ret = dump_entry(of, &cur, &next);
			if (ret < 0)
				return ret;
		}
		cur = next;
	}
	ret = dump_entry(of, &cur, NULL);
	if (of == OUTPUT_JSON)
		puts("]");
	return ret;
}

int cmd_map(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'O' },
		{ "start-offset", required_argument, NULL, 's' },
		{ "max-length", required_argument, NULL, 'l' },
		{ "force-share", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	enum output_format of = OUTPUT_HUMAN;
	const char *fmt = NULL;
	uint64_t start = 0, maxlen = UINT64_MAX, end;
	struct image *img;
	int c, ret;

	while ((c = cli_getopt(argc, argv, "hf:U", longopts)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'U': break;
		case 'O':
			if (cli_parse_output(optarg, &of) < 0)
				goto bad;
			break;
		case 's':
			if (cli_parse_offset(optarg, &start) < 0)
				goto bad;
			break;
		case 'l':
			if (cli_parse_offset(optarg, &maxlen) < 0)
				goto bad;
			break;
		case 'h':
			printf("usage: %s map [-f fmt] [--output=ofmt] [--start-offset=offset] [--max-length=len] [-U] filename\n",
			       PROG_NAME);
			return 0;
		default:
			return 1;
		}
	}
	if (optind != argc - 1) {
		cli_error("Expecting one image file name");
		return 1;
	}
	ret = image_open(argv[optind], fmt, 0, &img);
	if (ret < 0) {
		cli_report(ret, argv[optind]);
		return 1;
	}
	end = img->size;
	if (maxlen != UINT64_MAX && start + maxlen < end)
		end = start + maxlen;
	ret = map_image(img, of, start, end);
	image_close(img);
	return ret < 0 ? 1 : 0;
bad:
	cli_report(-EINVAL, NULL);
	return 1;
}
