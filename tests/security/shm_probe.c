/* shm_probe: one shared-memory open as a command, for tools/lib/shm_security.sh,
 * which runs it as root and as a second, unprivileged user against planted
 * symbolic links, foreign files and a full filesystem.
 *
 *   shm_probe open bucket|window NAME [create] [adopt] [group]
 *
 * opens the limiter (rate 15/s burst 30, or 30 per 2 s), takes one unit if
 * that worked, closes it, and prints one line: the status's name, a tab and
 * rs_last_error() (empty on success). It exits 0 whatever the status, so
 * that the script judges the status; 2 for a usage error. A crash (the
 * SIGBUS a full filesystem used to cause) is the script's FAIL. */
#include <stdio.h>
#include <string.h>

#include "resilience.h"

static int usage(void)
{
    fprintf(stderr, "usage: shm_probe open bucket|window NAME [create] [adopt] [group]\n");
    return 2;
}

static int open_and_take(const char *kind, const char *name, unsigned flags)
{
    if (strcmp(kind, "bucket") == 0) {
        rs_token_bucket_config cfg = { .rate = 15.0, .burst = 30 };
        rs_shm_token_bucket *tb = NULL;
        int status = rs_shm_token_bucket_open(name, &cfg, flags, &tb);
        if (status == RS_OK) {
            status = rs_shm_token_bucket_try_acquire(tb, 1);
            rs_shm_token_bucket_close(tb);
        }
        return status;
    }
    rs_sliding_window_config cfg = { .limit = 30, .window_ns = RS_SEC(2),
                                     .kind = RS_WINDOW_COUNTER };
    rs_shm_sliding_window *w = NULL;
    int status = rs_shm_sliding_window_open(name, &cfg, flags, &w);
    if (status == RS_OK) {
        status = rs_shm_sliding_window_try_acquire(w, 1);
        rs_shm_sliding_window_close(w);
    }
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 4 || strcmp(argv[1], "open") != 0 ||
        (strcmp(argv[2], "bucket") != 0 && strcmp(argv[2], "window") != 0)) {
        return usage();
    }
    static const struct {
        const char *word;
        unsigned flag;
    } words[] = { { "create", RS_SHM_CREATE }, { "adopt", RS_SHM_ADOPT },
                  { "group", RS_SHM_SHARED_GROUP } };
    unsigned flags = 0;
    for (int i = 4; i < argc; i++) {
        size_t w = 0;
        while (w < sizeof words / sizeof words[0] && strcmp(argv[i], words[w].word) != 0) {
            w++;
        }
        if (w == sizeof words / sizeof words[0]) {
            return usage();
        }
        flags |= words[w].flag;
    }
    int status = open_and_take(argv[2], argv[3], flags);
    printf("%s\t%s\n", rs_status_name(status), status == RS_OK ? "" : rs_last_error());
    return 0;
}
