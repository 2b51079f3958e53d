/* test_extern_call.c: the loop IR's extern-call statement (URC_LS_CALL with
 * URC_LX_ADDR arguments) end to end. A one-node graph is lowered, its
 * kernel's body is replaced by a parallel loop calling an external
 * micro-kernel (tests/extern/axpy_kernel.c) on 4-element chunks, and the
 * program is emitted, built and run through the test backend
 * (UNETRC_BACKEND); the output
 * must be exactly a*x + b. With the LLVM backend, --jit of the same program
 * fails with one line naming the callee (it is in no library of the
 * process). Also: the loop-IR text of the call, and the
 * verifier's messages for an address outside a call and a bad callee. */
#include <string.h>

#include "../compiler/backend/backend.h"
#include "../compiler/base/diag.h"
#include "../compiler/driver.h"
#include "check.h"
#include "one_kernel.h"

enum { N = 4096, CHUNK = 4 };

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_extern_call PATH/axpy_kernel.c\n");
        return 2;
    }
    urc_diag_reset("extern");
    one_kernel ok1;
    if (!one_kernel_make(&ok1, N, NULL)) return 1;
    urc_program *P = ok1.P;
    urc_kernel *k = ok1.k;
    urc_value *x = ok1.x;
    int bx = ok1.bx, by = ok1.by;

    /* y = 3x + 0.5 by calls on chunks: for c in [0, N/CHUNK) parallel: axpy(&y[c*4], &x[c*4], 4, 3, 0.5) */
    int c = urc_kernel_var(k, "c", URC_DT_I64);
    urc_ls *body = urc_ls_for(k->body, c, urc_lx_int(0), urc_lx_int(N / CHUNK), 1, URC_FOR_PARALLEL);
    urc_lx *at = urc_muli(urc_lx_var(k, c), CHUNK);
    urc_lx *args[5] = {urc_lx_addr(k, by, at), urc_lx_addr(k, bx, at), urc_lx_int(CHUNK), urc_lx_flt(3, URC_DT_F32),
                       urc_lx_flt(0.5, URC_DT_F32)};
    urc_ls_call(body, "urc_test_axpy", 5, args);
    CHECK(urc_program_verify(P));

    urc_strbuf sb = {0};
    urc_kernel_print(k, &sb);
    CHECK(strstr(sb.data, "call urc_test_axpy(&y[(c * 4)], &x[(c * 4)], 4, 3f, 0.5f)\n") != NULL);
    if (!strstr(sb.data, "call urc_test_axpy(")) printf("printed:\n%s", sb.data);
    urc_sb_free(&sb);

    urc_tensor *in = urc_tensor_new(URC_DT_F32, &x->shape), *out[1] = {NULL};
    for (int i = 0; i < N; i++) ((float *)in->data)[i] = (float)(i % 97) - 48.0f;
    const urc_backend *be = urc_backend_from_env();
    urc_run_opts ro = {.cflags = urc_fmt("-std=c11 -O2 -fopenmp -Wall -Wextra -Werror %s", argv[1]),
                       .model_name = "extern",
                       .threads = 2};
    urc_diag_reset(be->name);
    bool ran = be->run(P, &in, out, &ro);
    CHECK(ran);
    if (ran) {
        int bad = 0;
        for (int i = 0; i < N; i++)
            if (((float *)out[0]->data)[i] != 3.0f * ((float *)in->data)[i] + 0.5f) bad++;
        CHECK(bad == 0);
        if (bad) printf("FAIL %s: %d of %d outputs differ from 3x + 0.5\n", be->name, bad, N);
    } else {
        printf("FAIL %s: %s\n", be->name, urc_diag_message());
    }

#ifdef URC_HAVE_LLVM
    /* --jit: the callee is in no library of this process, so the JIT's lookup fails: one line, no crash */
    if (!strcmp(be->name, "llvm")) {
        urc_tensor *jout[1] = {NULL};
        urc_diag_reset("extern");
        CHECK(!urc_backend_llvm_jit.run(P, &in, jout, &ro));
        const char *m = urc_diag_message();
        CHECK(m && strstr(m, "--jit: cannot compile model_forward") && strstr(m, "urc_test_axpy") && !strchr(m, '\n'));
        if (!m || !strstr(m, "urc_test_axpy")) printf("FAIL jit: %s\n", m ? m : "(no message)");
    }
#endif

    /* the verifier */
    urc_diag_reset("extern");
    urc_ls_store(body, by, urc_lx_int(0), urc_lx_addr(k, bx, urc_lx_int(0)));
    CHECK(!urc_kernel_verify(k));
    const char *want = urc_fmt("loop verifier: internal: kernel %s (%s): an element address outside a call's arguments",
                               k->name, k->comment);
    CHECK(urc_diag_message() && !strcmp(urc_diag_message(), want));
    if (!urc_diag_message() || strcmp(urc_diag_message(), want)) printf("got: %s\n", urc_diag_message());
    body->list.len--;
    urc_ls_call(body, "2x", 0, NULL);
    urc_diag_reset("extern");
    CHECK(!urc_kernel_verify(k));
    CHECK(urc_diag_message() && strstr(urc_diag_message(), "call of '2x', not a C identifier"));
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
