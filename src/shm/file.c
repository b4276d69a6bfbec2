/* Creating, checking and mapping the shared-memory module's file (layout in
 * internal.h). Cold path only: nothing here runs per request.
 *
 * Publication. The name only ever shows a complete file. A creator makes
 * the whole file under a temporary name in the same directory, with O_EXCL
 * (so it never opens what was there, a link or a file), gives it its exact
 * mode, reserves its blocks (so that a full filesystem is an error now, not
 * a SIGBUS at the first store into the mapping) and writes all of it:
 * header, configuration, zero state, phase READY. Then it publishes it with
 * link(2), which fails rather than replace whatever is at the name, and
 * removes the temporary name. Of several creators racing for one name
 * exactly one link succeeds; the others join its file. So a file at the
 * name that is not complete and ours (empty, zeros, half-written, another
 * program's) was not made by this library: it is refused, never
 * initialised, never changed.
 *
 * Trust. Whoever can write the file can raise the limit. An opener never
 * follows a symbolic link at the name (O_NOFOLLOW), and before it reads a
 * byte it checks, on the descriptor it opened (so that nothing can be
 * swapped in between), that the file is regular, owned by this process's
 * effective user or by root, not writable by others, and writable by its
 * group only with RS_SHM_SHARED_GROUP; a group-writable file this process
 * does not own must belong to one of its groups. A file it owns has the
 * group it gave it, or its directory did.
 *
 * Reboots. CLOCK_MONOTONIC restarts at boot, so a file on a persistent
 * filesystem would carry instants of the previous boot into this one (a
 * bucket that looks empty for days). READY carries a 32-bit tag of the
 * kernel's boot id; the first opener after a reboot moves the phase from
 * READY|old tag to INIT|own pid by compare-exchange, zeroes the state (not
 * the configuration) and publishes READY|new tag. Other openers wait for
 * that, polling every 100 us for at most 1 s; if the resetter dies, an
 * opener that has waited 10 ms and finds with kill(pid, 0) that it is gone
 * takes the reset over (the openers must share a pid namespace for that). */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
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
/* Where shm_open(3) keeps shared-memory objects on Linux (glibc, musl). */
#define SHM_DIR "/dev/shm"
/* Temporary names tried when others are taken (only a hostile directory
 * takes more than one). */
#define CREATE_ATTEMPTS 16u
/* Rounds of "open, else create": one is lost only when another process
 * creates or removes the name at that very moment. */
#define OPEN_ROUNDS 4u
/* Internal outcomes, never returned to callers. */
#define MISSING 1   /* nothing at the name */
#define LOST_RACE 2 /* another creator published first: join its file */

/* The file is mapped by processes that share nothing else: its atomics must
 * work on memory, not on a lock table private to each process. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
_Static_assert(sizeof(rs__shm_file) == 128, "layout version 1 is 128 bytes");

/* The words of the file as a creator writes them, in layout order. */
enum { WORD_PHASE, WORD_MAGIC, WORD_VERSION_KIND, WORD_SIZE, WORD_CONFIG,
       FILE_WORDS = sizeof(rs__shm_file) / sizeof(uint64_t) };
_Static_assert(offsetof(rs__shm_file, config) == WORD_CONFIG * sizeof(uint64_t),
               "the image below follows the layout");

/* A name resolved to the file's path: the name itself, or SHM_DIR + name
 * for a shared-memory object name. Messages show this path. */
typedef struct place {
    char path[PATH_MAX];
    size_t dir_len; /* length of the directory part, its '/' included */
} place;

static int resolve(const char *caller, const char *name, place *p)
{
    if (name == NULL || name[0] == '\0') {
        return rs_set_last_error(RS_E_INVAL, "%s: name is NULL or empty", caller);
    }
    bool object = name[0] == '/' && strchr(name + 1, '/') == NULL;
    int len = snprintf(p->path, sizeof p->path, "%s%s", object ? SHM_DIR : "", name);
    if (len < 0 || (size_t)len >= sizeof p->path) {
        return rs_set_last_error(RS_E_INVAL, "%s: name is longer than PATH_MAX", caller);
    }
    const char *slash = strrchr(p->path, '/');
    p->dir_len = slash == NULL ? 0 : (size_t)(slash - p->path) + 1;
    if (p->path[p->dir_len] == '\0') {
        return rs_set_last_error(RS_E_INVAL, "%s: name \"%s\" names a directory, not a file",
                                 caller, name);
    }
    return RS_OK;
}

/* Sets rs_last_error() to "<path>: <what>: <the system's text for error>". */
static int system_error(int status, const place *p, const char *what, int error)
{
    char text[128];
    if (strerror_r(error, text, sizeof text) != 0) {
        (void)snprintf(text, sizeof text, "error %d", error);
    }
    return rs_set_last_error(status, "%s: %s: %s", p->path, what, text);
}

int rs__shm_refuse_config(const char *format, ...)
{
    if (rs_last_error()[0] != '\0') {
        return RS_E_INVAL; /* the validator named the field */
    }
    char text[256];
    va_list args;
    va_start(args, format);
    (void)vsnprintf(text, sizeof text, format, args);
    va_end(args);
    return rs_set_last_error(RS_E_INVAL, "%s", text);
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

static uint64_t load(const rs__atomic_u64 *word)
{
    return atomic_load_explicit((rs__atomic_u64 *)word, memory_order_relaxed);
}

/* ---- trust ------------------------------------------------------------------- */

static bool in_our_groups(gid_t gid)
{
    if (gid == getegid()) {
        return true;
    }
    gid_t groups[256]; /* a process in more supplementary groups: only these count */
    int count = getgroups((int)(sizeof groups / sizeof groups[0]), groups);
    for (int i = 0; i < count; i++) {
        if (groups[i] == gid) {
            return true;
        }
    }
    return false;
}

/* May this process rely on the open file fd? (See the top of the file.) */
static int check_file(int fd, const place *p, unsigned flags)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        return system_error(RS_E_IO, p, "fstat", errno);
    }
    if (!S_ISREG(st.st_mode)) {
        return rs_set_last_error(RS_E_INVAL, "%s: not a regular file", p->path);
    }
    uid_t me = geteuid();
    unsigned mode = (unsigned)st.st_mode & 07777u;
    if (st.st_uid != me && st.st_uid != 0) {
        return rs_set_last_error(RS_E_IO, "%s: owned by uid %lu, not by us (uid %lu)", p->path,
                                 (unsigned long)st.st_uid, (unsigned long)me);
    }
    if ((st.st_mode & S_IWOTH) != 0) {
        return rs_set_last_error(RS_E_IO, "%s: writable by others (mode %04o)", p->path, mode);
    }
    if ((st.st_mode & S_IWGRP) != 0 && (flags & RS_SHM_SHARED_GROUP) == 0) {
        return rs_set_last_error(RS_E_IO,
                                 "%s: writable by its group (mode %04o) without "
                                 "RS_SHM_SHARED_GROUP",
                                 p->path, mode);
    }
    if ((st.st_mode & S_IWGRP) != 0 && st.st_uid != me && !in_our_groups(st.st_gid)) {
        return rs_set_last_error(RS_E_IO, "%s: writable by group %lu, not one of ours", p->path,
                                 (unsigned long)st.st_gid);
    }
    if (st.st_size != (off_t)sizeof(rs__shm_file)) {
        return rs_set_last_error(RS_E_INVAL,
                                 "%s: %lld bytes: not a libresilience shared-memory file "
                                 "(%zu bytes)",
                                 p->path, (long long)st.st_size, sizeof(rs__shm_file));
    }
    return RS_OK;
}

/* ---- creating and publishing --------------------------------------------------- */

/* 0, or the errno that stopped the write. */
static int write_all(int fd, const void *data, size_t len)
{
    const unsigned char *bytes = data;
    off_t offset = 0;
    while (len > 0) {
        ssize_t done = pwrite(fd, bytes, len, offset);
        if (done < 0 && errno != EINTR) {
            return errno;
        }
        if (done > 0) {
            bytes += done;
            offset += done;
            len -= (size_t)done;
        }
    }
    return 0;
}

/* Gives the new file fd its mode, its blocks and its whole content. */
static int fill(int fd, const place *p, const rs__shm_kind *kind, const uint64_t *config,
                unsigned flags)
{
    /* Exactly these bits, whatever the umask: too few would lock out the
     * group, and the mode is part of what every opener checks. */
    if (fchmod(fd, (flags & RS_SHM_SHARED_GROUP) != 0 ? 0660 : 0600) != 0) {
        return system_error(RS_E_IO, p, "fchmod", errno);
    }
    int error;
    do {
        error = posix_fallocate(fd, 0, (off_t)sizeof(rs__shm_file));
    } while (error == EINTR);
    /* A filesystem without fallocate: writing every byte below reserves
     * them all the same. */
    if (error != 0 && error != EOPNOTSUPP && error != ENOSYS && error != EINVAL) {
        return system_error(RS_E_IO, p, "cannot reserve its blocks", error);
    }
    uint64_t image[FILE_WORDS] = { 0 };
    image[WORD_PHASE] = PHASE_READY | boot_tag();
    image[WORD_MAGIC] = MAGIC;
    image[WORD_VERSION_KIND] = LAYOUT_VERSION << 32 | kind->id;
    image[WORD_SIZE] = sizeof(rs__shm_file);
    memcpy(&image[WORD_CONFIG], config, RS__SHM_CONFIG_WORDS * sizeof *config);
    error = write_all(fd, image, sizeof image);
    return error == 0 ? RS_OK : system_error(RS_E_IO, p, "cannot write it", error);
}

/* Puts the complete file open as fd, now at `temporary`, under the name. */
static int publish(const char *temporary, int fd, const place *p)
{
    if (link(temporary, p->path) != 0) {
        return errno == EEXIST ? LOST_RACE : system_error(RS_E_IO, p, "cannot publish it", errno);
    }
    /* In a directory others may write, the temporary name could have been
     * given to another file before the link: the name must show ours. */
    struct stat ours, named;
    if (fstat(fd, &ours) != 0 || lstat(p->path, &named) != 0 || ours.st_dev != named.st_dev ||
        ours.st_ino != named.st_ino) {
        return rs_set_last_error(RS_E_IO, "%s: replaced while it was being created", p->path);
    }
    return RS_OK;
}

/* Creates and publishes the file; *fd is then open on it. LOST_RACE when
 * another creator published first (nothing of ours is left). */
static int create(const place *p, const rs__shm_kind *kind, const uint64_t *config,
                  unsigned flags, int *fd)
{
    char temporary[PATH_MAX];
    *fd = -1;
    for (unsigned attempt = 0; *fd < 0 && attempt < CREATE_ATTEMPTS; attempt++) {
        int len = snprintf(temporary, sizeof temporary, "%.*s.rs-shm-%ld-%" PRIx64,
                           (int)p->dir_len, p->path, (long)getpid(),
                           rs_clock_now(NULL) + attempt);
        if (len < 0 || (size_t)len >= sizeof temporary) {
            return rs_set_last_error(RS_E_INVAL, "%s: directory name too long", p->path);
        }
        *fd = open(temporary, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (*fd < 0 && errno != EEXIST) {
            return system_error(RS_E_IO, p, "cannot create a file in its directory", errno);
        }
    }
    if (*fd < 0) {
        return rs_set_last_error(RS_E_IO, "%s: %u temporary names in its directory all taken",
                                 p->path, CREATE_ATTEMPTS);
    }
    int status = fill(*fd, p, kind, config, flags);
    if (status == RS_OK) {
        status = publish(temporary, *fd, p);
    }
    (void)unlink(temporary); /* published under the name, or given up */
    if (status != RS_OK) {
        (void)close(*fd);
        *fd = -1;
    }
    return status;
}

/* ---- joining ------------------------------------------------------------------- */

/* RS_OK with *fd open on the file at the name, MISSING, or an error. */
static int open_existing(const place *p, int *fd)
{
    /* O_NONBLOCK: a FIFO planted at the name must not block the open; it
     * changes nothing for a regular file. */
    *fd = open(p->path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (*fd >= 0) {
        return RS_OK;
    }
    switch (errno) {
    case ENOENT:
        return MISSING;
    case ELOOP:
        return system_error(RS_E_IO, p, "not opened: symbolic links are never followed", ELOOP);
    case EISDIR:
        return rs_set_last_error(RS_E_INVAL, "%s: a directory, not a file", p->path);
    case EINVAL:
    case ENAMETOOLONG:
        return system_error(RS_E_INVAL, p, "not a valid name", errno);
    default:
        return system_error(RS_E_IO, p, "cannot open it", errno);
    }
}

/* A published file: ours, of this kind, with a matching configuration? */
static int check_header(const rs__shm_file *f, const place *p, const rs__shm_kind *kind,
                        const uint64_t *config, unsigned flags,
                        uint64_t in_force[RS__SHM_CONFIG_WORDS])
{
    uint64_t code = load(&f->phase) & PHASE_CODE_MASK;
    if (load(&f->magic) != MAGIC || (code != PHASE_READY && code != PHASE_INIT)) {
        return rs_set_last_error(RS_E_INVAL,
                                 "%s: not a libresilience shared-memory file (never published "
                                 "by the library: refused, not initialised)",
                                 p->path);
    }
    uint64_t version_kind = load(&f->version_kind);
    if (version_kind != (LAYOUT_VERSION << 32 | kind->id) ||
        load(&f->file_size) != sizeof(rs__shm_file)) {
        return rs_set_last_error(RS_E_INVAL,
                                 "%s: layout version %" PRIu64 ", kind %" PRIu64
                                 ": not what %s opens",
                                 p->path, version_kind >> 32, version_kind & 0xFFFFFFFFu,
                                 kind->opener);
    }
    for (size_t i = 0; i < RS__SHM_CONFIG_WORDS; i++) {
        in_force[i] = load(&f->config[i]);
    }
    if (!kind->valid(in_force)) {
        return rs_set_last_error(RS_E_INVAL, "%s: holds no valid configuration (%s %" PRIu64
                                 ", %s %" PRIu64 ")",
                                 p->path, kind->words[0], in_force[0], kind->words[1],
                                 in_force[1]);
    }
    if (config != NULL && (in_force[0] != config[0] || in_force[1] != config[1]) &&
        (flags & RS_SHM_ADOPT) == 0) {
        return rs_set_last_error(RS_E_INVAL,
                                 "%s: holds %s %" PRIu64 ", %s %" PRIu64 ", not %" PRIu64
                                 ", %" PRIu64 " as asked (RS_SHM_ADOPT joins it as it is)",
                                 p->path, kind->words[0], in_force[0], kind->words[1],
                                 in_force[1], config[0], config[1]);
    }
    return RS_OK;
}

/* Zeroes the state words, then publishes READY of this boot. */
static void reset_state_and_publish(rs__shm_file *f, uint64_t tag)
{
    for (size_t i = 0; i < RS__SHM_STATE_WORDS; i++) {
        atomic_store_explicit(&f->state[i], 0, memory_order_relaxed);
    }
    atomic_store_explicit(&f->phase, PHASE_READY | tag, memory_order_release);
}

/* Waits until the phase is READY of this boot, resetting the state after a
 * reboot (see the top of the file). */
static int settle(rs__shm_file *f, const place *p)
{
    const uint64_t me = PHASE_INIT | (uint64_t)(uint32_t)getpid();
    const uint64_t tag = boot_tag(), start = rs_clock_now(NULL);
    for (;;) {
        uint64_t phase = atomic_load_explicit(&f->phase, memory_order_acquire);
        uint64_t code = phase & PHASE_CODE_MASK, low = phase & ~PHASE_CODE_MASK;
        bool stale;
        if (code == PHASE_READY) {
            stale = tag != 0 && low != 0 && low != tag; /* instants of another boot */
            if (!stale) {
                return RS_OK;
            }
        } else if (code == PHASE_INIT) {
            stale = waited_since(start) >= TAKEOVER_AFTER_NS && process_is_gone(low);
        } else {
            return rs_set_last_error(RS_E_INVAL, "%s: phase word %#" PRIx64 " is not ours",
                                     p->path, phase);
        }
        if (stale && atomic_compare_exchange_strong_explicit(&f->phase, &phase, me,
                                                             memory_order_acquire,
                                                             memory_order_relaxed)) {
            reset_state_and_publish(f, tag);
            return RS_OK;
        }
        if (code == PHASE_INIT) {
            if (waited_since(start) >= WAIT_NS) {
                return rs_set_last_error(RS_E_IO,
                                         "%s: pid %" PRIu64 " was still resetting it after a "
                                         "reboot, 1 s on",
                                         p->path, low);
            }
            rs_clock_sleep(NULL, POLL_NS);
        }
    }
}

static int join(int fd, const place *p, const rs__shm_kind *kind, const uint64_t *config,
                unsigned flags, uint64_t in_force[RS__SHM_CONFIG_WORDS], rs__shm_file **file)
{
    int status = check_file(fd, p, flags);
    if (status != RS_OK) {
        return status;
    }
    void *mapping = mmap(NULL, sizeof(rs__shm_file), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mapping == MAP_FAILED) {
        return system_error(RS_E_IO, p, "mmap", errno);
    }
    status = check_header(mapping, p, kind, config, flags, in_force);
    if (status == RS_OK) {
        status = settle(mapping, p);
    }
    if (status != RS_OK) {
        rs__shm_unmap(mapping);
        return status;
    }
    *file = mapping;
    return RS_OK;
}

int rs__shm_map(const char *name, const rs__shm_kind *kind, const uint64_t *config,
                unsigned flags, uint64_t in_force[RS__SHM_CONFIG_WORDS], rs__shm_file **file)
{
    const unsigned known = RS_SHM_CREATE | RS_SHM_ADOPT | RS_SHM_SHARED_GROUP;
    if ((flags & ~known) != 0) {
        return rs_set_last_error(RS_E_INVAL, "%s: flags: unknown bits %#x", kind->opener,
                                 flags & ~known);
    }
    if (config == NULL && (flags & (RS_SHM_CREATE | RS_SHM_ADOPT)) != RS_SHM_ADOPT) {
        return rs_set_last_error(RS_E_INVAL,
                                 "%s: cfg: NULL needs RS_SHM_ADOPT and no RS_SHM_CREATE",
                                 kind->opener);
    }
    place p;
    int status = resolve(kind->opener, name, &p);
    int fd = -1;
    for (unsigned round = 0; status == RS_OK && round < OPEN_ROUNDS; round++) {
        status = open_existing(&p, &fd);
        if (status == MISSING && (flags & RS_SHM_CREATE) == 0) {
            return system_error(RS_E_IO, &p, "not created (no RS_SHM_CREATE)", ENOENT);
        }
        if (status == MISSING) {
            status = create(&p, kind, config, flags, &fd);
        }
        if (status == LOST_RACE) {
            status = RS_OK; /* and open the winner's file */
            continue;
        }
        break;
    }
    if (status == RS_OK && fd < 0) {
        return rs_set_last_error(RS_E_IO, "%s: created and removed by others %u times over",
                                 p.path, OPEN_ROUNDS);
    }
    if (status != RS_OK) {
        return status;
    }
    status = join(fd, &p, kind, config, flags, in_force, file);
    (void)close(fd); /* the mapping keeps the file */
    return status;
}

void rs__shm_unmap(rs__shm_file *file)
{
    if (file != NULL) {
        (void)munmap(file, sizeof *file);
    }
}

int rs_shm_unlink(const char *name)
{
    place p;
    int status = resolve("rs_shm_unlink", name, &p);
    if (status != RS_OK) {
        return status;
    }
    return unlink(p.path) == 0 ? RS_OK : system_error(RS_E_IO, &p, "rs_shm_unlink", errno);
}
