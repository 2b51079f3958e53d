/* safetensors.c: the safetensors reader (safetensors.h). The JSON header is
 * parsed with cJSON; everything it says is then checked here. */
#include "safetensors.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../base/diag.h"
#include "graph_builder.h"

/* The reference implementation refuses headers above 100 MB. */
#define URC_ST_MAX_HEADER ((uint64_t)100 << 20)

static const struct {
    const char *name;
    urc_dtype dt;
} st_dtypes[] = {{"F32", URC_DT_F32}, {"F16", URC_DT_F16}, {"BF16", URC_DT_BF16}, {"I64", URC_DT_I64}};

/* A JSON number that is a non-negative integer below 2^53 (exact in a double). */
static bool json_count(const cJSON *j, int64_t *out) {
    if (!cJSON_IsNumber(j)) return false;
    double v = j->valuedouble;
    if (!(v >= 0 && v < 9007199254740992.0) || v != floor(v)) return false;
    *out = (int64_t)v;
    return true;
}

/* One tensor's entry; false after reporting. */
static bool parse_entry(const cJSON *j, const char *where, uint64_t data_bytes, uint64_t max_bytes, urc_st_entry *e) {
    if (!cJSON_IsObject(j)) {
        urc_error(where, "is not a JSON object");
        return false;
    }
    bool ok = true;
    const cJSON *dt = NULL, *shape = NULL, *offs = NULL;
    for (const cJSON *f = j->child; f; f = f->next) {
        const cJSON **slot = !strcmp(f->string, "dtype")          ? &dt
                             : !strcmp(f->string, "shape")        ? &shape
                             : !strcmp(f->string, "data_offsets") ? &offs
                                                                  : NULL;
        if (!slot) {
            urc_error(where, "unknown field '%s'", urc_diag_one_line(f->string));
            ok = false;
        } else if (*slot) {
            urc_error(where, "field '%s' is given twice", urc_diag_one_line(f->string));
            ok = false;
        } else {
            *slot = f;
        }
    }
    if (!dt || !shape || !offs) {
        urc_error(where, "lacks %s", !dt ? "'dtype'" : !shape ? "'shape'" : "'data_offsets'");
        return false;
    }
    e->dtype = URC_DT_UNDEF;
    if (!cJSON_IsString(dt)) {
        urc_error(where, "dtype is not a string");
        ok = false;
    } else {
        for (size_t i = 0; i < URC_ARRAY_LEN(st_dtypes); i++)
            if (!strcmp(dt->valuestring, st_dtypes[i].name)) e->dtype = st_dtypes[i].dt;
        if (e->dtype == URC_DT_UNDEF) {
            urc_error(where, "dtype '%s' is not supported (F32, F16, BF16 and I64 are)",
                      urc_diag_one_line(dt->valuestring));
            ok = false;
        }
    }
    int rank = cJSON_IsArray(shape) ? cJSON_GetArraySize(shape) : -1;
    if (rank < 0) {
        urc_error(where, "shape is not an array");
        ok = false;
    } else if (rank > URC_MAX_RANK) {
        urc_error(where, "shape has rank %d, above the maximum of %d", rank, URC_MAX_RANK);
        ok = false;
    } else {
        e->shape.rank = rank;
        int d = 0;
        for (const cJSON *x = shape->child; x; x = x->next, d++)
            if (!json_count(x, &e->shape.dims[d])) {
                urc_error(where, "shape dimension %d is not a non-negative integer", d);
                ok = false;
            }
    }
    int64_t b = 0, end = 0;
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 || !json_count(offs->child, &b) ||
        !json_count(offs->child->next, &end)) {
        urc_error(where, "data_offsets is not [begin, end] of non-negative integers");
        return false;
    }
    e->begin = (uint64_t)b;
    e->end = (uint64_t)end;
    if (e->end < e->begin) {
        urc_error(where, "data_offsets [%lld, %lld] end before they begin", (long long)b, (long long)end);
        return false;
    }
    if (e->end > data_bytes) {
        urc_error(where, "data_offsets [%lld, %lld] lie outside the %llu bytes of data", (long long)b, (long long)end,
                  (unsigned long long)data_bytes);
        ok = false;
    }
    if (!ok) return false;
    int64_t numel;
    if (!urc_dims_fit(e->shape.dims, e->shape.rank, urc_dtype_size(e->dtype), max_bytes, &numel)) {
        urc_error(where, "shape %s of %s exceeds the limit of %llu bytes (raise it with --max-bytes)",
                  urc_shape_str(&e->shape), urc_dtype_name(e->dtype), (unsigned long long)max_bytes);
        return false;
    }
    uint64_t need = (uint64_t)numel * (uint64_t)urc_dtype_size(e->dtype);
    if (e->end - e->begin != need) {
        urc_error(where, "data_offsets [%lld, %lld] hold %llu bytes; shape %s of %s needs %llu", (long long)b,
                  (long long)end, (unsigned long long)(e->end - e->begin), urc_shape_str(&e->shape),
                  urc_dtype_name(e->dtype), (unsigned long long)need);
        return false;
    }
    return true;
}

static int by_begin(const void *a, const void *b) {
    const urc_st_entry *x = *(const urc_st_entry *const *)a, *y = *(const urc_st_entry *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : x->end < y->end ? -1 : x->end > y->end;
}

/* Non-empty ranges that overlap: each named once, with the one before it. */
static bool check_overlaps(urc_safetensors *s, const char *label) {
    urc_st_entry **order = urc_xmalloc(sizeof(urc_st_entry *) * (size_t)(s->n ? s->n : 1));
    int m = 0;
    for (int i = 0; i < s->n; i++)
        if (s->e[i].end > s->e[i].begin) order[m++] = &s->e[i];
    qsort(order, (size_t)m, sizeof *order, by_begin);
    bool ok = true;
    const urc_st_entry *last = NULL; /* the range reaching furthest so far */
    for (int i = 0; i < m; i++) {
        if (last && order[i]->begin < last->end) {
            urc_error(urc_fmt("%s: tensor '%s'", label, order[i]->name),
                      "data_offsets [%llu, %llu] overlap those of '%s' [%llu, %llu]",
                      (unsigned long long)order[i]->begin, (unsigned long long)order[i]->end, last->name,
                      (unsigned long long)last->begin, (unsigned long long)last->end);
            ok = false;
        }
        if (!last || order[i]->end > last->end) last = order[i];
    }
    free(order);
    return ok;
}

static urc_safetensors *parse_header(const uint8_t *data, size_t size, const char *label, uint64_t max_bytes);

/* Parses data[size]; owned: the heap buffer is taken over (freed on failure). */
static urc_safetensors *parse(uint8_t *data, size_t size, const char *label, uint64_t max_bytes, bool owned) {
    urc_safetensors *s = parse_header(data, size, label, max_bytes);
    if (!s) {
        if (owned) free(data);
        return NULL;
    }
    if (owned) {
        s->buf = data;
    } else {
        s->buf = urc_xmalloc(size ? size : 1);
        memcpy(s->buf, data, size);
    }
    return s;
}

urc_safetensors *urc_st_parse(const uint8_t *data, size_t size, const char *label, uint64_t max_bytes) {
    return parse((uint8_t *)data, size, label, max_bytes, false);
}

/* The header and its checks (the data stays where it is). */
static urc_safetensors *parse_header(const uint8_t *data, size_t size, const char *label, uint64_t max_bytes) {
    if (size < 8) {
        urc_error(label, "file has %zu bytes; a safetensors file starts with an 8-byte header length", size);
        return NULL;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | data[i];
    if (hlen > size - 8) {
        urc_error(label, "header length %llu exceeds the %zu bytes after it (truncated file?)",
                  (unsigned long long)hlen, size - 8);
        return NULL;
    }
    if (hlen > URC_ST_MAX_HEADER || hlen < 2) {
        urc_error(label, "header length %llu is outside 2 to %llu bytes", (unsigned long long)hlen,
                  (unsigned long long)URC_ST_MAX_HEADER);
        return NULL;
    }
    const char *text = (const char *)data + 8, *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, (size_t)hlen, &end, 0);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        urc_error(label, "header is not valid JSON (at byte %lld of %llu)",
                  at && at >= text && at <= text + hlen ? (long long)(at - text) : -1LL, (unsigned long long)hlen);
        return NULL;
    }
    for (const char *p = end; p && p < text + hlen; p++) /* padding: spaces only */
        if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t') {
            urc_error(label, "header has data after its JSON object (at byte %lld)", (long long)(p - text));
            cJSON_Delete(root);
            return NULL;
        }
    if (!cJSON_IsObject(root)) {
        urc_error(label, "header is not a JSON object");
        cJSON_Delete(root);
        return NULL;
    }
    urc_safetensors *s = urc_xmalloc(sizeof *s);
    memset(s, 0, sizeof *s);
    s->size = size;
    s->data = 8 + (size_t)hlen;
    uint64_t data_bytes = size - s->data;
    int n = cJSON_GetArraySize(root);
    s->e = urc_xmalloc(sizeof(urc_st_entry) * (size_t)(n ? n : 1));
    memset(s->e, 0, sizeof(urc_st_entry) * (size_t)(n ? n : 1));
    bool ok = true;
    urc_map seen = {0};
    for (const cJSON *j = root->child; j; j = j->next) {
        const char *name = j->string;
        const char *where = urc_fmt("%s: tensor '%s'", label, urc_diag_one_line(name));
        if (!strcmp(name, "__metadata__")) {
            bool strings = cJSON_IsObject(j);
            for (const cJSON *m = strings ? j->child : NULL; m; m = m->next) strings &= cJSON_IsString(m);
            if (!strings) {
                urc_error(label, "__metadata__ is not an object of strings");
                ok = false;
            }
            continue;
        }
        if (urc_map_get(&seen, name)) {
            urc_error(where, "is listed twice");
            ok = false;
            continue;
        }
        urc_st_entry *e = &s->e[s->n];
        e->name = urc_strdup(name);
        urc_map_put(&seen, e->name, e);
        if (parse_entry(j, where, data_bytes, max_bytes, e)) s->n++;
        else ok = false;
    }
    urc_map_free(&seen);
    cJSON_Delete(root);
    if (ok) ok = check_overlaps(s, label);
    if (!ok) {
        urc_st_free(s);
        return NULL;
    }
    return s;
}

urc_safetensors *urc_st_load(const char *path, uint64_t max_bytes) {
    size_t size;
    uint64_t cap = max_bytes + URC_ST_MAX_HEADER + 8;
    uint8_t *buf = urc_gb_read_file(path, path, &size, cap < max_bytes ? max_bytes : cap);
    if (!buf) return NULL;
    return parse(buf, size, path, max_bytes, true);
}

urc_st_entry *urc_st_find(urc_safetensors *s, const char *name) {
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->e[i].name, name)) return &s->e[i];
    return NULL;
}

urc_tensor *urc_st_tensor(const urc_safetensors *s, const urc_st_entry *e) {
    urc_tensor *t = urc_tensor_new(e->dtype == URC_DT_I64 ? URC_DT_I64 : URC_DT_F32, &e->shape);
    const uint8_t *p = s->buf + s->data + e->begin;
    int64_t n = urc_shape_numel(&e->shape);
    float *out = t->data;
    for (int64_t i = 0; i < n; i++) {
        if (e->dtype == URC_DT_I64) {
            memcpy(t->data, p, (size_t)n * 8); /* little-endian hosts only */
            break;
        } else if (e->dtype == URC_DT_F32) {
            memcpy(&out[i], p + 4 * i, 4);
        } else {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            out[i] = e->dtype == URC_DT_F16 ? urc_f16_to_f32(h) : urc_bf16_to_f32(h);
        }
    }
    return t;
}

void urc_st_free(urc_safetensors *s) {
    if (!s) return;
    free(s->buf);
    free(s->e);
    free(s);
}
