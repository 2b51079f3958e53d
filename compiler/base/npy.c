/* npy.c: NumPy .npy reader and writer (see npy.h). */
#include "npy.h"

#include "unetrc.h" /* the runtime's header parser: one for both */

#include <stdlib.h>
#include <string.h>

static const struct {
    const char *descr;
    urc_dtype dt;
} npy_types[] = {
    {"<f4", URC_DT_F32}, {"<f8", URC_DT_F64},  {"<f2", URC_DT_F16},  {"<i8", URC_DT_I64}, {"<i4", URC_DT_I32},
    {"<i2", URC_DT_I16}, {"|i1", URC_DT_I8},   {"|u1", URC_DT_U8},   {"<u2", URC_DT_U16}, {"<u4", URC_DT_U32},
    {"<u8", URC_DT_U64}, {"|b1", URC_DT_BOOL}, {"<b1", URC_DT_BOOL}, {"<i1", URC_DT_I8},  {"<u1", URC_DT_U8},
};

urc_tensor *urc_npy_parse(const unsigned char *d, size_t size, uint64_t max_bytes, const char **err) {
    if (size < 10 || memcmp(d, "\x93NUMPY", 6) != 0) {
        *err = "not a .npy file (bad magic)";
        return NULL;
    }
    int major = d[6];
    size_t hlen, hstart;
    if (major == 1) {
        hlen = (size_t)d[8] | (size_t)d[9] << 8;
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12) {
            *err = "truncated .npy header";
            return NULL;
        }
        hlen = (size_t)d[8] | (size_t)d[9] << 8 | (size_t)d[10] << 16 | (size_t)d[11] << 24;
        hstart = 12;
    } else {
        *err = urc_fmt(".npy format version %d is not supported", major);
        return NULL;
    }
    if (hlen > size - hstart) {
        *err = "truncated .npy header";
        return NULL;
    }
    char descr[16];
    int fortran = 0;
    urc_shape shape = {0};
    const char *why = unetrc_npy_header_parse((const char *)d + hstart, hlen, descr, &fortran, shape.dims, &shape.rank);
    if (why) {
        *err = urc_fmt("bad .npy header: %s", why);
        return NULL;
    }
    urc_dtype dt = URC_DT_UNDEF;
    for (size_t i = 0; i < URC_ARRAY_LEN(npy_types); i++)
        if (!strcmp(descr, npy_types[i].descr)) dt = npy_types[i].dt;
    if (dt == URC_DT_UNDEF) {
        urc_strbuf shown = {0}; /* the file's bytes: control characters escaped (one-line messages) */
        for (const char *c = descr; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f) urc_sb_printf(&shown, "\\x%02x", (unsigned char)*c);
            else urc_sb_putc(&shown, *c);
        *err = urc_fmt(".npy dtype '%s' is not supported (little-endian bool, int, uint or float)",
                       shown.data ? shown.data : "");
        urc_sb_free(&shown);
        return NULL;
    }
    int64_t n = 1, bytes;
    for (int i = 0; i < shape.rank; i++)
        if (!urc_mul_ok(n, shape.dims[i] ? shape.dims[i] : 1, &n)) {
            *err = ".npy shape overflows";
            return NULL;
        }
    if (!urc_dims_fit(shape.dims, shape.rank, urc_dtype_size(dt), max_bytes, &n)) {
        *err = urc_fmt(".npy data of shape %s is above the limit of %llu bytes", urc_shape_str(&shape),
                       (unsigned long long)max_bytes);
        return NULL;
    }
    bytes = n * urc_dtype_size(dt);
    size_t have = size - hstart - hlen;
    if ((uint64_t)have != (uint64_t)bytes) {
        *err = urc_fmt(".npy data has %zu bytes, shape %s of %s needs %lld", have, urc_shape_str(&shape),
                       urc_dtype_name(dt), (long long)bytes);
        return NULL;
    }
    urc_tensor *t = urc_tensor_new(dt, &shape);
    const unsigned char *src = d + hstart + hlen;
    if (!fortran || shape.rank < 2) {
        if (bytes) memcpy(t->data, src, (size_t)bytes);
    } else {
        /* Fortran order: the first index varies fastest. */
        int64_t idx[URC_MAX_RANK] = {0}, cstr[URC_MAX_RANK];
        urc_shape_strides(&shape, cstr);
        int es = urc_dtype_size(dt);
        for (int64_t i = 0; i < n; i++) {
            int64_t off = 0;
            for (int k = 0; k < shape.rank; k++) off += idx[k] * cstr[k];
            memcpy((unsigned char *)t->data + off * es, src + i * es, (size_t)es);
            for (int k = 0; k < shape.rank; k++) {
                if (++idx[k] < shape.dims[k]) break;
                idx[k] = 0;
            }
        }
    }
    return t;
}

urc_tensor *urc_npy_read(const char *path, uint64_t max_bytes, const char **err) {
    size_t size;
    unsigned char *d = urc_read_file(path, &size, max_bytes + 65536 > max_bytes ? max_bytes + 65536 : max_bytes, err);
    if (!d) return NULL;
    urc_tensor *t = urc_npy_parse(d, size, max_bytes, err);
    free(d);
    return t;
}

void urc_npy_format(const urc_tensor *t, urc_strbuf *out) {
    const char *descr = NULL;
    for (size_t i = 0; i < URC_ARRAY_LEN(npy_types); i++)
        if (npy_types[i].dt == t->dtype) {
            descr = npy_types[i].descr;
            break;
        }
    urc_tensor *f32 = NULL;
    if (!descr) {
        /* NumPy has no bfloat16: such data is written as float32 (exact),
         * never as float32 bytes of the wrong length. */
        f32 = urc_tensor_new(URC_DT_F32, &t->shape);
        int64_t n = urc_tensor_numel(t);
        for (int64_t i = 0; i < n; i++) ((float *)f32->data)[i] = (float)urc_elem_f64(t->dtype, t->data, i);
        t = f32;
        descr = "<f4";
    }
    urc_strbuf h = {0};
    urc_sb_printf(&h, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < t->shape.rank; i++)
        urc_sb_printf(&h, "%lld,%s", (long long)t->shape.dims[i], i + 1 < t->shape.rank ? " " : "");
    urc_sb_puts(&h, "), }");
    while ((10 + h.len + 1) % 64) urc_sb_putc(&h, ' ');
    urc_sb_putc(&h, '\n');
    unsigned char pre[10] = {
        0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(h.len & 0xff), (unsigned char)(h.len >> 8)};
    urc_sb_write(out, pre, 10);
    urc_sb_write(out, h.data, h.len);
    urc_sb_write(out, t->data, urc_tensor_bytes(t));
    urc_sb_free(&h);
    if (f32) urc_tensor_free(f32);
}
