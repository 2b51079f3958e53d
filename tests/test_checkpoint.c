/* test_checkpoint.c: training checkpoints of the runtime.
 * - save/load round trip; every validation error leaves the buffers alone;
 * - crash safety: a child process saves large checkpoints in a loop and is
 *   killed with SIGKILL at varying moments (20 times); each time the file on
 *   disk must load and hold one complete version, never a mix.
 *   test_checkpoint DIR */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unetrc.h"

static int failures;
#define CHECK(c)                                                                                                       \
    do {                                                                                                               \
        if (!(c)) {                                                                                                    \
            printf("FAIL line %d: %s\n", __LINE__, #c);                                                                \
            failures++;                                                                                                \
        }                                                                                                              \
    } while (0)

#define P_SIZE ((size_t)24 << 20)
#define S_SIZE ((size_t)8 << 20)
#define HASH 0x1234abcdULL

static void fill(unsigned char *p, size_t n, unsigned char v) { memset(p, v, n); }
static int uniform(const unsigned char *p, size_t n) {
    for (size_t i = 1; i < n; i++)
        if (p[i] != p[0]) return -1;
    return p[0];
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    char path[512];
    snprintf(path, sizeof path, "%s/ckpt.bin", argv[1]);
    unsigned char *p = malloc(P_SIZE), *s = malloc(S_SIZE), *q = malloc(P_SIZE), *r = malloc(S_SIZE);
    fill(p, P_SIZE, 7);
    fill(s, S_SIZE, 9);
    CHECK(unetrc_checkpoint_save(path, p, P_SIZE, s, S_SIZE, HASH) == UNETRC_OK);
    CHECK(unetrc_checkpoint_load(path, q, P_SIZE, r, S_SIZE, HASH) == UNETRC_OK);
    CHECK(!memcmp(p, q, P_SIZE) && !memcmp(s, r, S_SIZE));
    unetrc_checkpoint_info info;
    CHECK(unetrc_checkpoint_check(path, P_SIZE, S_SIZE, HASH, &info) == UNETRC_OK);
    CHECK(info.params_size == P_SIZE && info.state_size == S_SIZE && info.model_hash == HASH);
    /* errors leave the buffers untouched */
    fill(q, P_SIZE, 0xEE);
    fill(r, S_SIZE, 0xEE);
    CHECK(unetrc_checkpoint_load(path, q, P_SIZE, r, S_SIZE, HASH + 1) == UNETRC_ERR_MODEL);
    CHECK(unetrc_checkpoint_load(path, q, P_SIZE - 64, r, S_SIZE, HASH) == UNETRC_ERR_SIZE);
    CHECK(unetrc_checkpoint_load("/nonexistent/x", q, P_SIZE, r, S_SIZE, HASH) == UNETRC_ERR_IO);
    /* unetrc_checkpoint_check: the same statuses; another model's hash wins over its sizes */
    CHECK(unetrc_checkpoint_check(path, P_SIZE, S_SIZE, HASH + 1, &info) == UNETRC_ERR_MODEL);
    CHECK(info.params_size == P_SIZE && info.state_size == S_SIZE && info.model_hash == HASH);
    CHECK(unetrc_checkpoint_check(path, P_SIZE - 64, S_SIZE + 64, HASH + 1, NULL) == UNETRC_ERR_MODEL);
    CHECK(unetrc_checkpoint_load(path, q, P_SIZE - 64, r, S_SIZE + 64, HASH + 1) == UNETRC_ERR_MODEL);
    CHECK(unetrc_checkpoint_check(path, P_SIZE, S_SIZE - 64, HASH, NULL) == UNETRC_ERR_SIZE);
    CHECK(unetrc_checkpoint_check("/nonexistent/x", P_SIZE, S_SIZE, HASH, &info) == UNETRC_ERR_IO);
    CHECK(info.params_size == 0 && info.model_hash == 0);
    FILE *f = fopen(path, "r+b");
    fseek(f, 64 + 1000, SEEK_SET);
    fputc(8, f); /* one payload byte */
    fclose(f);
    CHECK(unetrc_checkpoint_load(path, q, P_SIZE, r, S_SIZE, HASH) == UNETRC_ERR_CHECKSUM);
    CHECK(unetrc_checkpoint_check(path, P_SIZE, S_SIZE, HASH, NULL) == UNETRC_ERR_CHECKSUM);
    f = fopen(path, "r+b");
    fputc('X', f);
    fclose(f);
    CHECK(unetrc_checkpoint_load(path, q, P_SIZE, r, S_SIZE, HASH) == UNETRC_ERR_MAGIC);
    CHECK(unetrc_checkpoint_check(path, P_SIZE, S_SIZE, HASH, &info) == UNETRC_ERR_MAGIC);
    CHECK(info.params_size == 0 && info.state_size == 0 && info.model_hash == 0);
    f = fopen(path, "r+b");
    fputc('U', f); /* magic back */
    fclose(f);
    CHECK(truncate(path, 64 + P_SIZE) == 0);
    CHECK(unetrc_checkpoint_load(path, q, P_SIZE, r, S_SIZE, HASH) == UNETRC_ERR_TRUNCATED);
    CHECK(unetrc_checkpoint_check(path, P_SIZE, S_SIZE, HASH, NULL) == UNETRC_ERR_TRUNCATED);
    CHECK(uniform(q, P_SIZE) == 0xEE && uniform(r, S_SIZE) == 0xEE);
    CHECK(strcmp(unetrc_status_str(UNETRC_ERR_MODEL), "checkpoint of another model") == 0);
    CHECK(strcmp(unetrc_checkpoint_status_str(UNETRC_ERR_MAGIC), "not a unetrc checkpoint") == 0);
    CHECK(strcmp(unetrc_checkpoint_status_str(UNETRC_ERR_ALIGN), unetrc_status_str(UNETRC_ERR_ALIGN)) == 0);

    /* crash safety */
    fill(p, P_SIZE, 1);
    fill(s, S_SIZE, 1);
    CHECK(unetrc_checkpoint_save(path, p, P_SIZE, s, S_SIZE, HASH) == UNETRC_OK);
    srand(12345);
    int kills = 0;
    for (int round = 0; round < 20; round++) {
        pid_t pid = fork();
        if (pid == 0) {
            for (unsigned char v = 2;; v = (unsigned char)(v % 250 + 2)) {
                fill(p, P_SIZE, v);
                fill(s, S_SIZE, v);
                unetrc_checkpoint_save(path, p, P_SIZE, s, S_SIZE, HASH);
            }
        }
        struct timespec d = {0, (long)(rand() % 200 + 5) * 1000000L};
        nanosleep(&d, NULL);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        kills++;
        unetrc_status st = unetrc_checkpoint_load(path, q, P_SIZE, r, S_SIZE, HASH);
        int vp = uniform(q, P_SIZE), vs = uniform(r, S_SIZE);
        if (st != UNETRC_OK || vp < 1 || vp != vs) {
            printf("FAIL after kill %d: status %d (%s), params %d, state %d\n", round, st, unetrc_status_str(st), vp, vs);
            failures++;
        }
    }
    remove(path);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    remove(tmp);
    printf("checkpoint: %d kills during saves survived; %d failures\n", kills, failures);
    free(p), free(s), free(q), free(r);
    return failures ? 1 : 0;
}
