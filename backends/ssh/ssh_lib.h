/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ssh_lib.h - libssh, loaded with dlopen() when an ssh:// URL is first opened
 * (common/dl.c), as libiscsi and librbd are.
 *
 * Linked, libssh brings libgssapi_krb5 and the Kerberos libraries into every
 * imgtool process, even `imgtool --version`.  The headers still give the types:
 * each pointer's type is __typeof__ the real function, so a signature cannot
 * drift from the installed headers.
 */
#ifndef IMGTOOL_SSH_LIB_H
#define IMGTOOL_SSH_LIB_H

#include <libssh/libssh.h>
#include <libssh/sftp.h>

/* Every libssh function backends/ssh/ calls. */
#define SSH_LIB_FUNCS(X) \
	X(ssh_new) \
	X(ssh_free) \
	X(ssh_options_set) \
	X(ssh_connect) \
	X(ssh_disconnect) \
	X(ssh_get_error) \
	X(ssh_get_error_code) \
	X(ssh_get_fd) \
	X(ssh_get_server_publickey) \
	X(ssh_get_publickey_hash) \
	X(ssh_get_fingerprint_hash) \
	X(ssh_clean_pubkey_hash) \
	X(ssh_string_free_char) \
	X(ssh_key_free) \
	X(ssh_session_is_known_server) \
	X(ssh_userauth_none) \
	X(ssh_userauth_publickey_auto) \
	X(ssh_userauth_publickey) \
	X(ssh_userauth_password) \
	X(ssh_pki_import_privkey_file) \
	X(ssh_channel_new) \
	X(ssh_channel_open_session) \
	X(ssh_channel_request_exec) \
	X(ssh_channel_write) \
	X(ssh_channel_send_eof) \
	X(ssh_channel_poll_timeout) \
	X(ssh_channel_poll) \
	X(ssh_channel_read_nonblocking) \
	X(ssh_channel_is_eof) \
	X(ssh_channel_get_exit_status) \
	X(ssh_channel_close) \
	X(ssh_channel_free) \
	X(sftp_new) \
	X(sftp_init) \
	X(sftp_free) \
	X(sftp_get_error) \
	X(sftp_extension_supported) \
	X(sftp_open) \
	X(sftp_close) \
	X(sftp_seek64) \
	X(sftp_read) \
	X(sftp_async_read_begin) \
	X(sftp_async_read) \
	X(sftp_write) \
	X(sftp_fstat) \
	X(sftp_setstat) \
	X(sftp_fsync) \
	X(sftp_attributes_free)

struct ssh_lib {
#define SSH_LIB_MEMBER(fn) __typeof__(&fn) fn;
	SSH_LIB_FUNCS(SSH_LIB_MEMBER)
#undef SSH_LIB_MEMBER
};

/* The resolved functions; valid only after ssh_lib_load() returned 0. */
extern struct ssh_lib ssh_lib;

/* Load libssh and resolve every function, once per process (thread-safe).
 * Returns 0, or a negative errno with the message set against where. */
int ssh_lib_load(const char *where);

#endif
