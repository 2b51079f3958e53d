/* sw_reserve.h: the workspace layout of the sliding window (sliding_window.c)
 * and of its 2.5D driver (slices.c): parts placed one after another at
 * 64-byte boundaries. Internal to the runtime. */
#ifndef UNETRC_SW_RESERVE_H
#define UNETRC_SW_RESERVE_H

#include <stddef.h>
#include <stdint.h>

#define SW_ALIGN 64

/* Reserves `bytes` at the next 64-byte boundary after *at; *where is its
 * offset. 0 on overflow. */
static inline int sw_reserve(size_t *at, size_t bytes, size_t *where) {
    if (*at > SIZE_MAX - (SW_ALIGN - 1)) return 0;
    size_t a = (*at + (SW_ALIGN - 1)) / SW_ALIGN * SW_ALIGN;
    if (bytes > SIZE_MAX - a) return 0;
    *where = a;
    *at = a + bytes;
    return 1;
}

#endif
