/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * v2v.c - the steps of `imgtool v2v` in order: read the source (the -i input,
 * input/input.h), copy each disk with the copy engine into DIR/NAME-sdX.FMT (the
 * source is only ever opened read-only; a copy is created exclusively, never over
 * an existing file), open all the copies on one libguestfs appliance (one launch:
 * each costs 20-90 s under TCG), convert the guest, shut the appliance down (the
 * flush that makes the disks consistent), write the output's file and finish it
 * (the -o output, output/output.h).
 *
 * Any failed step fails the conversion with the step's name, and the disks it
 * created are removed: a half-converted guest is never left looking finished.
 * --in-place skips the copy and converts the given disks themselves.
 */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/opts.h"
#include "formats/format.h"
#include "convert/copy.h"
#include "guest/customize.h"
#include "guest/guest.h"
#include "guest/sysprep.h"
#include "v2v/output/output.h"
#include "v2v/v2v.h"

struct run {
	const struct v2v_params *p;
	struct v2v_report *r;
	struct v2v_source src;
	const char *name;
	char **disks;             /* the disks converted (copies, or the sources in place) */
	char **formats;
	int created;              /* copies created so far (removed on failure) */
	bool uefi;
	bool windows;             /* a Windows guest (windows/), else Linux */
	bool rtc_localtime;
};

static void disk_path(const struct run *u, int i, char *path, size_t len)
{
	snprintf(path, len, "%s/%s-sd%c.%s", u->p->out_dir, u->name, 'a' + i, u->p->out_format);
}

static int already_there(const char *path)
{
	return err_set(-EEXIST, path, "already exists (remove it or choose another -os/-on)");
}

/* Before any copy, so that a conversion does not run for minutes only to meet an
 * existing file at the end.  This is a courtesy: what guarantees that nothing is
 * overwritten is the exclusive create of each file (copy_disk, v2v_output_write). */
static int outputs_free(const struct run *u)
{
	char path[PATH_MAX];
	struct stat st;

	if (!u->p->out_dir)
		return 0;
	for (int i = 0; !u->p->in_place && i < u->src.nb_disks; i++) {
		disk_path(u, i, path, sizeof(path));
		if (!lstat(path, &st))
			return already_there(path);
	}
	v2v_output_path(u->p->output, u->p->out_dir, u->name, path, sizeof(path));
	return lstat(path, &st) ? 0 : already_there(path);
}

static int read_source(struct run *u)
{
	const struct v2v_params *p = u->p;
	int r;

	r = p->input->open(p->src, p->src_format, &u->src);
	if (r)
		return r;
	if (u->src.nb_disks < 1)
		return err_set(-EINVAL, p->src, "the source has no disks");
	if (u->src.nb_disks > 26)
		return err_set(-EINVAL, p->src, "%d disks: at most 26 are converted", u->src.nb_disks);
	u->name = p->out_name ? p->out_name : u->src.name;
	if (!u->name || !*u->name || strchr(u->name, '/'))
		return err_set(-EINVAL, p->src, "cannot name the guest from the source: give -on NAME");
	u->disks = calloc((size_t)u->src.nb_disks, sizeof(char *));
	u->formats = calloc((size_t)u->src.nb_disks, sizeof(char *));
	if (!u->disks || !u->formats)
		return -ENOMEM;
	return outputs_free(u);
}

/* Copy source disk i to DIR/NAME-sdX.FMT. */
static int copy_disk(struct run *u, int i, char *detail, size_t dlen)
{
	const struct v2v_params *p = u->p;
	struct image *src = NULL, *dst = NULL;
	struct opts o = { 0 };
	struct copy_params cp = { 0 };
	char path[PATH_MAX], sz[32];
	int r;

	disk_path(u, i, path, sizeof(path));
	r = v2v_disk_open(&u->src.disks[i], &src);
	if (r)
		return r;
	r = image_create_flags(path, p->out_format, src->size, &o, IMG_CREATE_EXCL);
	if (!r) {
		u->disks[i] = strdup(path);
		u->created = i + 1;
		r = u->disks[i] ? image_open(path, p->out_format, IMG_RDWR, &dst) : -ENOMEM;
	}
	if (!r) {
		cp.src = &src;
		cp.nb_src = 1;
		cp.dst = dst;
		cp.min_sparse = COPY_DEFAULT_SPARSE;
		cp.target_zeroed = dst->zero_init;
		r = copy_run(&cp);
	}
	format_size(src->size, sz, sizeof(sz));
	snprintf(detail, dlen, "%s (%s) -> %s", src->filename, sz, path);
	if (dst)
		image_close(dst);
	image_close(src);
	opts_free(&o);
	if (!r && !(u->formats[i] = strdup(p->out_format)))
		r = -ENOMEM;
	return r;
}

/* --in-place: the source disks themselves, each with its (probed) format. */
static int take_in_place(struct run *u)
{
	for (int i = 0; i < u->src.nb_disks; i++) {
		const struct v2v_disk *d = &u->src.disks[i];
		struct image *img;
		int r;

		if (d->offset || d->length)
			return err_set(-ENOTSUP, d->path, "--in-place cannot convert a disk inside an archive");
		r = v2v_disk_open(d, &img);
		if (r)
			return r;
		u->formats[i] = strdup(img->ops->name);
		image_close(img);
		u->disks[i] = strdup(d->path);
		if (!u->disks[i] || !u->formats[i])
			return -ENOMEM;
	}
	return 0;
}

static struct json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

#ifdef HAVE_LIBGUESTFS
/* What the guest is, for the report and the dispatch; refuses what is not handled. */
static int describe_guest(struct run *u, struct guest *gu, char *detail, size_t dlen)
{
	guestfs_h *g = guest_h(gu);
	char *type = guestfs_inspect_get_type(g, gu->root);
	char *distro = guestfs_inspect_get_distro(g, gu->root);
	char *product = guestfs_inspect_get_product_name(g, gu->root);
	char *arch = guestfs_inspect_get_arch(g, gu->root);
	struct json_object *o = json_object_new_object();
	int r = 0;

	json_object_object_add(o, "type", str_or_null(type));
	json_object_object_add(o, "distro", str_or_null(distro));
	json_object_object_add(o, "product", str_or_null(product));
	json_object_object_add(o, "arch", str_or_null(arch));
	json_object_object_add(o, "root", json_object_new_string(gu->root));
	u->uefi = u->src.firmware == V2V_FW_UEFI ||
		  (u->src.firmware == V2V_FW_UNKNOWN && guest_is_dir(gu, "/boot/efi/EFI"));
	json_object_object_add(o, "firmware", json_object_new_string(u->uefi ? "uefi" : "bios"));
	v2v_report_set(u->r, "guest", o);
	snprintf(detail, dlen, "%s (%s, %s), root %s, %s", product ? product : "?",
		 type ? type : "?", arch ? arch : "?", gu->root, u->uefi ? "UEFI" : "BIOS");
	u->windows = type && !strcmp(type, "windows");
	if (u->windows && !u->p->virtio_win) {
		r = err_set(-ENOTSUP, u->p->src, "a Windows guest needs the virtio-win drivers "
			    "(viostor, vioscsi, netkvm) to boot on KVM: give --virtio-win DIR "
			    "(the content of the virtio-win ISO); nothing was converted");
	} else if (!u->windows && (!type || strcmp(type, "linux"))) {
		r = err_set(-ENOTSUP, u->p->src, "guest type '%s' cannot be converted (Linux and "
			    "Windows only)", type ? type : "unknown");
	} else if (arch && strcmp(arch, "x86_64") && strcmp(arch, "i386")) {
		r = err_set(-ENOTSUP, u->p->src, "guest architecture %s cannot run on x86_64 KVM", arch);
	}
	free(type);
	free(distro);
	free(product);
	free(arch);
	return r;
}
#endif

#ifdef HAVE_LIBGUESTFS
/* A plan's sysprep and customize, on the converted guest: sysprep first, so that
 * the identity customize gives (a hostname) is not taken away again. */
static int guest_edits(struct run *u, struct guest *gu)
{
	const struct v2v_params *p = u->p;
	int r = 0;

	if (p->sysprep) {
		v2v_step_begin(u->r, "sysprep");
		r = sysprep_run(gu, p->sysprep, false, "");
		v2v_step_end(u->r, r, "the enabled operations");
	}
	if (!r && p->nb_customize) {
		v2v_step_begin(u->r, "customize");
		r = customize_run(gu, p->customize, p->nb_customize, "",
				  customize_wants_network(p->customize, p->nb_customize));
		v2v_step_end(u->r, r, "%zu operation%s", p->nb_customize,
			     p->nb_customize == 1 ? "" : "s");
	}
	return r;
}
#endif

static int convert_guest(struct run *u)
{
#ifdef HAVE_LIBGUESTFS
	struct v2v_linux_opts lo = {
		.bus = u->p->bus,
		.nb_nics = u->src.nb_nics > 0 ? u->src.nb_nics : 1,
		.nb_disks = u->src.nb_disks,
	};
	struct v2v_windows_opts wo = { .bus = u->p->bus, .virtio_win = u->p->virtio_win };
	struct guest_disk *disks = calloc((size_t)u->src.nb_disks, sizeof(*disks));
	struct guest *gu = NULL;
	char detail[512] = "";
	int r, c;

	if (!disks)
		return err_set(-ENOMEM, u->p->src, "out of memory");
	for (int i = 0; i < u->src.nb_disks; i++)
		disks[i] = (struct guest_disk){ .path = u->disks[i], .format = u->formats[i] };
	v2v_step_begin(u->r, "inspect");
	r = guest_open(&(struct guest_opts){ .disks = disks, .nb_disks = u->src.nb_disks,
					     .mode = GUEST_WRITE,
					     .network = customize_wants_network(u->p->customize,
										u->p->nb_customize) },
		       &gu);
	free(disks);
	if (!r)
		r = describe_guest(u, gu, detail, sizeof(detail));
	v2v_step_end(u->r, r, "%s", detail);
	if (!r)
		r = u->windows ? v2v_convert_windows(gu, &wo, u->r, &u->rtc_localtime)
			       : v2v_convert_linux(gu, &lo, u->r);
	if (!r)
		r = guest_edits(u, gu);
	v2v_step_begin(u->r, "close");
	c = guest_close(gu);
	v2v_step_end(u->r, r ? 0 : c, "disks flushed");
	return r ? r : c;
#else
	return err_set(-ENOTSUP, u->p->src, "imgtool was built without libguestfs "
		       "(apt-get install libguestfs-dev, then rebuild)");
#endif
}

static struct v2v_target target_of(const struct run *u)
{
	return (struct v2v_target){
		.disks = u->disks, .nb_disks = u->src.nb_disks, .format = u->formats[0],
		.name = u->name, .dir = u->p->out_dir, .bus = u->p->bus,
		.memory_mib = u->src.memory_mib, .vcpus = u->src.vcpus, .uefi = u->uefi,
		.rtc_localtime = u->rtc_localtime, .src = &u->src,
	};
}

static int write_output(struct run *u)
{
	struct v2v_target t = target_of(u);
	char path[PATH_MAX];
	int r;

	v2v_output_path(u->p->output, u->p->out_dir, u->name, path, sizeof(path));
	v2v_step_begin(u->r, "output");
	r = v2v_output_write(u->p->output, &t, u->r);
	v2v_step_end(u->r, r, "%s", path);
	return r;
}

static int finish_output(struct run *u)
{
	const struct v2v_output_ops *o = u->p->output;
	struct v2v_target t = target_of(u);
	char path[PATH_MAX], detail[PATH_MAX + 128] = "";
	int r;

	v2v_output_path(o, u->p->out_dir, u->name, path, sizeof(path));
	v2v_step_begin(u->r, o->finish_step);
	r = o->finish(&t, u->p, path, u->r, detail, sizeof(detail));
	v2v_step_end(u->r, r, "%s", detail);
	return r;
}

static void record_disks(struct run *u)
{
	struct json_object *a = json_object_new_array();

	for (int i = 0; i < u->src.nb_disks; i++) {
		struct json_object *d = json_object_new_object();

		json_object_object_add(d, "source", json_object_new_string(u->src.disks[i].path));
		json_object_object_add(d, "output", str_or_null(u->disks[i]));
		json_object_object_add(d, "format", str_or_null(u->formats[i]));
		json_object_array_add(a, d);
	}
	v2v_report_set(u->r, "disks", a);
}

int v2v_run(const struct v2v_params *p, struct v2v_report *r)
{
	struct run u = { .p = p, .r = r };
	struct v2v_freeze *freeze = NULL;
	char detail[PATH_MAX + 128];
	bool keep = false;
	int ret;

	v2v_step_begin(r, "source");
	ret = read_source(&u);
	v2v_step_end(r, ret, "-i %s %s: %d disk%s, guest %s", p->input->name, p->src, u.src.nb_disks,
		     u.src.nb_disks == 1 ? "" : "s", u.name ? u.name : "?");
	if (ret)
		goto out;
	v2v_report_set(r, "name", json_object_new_string(u.name));
	v2v_report_set(r, "source", json_object_new_string(p->src));
	if (p->in_place) {
		v2v_step_begin(r, "in place");
		ret = take_in_place(&u);
		v2v_step_end(r, ret, "converting the source disks themselves");
	}
	if (!ret && p->source_freeze) {
		v2v_step_begin(r, "freeze");
		ret = v2v_freeze_begin(&u.src, &freeze, detail, sizeof(detail));
		v2v_step_end(r, ret, "frozen: %s", detail);
	}
	for (int i = 0; !ret && !p->in_place && i < u.src.nb_disks; i++) {
		char step[32];

		snprintf(step, sizeof(step), "copy sd%c", 'a' + i);
		v2v_step_begin(r, step);
		detail[0] = '\0';
		ret = copy_disk(&u, i, detail, sizeof(detail));
		v2v_step_end(r, ret, "%s", detail);
	}
	if (freeze) {
		int t;

		v2v_step_begin(r, "thaw");
		t = v2v_freeze_end(freeze, detail, sizeof(detail));
		v2v_step_end(r, t, "thawed: %s", detail);
		if (!ret)
			ret = t;
	}
	if (!ret)
		ret = convert_guest(&u);
	if (!ret && p->out_dir)
		ret = write_output(&u);
	if (!ret && p->out_dir && p->output->finish) {
		ret = finish_output(&u);
		keep = ret != 0;   /* converted and described: only the finish is left to do */
	}
	record_disks(&u);
	/* a failed conversion leaves no converted-looking disks behind */
	if (ret && !p->in_place && !keep)
		for (int i = 0; i < u.created; i++)
			if (u.disks[i])
				unlink(u.disks[i]);
out:
	for (int i = 0; u.disks && i < u.src.nb_disks; i++) {
		free(u.disks[i]);
		free(u.formats[i]);
	}
	free(u.disks);
	free(u.formats);
	v2v_source_free(&u.src);
	return ret;
}

int v2v_precheck(const struct v2v_params *p)
{
	struct v2v_source s = { 0 };
	int r = -1;

	if (!p->output->precheck)
		return 0;
	if (p->out_name)
		return p->output->precheck(p, p->out_name);
	if (p->input->names_quickly)
		r = p->input->open(p->src, p->src_format, &s);
	err_clear();   /* a bad source is reported by v2v_run, with its step */
	if (r)
		return p->output->precheck(p, NULL);
	r = p->output->precheck(p, s.name);
	v2v_source_free(&s);
	return r;
}

/* A run over disks copied elsewhere: the source's facts, the work disks converted,
 * the final disks described.  src is the caller's (shallow copy, never freed). */
static struct run prepared_run(const struct v2v_params *p, const struct v2v_prepared *d,
			       struct v2v_report *r)
{
	return (struct run){ .p = p, .r = r, .src = *d->src, .name = p->out_name,
			     .disks = d->work, .formats = NULL };
}

static int with_formats(struct run *u, const char *format)
{
	u->formats = calloc((size_t)u->src.nb_disks + 1, sizeof(char *));
	if (!u->formats)
		return err_set(-ENOMEM, u->p->src, "out of memory");
	for (int i = 0; i < u->src.nb_disks; i++)
		u->formats[i] = (char *)format;
	return 0;
}

int v2v_convert_prepared(const struct v2v_params *p, const struct v2v_prepared *d,
			 struct v2v_report *r)
{
	struct run u = prepared_run(p, d, r);
	int ret = with_formats(&u, d->work_format);

	if (!ret)
		ret = convert_guest(&u);
	if (!ret) {
		/* the output names the disks the work lands in, in their format */
		u.disks = d->disks;
		for (int i = 0; i < u.src.nb_disks; i++)
			u.formats[i] = (char *)d->format;
		ret = write_output(&u);
	}
	free(u.formats);
	return ret;
}

int v2v_finish_prepared(const struct v2v_params *p, const struct v2v_prepared *d,
			struct v2v_report *r)
{
	struct run u = prepared_run(p, d, r);
	int ret = with_formats(&u, d->format);

	u.disks = d->disks;
	if (!ret && p->output->finish)
		ret = finish_output(&u);
	free(u.formats);
	return ret;
}
