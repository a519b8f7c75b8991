/* attnviz-quant.h: weight types, as stored, and their conversion to float32
 *
 * A weight matrix stays in the type it has in the file (GGUF blocks, or
 * F16/BF16 from safetensors) and is turned into float32 one row, or one
 * panel of rows, at a time just before a matrix product needs it
 * (attnviz-matmul.c).  The type ids are ggml's own (ggml.h), so a GGUF
 * tensor's type field is used as it is.
 *
 * Every type packs a row in blocks of BLOCK_SIZE values taking BLOCK_BYTES
 * bytes; a row of N values (N a multiple of BLOCK_SIZE) takes
 * N / BLOCK_SIZE * BLOCK_BYTES bytes.  Multi-byte fields are little-endian;
 * "f16" is IEEE binary16.  The layouts (ggml-common.h), per block:
 *
 *   F32   1 value,   4 bytes    float32
 *   F16   1 value,   2 bytes    binary16
 *   BF16  1 value,   2 bytes    bfloat16 (the top half of a float32)
 *   Q4_0  32 values, 18 bytes   f16 d; u8 qs[16]
 *         x[j] = d * ((qs[j] & 15) - 8), x[j + 16] = d * ((qs[j] >> 4) - 8)
 *   Q4_1  32 values, 20 bytes   f16 d, m; u8 qs[16]
 *         x[j] = d * (qs[j] & 15) + m, x[j + 16] = d * (qs[j] >> 4) + m
 *   Q5_0  32 values, 22 bytes   f16 d; u8 qh[4] (bit j: 5th bit of x[j]); u8 qs[16]
 *         x[j] = d * (((qs[j] & 15) | bit j << 4) - 16), x[j + 16] likewise with
 *         qs[j] >> 4 and bit j + 16
 *   Q5_1  32 values, 24 bytes   f16 d, m; u8 qh[4]; u8 qs[16]; as Q5_0 with + m, no - 16
 *   Q8_0  32 values, 34 bytes   f16 d; i8 qs[32]; x[j] = d * qs[j]
 *   Q2_K  256 values, 84 bytes  u8 scales[16] (low nibble scale, high nibble min of
 *         each 16 values); u8 qs[64] (2 bits); f16 d, dmin
 *   Q3_K  256 values, 110 bytes u8 hmask[32] (3rd bit); u8 qs[64] (low 2 bits);
 *         u8 scales[12] (16 signed 6-bit scales, offset 32); f16 d
 *   Q4_K  256 values, 144 bytes f16 d, dmin; u8 scales[12] (8 6-bit scales and 8
 *         6-bit mins); u8 qs[128]; x = d * sc * q - dmin * m per 32 values
 *   Q5_K  256 values, 176 bytes f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]
 *   Q6_K  256 values, 210 bytes u8 ql[128] (low 4 bits); u8 qh[64] (high 2 bits);
 *         i8 scales[16]; f16 d; x = d * scale * (q - 32) per 16 values
 *
 * The 12-byte K-quant scale packing (Q4_K, Q5_K), for sub-block j of 8:
 *   j < 4:  scale = scales[j] & 63,          min = scales[j + 4] & 63
 *   j >= 4: scale = (scales[j + 4] & 15) | ((scales[j - 4] >> 6) << 4),
 *           min   = (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4)
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* ggml's type ids for the types attnviz reads (values fixed by the GGUF
 * format; the gaps are types attnviz knows by name but does not read). */
typedef enum {
  ATTNVIZ_WEIGHT_F32 = 0,
  ATTNVIZ_WEIGHT_F16 = 1,
  ATTNVIZ_WEIGHT_Q4_0 = 2,
  ATTNVIZ_WEIGHT_Q4_1 = 3,
  ATTNVIZ_WEIGHT_Q5_0 = 6,
  ATTNVIZ_WEIGHT_Q5_1 = 7,
  ATTNVIZ_WEIGHT_Q8_0 = 8,
  ATTNVIZ_WEIGHT_Q2_K = 10,
  ATTNVIZ_WEIGHT_Q3_K = 11,
  ATTNVIZ_WEIGHT_Q4_K = 12,
  ATTNVIZ_WEIGHT_Q5_K = 13,
  ATTNVIZ_WEIGHT_Q6_K = 14,
  ATTNVIZ_WEIGHT_BF16 = 30,
} AttnvizWeightType;

/* Every ggml type id known by name (including IQ*, TQ*, MXFP4, I8..I64, F64),
 * with its block size and bytes per block: FALSE for an id ggml never
 * defined.  Used to check a GGUF file's layout before refusing a type
 * attnviz cannot compute with. */
gboolean attnviz_weight_type_known (guint32 type, const char **name, int *block_size, gsize *block_bytes);

/* TRUE for the AttnvizWeightType values above: the types attnviz can turn
 * into float32. */
gboolean attnviz_weight_type_supported (guint32 type);

/* "F32", "Q4_K", "IQ2_XXS", ...; "type 99" style text is the caller's job
 * for unknown ids (NULL here). */
const char *attnviz_weight_type_name (guint32 type);

int attnviz_weight_type_block_size (AttnvizWeightType type);
gsize attnviz_weight_type_block_bytes (AttnvizWeightType type);

/* Bytes a row of N values takes, or FALSE when N is not a multiple of the
 * block size or the product overflows. */
gboolean attnviz_weight_row_bytes (AttnvizWeightType type, gint64 n, gsize *out);

/* DST[0..N) = the N values of one row at SRC (N a multiple of the block
 * size; SRC needs no alignment). */
void attnviz_dequantize_row (AttnvizWeightType type, const void *src, float *dst, gint64 n);

/* Rows [0, N_ROWS) of a matrix whose rows start ROW_BYTES apart at SRC,
 * each of N values, into DST (N_ROWS, LD_DST) float32. */
void attnviz_dequantize_rows (AttnvizWeightType type, const void *src, gsize row_bytes,
                              int n_rows, gint64 n, float *dst, gsize ld_dst);

/* The index of the first non-finite value (inf or NaN) among the N values
 * at SRC stored in TYPE (N a multiple of the block size, rows back to back),
 * or -1; *VALUE gets it.  Read from the stored bits without converting a
 * whole matrix: every value of F32, F16 and BF16, and of the block types
 * only their f16 scales, since a block's values are finite exactly when
 * those are (a bad block is reported at its first value). */
gint64 attnviz_weight_first_non_finite (AttnvizWeightType type, const void *src, gint64 n,
                                        double *value);

/* The types attnviz can write (`attnviz convert`): F32, F16, BF16, Q8_0,
 * Q4_0, Q4_K. */
gboolean attnviz_weight_type_can_quantize (AttnvizWeightType type);

/* Quantizes one row of N values (N a multiple of the block size) into DST
 * (attnviz_weight_row_bytes bytes), choosing scales as llama.cpp's
 * reference quantizers do closely enough that a round trip stays within the
 * type's usual error.  Non-finite input is the caller's to refuse, and so
 * are values whose f16 scale would overflow, as it does in llama.cpp:
 * beyond about 6.5e4 for F16, 5.2e5 for Q4_0, 4e6 for Q4_K, 8.3e6 for Q8_0
 * the values come back as inf or NaN. */
void attnviz_quantize_row (AttnvizWeightType type, const float *src, void *dst, gint64 n);

G_END_DECLS
