/* fuzz_onnx.c: libFuzzer harness for the whole front half of the compiler.
 *
 * The input bytes are written to a model file in a private folder and go
 * through urc_build_graph (protobuf decoding, import, every graph pass:
 * order, infer + constant folding, dce, einsum, fusion, layout, reinfer)
 * and, when that succeeds, urc_build_program (memory plan, lowering) and
 * the C printer (source and header). A failure must come with a one-line
 * diagnostic, and the verifier must never find a broken graph after a pass
 * ("PASS: internal: ..."). --max-bytes is 64 MB so that no input
 * can make the compiler allocate absurd amounts. A few bits of the input's
 * hash pick -O0 / --no-fold, so every input always runs the same way.
 *
 * The folder also holds `w.bin` (256 bytes) so that external data with a
 * valid relative location reaches the offset/length checks. Each run ends
 * by releasing every heap block the compiler kept (urc_heap_release), so
 * memory stays flat over millions of runs. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "base/diag.h"
#include "driver.h"

#define FUZZ_MAX_BYTES ((uint64_t)64 << 20)

static char dir[64] = "/tmp/unetrc-fuzz-XXXXXX";
static char model_path[96], weights_path[96];

static void cleanup(void) {
    unlink(model_path);
    unlink(weights_path);
    rmdir(dir);
}

static void setup(void) {
    if (*model_path) return;
    if (!mkdtemp(dir)) {
        perror("fuzz_onnx: mkdtemp");
        abort();
    }
    snprintf(model_path, sizeof model_path, "%s/model.onnx", dir);
    snprintf(weights_path, sizeof weights_path, "%s/w.bin", dir);
    FILE *f = fopen(weights_path, "wb");
    if (!f) abort();
    for (int i = 0; i < 256; i++) fputc(i, f);
    fclose(f);
    atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    setup();
    FILE *f = fopen(model_path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) abort();

    urc_heap_track_begin();
    uint64_t h = urc_fnv1a64(data, size, URC_FNV_INIT);
    urc_options o = {0};
    o.import.max_bytes = FUZZ_MAX_BYTES;
    o.align = 64;
    o.no_opt = (h & 7) == 1;
    o.no_fold = (h & 7) == 2;
    urc_diag_reset(model_path);
    urc_graph *g = urc_build_graph(model_path, &o);
    if (g) {
        urc_program *P = urc_build_program(g, "m", &o, NULL);
        if (P) {
            urc_emit_opts eo = {.prefix = "m",
                                .source_name = "model.onnx",
                                .command = "fuzz",
                                .model_hash = g->hash,
                                .opset = g->opset};
            urc_emitted e = {0};
            const char *entry = "forward";
            urc_backend_c.emit((const urc_program *const *)&P, &entry, 1, &eo, &e);
            urc_emitted_free(&e);
        }
    }
    /* Whatever failed must have said why, on one line. */
    const char *msg = urc_diag_message();
    if (!g && !msg) {
        fprintf(stderr, "fuzz_onnx: urc_build_graph failed without a diagnostic\n");
        abort();
    }
    if (msg && strchr(msg, '\n')) {
        fprintf(stderr, "fuzz_onnx: multi-line diagnostic\n");
        abort();
    }
    /* The verifier's findings after a pass are compiler bugs, not input errors. */
    if (urc_internal_error_count()) {
        fprintf(stderr, "fuzz_onnx: %s\n", msg);
        abort();
    }
    urc_diag_release();
    urc_heap_release();
    return 0;
}
