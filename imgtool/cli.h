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
/* A plain decimal unsigned number (e.g. --start-offset), with size suffixes. */
int cli_parse_offset(const char *s, uint64_t *out);

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
/* Keys of a json object in QDict iteration order: fills keys[] (max n); returns count. */
int cli_json_keys(struct json_object *obj, const char **keys, int n);

/* ---- cmd_create.c: shared with convert ---- */
bool create_opts_want_help(const char *o);
void create_print_opts_help(const char *fmt);

/* ---- subcommands: each returns the process exit code ---- */
int cmd_create(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_map(int argc, char **argv);
int cmd_measure(int argc, char **argv);
int cmd_resize(int argc, char **argv);
int cmd_launch(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_amend(int argc, char **argv);
int cmd_commit(int argc, char **argv);
int cmd_rebase(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_customize(int argc, char **argv);
int cmd_sysprep(int argc, char **argv);
int cmd_clone(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_v2v(int argc, char **argv);

#endif
