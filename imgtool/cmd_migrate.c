/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_migrate.c - `imgtool migrate [options] PLAN`: run a batch migration plan
 * (migrate/migrate.h).  Exit 0 when every selected VM is done, 1 when the plan
 * could not start (a bad plan, the state in use), 2 when some VMs failed (each
 * named with its error at the end).  --cutover NAME,... and --all ask the running
 * migrate for the cutover of warm VMs (migrate/cutover.c).
 */
#include "imgtool/cli.h"
#include "common/err.h"
#include "common/opts.h"
#include "common/strbuf.h"
#include "migrate/migrate.h"
#include "migrate/plan.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_VALIDATE = 256, OPT_DRY_RUN, OPT_STATUS, OPT_STATE, OPT_SHARD, OPT_RETRY,
       OPT_ONLY, OPT_SKIP, OPT_REPORT, OPT_PROGRESS, OPT_CHECKPOINT, OPT_CUTOVER,
       OPT_ALL };

static void usage(void)
{
	printf("usage: %s migrate [--validate | --dry-run | --status | --cutover NAME,... | --all] "
	       "[--state DIR] "
	       "[--shard I/N] [--retry N] [--only NAME,...] [--skip NAME,...] "
	       "[--report FILE.json|FILE.html]... [--checkpoint SIZE] [--progress=json] [-q] PLAN\n", PROG_NAME);
}

/* --report FILE: .html or .htm is the HTML report, anything else the JSON. */
static int set_report(struct mig_options *o, const char *file)
{
	size_t n = strlen(file);

	if ((n > 5 && !strcmp(file + n - 5, ".html")) || (n > 4 && !strcmp(file + n - 4, ".htm")))
		o->report_html = file;
	else
		o->report_json = file;
	return 0;
}

static int parse_shard(const char *s, struct mig_options *o)
{
	char *end;
	long i = strtol(s, &end, 10), n;

	if (end == s || *end != '/')
		return -1;
	n = strtol(end + 1, &end, 10);
	if (*end || n < 1 || n > 1000 || i < 0 || i >= n)
		return -1;
	o->shard = (int)i;
	o->nshards = (int)n;
	return 0;
}

/* --status reads only the state: a source gone since the run does not stop it. */
static int load(const char *path, bool check_sources, struct mig_plan *plan)
{
	struct strbuf errors = { 0 };
	int ret = mig_plan_load(path, check_sources, plan, &errors);

	if (ret == -EINVAL && strbuf_str(&errors)[0])
		fputs(strbuf_str(&errors), stderr);
	else if (ret)
		cli_report(ret, NULL);
	strbuf_free(&errors);
	return ret;
}

int cmd_migrate(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "validate", no_argument, NULL, OPT_VALIDATE },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "status", no_argument, NULL, OPT_STATUS },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "shard", required_argument, NULL, OPT_SHARD },
		{ "retry", required_argument, NULL, OPT_RETRY },
		{ "only", required_argument, NULL, OPT_ONLY },
		{ "skip", required_argument, NULL, OPT_SKIP },
		{ "report", required_argument, NULL, OPT_REPORT },
		{ "progress", required_argument, NULL, OPT_PROGRESS },
		{ "checkpoint", required_argument, NULL, OPT_CHECKPOINT },
		{ "cutover", required_argument, NULL, OPT_CUTOVER },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	struct mig_options o = { 0 };
	struct mig_plan plan;
	const char *cutover = NULL;
	int c, what = 0, rc;
	char *end;

	while ((c = cli_getopt(argc, argv, "hq", longopts)) != -1) {
		switch (c) {
		case OPT_VALIDATE: case OPT_DRY_RUN: case OPT_STATUS: case OPT_ALL: what = c; break;
		case OPT_CUTOVER: what = c; cutover = optarg; break;
		case OPT_STATE: o.state_dir = optarg; break;
		case OPT_ONLY: o.only = optarg; break;
		case OPT_SKIP: o.skip = optarg; break;
		case OPT_REPORT: set_report(&o, optarg); break;
		case 'q': o.view = MIG_VIEW_QUIET; break;
		case OPT_CHECKPOINT:
			if (parse_size(optarg, &o.checkpoint_bytes) < 0 ||
			    o.checkpoint_bytes < (2u << 20)) {
				cli_error("--checkpoint takes a size of at least 2M, not '%s'", optarg);
				return MIG_EXIT_NOSTART;
			}
			break;
		case OPT_SHARD:
			if (parse_shard(optarg, &o) < 0) {
				cli_error("--shard takes I/N with 0 <= I < N, not '%s'", optarg);
				return MIG_EXIT_NOSTART;
			}
			break;
		case OPT_RETRY:
			o.retry = (int)strtol(optarg, &end, 10);
			if (*end || end == optarg || o.retry < 0 || o.retry > 100) {
				cli_error("--retry takes a number from 0 to 100, not '%s'", optarg);
				return MIG_EXIT_NOSTART;
			}
			break;
		case OPT_PROGRESS:
			if (strcmp(optarg, "json")) {
				cli_error("--progress takes json, not '%s'", optarg);
				return MIG_EXIT_NOSTART;
			}
			o.view = MIG_VIEW_JSON;
			break;
		case 'h':
			usage();
			return 0;
		default:
			return MIG_EXIT_NOSTART;
		}
	}
	if (argc - optind != 1) {
		cli_error("Expecting one plan file");
		return MIG_EXIT_NOSTART;
	}
	/* --status and --cutover read or write only the state: a source gone or
	 * stopped since the run does not stop them */
	if (load(argv[optind], what != OPT_STATUS && what != OPT_CUTOVER && what != OPT_ALL,
		 &plan)) {
		mig_plan_free(&plan);
		return MIG_EXIT_NOSTART;
	}
	if (what == OPT_VALIDATE) {
		printf("%s: %d VMs, valid\n", plan.path, plan.nb_vms);
		rc = MIG_EXIT_OK;
	} else if (what == OPT_DRY_RUN) {
		rc = mig_dry_run(&plan, &o);
	} else if (what == OPT_STATUS) {
		rc = mig_status(&plan, &o);
	} else if (what == OPT_CUTOVER || what == OPT_ALL) {
		rc = mig_cutover(&plan, &o, cutover);
	} else {
		rc = mig_run(&plan, &o);
	}
	mig_plan_free(&plan);
	return rc;
}
