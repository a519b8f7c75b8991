#define G_LOG_DOMAIN "attnviz-quant"
#include "config.h"

/* The quantizers `attnviz convert` writes with: float32 rows into F32, F16,
 * BF16, Q8_0, Q4_0 and Q4_K blocks, in exactly the layouts of
 * attnviz-quant.h (the layouts llama.cpp reads).
 *
 * F16, BF16, Q8_0 and Q4_0 make the same bytes as llama.cpp's reference
 * quantizers (the tests compare them with gguf-py's and with llama.cpp's own
 * files).  Q4_K chooses its scales its own way, by least weighted squared
 * error with a guarantee on the largest error; see quantize_q4_k below.
 */

#include <math.h>

#include "attnviz-quant-private.h"
#include "attnviz-safetensors.h"

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define QK 32
#define QK_K 256

static inline void
store_u16 (guint8 *p, guint16 v)
{
  p[0] = (guint8) v;
  p[1] = (guint8) (v >> 8);
}

static inline int
clamp_int (int v, int lo, int hi)
{
  return v < lo ? lo : v > hi ? hi : v;
}

void
_attnviz_quantize_f32 (const float *src, guint8 *dst, gint64 n_blocks)
{
  for (gint64 i = 0; i < n_blocks; i++)
    {
      guint32 bits = attnviz_quant_float_to_bits (src[i]);
      for (int k = 0; k < 4; k++)
        dst[4 * i + k] = (guint8) (bits >> (8 * k));
    }
}

/* Round to nearest even; inf stays inf, NaN a quiet NaN. */
void
_attnviz_quantize_f16 (const float *src, guint8 *dst, gint64 n_blocks)
{
  for (gint64 i = 0; i < n_blocks; i++)
    store_u16 (dst + 2 * i, attnviz_f32_to_f16 (src[i]));
}

/* The top 16 bits of the float32, rounded to nearest even (a carry out of
 * the mantissa goes into the exponent, up to inf as it should); a NaN keeps
 * its sign and top payload bits and gets the quiet bit, so it cannot round
 * into inf. */
void
_attnviz_quantize_bf16 (const float *src, guint8 *dst, gint64 n_blocks)
{
  for (gint64 i = 0; i < n_blocks; i++)
    {
      guint32 bits = attnviz_quant_float_to_bits (src[i]);
      guint16 h;
      if ((bits & 0x7fffffff) > 0x7f800000)
        h = (guint16) ((bits >> 16) | 0x0040);
      else
        h = (guint16) ((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
      store_u16 (dst + 2 * i, h);
    }
}

/* d = max |x| / 127 (stored as f16), q = x / d rounded half away from
 * zero, computed as x * (1 / d) in float as llama.cpp does. */
void
_attnviz_quantize_q8_0 (const float *src, guint8 *dst, gint64 n_blocks)
{
  for (gint64 b = 0; b < n_blocks; b++, src += QK, dst += 34)
    {
      float amax = 0.0f;
      for (int j = 0; j < QK; j++)
        amax = fmaxf (amax, fabsf (src[j]));
      float d = amax / 127.0f;
      float id = d != 0.0f ? 1.0f / d : 0.0f;
      store_u16 (dst, attnviz_f32_to_f16 (d));
      for (int j = 0; j < QK; j++)
        dst[2 + j] = (guint8) (gint8) roundf (src[j] * id);
    }
}

/* d = -m / 8 for the value m of largest magnitude (the first one when
 * several tie), so m itself is level 0 and exact; q = trunc (x / d + 8.5)
 * clamped to 15 (x / d reaches 8 at -m, one level past the top). */
void
_attnviz_quantize_q4_0 (const float *src, guint8 *dst, gint64 n_blocks)
{
  for (gint64 b = 0; b < n_blocks; b++, src += QK, dst += 18)
    {
      float amax = 0.0f, max = 0.0f;
      for (int j = 0; j < QK; j++)
        if (fabsf (src[j]) > amax)
          {
            amax = fabsf (src[j]);
            max = src[j];
          }
      float d = max / -8.0f;
      float id = d != 0.0f ? 1.0f / d : 0.0f;
      store_u16 (dst, attnviz_f32_to_f16 (d));
      for (int j = 0; j < QK / 2; j++)
        {
          int q0 = clamp_int ((int) (src[j] * id + 8.5f), 0, 15);
          int q1 = clamp_int ((int) (src[j + QK / 2] * id + 8.5f), 0, 15);
          dst[2 + j] = (guint8) (q0 | (q1 << 4));
        }
    }
}

/* ---- Q4_K ---------------------------------------------------------------
 *
 * A super-block of 256 values is 8 sub-blocks of 32, each with its own grid
 * x' = s * q - mu (q in 0..15, s >= 0, mu >= 0: the stored min is
 * unsigned, so the grid always reaches down to 0 or below).
 *
 * 1. Each sub-block gets the (s, mu) of least weighted squared error, with
 *    weights |x| + rms(x) as llama.cpp uses (large values matter more),
 *    among grids that cover the data [lo, hi] (lo = min (min x, 0)) to
 *    within half a step at each end: mu + s/2 >= -lo, 15s - mu + s/2 >= hi.
 *    The candidates: the min-max grid (s = (hi - lo) / 15, mu = -lo, always
 *    allowed), then for each of 21 level counts 14.0 .. 16.0 spanning
 *    [lo, hi], the least-squares (s, mu) for those levels.  The best one is
 *    refined by alternating nearest levels and least squares (neither step
 *    can raise the error).  So before step 2 every |x - x'| <= s/2.
 * 2. The super-block stores d = max s / 63 and dmin = max mu / 63 as f16,
 *    each sub-block sc = s / d and m = mu / dmin rounded to 6 bits against
 *    the stored (f16) d and dmin, so |d*sc - s| <= d/2 and
 *    |dmin*m - mu| <= dmin/2, up to the f16 rounding of d and dmin (63
 *    times half an f16 ulp, which also covers the clamp to 63 and a d
 *    that rounded to 0): call these eD and eM.
 * 3. Every value takes the nearest level of its sub-block's stored grid.
 *
 * Hence, with D = d*sc and M = dmin*m, inside the grid |x - x'| <= D/2,
 * past its top at most s/2 + 15 |D - s| + |M - mu|, below its bottom at
 * most s/2 + |M - mu|: |x - x'| <= D/2 + 15.5 eD + eM, the bound
 * tests/test-quantize.c checks.  Step 2 then also tries the neighbouring
 * 6-bit values (one down or up for sc and for m) and keeps a pair that
 * lowers the weighted squared error only when its largest error still
 * keeps to that bound for its own D.  On llama.cpp's test model this gives
 * about 1% less RMS error than llama.cpp's Q4_K, and a smaller largest
 * error (tests/test-quant-gguf.c).
 */

#define Q4_K_TOP 15  /* the highest level */

static inline float
min_f (float a, float b)
{
  return b < a ? b : a;
}

static inline float
max_f (float a, float b)
{
  return b > a ? b : a;
}

/* V rounded to the nearest level 0..15 (ties to even, as rintf).  V is
 * first clamped to [-1, 16], where adding and taking away 1.5 * 2^23
 * rounds exactly in float; NaN becomes level 0.  Unlike rintf this needs
 * no SSE4.1 and no libm call, so the loops around it vectorize. */
static inline int
nearest_level (float v)
{
  float t = v > -1.0f ? (v < 16.0f ? v : 16.0f) : -1.0f;
  int q = (int) ((t + 0x1.8p23f) - 0x1.8p23f);
  return clamp_int (q, 0, Q4_K_TOP);
}

/* Weighted squared error of X[0..32) against its nearest levels of the
 * grid (S, MU), which go into L. */
static inline double
grid_error (const float *x, const float *w, float s, float mu, guint8 *l)
{
  float inv = s > 0.0f ? 1.0f / s : 0.0f;
  double err = 0.0;
  for (int i = 0; i < 32; i++)
    {
      int q = nearest_level ((x[i] + mu) * inv);
      float diff = s * (float) q - mu - x[i];
      err += (double) (w[i] * diff * diff);
      l[i] = (guint8) q;
    }
  return err;
}

/* The (S, MU) of least weighted squared error for the levels L, with
 * MU >= 0; FALSE when the levels do not determine a positive step. */
static inline gboolean
fit_levels (const float *x, const float *w, const guint8 *l, float *s, float *mu)
{
  double sw = 0, swl = 0, swll = 0, swx = 0, swlx = 0;
  for (int i = 0; i < 32; i++)
    {
      double wi = w[i], li = l[i], xi = x[i];
      sw += wi;
      swl += wi * li;
      swll += wi * li * li;
      swx += wi * xi;
      swlx += wi * li * xi;
    }
  double det = sw * swll - swl * swl;
  if (!(det > 0.0))
    return FALSE;
  /* x ~ a * l + b: the normal equations. */
  double a = (sw * swlx - swl * swx) / det;
  double b = (swll * swx - swl * swlx) / det;
  if (b > 0.0)  /* the grid must start at or below 0: best a with b = 0 */
    {
      b = 0.0;
      a = swlx / swll;
    }
  if (!(a > 0.0))
    return FALSE;
  *s = (float) a;
  *mu = (float) -b;
  return TRUE;
}

static inline gboolean
grid_covers (float lo, float hi, float s, float mu)
{
  return mu + 0.5f * s >= -lo && (float) Q4_K_TOP * s - mu + 0.5f * s >= hi;
}

/* The weights of step 1 for the 32 values X. */
static inline void
sub_block_weights (const float *x, float *w)
{
  float sum_x2 = 0.0f;
  for (int i = 0; i < 32; i++)
    sum_x2 += x[i] * x[i];
  float rms = sqrtf (sum_x2 / 32.0f);
  for (int i = 0; i < 32; i++)
    w[i] = rms + fabsf (x[i]);
}

/* Step 1 above for the 32 values X with weights W: returns s, *MU gets mu. */
static inline float
choose_sub_block_grid (const float *x, const float *w, float *mu_out)
{
  float lo = x[0], hi = x[0];
  for (int i = 0; i < 32; i++)
    {
      lo = min_f (lo, x[i]);
      hi = max_f (hi, x[i]);
    }
  lo = min_f (lo, 0.0f);
  if (hi <= lo)  /* every value is lo <= 0: mu alone is exact */
    {
      *mu_out = -lo;
      return 0.0f;
    }

  guint8 l[32];
  float best_s = (hi - lo) / (float) Q4_K_TOP, best_mu = -lo;
  double best = grid_error (x, w, best_s, best_mu, l);

  for (int t = -10; t <= 10; t++)
    {
      float iscale = ((float) Q4_K_TOP + 0.1f * (float) t) / (hi - lo);
      for (int i = 0; i < 32; i++)
        l[i] = (guint8) nearest_level (iscale * (x[i] - lo));
      float s, mu;
      if (!fit_levels (x, w, l, &s, &mu) || !grid_covers (lo, hi, s, mu))
        continue;
      double err = grid_error (x, w, s, mu, l);
      if (err < best)
        {
          best = err;
          best_s = s;
          best_mu = mu;
        }
    }

  for (int iter = 0; iter < 4; iter++)
    {
      float s, mu;
      grid_error (x, w, best_s, best_mu, l);
      if (!fit_levels (x, w, l, &s, &mu) || !grid_covers (lo, hi, s, mu))
        break;
      double err = grid_error (x, w, s, mu, l);
      if (!(err < best))
        break;
      best = err;
      best_s = s;
      best_mu = mu;
    }

  *mu_out = best_mu;
  return best_s;
}

/* Half an f16 ulp at H (the most a float rounded to H moved): 2^-11 of
 * H, 2^-25 among the subnormals. */
static inline float
f16_rounding (float h)
{
  return fmaxf (h * 0x1p-11f, 0x1p-25f);
}

/* Step 2 for one sub-block: the 6-bit SC and M for its grid (S, MU) under
 * the stored D and DMIN.  The nearest multiples guarantee the bound above;
 * the neighbouring ones (one step down or up each) are taken instead when
 * they lower the weighted squared error of the stored grid and their
 * largest error still keeps to that bound. */
static inline void
stored_grid (const float *x, const float *w, float s, float mu, float d, float dmin,
             int *sc_out, int *m_out)
{
  int sc0 = d > 0.0f ? clamp_int ((int) rintf (s / d), 0, 63) : 0;
  int m0 = dmin > 0.0f ? clamp_int ((int) rintf (mu / dmin), 0, 63) : 0;
  float e_d = 0.5f * d + 63 * f16_rounding (d), e_m = 0.5f * dmin + 63 * f16_rounding (dmin);
  guint8 l[32];
  double best = grid_error (x, w, d * (float) sc0, dmin * (float) m0, l);
  *sc_out = sc0;
  *m_out = m0;
  for (int sc = MAX (sc0 - 1, 0); sc <= MIN (sc0 + 1, 63); sc++)
    for (int m = MAX (m0 - 1, 0); m <= MIN (m0 + 1, 63); m++)
      {
        if (sc == sc0 && m == m0)
          continue;
        float step = d * (float) sc, min = dmin * (float) m;
        double err = grid_error (x, w, step, min, l);
        if (!(err < best))
          continue;
        float bound = 0.5f * step + 15.5f * e_d + e_m, worst = 0.0f;
        for (int i = 0; i < 32; i++)
          worst = max_f (worst, fabsf (step * (float) l[i] - min - x[i]));
        if (worst > bound)
          continue;
        best = err;
        *sc_out = sc;
        *m_out = m;
      }
}

/* f16 d, dmin; u8 scales[12]; u8 qs[128] (attnviz-quant.h). */
ATTNVIZ_QUANT_CLONES void
_attnviz_quantize_q4_k (const float *src, guint8 *dst, gint64 n_blocks)
{
  for (gint64 b = 0; b < n_blocks; b++, src += QK_K, dst += 144)
    {
      float w[QK_K], s[8], mu[8], max_s = 0.0f, max_mu = 0.0f;
      for (int j = 0; j < 8; j++)
        {
          sub_block_weights (src + 32 * j, w + 32 * j);
          s[j] = choose_sub_block_grid (src + 32 * j, w + 32 * j, &mu[j]);
          max_s = max_f (max_s, s[j]);
          max_mu = max_f (max_mu, mu[j]);
        }

      guint16 d16 = attnviz_f32_to_f16 (max_s / 63.0f);
      guint16 dmin16 = attnviz_f32_to_f16 (max_mu / 63.0f);
      float d = attnviz_f16_to_f32 (d16), dmin = attnviz_f16_to_f32 (dmin16);
      int sc[8], m[8];
      for (int j = 0; j < 8; j++)
        stored_grid (src + 32 * j, w + 32 * j, s[j], mu[j], d, dmin, &sc[j], &m[j]);

      store_u16 (dst, d16);
      store_u16 (dst + 2, dmin16);
      guint8 *scales = dst + 4;
      for (int j = 0; j < 4; j++)
        {
          scales[j] = (guint8) (sc[j] | ((sc[j + 4] >> 4) << 6));
          scales[j + 4] = (guint8) (m[j] | ((m[j + 4] >> 4) << 6));
          scales[j + 8] = (guint8) ((sc[j + 4] & 15) | ((m[j + 4] & 15) << 4));
        }

      /* Step 3, with the same arithmetic stored_grid judged the grid by. */
      guint8 l[QK_K];
      for (int j = 0; j < 8; j++)
        grid_error (src + 32 * j, w + 32 * j, d * (float) sc[j], dmin * (float) m[j], l + 32 * j);
      guint8 *qs = dst + 16;
      for (int c = 0; c < 4; c++)
        for (int i = 0; i < 32; i++)
          qs[32 * c + i] = (guint8) (l[64 * c + i] | (l[64 * c + 32 + i] << 4));
    }
}
