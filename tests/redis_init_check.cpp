// The brace-initializer twins of redis.h (RS_X_CONFIG_INIT) in C++11, where
// designated initializers and compound literals do not exist, at namespace
// scope (static initialization).
#include <resilience/redis.h>

static const rs_redis_config pool = RS_REDIS_CONFIG_INIT;
static const rs_redis_token_bucket_config bucket = RS_REDIS_TOKEN_BUCKET_CONFIG_INIT;
static const rs_redis_sliding_window_config window = RS_REDIS_SLIDING_WINDOW_CONFIG_INIT;
static const rs_redis_budget_config budget = RS_REDIS_BUDGET_CONFIG_INIT;
static const rs_redis_breaker_state_config flag = RS_REDIS_BREAKER_STATE_CONFIG_INIT;
static const rs_redis_lease_config lease = RS_REDIS_LEASE_CONFIG_INIT;

int main()
{
    bool ok = pool.pool_size == 4 && pool.reconnect.jitter == RS_JITTER_FULL &&
              bucket.burst == 10 && window.kind == RS_REDIS_WINDOW_LOG &&
              budget.sub_windows == 60 && budget.seed == 0 &&
              flag.on_failure == RS_REDIS_FAIL_OPEN && !pool.legacy_key_names &&
              pool.sentinel_password == nullptr && lease.instances == 0 &&
              lease.ttl_ns == 100000000u && bucket.lease.instances == 0 &&
              window.lease.ttl_ns == lease.ttl_ns && budget.lease.max_units == 0;
    return ok ? 0 : 1;
}
