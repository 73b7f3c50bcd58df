/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * random.c - random identifiers (see random.h).  getrandom() never runs short for
 * requests this small once the pool is initialised; a failure is reported rather
 * than replaced by a weaker source, since two clones sharing an id is the bug the
 * ids exist to prevent.
 */
#include "common/random.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "common/err.h"

int random_bytes(void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom((uint8_t *)buf + got, n - got, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return err_set(-EIO, NULL, "getrandom: %s", strerror(r < 0 ? errno : EIO));
		got += (size_t)r;
	}
	return 0;
}

int random_uuid_str(char out[UUID_STR_LEN])
{
	uint8_t b[16];
	int r = random_bytes(b, sizeof(b));

	if (r)
		return r;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);   /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);   /* RFC 4122 variant */
	snprintf(out, UUID_STR_LEN,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
		 b[12], b[13], b[14], b[15]);
	return 0;
}

int random_mac_str(char out[MAC_STR_LEN])
{
	uint8_t b[3];
	int r = random_bytes(b, sizeof(b));

	if (r)
		return r;
	snprintf(out, MAC_STR_LEN, "52:54:00:%02x:%02x:%02x", b[0], b[1], b[2]);
	return 0;
}
