/* optim.c: the optimizer update ops of training steps (never read from a
 * model; built by autodiff/training.c). They follow PyTorch:
 *   AdamW (torch.optim.AdamW): p *= 1 - lr wd;  m = b1 m + (1 - b1) g;
 *     v = b2 v + (1 - b2) g^2;  p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 *   SGD (torch.optim.SGD, dampening 0, not Nesterov): g += wd p;
 *     buf = g at step 1, else momentum buf + g;  p -= lr buf  (buf = g without momentum)
 * t is the step number (1 for the first step), lr a run-time scalar. The
 * outputs overwrite p and its state in place (urc_value.updates). */
#include "common.h"

static bool optim_infer(urc_node *n) {
    const char *where = urc_node_where(n);
    const urc_value *p = n->in[0];
    int nstate = n->op == URC_OP_ADAMW ? 2 : 1;
    if (!urc_check_dtype(n, 0, URC_DTM_FLOAT) || !urc_reject_half(n, 0)) return false;
    for (int j = 1; j <= 1 + nstate; j++)
        if (!n->in[j] || n->in[j]->dtype != p->dtype || !urc_shape_eq(&n->in[j]->shape, &p->shape)) {
            urc_error(where, "input %d must be %s%s like the parameter", j, urc_dtype_name(p->dtype),
                      urc_shape_str(&p->shape));
            return false;
        }
    for (int j = 2 + nstate; j < n->nin; j++)
        if (!n->in[j] || !urc_dtype_is_float(n->in[j]->dtype) || urc_shape_numel(&n->in[j]->shape) != 1) {
            urc_error(where, "input %d (step or learning rate) must be a one-element float", j);
            return false;
        }
    for (int j = 0; j < n->nout; j++) urc_set_out(n, j, p->dtype, &p->shape);
    return true;
}

static bool optim_eval(const urc_node *n, urc_tensor *const *in, urc_tensor *const *out) {
    const urc_optim_attr *a = &n->a.optim;
    int64_t ne = urc_tensor_numel(in[0]);
    bool adam = n->op == URC_OP_ADAMW;
    int si = adam ? 4 : 3;
    double t = urc_elem_f64(in[si]->dtype, in[si]->data, 0), lr = urc_elem_f64(in[si + 1]->dtype, in[si + 1]->data, 0);
    urc_dtype dt = in[0]->dtype;
    for (int64_t i = 0; i < ne; i++) {
        double p = urc_elem_f64(dt, in[0]->data, i), g = urc_elem_f64(dt, in[1]->data, i);
        if (adam) {
            double m = urc_elem_f64(dt, in[2]->data, i), v = urc_elem_f64(dt, in[3]->data, i);
            p *= 1 - lr * a->weight_decay;
            m = a->beta1 * m + (1 - a->beta1) * g;
            v = a->beta2 * v + (1 - a->beta2) * g * g;
            double mh = m / (1 - pow(a->beta1, t)), vh = v / (1 - pow(a->beta2, t));
            p -= lr * mh / (sqrt(vh) + a->eps);
            if (out[1]) urc_elem_set_f64(dt, out[1]->data, i, m);
            if (out[2]) urc_elem_set_f64(dt, out[2]->data, i, v);
        } else {
            double b = urc_elem_f64(dt, in[2]->data, i);
            g += a->weight_decay * p;
            b = (a->momentum == 0 || t <= 1) ? g : a->momentum * b + g;
            p -= lr * b;
            if (out[1]) urc_elem_set_f64(dt, out[1]->data, i, b);
        }
        urc_elem_set_f64(dt, out[0]->data, i, p);
    }
    return true;
}

/* One flat loop over the parameter; the bias corrections are computed once
 * per call from the step. */
static bool optim_lower(urc_lower *L, const urc_node *n) {
    const urc_optim_attr *a = &n->a.optim;
    bool adam = n->op == URC_OP_ADAMW;
    urc_kernel *k = urc_lower_begin(L, n);
    urc_dtype dt = n->in[0]->dtype;
    static const char *in_names[] = {"p", "g", "m", "v"};
    static const char *sgd_names[] = {"p", "g", "buf"};
    int nb = adam ? 4 : 3, b[4];
    for (int j = 0; j < nb; j++) b[j] = urc_lower_in(L, k, n->in[j], adam ? in_names[j] : sgd_names[j]);
    int o[3];
    for (int j = 0; j < n->nout; j++)
        o[j] = n->out[j]
                   ? urc_lower_out(L, k, n->out[j], adam ? in_names[j == 0 ? 0 : j + 1] : sgd_names[j == 0 ? 0 : 2])
                   : -1;
    urc_lx *t = urc_lx_cast(URC_DT_F64, urc_lower_load(L, k, n->in[nb], urc_lx_int(0)));
    urc_lx *lr = urc_lx_cast(dt, urc_lower_load(L, k, n->in[nb + 1], urc_lx_int(0)));
    int vlr = urc_kernel_var(k, "lr", dt);
    urc_ls_decl(k->body, vlr, lr);
    urc_lx *LR = urc_lx_var(k, vlr);
    int vc1 = -1, vc2 = -1, vfirst = -1;
    if (adam) { /* 1 / (1 - b^t) in double, then float */
        vc1 = urc_kernel_var(k, "c1", dt);
        vc2 = urc_kernel_var(k, "c2", dt);
        urc_lx *one = urc_lx_flt(1, URC_DT_F64);
        urc_ls_decl(
            k->body, vc1,
            urc_lx_cast(dt, urc_lx_bin(URC_L_DIV, one,
                                       urc_lx_bin(URC_L_SUB, one,
                                                  urc_lx_bin(URC_L_POW, urc_lx_flt(a->beta1, URC_DT_F64), t)))));
        urc_ls_decl(
            k->body, vc2,
            urc_lx_cast(dt, urc_lx_bin(URC_L_DIV, one,
                                       urc_lx_bin(URC_L_SUB, one,
                                                  urc_lx_bin(URC_L_POW, urc_lx_flt(a->beta2, URC_DT_F64), t)))));
    } else {
        vfirst = urc_kernel_var(k, "first", URC_DT_BOOL);
        urc_ls_decl(k->body, vfirst, urc_lx_bin(URC_L_LE, t, urc_lx_flt(1, URC_DT_F64)));
    }
    urc_lx *i;
    urc_ls *body = urc_flat_loop(k, &n->in[0]->shape, &i);
#define F(v) urc_lx_flt(v, dt)
#define BIN(op, x, y) urc_lx_bin(URC_L_##op, x, y)
    urc_lx *p = urc_lx_load(k, b[0], i), *g = urc_lx_load(k, b[1], i);
    if (adam) {
        int vm = urc_kernel_var(k, "mi", dt), vv = urc_kernel_var(k, "vi", dt), vg = urc_kernel_var(k, "gi", dt);
        urc_ls_decl(body, vg, g);
        urc_lx *G = urc_lx_var(k, vg);
        urc_ls_decl(body, vm, BIN(ADD, BIN(MUL, F(a->beta1), urc_lx_load(k, b[2], i)), BIN(MUL, F(1 - a->beta1), G)));
        urc_ls_decl(
            body, vv,
            BIN(ADD, BIN(MUL, F(a->beta2), urc_lx_load(k, b[3], i)), BIN(MUL, F(1 - a->beta2), BIN(MUL, G, G))));
        urc_lx *M = urc_lx_var(k, vm), *V = urc_lx_var(k, vv);
        urc_lx *decayed = BIN(MUL, p, BIN(SUB, F(1), BIN(MUL, LR, F(a->weight_decay))));
        urc_lx *step = BIN(DIV, BIN(MUL, M, urc_lx_var(k, vc1)),
                           BIN(ADD, urc_lx_un(URC_L_SQRT, BIN(MUL, V, urc_lx_var(k, vc2))), F(a->eps)));
        urc_ls_store(body, o[0], i, BIN(SUB, decayed, BIN(MUL, LR, step)));
        if (o[1] >= 0) urc_ls_store(body, o[1], i, M);
        if (o[2] >= 0) urc_ls_store(body, o[2], i, V);
    } else {
        int vg = urc_kernel_var(k, "gi", dt), vb = urc_kernel_var(k, "bi", dt);
        urc_ls_decl(body, vg, a->weight_decay ? BIN(ADD, g, BIN(MUL, F(a->weight_decay), p)) : g);
        urc_lx *G = urc_lx_var(k, vg);
        urc_lx *buf = a->momentum == 0 ? G
                                       : urc_lx_sel(urc_lx_var(k, vfirst), G,
                                                    BIN(ADD, BIN(MUL, F(a->momentum), urc_lx_load(k, b[2], i)), G));
        urc_ls_decl(body, vb, buf);
        urc_ls_store(body, o[0], i, BIN(SUB, urc_lx_load(k, b[0], i), BIN(MUL, LR, urc_lx_var(k, vb))));
        if (o[1] >= 0) urc_ls_store(body, o[1], i, urc_lx_var(k, vb));
    }
#undef F
#undef BIN
    return true;
}

static void optim_print(const urc_node *n, urc_strbuf *sb) {
    const urc_optim_attr *a = &n->a.optim;
    if (n->op == URC_OP_ADAMW)
        urc_sb_printf(sb, " betas=(%g,%g) eps=%g weight_decay=%g", a->beta1, a->beta2, a->eps, a->weight_decay);
    else urc_sb_printf(sb, " momentum=%g weight_decay=%g", a->momentum, a->weight_decay);
}

const urc_op_impl urc_impl_optim = {NULL, optim_infer, optim_eval, optim_lower, optim_print, .signature_lower = false};
