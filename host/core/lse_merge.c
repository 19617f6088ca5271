/* The online-softmax merge of two partial attention results, in double per row. */
#include "lse_merge.h"

#include <math.h>
#include <string.h>

static void merge_row(size_t dv, float *acc_o, float *acc_lse, const float *part_o,
                      float part_lse) {
    const float a = *acc_lse;
    if (isnan(a) || isnan(part_lse)) {
        *acc_lse = NAN;
        for (size_t c = 0; c < dv; c++)
            acc_o[c] = NAN;
        return;
    }
    if (part_lse == -INFINITY) return;
    if (a == -INFINITY) {
        memcpy(acc_o, part_o, dv * sizeof *acc_o);
        *acc_lse = part_lse;
        return;
    }
    /* The larger side gets weight 1 and the other exp(-|difference|) <= 1: nothing overflows. */
    const double top = a > part_lse ? a : part_lse;
    const double wa = exp((double)a - top), wp = exp((double)part_lse - top);
    const double sum = wa + wp;
    for (size_t c = 0; c < dv; c++)
        acc_o[c] = (float)((wa * acc_o[c] + wp * part_o[c]) / sum);
    *acc_lse = (float)(top + log(sum));
}

void clattn__lse_merge_into(size_t rows, size_t dv, float *acc_o, float *acc_lse,
                            const float *part_o, const float *part_lse) {
    for (size_t r = 0; r < rows; r++)
        merge_row(dv, acc_o + r * dv, acc_lse + r, part_o + r * dv, part_lse[r]);
}
