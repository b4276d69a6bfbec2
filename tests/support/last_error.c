#include "support/testing.h"

#include <stdio.h>
#include <string.h>

#include "resilience/common.h"

void rs_test_expect_last_error(const char *needle, const char *file, int line)
{
    const char *text = rs_last_error();
    if (strstr(text, needle) == NULL) {
        print_error("rs_last_error() is \"%s\", expected it to name \"%s\"\n", text, needle);
        _fail(file, line);
    }
}

void rs_test_expect_invalid(int status, const char *needle, const char *file, int line)
{
    if (status != RS_E_INVAL) {
        print_error("status %d, expected RS_E_INVAL naming \"%s\"\n", status, needle);
        _fail(file, line);
    }
    rs_test_expect_last_error(needle, file, line);
    /* Cleared, so that the next refusal must set it again to pass. */
    (void)rs_set_last_error(RS_OK, NULL);
}
