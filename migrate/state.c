/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * state.c - the SQLite state (see state.h).
 *
 * Durability: the runner flushes an output before it records a checkpoint, so a
 * checkpoint never claims bytes that are not on disk; losing the last
 * transactions in a power cut only makes a resume start earlier.  The journal is
 * a rollback journal (TRUNCATE), not WAL, which needs shared memory that network
 * filesystems do not provide.  One connection, serialized, serves every thread.
 */
#include "migrate/state.h"
#include "common/err.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct mig_state {
	sqlite3 *db;
	char path[PATH_MAX];
	bool holder;
	pthread_t heartbeat;
	bool heartbeat_running;
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	bool stopping;
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS holder (id INTEGER PRIMARY KEY CHECK (id = 1),"
	" host TEXT, pid INTEGER, pid_start TEXT, since REAL, heartbeat REAL);"
	"CREATE TABLE IF NOT EXISTS vms (name TEXT PRIMARY KEY, status TEXT, error TEXT,"
	" started REAL, ended REAL);"
	"CREATE TABLE IF NOT EXISTS steps (vm TEXT, step TEXT, status TEXT, detail TEXT,"
	" started REAL, ended REAL, bytes_read INTEGER DEFAULT 0, bytes_written INTEGER DEFAULT 0,"
	" PRIMARY KEY (vm, step));"
	"CREATE TABLE IF NOT EXISTS disks (source TEXT PRIMARY KEY, vm TEXT, output TEXT,"
	" status TEXT, size INTEGER, checkpoint INTEGER, resumed_from INTEGER,"
	" bytes_read INTEGER, bytes_written INTEGER, source_sum TEXT, output_sum TEXT,"
	" converted_sum TEXT, started REAL, ended REAL, error TEXT);"
	"CREATE TABLE IF NOT EXISTS samples (t REAL, bytes INTEGER);"
	"CREATE TABLE IF NOT EXISTS warm (vm TEXT PRIMARY KEY, cutover_requested REAL,"
	" stop_started REAL, stopped REAL, ready REAL);"
	"CREATE TABLE IF NOT EXISTS passes (vm TEXT, n INTEGER, kind TEXT, status TEXT,"
	" started REAL, ended REAL, bytes_read INTEGER DEFAULT 0, bytes_written INTEGER DEFAULT 0,"
	" bytes_zeroed INTEGER DEFAULT 0, PRIMARY KEY (vm, n));";

static double now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static int db_error(struct mig_state *st, int rc, const char *what)
{
	return err_set(rc == SQLITE_FULL ? -ENOSPC : -EIO, st->path, "%s: %s", what,
		       sqlite3_errmsg(st->db));
}

static int exec(struct mig_state *st, const char *sql)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : db_error(st, rc, "state database");
}

/* Prepare, bind texts and numbers from a format ('s' text, 'i' integer, 'd'
 * real, 'n' null), step once. */
static int run(struct mig_state *st, const char *sql, const char *types, ...)
{
	sqlite3_stmt *s;
	va_list ap;
	int rc;

	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return db_error(st, rc, "state database");
	va_start(ap, types);
	for (int i = 0; types[i]; i++) {
		switch (types[i]) {
		case 's': {
			const char *v = va_arg(ap, const char *);

			if (v)
				sqlite3_bind_text(s, i + 1, v, -1, SQLITE_TRANSIENT);
			else
				sqlite3_bind_null(s, i + 1);
			break;
		}
		case 'i': sqlite3_bind_int64(s, i + 1, (sqlite3_int64)va_arg(ap, uint64_t)); break;
		case 'd': sqlite3_bind_double(s, i + 1, va_arg(ap, double)); break;
		default: sqlite3_bind_null(s, i + 1); break;
		}
	}
	va_end(ap);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : db_error(st, rc, "state database");
}

/* ---- the holder ---- */

/* The start time of pid (field 22 of /proc/PID/stat): tells a live holder from
 * a new process that reused its pid. */
static void pid_start(pid_t pid, char *buf, size_t len)
{
	char path[64], line[1024], *p;
	FILE *f;

	snprintf(buf, len, "?");
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(line, sizeof(line), f) && (p = strrchr(line, ')'))) {
		/* after the command name: state is field 3, starttime field 22 */
		for (int field = 2; p && field < 22; field++)
			p = strchr(p + 1, ' ');
		if (p)
			snprintf(buf, len, "%.*s", (int)strcspn(p + 1, " "), p + 1);
	}
	fclose(f);
}

struct holder {
	char host[256], pid_start[32];
	long pid;
	double since, heartbeat;
	bool present;
};

static int holder_row(void *opaque, int n, char **c, char **names)
{
	struct holder *h = opaque;

	h->present = true;
	snprintf(h->host, sizeof(h->host), "%s", c[0] ? c[0] : "?");
	h->pid = c[1] ? atol(c[1]) : 0;
	snprintf(h->pid_start, sizeof(h->pid_start), "%s", c[2] ? c[2] : "?");
	h->since = c[3] ? atof(c[3]) : 0;
	h->heartbeat = c[4] ? atof(c[4]) : 0;
	return 0;
}

static bool holder_alive(const struct holder *h, const char *host)
{
	char start[32];

	if (strcmp(h->host, host))
		return now() - h->heartbeat < HOLDER_STALE_SECS;
	if (kill((pid_t)h->pid, 0) < 0 && errno == ESRCH)
		return false;
	pid_start((pid_t)h->pid, start, sizeof(start));
	return !strcmp(start, h->pid_start);
}

static int take_holder(struct mig_state *st)
{
	struct holder h = { 0 };
	char host[256] = "?", start[32];
	int ret;

	gethostname(host, sizeof(host) - 1);
	pid_start(getpid(), start, sizeof(start));
	ret = exec(st, "BEGIN IMMEDIATE");
	if (ret)
		return ret;
	sqlite3_exec(st->db, "SELECT host, pid, pid_start, since, heartbeat FROM holder",
		     holder_row, &h, NULL);
	if (h.present && holder_alive(&h, host)) {
		time_t since = (time_t)h.since;
		char when[64];

		exec(st, "ROLLBACK");
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&since));
		return err_set(-EBUSY, st->path, "in use by imgtool migrate pid %ld on host %s "
			       "(since %s); wait for it or stop it", h.pid, h.host, when);
	}
	ret = run(st, "INSERT OR REPLACE INTO holder VALUES (1, ?, ?, ?, ?, ?)", "sisdd", host,
		  (uint64_t)getpid(), start, now(), now());
	if (!ret)
		ret = exec(st, "COMMIT");
	if (ret)
		exec(st, "ROLLBACK");
	else
		st->holder = true;
	return ret;
}

static void *heartbeat_thread(void *opaque)
{
	struct mig_state *st = opaque;

	pthread_mutex_lock(&st->stop_lock);
	while (!st->stopping) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += HOLDER_HEARTBEAT_SECS;
		pthread_cond_timedwait(&st->stop_cond, &st->stop_lock, &ts);
		if (!st->stopping)
			run(st, "UPDATE holder SET heartbeat = ? WHERE pid = ?", "di", now(),
			    (uint64_t)getpid());
	}
	pthread_mutex_unlock(&st->stop_lock);
	return NULL;
}

/* ---- open / close ---- */

/* take_holder false: a control connection (--cutover) beside the running holder. */
static int state_open(const char *dir, int shard, int nshards, bool readonly, bool holder,
		      struct mig_state **out)
{
	struct mig_state *st = calloc(1, sizeof(*st));
	int rc, ret;

	if (!st)
		return err_set(-ENOMEM, dir, "out of memory");
	if (nshards > 0)
		snprintf(st->path, sizeof(st->path), "%s/%s-%d-of-%d.db", dir, MIG_STATE_FILE,
			 shard, nshards);
	else
		snprintf(st->path, sizeof(st->path), "%s/%s.db", dir, MIG_STATE_FILE);
	pthread_mutex_init(&st->stop_lock, NULL);
	pthread_cond_init(&st->stop_cond, NULL);
	rc = sqlite3_open_v2(st->path, &st->db,
			     (readonly ? SQLITE_OPEN_READONLY
				       : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
			     SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc != SQLITE_OK) {
		ret = err_set(-EIO, st->path, "cannot open the state: %s",
			      st->db ? sqlite3_errmsg(st->db) : "out of memory");
		mig_state_close(st);
		return ret;
	}
	sqlite3_busy_timeout(st->db, 10000);
	ret = readonly ? 0 : exec(st, "PRAGMA journal_mode=TRUNCATE; PRAGMA synchronous=FULL");
	if (!ret && !readonly)
		ret = exec(st, schema);
	if (!ret && !readonly && holder)
		ret = take_holder(st);
	if (!ret && !readonly && holder)
		st->heartbeat_running = !pthread_create(&st->heartbeat, NULL, heartbeat_thread, st);
	if (ret) {
		mig_state_close(st);
		return ret;
	}
	*out = st;
	return 0;
}

int mig_state_open(const char *dir, int shard, int nshards, bool readonly,
		   struct mig_state **out)
{
	return state_open(dir, shard, nshards, readonly, true, out);
}

int mig_state_open_control(const char *dir, int shard, int nshards, struct mig_state **out)
{
	return state_open(dir, shard, nshards, false, false, out);
}

void mig_state_close(struct mig_state *st)
{
	if (!st)
		return;
	if (st->heartbeat_running) {
		pthread_mutex_lock(&st->stop_lock);
		st->stopping = true;
		pthread_cond_signal(&st->stop_cond);
		pthread_mutex_unlock(&st->stop_lock);
		pthread_join(st->heartbeat, NULL);
	}
	if (st->holder)
		run(st, "DELETE FROM holder WHERE pid = ?", "i", (uint64_t)getpid());
	sqlite3_close(st->db);
	pthread_cond_destroy(&st->stop_cond);
	pthread_mutex_destroy(&st->stop_lock);
	free(st);
}

const char *mig_state_path(const struct mig_state *st)
{
	return st->path;
}

/* ---- VMs and steps ---- */

static int vm_row(void *opaque, int n, char **c, char **names)
{
	struct mig_vm_state *v = opaque;

	snprintf(v->status, sizeof(v->status), "%s", c[0] ? c[0] : "pending");
	snprintf(v->error, sizeof(v->error), "%s", c[1] ? c[1] : "");
	v->started = c[2] ? atof(c[2]) : 0;
	v->ended = c[3] ? atof(c[3]) : 0;
	return 0;
}

int mig_state_vm_get(struct mig_state *st, const char *vm, struct mig_vm_state *out)
{
	char *sql = sqlite3_mprintf("SELECT status, error, started, ended FROM vms WHERE name = %Q",
				    vm);
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(out->status, sizeof(out->status), "pending");
	if (!sql)
		return err_set(-ENOMEM, st->path, "out of memory");
	rc = sqlite3_exec(st->db, sql, vm_row, out, NULL);
	sqlite3_free(sql);
	return rc == SQLITE_OK ? 0 : db_error(st, rc, "state database");
}

int mig_state_vm_set(struct mig_state *st, const char *vm, const char *status, const char *error)
{
	bool running = !strcmp(status, "running");

	return run(st, running
		   ? "INSERT INTO vms (name, status, error, started, ended) VALUES (?1, ?2, ?3, ?4, NULL)"
		     " ON CONFLICT(name) DO UPDATE SET status = ?2, error = ?3, started = ?4, ended = NULL"
		   : "INSERT INTO vms (name, status, error, started, ended) VALUES (?1, ?2, ?3, ?4, ?4)"
		     " ON CONFLICT(name) DO UPDATE SET status = ?2, error = ?3, ended = ?4",
		   "sssd", vm, status, error, now());
}

int mig_state_step(struct mig_state *st, const char *vm, const char *step, const char *status,
		   const char *detail, uint64_t bytes_read, uint64_t bytes_written)
{
	if (!strcmp(status, "running"))
		return run(st, "INSERT OR REPLACE INTO steps (vm, step, status, detail, started)"
			   " VALUES (?, ?, ?, ?, ?)", "ssssd", vm, step, status, detail, now());
	return run(st, "UPDATE steps SET status = ?, detail = ?, ended = ?, bytes_read = ?,"
		   " bytes_written = ? WHERE vm = ? AND step = ?", "ssdiiss", status, detail, now(),
		   bytes_read, bytes_written, vm, step);
}

static int step_row(void *opaque, int n, char **c, char **names)
{
	snprintf(opaque, 16, "%s", c[0] ? c[0] : "");
	return 0;
}

int mig_state_step_get(struct mig_state *st, const char *vm, const char *step, char status[16])
{
	char *sql = sqlite3_mprintf("SELECT status FROM steps WHERE vm = %Q AND step = %Q", vm,
				    step);
	int rc;

	snprintf(status, 16, "none");
	if (!sql)
		return err_set(-ENOMEM, st->path, "out of memory");
	rc = sqlite3_exec(st->db, sql, step_row, status, NULL);
	sqlite3_free(sql);
	return rc == SQLITE_OK ? 0 : db_error(st, rc, "state database");
}

/* ---- disks ---- */

static void copy_text(char *dst, size_t len, const char *s)
{
	snprintf(dst, len, "%s", s ? s : "");
}

static int disk_row(void *opaque, int n, char **c, char **names)
{
	struct mig_disk_state *d = opaque;

	copy_text(d->status, sizeof(d->status), c[0]);
	d->size = c[1] ? strtoull(c[1], NULL, 10) : 0;
	d->checkpoint = c[2] ? strtoull(c[2], NULL, 10) : 0;
	d->resumed_from = c[3] ? strtoull(c[3], NULL, 10) : 0;
	d->bytes_read = c[4] ? strtoull(c[4], NULL, 10) : 0;
	d->bytes_written = c[5] ? strtoull(c[5], NULL, 10) : 0;
	copy_text(d->source_sum, sizeof(d->source_sum), c[6]);
	copy_text(d->output_sum, sizeof(d->output_sum), c[7]);
	copy_text(d->converted_sum, sizeof(d->converted_sum), c[8]);
	d->started = c[9] ? atof(c[9]) : 0;
	d->ended = c[10] ? atof(c[10]) : 0;
	copy_text(d->error, sizeof(d->error), c[11]);
	return 0;
}

int mig_state_disk_get(struct mig_state *st, const char *source, struct mig_disk_state *out)
{
	char *sql = sqlite3_mprintf("SELECT status, size, checkpoint, resumed_from, bytes_read,"
				    " bytes_written, source_sum, output_sum, converted_sum, started,"
				    " ended, error FROM disks WHERE source = %Q", source);
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(out->status, sizeof(out->status), "pending");
	if (!sql)
		return err_set(-ENOMEM, st->path, "out of memory");
	rc = sqlite3_exec(st->db, sql, disk_row, out, NULL);
	sqlite3_free(sql);
	return rc == SQLITE_OK ? 0 : db_error(st, rc, "state database");
}

static const char *empty_null(const char *s)
{
	return s && *s ? s : NULL;
}

int mig_state_disk_put(struct mig_state *st, const char *source, const char *vm,
		       const char *output, const struct mig_disk_state *d)
{
	return run(st, "INSERT OR REPLACE INTO disks (source, vm, output, status, size, checkpoint,"
		   " resumed_from, bytes_read, bytes_written, source_sum, output_sum, converted_sum,"
		   " started, ended, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		   "ssssiiiiisssdds", source, vm, output, d->status, d->size, d->checkpoint,
		   d->resumed_from, d->bytes_read, d->bytes_written, empty_null(d->source_sum),
		   empty_null(d->output_sum), empty_null(d->converted_sum), d->started, d->ended,
		   empty_null(d->error));
}

int mig_state_checkpoint(struct mig_state *st, const char *source, uint64_t done,
			 uint64_t bytes_read, uint64_t bytes_written)
{
	return run(st, "UPDATE disks SET checkpoint = ?, bytes_read = ?, bytes_written = ?"
		   " WHERE source = ?", "iiis", done, bytes_read, bytes_written, source);
}

int mig_state_sample(struct mig_state *st, double t, uint64_t bytes)
{
	return run(st, "INSERT INTO samples VALUES (?, ?)", "di", t, bytes);
}

struct query_ctx {
	int (*row)(void *, int, char **);
	void *opaque;
};

static int query_row(void *opaque, int n, char **c, char **names)
{
	struct query_ctx *q = opaque;

	return q->row(q->opaque, n, c);
}

int mig_state_query(struct mig_state *st, const char *sql,
		    int (*row)(void *opaque, int ncols, char **cols), void *opaque)
{
	struct query_ctx q = { row, opaque };
	int rc = sqlite3_exec(st->db, sql, query_row, &q, NULL);

	return rc == SQLITE_OK || rc == SQLITE_ABORT ? 0 : db_error(st, rc, "state database");
}

/* ---- warm migration ---- */

static int warm_row(void *opaque, int n, char **c, char **names)
{
	struct mig_warm_state *w = opaque;

	w->cutover_requested = c[0] ? atof(c[0]) : 0;
	w->stop_started = c[1] ? atof(c[1]) : 0;
	w->stopped = c[2] ? atof(c[2]) : 0;
	w->ready = c[3] ? atof(c[3]) : 0;
	return 0;
}

static int count_row(void *opaque, int n, char **c, char **names)
{
	*(int *)opaque = c[0] ? atoi(c[0]) : 0;
	return 0;
}

int mig_state_warm_get(struct mig_state *st, const char *vm, struct mig_warm_state *out)
{
	char *sql = sqlite3_mprintf("SELECT cutover_requested, stop_started, stopped, ready FROM warm"
				    " WHERE vm = %Q", vm);
	int rc;

	memset(out, 0, sizeof(*out));
	if (!sql)
		return err_set(-ENOMEM, st->path, "out of memory");
	rc = sqlite3_exec(st->db, sql, warm_row, out, NULL);
	sqlite3_free(sql);
	if (rc == SQLITE_OK) {
		sql = sqlite3_mprintf("SELECT COALESCE(MAX(n) + 1, 0) FROM passes WHERE vm = %Q", vm);
		rc = sql ? sqlite3_exec(st->db, sql, count_row, &out->next_pass, NULL) : SQLITE_NOMEM;
		sqlite3_free(sql);
	}
	return rc == SQLITE_OK ? 0 : db_error(st, rc, "state database");
}

int mig_state_warm_mark(struct mig_state *st, const char *vm, enum mig_warm_event what, double t)
{
	static const char *const column[] = { "cutover_requested", "stop_started", "stopped",
					      "ready" };
	char sql[256];

	snprintf(sql, sizeof(sql), "INSERT INTO warm (vm, %s) VALUES (?1, ?2) ON CONFLICT(vm)"
		 " DO UPDATE SET %s = ?2", column[what], column[what]);
	return run(st, sql, "sd", vm, t);
}

int mig_state_pass_begin(struct mig_state *st, const char *vm, int n, const char *kind)
{
	return run(st, "INSERT OR REPLACE INTO passes (vm, n, kind, status, started)"
		   " VALUES (?, ?, ?, 'running', ?)", "sisd", vm, (uint64_t)n, kind, now());
}

int mig_state_pass_end(struct mig_state *st, const char *vm, int n, const char *status,
		       const struct mig_pass_bytes *b)
{
	return run(st, "UPDATE passes SET status = ?, ended = ?, bytes_read = ?, bytes_written = ?,"
		   " bytes_zeroed = ? WHERE vm = ? AND n = ?", "sdiiisi", status, now(), b->read,
		   b->written, b->zeroed, vm, (uint64_t)n);
}

int mig_state_pass_record(struct mig_state *st, const char *vm, int n, const char *kind,
			  double started, double ended, const struct mig_pass_bytes *b)
{
	return run(st, "INSERT OR IGNORE INTO passes (vm, n, kind, status, started, ended,"
		   " bytes_read, bytes_written, bytes_zeroed) VALUES (?, ?, ?, 'done', ?, ?, ?, ?, ?)",
		   "sisddiii", vm, (uint64_t)n, kind, started, ended, b->read, b->written, b->zeroed);
}

int mig_state_pass_interrupted(struct mig_state *st, const char *vm)
{
	return run(st, "UPDATE passes SET status = 'interrupted' WHERE vm = ? AND status = 'running'",
		   "s", vm);
}
