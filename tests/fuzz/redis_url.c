/* libFuzzer harness for the Redis URL parser (src/redis/url.c, compiled
 * in): redis://, unix:// and redis-sentinel:// URLs. Any bytes must give either RS_OK and a complete, consistent URL or
 * RS_E_INVAL with a reason and nothing allocated: never a crash, a hang, a
 * leak (ASan), undefined behaviour (UBSan) or a half-filled result. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redis/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = malloc(size + 1);
    if (url == NULL) {
        return 0;
    }
    memcpy(url, data, size);
    url[size] = '\0'; /* the parser takes a C string: an embedded NUL ends it */
    rs__redis_url parsed;
    char why[256] = "";
    int rc = rs__redis_url_parse(url, &parsed, why, sizeof why);
    if (rc == RS_OK) {
        /* Exactly one kind: TCP (a host), a socket (a path) or sentinels. */
        bool tcp = parsed.host != NULL, sock = parsed.path != NULL;
        bool sentinel = parsed.sentinel_count > 0;
        if (tcp + sock + sentinel != 1 || (tcp && (parsed.port == 0 || parsed.port > 65535)) ||
            (sock && (parsed.path[0] != '/' || strlen(parsed.path) > 107)) ||
            (parsed.password != NULL && parsed.password[0] == '\0') ||
            (parsed.username != NULL && parsed.password == NULL) || parsed.db > (unsigned long)INT32_MAX) {
            abort();
        }
        if (sentinel != (parsed.master_name != NULL) ||
            (sentinel && (parsed.master_name[0] == '\0' || parsed.sentinel_count > 16)) ||
            (parsed.sentinel_password != NULL &&
             (!sentinel || parsed.sentinel_password[0] == '\0'))) {
            abort();
        }
        for (size_t i = 0; i < parsed.sentinel_count; i++) {
            if (parsed.sentinels[i].host == NULL || parsed.sentinels[i].host[0] == '\0' ||
                parsed.sentinels[i].port == 0 || parsed.sentinels[i].port > 65535) {
                abort();
            }
        }
        rs__redis_url_clear(&parsed);
    } else if (rc != RS_E_INVAL || strncmp(why, "bad Redis URL: ", 15) != 0 ||
               parsed.host != NULL || parsed.path != NULL || parsed.username != NULL ||
               parsed.password != NULL || parsed.sentinels != NULL ||
               parsed.sentinel_count != 0 || parsed.master_name != NULL ||
               parsed.sentinel_password != NULL) {
        abort();
    }
    free(url);
    return 0;
}
