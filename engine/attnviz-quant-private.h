/* attnviz-quant-private.h: what attnviz-quant.c, attnviz-dequant.c and
 * attnviz-quantize.c share
 *
 * The kernels work on whole blocks: N_BLOCKS blocks at SRC (no alignment)
 * into N_BLOCKS * BLOCK_SIZE floats at DST.  attnviz-quant.c checks the
 * arguments and dispatches on the type.
 */
#pragma once

#include <string.h>
#include <glib.h>

#include "attnviz-quant.h"

G_BEGIN_DECLS

/* The kernels are written as plain loops the compiler vectorizes; on x86-64
 * with GCC and glibc each gets an x86-64-v3 (AVX2, F16C, FMA) clone chosen
 * when the program starts.  ISO C mode (-std=c11) turns off FMA
 * contraction in GCC, and the pragma does so for compilers that honour it,
 * so every clone computes the same bits as the scalar definition. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__) \
    && !defined(ATTNVIZ_QUANT_NO_CLONES)
#define ATTNVIZ_QUANT_CLONES __attribute__ ((target_clones ("arch=x86-64-v3", "default")))
#else
#define ATTNVIZ_QUANT_CLONES
#endif

/* Little-endian field reads at any address. */
static inline guint16
attnviz_quant_load_u16 (const guint8 *p)
{
  return (guint16) (p[0] | (p[1] << 8));
}

static inline guint32
attnviz_quant_load_u32 (const guint8 *p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) | ((guint32) p[3] << 24);
}

static inline float
attnviz_quant_float_from_bits (guint32 bits)
{
  float f;
  memcpy (&f, &bits, sizeof f);
  return f;
}

static inline guint32
attnviz_quant_float_to_bits (float f)
{
  guint32 bits;
  memcpy (&bits, &f, sizeof bits);
  return bits;
}

/* IEEE binary16 to float32, exact, without branches (so a loop of them
 * vectorizes); the same bits as attnviz_f16_to_f32, NaN payloads included.
 * A half's exponent and mantissa moved into a float32's places are the
 * value times 2^-112 (a float32 subnormal for a half subnormal), and the
 * product with 2^112 is exact.  Needs the default floating-point
 * environment: flushing subnormal inputs to zero (DAZ) would lose the half
 * subnormals. */
static inline float
attnviz_quant_half_to_float (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000) << 16;
  guint32 em = h & 0x7fff;
  float scaled = attnviz_quant_float_from_bits (em << 13) * 0x1p112f;
  guint32 finite = attnviz_quant_float_to_bits (scaled);
  guint32 special = 0x7f800000 | ((em & 0x3ff) << 13);  /* inf, NaN with its payload */
  guint32 is_special = 0u - (guint32) (em >= 0x7c00);   /* a mask, not a branch */
  return attnviz_quant_float_from_bits (sign | (is_special & special) | (~is_special & finite));
}

static inline float
attnviz_quant_load_half (const guint8 *p)
{
  return attnviz_quant_half_to_float (attnviz_quant_load_u16 (p));
}

/* Sub-block J (0..7) of the 12-byte K-quant scale packing (Q4_K, Q5_K):
 * its 6-bit scale and 6-bit min. */
static inline void
attnviz_quant_k_scale_min (const guint8 *scales, int j, int *sc, int *m)
{
  if (j < 4)
    {
      *sc = scales[j] & 63;
      *m = scales[j + 4] & 63;
    }
  else
    {
      *sc = (scales[j + 4] & 15) | ((scales[j - 4] >> 6) << 4);
      *m = (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4);
    }
}

/* attnviz-dequant.c: one per supported type. */
void _attnviz_dequantize_f32 (const guint8 *src, float *dst, gint64 n_blocks);
void _attnviz_dequantize_f16 (const guint8 *src, float *dst, gint64 n_blocks);
void _attnviz_dequantize_bf16 (const guint8 *src, float *dst, gint64 n_blocks);
void _attnviz_dequantize_q4_0 (const guint8 *src, float *dst, gint64 n_blocks);
void _attnviz_dequantize_q4_1 (const guint8 *src, float *dst, gint64 n_blocks);
void _attnviz_dequantize_q5_0 (const guint8 *src, float *dst, gint64 n_blocks);
void _attnviz_dequantize_q5_1 (const guint8 *src, float *dst, gint64 n_blocks);
void _attnviz_dequantize_q8_0 (const guint8 *src, float *dst, gint64 n_blocks);
void _attnviz_dequantize_q2_k (const guint8 *src, float *dst, gint64 n_blocks);
void _attnviz_dequantize_q3_k (const guint8 *src, float *dst, gint64 n_blocks);
void _attnviz_dequantize_q4_k (const guint8 *src, float *dst, gint64 n_blocks);
void _attnviz_dequantize_q5_k (const guint8 *src, float *dst, gint64 n_blocks);
void _attnviz_dequantize_q6_k (const guint8 *src, float *dst, gint64 n_blocks);

/* attnviz-quantize.c: N_BLOCKS blocks of SRC into DST. */
void _attnviz_quantize_f32 (const float *src, guint8 *dst, gint64 n_blocks);
void _attnviz_quantize_f16 (const float *src, guint8 *dst, gint64 n_blocks);
void _attnviz_quantize_bf16 (const float *src, guint8 *dst, gint64 n_blocks);
void _attnviz_quantize_q8_0 (const float *src, guint8 *dst, gint64 n_blocks);
void _attnviz_quantize_q4_0 (const float *src, guint8 *dst, gint64 n_blocks);
void _attnviz_quantize_q4_k (const float *src, guint8 *dst, gint64 n_blocks);

G_END_DECLS
