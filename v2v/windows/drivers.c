/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * v2v_windows_drivers.c - the virtio-win tree on the host (the content of the
 * virtio-win ISO, or /usr/share/virtio-win): which files serve the guest.
 *
 * The ISO is laid out DRIVER/OS/ARCH/FILES (viostor/2k19/amd64/viostor.sys) and the
 * packaged tree drivers/by-os/ARCH/OS/FILES; as virt-v2v does, a file serves the
 * guest when one element of its path names the guest's Windows version and one its
 * architecture, whatever the order, so both layouts work.  The version names are
 * the ISO's (w7, 2k8R2, w8.1, 2k12R2, w10, w11, 2k16, 2k19, 2k22, 2k25...),
 * derived from the registry's version, the product variant (Server or Client),
 * the product name (Server 2016/2019/2022/2025 are all 10.0; a name that names
 * no year falls back to the build: 26100, 20348, 17763, else 2016) and the build
 * number (Windows 11 is 10.0 with build 22000 or later).
 *
 * The tree is untrusted input: the walk is bounded in files, depth and file size.
 */
#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/err.h"
#include "v2v/windows/windows.h"

#define MAX_VISITED 100000          /* files and folders walked */
#define MAX_DEPTH 8
#define MAX_MATCHES 512
#define MAX_FILE_SIZE (256u << 20)  /* a driver file is at most a few MiB */

const char *v2v_win_os_dir(int major, int minor, bool server, const char *product, long build)
{
	const char *p = product ? product : "";

	if (major == 6 && minor == 0)
		return server ? "2k8" : NULL;       /* Vista: no virtio-win drivers */
	if (major == 6 && minor == 1)
		return server ? "2k8R2" : "w7";
	if (major == 6 && minor == 2)
		return server ? "2k12" : "w8";
	if (major == 6 && minor == 3)
		return server ? "2k12R2" : "w8.1";
	if (major != 10 || minor != 0)
		return NULL;
	if (!server)
		return build >= 22000 ? "w11" : "w10";
	if (strstr(p, "2025"))
		return "2k25";
	if (strstr(p, "2022"))
		return "2k22";
	if (strstr(p, "2019"))
		return "2k19";
	if (strstr(p, "2016"))
		return "2k16";
	return build >= 26100 ? "2k25" : build >= 20348 ? "2k22" : build >= 17763 ? "2k19" : "2k16";
}

const char *v2v_win_arch_dir(const char *arch)
{
	if (!arch)
		return NULL;
	if (!strcmp(arch, "x86_64"))
		return "amd64";
	if (!strcmp(arch, "i386"))
		return "x86";
	return NULL;
}

/* Is elem (len bytes) one of the path's elements, ignoring case? */
static bool has_element(const char *path, const char *elem)
{
	size_t n = strlen(elem);

	for (const char *s = path; *s; ) {
		const char *e = strchr(s, '/');
		size_t l = e ? (size_t)(e - s) : strlen(s);

		if (l == n && !strncasecmp(s, elem, n))
			return true;
		if (!e)
			break;
		s = e + 1;
	}
	return false;
}

static bool ends_with_ci(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);

	return a >= b && !strcasecmp(s + a - b, tail);
}

bool v2v_win_path_matches(const char *relpath, const char *os_dir, const char *arch_dir)
{
	const char *base = strrchr(relpath, '/');
	bool arch;

	base = base ? base + 1 : relpath;
	if (!os_dir || !arch_dir || !*base)
		return false;
	arch = has_element(relpath, arch_dir) ||
	       (!strcasecmp(arch_dir, "x86") && has_element(relpath, "i386"));
	if (!arch || !has_element(relpath, os_dir))
		return false;
	if (ends_with_ci(base, ".pdb") || has_element(relpath, "sriov") ||
	    strncasecmp(base, "vioprot.", 8) == 0)
		return false;
	return true;
}

/* ---- the walk: nftw has no user pointer, so its state is one per thread ---- */

static __thread struct walk {
	const char *top;
	size_t toplen;
	const char *os_dir, *arch_dir;
	struct win_files *out;
	size_t visited;
	int err;
} *walk_state;

static int add_match(struct walk *w, const char *path, const struct stat *st)
{
	const char *base = strrchr(path, '/');
	struct win_file *f;

	base = base ? base + 1 : path;
	if (w->out->n >= MAX_MATCHES)
		return err_set(-EFBIG, w->top, "more than %d driver files for %s/%s: not a "
			       "virtio-win tree?", MAX_MATCHES, w->os_dir, w->arch_dir);
	if ((uint64_t)st->st_size > MAX_FILE_SIZE)
		return err_set(-EFBIG, path, "%lld bytes: too big for a driver file",
			       (long long)st->st_size);
	f = &w->out->f[w->out->n];
	f->host = strdup(path);
	f->name = strdup(base);
	f->size = (uint64_t)st->st_size;
	if (!f->host || !f->name) {
		free(f->host);
		free(f->name);
		return -ENOMEM;
	}
	for (char *c = f->name; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	w->out->n++;
	return 0;
}

static int visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	struct walk *w = walk_state;
	const char *rel = path + w->toplen;

	if (++w->visited > MAX_VISITED) {
		w->err = err_set(-EFBIG, w->top, "more than %d files: not a virtio-win tree?",
				 MAX_VISITED);
		return FTW_STOP;
	}
	if (flag == FTW_D && ftw->level >= MAX_DEPTH)
		return FTW_SKIP_SUBTREE;
	if (flag != FTW_F || !S_ISREG(st->st_mode))
		return FTW_CONTINUE;
	while (*rel == '/')
		rel++;
	if (!v2v_win_path_matches(rel, w->os_dir, w->arch_dir))
		return FTW_CONTINUE;
	w->err = add_match(w, path, st);
	return w->err ? FTW_STOP : FTW_CONTINUE;
}

static int cmp_host(const void *a, const void *b)
{
	const struct win_file *x = a, *y = b;

	return strcmp(x->host, y->host);
}

/* One file per staged name: the first in path order wins, so the result does not
 * depend on the order the file system lists folders in. */
static void dedup(struct win_files *fs)
{
	size_t k = 0;

	qsort(fs->f, fs->n, sizeof(fs->f[0]), cmp_host);
	for (size_t i = 0; i < fs->n; i++) {
		bool dup = false;

		for (size_t j = 0; j < k && !dup; j++)
			dup = !strcmp(fs->f[j].name, fs->f[i].name);
		if (dup) {
			free(fs->f[i].host);
			free(fs->f[i].name);
		} else {
			fs->f[k++] = fs->f[i];
		}
	}
	fs->n = k;
}

int v2v_win_find_files(const char *dir, const char *os_dir, const char *arch_dir,
		       struct win_files *out)
{
	struct walk w = { .top = dir, .toplen = strlen(dir), .os_dir = os_dir,
			  .arch_dir = arch_dir, .out = out };
	struct stat st;
	int r;

	out->n = 0;
	out->f = calloc(MAX_MATCHES, sizeof(*out->f));
	if (!out->f)
		return -ENOMEM;
	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		return err_set(-ENOTDIR, dir, "--virtio-win: not a directory");
	walk_state = &w;
	/* symbolic links are followed (the packaged tree links by-os to by-driver);
	 * glibc's nftw never enters a folder twice */
	r = nftw(dir, visit, 32, FTW_ACTIONRETVAL);
	walk_state = NULL;
	if (w.err)
		return w.err;
	if (r < 0)
		return err_set(-errno, dir, "cannot read the virtio-win tree: %s", strerror(errno));
	dedup(out);
	return 0;
}

const struct win_file *v2v_win_file(const struct win_files *fs, const char *name)
{
	for (size_t i = 0; i < fs->n; i++)
		if (!strcasecmp(fs->f[i].name, name))
			return &fs->f[i];
	return NULL;
}

void v2v_win_files_free(struct win_files *fs)
{
	for (size_t i = 0; fs->f && i < fs->n; i++) {
		free(fs->f[i].host);
		free(fs->f[i].name);
	}
	free(fs->f);
	fs->f = NULL;
	fs->n = 0;
}
