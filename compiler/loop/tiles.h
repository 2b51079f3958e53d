/* tiles.h: AMX tile operations (loop.h, URC_LS_TILE) as lowering builds them. On a target with AMX-BF16
 * and AMX-INT8 they are tile statements, which the backends print as the instructions; elsewhere
 * (UNETRC_AMX=1: tests and measurements on CPUs without AMX) the same operations become loops over local
 * arrays, one per tile, with the products of URC_LX_DOT2 (tdpbf16ps up to the order of its two roundings
 * per pair) or int32 multiply-adds (tdpbusd exactly). */
#ifndef URC_LOOP_TILES_H
#define URC_LOOP_TILES_H

#include "loop.h"

typedef struct urc_tiles {
    int rows[8], colsb[8]; /* the caller's shapes (0 rows: unused) */
    urc_dtype dt[8];       /* what each tile holds: F32 (I32) accumulators, BF16 (U8) rows of A, U32 pairs (I8
                            * bytes of quads) of B */
    bool emulate;          /* loops instead of tile statements */
    int arr[8];            /* emulation: tile t's local array */
    int vr, vj, vk, vp;    /* emulation: loop variables and a pair */
    int vi, vq;            /* ... a quad's byte and its int32 value */
} urc_tiles;

/* Begins tile use at `at` (the start of each thread's work: inside the parallel loop): configures
 * the shapes t->rows / t->colsb (set by the caller, with t->dt), or declares the emulation's arrays. */
void urc_tiles_config(urc_kernel *k, urc_ls *at, urc_tiles *t, const urc_target *tg);
void urc_tiles_zero(urc_kernel *k, urc_ls *at, const urc_tiles *t, int i);
/* Tile i's rows from / to buf[idx + r*stride] (elements of the buffer, whose type is tile i's). */
void urc_tiles_load(urc_kernel *k, urc_ls *at, const urc_tiles *t, int i, int buf, urc_lx *idx, urc_lx *stride);
void urc_tiles_store(urc_kernel *k, urc_ls *at, const urc_tiles *t, int i, int buf, urc_lx *idx, urc_lx *stride);
/* c += a . b (tdpbf16ps): c float32 [m][n], a bfloat16 [m][2k], b uint32 pairs [k][n]. */
void urc_tiles_dpbf16(urc_kernel *k, urc_ls *at, const urc_tiles *t, int c, int a, int b);
/* c += a . b (tdpbusd): c int32 [m][n], a uint8 [m][4k], b int8 [k][4n] (quads along the reduction). */
void urc_tiles_dpbusd(urc_kernel *k, urc_ls *at, const urc_tiles *t, int c, int a, int b);
void urc_tiles_release(urc_ls *at, const urc_tiles *t);

#endif
