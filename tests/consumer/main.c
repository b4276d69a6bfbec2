/* A minimal application of libresilience, built against an installed copy
 * (pkg-config, shared and static) and as a meson subproject. */
#include <stdio.h>
#include <string.h>

#include <resilience.h>

int main(void)
{
    if (strcmp(rs_version_string(), RS_VERSION_STRING) != 0) {
        fprintf(stderr, "header %s but library %s\n", RS_VERSION_STRING, rs_version_string());
        return 1;
    }
    rs_backoff_config cfg = RS_BACKOFF_CONFIG_DEFAULT;
    cfg.jitter = RS_JITTER_NONE;
    rs_backoff *backoff = NULL;
    int rc = rs_backoff_new(&cfg, &backoff);
    if (rc != RS_OK) {
        fprintf(stderr, "rs_backoff_new: %s\n", rs_strerror(rc));
        return 1;
    }
    uint64_t second = rs_backoff_next(backoff, 2);
    rs_backoff_free(backoff);
    if (second != 2 * cfg.base_ns) {
        fprintf(stderr, "unexpected delay %llu\n", (unsigned long long)second);
        return 1;
    }
    rs_budget_config budget_cfg = RS_BUDGET_CONFIG_DEFAULT;
    if (rs_budget_config_validate(&budget_cfg) != RS_OK) {
        fprintf(stderr, "the default budget configuration is invalid\n");
        return 1;
    }
    if (strcmp(rs_breaker_state_name(RS_BREAKER_HALF_OPEN), "HALF_OPEN") != 0) {
        fprintf(stderr, "rs_breaker_state_name is wrong\n");
        return 1;
    }
    if (rs_shm_unlink("") != RS_E_INVAL) { /* links the shared-memory module */
        fprintf(stderr, "rs_shm_unlink accepted an empty name\n");
        return 1;
    }
    printf("consumer ok: libresilience %s\n", rs_version_string());
    return 0;
}
