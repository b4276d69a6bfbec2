#include "resilience/common.h"

typedef struct status_text {
    int status;
    const char *name;
    const char *description;
} status_text;

static const status_text statuses[] = {
    { RS_OK, "RS_OK", "success" },
    { RS_E_INVAL, "RS_E_INVAL", "invalid argument or configuration" },
    { RS_E_NOMEM, "RS_E_NOMEM", "out of memory" },
    { RS_E_LIMITED, "RS_E_LIMITED", "rate limited" },
    { RS_E_OPEN, "RS_E_OPEN", "circuit breaker is open" },
    { RS_E_BUDGET, "RS_E_BUDGET", "token budget exceeded" },
    { RS_E_EXHAUSTED, "RS_E_EXHAUSTED", "retries exhausted" },
    { RS_E_FAILED, "RS_E_FAILED", "call failed permanently" },
    { RS_E_TIMEOUT, "RS_E_TIMEOUT", "deadline exceeded" },
    { RS_E_IO, "RS_E_IO", "backend I/O error" },
};

static const status_text *find(int status)
{
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        if (statuses[i].status == status) {
            return &statuses[i];
        }
    }
    return NULL;
}

const char *rs_strerror(int status)
{
    const status_text *t = find(status);
    return t != NULL ? t->description : "unknown status";
}

const char *rs_status_name(int status)
{
    const status_text *t = find(status);
    return t != NULL ? t->name : "RS_E_UNKNOWN";
}

const char *rs_version_string(void)
{
    return RS_VERSION_STRING;
}

unsigned rs_version_hex(void)
{
    return (unsigned)RS_VERSION_HEX;
}
