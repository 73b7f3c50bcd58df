/*
 * fuzz_util.h - what the libFuzzer harnesses share: each input becomes a file in a
 * private scratch folder (on /dev/shm when there is one), because formats open
 * their images through the ordinary backends by name, as the CLI does; a memory
 * backend would leave the file backend's paths (and a VMDK's extent lookup beside
 * the descriptor) untested.
 */
#ifndef IMGTOOL_FUZZ_UTIL_H
#define IMGTOOL_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Write data to NAME in the process's scratch folder (made on first use, removed at
 * exit) and return its path (static storage, valid until the next call). */
const char *fuzz_write_file(const char *name, const uint8_t *data, size_t len);

/* Keep the library quiet: messages go to err_set's buffer only, never a crash. */
void fuzz_quiet_init(void);

#endif
