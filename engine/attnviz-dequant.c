#define G_LOG_DOMAIN "attnviz-quant"
#include "config.h"

/* The dequantization kernels: ggml blocks to float32.
 *
 * Each value is computed in float32 with the same operations, in the same
 * order, as ggml's dequantize_row_* (ggml-quants.c) and gguf-py's numpy
 * dequantizer, so the results are the same bits:
 *
 *   Q4_0, Q5_0, Q8_0   x = d * q                          (q signed, offset removed)
 *   Q4_1, Q5_1         x = d * q + m                      (one product, then one sum)
 *   Q2_K               x = (d * sc) * q - (dmin * mn)     per 16 values
 *   Q3_K               x = (d * (sc - 32)) * q            per 16 values, q in -4..3
 *   Q4_K, Q5_K         x = (d * sc) * q - (dmin * mn)     per 32 values
 *   Q6_K               x = (d * sc) * (q - 32)            per 16 values
 *
 * The bracketed products are rounded to float once per sub-block and kept;
 * the integers convert to float exactly.  No FMA: ISO C mode keeps GCC from
 * contracting, and the pragma below does the same for Clang.
 *
 * Speed: each inner loop runs a fixed 16 or 32 times over the values of
 * one sub-block with the scales computed beforehand, and has no branch, so
 * GCC vectorizes it even at -O2 (whose cheap cost model wants a known trip
 * count): byte loads, integer widening, one conversion, one multiply and
 * one add per vector of floats.  Where two 16-value groups with their own
 * scales share a 32-value loop, the scale is picked by `l < 16`, which the
 * vectorizer resolves per vector.  (GCC 12 scalarizes
 * __builtin_convertvector from bytes, so explicit vector types were slower
 * here.)  F16 and BF16 go 32 values at a time for the same reason.
 */

#include "attnviz-quant-private.h"

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define QK 32    /* values per Q4_0 .. Q8_0 block */
#define QK_K 256 /* values per K-quant super-block */

ATTNVIZ_QUANT_CLONES void
_attnviz_dequantize_f32 (const guint8 *restrict src, float *restrict dst, gint64 n_blocks)
{
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  memcpy (dst, src, (gsize) n_blocks * sizeof (float));
#else
  for (gint64 i = 0; i < n_blocks; i++)
    dst[i] = attnviz_quant_float_from_bits (attnviz_quant_load_u32 (src + 4 * i));
#endif
}

ATTNVIZ_QUANT_CLONES void
_attnviz_dequantize_f16 (const guint8 *restrict src, float *restrict dst, gint64 n_blocks)
{
  gint64 i = 0;
  for (; i + 32 <= n_blocks; i += 32)
    for (int l = 0; l < 32; l++)
      dst[i + l] = attnviz_quant_load_half (src + 2 * (i + l));
  for (; i < n_blocks; i++)
    dst[i] = attnviz_quant_load_half (src + 2 * i);
}

/* bfloat16 is the top half of a float32. */
static inline float
bf16_at (const guint8 *p)
{
  return attnviz_quant_float_from_bits ((guint32) attnviz_quant_load_u16 (p) << 16);
}

ATTNVIZ_QUANT_CLONES void
_attnviz_dequantize_bf16 (const guint8 *restrict src, float *restrict dst, gint64 n_blocks)
{
  gint64 i = 0;
  for (; i + 32 <= n_blocks; i += 32)
    for (int l = 0; l < 32; l++)
      dst[i + l] = bf16_at (src + 2 * (i + l));
  for (; i < n_blocks; i++)
    dst[i] = bf16_at (src + 2 * i);
}

/* f16 d; u8 qs[16]: value j in the low nibble of qs[j], j + 16 in the high. */
ATTNVIZ_QUANT_CLONES void
_attnviz_dequantize_q4_0 (const guint8 *restrict src, float *restrict dst, gint64 n_blocks)
{
  for (gint64 b = 0; b < n_blocks; b++, src += 18, dst += QK)
    {
      float d = attnviz_quant_load_half (src);
      const guint8 *qs = src + 2;
      for (int j = 0; j < QK / 2; j++)
        {
          dst[j] = d * (float) ((qs[j] & 15) - 8);
          dst[j + QK / 2] = d * (float) ((qs[j] >> 4) - 8);
        }
    }
}

/* f16 d, m; u8 qs[16]. */
ATTNVIZ_QUANT_CLONES void
_attnviz_dequantize_q4_1 (const guint8 *restrict src, float *restrict dst, gint64 n_blocks)
{
  for (gint64 b = 0; b < n_blocks; b++, src += 20, dst += QK)
    {
      float d = attnviz_quant_load_half (src);
      float m = attnviz_quant_load_half (src + 2);
      const guint8 *qs = src + 4;
      for (int j = 0; j < QK / 2; j++)
        {
          dst[j] = d * (float) (qs[j] & 15) + m;
          dst[j + QK / 2] = d * (float) (qs[j] >> 4) + m;
        }
    }
}

/* f16 d; u8 qh[4] (bit j of the little-endian u32: the 5th bit of value j);
 * u8 qs[16]. */
ATTNVIZ_QUANT_CLONES void
_attnviz_dequantize_q5_0 (const guint8 *restrict src, float *restrict dst, gint64 n_blocks)
{
  for (gint64 b = 0; b < n_blocks; b++, src += 22, dst += QK)
    {
      float d = attnviz_quant_load_half (src);
      guint32 qh = attnviz_quant_load_u32 (src + 2);
      const guint8 *qs = src + 6;
      for (int j = 0; j < QK / 2; j++)
        {
          int lo = (qs[j] & 15) | (int) (((qh >> j) & 1) << 4);
          int hi = (qs[j] >> 4) | (int) (((qh >> (j + 16)) & 1) << 4);
          dst[j] = d * (float) (lo - 16);
          dst[j + QK / 2] = d * (float) (hi - 16);
        }
    }
}

/* f16 d, m; u8 qh[4]; u8 qs[16]. */
ATTNVIZ_QUANT_CLONES void
_attnviz_dequantize_q5_1 (const guint8 *restrict src, float *restrict dst, gint64 n_blocks)
{
  for (gint64 b = 0; b < n_blocks; b++, src += 24, dst += QK)
    {
      float d = attnviz_quant_load_half (src);
      float m = attnviz_quant_load_half (src + 2);
      guint32 qh = attnviz_quant_load_u32 (src + 4);
      const guint8 *qs = src + 8;
      for (int j = 0; j < QK / 2; j++)
        {
          int lo = (qs[j] & 15) | (int) (((qh >> j) & 1) << 4);
          int hi = (qs[j] >> 4) | (int) (((qh >> (j + 16)) & 1) << 4);
          dst[j] = d * (float) lo + m;
          dst[j + QK / 2] = d * (float) hi + m;
        }
    }
}

/* f16 d; i8 qs[32]. */
ATTNVIZ_QUANT_CLONES void
_attnviz_dequantize_q8_0 (const guint8 *restrict src, float *restrict dst, gint64 n_blocks)
{
  for (gint64 b = 0; b < n_blocks; b++, src += 34, dst += QK)
    {
      float d = attnviz_quant_load_half (src);
      const gint8 *qs = (const gint8 *) (src + 2);
      for (int j = 0; j < QK; j++)
        dst[j] = d * (float) qs[j];
    }
}

/* u8 scales[16] (low nibble: scale, high: min of values 16g .. 16g + 15);
 * u8 qs[64]; f16 d, dmin.  Value v = 128h + 32k + l (k 0..3, l 0..31)
 * sits in qs[32h + l] at bits 2k, 2k + 1. */
ATTNVIZ_QUANT_CLONES void
_attnviz_dequantize_q2_k (const guint8 *restrict src, float *restrict dst, gint64 n_blocks)
{
  for (gint64 b = 0; b < n_blocks; b++, src += 84, dst += QK_K)
    {
      const guint8 *scales = src;
      float d = attnviz_quant_load_half (src + 80);
      float dmin = attnviz_quant_load_half (src + 82);
      for (int h = 0; h < 2; h++)
        for (int k = 0; k < 4; k++)
          {
            int g = 8 * h + 2 * k;  /* the 16-value groups g, g + 1 */
            float dl0 = d * (float) (scales[g] & 15), ml0 = dmin * (float) (scales[g] >> 4);
            float dl1 = d * (float) (scales[g + 1] & 15), ml1 = dmin * (float) (scales[g + 1] >> 4);
            const guint8 *q = src + 16 + 32 * h;
            float *y = dst + 128 * h + 32 * k;
            for (int l = 0; l < 32; l++)
              {
                float dl = l < 16 ? dl0 : dl1, ml = l < 16 ? ml0 : ml1;
                y[l] = dl * (float) ((q[l] >> (2 * k)) & 3) - ml;
              }
          }
    }
}

/* The 16 signed 6-bit Q3_K scales (stored with offset 32): the low 4 bits
 * in the nibbles of bytes 0..7 (scale g < 8 low nibble of byte g, g >= 8
 * high nibble of byte g - 8), the high 2 bits in bytes 8..11 (bits
 * 2 * (g / 4) of byte 8 + g % 4). */
static inline int
q3_k_scale (const guint8 *scales, int g)
{
  int low = g < 8 ? scales[g] & 15 : scales[g - 8] >> 4;
  int high = (scales[8 + g % 4] >> (2 * (g / 4))) & 3;
  return (low | (high << 4)) - 32;
}

/* u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d.  Value v = 128h + 32k + l:
 * low 2 bits as in Q2_K, 3rd bit in hmask[l] bit 4h + k; q = low - 4 when
 * that bit is clear. */
ATTNVIZ_QUANT_CLONES void
_attnviz_dequantize_q3_k (const guint8 *restrict src, float *restrict dst, gint64 n_blocks)
{
  for (gint64 b = 0; b < n_blocks; b++, src += 110, dst += QK_K)
    {
      const guint8 *hmask = src;
      float d = attnviz_quant_load_half (src + 108);
      for (int h = 0; h < 2; h++)
        for (int k = 0; k < 4; k++)
          {
            int g = 8 * h + 2 * k;
            float dl0 = d * (float) q3_k_scale (src + 96, g);
            float dl1 = d * (float) q3_k_scale (src + 96, g + 1);
            const guint8 *q = src + 32 + 32 * h;
            float *y = dst + 128 * h + 32 * k;
            for (int l = 0; l < 32; l++)
              {
                int low = (q[l] >> (2 * k)) & 3;
                int high = (hmask[l] >> (4 * h + k)) & 1;
                y[l] = (l < 16 ? dl0 : dl1) * (float) (low - 4 + 4 * high);
              }
          }
    }
}

/* f16 d, dmin; u8 scales[12]; u8 qs[128].  Values 64c .. 64c + 31 are the
 * low nibbles of qs[32c ..], the next 32 the high nibbles (sub-blocks 2c
 * and 2c + 1). */
ATTNVIZ_QUANT_CLONES void
_attnviz_dequantize_q4_k (const guint8 *restrict src, float *restrict dst, gint64 n_blocks)
{
  for (gint64 b = 0; b < n_blocks; b++, src += 144, dst += QK_K)
    {
      float d = attnviz_quant_load_half (src);
      float dmin = attnviz_quant_load_half (src + 2);
      for (int c = 0; c < 4; c++)
        {
          int sc0, m0, sc1, m1;
          attnviz_quant_k_scale_min (src + 4, 2 * c, &sc0, &m0);
          attnviz_quant_k_scale_min (src + 4, 2 * c + 1, &sc1, &m1);
          float d0 = d * (float) sc0, min0 = dmin * (float) m0;
          float d1 = d * (float) sc1, min1 = dmin * (float) m1;
          const guint8 *q = src + 16 + 32 * c;
          float *y = dst + 64 * c;
          for (int l = 0; l < 32; l++)
            {
              y[l] = d0 * (float) (q[l] & 15) - min0;
              y[l + 32] = d1 * (float) (q[l] >> 4) - min1;
            }
        }
    }
}

/* f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128].  As Q4_K, with the
 * 5th bit of value 64c + 32k + l in qh[l] bit 2c + k. */
ATTNVIZ_QUANT_CLONES void
_attnviz_dequantize_q5_k (const guint8 *restrict src, float *restrict dst, gint64 n_blocks)
{
  for (gint64 b = 0; b < n_blocks; b++, src += 176, dst += QK_K)
    {
      float d = attnviz_quant_load_half (src);
      float dmin = attnviz_quant_load_half (src + 2);
      const guint8 *qh = src + 16;
      for (int c = 0; c < 4; c++)
        {
          int sc0, m0, sc1, m1;
          attnviz_quant_k_scale_min (src + 4, 2 * c, &sc0, &m0);
          attnviz_quant_k_scale_min (src + 4, 2 * c + 1, &sc1, &m1);
          float d0 = d * (float) sc0, min0 = dmin * (float) m0;
          float d1 = d * (float) sc1, min1 = dmin * (float) m1;
          const guint8 *q = src + 48 + 32 * c;
          float *y = dst + 64 * c;
          for (int l = 0; l < 32; l++)
            {
              int lo = (q[l] & 15) | (((qh[l] >> (2 * c)) & 1) << 4);
              int hi = (q[l] >> 4) | (((qh[l] >> (2 * c + 1)) & 1) << 4);
              y[l] = d0 * (float) lo - min0;
              y[l + 32] = d1 * (float) hi - min1;
            }
        }
    }
}

/* u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d.  Value v = 128h + 32k + l
 * (k 0..3, l 0..31): low 4 bits from ql[64h + 32 * (k % 2) + l] (low
 * nibble for k < 2, high for k >= 2), high 2 bits from qh[32h + l] bits
 * 2k, 2k + 1; scale scales[v / 16]. */
ATTNVIZ_QUANT_CLONES void
_attnviz_dequantize_q6_k (const guint8 *restrict src, float *restrict dst, gint64 n_blocks)
{
  for (gint64 b = 0; b < n_blocks; b++, src += 210, dst += QK_K)
    {
      float d = attnviz_quant_load_half (src + 208);
      const gint8 *scales = (const gint8 *) (src + 192);
      for (int h = 0; h < 2; h++)
        for (int k = 0; k < 4; k++)
          {
            int g = 8 * h + 2 * k;
            float dl0 = d * (float) scales[g], dl1 = d * (float) scales[g + 1];
            const guint8 *ql = src + 64 * h + 32 * (k % 2);
            const guint8 *qh = src + 128 + 32 * h;
            float *y = dst + 128 * h + 32 * k;
            for (int l = 0; l < 32; l++)
              {
                int q = ((ql[l] >> (4 * (k / 2))) & 15) | (((qh[l] >> (2 * k)) & 3) << 4);
                y[l] = (l < 16 ? dl0 : dl1) * (float) (q - 32);
              }
          }
    }
}
