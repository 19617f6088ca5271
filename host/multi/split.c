/* Row and key splitting of one attention problem, with exact causal masking per piece. */
#include "split.h"

#include <stdlib.h>
#include <string.h>

/* Row i sees key j when j <= i + shift: 0 top-left, N - M bottom-right. */
static long long causal_shift(const clattn_attention_desc *desc) {
    return desc->causal == CLATTN_CAUSAL_BOTTOM_RIGHT ? (long long)desc->n - (long long)desc->m : 0;
}

static long long clamp_ll(long long x, long long lo, long long hi) {
    return x < lo ? lo : x > hi ? hi : x;
}

clattn_split_axis clattn__split_axis(const clattn_attention_desc *desc) {
    if (desc->norm == CLATTN_NORM_SUM) return CLATTN_SPLIT_ROWS;
    const char *env = getenv("CLATTN_MULTI_SPLIT");
    if (env && strcmp(env, "rows") == 0) return CLATTN_SPLIT_ROWS;
    if (env && strcmp(env, "keys") == 0) return CLATTN_SPLIT_KEYS;
    /* A rows split sends every device the K and V it needs; a keys split sends every device all
     * of Q and brings back a partial O and LSE each. */
    const double q_side = (double)desc->q_heads * desc->m * (desc->d + desc->dv + 1);
    const double kv_side = (double)desc->kv_heads * desc->n * (desc->d + desc->dv);
    return q_side < kv_side ? CLATTN_SPLIT_KEYS : CLATTN_SPLIT_ROWS;
}

/* Work of one unit of the axis: the keys a row attends, or the rows that attend a key (+1: the
 * per-row or per-key cost of reading it even when little is attended). */
static double unit_work(const clattn_attention_desc *desc, clattn_split_axis axis, size_t i) {
    const long long m = (long long)desc->m, n = (long long)desc->n, s = causal_shift(desc);
    if (desc->causal == CLATTN_CAUSAL_NONE)
        return 1.0 + (double)(axis == CLATTN_SPLIT_ROWS ? n : m);
    if (axis == CLATTN_SPLIT_ROWS) return 1.0 + (double)clamp_ll((long long)i + s + 1, 0, n);
    return 1.0 + (double)(m - clamp_ll((long long)i - s, 0, m));
}

void clattn__split_bounds(const clattn_attention_desc *desc, clattn_split_axis axis, size_t count,
                          const double *weights, size_t *bounds) {
    const size_t length = axis == CLATTN_SPLIT_ROWS ? desc->m : desc->n;
    double total_weight = 0, total_work = 0;
    for (size_t d = 0; d < count; d++)
        total_weight += weights[d];
    for (size_t i = 0; i < length; i++)
        total_work += unit_work(desc, axis, i);
    size_t last = 0; /* the last device with a positive weight takes the rounding remainder */
    for (size_t d = 0; d < count; d++)
        if (weights[d] > 0) last = d;
    bounds[0] = 0;
    double cumulative_weight = 0, work = 0;
    size_t i = 0;
    for (size_t d = 0; d < count; d++) {
        cumulative_weight += weights[d];
        const double target = total_work * (cumulative_weight / total_weight);
        if (d >= last) {
            i = length;
        } else if (weights[d] > 0) {
            /* Advance while taking the next unit brings the work closer to the target. */
            while (i < length) {
                const double next = work + unit_work(desc, axis, i);
                if (next - target > target - work) break;
                work = next;
                i++;
            }
        }
        bounds[d + 1] = i;
    }
}

size_t clattn__split_pieces(const clattn_attention_desc *desc, size_t row0, size_t row1,
                            size_t key0, size_t key1, clattn_attention_piece out[2]) {
    if (row0 >= row1 || key0 >= key1) return 0;
    if (desc->causal == CLATTN_CAUSAL_NONE) {
        out[0] = (clattn_attention_piece){row0, row1 - row0, key0, key1 - key0, CLATTN_CAUSAL_NONE};
        return 1;
    }
    const long long s = causal_shift(desc), r0 = (long long)row0, r1 = (long long)row1;
    const long long k0 = (long long)key0, k1 = (long long)key1;
    /* Rows before `first` see no key of the range; rows from `full` on see all of them. */
    const long long first = clamp_ll(k0 - s, r0, r1);
    const long long full = clamp_ll(k1 - 1 - s, first, r1);
    size_t count = 0;
    if (first < full) {
        /* Row i of the band sees keys k0 .. i + s; the band's last row sees full - 1 + s - k0 + 1
         * of them, and bottom-right alignment of the band's rows against those keys gives
         * local key jj <= (i - first) + keys - (full - first) = i + s - k0: exact. */
        out[count++] =
            (clattn_attention_piece){(size_t)first, (size_t)(full - first), key0,
                                     (size_t)(full + s - k0), CLATTN_CAUSAL_BOTTOM_RIGHT};
    }
    if (full < r1)
        out[count++] = (clattn_attention_piece){(size_t)full, (size_t)(r1 - full), key0,
                                                key1 - key0, CLATTN_CAUSAL_NONE};
    return count;
}
