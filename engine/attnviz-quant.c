#define G_LOG_DOMAIN "attnviz-quant"
#include "config.h"

/* The ggml type table: every type id ggml has defined, with its name, the
 * values per block and the bytes per block (ggml.c type_traits,
 * ggml-common.h block structs).  Known types are enough to check a GGUF
 * file's layout; the supported ones (attnviz-quant.h) are what attnviz can
 * compute with. */

#include "attnviz-quant-private.h"

typedef struct {
  const char *name;
  int block_size;
  gsize block_bytes;
  gboolean supported;
} TypeInfo;

static const TypeInfo type_table[] = {
  [0] = { "F32", 1, 4, TRUE },
  [1] = { "F16", 1, 2, TRUE },
  [2] = { "Q4_0", 32, 18, TRUE },
  [3] = { "Q4_1", 32, 20, TRUE },
  [6] = { "Q5_0", 32, 22, TRUE },
  [7] = { "Q5_1", 32, 24, TRUE },
  [8] = { "Q8_0", 32, 34, TRUE },
  [9] = { "Q8_1", 32, 36, FALSE },
  [10] = { "Q2_K", 256, 84, TRUE },
  [11] = { "Q3_K", 256, 110, TRUE },
  [12] = { "Q4_K", 256, 144, TRUE },
  [13] = { "Q5_K", 256, 176, TRUE },
  [14] = { "Q6_K", 256, 210, TRUE },
  [15] = { "Q8_K", 256, 292, FALSE },
  [16] = { "IQ2_XXS", 256, 66, FALSE },
  [17] = { "IQ2_XS", 256, 74, FALSE },
  [18] = { "IQ3_XXS", 256, 98, FALSE },
  [19] = { "IQ1_S", 256, 50, FALSE },
  [20] = { "IQ4_NL", 32, 18, FALSE },
  [21] = { "IQ3_S", 256, 110, FALSE },
  [22] = { "IQ2_S", 256, 82, FALSE },
  [23] = { "IQ4_XS", 256, 136, FALSE },
  [24] = { "I8", 1, 1, FALSE },
  [25] = { "I16", 1, 2, FALSE },
  [26] = { "I32", 1, 4, FALSE },
  [27] = { "I64", 1, 8, FALSE },
  [28] = { "F64", 1, 8, FALSE },
  [29] = { "IQ1_M", 256, 56, FALSE },
  [30] = { "BF16", 1, 2, TRUE },
  [34] = { "TQ1_0", 256, 54, FALSE },
  [35] = { "TQ2_0", 256, 66, FALSE },
  [39] = { "MXFP4", 32, 17, FALSE },
  [40] = { "NVFP4", 64, 36, FALSE },
  [41] = { "Q1_0", 128, 18, FALSE },
  [42] = { "Q2_0", 64, 18, FALSE },
};

static const TypeInfo *
type_info (guint32 type)
{
  if (type >= G_N_ELEMENTS (type_table) || type_table[type].name == NULL)
    return NULL;
  return &type_table[type];
}

gboolean
attnviz_weight_type_known (guint32 type, const char **name, int *block_size, gsize *block_bytes)
{
  const TypeInfo *info = type_info (type);
  if (info == NULL)
    return FALSE;
  if (name)
    *name = info->name;
  if (block_size)
    *block_size = info->block_size;
  if (block_bytes)
    *block_bytes = info->block_bytes;
  return TRUE;
}

gboolean
attnviz_weight_type_supported (guint32 type)
{
  const TypeInfo *info = type_info (type);
  return info != NULL && info->supported;
}

const char *
attnviz_weight_type_name (guint32 type)
{
  const TypeInfo *info = type_info (type);
  return info ? info->name : NULL;
}

int
attnviz_weight_type_block_size (AttnvizWeightType type)
{
  const TypeInfo *info = type_info (type);
  g_return_val_if_fail (info != NULL, 1);
  return info->block_size;
}

gsize
attnviz_weight_type_block_bytes (AttnvizWeightType type)
{
  const TypeInfo *info = type_info (type);
  g_return_val_if_fail (info != NULL, 0);
  return info->block_bytes;
}

gboolean
attnviz_weight_row_bytes (AttnvizWeightType type, gint64 n, gsize *out)
{
  const TypeInfo *info = type_info (type);
  g_return_val_if_fail (info != NULL, FALSE);
  if (n < 0 || n % info->block_size != 0)
    return FALSE;
  guint64 bytes;
  if (!g_uint64_checked_mul (&bytes, (guint64) (n / info->block_size), info->block_bytes)
      || bytes > G_MAXSIZE)
    return FALSE;
  *out = (gsize) bytes;
  return TRUE;
}

/* ---- dispatch ------------------------------------------------------------ */

typedef void (*DequantizeFunc) (const guint8 *src, float *dst, gint64 n_blocks);
typedef void (*QuantizeFunc) (const float *src, guint8 *dst, gint64 n_blocks);

static DequantizeFunc
dequantize_func (AttnvizWeightType type)
{
  switch (type)
    {
    case ATTNVIZ_WEIGHT_F32: return _attnviz_dequantize_f32;
    case ATTNVIZ_WEIGHT_F16: return _attnviz_dequantize_f16;
    case ATTNVIZ_WEIGHT_BF16: return _attnviz_dequantize_bf16;
    case ATTNVIZ_WEIGHT_Q4_0: return _attnviz_dequantize_q4_0;
    case ATTNVIZ_WEIGHT_Q4_1: return _attnviz_dequantize_q4_1;
    case ATTNVIZ_WEIGHT_Q5_0: return _attnviz_dequantize_q5_0;
    case ATTNVIZ_WEIGHT_Q5_1: return _attnviz_dequantize_q5_1;
    case ATTNVIZ_WEIGHT_Q8_0: return _attnviz_dequantize_q8_0;
    case ATTNVIZ_WEIGHT_Q2_K: return _attnviz_dequantize_q2_k;
    case ATTNVIZ_WEIGHT_Q3_K: return _attnviz_dequantize_q3_k;
    case ATTNVIZ_WEIGHT_Q4_K: return _attnviz_dequantize_q4_k;
    case ATTNVIZ_WEIGHT_Q5_K: return _attnviz_dequantize_q5_k;
    case ATTNVIZ_WEIGHT_Q6_K: return _attnviz_dequantize_q6_k;
    default: return NULL;
    }
}

static QuantizeFunc
quantize_func (AttnvizWeightType type)
{
  switch (type)
    {
    case ATTNVIZ_WEIGHT_F32: return _attnviz_quantize_f32;
    case ATTNVIZ_WEIGHT_F16: return _attnviz_quantize_f16;
    case ATTNVIZ_WEIGHT_BF16: return _attnviz_quantize_bf16;
    case ATTNVIZ_WEIGHT_Q8_0: return _attnviz_quantize_q8_0;
    case ATTNVIZ_WEIGHT_Q4_0: return _attnviz_quantize_q4_0;
    case ATTNVIZ_WEIGHT_Q4_K: return _attnviz_quantize_q4_k;
    default: return NULL;
    }
}

void
attnviz_dequantize_row (AttnvizWeightType type, const void *src, float *dst, gint64 n)
{
  DequantizeFunc func = dequantize_func (type);
  g_return_if_fail (func != NULL);
  g_return_if_fail (n >= 0 && n % type_table[type].block_size == 0);
  g_return_if_fail ((src != NULL && dst != NULL) || n == 0);

  if (n > 0)
    func (src, dst, n / type_table[type].block_size);
}

void
attnviz_dequantize_rows (AttnvizWeightType type, const void *src, gsize row_bytes,
                         int n_rows, gint64 n, float *dst, gsize ld_dst)
{
  DequantizeFunc func = dequantize_func (type);
  g_return_if_fail (func != NULL);
  g_return_if_fail (n >= 0 && n % type_table[type].block_size == 0);
  g_return_if_fail (n_rows >= 0);
  g_return_if_fail (n_rows <= 1 || ld_dst >= (gsize) n);
  g_return_if_fail ((src != NULL && dst != NULL) || n == 0 || n_rows == 0);

  gint64 n_blocks = n / type_table[type].block_size;
  if (n_blocks == 0)
    return;
  const guint8 *row = src;
  for (int r = 0; r < n_rows; r++)
    func (row + (gsize) r * row_bytes, dst + (gsize) r * ld_dst, n_blocks);
}

/* ---- finiteness, checked on the stored bits ------------------------------- */

/* Byte offsets of a block's f16 scales, -1 past the last.  Every value of a
 * block type is a small integer times these (plus one of them): at most
 * about 65504 * 63 * 32, so the block's values are finite exactly when its
 * scales are. */
static const gint16 *
scale_offsets (AttnvizWeightType type)
{
  static const gint16 d0[] = { 0, -1 }, d0m2[] = { 0, 2, -1 };
  static const gint16 q2_k[] = { 80, 82, -1 }, q3_k[] = { 108, -1 }, q6_k[] = { 208, -1 };
  switch (type)
    {
    case ATTNVIZ_WEIGHT_Q4_0: case ATTNVIZ_WEIGHT_Q5_0: case ATTNVIZ_WEIGHT_Q8_0: return d0;
    case ATTNVIZ_WEIGHT_Q4_1: case ATTNVIZ_WEIGHT_Q5_1: return d0m2;
    case ATTNVIZ_WEIGHT_Q4_K: case ATTNVIZ_WEIGHT_Q5_K: return d0m2;
    case ATTNVIZ_WEIGHT_Q2_K: return q2_k;
    case ATTNVIZ_WEIGHT_Q3_K: return q3_k;
    case ATTNVIZ_WEIGHT_Q6_K: return q6_k;
    default: return NULL;
    }
}

gint64
attnviz_weight_first_non_finite (AttnvizWeightType type, const void *src, gint64 n, double *value)
{
  g_return_val_if_fail (attnviz_weight_type_supported (type), -1);
  g_return_val_if_fail (n >= 0 && n % type_table[type].block_size == 0, -1);
  g_return_val_if_fail (src != NULL || n == 0, -1);

  const guint8 *p = src;
  double bad = 0;
  gint64 at = -1;
  switch (type)
    {
    case ATTNVIZ_WEIGHT_F32:
      for (gint64 i = 0; i < n && at < 0; i++)
        if ((attnviz_quant_load_u32 (p + 4 * i) & 0x7f800000u) == 0x7f800000u)
          {
            at = i;
            bad = attnviz_quant_float_from_bits (attnviz_quant_load_u32 (p + 4 * i));
          }
      break;
    case ATTNVIZ_WEIGHT_F16:
    case ATTNVIZ_WEIGHT_BF16:
      {
        guint16 mask = type == ATTNVIZ_WEIGHT_F16 ? 0x7c00 : 0x7f80;
        for (gint64 i = 0; i < n && at < 0; i++)
          if ((attnviz_quant_load_u16 (p + 2 * i) & mask) == mask)
            {
              at = i;
              guint16 h = attnviz_quant_load_u16 (p + 2 * i);
              bad = type == ATTNVIZ_WEIGHT_F16 ? attnviz_quant_load_half (p + 2 * i)
                                               : attnviz_quant_float_from_bits ((guint32) h << 16);
            }
        break;
      }
    default:
      {
        const gint16 *offsets = scale_offsets (type);
        gint64 n_blocks = n / type_table[type].block_size;
        gsize block_bytes = type_table[type].block_bytes;
        for (gint64 b = 0; b < n_blocks && at < 0; b++)
          for (int k = 0; offsets[k] >= 0; k++)
            {
              const guint8 *h = p + (gsize) b * block_bytes + offsets[k];
              if ((attnviz_quant_load_u16 (h) & 0x7c00) == 0x7c00)
                {
                  at = b * type_table[type].block_size;
                  bad = attnviz_quant_load_half (h);
                  break;
                }
            }
        break;
      }
    }
  if (at >= 0 && value != NULL)
    *value = bad;
  return at;
}

gboolean
attnviz_weight_type_can_quantize (AttnvizWeightType type)
{
  return quantize_func (type) != NULL;
}

void
attnviz_quantize_row (AttnvizWeightType type, const float *src, void *dst, gint64 n)
{
  QuantizeFunc func = quantize_func (type);
  g_return_if_fail (func != NULL);
  g_return_if_fail (n >= 0 && n % type_table[type].block_size == 0);
  g_return_if_fail ((src != NULL && dst != NULL) || n == 0);

  if (n > 0)
    func (src, dst, n / type_table[type].block_size);
}
