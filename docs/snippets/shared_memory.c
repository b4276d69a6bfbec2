/* docs/shared-memory.md's code, compiled and run by the test suite: a real
 * shared-memory bucket under a name of its own, removed at the end. */
#include <stdio.h>
#include <unistd.h>

#include <resilience.h>

static int sent;
static void send(void) { sent++; }

int main(void)
{
    char name[64];
    snprintf(name, sizeof name, "/rs-snippet-%ld", (long)getpid());
    /* snippet: bucket */
    /* in every process, before or after fork(): the same name, the same limit */
    rs_token_bucket_config cfg = { .rate = 10.0, .burst = 20 };     /* all processes together */
    rs_shm_token_bucket *quota;
    int rc = rs_shm_token_bucket_open(name, &cfg, RS_SHM_CREATE, &quota);
    if (rc != RS_OK) { /* RS_E_INVAL: foreign or different file; RS_E_IO: the system said no,
                          or a file we may not trust; rs_last_error() says which and why */
        fprintf(stderr, "%s: %s\n", rs_strerror(rc), rs_last_error());
        return 1;
    }

    if (rs_shm_token_bucket_try_acquire(quota, 1) == RS_OK) send();        /* never wait */
    if (rs_shm_token_bucket_acquire(quota, 1, RS_MS(200)) == RS_OK) send();  /* wait <= 200 ms */

    rs_shm_token_bucket_close(quota);    /* this process's handle; the limit stays */
    /* end snippet */
    rs_shm_unlink(name);
    printf("sent %d\n", sent);
    return sent == 2 ? 0 : 1;
}
