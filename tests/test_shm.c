/* Shared-memory limiters: argument and file validation (foreign, stale,
 * truncated, half-initialised files), the same answers as the in-process
 * bucket and counter on seeded explicit-time sequences, sharing between
 * handles and processes, the creation race between many processes, a
 * process killed mid-use, allocation failure, the rs_limiter adapters, and
 * 4 processes x 2 threads on the real clock.
 *
 * Children never call cmocka: they report through exit codes and shared
 * anonymous mappings, and leave with _exit(). Every file the tests create
 * lives in a temporary directory or under a /rs-test-<pid>- name, and the
 * group teardown checks that none is left behind. */
#include "support/fault_alloc.h"
#include "support/spans.h"
#include "support/testing.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "resilience/shm.h"

#if RS_TEST_THREADS
#include <pthread.h>
#endif

#define MS UINT64_C(1000000)
#define SEC UINT64_C(1000000000)

/* ---- names and files ------------------------------------------------------------- */

static char temp_dir[64];
static char names[256][96];
static size_t name_count;

/* A name no test has used: a path in the temporary directory, or a POSIX
 * shared-memory object name. */
static const char *fresh_name(bool shm_object)
{
    assert_true(name_count < RS_TEST_ARRAY_LEN(names));
    char *name = names[name_count];
    if (shm_object) {
        snprintf(name, sizeof names[0], "/rs-test-%ld-%zu", (long)getpid(), name_count);
    } else {
        snprintf(name, sizeof names[0], "%s/limiter-%zu", temp_dir, name_count);
    }
    name_count++;
    return name;
}

static int make_temp_dir(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(temp_dir, sizeof temp_dir, "%s/rs-test-shm-XXXXXX",
             tmp != NULL && strlen(tmp) < 30 ? tmp : "/tmp");
    return mkdtemp(temp_dir) != NULL ? 0 : -1;
}

/* Removes what the tests may have left (a failed test stops before its own
 * clean-up) and fails if the directory held anything else. */
static int remove_everything(void **state)
{
    (void)state;
    for (size_t i = 0; i < name_count; i++) {
        (void)rs_shm_unlink(names[i]);
    }
    return rmdir(temp_dir) == 0 ? 0 : -1;
}

/* The file behind a name: the name, or /dev/shm/... for a shared-memory
 * object name (shm.h). */
typedef struct file_path {
    char text[128];
} file_path;

static file_path path_of(const char *name)
{
    file_path p;
    snprintf(p.text, sizeof p.text, "%s%s",
             name[0] == '/' && strchr(name + 1, '/') == NULL ? "/dev/shm" : "", name);
    return p;
}

static bool exists(const char *name)
{
    return access(path_of(name).text, F_OK) == 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

/* Words of the documented layout (docs/shared-memory.md). */
enum { WORD_PHASE = 0, WORD_MAGIC = 1, WORD_VERSION_KIND = 2, WORD_SIZE = 3, WORD_CONFIG = 4,
       WORD_STATE = 8, FILE_WORDS = 16 };

static uint64_t read_word(const char *path, int index)
{
    uint64_t word = 0;
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &word, sizeof word, (off_t)index * 8), (ssize_t)sizeof word);
    assert_int_equal(close(fd), 0);
    return word;
}

static void write_word(const char *path, int index, uint64_t word)
{
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, &word, sizeof word, (off_t)index * 8), (ssize_t)sizeof word);
    assert_int_equal(close(fd), 0);
}

/* ---- helpers ------------------------------------------------------------------------ */

static rs_shm_token_bucket *open_bucket(const char *name, double rate, uint64_t burst)
{
    rs_token_bucket_config c = { .rate = rate, .burst = burst };
    rs_shm_token_bucket *tb = NULL;
    assert_int_equal(rs_shm_token_bucket_open(name, &c, RS_SHM_CREATE, &tb), RS_OK);
    assert_non_null(tb);
    return tb;
}

static rs_shm_sliding_window *open_window(const char *name, uint64_t limit, uint64_t window_ns)
{
    rs_sliding_window_config c = { .limit = limit, .window_ns = window_ns,
                                   .kind = RS_WINDOW_COUNTER };
    rs_shm_sliding_window *w = NULL;
    assert_int_equal(rs_shm_sliding_window_open(name, &c, RS_SHM_CREATE, &w), RS_OK);
    assert_non_null(w);
    return w;
}

static int open_bucket_status(const char *name, const rs_token_bucket_config *c, unsigned flags)
{
    rs_shm_token_bucket *tb = (rs_shm_token_bucket *)0x1;
    int status = rs_shm_token_bucket_open(name, c, flags, &tb);
    if (status == RS_OK) {
        rs_shm_token_bucket_close(tb);
    } else {
        assert_ptr_equal(tb, (rs_shm_token_bucket *)0x1); /* out untouched on error */
    }
    return status;
}

static int open_window_status(const char *name, const rs_sliding_window_config *c,
                              unsigned flags)
{
    rs_shm_sliding_window *w = (rs_shm_sliding_window *)0x1;
    int status = rs_shm_sliding_window_open(name, c, flags, &w);
    if (status == RS_OK) {
        rs_shm_sliding_window_close(w);
    } else {
        assert_ptr_equal(w, (rs_shm_sliding_window *)0x1);
    }
    return status;
}

/* The value-returning calls, for a valid handle and request. */
static double available_at(rs_shm_token_bucket *tb, uint64_t now)
{
    double tokens = -1e300;
    assert_int_equal(rs_shm_token_bucket_available_at(tb, &tokens, now), RS_OK);
    return tokens;
}

static double available_now(rs_shm_token_bucket *tb)
{
    double tokens = -1e300;
    assert_int_equal(rs_shm_token_bucket_available(tb, &tokens), RS_OK);
    return tokens;
}

static uint64_t count_at(rs_shm_sliding_window *w, uint64_t now)
{
    uint64_t count = UINT64_MAX;
    assert_int_equal(rs_shm_sliding_window_count_at(w, &count, now), RS_OK);
    return count;
}

static uint64_t count_now(rs_shm_sliding_window *w)
{
    uint64_t count = UINT64_MAX;
    assert_int_equal(rs_shm_sliding_window_count(w, &count), RS_OK);
    return count;
}

/* The status a request for n units should get from a limiter whose capacity
 * (burst or limit) is `capacity`, given whether it was granted. */
static int status_for(bool granted, uint64_t n, uint64_t capacity)
{
    return granted ? RS_OK : n > capacity ? RS_E_INVAL : RS_E_LIMITED;
}

static uint64_t window_limit(const rs_shm_sliding_window *w)
{
    rs_sliding_window_config c = { 0, 0, RS_WINDOW_LOG };
    assert_int_equal(rs_shm_sliding_window_config_get(w, &c), RS_OK);
    return c.limit;
}

/* The wait, checking the status that comes with it: RS_E_INVAL (and
 * UINT64_MAX) exactly for n above the limit. */
static uint64_t wait_at(rs_shm_sliding_window *w, uint64_t n, uint64_t now)
{
    uint64_t wait = 7;
    int status = rs_shm_sliding_window_wait_ns_at(w, n, &wait, now);
    assert_int_equal(status, n > window_limit(w) ? RS_E_INVAL : RS_OK);
    return wait;
}

static uint64_t wait_now(rs_shm_sliding_window *w, uint64_t n)
{
    uint64_t wait = 7;
    int status = rs_shm_sliding_window_wait_ns(w, n, &wait);
    assert_int_equal(status, n > window_limit(w) ? RS_E_INVAL : RS_OK);
    return wait;
}

/* Memory shared with forked children. */
static void *shared_alloc(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    return p;
}

/* Forks `count` children running fn(index, arg) and exiting with its
 * result; they start together once all are forked. Asserts that every
 * child exited with 0. */
typedef struct start_line {
    atomic_uint ready;
    atomic_bool go;
} start_line;

static void run_children(unsigned count, int (*fn)(unsigned index, void *arg), void *arg)
{
    start_line *line = shared_alloc(sizeof *line);
    pid_t pids[32];
    assert_true(count <= RS_TEST_ARRAY_LEN(pids));
    fflush(NULL);
    for (unsigned i = 0; i < count; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            atomic_fetch_add(&line->ready, 1);
            while (!atomic_load(&line->go)) {
                (void)sched_yield();
            }
            _exit(fn(i, arg));
        }
    }
    while (atomic_load(&line->ready) < count) {
        (void)sched_yield();
    }
    atomic_store(&line->go, true);
    for (unsigned i = 0; i < count; i++) {
        int status = 0;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(munmap(line, sizeof *line), 0);
}

/* ---- arguments ---------------------------------------------------------------------- */

static void rejects_invalid_arguments(void **state)
{
    (void)state;
    const char *name = fresh_name(false);
    rs_token_bucket_config good = RS_TOKEN_BUCKET_CONFIG_DEFAULT;
    rs_token_bucket_config bad_rate = { .rate = 0.0, .burst = 1 };
    rs_token_bucket_config bad_burst = { .rate = 1.0, .burst = 0 };
    rs_shm_token_bucket *tb = (rs_shm_token_bucket *)0x1;
    assert_int_equal(rs_shm_token_bucket_open(name, &good, RS_SHM_CREATE, NULL), RS_E_INVAL);
    assert_int_equal(rs_shm_token_bucket_open(NULL, &good, RS_SHM_CREATE, &tb), RS_E_INVAL);
    assert_int_equal(open_bucket_status("", &good, RS_SHM_CREATE), RS_E_INVAL);
    assert_int_equal(open_bucket_status(name, &bad_rate, RS_SHM_CREATE), RS_E_INVAL);
    assert_int_equal(open_bucket_status(name, &bad_burst, RS_SHM_CREATE), RS_E_INVAL);
    assert_int_equal(open_bucket_status(name, &good, 8), RS_E_INVAL); /* unknown flag */
    /* No configuration: only to adopt an existing file, never to create. */
    assert_int_equal(open_bucket_status(name, NULL, 0), RS_E_INVAL);
    assert_int_equal(open_bucket_status(name, NULL, RS_SHM_CREATE), RS_E_INVAL);
    assert_int_equal(open_bucket_status(name, NULL, RS_SHM_CREATE | RS_SHM_ADOPT), RS_E_INVAL);
    assert_ptr_equal(tb, (rs_shm_token_bucket *)0x1);
    assert_false(exists(name)); /* nothing created by a refused call */

    rs_sliding_window_config counter = { .limit = 10, .window_ns = SEC,
                                         .kind = RS_WINDOW_COUNTER };
    rs_sliding_window_config log = counter;
    log.kind = RS_WINDOW_LOG;
    rs_sliding_window_config too_many = counter;
    too_many.limit = RS_SHM_SLIDING_WINDOW_MAX_LIMIT + 1;
    rs_sliding_window_config no_window = counter;
    no_window.window_ns = 0;
    assert_int_equal(rs_shm_sliding_window_open(name, &counter, RS_SHM_CREATE, NULL),
                     RS_E_INVAL);
    assert_int_equal(open_window_status(NULL, &counter, RS_SHM_CREATE), RS_E_INVAL);
    assert_int_equal(open_window_status(name, &log, RS_SHM_CREATE), RS_E_INVAL);
    assert_int_equal(open_window_status(name, &too_many, RS_SHM_CREATE), RS_E_INVAL);
    assert_int_equal(open_window_status(name, &no_window, RS_SHM_CREATE), RS_E_INVAL);
    assert_int_equal(open_window_status(name, NULL, RS_SHM_CREATE), RS_E_INVAL);
    assert_false(exists(name));

    /* The largest limit is accepted. */
    rs_sliding_window_config largest = counter;
    largest.limit = RS_SHM_SLIDING_WINDOW_MAX_LIMIT;
    assert_int_equal(open_window_status(name, &largest, RS_SHM_CREATE), RS_OK);
    assert_int_equal(rs_shm_unlink(name), RS_OK);
}

/* Issue 11: every RS_E_INVAL and RS_E_IO of an open or rs_shm_unlink()
 * says why in rs_last_error(), naming the argument, the field or the file
 * and the cause. */
static void open_errors_say_why(void **state)
{
    (void)state;
    rs_token_bucket_config c = { .rate = 10.0, .burst = 4 };
    rs_token_bucket_config bad = { .rate = 0.0, .burst = 4 };
    rs_sliding_window_config wc = { .limit = 4, .window_ns = SEC, .kind = RS_WINDOW_COUNTER };
    rs_sliding_window_config log = { .limit = 4, .window_ns = SEC, .kind = RS_WINDOW_LOG };
    rs_sliding_window_config huge = wc;
    huge.limit = RS_SHM_SLIDING_WINDOW_MAX_LIMIT + 1;
    rs_shm_token_bucket *tb = NULL;
    const char *name = fresh_name(false);
    const struct {
        int status;
        const char *says;
    } expected[] = {
        { RS_E_INVAL, "rs_shm_token_bucket_open: name" },
        { RS_E_INVAL, "rs_shm_token_bucket_open: out" },
        { RS_E_INVAL, "flags" },
        { RS_E_INVAL, "cfg" },
        { RS_E_INVAL, "rate" },
        { RS_E_INVAL, "RS_WINDOW_LOG" },
        { RS_E_INVAL, "RS_SHM_SLIDING_WINDOW_MAX_LIMIT" },
        { RS_E_IO, "No such file or directory" },
        { RS_E_INVAL, "RS_SHM_ADOPT" },
        { RS_E_INVAL, "not a libresilience" },
        { RS_E_IO, "rs_shm_unlink" },
        { RS_E_INVAL, "rs_shm_unlink: name" },
    };
    int got[RS_TEST_ARRAY_LEN(expected)];
    char text[RS_TEST_ARRAY_LEN(expected)][256];
    size_t i = 0;
#define RECORD(call)                                                                     \
    do {                                                                                 \
        rs_set_last_error(RS_OK, NULL);                                                  \
        got[i] = (call);                                                                 \
        snprintf(text[i], sizeof text[i], "%s", rs_last_error());                        \
        i++;                                                                             \
    } while (0)
    RECORD(open_bucket_status(NULL, &c, RS_SHM_CREATE));
    RECORD(rs_shm_token_bucket_open(name, &c, RS_SHM_CREATE, NULL));
    RECORD(open_bucket_status(name, &c, 64));
    RECORD(open_bucket_status(name, NULL, RS_SHM_CREATE));
    RECORD(open_bucket_status(name, &bad, RS_SHM_CREATE));
    RECORD(open_window_status(name, &log, RS_SHM_CREATE));
    RECORD(open_window_status(name, &huge, RS_SHM_CREATE));
    RECORD(open_bucket_status(name, &c, 0));
    tb = open_bucket(name, 20.0, 4);
    RECORD(open_bucket_status(name, &c, 0)); /* another rate */
    rs_shm_token_bucket_close(tb);
    assert_int_equal(rs_shm_unlink(name), RS_OK);
    write_file(name, "", 0);
    RECORD(open_bucket_status(name, &c, 0));
    assert_int_equal(unlink(name), 0);
    RECORD(rs_shm_unlink(name));
    RECORD(rs_shm_unlink(""));
#undef RECORD
    for (size_t k = 0; k < RS_TEST_ARRAY_LEN(expected); k++) {
        print_message("# %d %s\n", got[k], text[k]);
        assert_int_equal(got[k], expected[k].status);
        assert_non_null(strstr(text[k], expected[k].says));
    }
    /* A path names its file, a shared-memory object its /dev/shm file. */
    assert_int_equal(open_bucket_status(name, &c, 0), RS_E_IO);
    assert_non_null(strstr(rs_last_error(), name));
    const char *object = fresh_name(true);
    assert_int_equal(open_bucket_status(object, &c, 0), RS_E_IO);
    assert_true(strncmp(rs_last_error(), "/dev/shm/", 9) == 0);
    assert_non_null(strstr(rs_last_error(), object + 1));
}

static void null_handles_and_unlink(void **state)
{
    (void)state;
    uint64_t wait = 7;
    rs_token_bucket_config tc;
    rs_sliding_window_config wc;
    double tokens = 5.0;
    uint64_t count = 5;
    assert_int_equal(rs_shm_token_bucket_try_acquire(NULL, 1), RS_E_INVAL);
    assert_int_equal(rs_shm_token_bucket_try_acquire(NULL, 0), RS_E_INVAL);
    assert_int_equal(rs_shm_token_bucket_try_acquire_at(NULL, 0, 0), RS_E_INVAL);
    assert_int_equal(rs_shm_token_bucket_reserve(NULL, 1, 0, &wait), RS_E_INVAL);
    assert_int_equal(wait, UINT64_MAX);
    assert_int_equal(rs_shm_token_bucket_reserve_at(NULL, 1, 0, &wait, 0), RS_E_INVAL);
    assert_int_equal(rs_shm_token_bucket_acquire(NULL, 1, 0), RS_E_INVAL);
    wait = 7;
    assert_int_equal(rs_shm_token_bucket_wait_ns(NULL, 0, &wait), RS_E_INVAL);
    assert_int_equal(wait, UINT64_MAX);
    assert_int_equal(rs_shm_token_bucket_wait_ns_at(NULL, 1, NULL, 0), RS_E_INVAL);
    assert_int_equal(rs_shm_token_bucket_available(NULL, &tokens), RS_E_INVAL);
    assert_int_equal(rs_shm_token_bucket_available_at(NULL, &tokens, 0), RS_E_INVAL);
    assert_true(tokens == 5.0); /* untouched */
    assert_int_equal(rs_shm_token_bucket_config_get(NULL, &tc), RS_E_INVAL);
    rs_shm_token_bucket_close(NULL);
    assert_int_equal(rs_shm_sliding_window_try_acquire(NULL, 0), RS_E_INVAL);
    assert_int_equal(rs_shm_sliding_window_try_acquire_at(NULL, 1, 0), RS_E_INVAL);
    wait = 7;
    assert_int_equal(rs_shm_sliding_window_wait_ns(NULL, 1, &wait), RS_E_INVAL);
    assert_int_equal(wait, UINT64_MAX);
    wait = 7;
    assert_int_equal(rs_shm_sliding_window_wait_ns_at(NULL, 0, &wait, 0), RS_E_INVAL);
    assert_int_equal(wait, UINT64_MAX);
    assert_int_equal(rs_shm_sliding_window_count(NULL, &count), RS_E_INVAL);
    assert_int_equal(rs_shm_sliding_window_count_at(NULL, &count, 5), RS_E_INVAL);
    assert_int_equal(count, 5);
    assert_int_equal(rs_shm_sliding_window_config_get(NULL, &wc), RS_E_INVAL);
    rs_shm_sliding_window_close(NULL);
    rs_limiter none = rs_shm_token_bucket_limiter(NULL);
    assert_null(none.ops);
    none = rs_shm_sliding_window_limiter(NULL);
    assert_null(none.ops);

    assert_int_equal(rs_shm_unlink(NULL), RS_E_INVAL);
    assert_int_equal(rs_shm_unlink(""), RS_E_INVAL);
    for (int shm_object = 0; shm_object <= 1; shm_object++) {
        const char *name = fresh_name(shm_object);
        assert_int_equal(rs_shm_unlink(name), RS_E_IO); /* does not exist */
        rs_shm_token_bucket *tb = open_bucket(name, 1.0, 1);
        assert_int_equal(rs_shm_token_bucket_reserve(tb, 1, 0, NULL), RS_E_INVAL);
        assert_int_equal(rs_shm_token_bucket_config_get(tb, NULL), RS_E_INVAL);
        assert_int_equal(rs_shm_token_bucket_wait_ns(tb, 1, NULL), RS_E_INVAL);
        assert_int_equal(rs_shm_token_bucket_available(tb, NULL), RS_E_INVAL);
        assert_true(exists(name));
        assert_int_equal(rs_shm_unlink(name), RS_OK);
        assert_false(exists(name));
        /* An open handle keeps working on the unlinked file. */
        assert_int_equal(rs_shm_token_bucket_try_acquire(tb, 1), RS_OK);
        assert_int_equal(rs_shm_token_bucket_try_acquire(tb, 1), RS_E_LIMITED);
        rs_shm_token_bucket_close(tb);
        rs_token_bucket_config c = RS_TOKEN_BUCKET_CONFIG_DEFAULT;
        assert_int_equal(open_bucket_status(name, &c, 0), RS_E_IO); /* gone, no CREATE */
    }
}

/* ---- the same answers as the in-process limiters --------------------------------- */

static uint64_t pick(uint64_t *rng, const uint64_t *values, size_t count)
{
    return values[rs_test_random(rng) % count];
}

/* The next instant of a sequence: mostly forward by zero, a little, about
 * one unit or many units; sometimes back, as a caller whose clock reading
 * is older than the others'. */
static uint64_t next_instant(uint64_t *rng, uint64_t now, uint64_t unit)
{
    switch (rs_test_random(rng) % 6) {
    case 0:
        return now;
    case 1:
        return now + rs_test_random(rng) % 3;
    case 2:
        return now + unit - 1 + rs_test_random(rng) % 3;
    case 3:
        return now + rs_test_random(rng) % (unit * 4);
    case 4:
        return now + rs_test_random(rng) % (unit * 40);
    default: {
        uint64_t back = rs_test_random(rng) % (unit * 2);
        return now > back ? now - back : 0;
    }
    }
}

/* Seeded random explicit-time sequences of try_acquire / reserve / wait_ns /
 * available: the shared bucket gives exactly the in-process bucket's
 * answers (the in-process one is itself checked against a textbook model
 * in test_token_bucket.c). */
static void bucket_answers_as_the_in_process_bucket(void **state)
{
    (void)state;
    static const uint64_t intervals[] = { 1, 7, 1000, 999983, 100 * MS, 333333334, 2 * SEC };
    static const uint64_t waits[] = { 0, 1, 999, 100 * MS, 5 * SEC, UINT64_MAX };
    for (uint64_t seed = 1; seed <= 30; seed++) {
        uint64_t rng = seed;
        uint64_t interval = pick(&rng, intervals, RS_TEST_ARRAY_LEN(intervals));
        uint64_t burst = 1 + rs_test_random(&rng) % 20;
        double rate = 1e9 / (double)interval;
        uint64_t now = rs_test_random(&rng) % (1000 * SEC);
        rs_token_bucket_config c = { .rate = rate, .burst = burst };
        rs_token_bucket *local = NULL;
        assert_int_equal(rs_token_bucket_new(&c, NULL, &local), RS_OK);
        const char *name = fresh_name(seed & 1);
        rs_shm_token_bucket *shared = open_bucket(name, rate, burst);
        for (int step = 0; step < 3000; step++) {
            now = next_instant(&rng, now, interval);
            uint64_t n = rs_test_random(&rng) % (burst + 2);
            uint64_t op = rs_test_random(&rng) % 3;
            if (op == 0) {
                bool got = rs_token_bucket_try_acquire_at(local, n, now);
                assert_int_equal(rs_shm_token_bucket_try_acquire_at(shared, n, now),
                                 status_for(got, n, burst));
            } else if (op == 1) {
                uint64_t max_wait = pick(&rng, waits, RS_TEST_ARRAY_LEN(waits));
                uint64_t wait_local = 1, wait_shared = 2;
                assert_int_equal(rs_shm_token_bucket_reserve_at(shared, n, max_wait,
                                                                &wait_shared, now),
                                 rs_token_bucket_reserve_at(local, n, max_wait, &wait_local,
                                                            now));
                assert_int_equal(wait_shared, wait_local);
            } else {
                uint64_t wait_shared = 2;
                assert_int_equal(rs_shm_token_bucket_wait_ns_at(shared, n, &wait_shared, now),
                                 n > burst ? RS_E_INVAL : RS_OK);
                assert_int_equal(wait_shared, rs_token_bucket_wait_ns_at(local, n, now));
            }
            assert_true(available_at(shared, now) ==
                        rs_token_bucket_available_at(local, now));
        }
        rs_token_bucket_free(local);
        rs_shm_token_bucket_close(shared);
        assert_int_equal(rs_shm_unlink(name), RS_OK);
    }
}

/* The same for the sliding counter against the in-process RS_WINDOW_COUNTER
 * (checked against a model in test_sliding_window.c), with try_acquire,
 * wait_ns and count, instants that sometimes go back, and limits up to the
 * largest. */
static void window_answers_as_the_in_process_counter(void **state)
{
    (void)state;
    static const uint64_t windows[] = { 1, 7, 1000, 999983, 100 * MS, SEC, 60 * SEC };
    uint64_t backward_fits = 0;
    for (uint64_t seed = 1; seed <= 30; seed++) {
        uint64_t rng = seed * 7919;
        uint64_t window = pick(&rng, windows, RS_TEST_ARRAY_LEN(windows));
        uint64_t limit = seed % 10 == 0 ? RS_SHM_SLIDING_WINDOW_MAX_LIMIT
                                        : 1 + rs_test_random(&rng) % 40;
        uint64_t now = rs_test_random(&rng) % (1000 * SEC);
        rs_sliding_window_config c = { .limit = limit, .window_ns = window,
                                       .kind = RS_WINDOW_COUNTER };
        rs_sliding_window *local = NULL;
        assert_int_equal(rs_sliding_window_new(&c, NULL, &local), RS_OK);
        const char *name = fresh_name(seed & 1);
        rs_shm_sliding_window *shared = open_window(name, limit, window);
        uint64_t admitted = 0, latest = 0;
        for (int step = 0; step < 3000; step++) {
            now = next_instant(&rng, now, window / 8 + 1);
            uint64_t n = limit > 100 ? rs_test_random(&rng) % (limit / 3)
                                     : rs_test_random(&rng) % (limit + 2);
            uint64_t op = rs_test_random(&rng) % 3;
            if (op == 0) {
                bool got = rs_sliding_window_try_acquire_at(local, n, now);
                assert_int_equal(rs_shm_sliding_window_try_acquire_at(shared, n, now),
                                 status_for(got, n, limit));
                admitted += got;
            } else if (op == 1) {
                /* The in-process window measures a fit at `latest` from the
                 * caller's older instant; the shared one says 0 there, as
                 * its try_acquire would admit at once. */
                uint64_t wait = rs_sliding_window_wait_ns_at(local, n, now);
                bool fits_at_latest = n <= limit && wait == latest - now;
                assert_int_equal(wait_at(shared, n, now), fits_at_latest ? 0 : wait);
                backward_fits += fits_at_latest && wait > 0;
            }
            assert_int_equal(count_at(shared, now),
                             rs_sliding_window_count_at(local, now));
            latest = now > latest ? now : latest; /* every call moves it */
        }
        assert_true(admitted > 100); /* the sequence did admit things */
        rs_sliding_window_free(local);
        rs_shm_sliding_window_close(shared);
        assert_int_equal(rs_shm_unlink(name), RS_OK);
    }
    assert_true(backward_fits > 0); /* the sequences did reach that case */
}

/* ---- sharing ------------------------------------------------------------------------ */

/* Two handles on one name are one limiter; the state outlives the handles;
 * an opener with another configuration is refused unless it adopts. */
static void handles_share_one_limit(void **state)
{
    (void)state;
    const char *name = fresh_name(true);
    const uint64_t t = 500 * SEC;
    rs_shm_token_bucket *a = open_bucket(name, 10.0, 4);
    rs_shm_token_bucket *b = open_bucket(name, 10.0, 4);
    assert_int_equal(rs_shm_token_bucket_try_acquire_at(a, 3, t), RS_OK);
    assert_true(available_at(b, t) == 1.0);
    assert_int_equal(rs_shm_token_bucket_try_acquire_at(b, 2, t), RS_E_LIMITED);
    uint64_t wait = 0;
    assert_int_equal(rs_shm_token_bucket_reserve_at(b, 2, SEC, &wait, t), RS_OK);
    assert_int_equal(wait, 100 * MS);
    assert_true(available_at(a, t) == -1.0);
    rs_shm_token_bucket_close(a);
    rs_shm_token_bucket_close(b);
    a = open_bucket(name, 10.0, 4); /* the file keeps the state */
    assert_true(available_at(a, t + 150 * MS) == 0.5);

    /* The same limit said differently (the same interval) is the same. */
    rs_token_bucket_config same = { .rate = 10.0 * (1 - 1e-14), .burst = 4 };
    assert_int_equal(open_bucket_status(name, &same, 0), RS_OK);
    rs_token_bucket_config other_rate = { .rate = 20.0, .burst = 4 };
    rs_token_bucket_config other_burst = { .rate = 10.0, .burst = 5 };
    assert_int_equal(open_bucket_status(name, &other_rate, RS_SHM_CREATE), RS_E_INVAL);
    assert_int_equal(open_bucket_status(name, &other_burst, 0), RS_E_INVAL);
    rs_shm_token_bucket *adopted = NULL;
    assert_int_equal(rs_shm_token_bucket_open(name, &other_rate, RS_SHM_ADOPT, &adopted), RS_OK);
    rs_token_bucket_config in_force = { 0, 0 };
    assert_int_equal(rs_shm_token_bucket_config_get(adopted, &in_force), RS_OK);
    assert_true(in_force.rate == 10.0);
    assert_int_equal(in_force.burst, 4);
    assert_true(available_at(adopted, t + 150 * MS) == 0.5);
    rs_shm_token_bucket_close(adopted);
    assert_int_equal(rs_shm_token_bucket_open(name, NULL, RS_SHM_ADOPT, &adopted), RS_OK);
    rs_shm_token_bucket_close(adopted);
    rs_shm_token_bucket_close(a);
    assert_int_equal(rs_shm_unlink(name), RS_OK);

    /* The counter likewise. */
    name = fresh_name(false);
    rs_shm_sliding_window *w1 = open_window(name, 5, SEC);
    rs_shm_sliding_window *w2 = open_window(name, 5, SEC);
    assert_int_equal(rs_shm_sliding_window_try_acquire_at(w1, 4, t), RS_OK);
    assert_int_equal(rs_shm_sliding_window_try_acquire_at(w2, 2, t), RS_E_LIMITED);
    assert_int_equal(rs_shm_sliding_window_try_acquire_at(w2, 1, t), RS_OK);
    assert_int_equal(count_at(w1, t), 5);
    assert_int_equal(wait_at(w1, 1, t), SEC + SEC / 5);
    rs_sliding_window_config other = { .limit = 6, .window_ns = SEC, .kind = RS_WINDOW_COUNTER };
    assert_int_equal(open_window_status(name, &other, 0), RS_E_INVAL);
    other.limit = 5;
    other.window_ns = 2 * SEC;
    assert_int_equal(open_window_status(name, &other, 0), RS_E_INVAL);
    rs_shm_sliding_window *w3 = NULL;
    assert_int_equal(rs_shm_sliding_window_open(name, NULL, RS_SHM_ADOPT, &w3), RS_OK);
    rs_sliding_window_config got = { 0, 0, RS_WINDOW_LOG };
    assert_int_equal(rs_shm_sliding_window_config_get(w3, &got), RS_OK);
    assert_int_equal(got.limit, 5);
    assert_int_equal(got.window_ns, SEC);
    assert_int_equal(got.kind, RS_WINDOW_COUNTER);
    assert_int_equal(count_at(w3, t), 5);
    rs_shm_sliding_window_close(w1);
    rs_shm_sliding_window_close(w2);
    rs_shm_sliding_window_close(w3);
    /* A bucket's file is not a window's, and the other way round. */
    rs_token_bucket_config bucket = RS_TOKEN_BUCKET_CONFIG_DEFAULT;
    assert_int_equal(open_bucket_status(name, &bucket, RS_SHM_CREATE | RS_SHM_ADOPT),
                     RS_E_INVAL);
    assert_int_equal(rs_shm_unlink(name), RS_OK);
}

/* The calls that read the system clock: a fresh bucket on it is full. */
static void system_clock_calls(void **state)
{
    (void)state;
    const char *name = fresh_name(true);
    rs_shm_token_bucket *tb = open_bucket(name, 1e-3, 2);
    assert_int_equal(rs_shm_token_bucket_try_acquire(tb, 0), RS_OK);
    assert_true(available_now(tb) == 2.0);
    assert_int_equal(rs_shm_token_bucket_try_acquire(tb, 2), RS_OK);
    assert_int_equal(rs_shm_token_bucket_try_acquire(tb, 1), RS_E_LIMITED);
    assert_int_equal(rs_shm_token_bucket_try_acquire(tb, 3), RS_E_INVAL);
    uint64_t wait = 0;
    assert_int_equal(rs_shm_token_bucket_wait_ns(tb, 1, &wait), RS_OK);
    assert_true(wait > 999 * SEC && wait <= 1000 * SEC);
    assert_int_equal(rs_shm_token_bucket_wait_ns(tb, 0, &wait), RS_OK);
    assert_int_equal(wait, 0);
    assert_int_equal(rs_shm_token_bucket_wait_ns(tb, 3, &wait), RS_E_INVAL);
    assert_int_equal(wait, UINT64_MAX);
    assert_int_equal(rs_shm_token_bucket_reserve(tb, 1, 0, &wait), RS_E_LIMITED);
    assert_true(wait > 999 * SEC && wait <= 1000 * SEC);
    assert_int_equal(rs_shm_token_bucket_reserve(tb, 0, 0, &wait), RS_OK);
    assert_int_equal(wait, 0);
    assert_int_equal(rs_shm_token_bucket_reserve(tb, 3, UINT64_MAX, &wait), RS_E_INVAL);
    assert_int_equal(wait, UINT64_MAX);
    assert_int_equal(rs_shm_token_bucket_acquire(tb, 1, SEC), RS_E_LIMITED);
    assert_int_equal(rs_shm_token_bucket_acquire(tb, 3, UINT64_MAX), RS_E_INVAL);
    assert_int_equal(rs_shm_token_bucket_acquire(tb, 0, 0), RS_OK);
    assert_true(available_now(tb) < 0.01);
    rs_shm_token_bucket_close(tb);
    assert_int_equal(rs_shm_unlink(name), RS_OK);
    tb = open_bucket(name, 1e9, 1000); /* 1 ns per token: acquire sleeps ~1 us */
    assert_int_equal(rs_shm_token_bucket_try_acquire(tb, 1000), RS_OK);
    assert_int_equal(rs_shm_token_bucket_acquire(tb, 1000, SEC), RS_OK);
    rs_shm_token_bucket_close(tb);
    assert_int_equal(rs_shm_unlink(name), RS_OK);

    rs_shm_sliding_window *w = open_window(name, 3, 1000 * SEC);
    assert_int_equal(rs_shm_sliding_window_try_acquire(w, 0), RS_OK);
    assert_int_equal(rs_shm_sliding_window_try_acquire(w, 4), RS_E_INVAL);
    assert_int_equal(wait_now(w, 0), 0);
    assert_int_equal(wait_now(w, 4), UINT64_MAX);
    assert_int_equal(wait_now(w, 3), 0);
    assert_int_equal(rs_shm_sliding_window_try_acquire(w, 3), RS_OK);
    assert_int_equal(rs_shm_sliding_window_try_acquire(w, 1), RS_E_LIMITED);
    assert_int_equal(count_now(w), 3);
    uint64_t until = wait_now(w, 1);
    assert_true(until > 0 && until <= 2000 * SEC);
    rs_shm_sliding_window_close(w);
    assert_int_equal(rs_shm_unlink(name), RS_OK);
}

/* The rs_limiter adapters keep limiter.h's contract. */
static void limiter_adapters(void **state)
{
    (void)state;
    const char *name = fresh_name(false);
    rs_shm_token_bucket *tb = open_bucket(name, 1e-3, 2);
    rs_limiter l = rs_shm_token_bucket_limiter(tb);
    assert_non_null(l.ops);
    assert_string_equal(l.ops->name, "shm_token_bucket");
    uint64_t wait = 7;
    assert_int_equal(rs_limiter_acquire(&l, 2, 0, 0, &wait), RS_OK);
    assert_int_equal(wait, 0);
    assert_int_equal(rs_limiter_acquire(&l, 1, 0, 0, &wait), RS_E_LIMITED);
    assert_true(wait > 999 * SEC && wait <= 1000 * SEC);
    assert_int_equal(rs_limiter_acquire(&l, 1, UINT64_MAX, 0, &wait), RS_OK); /* reserved */
    assert_true(wait > 999 * SEC && wait <= 1000 * SEC);
    assert_int_equal(rs_limiter_acquire(&l, 3, UINT64_MAX, 0, &wait), RS_E_INVAL);
    /* Its own time: no clock for rs_policy_new() to compare. */
    assert_null(rs_limiter_clock(&l));
    wait = rs_limiter_wait_ns(&l, 1, 0);
    assert_true(wait > 1999 * SEC && wait <= 2000 * SEC);
    assert_int_equal(rs_limiter_wait_ns(&l, 3, 0), UINT64_MAX);
    rs_shm_token_bucket_close(tb);
    assert_int_equal(rs_shm_unlink(name), RS_OK);

    rs_shm_sliding_window *w = open_window(name, 2, 1000 * SEC);
    l = rs_shm_sliding_window_limiter(w);
    assert_string_equal(l.ops->name, "shm_sliding_window");
    assert_int_equal(rs_limiter_acquire(&l, 2, 0, 0, &wait), RS_OK);
    assert_int_equal(wait, 0);
    assert_int_equal(rs_limiter_acquire(&l, 1, UINT64_MAX, 0, &wait), RS_E_LIMITED);
    assert_true(wait > 0 && wait <= 2000 * SEC);
    assert_int_equal(rs_limiter_acquire(&l, 3, 0, 0, &wait), RS_E_INVAL);
    assert_int_equal(wait, UINT64_MAX);
    assert_null(rs_limiter_clock(&l));
    wait = rs_limiter_wait_ns(&l, 1, 0);
    assert_true(wait > 0 && wait <= 2000 * SEC);
    assert_int_equal(rs_limiter_wait_ns(&l, 3, 0), UINT64_MAX);
    rs_shm_sliding_window_close(w);
    assert_int_equal(rs_shm_unlink(name), RS_OK);
}

/* Issue 12, item 9: every "how long" answer agrees with the grant
 * decision. A slot whose count exceeds the limit (a file damaged, or
 * written by hand) said "wait 0" while refusing; at the end of 64-bit time
 * a full window said "wait 0" (or a wait after which it still refused)
 * where the answer is "never". */
static void window_waits_agree_with_admissions(void **state)
{
    (void)state;
    const uint64_t t = 500 * SEC; /* window 500 of 1 s, whose slot is slot 0 */
    const char *name = fresh_name(false);
    rs_shm_sliding_window *w = open_window(name, 5, SEC);
    write_word(name, WORD_STATE, t);                              /* latest */
    write_word(name, WORD_STATE + 1, UINT64_C(500) << 32 | 9);    /* 9 of 5 */
    assert_int_equal(rs_shm_sliding_window_try_acquire_at(w, 1, t), RS_E_LIMITED);
    /* Not in this window; in the next one once 9 * (1 - f) + 1 <= 5:
     * f = 1 - floor(4e9 / 9) / 1e9. */
    uint64_t wait = wait_at(w, 1, t);
    assert_int_equal(wait, SEC + SEC - UINT64_C(444444444));
    assert_int_equal(rs_shm_sliding_window_try_acquire_at(w, 1, t + wait - 1), RS_E_LIMITED);
    assert_int_equal(rs_shm_sliding_window_try_acquire_at(w, 1, t + wait), RS_OK);
    rs_shm_sliding_window_close(w);
    assert_int_equal(rs_shm_unlink(name), RS_OK);

    /* The last window of 64-bit time never ends: once full, never again. */
    const uint64_t end = UINT64_MAX - SEC / 2;
    w = open_window(name, 2, SEC);
    assert_int_equal(rs_shm_sliding_window_try_acquire_at(w, 2, end), RS_OK);
    assert_int_equal(rs_shm_sliding_window_try_acquire_at(w, 1, end), RS_E_LIMITED);
    assert_int_equal(wait_at(w, 1, end), UINT64_MAX);
    assert_int_equal(rs_shm_sliding_window_try_acquire_at(w, 1, UINT64_MAX), RS_E_LIMITED);
    assert_int_equal(wait_at(w, 1, UINT64_MAX), UINT64_MAX);
    rs_shm_sliding_window_close(w);
    assert_int_equal(rs_shm_unlink(name), RS_OK);
}

/* ---- foreign, stale, truncated and half-initialised files ----------------------------- */

/* A real bucket's file, closed, whose words the caller then spoils. */
static const char *bucket_file(void)
{
    const char *name = fresh_name(false);
    rs_shm_token_bucket_close(open_bucket(name, 10.0, 4));
    return name;
}

static void foreign_files_are_refused_untouched(void **state)
{
    (void)state;
    rs_token_bucket_config c = { .rate = 10.0, .burst = 4 };
    rs_sliding_window_config wc = { .limit = 4, .window_ns = SEC, .kind = RS_WINDOW_COUNTER };
    const unsigned flags[] = { 0, RS_SHM_CREATE, RS_SHM_CREATE | RS_SHM_ADOPT };

    /* Not ours at all: text, a directory. */
    const char *text = fresh_name(false);
    write_file(text, "hello, world\n", 13);
    const char *dir = fresh_name(false);
    assert_int_equal(mkdir(dir, 0700), 0);
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(flags); i++) {
        assert_int_equal(open_bucket_status(text, &c, flags[i]), RS_E_INVAL);
        assert_int_equal(open_window_status(text, &wc, flags[i]), RS_E_INVAL);
        assert_int_equal(open_bucket_status(dir, &c, flags[i]), RS_E_INVAL);
    }
    struct stat st;
    assert_int_equal(stat(text, &st), 0);
    assert_int_equal(st.st_size, 13);
    assert_int_equal(rmdir(dir), 0);
    assert_int_equal(unlink(text), 0);

    /* Missing, and in a directory that does not exist. */
    char missing[128];
    snprintf(missing, sizeof missing, "%s/no/such/dir", temp_dir);
    assert_int_equal(open_bucket_status(missing, &c, RS_SHM_CREATE), RS_E_IO);
    assert_int_equal(open_bucket_status(fresh_name(false), &c, 0), RS_E_IO);
    assert_int_equal(open_bucket_status(fresh_name(true), &c, RS_SHM_ADOPT), RS_E_IO);

    /* The right size, but garbage in the phase word. */
    uint64_t garbage[FILE_WORDS];
    uint64_t rng = 99;
    for (int i = 0; i < FILE_WORDS; i++) {
        garbage[i] = rs_test_random(&rng);
    }
    const char *noise = fresh_name(false);
    write_file(noise, garbage, sizeof garbage);
    assert_int_equal(open_bucket_status(noise, &c, RS_SHM_CREATE | RS_SHM_ADOPT), RS_E_INVAL);
    assert_true(read_word(noise, WORD_MAGIC) == garbage[WORD_MAGIC]);
    write_word(noise, WORD_PHASE, 5); /* small, but neither empty nor ours */
    assert_int_equal(open_bucket_status(noise, &c, RS_SHM_CREATE), RS_E_INVAL);
    assert_true(read_word(noise, WORD_PHASE) == 5);
    assert_int_equal(unlink(noise), 0);

    /* A real file with one word spoilt: magic, layout version, kind, size
     * word, or a configuration no valid bucket has. */
    static const struct {
        int word;
        uint64_t flip;
    } spoils[] = {
        { WORD_MAGIC, 1 },        { WORD_VERSION_KIND, UINT64_C(1) << 32 },
        { WORD_VERSION_KIND, 3 }, { WORD_SIZE, 64 },
        { WORD_CONFIG, 1 },       /* interval no longer that of the stored rate */
        { WORD_CONFIG + 1, 4 },   /* burst 0 */
        { WORD_CONFIG + 2, UINT64_C(0x7FF0000000000000) ^ 0x4024000000000000 }, /* rate inf */
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(spoils); i++) {
        const char *name = bucket_file();
        uint64_t word = read_word(name, spoils[i].word);
        write_word(name, spoils[i].word, word ^ spoils[i].flip);
        assert_int_equal(open_bucket_status(name, NULL, RS_SHM_ADOPT), RS_E_INVAL);
        assert_int_equal(open_bucket_status(name, &c, 0), RS_E_INVAL);
        assert_true(read_word(name, spoils[i].word) == (word ^ spoils[i].flip));
        assert_int_equal(unlink(name), 0);
    }
    /* A window whose stored limit or window is impossible. */
    for (int i = 0; i < 2; i++) {
        const char *name = fresh_name(false);
        rs_shm_sliding_window_close(open_window(name, 4, SEC));
        write_word(name, WORD_CONFIG + i, 0);
        assert_int_equal(open_window_status(name, NULL, RS_SHM_ADOPT), RS_E_INVAL);
        assert_int_equal(unlink(name), 0);
    }

    /* Truncated, or grown: the size is wrong, nothing is changed. */
    for (int grow = 0; grow <= 1; grow++) {
        const char *name = bucket_file();
        assert_int_equal(truncate(name, grow ? 4096 : 64), 0);
        assert_int_equal(open_bucket_status(name, &c, RS_SHM_CREATE), RS_E_INVAL);
        assert_int_equal(stat(name, &st), 0);
        assert_int_equal(st.st_size, grow ? 4096 : 64);
        assert_int_equal(unlink(name), 0);
    }
}

/* Issue 12, item 2: the name only ever shows a complete file, so a file at
 * the name that is not complete and ours was not made by the library:
 * refused at once, never initialised. Before, an empty file or any 128-byte
 * file whose first word was zero (a victim's, or one planted by another
 * user) was initialised, that is overwritten, and a half-made file was
 * taken over. */
static void unpublished_files_are_refused(void **state)
{
    (void)state;
    rs_token_bucket_config c = { .rate = 10.0, .burst = 4 };
    rs_sliding_window_config wc = { .limit = 4, .window_ns = SEC, .kind = RS_WINDOW_COUNTER };
    const unsigned flags[] = { 0, RS_SHM_CREATE, RS_SHM_ADOPT, RS_SHM_CREATE | RS_SHM_ADOPT };
    pid_t dead = fork();
    assert_true(dead >= 0);
    if (dead == 0) {
        _exit(0);
    }
    assert_int_equal(waitpid(dead, NULL, 0), dead);
    uint64_t zeros[FILE_WORDS] = { 0 };
    uint64_t half_made[FILE_WORDS] = { 0 }; /* an initialiser of 0.1 that died */
    half_made[WORD_PHASE] = UINT64_C(0x494E4954) << 32 | (uint64_t)dead;
    const struct {
        const void *data;
        size_t size;
    } files[] = { { "", 0 }, { zeros, sizeof zeros }, { half_made, sizeof half_made } };
    for (int shm_object = 0; shm_object <= 1; shm_object++) {
        for (size_t i = 0; i < RS_TEST_ARRAY_LEN(files); i++) {
            const char *name = fresh_name(shm_object);
            const file_path file = path_of(name);
            const char *path = file.text;
            write_file(path, files[i].data, files[i].size);
            for (size_t f = 0; f < RS_TEST_ARRAY_LEN(flags); f++) {
                /* RS_E_INVAL at once, where 0.1 initialised the file (or,
                 * without a configuration, waited 1 s for someone to). */
                assert_int_equal(open_bucket_status(name, &c, flags[f]), RS_E_INVAL);
                assert_non_null(strstr(rs_last_error(), "not a libresilience"));
                assert_int_equal(open_window_status(name, &wc, flags[f]), RS_E_INVAL);
            }
            assert_int_equal(open_bucket_status(name, NULL, RS_SHM_ADOPT), RS_E_INVAL);
            struct stat st;
            assert_int_equal(stat(path, &st), 0);
            assert_int_equal(st.st_size, (off_t)files[i].size);
            if (files[i].size > 0) {
                assert_true(read_word(path, WORD_PHASE) == ((const uint64_t *)files[i].data)[0]);
                assert_true(read_word(path, WORD_MAGIC) == 0);
            }
            assert_int_equal(rs_shm_unlink(name), RS_OK);
        }
    }
}

/* A reset after a reboot (the only time a published file changes phase)
 * whose process died half-way is taken over; one whose process is alive but
 * stuck gives RS_E_IO after the bounded wait. */
static void interrupted_resets(void **state)
{
    (void)state;
    rs_token_bucket_config c = { .rate = 10.0, .burst = 4 };
    pid_t dead = fork();
    assert_true(dead >= 0);
    if (dead == 0) {
        _exit(0);
    }
    assert_int_equal(waitpid(dead, NULL, 0), dead);
    const uint64_t init = UINT64_C(0x494E4954) << 32;
    const char *name = bucket_file();
    rs_shm_token_bucket *tb = NULL;
    uint64_t wait = 0;
    assert_int_equal(rs_shm_token_bucket_open(name, &c, 0, &tb), RS_OK);
    assert_int_equal(rs_shm_token_bucket_reserve_at(tb, 4, UINT64_MAX, &wait, SEC), RS_OK);
    rs_shm_token_bucket_close(tb);
    uint64_t ready = read_word(name, WORD_PHASE);

    write_word(name, WORD_PHASE, init | (uint64_t)dead);
    assert_int_equal(rs_shm_token_bucket_open(name, &c, 0, &tb), RS_OK);
    assert_true(available_at(tb, SEC) == 4.0); /* the state was reset */
    rs_shm_token_bucket_close(tb);
    assert_true(read_word(name, WORD_PHASE) == ready);

    write_word(name, WORD_PHASE, init | (uint64_t)getpid()); /* alive: this process */
    uint64_t before = rs_test_now_ns();
    assert_int_equal(open_bucket_status(name, &c, RS_SHM_CREATE), RS_E_IO);
    assert_true(rs_test_now_ns() - before >= SEC);
    assert_true(read_word(name, WORD_PHASE) == (init | (uint64_t)getpid()));
    assert_int_equal(unlink(name), 0);
}

/* Issue 12, item 2: a symbolic link at the name is never followed, neither
 * to an existing file (which 0.1 truncated and initialised) nor to a new
 * one (which 0.1 created, e.g. in a directory only its opener could write
 * to). */
static void symlinks_are_never_followed(void **state)
{
    (void)state;
    rs_token_bucket_config c = { .rate = 10.0, .burst = 4 };
    rs_sliding_window_config wc = { .limit = 4, .window_ns = SEC, .kind = RS_WINDOW_COUNTER };
    const unsigned flags[] = { 0, RS_SHM_CREATE, RS_SHM_CREATE | RS_SHM_ADOPT };
    const char *victim = fresh_name(false);
    write_file(victim, "", 0);
    const char *private_dir = fresh_name(false);
    assert_int_equal(mkdir(private_dir, 0700), 0);
    char absent[128];
    snprintf(absent, sizeof absent, "%s/created", private_dir);
    const char *targets[] = { victim, absent };
    for (int shm_object = 0; shm_object <= 1; shm_object++) {
        for (size_t t = 0; t < RS_TEST_ARRAY_LEN(targets); t++) {
            const char *name = fresh_name(shm_object);
            const file_path file = path_of(name);
            const char *path = file.text;
            assert_int_equal(symlink(targets[t], path), 0);
            for (size_t f = 0; f < RS_TEST_ARRAY_LEN(flags); f++) {
                assert_int_equal(open_bucket_status(name, &c, flags[f]), RS_E_IO);
                assert_non_null(strstr(rs_last_error(), "symbolic link"));
                assert_int_equal(open_window_status(name, &wc, flags[f]), RS_E_IO);
            }
            struct stat st;
            assert_int_equal(stat(victim, &st), 0);
            assert_int_equal(st.st_size, 0); /* untouched */
            assert_int_equal(access(absent, F_OK), -1); /* not created */
            assert_int_equal(lstat(path, &st), 0);
            assert_true(S_ISLNK(st.st_mode)); /* and the link is still there */
            assert_int_equal(rs_shm_unlink(name), RS_OK); /* the link, not its target */
            assert_int_equal(stat(victim, &st), 0);
        }
    }
    assert_int_equal(rmdir(private_dir), 0);
    assert_int_equal(unlink(victim), 0);
}

/* Issue 12, item 3: whoever can write the file can raise the limit, so a
 * file that others, or without RS_SHM_SHARED_GROUP its group, may write is
 * refused and left alone (0.1 joined it); so is a file owned by another
 * user (checked here when the tests run as root, and by the security stage
 * of tools/test with a real second user). */
static void files_others_may_write_are_refused(void **state)
{
    (void)state;
    rs_token_bucket_config c = { .rate = 10.0, .burst = 4 };
    const struct {
        mode_t mode;
        unsigned flags;
        int status;
        const char *why;
    } cases[] = {
        { 0600, 0, RS_OK, NULL },
        { 0644, 0, RS_OK, NULL }, /* reading raises no limit */
        { 0666, 0, RS_E_IO, "writable by others" },
        { 0602, RS_SHM_SHARED_GROUP, RS_E_IO, "writable by others" },
        { 0660, 0, RS_E_IO, "writable by its group" },
        { 0620, RS_SHM_ADOPT, RS_E_IO, "writable by its group" },
        { 0660, RS_SHM_SHARED_GROUP, RS_OK, NULL }, /* our own group */
        { 0666, RS_SHM_SHARED_GROUP, RS_E_IO, "writable by others" },
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(cases); i++) {
        const char *name = bucket_file();
        assert_int_equal(chmod(name, cases[i].mode), 0);
        uint64_t before[FILE_WORDS];
        for (int w = 0; w < FILE_WORDS; w++) {
            before[w] = read_word(name, w);
        }
        rs_set_last_error(RS_OK, NULL);
        assert_int_equal(open_bucket_status(name, &c, cases[i].flags | RS_SHM_CREATE),
                         cases[i].status);
        if (cases[i].why != NULL) {
            assert_non_null(strstr(rs_last_error(), cases[i].why));
            assert_non_null(strstr(rs_last_error(), name)); /* names the file */
            for (int w = 0; w < FILE_WORDS; w++) {
                assert_true(read_word(name, w) == before[w]);
            }
        }
        assert_int_equal(unlink(name), 0);
    }
    if (geteuid() != 0) {
        print_message("# not root: another owner is checked by the security stage only\n");
        return;
    }
    const char *name = bucket_file();
    assert_int_equal(chown(name, 4242, (gid_t)-1), 0);
    assert_int_equal(open_bucket_status(name, &c, RS_SHM_CREATE), RS_E_IO);
    assert_non_null(strstr(rs_last_error(), "owned by uid 4242, not by us (uid 0)"));
    assert_int_equal(open_bucket_status(name, NULL, RS_SHM_ADOPT | RS_SHM_SHARED_GROUP),
                     RS_E_IO);
    assert_int_equal(unlink(name), 0);
}

/* A new file's mode does not depend on the umask: 0600, or 0660 for a
 * group; no temporary file is left in the directory (the group teardown
 * checks that the directory is empty at the end). */
static void created_files_have_exact_modes(void **state)
{
    (void)state;
    rs_token_bucket_config c = { .rate = 10.0, .burst = 4 };
    const struct {
        mode_t umask;
        unsigned flags;
        mode_t mode;
    } cases[] = {
        { 022, RS_SHM_CREATE, 0600 },
        { 0, RS_SHM_CREATE, 0600 },
        { 077, RS_SHM_CREATE, 0600 },
        { 022, RS_SHM_CREATE | RS_SHM_SHARED_GROUP, 0660 },
        { 077, RS_SHM_CREATE | RS_SHM_SHARED_GROUP, 0660 },
    };
    for (size_t i = 0; i < RS_TEST_ARRAY_LEN(cases); i++) {
        for (int shm_object = 0; shm_object <= 1; shm_object++) {
            const char *name = fresh_name(shm_object);
            const file_path file = path_of(name);
            const char *path = file.text;
            mode_t old = umask(cases[i].umask);
            int status = open_bucket_status(name, &c, cases[i].flags);
            (void)umask(old);
            assert_int_equal(status, RS_OK);
            struct stat st;
            assert_int_equal(stat(path, &st), 0);
            assert_int_equal(st.st_mode & 07777, cases[i].mode);
            assert_int_equal(st.st_uid, geteuid());
            assert_int_equal(st.st_size, FILE_WORDS * 8);
            assert_int_equal(st.st_nlink, 1); /* the temporary name is gone */
            assert_int_equal(rs_shm_unlink(name), RS_OK);
        }
    }
}

/* A file written during another boot: its instants mean nothing on this
 * boot's monotonic clock, so the state is reset and the configuration kept. */
static void files_from_another_boot_are_reset(void **state)
{
    (void)state;
    if (access("/proc/sys/kernel/random/boot_id", R_OK) != 0) {
        print_message("# no boot id on this system: nothing to check\n");
        return;
    }
    const char *name = bucket_file();
    rs_shm_token_bucket *tb = NULL;
    assert_int_equal(rs_shm_token_bucket_open(name, NULL, RS_SHM_ADOPT, &tb), RS_OK);
    uint64_t wait = 0, now = rs_test_now_ns();
    assert_int_equal(rs_shm_token_bucket_reserve_at(tb, 4, UINT64_MAX, &wait, now + 100 * SEC),
                     RS_OK);
    rs_shm_token_bucket_close(tb);
    uint64_t phase = read_word(name, WORD_PHASE);
    uint64_t tat = read_word(name, WORD_STATE);
    assert_true(tat > now + 100 * SEC);

    /* Same boot: reopening keeps the state. */
    assert_int_equal(rs_shm_token_bucket_open(name, NULL, RS_SHM_ADOPT, &tb), RS_OK);
    assert_true(available_at(tb, now) < 0.0);
    rs_shm_token_bucket_close(tb);
    assert_true(read_word(name, WORD_STATE) == tat);

    /* Another boot's tag: a fresh, full bucket with the same configuration. */
    write_word(name, WORD_PHASE, phase ^ 0x5A5A);
    assert_int_equal(rs_shm_token_bucket_open(name, NULL, RS_SHM_ADOPT, &tb), RS_OK);
    assert_true(available_at(tb, now) == 4.0);
    rs_token_bucket_config in_force;
    assert_int_equal(rs_shm_token_bucket_config_get(tb, &in_force), RS_OK);
    assert_true(in_force.rate == 10.0 && in_force.burst == 4);
    rs_shm_token_bucket_close(tb);
    assert_true(read_word(name, WORD_PHASE) == phase);
    assert_int_equal(unlink(name), 0);
}

/* ---- many processes ------------------------------------------------------------------ */

typedef struct race {
    const char *bucket_name;
    const char *window_name;
    atomic_uint_fast64_t tokens;
    atomic_uint_fast64_t admitted;
} race;

/* Opens both limiters the moment the start line drops and takes what it
 * can; the counts go to the shared record. */
static int race_to_open(unsigned index, void *arg)
{
    race *r = arg;
    rs_token_bucket_config bc = { .rate = 1e-3, .burst = 5 };
    rs_sliding_window_config wc = { .limit = 7, .window_ns = UINT64_C(1) << 50,
                                    .kind = RS_WINDOW_COUNTER };
    rs_shm_token_bucket *tb = NULL;
    rs_shm_sliding_window *w = NULL;
    if (rs_shm_token_bucket_open(r->bucket_name, &bc, RS_SHM_CREATE, &tb) != RS_OK ||
        rs_shm_sliding_window_open(r->window_name, &wc, RS_SHM_CREATE, &w) != RS_OK) {
        return 1;
    }
    for (unsigned i = 0; i < 3 + index % 3; i++) {
        atomic_fetch_add(&r->tokens, rs_shm_token_bucket_try_acquire(tb, 1) == RS_OK);
        atomic_fetch_add(&r->admitted, rs_shm_sliding_window_try_acquire(w, 1) == RS_OK);
    }
    rs_shm_token_bucket_close(tb);
    rs_shm_sliding_window_close(w);
    return 0;
}

/* 12 processes open one new name at the same instant, several times over:
 * every open succeeds, exactly one initialises (the others would otherwise
 * grant the burst again), and the grants add up to exactly the burst. */
static void creation_race_between_processes(void **state)
{
    (void)state;
    race *r = shared_alloc(sizeof *r);
    for (int round = 0; round < 30; round++) {
        r->bucket_name = fresh_name(round & 1);
        r->window_name = fresh_name(!(round & 1));
        atomic_store(&r->tokens, 0);
        atomic_store(&r->admitted, 0);
        run_children(12, race_to_open, r);
        assert_int_equal(atomic_load(&r->tokens), 5);
        assert_int_equal(atomic_load(&r->admitted), 7);
        assert_int_equal(rs_shm_unlink(r->bucket_name), RS_OK);
        assert_int_equal(rs_shm_unlink(r->window_name), RS_OK);
    }
    assert_int_equal(munmap(r, sizeof *r), 0);
}

typedef struct victim {
    rs_shm_token_bucket *tb;
    rs_shm_sliding_window *w;
    atomic_uint_fast64_t calls;
} victim;

static _Noreturn void spend_until_killed(victim *v)
{
    for (;;) {
        uint64_t now = rs_clock_now(NULL), wait;
        (void)rs_shm_token_bucket_reserve_at(v->tb, 1, UINT64_MAX, &wait, now);
        (void)rs_shm_sliding_window_try_acquire_at(v->w, 1, now);
        atomic_fetch_add(&v->calls, 1);
    }
}

/* A process killed in the middle of its calls holds nothing: the others go
 * on at once, and the limits are intact. */
static void a_killed_process_holds_nothing(void **state)
{
    (void)state;
    victim *v = shared_alloc(sizeof *v);
    const char *bucket_name = fresh_name(true), *window_name = fresh_name(false);
    v->tb = open_bucket(bucket_name, 1e6, 10);
    v->w = open_window(window_name, 100, 10 * SEC);
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        spend_until_killed(v);
    }
    while (atomic_load(&v->calls) < 20000) {
        (void)sched_yield();
    }
    assert_int_equal(kill(child, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status));
    uint64_t now = rs_clock_now(NULL);
    /* 20,000 reservations of 1 us: owed for about 20 ms from the start. */
    double available = available_at(v->tb, now);
    assert_true(available <= 10.0);
    uint64_t wait = 0;
    assert_int_equal(rs_shm_token_bucket_reserve_at(v->tb, 10, UINT64_MAX, &wait, now), RS_OK);
    assert_int_equal(rs_shm_token_bucket_try_acquire_at(v->tb, 10, now + wait + 10000), RS_OK);
    assert_int_equal(rs_shm_token_bucket_try_acquire_at(v->tb, 1, now + wait + 10000), RS_E_LIMITED);
    assert_int_equal(count_at(v->w, now), 100);
    assert_int_equal(rs_shm_sliding_window_try_acquire_at(v->w, 1, now), RS_E_LIMITED);
    assert_int_equal(rs_shm_sliding_window_try_acquire_at(v->w, 100, now + 30 * SEC), RS_OK);
    rs_shm_token_bucket_close(v->tb);
    rs_shm_sliding_window_close(v->w);
    assert_int_equal(rs_shm_unlink(bucket_name), RS_OK);
    assert_int_equal(rs_shm_unlink(window_name), RS_OK);
    assert_int_equal(munmap(v, sizeof *v), 0);
}

/* ---- allocation failure --------------------------------------------------------------- */

static int create_bucket(void *ctx, void **object)
{
    rs_token_bucket_config c = RS_TOKEN_BUCKET_CONFIG_DEFAULT;
    return rs_shm_token_bucket_open(ctx, &c, RS_SHM_CREATE, (rs_shm_token_bucket **)object);
}

static void destroy_bucket(void *object) { rs_shm_token_bucket_close(object); }

static int create_window(void *ctx, void **object)
{
    rs_sliding_window_config c = { .limit = 10, .window_ns = SEC, .kind = RS_WINDOW_COUNTER };
    return rs_shm_sliding_window_open(ctx, &c, RS_SHM_CREATE, (rs_shm_sliding_window **)object);
}

static void destroy_window(void *object) { rs_shm_sliding_window_close(object); }

/* A failed allocation leaves no handle, no mapping and no file behind. */
static void allocation_failure_is_clean(void **state)
{
    (void)state;
    for (int shm_object = 0; shm_object <= 1; shm_object++) {
        const char *name = fresh_name(shm_object);
        fault_alloc_install();
        fault_alloc_fail_at(1);
        rs_shm_token_bucket *tb = NULL;
        assert_int_equal(create_bucket((void *)name, (void **)&tb), RS_E_NOMEM);
        fault_alloc_uninstall();
        assert_false(exists(name));
        assert_int_equal(fault_alloc_sweep(create_bucket, destroy_bucket, (void *)name), 1);
        assert_int_equal(rs_shm_unlink(name), RS_OK);
        name = fresh_name(shm_object);
        assert_int_equal(fault_alloc_sweep(create_window, destroy_window, (void *)name), 1);
        assert_int_equal(rs_shm_unlink(name), RS_OK);
    }
}

#if RS_TEST_THREADS

/* ---- 4 processes x 2 threads on the real clock ------------------------------------------ */

#define STRESS_PROCESSES 4
#define STRESS_THREADS 2
#define STRESS_MAX 20000

typedef struct stress {
    rs_shm_token_bucket *tb; /* opened before the fork: every child inherits it */
    const char *window_name; /* opened by every child itself */
    uint64_t deadline;
    atomic_uint_fast64_t granted;
    size_t counts[STRESS_PROCESSES * STRESS_THREADS];
    rs_test_span spans[STRESS_PROCESSES * STRESS_THREADS][STRESS_MAX];
} stress;

typedef struct worker {
    stress *s;
    rs_shm_sliding_window *w;
    unsigned id;
} worker;

/* Even workers try_acquire, odd ones reserve (a reservation counts from
 * the instant it may be used). */
static void *hammer_bucket(void *arg)
{
    const worker *k = arg;
    stress *s = k->s;
    uint64_t rng = k->id + 1, granted = 0;
    while (rs_test_now_ns() < s->deadline) {
        uint64_t n = 1 + rs_test_random(&rng) % 3;
        if (k->id % 2 == 0) {
            granted += rs_shm_token_bucket_try_acquire(s->tb, n) == RS_OK ? n : 0;
        } else {
            uint64_t now = rs_test_now_ns(), wait = 0;
            if (rs_shm_token_bucket_reserve_at(s->tb, n, 200000, &wait, now) == RS_OK &&
                now + wait <= s->deadline) {
                granted += n;
            }
        }
    }
    atomic_fetch_add(&s->granted, granted);
    return NULL;
}

static void *hammer_window(void *arg)
{
    const worker *k = arg;
    stress *s = k->s;
    size_t count = 0;
    for (uint64_t i = 0;; i++) {
        uint64_t before = rs_test_now_ns();
        if (before >= s->deadline || count == STRESS_MAX) {
            break;
        }
        bool admitted = rs_shm_sliding_window_try_acquire(k->w, 1) == RS_OK;
        if (i % 16 == 0) { /* the reading calls contend too (no cmocka in children) */
            uint64_t value;
            (void)rs_shm_sliding_window_wait_ns(k->w, 2, &value);
            (void)rs_shm_sliding_window_count(k->w, &value);
        }
        if (admitted) {
            s->spans[k->id][count++] = (rs_test_span){ before, rs_test_now_ns() };
        }
    }
    s->counts[k->id] = count;
    return NULL;
}

/* One child: two threads on the bucket (window_name NULL) or the window. */
static int stress_child(unsigned index, void *arg)
{
    stress *s = arg;
    worker workers[STRESS_THREADS];
    pthread_t threads[STRESS_THREADS];
    rs_shm_sliding_window *w = NULL;
    if (s->window_name != NULL && rs_shm_sliding_window_open(s->window_name, NULL, RS_SHM_ADOPT,
                                                             &w) != RS_OK) {
        return 1;
    }
    for (unsigned t = 0; t < STRESS_THREADS; t++) {
        workers[t] = (worker){ s, w, index * STRESS_THREADS + t };
        if (pthread_create(&threads[t], NULL, w != NULL ? hammer_window : hammer_bucket,
                           &workers[t]) != 0) {
            return 2;
        }
    }
    for (unsigned t = 0; t < STRESS_THREADS; t++) {
        (void)pthread_join(threads[t], NULL);
    }
    rs_shm_sliding_window_close(w);
    return 0;
}

/* Across all processes and threads: at most burst + rate * elapsed tokens
 * from a bucket that started full. */
static void processes_share_one_bucket(void **state)
{
    (void)state;
    const double rate = 20000.0;
    const uint64_t burst = 200;
    stress *s = shared_alloc(sizeof *s);
    const char *name = fresh_name(true);
    uint64_t start = rs_test_now_ns();
    s->tb = open_bucket(name, rate, burst);
    s->deadline = start + SEC;
    run_children(STRESS_PROCESSES, stress_child, s);
    double elapsed = (double)(rs_test_now_ns() - start) / 1e9;
    double granted = (double)atomic_load(&s->granted);
    double bound = (double)burst + rate * elapsed;
    print_message("# %.0f tokens granted in %.3f s by %d processes x %d threads; bound %.0f\n",
                  granted, elapsed, STRESS_PROCESSES, STRESS_THREADS, bound);
    assert_true(granted <= bound);
    assert_true(granted >= rate * elapsed / 10); /* liveness, loosely */
    rs_shm_token_bucket_close(s->tb);
    assert_int_equal(rs_shm_unlink(name), RS_OK);
    assert_int_equal(munmap(s, sizeof *s), 0);
}

/* The counter's documented bounds across all processes and threads: at most
 * `limit` in every fixed window, below 2 * limit in any window of its
 * length. */
static void processes_share_one_window(void **state)
{
    (void)state;
    const uint64_t limit = 40, window = 10 * MS;
    static rs_test_span all[STRESS_PROCESSES * STRESS_THREADS * STRESS_MAX];
    stress *s = shared_alloc(sizeof *s);
    s->window_name = fresh_name(false);
    uint64_t start = rs_test_now_ns();
    rs_shm_sliding_window_close(open_window(s->window_name, limit, window));
    s->deadline = start + SEC;
    run_children(STRESS_PROCESSES, stress_child, s);
    double elapsed = (double)(rs_test_now_ns() - start);
    size_t len = 0;
    for (int t = 0; t < STRESS_PROCESSES * STRESS_THREADS; t++) {
        assert_true(s->counts[t] < STRESS_MAX);
        memcpy(&all[len], s->spans[t], s->counts[t] * sizeof(rs_test_span));
        len += s->counts[t];
    }
    rs_test_spans_sort(all, len);
    uint64_t most = rs_test_spans_most_within(all, len, window);
    uint64_t most_fixed = rs_test_spans_most_in_a_fixed_window(all, len, window);
    print_message("# %zu admitted in %.3f s; at most %llu in one window, %llu in a fixed one\n",
                  len, elapsed / 1e9, (unsigned long long)most, (unsigned long long)most_fixed);
    assert_true(most <= 2 * limit - 1);
    assert_true(most_fixed <= limit);
    double windows = elapsed / (double)window;
    assert_true((double)len <= (double)limit * (windows + 1));
    assert_true((double)len >= (double)limit * windows / 10); /* liveness, loosely */
    assert_int_equal(rs_shm_unlink(s->window_name), RS_OK);
    assert_int_equal(munmap(s, sizeof *s), 0);
}

/* ---- contention hand-off: one spin per call, never a wait ---------------------------- */

typedef struct shm_handoff {
    rs_shm_token_bucket *tb;
    uint64_t now;
} shm_handoff;

static void *shm_grant_once_at(void *arg)
{
    shm_handoff *h = arg;
    return rs_shm_token_bucket_try_acquire_at(h->tb, 1, h->now) == RS_OK ? NULL : (void *)1;
}

/* Our grant overwritten by a thread that then goes idle: our next calls at
 * the same instant spin at most once each and grant, exactly. */
static void shm_handoff_never_waits_for_an_idle_thread(void **state)
{
    (void)state;
    static shm_handoff h;
    const char *name = fresh_name(false);
    h.tb = open_bucket(name, 1e6, 1000000);
    h.now = 1000 * SEC;
    assert_int_equal(rs_shm_token_bucket_try_acquire_at(h.tb, 1, h.now), RS_OK);
    rs_test_run_threads(1, shm_grant_once_at, &h);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(rs_shm_token_bucket_try_acquire_at(h.tb, 1, h.now), RS_OK);
    }
    assert_true(available_at(h.tb, h.now) == 1000000.0 - 1002.0);
    rs_shm_token_bucket_close(h.tb);
    assert_int_equal(rs_shm_unlink(name), RS_OK);
}
#endif /* RS_TEST_THREADS */

/* ---- metrics ---------------------------------------------------------------------- */

/* The state is the file's, the counters this handle's own. */
static void metrics_report_the_file_and_this_process(void **state)
{
    (void)state;
    const char *name = fresh_name(false);
    rs_token_bucket_config tc = { 10, 4 };
    rs_shm_token_bucket *a = NULL, *b = NULL;
    assert_int_equal(rs_shm_token_bucket_open(name, &tc, RS_SHM_CREATE, &a), RS_OK);
    assert_int_equal(rs_shm_token_bucket_open(name, &tc, 0, &b), RS_OK);
    uint64_t now = rs_clock_now(NULL), wait = 0;
    assert_int_equal(rs_shm_token_bucket_try_acquire_at(a, 3, now), RS_OK);
    assert_int_equal(rs_shm_token_bucket_try_acquire_at(b, 2, now), RS_E_LIMITED);
    assert_int_equal(rs_shm_token_bucket_reserve_at(b, 1, 0, &wait, now), RS_OK);
    assert_int_equal(rs_shm_token_bucket_try_acquire_at(b, 5, now), RS_E_INVAL); /* not counted */
    rs_token_bucket_snapshot m;
    assert_int_equal(rs_shm_token_bucket_metrics_at(a, &m, now), RS_OK);
    assert_true(m.rate == 10.0);
    assert_int_equal(m.burst, 4);
    assert_true(m.available == 0.0);
    assert_int_equal(m.granted, 1);
    assert_int_equal(m.granted_tokens, 3);
    assert_int_equal(m.refused, 0);
    assert_int_equal(rs_shm_token_bucket_metrics_at(b, &m, now), RS_OK);
    assert_true(m.available == 0.0); /* the same file */
    assert_int_equal(m.granted, 1);
    assert_int_equal(m.granted_tokens, 1);
    assert_int_equal(m.refused, 1);
    assert_int_equal(rs_shm_token_bucket_metrics(NULL, &m), RS_E_INVAL);
    assert_int_equal(rs_shm_token_bucket_metrics(a, NULL), RS_E_INVAL);
    rs_shm_token_bucket_close(a);
    rs_shm_token_bucket_close(b);

    name = fresh_name(false);
    rs_sliding_window_config wc = { 5, SEC, RS_WINDOW_COUNTER };
    rs_shm_sliding_window *w = NULL, *v = NULL;
    assert_int_equal(rs_shm_sliding_window_open(name, &wc, RS_SHM_CREATE, &w), RS_OK);
    assert_int_equal(rs_shm_sliding_window_open(name, &wc, 0, &v), RS_OK);
    now = rs_clock_now(NULL);
    assert_int_equal(rs_shm_sliding_window_try_acquire_at(w, 4, now), RS_OK);
    assert_int_equal(rs_shm_sliding_window_try_acquire_at(v, 2, now), RS_E_LIMITED);
    rs_limiter l = rs_shm_sliding_window_limiter(v);
    assert_int_equal(rs_limiter_acquire(&l, 1, 0, now, &wait), RS_OK);
    rs_sliding_window_snapshot s;
    assert_int_equal(rs_shm_sliding_window_metrics_at(v, &s, now), RS_OK);
    assert_int_equal(s.limit, 5);
    assert_int_equal(s.window_ns, SEC);
    assert_int_equal(s.kind, RS_WINDOW_COUNTER);
    assert_true(s.count >= 4); /* the limiter read its own clock, a little later */
    assert_int_equal(s.admitted, 1);
    assert_int_equal(s.admitted_units, 1);
    assert_int_equal(s.refused, 1);
    assert_int_equal(rs_shm_sliding_window_metrics(w, &s), RS_OK);
    assert_int_equal(s.admitted_units, 4);
    assert_int_equal(rs_shm_sliding_window_metrics(NULL, &s), RS_E_INVAL);
    rs_shm_sliding_window_close(w);
    rs_shm_sliding_window_close(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rejects_invalid_arguments),
        cmocka_unit_test(open_errors_say_why),
        cmocka_unit_test(null_handles_and_unlink),
        cmocka_unit_test(bucket_answers_as_the_in_process_bucket),
        cmocka_unit_test(window_answers_as_the_in_process_counter),
        cmocka_unit_test(handles_share_one_limit),
        cmocka_unit_test(system_clock_calls),
        cmocka_unit_test(limiter_adapters),
        cmocka_unit_test(window_waits_agree_with_admissions),
        cmocka_unit_test(foreign_files_are_refused_untouched),
        cmocka_unit_test(unpublished_files_are_refused),
        cmocka_unit_test(interrupted_resets),
        cmocka_unit_test(symlinks_are_never_followed),
        cmocka_unit_test(files_others_may_write_are_refused),
        cmocka_unit_test(created_files_have_exact_modes),
        cmocka_unit_test(files_from_another_boot_are_reset),
        cmocka_unit_test(creation_race_between_processes),
        cmocka_unit_test(a_killed_process_holds_nothing),
        cmocka_unit_test(allocation_failure_is_clean),
        cmocka_unit_test(metrics_report_the_file_and_this_process),
#if RS_TEST_THREADS
        cmocka_unit_test(processes_share_one_bucket),
        cmocka_unit_test(shm_handoff_never_waits_for_an_idle_thread),
        cmocka_unit_test(processes_share_one_window),
#endif
    };
    return cmocka_run_group_tests(tests, make_temp_dir, remove_everything);
}
