/* The shared-memory module's file: one small fixed layout, mapped by every
 * process that opens the same name, holding a header and the limiter's
 * state words. shm_file.c creates, validates and maps it; the limiters in
 * shm_token_bucket.c and shm_sliding_window.c only touch the state words.
 *
 * Layout version 1 (128 bytes, native byte order, every word a lock-free
 * 64-bit atomic):
 *
 *   offset  word
 *        0  phase: 0 = empty; INIT|pid while `pid` initialises it;
 *           READY|boot tag once usable (see shm_file.c)
 *        8  magic: RS__SHM_MAGIC
 *       16  layout version << 32 | kind
 *       24  file size in bytes (128)
 *       32  configuration, 4 words, kind-specific; words 0 and 1 identify the
 *           limit and must match between openers
 *       64  state, 8 words, kind-specific, all zero initially
 */
#ifndef RS_SHM_INTERNAL_H
#define RS_SHM_INTERNAL_H

#include <stdint.h>

#include "core/atomics.h"

#define RS__SHM_CONFIG_WORDS 4
#define RS__SHM_STATE_WORDS 8

enum { RS__SHM_KIND_TOKEN_BUCKET = 1, RS__SHM_KIND_SLIDING_WINDOW = 2 };

typedef struct rs__shm_file {
    rs__atomic_u64 phase;
    rs__atomic_u64 magic;
    rs__atomic_u64 version_kind;
    rs__atomic_u64 file_size;
    rs__atomic_u64 config[RS__SHM_CONFIG_WORDS];
    rs__atomic_u64 state[RS__SHM_STATE_WORDS];
} rs__shm_file;

/* Opens (with RS_SHM_CREATE: creates if missing) the file or shared-memory
 * object `name`, maps it and makes sure it holds a ready limiter of `kind`:
 * initialises it with `config` if it is empty (or was left half-initialised
 * by a process that died), and otherwise checks it. `config` may be NULL
 * only with RS_SHM_ADOPT (join whatever configuration the file holds).
 * On RS_OK, *file is the mapping and `in_force` the configuration the file
 * holds. Returns RS_E_INVAL for a foreign or incompatible file (see shm.h),
 * RS_E_IO when the system refuses (open, ftruncate, mmap) or the file is
 * not initialised within the bounded wait. */
int rs__shm_map(const char *name, unsigned kind, const uint64_t *config, unsigned flags,
                uint64_t in_force[RS__SHM_CONFIG_WORDS], rs__shm_file **file);

void rs__shm_unmap(rs__shm_file *file);

#endif /* RS_SHM_INTERNAL_H */
