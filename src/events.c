/* Names of the event enums (the events themselves are emitted by the
 * policy and the breaker). */
#include "resilience/events.h"

const char *rs_event_kind_name(rs_event_kind kind)
{
    switch (kind) {
    case RS_EVENT_STATE_CHANGE: return "RS_EVENT_STATE_CHANGE";
    case RS_EVENT_RETRY: return "RS_EVENT_RETRY";
    case RS_EVENT_CALL_REFUSED: return "RS_EVENT_CALL_REFUSED";
    case RS_EVENT_BUDGET_REFUSED: return "RS_EVENT_BUDGET_REFUSED";
    case RS_EVENT_SERVER_PAUSE: return "RS_EVENT_SERVER_PAUSE";
    case RS_EVENT_FALLBACK: return "RS_EVENT_FALLBACK";
    case RS_EVENT_GIVE_UP: return "RS_EVENT_GIVE_UP";
    }
    return "RS_EVENT_UNKNOWN";
}

const char *rs_event_source_name(rs_event_source source)
{
    switch (source) {
    case RS_EVENT_SOURCE_POLICY: return "policy";
    case RS_EVENT_SOURCE_BREAKER: return "breaker";
    }
    return "unknown";
}
