/* rs_last_error(): one thread-local line of text naming the field or the
 * backend's cause behind the last failing status on this thread. Only
 * failures off the hot paths write it (RS_E_INVAL from a _new or _validate,
 * RS_E_IO): a limiter's refusal never touches thread-local storage. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "resilience/common.h"

/* Long enough for a config field and a value, or a server's error line. */
static _Thread_local char last_error[256];

const char *rs_last_error(void)
{
    return last_error;
}

int rs_set_last_error(int status, const char *format, ...)
{
    if (format == NULL) {
        last_error[0] = '\0';
        return status;
    }
    /* Formatted aside first, so that an argument may be rs_last_error()
     * itself (a wrapper adding context to what failed beneath it). */
    char text[sizeof last_error];
    va_list args;
    va_start(args, format);
    (void)vsnprintf(text, sizeof text, format, args);
    va_end(args);
    memcpy(last_error, text, sizeof last_error);
    return status;
}
