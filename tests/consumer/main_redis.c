/* A minimal application of libresilience-redis, built against an installed
 * copy (pkg-config resilience-redis, shared and static) and as a meson
 * subproject. It needs no server: nothing listens on 127.0.0.1:1. */
#include <stdio.h>
#include <string.h>

#include <resilience.h>
#include <resilience/redis.h>

/* The brace-initializer twins work where a compound literal cannot. */
static const rs_redis_config pool_defaults = RS_REDIS_CONFIG_INIT;
static const rs_redis_token_bucket_config bucket_defaults = RS_REDIS_TOKEN_BUCKET_CONFIG_INIT;

int main(void)
{
    rs_redis_config bad = pool_defaults;
    bad.url = "http://localhost";
    rs_redis *redis = NULL;
    if (rs_redis_new(&bad, NULL, &redis) != RS_E_INVAL ||
        strstr(rs_last_error(), "rs_redis_config.url") == NULL) {
        fprintf(stderr, "a bad URL was not refused with its field named: \"%s\"\n",
                rs_last_error());
        return 1;
    }
    rs_redis_config pool = pool_defaults;
    pool.url = "redis://127.0.0.1:1";
    pool.connect_timeout_ns = RS_MS(100);
    int rc = rs_redis_new(&pool, NULL, &redis);
    if (rc != RS_OK) {
        fprintf(stderr, "rs_redis_new: %s: %s\n", rs_strerror(rc), rs_last_error());
        return 1;
    }
    rs_redis_token_bucket_config tc = bucket_defaults;
    tc.redis = redis;
    tc.name = "consumer";
    tc.on_failure = RS_REDIS_FAIL_OPEN;
    rs_redis_token_bucket *bucket = NULL;
    rc = rs_redis_token_bucket_new(&tc, NULL, &bucket);
    if (rc != RS_OK) {
        fprintf(stderr, "rs_redis_token_bucket_new: %s: %s\n", rs_strerror(rc), rs_last_error());
        rs_redis_free(redis);
        return 1;
    }
    /* Redis is unreachable: the failure policy grants, and says why. */
    rc = rs_redis_token_bucket_try_acquire(bucket, 1);
    int status = 0;
    if (rc != RS_OK || strstr(rs_last_error(), "redis 127.0.0.1:1") == NULL) {
        fprintf(stderr, "try_acquire: %s, last error \"%s\"\n", rs_strerror(rc), rs_last_error());
        status = 1;
    }
    rs_redis_token_bucket_free(bucket);
    rs_redis_free(redis);
    if (status == 0) {
        printf("consumer ok: libresilience-redis %s\n", rs_version_string());
    }
    return status;
}
