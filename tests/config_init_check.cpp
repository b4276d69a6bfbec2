// The RS_X_CONFIG_INIT brace initializers, in C++ (C++11: no designated
// initializers, no compound literals) and at namespace scope, where a
// static initializer needs a constant.
#include <resilience.h>

namespace {

const rs_backoff_config backoff = RS_BACKOFF_CONFIG_INIT;
const rs_token_bucket_config token_bucket = RS_TOKEN_BUCKET_CONFIG_INIT;
const rs_sliding_window_config sliding_window = RS_SLIDING_WINDOW_CONFIG_INIT;
const rs_breaker_config breaker = RS_BREAKER_CONFIG_INIT;
const rs_budget_config budget = RS_BUDGET_CONFIG_INIT;
const rs_budget_registry_config budget_registry = RS_BUDGET_REGISTRY_CONFIG_INIT;
const rs_registry_config registry = RS_REGISTRY_CONFIG_INIT;
const rs_bulkhead_config bulkhead = RS_BULKHEAD_CONFIG_INIT;
const rs_adaptive_limit_config adaptive_limit = RS_ADAPTIVE_LIMIT_CONFIG_INIT;
const rs_adaptive_rate_config adaptive_rate = RS_ADAPTIVE_RATE_CONFIG_INIT;
const rs_policy_config policy = RS_POLICY_CONFIG_INIT;
const rs_client_config client = RS_CLIENT_CONFIG_INIT;
const rs_exporter_config exporter = RS_EXPORTER_CONFIG_INIT;

} // namespace

int main()
{
    // Each default is valid as it stands (the registry's needs `create`).
    int failures = 0;
    failures += rs_backoff_config_validate(&backoff) != RS_OK;
    failures += rs_token_bucket_config_validate(&token_bucket) != RS_OK;
    failures += rs_sliding_window_config_validate(&sliding_window) != RS_OK;
    failures += rs_breaker_config_validate(&breaker) != RS_OK;
    failures += rs_budget_config_validate(&budget) != RS_OK;
    failures += rs_budget_config_validate(&budget_registry.budget) != RS_OK;
    failures += budget_registry.max_keys != 10000u;
    failures += registry.max_keys != 10000u || registry.create != 0;
    failures += rs_bulkhead_config_validate(&bulkhead) != RS_OK;
    failures += rs_adaptive_limit_config_validate(&adaptive_limit) != RS_OK;
    failures += rs_adaptive_rate_config_validate(&adaptive_rate) != RS_OK;
    failures += rs_policy_config_validate(&policy, nullptr) != RS_OK;
    failures += policy.bulkhead != nullptr || policy.adaptive_rate != nullptr ||
                policy.fallback != nullptr;
    failures += client.bulkhead != nullptr || client.concurrency_limit != nullptr ||
                client.adaptive_rate != nullptr || client.fallback != nullptr;
    rs_exporter *e = 0;
    failures += rs_exporter_new(&exporter, &e) != RS_OK;
    rs_exporter_free(e);
    return failures == 0 ? 0 : 1;
}
