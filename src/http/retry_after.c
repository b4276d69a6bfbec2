/* Retry-After (RFC 9110 section 10.2.3): delta-seconds or an HTTP-date. */
#include "resilience/http.h"

#include "http/internal.h"

#define NS_PER_SEC UINT64_C(1000000000)

int rs_http_retry_after(const char *value, size_t len, int64_t now_unix_s, uint64_t *delay_ns)
{
    if (value == NULL || delay_ns == NULL) {
        return RS_E_INVAL;
    }
    rs__http_trim(&value, &len);
    if (len == 0) {
        return RS_E_INVAL;
    }
    if (value[0] >= '0' && value[0] <= '9') {
        return rs__http_number_ns(value, len, NS_PER_SEC, false, delay_ns) ? RS_OK : RS_E_INVAL;
    }
    int64_t at_unix_s;
    if (!rs__http_date(value, len, now_unix_s, &at_unix_s)) {
        return RS_E_INVAL;
    }
    *delay_ns = rs__http_delay_until(at_unix_s, 0, now_unix_s);
    return RS_OK;
}
