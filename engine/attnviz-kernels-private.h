/* attnviz-kernels-private.h: the exponential kernels' two builds, for
 * the tests
 *
 * attnviz-kernels-exp.c computes e^x one way (range reduction and a
 * polynomial with fused multiply-adds) in two builds: AVX2 + FMA, eight
 * floats at a time, and a plain scalar one (fmaf) for any other machine.
 * Both give the same bits for every input; the engine takes the first the
 * machine runs.  The tests call each build directly.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  const char *name;         /* "avx2-fma" or "scalar" */
  /* X[i] = e^(X[i] - SHIFT) over X[0..N); returns their sum in double. */
  double (*exp_shifted) (float *x, gsize n, float shift);
  /* The sum of e^(X[i] - SHIFT) over X[0..N), nothing stored. */
  double (*sum_exp_shifted) (const float *x, gsize n, float shift);
  /* GPT-2's tanh GELU over X[0..N), in place. */
  void (*gelu_tanh) (float *x, gsize n);
  /* SiLU over X[0..N), in place. */
  void (*silu) (float *x, gsize n);
} AttnvizExpKernels;

/* The scalar build: runs anywhere. */
const AttnvizExpKernels *_attnviz_exp_kernels_scalar (void);
/* The AVX2 + FMA build, or NULL when this machine (or compiler) has none. */
const AttnvizExpKernels *_attnviz_exp_kernels_avx2 (void);
/* The build the engine uses: the AVX2 one where the machine has it. */
const AttnvizExpKernels *_attnviz_exp_kernels (void);

/* e^x for one float, as every build computes it (within 2 ulp of e^x;
 * e^-inf = 0, e^+inf = +inf, NaN stays NaN; overflow to +inf above
 * 88.72, results below 2^-126 subnormal, 0 below -103.98). */
float _attnviz_expf (float x);

G_END_DECLS
