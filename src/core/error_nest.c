/* rs__error_nest, on the public rs_last_error()/rs_set_last_error() so
 * that every library of the project (each has its own copy of the helpers)
 * writes the one thread-local text of libresilience. */
#include "core/error.h"

#include <stdbool.h>
#include <string.h>

#include "resilience/common.h"

int rs__error_nest(int status, const char *outer)
{
    char inner[256];
    size_t len = strlen(rs_last_error());
    len = len < sizeof inner - 1 ? len : sizeof inner - 1;
    memcpy(inner, rs_last_error(), len);
    inner[len] = '\0';
    /* "rs_x_config.field: why" or "rs_x_config: why": keep from the first
     * '.' or ':' that ends the leading name. */
    size_t name_len = strspn(inner, "abcdefghijklmnopqrstuvwxyz0123456789_");
    bool named = strncmp(inner, "rs_", 3) == 0 &&
                 (inner[name_len] == '.' || inner[name_len] == ':');
    if (named && outer[0] == '\0') {
        /* The field alone, passed as an argument of its own. */
        return inner[name_len] == '.' ? rs_set_last_error(status, "%s", inner + name_len + 1)
                                      : status;
    }
    if (named) {
        return rs_set_last_error(status, "%s%s", outer, inner + name_len);
    }
    if (inner[0] == '\0') {
        return rs_set_last_error(status, "%s: invalid", outer);
    }
    return rs_set_last_error(status, "%s: %s", outer, inner);
}
