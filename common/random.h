/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * random.h - random identifiers: bytes from the kernel's generator, version 4
 * UUIDs in their text form (libvirt domains, NetworkManager connections) and
 * locally administered MAC addresses with QEMU's 52:54:00 prefix.
 */
#ifndef IMGTOOL_RANDOM_H
#define IMGTOOL_RANDOM_H

#include <stddef.h>

#define UUID_STR_LEN 37   /* 36 characters and the NUL */
#define MAC_STR_LEN 18

/* Fill buf with n random bytes: 0, or -EIO with the message set. */
int random_bytes(void *buf, size_t n);
/* A random (version 4) UUID, lower-case, e.g. "1b4e28ba-2fa1-41d2-883f-0016d3cca427". */
int random_uuid_str(char out[UUID_STR_LEN]);
/* A random MAC address under QEMU's prefix, e.g. "52:54:00:1a:2b:3c". */
int random_mac_str(char out[MAC_STR_LEN]);

#endif
