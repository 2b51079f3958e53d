/* test_checkpoint.c: training checkpoints of the runtime.
 * - save/load round trip; every validation error leaves the buffers alone;
 * - crash safety: a child process saves large checkpoints in a loop and is
 *   killed with SIGKILL at varying moments (20 times); each time the file on
 *   disk must load and hold one complete version, never a mix; each killed
 *   writer leaves at most its own PATH.tmpPID.N;
 * - names planted next to a checkpoint (links to a victim file at the old
 *   fixed temporary name PATH.tmp and at this process's PATH.tmpPID.N
 *   names, a FIFO, a link at PATH itself) are neither followed nor opened;
 * - a FIFO as the checkpoint is refused at once (UNETRC_ERR_IO), not
 *   waited on.
 *   test_checkpoint DIR */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unetrc.h"

#include "check.h"

#define P_SIZE ((size_t)24 << 20)
#define S_SIZE ((size_t)8 << 20)
#define HASH 0x1234abcdULL

static void fill(unsigned char *p, size_t n, unsigned char v) { memset(p, v, n); }
static int uniform(const unsigned char *p, size_t n) {
    for (size_t i = 1; i < n; i++)
        if (p[i] != p[0]) return -1;
    return p[0];
}

static int file_is(const char *path, const char *text) {
    char buf[64] = {0};
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    return n == strlen(text) && !memcmp(buf, text, n);
}

/* 'l' link, 'p' FIFO, 'f' regular file (lstat: links are not followed). */
static int is_type(const char *path, char type) {
    struct stat st;
    if (lstat(path, &st) != 0) return 0;
    return type == 'l' ? S_ISLNK(st.st_mode) : type == 'p' ? S_ISFIFO(st.st_mode) : S_ISREG(st.st_mode);
}

/* Removes the files of dir whose names start with prefix; returns how many. */
static int remove_prefixed(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    char p[1200];
    while (d && (e = readdir(d)))
        if (!strncmp(e->d_name, prefix, strlen(prefix))) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            n += remove(p) == 0;
        }
    if (d) closedir(d);
    return n;
}

static void planted_names(const char *base) {
    char dir[600], path[700], victim[700], name[800];
    snprintf(dir, sizeof dir, "%s/ckpt_plantedXXXXXX", base);
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    snprintf(path, sizeof path, "%s/ck.bin", dir);
    snprintf(victim, sizeof victim, "%s/victim.txt", dir);
    FILE *f = fopen(victim, "wb");
    fputs("precious\n", f);
    fclose(f);
    unsigned char p[256], s[64], q[256], r[64];
    fill(p, sizeof p, 3);
    fill(s, sizeof s, 4);
    snprintf(name, sizeof name, "%s.tmp", path);
    CHECK(symlink(victim, name) == 0);
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "%s.tmp%ld.%d", path, (long)getpid(), i);
        CHECK(symlink(victim, name) == 0);
    }
    snprintf(name, sizeof name, "%s.tmp%ld.3", path, (long)getpid());
    CHECK(mkfifo(name, 0600) == 0);
    alarm(20); /* opening the FIFO would block: fail loudly instead */
    CHECK(unetrc_checkpoint_save(path, p, sizeof p, s, sizeof s, HASH) == UNETRC_OK);
    CHECK(file_is(victim, "precious\n"));
    snprintf(name, sizeof name, "%s.tmp", path);
    CHECK(is_type(name, 'l'));
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "%s.tmp%ld.%d", path, (long)getpid(), i);
        CHECK(is_type(name, 'l'));
    }
    snprintf(name, sizeof name, "%s.tmp%ld.3", path, (long)getpid());
    CHECK(is_type(name, 'p'));
    CHECK(is_type(path, 'f'));
    CHECK(unetrc_checkpoint_load(path, q, sizeof q, r, sizeof r, HASH) == UNETRC_OK);
    CHECK(!memcmp(p, q, sizeof p) && !memcmp(s, r, sizeof s));
    /* a link at PATH itself is replaced, not written through */
    CHECK(remove(path) == 0 && symlink(victim, path) == 0);
    CHECK(unetrc_checkpoint_save(path, p, sizeof p, s, sizeof s, HASH) == UNETRC_OK);
    CHECK(file_is(victim, "precious\n") && is_type(path, 'f'));
    /* a FIFO (or a folder) as the checkpoint: an error at once */
    CHECK(remove(path) == 0 && mkfifo(path, 0600) == 0);
    fill(q, sizeof q, 0xEE);
    CHECK(unetrc_checkpoint_load(path, q, sizeof q, r, sizeof r, HASH) == UNETRC_ERR_IO);
    CHECK(unetrc_checkpoint_load(dir, q, sizeof q, r, sizeof r, HASH) == UNETRC_ERR_IO);
    CHECK(uniform(q, sizeof q) == 0xEE);
    alarm(0);
    CHECK(remove_prefixed(dir, "ck.bin") == 6);
    remove(victim);
    CHECK(rmdir(dir) == 0);
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    planted_names(argv[1]);
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
            printf("FAIL after kill %d: status %d (%s), params %d, state %d\n", round, st, unetrc_status_str(st), vp,
                   vs);
            failures++;
        }
    }
    remove(path);
    /* Each killed writer left at most its own temporary file, and a
     * successful save none. */
    int left = remove_prefixed(argv[1], "ckpt.bin.tmp");
    CHECK(left <= kills);
    printf("checkpoint: %d kills during saves survived (%d temporary files left by killed writers); %d failures\n",
           kills, left, failures);
    free(p), free(s), free(q), free(r);
    return failures ? 1 : 0;
}
