/* outline.h: a parallel loop as an outlined body (for backends without
 * OpenMP pragmas: the LLVM backend).
 *
 * A backend that runs a parallel loop on threads puts the loop's body in a
 * function of its own and passes it what it reads from the enclosing kernel:
 * the captures computed here. The collapsed nest (collapse c: the parallel
 * loop and the c - 1 loops perfectly nested in it) is one range of
 * iterations 0 .. n_1 * ... * n_c - 1, n_i = ceil((hi_i - lo_i) / step_i),
 * split among the threads; each bound is evaluated in the enclosing kernel,
 * so no bound may read a variable of the nest (checked here). */
#ifndef URC_OUTLINE_H
#define URC_OUTLINE_H

#include "loop.h"

typedef struct urc_outline {
    const urc_ls *loop;    /* the parallel loop */
    int collapse;          /* loops of the nest shared out (1 or more) */
    const urc_ls *nest[8]; /* nest[0] = loop, nest[i] the loop in nest[i - 1]'s body */
    const urc_ls *body;    /* what one iteration runs: nest[collapse - 1]->body */
    URC_VEC(int) vars;     /* kernel variables the body reads from outside it, ascending */
    URC_VEC(int)
    bufs; /* kernel buffers the body reads or writes (parameters, and local arrays
                             * declared outside it: shared as C shares them), ascending */
} urc_outline;

/* The captures of parallel loop `loop` of kernel k. False after reporting an
 * internal error (urc_error) when the loop cannot be outlined: a collapsed
 * bound reading a variable of the nest, or the body assigning a variable it
 * captures (a value no thread could give back). */
bool urc_outline_loop(const urc_kernel *k, const urc_ls *loop, urc_outline *o);
void urc_outline_free(urc_outline *o);

#endif
