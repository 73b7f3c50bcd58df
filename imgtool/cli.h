/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli.h - helpers shared by the imgtool subcommands: error reporting in qemu-img's
 * one-line style, option-value parsing, and human/JSON output.
 *
 * The CLI holds no format logic: every subcommand works through formats/format.h
 * and the engines in convert/.
 */
#ifndef IMGTOOL_CLI_H
#define IMGTOOL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../convert/progress.h"

struct json_object;
struct option;

#define PROG_NAME "imgtool"
#define IMGTOOL_VERSION "0.1"

enum output_format {
	OUTPUT_HUMAN,
	OUTPUT_JSON,
};

/* ---- args.c: option values (pure functions, unit tested) ---- */

/* "human" / "json"; -EINVAL otherwise. */
int cli_parse_output(const char *s, enum output_format *out);
/* resize's size: "[+|-]SIZE" -> *sign (-1, 0 absolute, +1) and *size. */
int cli_parse_resize_size(const char *s, int *sign, uint64_t *size);
/* Apply a relative size; -EINVAL if it underflows/overflows. */
int cli_apply_resize(uint64_t cur, int sign, uint64_t delta, uint64_t *out);
/* A cache mode name -> IMG_* flags (IMG_BE_FLAGS of the backend flags). */
int cli_parse_cache(const char *mode, int *img_flags);
/* convert -S: a size that is a multiple of 512 up to 16 MiB (0 allowed). */
int cli_parse_sparse(const char *s, uint64_t *out);
/* convert -m: 1..16. */
int cli_parse_workers(const char *s, int *out);
/* qemu-img's cvtnum_full(): a size with suffixes in [min, max]; otherwise
 * -EINVAL/-ERANGE with its message (and second line) set, naming `name`. */
int cli_cvtnum(const char *name, const char *v, uint64_t min, uint64_t max, uint64_t *out);
/* qemu_strtoul() as qemu-img's plain numbers: decimal, 0x hex or 0 octal, the
 * whole string, at most max (a "-1" wraps above any max); -EINVAL otherwise. */
int cli_parse_ulong(const char *s, uint64_t max, uint64_t *out);
/* A plain decimal unsigned number (e.g. --start-offset), with size suffixes. */
int cli_parse_offset(const char *s, uint64_t *out);

/* ---- image_cmd_opts.c: options commit, rebase and compare share ---- */

/* getopt values of the shared long options (above any short option) */
enum {
	CLI_OPT_PROGRESS = 0x1000,   /* --progress=human|json */
	CLI_OPT_UNSUPPORTED,         /* qemu-img options imgtool refuses (convert --salvage ...) */
};

struct image_cmd_opts {
	const char *fmt;             /* -f; NULL: probe */
	const char *cache;           /* the cache mode option */
	bool quiet;                  /* -q */
	enum progress_mode progress; /* -p, --progress */
};

/* Take getopt's c if it is a shared option (cache_letter: the command's cache
 * mode letter).  1: taken; 0: not a shared option; -1: refused (printed). */
int cli_image_cmd_opt(int c, char cache_letter, char **argv, struct image_cmd_opts *o);
/* The one file name left after the options, else print qemu-img's message and -1. */
int cli_one_image_name(int argc, char **argv, const char **file);

/* ---- policy_args.c: the reference-policy options of every command ---- */

/* Take --untrusted, --allow-ref-urls, --allow-ref-paths and --max-*-size=SIZE out
 * of argv (compacting it) and make them the policy of every image opened after. */
int cli_take_policy_options(int *argc, char **argv);

/* ---- object_args.c: --object secret,... and --image-opts of every command ---- */

/* Take --object (secrets), --image-opts and --target-image-opts out of argv; the
 * option strings of --image-opts become file names with remembered options. */
int cli_take_object_options(int *argc, char **argv);

/* ---- info_safety.c: info --untrusted's "safety" object ---- */

struct image;
/* The reasons to refuse img; img NULL when its open failed with open_ret and
 * open_msg.  A new json object {"safe": bool, "reasons": [{check, message}]}. */
struct json_object *info_safety(const struct image *img, int open_ret, const char *open_msg);
bool info_safety_ok(struct json_object *safety);
/* The same for human output: "safety: safe|refused" and one line per reason. */
void info_safety_print(struct json_object *safety);

/* ---- output.c: printing ---- */

/* "imgtool: <fmt...>" on stderr, one line. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print the failure of an operation: err_get() if set, else "where: strerror". */
void cli_report(int ret, const char *where);
/* getopt_long with qemu-img-like one-line messages; returns '?' after printing. */
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);
/* Print a json-c value the way qemu-img prints QObjects (4-space pretty, keys in
 * QDict order), then a newline. */
void cli_print_json(struct json_object *obj);
/* Human size as qemu's size_to_str(): "1 GiB", "1.32 MiB", "0 B". */
void cli_size_str(uint64_t v, char *buf, size_t len);
/* Walk a JSON object as qemu's "Format specific information" dump. */
void cli_print_specific(struct json_object *obj, int indent);
/* Print a name read from an image with its control characters escaped
 * (common/escape.h). */
void cli_fputs_escaped(const char *s, FILE *f);
/* Keys of a json object in QDict iteration order: fills keys[] (max n); returns count. */
int cli_json_keys(struct json_object *obj, const char **keys, int n);

/* ---- opts_help.c: a format's -o option table, printed as qemu-img does ---- */
struct format_ops;
struct opts;
/* Is this -o argument a request for the list ("help" or "?")? */
bool create_opts_want_help(const char *o);
/* create/convert -o help; with_file: a target name was given, so the options of
 * the file under the image are listed too.  Returns the exit code: 1 for a
 * format that cannot create images (the message printed). */
int create_print_opts_help(const struct format_ops *ops, bool with_file);
/* amend -o help; returns the exit code (1 for a format without amend). */
int amend_print_opts_help(const struct format_ops *ops);
/* "Formatting 'f', fmt=F k=v ..." in the table's order with its defaults. */
void create_print_formatting(const char *filename, const struct format_ops *ops,
			     uint64_t size, const struct opts *o);

/* ---- subcommands: each returns the process exit code ---- */
int cmd_create(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_dd(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_checksum(int argc, char **argv);
int cmd_sync(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_map(int argc, char **argv);
int cmd_measure(int argc, char **argv);
int cmd_resize(int argc, char **argv);
int cmd_launch(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_amend(int argc, char **argv);
int cmd_bitmap(int argc, char **argv);
int cmd_commit(int argc, char **argv);
int cmd_rebase(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_customize(int argc, char **argv);
int cmd_sysprep(int argc, char **argv);
int cmd_clone(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_v2v(int argc, char **argv);

#endif
