/* attnviz-safetensors-dtype.c: the safetensors element types
 *
 * Each dtype's name (as the header spells it) and size, and the
 * conversions of F16, BF16 and F64 values to float (and of float to F16)
 * that readers of a tensor's bytes use.
 */
#define G_LOG_DOMAIN "attnviz-safetensors"
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib.h>

#include "attnviz-quant-private.h"
#include "attnviz-safetensors.h"
#include "attnviz-safetensors-private.h"

static const struct {
  const char *name;
  gsize size;
} dtype_table[] = {
  [ATTNVIZ_DTYPE_F32] = { "F32", 4 },
  [ATTNVIZ_DTYPE_F16] = { "F16", 2 },
  [ATTNVIZ_DTYPE_BF16] = { "BF16", 2 },
  [ATTNVIZ_DTYPE_F64] = { "F64", 8 },
  [ATTNVIZ_DTYPE_I64] = { "I64", 8 },
  [ATTNVIZ_DTYPE_I32] = { "I32", 4 },
  [ATTNVIZ_DTYPE_I16] = { "I16", 2 },
  [ATTNVIZ_DTYPE_I8] = { "I8", 1 },
  [ATTNVIZ_DTYPE_U8] = { "U8", 1 },
  [ATTNVIZ_DTYPE_BOOL] = { "BOOL", 1 },
};
G_STATIC_ASSERT (G_N_ELEMENTS (dtype_table) == ATTNVIZ_N_DTYPES);

const char *
attnviz_dtype_to_string (AttnvizDtype dtype)
{
  g_return_val_if_fail ((guint) dtype < G_N_ELEMENTS (dtype_table), "invalid");
  return dtype_table[dtype].name;
}

gsize
attnviz_dtype_size (AttnvizDtype dtype)
{
  g_return_val_if_fail ((guint) dtype < G_N_ELEMENTS (dtype_table), 0);
  return dtype_table[dtype].size;
}

gboolean
_attnviz_dtype_from_string (const char *s, AttnvizDtype *out)
{
  for (guint i = 0; i < G_N_ELEMENTS (dtype_table); i++)
    if (strcmp (s, dtype_table[i].name) == 0)
      {
        *out = (AttnvizDtype) i;
        return TRUE;
      }
  return FALSE;
}

/* ---- half-precision conversions ---------------------------------------- */

static inline float
f32_from_bits (guint32 bits)
{
  return attnviz_quant_float_from_bits (bits);
}

static inline guint32
f32_to_bits (float f)
{
  return attnviz_quant_float_to_bits (f);
}

/* IEEE binary16: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits;
 * the weight kernels' exact conversion (attnviz-quant-private.h). */
float
attnviz_f16_to_f32 (guint16 h)
{
  return attnviz_quant_half_to_float (h);
}

/* bfloat16 is the top half of a float32. */
float
attnviz_bf16_to_f32 (guint16 h)
{
  return f32_from_bits ((guint32) h << 16);
}

guint16
attnviz_f32_to_f16 (float f)
{
  guint32 x = f32_to_bits (f);
  guint16 sign = (guint16) ((x >> 16) & 0x8000);
  guint32 abs = x & 0x7fffffff;

  if (abs > 0x7f800000)  /* NaN: keep the top payload bits, stay a NaN */
    return sign | 0x7e00 | ((abs >> 13) & 0x3ff);
  if (abs >= 0x47800000)  /* >= 65536 (and inf): past the rounding of 65504 */
    return sign | 0x7c00;

  guint32 e = abs >> 23;
  if (e >= 113)  /* >= 2^-14: a half normal; rounding may carry up to inf */
    {
      guint32 h = ((e - 112) << 10) | ((abs >> 13) & 0x3ff);
      guint32 rem = abs & 0x1fff;
      if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
        h++;
      return sign | (guint16) h;
    }
  if (e < 102)  /* below 2^-25: rounds to zero */
    return sign;

  /* Half subnormal: the value in units of 2^-24 is m * 2^(e - 126), with
   * m the 24-bit significand; shift 14..24 bits off, round to even.  A carry
   * to 0x400 is exactly the smallest normal. */
  guint32 m = (abs & 0x7fffff) | 0x800000;
  guint32 shift = 126 - e;
  guint32 h = m >> shift;
  guint32 rem = m & ((1u << shift) - 1);
  guint32 half = 1u << (shift - 1);
  if (rem > half || (rem == half && (h & 1)))
    h++;
  return sign | (guint16) h;
}

void
attnviz_tensor_to_f32 (const AttnvizTensorInfo *info, float *out)
{
  g_return_if_fail (info != NULL);
  g_return_if_fail (out != NULL || info->n_elements == 0);

  const guint8 *p = info->data;
  gsize n = (gsize) info->n_elements;

  /* The data has no alignment promise: read every element with memcpy. */
  switch (info->dtype)
    {
    case ATTNVIZ_DTYPE_F32:
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
      if (n > 0)
        memcpy (out, p, n * sizeof (float));
#else
      for (gsize i = 0; i < n; i++)
        {
          guint32 v;
          memcpy (&v, p + 4 * i, 4);
          out[i] = f32_from_bits (GUINT32_FROM_LE (v));
        }
#endif
      break;
    case ATTNVIZ_DTYPE_F16:
      for (gsize i = 0; i < n; i++)
        {
          guint16 v;
          memcpy (&v, p + 2 * i, 2);
          out[i] = attnviz_f16_to_f32 (GUINT16_FROM_LE (v));
        }
      break;
    case ATTNVIZ_DTYPE_BF16:
      for (gsize i = 0; i < n; i++)
        {
          guint16 v;
          memcpy (&v, p + 2 * i, 2);
          out[i] = attnviz_bf16_to_f32 (GUINT16_FROM_LE (v));
        }
      break;
    case ATTNVIZ_DTYPE_F64:
      for (gsize i = 0; i < n; i++)
        {
          guint64 v;
          double d;
          memcpy (&v, p + 8 * i, 8);
          v = GUINT64_FROM_LE (v);
          memcpy (&d, &v, 8);
          out[i] = (float) d;
        }
      break;
    case ATTNVIZ_DTYPE_I64:
    case ATTNVIZ_DTYPE_I32:
    case ATTNVIZ_DTYPE_I16:
    case ATTNVIZ_DTYPE_I8:
    case ATTNVIZ_DTYPE_U8:
    case ATTNVIZ_DTYPE_BOOL:
    default:
      g_return_if_reached ();
    }
}
