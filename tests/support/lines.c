#include "support/testing.h"

#include <string.h>

void rs_test_expect_lines(const char *text, const char *const *lines, size_t count,
                          const char *file, int line)
{
    for (size_t i = 0; i < count; i++) {
        if (strstr(text, lines[i]) == NULL) {
            print_error("missing: %s in\n%s\n", lines[i], text);
            _fail(file, line);
        }
    }
}
