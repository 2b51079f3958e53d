/* tensor.c: dtypes, shapes and heap tensors. */
#include "ir.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    int size;
} dtypes[URC_DT_COUNT] = {
    [URC_DT_UNDEF] = {"undefined", 0}, [URC_DT_F32] = {"float32", 4},   [URC_DT_U8] = {"uint8", 1},
    [URC_DT_I8] = {"int8", 1},         [URC_DT_U16] = {"uint16", 2},    [URC_DT_I16] = {"int16", 2},
    [URC_DT_I32] = {"int32", 4},       [URC_DT_I64] = {"int64", 8},     [URC_DT_STRING] = {"string", 0},
    [URC_DT_BOOL] = {"bool", 1},       [URC_DT_F16] = {"float16", 2},   [URC_DT_F64] = {"float64", 8},
    [URC_DT_U32] = {"uint32", 4},      [URC_DT_U64] = {"uint64", 8},    [14] = {"complex64", 0},
    [15] = {"complex128", 0},          [URC_DT_BF16] = {"bfloat16", 2},
};

int urc_dtype_size(urc_dtype dt) { return (unsigned)dt < URC_DT_COUNT ? dtypes[dt].size : 0; }

const char *urc_dtype_name(urc_dtype dt) {
    if ((unsigned)dt < URC_DT_COUNT && dtypes[dt].name) return dtypes[dt].name;
    return urc_fmt("dtype %d", (int)dt);
}

bool urc_dtype_is_float(urc_dtype dt) {
    return dt == URC_DT_F32 || dt == URC_DT_F64 || dt == URC_DT_F16 || dt == URC_DT_BF16;
}

bool urc_dtype_is_int(urc_dtype dt) {
    switch (dt) {
    case URC_DT_U8:
    case URC_DT_I8:
    case URC_DT_U16:
    case URC_DT_I16:
    case URC_DT_I32:
    case URC_DT_I64:
    case URC_DT_U32:
    case URC_DT_U64: return true;
    default: return false;
    }
}

bool urc_dtype_is_signed(urc_dtype dt) {
    return dt == URC_DT_I8 || dt == URC_DT_I16 || dt == URC_DT_I32 || dt == URC_DT_I64 || urc_dtype_is_float(dt);
}

bool urc_dtype_supported(urc_dtype dt) { return urc_dtype_size(dt) > 0; }

/* Saturates at INT64_MAX instead of overflowing: infer callbacks size the
 * shapes they have just computed, before the infer pass holds them to the
 * --max-bytes cap (urc_dims_fit), and a hostile model can make those huge. */
int64_t urc_shape_numel(const urc_shape *s) {
    int64_t n = 1;
    bool saturated = false;
    for (int i = 0; i < s->rank; i++) {
        if (s->dims[i] == 0) return 0;
        if (!saturated && !urc_mul_ok(n, s->dims[i], &n)) saturated = true;
    }
    return saturated ? INT64_MAX : n;
}

bool urc_shape_eq(const urc_shape *a, const urc_shape *b) {
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return false;
    return true;
}

const char *urc_shape_str(const urc_shape *s) {
    urc_strbuf sb = {0};
    urc_sb_putc(&sb, '[');
    for (int i = 0; i < s->rank; i++) {
        if (i) urc_sb_putc(&sb, ',');
        urc_sb_put_i64(&sb, s->dims[i]);
    }
    urc_sb_putc(&sb, ']');
    char *r = urc_strdup(sb.data);
    urc_sb_free(&sb);
    return r;
}

void urc_shape_strides(const urc_shape *s, int64_t *strides) {
    int64_t st = 1;
    for (int i = s->rank - 1; i >= 0; i--) {
        strides[i] = st;
        st *= s->dims[i];
    }
}

bool urc_shape_broadcast(const urc_shape *a, const urc_shape *b, urc_shape *out) {
    int r = a->rank > b->rank ? a->rank : b->rank;
    urc_shape o = {.rank = r};
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->rank), ib = i - (r - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da == db || db == 1) o.dims[i] = da;
        else if (da == 1) o.dims[i] = db;
        else return false;
    }
    *out = o;
    return true;
}

bool urc_shape_bcasts_to(const urc_shape *o, const urc_shape *y) {
    if (o->rank > y->rank) return false;
    for (int d = 0; d < o->rank; d++) {
        int64_t c = o->dims[d], t = y->dims[d + y->rank - o->rank];
        if (c != 1 && c != t) return false;
    }
    return true;
}

urc_tensor *urc_tensor_new(urc_dtype dt, const urc_shape *s) {
    urc_tensor *t = urc_xcalloc(1, sizeof *t);
    t->dtype = dt;
    t->shape = *s;
    t->data = urc_xcalloc((size_t)urc_shape_numel(s) ? (size_t)urc_shape_numel(s) : 1,
                          (size_t)(urc_dtype_size(dt) ? urc_dtype_size(dt) : 1));
    return t;
}

void urc_tensor_free(urc_tensor *t) {
    if (!t) return;
    free(t->data);
    free(t);
}

int64_t urc_tensor_numel(const urc_tensor *t) { return urc_shape_numel(&t->shape); }
size_t urc_tensor_bytes(const urc_tensor *t) { return (size_t)urc_tensor_numel(t) * (size_t)urc_dtype_size(t->dtype); }

/* IEEE half <-> single, round to nearest even. */
float urc_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400));
            bits = sign | (uint32_t)(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | man << 13;
    } else {
        bits = sign | (exp + 127 - 15) << 23 | man << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t urc_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    int32_t exp = (int32_t)((x >> 23) & 0xff) - 127 + 15;
    uint32_t man = x & 0x7fffff;
    if (((x >> 23) & 0xff) == 0xff) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 : 0));
    if (exp >= 31) return (uint16_t)(sign | 0x7c00);
    if (exp <= 0) {
        if (exp < -10) return (uint16_t)sign;
        man |= 0x800000;
        int shift = 14 - exp;
        uint32_t h = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1))) h++;
        return (uint16_t)(sign | h);
    }
    uint32_t h = (uint32_t)exp << 10 | man >> 13, rem = man & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

float urc_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t urc_f32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)((x >> 16) | 0x40);
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

double urc_elem_f64(urc_dtype dt, const void *d, int64_t i) {
    switch (dt) {
    case URC_DT_F32: return ((const float *)d)[i];
    case URC_DT_F64: return ((const double *)d)[i];
    case URC_DT_F16: return urc_f16_to_f32(((const uint16_t *)d)[i]);
    case URC_DT_BF16: return urc_bf16_to_f32(((const uint16_t *)d)[i]);
    case URC_DT_U8: return ((const uint8_t *)d)[i];
    case URC_DT_I8: return ((const int8_t *)d)[i];
    case URC_DT_U16: return ((const uint16_t *)d)[i];
    case URC_DT_I16: return ((const int16_t *)d)[i];
    case URC_DT_I32: return ((const int32_t *)d)[i];
    case URC_DT_I64: return (double)((const int64_t *)d)[i];
    case URC_DT_U32: return ((const uint32_t *)d)[i];
    case URC_DT_U64: return (double)((const uint64_t *)d)[i];
    case URC_DT_BOOL: return ((const uint8_t *)d)[i] != 0;
    default: URC_ASSERT(0, "bad dtype");
    }
    return 0;
}

int64_t urc_elem_i64(urc_dtype dt, const void *d, int64_t i) {
    switch (dt) {
    case URC_DT_U8: return ((const uint8_t *)d)[i];
    case URC_DT_I8: return ((const int8_t *)d)[i];
    case URC_DT_U16: return ((const uint16_t *)d)[i];
    case URC_DT_I16: return ((const int16_t *)d)[i];
    case URC_DT_I32: return ((const int32_t *)d)[i];
    case URC_DT_I64: return ((const int64_t *)d)[i];
    case URC_DT_U32: return ((const uint32_t *)d)[i];
    case URC_DT_U64: return (int64_t)((const uint64_t *)d)[i];
    case URC_DT_BOOL: return ((const uint8_t *)d)[i] != 0;
    default: return urc_f64_to_int(urc_elem_f64(dt, d, i), URC_DT_I64);
    }
}

/* The range of each integer dtype as doubles: lo is exact (-2^(n-1) or 0),
 * hi_excl = 2^n or 2^(n-1), the first value above the maximum (exact too,
 * where the maximum itself is not representable in a double). */
int64_t urc_f64_to_int(double v, urc_dtype dt) {
    double lo, hi_excl;
    int64_t min, max;
    switch (dt) {
    case URC_DT_I8: lo = -128.0, hi_excl = 128.0, min = INT8_MIN, max = INT8_MAX; break;
    case URC_DT_U8: lo = 0, hi_excl = 256.0, min = 0, max = UINT8_MAX; break;
    case URC_DT_I16: lo = -32768.0, hi_excl = 32768.0, min = INT16_MIN, max = INT16_MAX; break;
    case URC_DT_U16: lo = 0, hi_excl = 65536.0, min = 0, max = UINT16_MAX; break;
    case URC_DT_I32: lo = -2147483648.0, hi_excl = 2147483648.0, min = INT32_MIN, max = INT32_MAX; break;
    case URC_DT_U32: lo = 0, hi_excl = 4294967296.0, min = 0, max = UINT32_MAX; break;
    case URC_DT_U64:
        if (v != v || v <= 0) return 0;
        if (v >= 18446744073709551616.0) return (int64_t)UINT64_MAX;
        return (int64_t)(uint64_t)v;
    case URC_DT_BOOL: return v != 0;
    default: lo = -9223372036854775808.0, hi_excl = 9223372036854775808.0, min = INT64_MIN, max = INT64_MAX; break;
    }
    if (v != v) return 0;
    if (v <= lo) return min;
    if (v >= hi_excl) return max;
    return (int64_t)v; /* in range: truncation is defined */
}

void urc_elem_set_f64(urc_dtype dt, void *d, int64_t i, double v) {
    switch (dt) {
    case URC_DT_F32: ((float *)d)[i] = (float)v; return;
    case URC_DT_F64: ((double *)d)[i] = v; return;
    case URC_DT_F16: ((uint16_t *)d)[i] = urc_f32_to_f16((float)v); return;
    case URC_DT_BF16: ((uint16_t *)d)[i] = urc_f32_to_bf16((float)v); return;
    case URC_DT_BOOL: ((uint8_t *)d)[i] = v != 0; return;
    default: /* integers: truncation toward zero, saturating (urc_f64_to_int) */
        urc_elem_set_i64(dt, d, i, urc_f64_to_int(v, dt));
        return;
    }
}

void urc_elem_set_i64(urc_dtype dt, void *d, int64_t i, int64_t v) {
    switch (dt) {
    case URC_DT_U8: ((uint8_t *)d)[i] = (uint8_t)v; return;
    case URC_DT_I8: ((int8_t *)d)[i] = (int8_t)v; return;
    case URC_DT_U16: ((uint16_t *)d)[i] = (uint16_t)v; return;
    case URC_DT_I16: ((int16_t *)d)[i] = (int16_t)v; return;
    case URC_DT_I32: ((int32_t *)d)[i] = (int32_t)v; return;
    case URC_DT_I64: ((int64_t *)d)[i] = v; return;
    case URC_DT_U32: ((uint32_t *)d)[i] = (uint32_t)v; return;
    case URC_DT_U64: ((uint64_t *)d)[i] = (uint64_t)v; return;
    case URC_DT_BOOL: ((uint8_t *)d)[i] = v != 0; return;
    default: urc_elem_set_f64(dt, d, i, (double)v); return;
    }
}

double *urc_tensor_to_f64(const urc_tensor *t) {
    int64_t n = urc_tensor_numel(t);
    double *v = urc_xmalloc((size_t)(n ? n : 1) * sizeof(double));
    for (int64_t i = 0; i < n; i++) v[i] = urc_elem_f64(t->dtype, t->data, i);
    return v;
}

int64_t *urc_tensor_to_i64(const urc_tensor *t) {
    int64_t n = urc_tensor_numel(t);
    int64_t *v = urc_xmalloc((size_t)(n ? n : 1) * sizeof(int64_t));
    for (int64_t i = 0; i < n; i++) v[i] = urc_elem_i64(t->dtype, t->data, i);
    return v;
}

void urc_tensor_from_f64(urc_tensor *t, const double *v) {
    int64_t n = urc_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) urc_elem_set_f64(t->dtype, t->data, i, v[i]);
}

void urc_tensor_from_i64(urc_tensor *t, const int64_t *v) {
    int64_t n = urc_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) urc_elem_set_i64(t->dtype, t->data, i, v[i]);
}
