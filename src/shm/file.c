/* Creating, checking and mapping the shared-memory module's file (layout in
 * shm_internal.h). Cold path only: nothing here runs per request.
 *
 * Creation race. Any number of processes may open one name at once. Each
 * opens it with O_CREAT but not O_EXCL and, if it is empty, gives it its
 * size with ftruncate() — idempotent, since every opener asks for the same
 * size and the new bytes are zero. The phase word then decides who
 * initialises: a compare-exchange from 0 (empty) to INIT|pid. The winner
 * writes the header and the zero state and publishes READY with a release
 * store; the others poll for READY (acquire) every 100 us, for at most 1 s.
 *
 * A winner that dies before publishing leaves INIT|pid behind. After 10 ms
 * of waiting, an opener that has a configuration asks kill(pid, 0) whether
 * that process still exists; if not, it takes the initialisation over with
 * a compare-exchange INIT|dead pid -> INIT|own pid. (The openers must share
 * a pid namespace for this to recognise the dead.)
 *
 * Reboots. CLOCK_MONOTONIC restarts at boot, so a file on a persistent
 * filesystem would carry instants of the previous boot into this one (a
 * bucket that looks empty for days). READY carries a 32-bit tag of the
 * kernel's boot id; the first opener after a reboot resets the state (not
 * the configuration) and the tag, through the same INIT phase. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "resilience/clock.h"
#include "resilience/shm.h"

#define MAGIC UINT64_C(0x316d68732d737200) /* "\0rs-shm1" read as a little-endian word */
#define LAYOUT_VERSION UINT64_C(1)
#define PHASE_CODE_MASK UINT64_C(0xFFFFFFFF00000000)
#define PHASE_INIT (UINT64_C(0x494E4954) << 32)  /* "INIT" | pid */
#define PHASE_READY (UINT64_C(0x52454459) << 32) /* "REDY" | boot tag */
#define POLL_NS UINT64_C(100000)
#define TAKEOVER_AFTER_NS UINT64_C(10000000)
#define WAIT_NS UINT64_C(1000000000)

/* The file is mapped by processes that share nothing else: its atomics must
 * work on memory, not on a lock table private to each process. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
_Static_assert(sizeof(rs__shm_file) == 128, "layout version 1 is 128 bytes");

static bool is_shm_object(const char *name)
{
    return name[0] == '/' && strchr(name + 1, '/') == NULL;
}

static int open_name(const char *name, bool create)
{
    if (is_shm_object(name)) {
        return shm_open(name, O_RDWR | (create ? O_CREAT : 0), 0600);
    }
    return open(name, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
}

/* A 32-bit tag of this boot (never 0), or 0 when the boot id is unknown. */
static uint64_t boot_tag(void)
{
    int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    char text[64];
    ssize_t len = read(fd, text, sizeof text);
    (void)close(fd);
    uint64_t hash = UINT64_C(0xcbf29ce484222325); /* FNV-1a */
    for (ssize_t i = 0; i < len; i++) {
        hash = (hash ^ (unsigned char)text[i]) * UINT64_C(0x100000001b3);
    }
    uint64_t tag = (hash ^ (hash >> 32)) & UINT64_C(0xFFFFFFFF);
    return len <= 0 ? 0 : tag != 0 ? tag : 1;
}

static bool process_is_gone(uint64_t pid)
{
    return pid != 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static uint64_t waited_since(uint64_t start)
{
    return rs_clock_now(NULL) - start;
}

/* Waits until the file has the layout's size, giving an empty file that
 * size when allowed to. */
static int size_file(int fd, bool may_size, uint64_t start)
{
    for (;;) {
        struct stat st;
        if (fstat(fd, &st) != 0) {
            return RS_E_IO;
        }
        if (!S_ISREG(st.st_mode)) {
            return RS_E_INVAL;
        }
        if (st.st_size == (off_t)sizeof(rs__shm_file)) {
            return RS_OK;
        }
        if (st.st_size != 0) {
            return RS_E_INVAL; /* truncated, or not ours */
        }
        if (may_size) {
            if (ftruncate(fd, (off_t)sizeof(rs__shm_file)) != 0) {
                return RS_E_IO;
            }
        } else if (waited_since(start) >= WAIT_NS) {
            return RS_E_IO;
        } else {
            rs_clock_sleep(NULL, POLL_NS);
        }
    }
}

static uint64_t load(const rs__atomic_u64 *word)
{
    return atomic_load_explicit((rs__atomic_u64 *)word, memory_order_relaxed);
}

static void store(rs__atomic_u64 *word, uint64_t value)
{
    atomic_store_explicit(word, value, memory_order_relaxed);
}

/* Zeroes the state words, then publishes READY of this boot. */
static void reset_state_and_publish(rs__shm_file *f, uint64_t tag)
{
    for (size_t i = 0; i < RS__SHM_STATE_WORDS; i++) {
        store(&f->state[i], 0);
    }
    atomic_store_explicit(&f->phase, PHASE_READY | tag, memory_order_release);
}

/* Writes everything but the phase, then publishes READY. */
static void initialise(rs__shm_file *f, unsigned kind, const uint64_t *config, uint64_t tag)
{
    store(&f->magic, MAGIC);
    store(&f->version_kind, LAYOUT_VERSION << 32 | kind);
    store(&f->file_size, sizeof *f);
    for (size_t i = 0; i < RS__SHM_CONFIG_WORDS; i++) {
        store(&f->config[i], config[i]);
    }
    reset_state_and_publish(f, tag);
}

/* A ready file: is it ours, of this kind, with a matching configuration? */
static int check(const rs__shm_file *f, unsigned kind, const uint64_t *config, unsigned flags,
                 uint64_t in_force[RS__SHM_CONFIG_WORDS])
{
    if (load(&f->magic) != MAGIC || load(&f->version_kind) != (LAYOUT_VERSION << 32 | kind) ||
        load(&f->file_size) != sizeof *f) {
        return RS_E_INVAL;
    }
    for (size_t i = 0; i < RS__SHM_CONFIG_WORDS; i++) {
        in_force[i] = load(&f->config[i]);
    }
    bool same = config == NULL || (in_force[0] == config[0] && in_force[1] == config[1]);
    return same || (flags & RS_SHM_ADOPT) ? RS_OK : RS_E_INVAL;
}

/* Drives the phase word to READY of this boot (see the top of the file). */
static int settle(rs__shm_file *f, unsigned kind, const uint64_t *config, unsigned flags,
                  uint64_t in_force[RS__SHM_CONFIG_WORDS], uint64_t start)
{
    const uint64_t me = PHASE_INIT | (uint64_t)(uint32_t)getpid();
    const uint64_t tag = boot_tag();
    for (;;) {
        uint64_t phase = atomic_load_explicit(&f->phase, memory_order_acquire);
        uint64_t code = phase & PHASE_CODE_MASK, low = phase & ~PHASE_CODE_MASK;
        if (code == PHASE_READY) {
            int status = check(f, kind, config, flags, in_force);
            if (status != RS_OK || tag == 0 || low == 0 || low == tag) {
                return status;
            }
            /* Instants of another boot: reset the state, keep the rest. */
            if (atomic_compare_exchange_strong_explicit(&f->phase, &phase, me,
                                                        memory_order_acquire,
                                                        memory_order_relaxed)) {
                reset_state_and_publish(f, tag);
                return RS_OK;
            }
            continue;
        }
        if (phase != 0 && code != PHASE_INIT) {
            return RS_E_INVAL; /* not a file of ours */
        }
        bool claimable = phase == 0 || (waited_since(start) >= TAKEOVER_AFTER_NS &&
                                        code == PHASE_INIT && process_is_gone(low));
        if (claimable && config != NULL &&
            atomic_compare_exchange_strong_explicit(&f->phase, &phase, me, memory_order_acquire,
                                                    memory_order_relaxed)) {
            initialise(f, kind, config, tag);
            memcpy(in_force, config, RS__SHM_CONFIG_WORDS * sizeof *config);
            return RS_OK;
        }
        if (waited_since(start) >= WAIT_NS) {
            return RS_E_IO;
        }
        rs_clock_sleep(NULL, POLL_NS);
    }
}

int rs__shm_map(const char *name, unsigned kind, const uint64_t *config, unsigned flags,
                uint64_t in_force[RS__SHM_CONFIG_WORDS], rs__shm_file **file)
{
    if (name == NULL || name[0] == '\0' || (flags & ~(RS_SHM_CREATE | RS_SHM_ADOPT)) != 0 ||
        (config == NULL && (flags & (RS_SHM_CREATE | RS_SHM_ADOPT)) != RS_SHM_ADOPT)) {
        return RS_E_INVAL;
    }
    uint64_t start = rs_clock_now(NULL);
    int fd = open_name(name, (flags & RS_SHM_CREATE) != 0);
    if (fd < 0) {
        return errno == EINVAL || errno == ENAMETOOLONG || errno == EISDIR ? RS_E_INVAL
                                                                           : RS_E_IO;
    }
    rs__shm_file *f = NULL;
    int status = size_file(fd, config != NULL, start);
    if (status == RS_OK) {
        void *p = mmap(NULL, sizeof *f, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        status = p == MAP_FAILED ? RS_E_IO : RS_OK;
        f = p == MAP_FAILED ? NULL : p;
    }
    (void)close(fd); /* the mapping keeps the file */
    if (status == RS_OK) {
        status = settle(f, kind, config, flags, in_force, start);
    }
    if (status != RS_OK) {
        rs__shm_unmap(f);
        return status;
    }
    *file = f;
    return RS_OK;
}

void rs__shm_unmap(rs__shm_file *file)
{
    if (file != NULL) {
        (void)munmap(file, sizeof *file);
    }
}

int rs_shm_unlink(const char *name)
{
    if (name == NULL || name[0] == '\0') {
        return RS_E_INVAL;
    }
    int rc = is_shm_object(name) ? shm_unlink(name) : unlink(name);
    return rc == 0 ? RS_OK : RS_E_IO;
}
