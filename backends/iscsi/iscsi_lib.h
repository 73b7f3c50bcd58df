/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * iscsi_lib.h - libiscsi, loaded with dlopen() when an iscsi:// URL is first
 * opened.
 *
 * Linking libiscsi directly also loads libibverbs, librdmacm and libnl (its
 * iSER transport) into every imgtool process: about 0.9 ms of start-up, a third
 * of a quick command such as "imgtool info".  The headers still give the types
 * and the prototypes: each pointer's type is __typeof__ the real function, so
 * a signature cannot drift from the installed headers.
 */
#ifndef IMGTOOL_ISCSI_LIB_H
#define IMGTOOL_ISCSI_LIB_H

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

/* Every libiscsi function iscsi.c calls. */
#define ISCSI_LIB_FUNCS(X) \
	X(iscsi_create_context) \
	X(iscsi_destroy_context) \
	X(iscsi_full_connect_sync) \
	X(iscsi_get_error) \
	X(iscsi_get_lba_status_sync) \
	X(iscsi_is_logged_in) \
	X(iscsi_logout_sync) \
	X(iscsi_read16_sync) \
	X(iscsi_readcapacity16_sync) \
	X(iscsi_set_header_digest) \
	X(iscsi_set_initiator_username_pwd) \
	X(iscsi_set_noautoreconnect) \
	X(iscsi_set_session_type) \
	X(iscsi_set_target_username_pwd) \
	X(iscsi_set_targetname) \
	X(iscsi_set_timeout) \
	X(iscsi_synchronizecache16_sync) \
	X(iscsi_unmap_sync) \
	X(iscsi_write16_sync) \
	X(iscsi_writesame16_sync) \
	X(scsi_datain_unmarshall) \
	X(scsi_free_scsi_task) \
	X(scsi_sense_ascq_str) \
	X(scsi_sense_key_str)

struct iscsi_lib {
#define ISCSI_LIB_MEMBER(fn) __typeof__(&fn) fn;
	ISCSI_LIB_FUNCS(ISCSI_LIB_MEMBER)
#undef ISCSI_LIB_MEMBER
};

/* The resolved functions; valid only after iscsi_lib_load() returned 0. */
extern struct iscsi_lib iscsi_lib;

/* Load libiscsi and resolve every function, once per process (thread-safe).
 * Returns 0, or a negative errno with the message set against url. */
int iscsi_lib_load(const char *url);

#endif
