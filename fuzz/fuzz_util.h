/* SPDX-License-Identifier: LGPL-2.1-or-later */
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

/* libFuzzer's entry points.  fuzz_util.c defines LLVMFuzzerInitialize: it sends
 * stdout to /dev/null (the v2v parsers print warnings) and then calls the
 * harness's fuzz_setup() when it has one (a weak symbol). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_setup(void) __attribute__((weak));

#endif
