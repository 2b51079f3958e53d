/* onnx_import.c: reads an ONNX ModelProto (protobuf-c, generated at build
 * time from Debian's onnx.proto) into the graph IR.
 *
 * Every problem is reported through urc_error and the import keeps going,
 * so one run lists all unsupported ops, attributes and dtypes of a model. */
#define _GNU_SOURCE
#include "onnx_import.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/diag.h"
#include "../base/proc.h"
#include "../passes/passes.h"
#include "onnx.pb-c.h"

/* protobuf-c's allocations: running out of memory while decoding is
 * reported as such (urc_out_of_memory), not as a malformed model (the
 * default allocator's failure makes unpack return NULL, like bad input). */
static void *pb_alloc(void *data, size_t size) {
    (void)data;
    void *p = malloc(size ? size : 1);
    if (!p) urc_out_of_memory(size);
    return p;
}
static void pb_free(void *data, void *p) {
    (void)data;
    free(p);
}
static ProtobufCAllocator pb_allocator = {pb_alloc, pb_free, NULL};

typedef struct importer {
    urc_gb b;
    urc_graph *g;
    const char *model_dir; /* folder holding the model, for external data */
    const urc_import_opts *opts;
    uint64_t max_bytes;
    bool torch_export; /* producer_name "pytorch" */
} importer;

/* ---- tensors -------------------------------------------------------------- */

/* "data type string is not supported"; "data type 99 is not an ONNX
 * tensor type" for numbers outside TensorProto.DataType. */
static void dtype_error(const char *where, int64_t dt) {
    if (dt >= 0 && dt < URC_DT_COUNT) urc_error(where, "data type %s is not supported", urc_dtype_name((urc_dtype)dt));
    else urc_error(where, "data type %lld is not an ONNX tensor type", (long long)dt);
}

/* Validates dims and computes element count and byte size under the cap
 * (urc_dims_fit: the product of the dims, zeros counted as ones, fits). */
static bool tensor_shape(const Onnx__TensorProto *t, const char *where, uint64_t max_bytes, urc_dtype dt, urc_shape *s,
                         int64_t *numel, int64_t *bytes) {
    if (t->n_dims > URC_MAX_RANK) {
        urc_error(where, "rank %zu is above the supported maximum of %d", t->n_dims, URC_MAX_RANK);
        return false;
    }
    s->rank = (int)t->n_dims;
    bool overflow = false, zero = false;
    int64_t n = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0) {
            urc_error(where, "negative dimension %lld", (long long)t->dims[i]);
            return false;
        }
        s->dims[i] = t->dims[i];
        zero |= t->dims[i] == 0;
        if (!urc_mul_ok(n, t->dims[i] ? t->dims[i] : 1, &n)) overflow = true;
    }
    if (overflow && !zero) {
        urc_error(where, "element count overflows");
        return false;
    }
    if (!urc_dims_fit(s->dims, s->rank, urc_dtype_size(dt), max_bytes, numel)) {
        urc_error(where, "shape %s of %s exceeds the limit of %llu bytes (raise it with --max-bytes)", urc_shape_str(s),
                  urc_dtype_name(dt), (unsigned long long)max_bytes);
        return false;
    }
    *bytes = *numel * urc_dtype_size(dt);
    return true;
}

/* Opens an external data file, refusing paths that leave the model folder. */
static FILE *open_external(importer *im, const char *where, const char *location) {
    if (!im->model_dir) {
        urc_error(where, "external data '%s' is not allowed here", location);
        return NULL;
    }
    if (!*location || location[0] == '/' || location[0] == '\\' || strstr(location, "..") || strchr(location, ':')) {
        urc_error(where, "external data location '%s' must be a relative path inside the model's folder", location);
        return NULL;
    }
    char *path = urc_fmt("%s/%s", im->model_dir, location);
    char real_dir[PATH_MAX], real_file[PATH_MAX];
    if (!realpath(im->model_dir, real_dir)) {
        urc_error(where, "cannot resolve the model's folder: %s", strerror(errno));
        return NULL;
    }
    if (!realpath(path, real_file)) {
        urc_error(where, "cannot open external data file '%s': %s", location, strerror(errno));
        return NULL;
    }
    size_t nd = strlen(real_dir);
    if (strncmp(real_file, real_dir, nd) != 0 || real_file[nd] != '/') {
        urc_error(where, "external data file '%s' resolves outside the model's folder", location);
        return NULL;
    }
    URC_VEC_PUSH(im->g->external_files, urc_strdup(real_file));
    /* O_NONBLOCK: a FIFO must not hang the compiler (the caller rejects
     * anything but a regular file). */
    int fd = open(real_file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        urc_error(where, "cannot open external data file '%s': %s", location, strerror(errno));
        if (fd >= 0) close(fd);
    }
    return f;
}

static bool read_external(importer *im, const Onnx__TensorProto *t, const char *where, void *dst, int64_t bytes) {
    const char *location = NULL;
    int64_t offset = 0, length = -1;
    for (size_t i = 0; i < t->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = t->external_data[i];
        if (!e->key || !e->value) continue;
        char *end;
        if (!strcmp(e->key, "location")) {
            location = e->value;
        } else if (!strcmp(e->key, "offset") || !strcmp(e->key, "length")) {
            errno = 0;
            long long v = strtoll(e->value, &end, 10);
            if (errno || *end || v < 0 || end == e->value) {
                urc_error(where, "external data %s '%s' is not a non-negative integer", e->key, e->value);
                return false;
            }
            if (!strcmp(e->key, "offset")) offset = v;
            else length = v;
        }
    }
    if (!location) {
        urc_error(where, "external data has no location");
        return false;
    }
    if (length >= 0 && length != bytes) {
        urc_error(where, "external data length %lld does not match the %lld bytes of its shape", (long long)length,
                  (long long)bytes);
        return false;
    }
    FILE *f = open_external(im, where, location);
    if (!f) return false;
    struct stat st;
    bool ok = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
    if (!ok) urc_error(where, "external data '%s' is not a regular file", location);
    int64_t end = -1;
    if (ok && (!urc_add_ok(offset, bytes, &end) || end > (int64_t)st.st_size)) {
        if (end < offset) /* offset + bytes overflowed */
            urc_error(where, "external data offset %lld plus %lld bytes overflows", (long long)offset,
                      (long long)bytes);
        else
            urc_error(where, "external data range [%lld, %lld) lies outside '%s' (%lld bytes)", (long long)offset,
                      (long long)end, location, (long long)st.st_size);
        ok = false;
    }
    if (ok && (fseeko(f, offset, SEEK_SET) != 0 || fread(dst, 1, (size_t)bytes, f) != (size_t)bytes)) {
        urc_error(where, "cannot read external data '%s'", location);
        ok = false;
    }
    fclose(f);
    return ok;
}

/* Converts a TensorProto; returns NULL after reporting. */
static urc_tensor *tensor_from_proto(importer *im, const Onnx__TensorProto *t, const char *where) {
    urc_dtype dt = t->has_data_type ? (urc_dtype)t->data_type : URC_DT_UNDEF;
    if (!urc_dtype_supported(dt)) {
        dtype_error(where, t->has_data_type ? t->data_type : 0);
        return NULL;
    }
    if (t->segment) {
        urc_error(where, "segmented tensors are not supported");
        return NULL;
    }
    urc_shape s;
    int64_t n, bytes;
    if (!tensor_shape(t, where, im->max_bytes, dt, &s, &n, &bytes)) return NULL;
    /* The values live in exactly one place: external data, raw_data, or the
     * typed field of the dtype. Two of them at once are ambiguous (which one
     * would a runtime read?), so they are refused rather than one ignored. */
    const struct {
        const char *name;
        size_t n;
    } fields[] = {{"float_data", t->n_float_data},   {"int32_data", t->n_int32_data},
                  {"int64_data", t->n_int64_data},   {"double_data", t->n_double_data},
                  {"uint64_data", t->n_uint64_data}, {"string_data", t->n_string_data}};
    const char *typed = NULL; /* the first typed field holding values */
    for (size_t i = 0; i < URC_ARRAY_LEN(fields) && !typed; i++)
        if (fields[i].n) typed = fields[i].name;
    bool external = t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    if (external && (t->has_raw_data || typed)) {
        urc_error(where, "has both external data and %s (ambiguous)", t->has_raw_data ? "raw_data" : typed);
        return NULL;
    }
    if (t->has_raw_data && typed) {
        urc_error(where, "has both raw_data and %s (ambiguous)", typed);
        return NULL;
    }
    urc_tensor *r = urc_tensor_new(dt, &s);
    bool ok = true;
    if (external) {
        ok = read_external(im, t, where, r->data, bytes);
    } else if (t->has_raw_data) {
        if ((int64_t)t->raw_data.len != bytes) {
            urc_error(where, "raw_data has %zu bytes, its shape %s of %s needs %lld", t->raw_data.len,
                      urc_shape_str(&s), urc_dtype_name(dt), (long long)bytes);
            ok = false;
        } else if (bytes) {
            memcpy(r->data, t->raw_data.data, (size_t)bytes); /* little-endian hosts only */
        }
    } else {
        size_t have;
        const char *field;
        switch (dt) {
        case URC_DT_F32:
            have = t->n_float_data;
            field = "float_data";
            break;
        case URC_DT_F64:
            have = t->n_double_data;
            field = "double_data";
            break;
        case URC_DT_I64:
            have = t->n_int64_data;
            field = "int64_data";
            break;
        case URC_DT_U32:
        case URC_DT_U64:
            have = t->n_uint64_data;
            field = "uint64_data";
            break;
        default:
            have = t->n_int32_data;
            field = "int32_data";
            break;
        }
        const char *other = NULL; /* a field the dtype does not use, holding values */
        for (size_t i = 0; i < URC_ARRAY_LEN(fields) && !other; i++)
            if (fields[i].n && strcmp(fields[i].name, field)) other = fields[i].name;
        if (other) {
            urc_error(where, "%s is set, but %s values belong in %s", other, urc_dtype_name(dt), field);
            ok = false;
        } else if ((int64_t)have != n) {
            urc_error(where, "%s has %zu values, its shape %s needs %lld", field, have, urc_shape_str(&s),
                      (long long)n);
            ok = false;
        } else {
            for (int64_t i = 0; i < n; i++) {
                switch (dt) {
                case URC_DT_F32: ((float *)r->data)[i] = t->float_data[i]; break;
                case URC_DT_F64: ((double *)r->data)[i] = t->double_data[i]; break;
                case URC_DT_I64: ((int64_t *)r->data)[i] = t->int64_data[i]; break;
                case URC_DT_U32: ((uint32_t *)r->data)[i] = (uint32_t)t->uint64_data[i]; break;
                case URC_DT_U64: ((uint64_t *)r->data)[i] = t->uint64_data[i]; break;
                case URC_DT_F16:
                case URC_DT_BF16: ((uint16_t *)r->data)[i] = (uint16_t)t->int32_data[i]; break;
                default: urc_elem_set_i64(dt, r->data, i, t->int32_data[i]); break;
                }
            }
        }
    }
    if (!ok) {
        urc_tensor_free(r);
        return NULL;
    }
    return r;
}

/* ---- attributes ------------------------------------------------------------ */

static bool convert_attrs(importer *im, const Onnx__NodeProto *np, const char *where, urc_attr_list *l) {
    l->where = where;
    l->torch_export = im->torch_export;
    l->len = (int)np->n_attribute;
    l->items = urc_alloc(sizeof(urc_attr) * (np->n_attribute ? np->n_attribute : 1));
    bool ok = true;
    for (size_t i = 0; i < np->n_attribute; i++) {
        const Onnx__AttributeProto *a = np->attribute[i];
        urc_attr *o = &l->items[i];
        o->name = a->name ? a->name : "";
        bool twice = false;
        for (size_t j = 0; j < i; j++) twice |= !strcmp(l->items[j].name, o->name);
        if (twice) {
            urc_error(where, "attribute '%s' is given twice", o->name);
            o->used = true; /* not reported again as unsupported */
            ok = false;
            continue;
        }
        if (a->ref_attr_name && *a->ref_attr_name) {
            urc_error(where, "attribute '%s' refers to a function attribute; functions are not supported", o->name);
            ok = false;
            continue;
        }
        o->type = a->has_type ? (int)a->type : 0;
        switch (o->type) {
        case URC_AT_FLOAT: o->f = a->f; break;
        case URC_AT_INT: o->i = a->i; break;
        case URC_AT_STRING: o->s = urc_strndup((const char *)a->s.data, a->s.len); break;
        case URC_AT_FLOATS:
            o->n = (int)a->n_floats;
            o->floats = urc_alloc(sizeof(double) * (a->n_floats + 1));
            for (size_t j = 0; j < a->n_floats; j++) o->floats[j] = a->floats[j];
            break;
        case URC_AT_INTS:
            o->n = (int)a->n_ints;
            o->ints = urc_alloc(sizeof(int64_t) * (a->n_ints + 1));
            if (a->n_ints) memcpy(o->ints, a->ints, sizeof(int64_t) * a->n_ints); /* ints is NULL when empty */
            break;
        case URC_AT_STRINGS:
            o->n = (int)a->n_strings;
            o->strings = urc_alloc(sizeof(char *) * (a->n_strings + 1));
            for (size_t j = 0; j < a->n_strings; j++)
                o->strings[j] = urc_strndup((const char *)a->strings[j].data, a->strings[j].len);
            break;
        case URC_AT_TENSOR:
            if (!a->t) {
                urc_error(where, "attribute '%s' has no tensor", o->name);
                ok = false;
                break;
            }
            o->t = tensor_from_proto(im, a->t, urc_fmt("%s: attribute '%s'", where, o->name));
            if (!o->t) ok = false;
            break;
        default:
            /* Graphs (If/Loop bodies), sparse tensors and type protos: the ops
             * that take them are not supported, which is reported anyway. */
            break;
        }
    }
    return ok;
}

/* ---- value types ------------------------------------------------------------ */

/* The declared type of a graph input (urc_gb_input's read_type). */
typedef struct input_ctx {
    const Onnx__ValueInfoProto *vi;
} input_ctx;

static bool input_type(void *ctx, const char *where, urc_gb_decl *d) {
    const Onnx__TypeProto *tp = ((input_ctx *)ctx)->vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type) {
        urc_error(where, "only tensor inputs are supported");
        return false;
    }
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    urc_dtype dt = tt->has_elem_type ? (urc_dtype)tt->elem_type : URC_DT_UNDEF;
    if (!urc_dtype_supported(dt)) {
        dtype_error(where, tt->has_elem_type ? tt->elem_type : 0);
        return false;
    }
    d->dtype = dt;
    d->rank = !tt->shape ? -1 : tt->shape->n_dim > INT_MAX ? INT_MAX : (int)tt->shape->n_dim;
    for (int k = 0; k < d->rank && k < URC_MAX_RANK; k++) {
        const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[k];
        if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) d->dims[k] = dim->dim_value;
        else
            d->sym[k] = dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && dim->dim_param
                            ? dim->dim_param
                            : "?";
    }
    return true;
}

/* ---- model -------------------------------------------------------------------- */

/* The type a graph output declares; symbolic and unknown dims match any size. */
static urc_decl_type output_decl(const Onnx__ValueInfoProto *vi) {
    urc_decl_type d = {.rank = -1, .shape = ""};
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type) return d;
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    d.dtype = tt->has_elem_type ? tt->elem_type : 0;
    if (!tt->shape) return d;
    d.rank = tt->shape->n_dim > URC_MAX_RANK ? URC_MAX_RANK + 1 : (int)tt->shape->n_dim;
    urc_strbuf sb = {0};
    urc_sb_putc(&sb, '[');
    for (size_t i = 0; i < tt->shape->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[i];
        bool fixed = dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        bool named = dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && dim->dim_param &&
                     *dim->dim_param;
        if (i < URC_MAX_RANK) d.dims[i] = fixed ? dim->dim_value : -1;
        if (i) urc_sb_putc(&sb, ',');
        if (fixed) urc_sb_printf(&sb, "%lld", (long long)dim->dim_value);
        else urc_sb_puts(&sb, named ? dim->dim_param : "?");
    }
    urc_sb_putc(&sb, ']');
    d.shape = urc_strdup(sb.data);
    urc_sb_free(&sb);
    return d;
}

/* Nodes of one op type unetrc does not support (in one domain). */
typedef struct op_group {
    const char *domain, *type;
    int count;
    urc_strbuf names; /* the first few, quoted */
} op_group;

#define GROUP_NAMES 3 /* node names listed per op type */

/* Reports the unsupported ops grouped: one problem for the default domain,
 * "op type not supported: ScatterND (81 nodes: 'a', 'b', 'c', ...), LSTM
 * (1 node: 'lstm')", and one per foreign domain, types in order of first
 * appearance. A model with hundreds of such nodes gets one readable line
 * instead of as many repeats. Returns false if there are any. */
static bool report_unsupported(const Onnx__GraphProto *gp) {
    URC_VEC(op_group) groups = {0};
    URC_VEC(const char *) domains = {0};
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        const char *type = np->op_type ? np->op_type : "";
        const char *domain = np->domain && strcmp(np->domain, "ai.onnx") ? np->domain : "";
        if (!*domain && (!*type || urc_op_lookup(type) != URC_OP_COUNT || !strcmp(type, "If")))
            continue; /* supported (If: import_if), or no type at all */
        op_group *gr = NULL;
        for (int k = 0; k < groups.len && !gr; k++)
            if (!strcmp(groups.items[k].domain, domain) && !strcmp(groups.items[k].type, type)) gr = &groups.items[k];
        if (!gr) {
            bool known = false;
            for (int k = 0; k < domains.len && !known; k++) known = !strcmp(domains.items[k], domain);
            if (!known) URC_VEC_PUSH(domains, domain);
            op_group ng = {domain, type, 0, {0}};
            URC_VEC_PUSH(groups, ng);
            gr = &groups.items[groups.len - 1];
        }
        if (gr->count++ < GROUP_NAMES) {
            const char *name = np->name && *np->name ? np->name : urc_fmt("#%zu", i);
            urc_sb_printf(&gr->names, "%s'%s'", gr->count > 1 ? ", " : "", name);
        }
    }
    for (int d = 0; d < domains.len; d++) {
        urc_strbuf sb = {0};
        for (int k = 0; k < groups.len; k++) {
            op_group *gr = &groups.items[k];
            if (strcmp(gr->domain, domains.items[d])) continue;
            urc_sb_printf(&sb, "%s%s (%d node%s: %s%s)", sb.len ? ", " : "", gr->type, gr->count,
                          gr->count > 1 ? "s" : "", gr->names.data, gr->count > GROUP_NAMES ? ", ..." : "");
        }
        if (*domains.items[d]) urc_error(NULL, "op domain '%s' is not supported: %s", domains.items[d], sb.data);
        else urc_error(NULL, "op type not supported: %s", sb.data);
        urc_sb_free(&sb);
    }
    for (int k = 0; k < groups.len; k++) urc_sb_free(&groups.items[k].names);
    free(groups.items);
    free(domains.items);
    return groups.len == 0;
}

/* Below opset 11 a model is accepted when each op it uses still has the
 * definition unetrc implements (ops.def: `oldest`); any other op is reported
 * once per type, naming the version it would need. */
static bool report_old_ops(const Onnx__GraphProto *gp, int opset) {
    int count[URC_OP_COUNT] = {0};
    const char *first[URC_OP_COUNT] = {0};
    bool ok = true;
    for (size_t i = 0; opset < URC_OPSET_MIN && i < gp->n_node; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        if ((np->domain && *np->domain && strcmp(np->domain, "ai.onnx")) || !np->op_type) continue;
        urc_op op = urc_op_lookup(np->op_type);
        if (op == URC_OP_COUNT || urc_ops[op].oldest <= opset) continue;
        if (!count[op]++) first[op] = np->name && *np->name ? np->name : urc_fmt("#%zu", i);
    }
    for (int op = 0; op < URC_OP_COUNT; op++) {
        if (!count[op]) continue;
        const char *t = urc_ops[op].name;
        int v = urc_ops[op].oldest;
        urc_error(
            urc_fmt("node '%s' (%s)%s", first[op], t,
                    count[op] > 1 ? urc_fmt(" and %d more %s node%s", count[op] - 1, t, count[op] > 2 ? "s" : "") : ""),
            "%s; re-export with opset_version=17",
            v > URC_OPSET_MIN
                ? urc_fmt("%s is new in opset %d (the model imports opset %d)", t, v, opset)
                : urc_fmt("the model's opset %d predates %s-%d, the oldest version unetrc implements", opset, t, v));
        ok = false;
    }
    return ok;
}

typedef struct init_ctx {
    importer *im;
    const Onnx__TensorProto *t;
    const char *name;
} init_ctx;

static urc_tensor *load_initializer(void *ctx) {
    init_ctx *c = ctx;
    return tensor_from_proto(c->im, c->t, urc_fmt("initializer '%s'", c->name));
}

static bool import_if(importer *im, const Onnx__NodeProto *np, const char *name, bool ok);

/* The nodes of gp (the model's graph or an If branch) through the graph
 * builder; ok: nothing failed before (an If is decided only then). */
static bool import_nodes(importer *im, const Onnx__GraphProto *gp, bool ok) {
    urc_gb *b = &im->b;
    urc_graph *g = im->g;
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        const char *type = np->op_type ? np->op_type : "";
        const char *domain = np->domain ? np->domain : "";
        const char *nname = np->name && *np->name ? np->name : NULL;
        urc_op op = URC_OP_COUNT;
        if ((!*domain || !strcmp(domain, "ai.onnx")) && !strcmp(type, "If")) {
            const char *iname = nname ? nname : urc_fmt("If_%zu", i);
            if (!import_if(im, np, iname, ok)) { /* its outputs still defined, so that nothing else is reported */
                int nout = (int)np->n_output;
                urc_gb_node(b, URC_OP_COUNT, type, iname, (int)np->n_input, (const char *const *)np->input, nout,
                            (const char *const *)np->output);
                ok = false;
            }
            continue;
        }
        if (*domain && strcmp(domain, "ai.onnx")) {
            ok = false; /* reported by report_unsupported */
        } else {
            op = urc_op_lookup(type);
            if (op == URC_OP_COUNT) {
                if (!*type) urc_error(urc_fmt("node '%s' ()", nname ? nname : urc_fmt("#%zu", i)), "has no op type");
                ok = false;
            }
        }
        int nout = (int)np->n_output;
        while (nout > 0 && (!np->output[nout - 1] || !*np->output[nout - 1])) nout--;
        urc_node *n = urc_gb_node(b, op, type, nname ? urc_strdup(nname) : urc_fmt("%s_%zu", type, i), (int)np->n_input,
                                  (const char *const *)np->input, nout, (const char *const *)np->output);
        if (op == URC_OP_COUNT) continue;
        const urc_op_info *info = &urc_ops[op];
        if (g->opset < URC_OPSET_MIN && info->oldest > g->opset) { /* reported by report_old_ops */
            ok = false;
            continue;
        }
        if (!urc_gb_arity(b, n, type)) continue;
        urc_attr_list attrs;
        if (!convert_attrs(im, np, urc_gb_where(n, type), &attrs)) {
            ok = false;
            continue;
        }
        urc_gb_parse(b, n, &attrs);
    }
    return ok;
}

/* ---- If -------------------------------------------------------------------- */

/* An If whose condition shape inference and constant folding decide (torch
 * exports them for Python branches on sizes): the chosen branch's nodes are
 * imported in its place (they read outer-scope values by name), its outputs
 * become the If's through Identity nodes. A condition computed from run-time
 * data is refused: unetrc compiles straight-line graphs. */
static bool import_if(importer *im, const Onnx__NodeProto *np, const char *name, bool ok) {
    const char *where = urc_fmt("node '%s' (If)", name);
    const Onnx__GraphProto *br[2] = {NULL, NULL}; /* then, else */
    for (size_t k = 0; k < np->n_attribute; k++) {
        const Onnx__AttributeProto *a = np->attribute[k];
        const char *an = a->name ? a->name : "";
        int which = !strcmp(an, "then_branch") ? 0 : !strcmp(an, "else_branch") ? 1 : -1;
        if (which < 0 || !a->g) {
            urc_error(where, which < 0 ? "attribute '%s' is not supported" : "attribute '%s' holds no graph", an);
            return false;
        }
        br[which] = a->g;
    }
    if (!br[0] || !br[1] || np->n_input != 1 || !np->input[0] || !*np->input[0]) {
        urc_error(where, "needs one condition input and the attributes then_branch and else_branch");
        return false;
    }
    for (int k = 0; k < 2; k++)
        if (br[k]->n_output != np->n_output) {
            urc_error(where, "its %s branch has %zu output%s for the node's %zu", k ? "else" : "then", br[k]->n_output,
                      br[k]->n_output == 1 ? "" : "s", np->n_output);
            return false;
        }
    if (!ok || !im->b.ok) return false; /* earlier problems: the condition cannot be decided */
    const char *cname = np->input[0];
    urc_value *cond = urc_graph_find(im->g, cname);
    if (!cond) {
        urc_error(where, "its condition '%s' is not produced by any node", cname);
        return false;
    }
    const urc_value *leaf = NULL;
    int errors = urc_error_count();
    if (!urc_fold_now(cond, im->max_bytes, &leaf)) {
        if (urc_error_count() > errors) return false; /* inference reported why */
        urc_error(where,
                  "its condition '%s' is computed from run-time data%s; unetrc compiles an If only when shape "
                  "inference and constant folding decide it",
                  cname,
                  leaf ? urc_fmt(" (%s '%s')", leaf->flags & URC_VAL_PARAM ? "parameter" : "input", leaf->name) : "");
        return false;
    }
    if (urc_shape_numel(&cond->shape) != 1) {
        urc_error(where, "its condition '%s' has %lld elements, not one", cname,
                  (long long)urc_shape_numel(&cond->shape));
        return false;
    }
    const urc_tensor t = urc_value_tensor(cond);
    const Onnx__GraphProto *gp = br[urc_elem_f64(t.dtype, t.data, 0) != 0 ? 0 : 1];
    if (urc_verbose) urc_note("%s: the condition is %s", where, gp == br[0] ? "true" : "false");
    bool bok = report_unsupported(gp) && report_old_ops(gp, im->g->opset);
    if (gp->n_sparse_initializer) {
        urc_error(where, "sparse initializers are not supported");
        bok = false;
    }
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *it = gp->initializer[i];
        init_ctx c = {im, it, it->name ? it->name : ""};
        if (!*c.name) {
            urc_error(where, "a branch initializer has no name");
            bok = false;
            continue;
        }
        urc_gb_constant(&im->b, c.name, load_initializer(&c));
    }
    if (!import_nodes(im, gp, bok) || !bok) return false;
    for (size_t k = 0; k < np->n_output; k++) {
        const char *in = gp->output[k]->name ? gp->output[k]->name : "", *out = np->output[k];
        if (!out || !*out) continue;
        urc_node *n = urc_gb_node(&im->b, URC_OP_IDENTITY, "Identity", urc_fmt("%s.out%zu", name, k), 1, &in, 1, &out);
        if (!urc_gb_arity(&im->b, n, "Identity")) return false;
        urc_attr_list none = {0};
        none.where = urc_gb_where(n, "Identity");
        if (!urc_gb_parse(&im->b, n, &none)) return false;
    }
    return true;
}

/* The graph through the graph builder, which applies the policy (trainable
 * parameters, pins, frozen inputs, arity, unused attributes). */
static bool import_graph(importer *im, const Onnx__GraphProto *gp) {
    urc_gb *b = &im->b;
    urc_graph *g = im->g;
    bool ok = true;
    g->name = urc_strdup(gp->name ? gp->name : "");
    if (gp->n_sparse_initializer) {
        urc_error("graph", "sparse initializers are not supported");
        ok = false;
    }
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *t = gp->initializer[i];
        init_ctx c = {im, t, t->name ? t->name : ""};
        if (!*c.name) {
            urc_error("graph", "initializer %zu has no name", i);
            ok = false;
            continue;
        }
        urc_gb_initializer(b, c.name, load_initializer, &c);
    }
    /* Inputs (names that are also initializers are constants). */
    for (size_t i = 0; i < gp->n_input; i++) {
        input_ctx c = {gp->input[i]};
        const char *name = c.vi->name ? c.vi->name : "";
        if (!*name) {
            urc_error("graph", "input %zu has no name", i);
            ok = false;
            continue;
        }
        urc_gb_input(b, name, input_type, &c);
    }
    urc_gb_end_inputs(b);
    /* Nodes. */
    if (!report_unsupported(gp)) ok = false;
    if (!report_old_ops(gp, g->opset)) ok = false;
    if (!import_nodes(im, gp, ok)) ok = false;
    for (size_t i = 0; i < gp->n_output; i++) {
        const char *name = gp->output[i]->name ? gp->output[i]->name : "";
        urc_decl_type d = output_decl(gp->output[i]);
        urc_gb_output(b, name, &d);
    }
    return urc_gb_finish(b) && ok;
}

/* protobuf-c unpacks nested messages recursively, without a depth limit: a
 * 250 kB file of subgraphs nested 20000 deep overflows the stack. Before
 * unpacking, the wire format is walked with the message descriptors (a
 * length-delimited field is entered only when it is a message) and more
 * than URC_PROTO_MAX_DEPTH levels are refused. Malformed data is left to
 * protobuf-c to reject. The walk itself recurses at most that deep. */
#define URC_PROTO_MAX_DEPTH 64

static bool read_varint(const uint8_t *p, size_t n, size_t *i, uint64_t *v) {
    *v = 0;
    for (int shift = 0; shift < 64 && *i < n; shift += 7) {
        uint8_t b = p[(*i)++];
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return true;
    }
    return false;
}

static bool proto_depth_ok(const uint8_t *p, size_t n, const ProtobufCMessageDescriptor *d, int depth) {
    if (depth > URC_PROTO_MAX_DEPTH) return false;
    size_t i = 0;
    while (i < n) {
        uint64_t key, len;
        if (!read_varint(p, n, &i, &key)) return true;
        switch (key & 7) {
        case 0:
            if (!read_varint(p, n, &i, &len)) return true;
            break;
        case 1:
            if (n - i < 8) return true;
            i += 8;
            break;
        case 5:
            if (n - i < 4) return true;
            i += 4;
            break;
        case 2: {
            if (!read_varint(p, n, &i, &len) || len > n - i) return true;
            const ProtobufCFieldDescriptor *f =
                key >> 3 <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3)) : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
                !proto_depth_ok(p + i, (size_t)len, f->descriptor, depth + 1))
                return false;
            i += (size_t)len;
            break;
        }
        default: return true; /* groups or garbage: protobuf-c decides */
        }
    }
    return true;
}

static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return urc_strdup(".");
    if (slash == path) return urc_strdup("/");
    return urc_strndup(path, (size_t)(slash - path));
}

urc_graph *urc_onnx_load(const char *path, const urc_import_opts *opts) {
    size_t size;
    void *buf = urc_gb_read_file(NULL, path, &size, opts->max_bytes);
    if (!buf) return NULL;
    if (size == 0) {
        free(buf);
        urc_error(NULL, "empty file (not an ONNX model)");
        return NULL;
    }
    if (!proto_depth_ok(buf, size, &onnx__model_proto__descriptor, 0)) {
        free(buf);
        urc_error(NULL, "not a valid ONNX model (protobuf messages nested more than %d deep)", URC_PROTO_MAX_DEPTH);
        return NULL;
    }
    Onnx__ModelProto *m = onnx__model_proto__unpack(&pb_allocator, size, buf);
    if (!m) {
        free(buf);
        urc_error(NULL, "not a valid ONNX model (protobuf decoding failed)");
        return NULL;
    }
    importer im = {.model_dir = dir_of(path), .opts = opts, .max_bytes = opts->max_bytes};
    urc_gb_begin(&im.b, opts);
    urc_graph *g = im.g = im.b.g;
    g->hash = urc_fnv1a64(buf, size, URC_FNV_INIT);
    free(buf);
    bool ok = true;
    g->ir_version = m->has_ir_version && m->ir_version >= 0 && m->ir_version <= INT_MAX ? (int)m->ir_version : 0;
    g->producer =
        urc_fmt("%s %s", m->producer_name ? m->producer_name : "", m->producer_version ? m->producer_version : "");
    im.torch_export = m->producer_name && !strcmp(m->producer_name, "pytorch");
    if (!m->graph) {
        urc_error(NULL, "the model has no graph");
        ok = false;
    }
    if (m->n_functions) {
        urc_error(NULL, "model-local functions are not supported (export with the TorchScript exporter, dynamo=False)");
        ok = false;
    }
    /* The default-domain opset, imported once, range-checked as int64
     * (a version above INT_MAX must not wrap into the supported range). */
    int opset = 0, nimports = 0;
    int64_t version = 0;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        const char *d = o->domain ? o->domain : "";
        if (*d && strcmp(d, "ai.onnx")) continue;
        int64_t v = o->has_version ? o->version : 0;
        if (nimports++ && v != version && ok) {
            urc_error(NULL, "the model imports the default ONNX opset twice (versions %lld and %lld)",
                      (long long)version, (long long)v);
            ok = false;
        }
        version = v;
    }
    /* Below opset 11, each node is checked against its op's history instead (import_graph). */
    if (ok && version != 0 && (version < 1 || version > URC_OPSET_MAX)) {
        urc_error(NULL, "opset %lld is not supported (supported: 1 to %d); re-export with opset_version=17",
                  (long long)version, URC_OPSET_MAX);
        ok = false;
    }
    if (ok) opset = (int)version;
    if (ok && !opset) {
        urc_error(NULL, "the model imports no version of the default ONNX opset");
        ok = false;
    }
    g->opset = opset;
    if (ok) ok = import_graph(&im, m->graph);
    onnx__model_proto__free_unpacked(m, &pb_allocator);
    if (!ok) return NULL;
    return g;
}

urc_tensor *urc_onnx_load_tensor(const char *path, uint64_t max_bytes) {
    size_t size;
    void *buf = urc_gb_read_file(NULL, path, &size, max_bytes);
    if (!buf) return NULL;
    Onnx__TensorProto *t = proto_depth_ok(buf, size, &onnx__tensor_proto__descriptor, 0)
                               ? onnx__tensor_proto__unpack(&pb_allocator, size, buf)
                               : NULL;
    free(buf);
    if (!t) {
        urc_error(NULL, "not a valid TensorProto");
        return NULL;
    }
    importer im = {.max_bytes = max_bytes};
    urc_tensor *r = tensor_from_proto(&im, t, "tensor");
    onnx__tensor_proto__free_unpacked(t, &pb_allocator);
    return r;
}
