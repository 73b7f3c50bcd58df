/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhdx_crc32c.c - CRC-32C (Castagnoli), the checksum of every VHDX header, region
 * table, log entry and metadata structure.
 *
 * Reflected polynomial 0x82f63b78, initial value and final xor all ones, stored
 * little-endian.  Only metadata is checksummed (a few KiB per open), so one
 * 256-entry table, built once, is fast enough.
 */
#include "vhdx.h"
#include "../../common/bswap.h"

#include <pthread.h>

#define CRC32C_POLY 0x82f63b78u

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
		crc_table[i] = c;
	}
}

/* crc: 0 to start, or a previous result to continue over more bytes. */
uint32_t vhdx_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	pthread_once(&crc_once, crc_table_init);
	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

uint32_t vhdx_checksum(const uint8_t *buf, size_t len, size_t csum_off)
{
	static const uint8_t zero[4];
	uint32_t crc = vhdx_crc32c(0, buf, csum_off);

	crc = vhdx_crc32c(crc, zero, 4);
	return vhdx_crc32c(crc, buf + csum_off + 4, len - csum_off - 4);
}
