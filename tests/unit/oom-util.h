/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the allocation-failure tests (test-oom.c, test-oom-keys.c,
 * test-oom-tpm2.c, test-oom-install.c). */
#ifndef DEVID_TEST_OOM_UTIL_H
#define DEVID_TEST_OOM_UTIL_H

#include <stddef.h>

/** 1 when file (an allocation site's OPENSSL_FILE) is one of devid's own
 *  library sources under DEVID_TEST_SRCDIR (common/, provider/, pkcs11/,
 *  tpm2/), or TOOM_TOOLS (an allocation of the CLI's tools/ code, see
 *  test-oom-install.c), 0 for anything else (OpenSSL's, a module's). Real
 *  paths are compared: the objects and the test may spell the source
 *  directory differently (../.. from one configure, absolute from
 *  another). */
int toom_in_devid(const char *file);

/** The file name toom_fail_now gets for an allocation of tools/ code
 *  through malloc, calloc, realloc or strdup (no file of its own). */
extern const char TOOM_TOOLS[];

/** Replaces OpenSSL's allocator by the failing one below (before OpenSSL
 *  allocates anything: first thing in main). Returns 1, or 0 when OpenSSL
 *  refused. */
int toom_setup(void);

/** Whether the allocation at file:line is the one to fail: the armed
 *  countdown reached it, and it is not spared (toom_spared). Disarms
 *  itself after one failure. For the allocator and for wrappers. */
int toom_fail_now(const char *file, int line);

/** Not 0 while the allocator calls malloc or realloc for OpenSSL: a
 *  wrapper of malloc must then not count the call again. */
extern volatile int toom_inside;

/** The error queue, emptied: 0 when it was empty, 2 when it held devid's
 *  DEVID_R_MALLOC (through devid's library code or the dynamic code OpenSSL
 *  gave the provider), 1 when it held other errors only. The last error's
 *  text goes into last (size bytes). */
int toom_queue_drain(char *last, size_t size);

/** One call of the code under test, with arg: 1 on success, 0 on
 *  failure. */
typedef int (*toom_step_fn)(void *arg);

/** Judges a run of step in which the allocation at file (NULL: none failed)
 *  failed and step returned r: returns 1 when that is right, else 0 after
 *  printing why. Also called after the plain runs (file NULL). */
typedef int (*toom_judge_fn)(int r, const char *file, int line, void *arg);

/** The judge of library calls: a failed call must leave an error queued,
 *  DEVID_R_MALLOC when the failed allocation was devid's own. */
int toom_judge_queue(int r, const char *file, int line, void *arg);

/** The allocations a plain run of step makes, after a first one. */
long toom_count(toom_step_fn step, void *arg);

/** Runs step with its n-th allocation failing, for n = 0, stride,
 *  2 * stride, ... until a run makes fewer allocations than n (at most
 *  max runs), each run judged by judge (CUnit assertions). stride 0 counts
 *  and fails devid's own allocations only (toom_in_devid), every one. The step must
 *  succeed before and after the sweep. Returns the number of runs in
 *  which one of devid's own allocations failed (the caller asserts it is
 *  not 0), and prints what it did under what. */
long toom_sweep(const char *what, toom_step_fn step, toom_judge_fn judge,
                void *arg, long stride, long max);

/* The calls the key sweeps make (test-oom-keys.c, test-oom-tpm2.c). */
typedef struct evp_pkey_st EVP_PKEY;

/** Opens the private key at uri (a pkcs11: URI, a key file) through
 *  OSSL_STORE, as the CLI does. Returns a new EVP_PKEY or NULL. */
EVP_PKEY *toom_load_key(const char *uri);

/** EVP_PKEY_sign of a SHA-256 digest with pkey: 1 or 0. */
int toom_sign_digest(EVP_PKEY *pkey);

/** A CSR as the CLI makes one: subject CN, pkey's public half, signed by
 *  pkey with SHA-256 (X509_REQ_sign: EVP_DigestSign through devid). 1 or
 *  0 (the CLI tests check such CSRs). */
int toom_make_csr(EVP_PKEY *pkey);

#endif
