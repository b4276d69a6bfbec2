/* rs_budget_registry: the budget-typed face of the generic registry. */
#include "resilience/budget.h"
#include "resilience/registry.h"

#include "internal.h"
#include "core/alloc.h"
#include "core/error.h"

struct rs_budget_registry {
    rs_registry *keys;
    rs_budget_config defaults;
    rs_budget_config_fn config_for_key;
    void *ctx;
    const rs_clock *clock;
};

static int create_budget(void *ctx, const void *key, size_t len, void **value)
{
    const rs_budget_registry *r = ctx;
    const rs_budget_config *cfg = NULL;
    if (r->config_for_key != NULL) {
        cfg = r->config_for_key(r->ctx, key, len);
    }
    rs_budget *b = NULL;
    int rc = rs_budget_new(cfg != NULL ? cfg : &r->defaults, r->clock, &b);
    if (rc == RS_E_INVAL) {
        /* The default configuration was validated at creation. */
        return rs_set_last_error(rc, "config_for_key returned an invalid configuration: %s",
                                 rs_last_error());
    }
    if (rc == RS_OK) {
        *value = b;
    }
    return rc;
}

static void destroy_budget(void *ctx, void *value)
{
    (void)ctx;
    rs_budget_free(value);
}

/* The generic registry's configuration for a budget registry at `r`. */
static rs_registry_config keys_config(const rs_budget_registry_config *cfg, rs_budget_registry *r)
{
    rs_registry_config rc = RS_REGISTRY_CONFIG_DEFAULT;
    rc.max_keys = cfg->max_keys;
    rc.create = create_budget;
    rc.destroy = destroy_budget;
    rc.ctx = r;
    rc.seed = cfg->seed;
    return rc;
}

/* RS_OK, or RS_E_INVAL naming the field: nothing is allocated before. */
static int validate(const rs_budget_registry_config *cfg)
{
    if (cfg == NULL) {
        return rs_set_last_error(RS_E_INVAL, "cfg: NULL");
    }
    int status = rs_budget_config_validate(&cfg->budget);
    if (status != RS_OK) {
        return rs__error_nest(status, "rs_budget_registry_config.budget");
    }
    rs_registry_config rc = keys_config(cfg, NULL);
    status = rs_registry_config_validate(&rc);
    if (status != RS_OK) {
        return rs__error_nest(status, "rs_budget_registry_config");
    }
    return RS_OK;
}

int rs_budget_registry_new_ex(const rs_budget_registry_config *cfg, const rs_clock *clock,
                              rs_budget_registry **out)
{
    if (out == NULL) {
        return rs_set_last_error(RS_E_INVAL, "out: NULL");
    }
    int status = validate(cfg);
    if (status != RS_OK) {
        return status;
    }
    rs_budget_registry *r = rs__malloc(sizeof *r);
    if (r == NULL) {
        return RS_E_NOMEM;
    }
    r->defaults = cfg->budget;
    r->config_for_key = cfg->config_for_key;
    r->ctx = cfg->ctx;
    r->clock = clock;
    rs_registry_config rc = keys_config(cfg, r);
    status = rs_registry_new(&rc, &r->keys);
    if (status != RS_OK) {
        rs__free(r);
        return status;
    }
    *out = r;
    return RS_OK;
}

int rs_budget_registry_new(const rs_budget_config *cfg, size_t max_keys, const rs_clock *clock,
                           rs_budget_registry **out)
{
    if (out == NULL) {
        return rs_set_last_error(RS_E_INVAL, "out: NULL");
    }
    /* Named as this function's arguments, not as the _ex config's fields. */
    int status = rs_budget_config_validate(cfg);
    if (status != RS_OK) {
        return status;
    }
    rs_budget_registry_config rc = RS_BUDGET_REGISTRY_CONFIG_DEFAULT;
    rc.budget = *cfg;
    rc.max_keys = max_keys;
    rs_registry_config keys = keys_config(&rc, NULL);
    status = rs_registry_config_validate(&keys);
    if (status != RS_OK) {
        return rs__error_nest(status, "");
    }
    return rs_budget_registry_new_ex(&rc, clock, out);
}

void rs_budget_registry_free(rs_budget_registry *r)
{
    if (r != NULL) {
        rs_registry_free(r->keys);
        rs__free(r);
    }
}

rs_budget *rs_budget_registry_get(rs_budget_registry *r, const void *key, size_t len)
{
    if (r == NULL) {
        (void)rs_set_last_error(RS_E_INVAL, "r: NULL");
        return NULL;
    }
    rs_registry_entry *entry = NULL;
    int status = rs_registry_get(r->keys, key, len, &entry);
    if (status != RS_OK) {
        /* RS_E_INVAL has said why already (the key, or config_for_key). */
        if (status == RS_E_NOMEM) {
            (void)rs_set_last_error(status, "out of memory for the budget of a new key");
        }
        return NULL;
    }
    rs_budget *b = rs_registry_entry_value(entry);
    rs__budget_set_owner(b, entry);
    return b;
}

bool rs_budget_registry_remove(rs_budget_registry *r, const void *key, size_t len)
{
    return r != NULL && rs_registry_remove(r->keys, key, len);
}

void rs_budget_registry_release(rs_budget_registry *r, rs_budget *b)
{
    if (r != NULL && b != NULL) {
        rs_registry_release(r->keys, rs__budget_owner(b));
    }
}

int rs_budget_registry_metrics(rs_budget_registry *r, rs_registry_snapshot *m)
{
    if (r == NULL || m == NULL) {
        return RS_E_INVAL;
    }
    return rs_registry_metrics(r->keys, m);
}
