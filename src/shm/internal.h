/* The shared-memory module's file: one small fixed layout, mapped by every
 * process that opens the same name, holding a header and the limiter's
 * state words. file.c creates, checks and maps it; the limiters in
 * token_bucket.c and sliding_window.c only touch the state words.
 *
 * Layout version 1 (128 bytes, native byte order, every word a lock-free
 * 64-bit atomic):
 *
 *   offset  word
 *        0  phase: READY|boot tag once published; INIT|pid while `pid`
 *           resets the state after a reboot (see file.c)
 *        8  magic: RS__SHM_MAGIC
 *       16  layout version << 32 | kind
 *       24  file size in bytes (128)
 *       32  configuration, 4 words, kind-specific; words 0 and 1 identify the
 *           limit and must match between openers
 *       64  state, 8 words, kind-specific, all zero initially
 */
#ifndef RS_SHM_INTERNAL_H
#define RS_SHM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/atomics.h"
#include "resilience/common.h"

#define RS__SHM_CONFIG_WORDS 4
#define RS__SHM_STATE_WORDS 8

typedef struct rs__shm_file {
    rs__atomic_u64 phase;
    rs__atomic_u64 magic;
    rs__atomic_u64 version_kind;
    rs__atomic_u64 file_size;
    rs__atomic_u64 config[RS__SHM_CONFIG_WORDS];
    rs__atomic_u64 state[RS__SHM_STATE_WORDS];
} rs__shm_file;

/* What file.c needs to know about a kind of limiter. */
typedef struct rs__shm_kind {
    unsigned id;        /* in the file's version_kind word */
    const char *opener; /* the public open function, for rs_last_error() */
    const char *words[2]; /* names of the two configuration words that identify the limit */
    /* Does a file's configuration describe a limiter of this kind? A file
     * whose words do not is refused, never used. */
    bool (*valid)(const uint64_t config[RS__SHM_CONFIG_WORDS]);
} rs__shm_kind;

enum { RS__SHM_KIND_TOKEN_BUCKET = 1, RS__SHM_KIND_SLIDING_WINDOW = 2 };

/* Opens the file or shared-memory object `name` (with RS_SHM_CREATE:
 * creates and publishes it if missing), checks that this process may trust
 * it and that it holds a limiter of `kind` with `config` (any configuration
 * with RS_SHM_ADOPT; `config` may then be NULL), and maps it. On RS_OK,
 * *file is the mapping and `in_force` the configuration the file holds.
 * Returns RS_E_INVAL (arguments, a foreign or mismatching file) or RS_E_IO
 * (the system refused, an untrusted file) as shm.h says, with
 * rs_last_error() set. */
int rs__shm_map(const char *name, const rs__shm_kind *kind, const uint64_t *config,
                unsigned flags, uint64_t in_force[RS__SHM_CONFIG_WORDS], rs__shm_file **file);

void rs__shm_unmap(rs__shm_file *file);

/* RS_E_INVAL for a configuration refused by a validator: keeps the
 * validator's rs_last_error() text, which names the field, if it set one
 * (clear it with rs_set_last_error(RS_OK, NULL) before validating), else
 * sets the printf-style text given. */
int rs__shm_refuse_config(const char *format, ...) RS_PRINTF_LIKE(1, 2);

/* What a wait_ns call answers before judging anything: RS_E_INVAL for a
 * NULL wait_ns, or, with UINT64_MAX (never), a NULL limiter or n above its
 * `capacity` (burst or limit); RS_OK with 0 for n = 0. Returns true with
 * *status set when the call is answered, false when it must still judge
 * 1 <= n <= capacity. */
static inline bool rs__shm_wait_answered(const void *limiter, uint64_t n, uint64_t capacity,
                                         uint64_t *wait_ns, int *status)
{
    *status = RS_E_INVAL;
    if (wait_ns == NULL) {
        return true;
    }
    if (limiter == NULL || n > capacity) {
        *wait_ns = UINT64_MAX;
        return true;
    }
    *status = RS_OK;
    *wait_ns = 0;
    return n == 0;
}

#endif /* RS_SHM_INTERNAL_H */
