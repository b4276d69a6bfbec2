/* docs/rate-limiting.md's code, compiled and run by the test suite. Every
 * request here finds its tokens in the bucket, so nothing waits. */
#include <stdio.h>

#include <resilience.h>

static int sent, scheduled, model_calls;

static void send(void) { sent++; }
static void schedule_send_in(uint64_t wait_ns) { scheduled += wait_ns == 0; }
static void retry_in(uint64_t wait_ns) { (void)wait_ns; }
static void call_the_model(void) { model_calls++; }

static int request_limits(void)
{
    /* snippet: ways */
    rs_token_bucket_config cfg = RS_TOKEN_BUCKET_CONFIG_DEFAULT;
    cfg.rate = 50.0;                     /* per second */
    cfg.burst = 10;
    rs_token_bucket *tb;
    if (rs_token_bucket_new(&cfg, NULL, &tb) != RS_OK) {
        fprintf(stderr, "rs_token_bucket_new: %s\n", rs_last_error());
        return 1;
    }

    /* 1. never wait */
    if (rs_token_bucket_try_acquire(tb, 1)) {
        send();
    }

    /* 2. wait up to 200 ms, sleeping on the bucket's clock */
    if (rs_token_bucket_acquire(tb, 1, RS_MS(200)) == RS_OK) {
        send();
    }

    /* 3. take a place in the queue and wait yourself (an event loop) */
    uint64_t wait_ns;
    int rc = rs_token_bucket_reserve(tb, 1, RS_MS(200), &wait_ns);
    if (rc == RS_OK) {
        schedule_send_in(wait_ns);       /* the token is yours */
    } else if (rc == RS_E_LIMITED) {
        retry_in(wait_ns);               /* nothing was taken */
    }
    /* end snippet */
    rs_token_bucket_free(tb);
    return 0;
}

static int token_limits(uint64_t prompt_tokens, uint64_t max_output_tokens)
{
    /* snippet: tpm */
    /* 90,000 tokens per minute, bursts up to 10,000 */
    rs_token_bucket_config tpm = { .rate = 90000.0 / 60.0, .burst = 10000 };
    rs_token_bucket *tpm_bucket;
    if (rs_token_bucket_new(&tpm, NULL, &tpm_bucket) != RS_OK) {
        fprintf(stderr, "rs_token_bucket_new: %s\n", rs_last_error());
        return 1;
    }
    uint64_t estimate = prompt_tokens + max_output_tokens;
    if (rs_token_bucket_acquire(tpm_bucket, estimate, RS_SEC(30)) == RS_OK) {
        call_the_model();
    }
    /* end snippet */
    rs_token_bucket_free(tpm_bucket);
    return 0;
}

int main(void)
{
    if (request_limits() != 0 || token_limits(1200, 800) != 0) {
        return 1;
    }
    if (sent != 2 || scheduled != 1 || model_calls != 1) {
        fprintf(stderr, "unexpected: %d sent, %d scheduled, %d model calls\n", sent, scheduled,
                model_calls);
        return 1;
    }
    return 0;
}
