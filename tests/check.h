/* check.h: the test programs' CHECK(cond): prints the failing line and
 * condition and counts it in `failures` (each program returns non-zero when
 * failures > 0). Include it once per program. */
#ifndef URC_TEST_CHECK_H
#define URC_TEST_CHECK_H

#include <stdio.h>

static int failures;
#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            printf("FAIL line %d: %s\n", __LINE__, #cond);                                                             \
            failures++;                                                                                                \
        }                                                                                                              \
    } while (0)

#endif
