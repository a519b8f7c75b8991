/* test-quant: every ggml block type attnviz reads, built by hand from the
 * published layout (ggml-common.h, summarized in attnviz-quant.h) and
 * dequantized.
 *
 * Each test chooses the logical contents of two blocks (scales, mins and
 * quants as small integers, f16 fields as explicit bit patterns, including
 * a subnormal one), packs them into bytes with its own code, places them at
 * an odd address, dequantizes the two-block row and checks every value bit
 * for bit against the formula evaluated here from the logical contents:
 * x = d * q, d * q + m, (d * sc) * q - (dmin * mn) ..., in float, in the
 * order ggml's dequantize_row_* uses.
 */
#define G_LOG_DOMAIN "attnviz-test-quant"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-quant.h"
#include "attnviz-safetensors.h"
#include "attnviz-test-util.h"

/* f16 scales per block: the second block's dmin is a half subnormal. */
static const guint16 d_bits[2] = { 0x2e66, 0x3d55 };     /* 0.0999..., 1.333... */
static const guint16 dmin_bits[2] = { 0x2a8f, 0x0155 };  /* 0.0526..., 341 * 2^-24 */

static void
put_u16 (guint8 *p, guint16 v)
{
  p[0] = (guint8) v;
  p[1] = (guint8) (v >> 8);
}

static float
half (guint16 bits)
{
  return attnviz_f16_to_f32 (bits);
}

/* A buffer for N_BLOCKS blocks of TYPE that starts at an odd address. */
typedef struct {
  guint8 *alloc;
  guint8 *bytes;
} OddBuffer;

static guint8 *
odd_buffer (OddBuffer *buf, AttnvizWeightType type, int n_blocks)
{
  gsize size = attnviz_weight_type_block_bytes (type) * n_blocks;
  buf->alloc = g_malloc0 (size + 1);
  buf->bytes = buf->alloc + 1;
  return buf->bytes;
}

/* Dequantizes the N values at BUF and checks them bit for bit against WANT
 * (so -0 against +0 or a changed NaN payload would fail too). */
static void
check_row (AttnvizWeightType type, OddBuffer *buf, const float *want, int n)
{
  g_autofree float *got = g_new (float, n);
  attnviz_dequantize_row (type, buf->bytes, got, n);
  for (int i = 0; i < n; i++)
    if (memcmp (&got[i], &want[i], sizeof (float)) != 0)
      g_error ("%s value %d: got %.9g, want %.9g", attnviz_weight_type_name (type), i,
               got[i], want[i]);
  g_test_message ("%s: %d values equal bit for bit", attnviz_weight_type_name (type), n);
  g_free (buf->alloc);
}

/* ---- 32-value blocks ------------------------------------------------------ */

static void
test_q4_0 (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (40);
  OddBuffer buf;
  guint8 *p = odd_buffer (&buf, ATTNVIZ_WEIGHT_Q4_0, 2);
  float want[64];
  for (int b = 0; b < 2; b++, p += 18)
    {
      int q[32];
      for (int j = 0; j < 32; j++)
        q[j] = j < 16 ? j : (int) g_rand_int_range (rand, 0, 16);  /* every level */
      put_u16 (p, d_bits[b]);
      for (int j = 0; j < 16; j++)
        p[2 + j] = (guint8) (q[j] | (q[j + 16] << 4));
      for (int j = 0; j < 32; j++)
        want[32 * b + j] = half (d_bits[b]) * (float) (q[j] - 8);
    }
  check_row (ATTNVIZ_WEIGHT_Q4_0, &buf, want, 64);
}

static void
test_q4_1 (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (41);
  OddBuffer buf;
  guint8 *p = odd_buffer (&buf, ATTNVIZ_WEIGHT_Q4_1, 2);
  float want[64];
  for (int b = 0; b < 2; b++, p += 20)
    {
      int q[32];
      for (int j = 0; j < 32; j++)
        q[j] = j >= 16 ? j - 16 : (int) g_rand_int_range (rand, 0, 16);
      guint16 m_bits = b == 0 ? 0xb4cd : 0x3266;  /* -0.3000..., 0.2000... */
      put_u16 (p, d_bits[b]);
      put_u16 (p + 2, m_bits);
      for (int j = 0; j < 16; j++)
        p[4 + j] = (guint8) (q[j] | (q[j + 16] << 4));
      for (int j = 0; j < 32; j++)
        want[32 * b + j] = half (d_bits[b]) * (float) q[j] + half (m_bits);
    }
  check_row (ATTNVIZ_WEIGHT_Q4_1, &buf, want, 64);
}

/* Q5_0 and Q5_1: the 5th bit of value j is bit j of the little-endian qh. */
static void
pack_q5 (guint8 *qh, guint8 *qs, const int q[32])
{
  guint32 bits = 0;
  for (int j = 0; j < 32; j++)
    bits |= (guint32) (q[j] >> 4) << j;
  for (int k = 0; k < 4; k++)
    qh[k] = (guint8) (bits >> (8 * k));
  for (int j = 0; j < 16; j++)
    qs[j] = (guint8) ((q[j] & 15) | ((q[j + 16] & 15) << 4));
}

static void
test_q5_0 (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (50);
  OddBuffer buf;
  guint8 *p = odd_buffer (&buf, ATTNVIZ_WEIGHT_Q5_0, 2);
  float want[64];
  for (int b = 0; b < 2; b++, p += 22)
    {
      int q[32];
      for (int j = 0; j < 32; j++)
        q[j] = b == 0 ? j : (int) g_rand_int_range (rand, 0, 32);  /* every level */
      put_u16 (p, d_bits[b]);
      pack_q5 (p + 2, p + 6, q);
      for (int j = 0; j < 32; j++)
        want[32 * b + j] = half (d_bits[b]) * (float) (q[j] - 16);
    }
  check_row (ATTNVIZ_WEIGHT_Q5_0, &buf, want, 64);
}

static void
test_q5_1 (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (51);
  OddBuffer buf;
  guint8 *p = odd_buffer (&buf, ATTNVIZ_WEIGHT_Q5_1, 2);
  float want[64];
  for (int b = 0; b < 2; b++, p += 24)
    {
      int q[32];
      for (int j = 0; j < 32; j++)
        q[j] = b == 1 ? 31 - j : (int) g_rand_int_range (rand, 0, 32);
      guint16 m_bits = b == 0 ? 0xc0cd : 0x8001;  /* -2.4003..., -2^-24 */
      put_u16 (p, d_bits[b]);
      put_u16 (p + 2, m_bits);
      pack_q5 (p + 4, p + 8, q);
      for (int j = 0; j < 32; j++)
        want[32 * b + j] = half (d_bits[b]) * (float) q[j] + half (m_bits);
    }
  check_row (ATTNVIZ_WEIGHT_Q5_1, &buf, want, 64);
}

static void
test_q8_0 (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (80);
  OddBuffer buf;
  guint8 *p = odd_buffer (&buf, ATTNVIZ_WEIGHT_Q8_0, 2);
  float want[64];
  for (int b = 0; b < 2; b++, p += 34)
    {
      int q[32];
      for (int j = 0; j < 32; j++)
        q[j] = (int) g_rand_int_range (rand, -128, 128);
      q[0] = -128;
      q[1] = 127;
      put_u16 (p, d_bits[b]);
      for (int j = 0; j < 32; j++)
        p[2 + j] = (guint8) (gint8) q[j];
      for (int j = 0; j < 32; j++)
        want[32 * b + j] = half (d_bits[b]) * (float) q[j];
    }
  check_row (ATTNVIZ_WEIGHT_Q8_0, &buf, want, 64);
}

/* ---- K-quants: 256-value super-blocks ------------------------------------- */

/* Value v = 128h + 32k + l (k 0..3, l 0..31) of Q2_K and Q3_K keeps its low
 * 2 bits in qs[32h + l] at bits 2k. */
static void
pack_2bit (guint8 *qs, const int low[256])
{
  memset (qs, 0, 64);
  for (int v = 0; v < 256; v++)
    qs[32 * (v / 128) + v % 32] |= (guint8) ((low[v] & 3) << (2 * ((v % 128) / 32)));
}

static void
test_q2_k (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20);
  OddBuffer buf;
  guint8 *p = odd_buffer (&buf, ATTNVIZ_WEIGHT_Q2_K, 2);
  float want[512];
  for (int b = 0; b < 2; b++, p += 84)
    {
      int q[256], sc[16], mn[16];
      for (int g = 0; g < 16; g++)
        {
          sc[g] = b == 0 ? g : (int) g_rand_int_range (rand, 0, 16);
          mn[g] = b == 0 ? 15 - g : (int) g_rand_int_range (rand, 0, 16);
        }
      for (int v = 0; v < 256; v++)
        q[v] = (int) g_rand_int_range (rand, 0, 4);
      for (int g = 0; g < 16; g++)
        p[g] = (guint8) (sc[g] | (mn[g] << 4));
      pack_2bit (p + 16, q);
      put_u16 (p + 80, d_bits[b]);
      put_u16 (p + 82, dmin_bits[b]);
      for (int v = 0; v < 256; v++)
        {
          float dl = half (d_bits[b]) * (float) sc[v / 16];
          float ml = half (dmin_bits[b]) * (float) mn[v / 16];
          want[256 * b + v] = dl * (float) q[v] - ml;
        }
    }
  check_row (ATTNVIZ_WEIGHT_Q2_K, &buf, want, 512);
}

static void
test_q3_k (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (30);
  OddBuffer buf;
  guint8 *p = odd_buffer (&buf, ATTNVIZ_WEIGHT_Q3_K, 2);
  float want[512];
  /* Signed 6-bit scales, both ends included. */
  static const int scales0[16] = { -32, 31, -1, 0, 1, -17, 16, -16, 15, 30, -31, 7, -8, 24, -25, 3 };
  for (int b = 0; b < 2; b++, p += 110)
    {
      int q[256], sc[16];
      for (int g = 0; g < 16; g++)
        sc[g] = b == 0 ? scales0[g] : (int) g_rand_int_range (rand, -32, 32);
      for (int v = 0; v < 256; v++)
        q[v] = (int) g_rand_int_range (rand, -4, 4);

      /* hmask[l] bit v / 32 holds the 3rd bit of q + 4 for value v. */
      guint8 *hmask = p;
      memset (hmask, 0, 32);
      int low[256];
      for (int v = 0; v < 256; v++)
        {
          int u = q[v] + 4;
          low[v] = u & 3;
          hmask[v % 32] |= (guint8) ((u >> 2) << (v / 32));
        }
      pack_2bit (p + 32, low);
      /* 6-bit sc + 32: low nibbles in bytes 0..7 (g >= 8 in the high
       * nibble of byte g - 8), high 2 bits at bits 2 * (g / 4) of byte
       * 8 + g % 4. */
      guint8 *s = p + 96;
      memset (s, 0, 12);
      for (int g = 0; g < 16; g++)
        {
          int u = sc[g] + 32;
          s[g % 8] |= (guint8) ((u & 15) << (g < 8 ? 0 : 4));
          s[8 + g % 4] |= (guint8) ((u >> 4) << (2 * (g / 4)));
        }
      put_u16 (p + 108, d_bits[b]);
      for (int v = 0; v < 256; v++)
        want[256 * b + v] = (half (d_bits[b]) * (float) sc[v / 16]) * (float) q[v];
    }
  check_row (ATTNVIZ_WEIGHT_Q3_K, &buf, want, 512);
}

/* The 12-byte packing of eight 6-bit scales and mins (Q4_K, Q5_K), from
 * the table in attnviz-quant.h: bytes 0..3 scales 0..3 and bytes 4..7 mins
 * 0..3 in their low 6 bits; bytes 8..11 the low nibbles of scales 4..7
 * (low half) and mins 4..7 (high half); the top 2 bits of scales 4..7 and
 * mins 4..7 in the top bits of bytes 0..3 and 4..7. */
static void
pack_k_scales (guint8 *s, const int sc[8], const int mn[8])
{
  for (int j = 0; j < 4; j++)
    {
      s[j] = (guint8) (sc[j] | ((sc[j + 4] >> 4) << 6));
      s[j + 4] = (guint8) (mn[j] | ((mn[j + 4] >> 4) << 6));
      s[j + 8] = (guint8) ((sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4));
    }
}

/* Scales and mins for sub-blocks 4..7 with every pair of high bits. */
static const int k_scales0[8] = { 63, 0, 17, 42, 48, 31, 1, 60 };
static const int k_mins0[8] = { 5, 63, 32, 16, 59, 15, 36, 0 };

static void
test_q4_k (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (12);
  OddBuffer buf;
  guint8 *p = odd_buffer (&buf, ATTNVIZ_WEIGHT_Q4_K, 2);
  float want[512];
  for (int b = 0; b < 2; b++, p += 144)
    {
      int q[256], sc[8], mn[8];
      for (int j = 0; j < 8; j++)
        {
          sc[j] = b == 0 ? k_scales0[j] : (int) g_rand_int_range (rand, 0, 64);
          mn[j] = b == 0 ? k_mins0[j] : (int) g_rand_int_range (rand, 0, 64);
        }
      for (int v = 0; v < 256; v++)
        q[v] = (int) g_rand_int_range (rand, 0, 16);
      put_u16 (p, d_bits[b]);
      put_u16 (p + 2, dmin_bits[b]);
      pack_k_scales (p + 4, sc, mn);
      /* Values 64c + l in the low nibble of qs[32c + l], 64c + 32 + l in the
       * high nibble. */
      for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++)
          p[16 + 32 * c + l] = (guint8) (q[64 * c + l] | (q[64 * c + 32 + l] << 4));
      for (int v = 0; v < 256; v++)
        {
          float ds = half (d_bits[b]) * (float) sc[v / 32];
          float dm = half (dmin_bits[b]) * (float) mn[v / 32];
          want[256 * b + v] = ds * (float) q[v] - dm;
        }
    }
  check_row (ATTNVIZ_WEIGHT_Q4_K, &buf, want, 512);
}

static void
test_q5_k (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (13);
  OddBuffer buf;
  guint8 *p = odd_buffer (&buf, ATTNVIZ_WEIGHT_Q5_K, 2);
  float want[512];
  for (int b = 0; b < 2; b++, p += 176)
    {
      int q[256], sc[8], mn[8];
      for (int j = 0; j < 8; j++)
        {
          sc[j] = b == 1 ? k_scales0[7 - j] : (int) g_rand_int_range (rand, 0, 64);
          mn[j] = b == 1 ? k_mins0[7 - j] : (int) g_rand_int_range (rand, 0, 64);
        }
      for (int v = 0; v < 256; v++)
        q[v] = (int) g_rand_int_range (rand, 0, 32);
      put_u16 (p, d_bits[b]);
      put_u16 (p + 2, dmin_bits[b]);
      pack_k_scales (p + 4, sc, mn);
      /* Value v = 64c + 32k + l: low 4 bits as in Q4_K, 5th bit in qh[l]
       * bit 2c + k. */
      guint8 *qh = p + 16, *qs = p + 48;
      memset (qh, 0, 32);
      for (int v = 0; v < 256; v++)
        {
          int c = v / 64, k = (v % 64) / 32, l = v % 32;
          qh[l] |= (guint8) ((q[v] >> 4) << (2 * c + k));
        }
      for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++)
          qs[32 * c + l] = (guint8) ((q[64 * c + l] & 15) | ((q[64 * c + 32 + l] & 15) << 4));
      for (int v = 0; v < 256; v++)
        {
          float ds = half (d_bits[b]) * (float) sc[v / 32];
          float dm = half (dmin_bits[b]) * (float) mn[v / 32];
          want[256 * b + v] = ds * (float) q[v] - dm;
        }
    }
  check_row (ATTNVIZ_WEIGHT_Q5_K, &buf, want, 512);
}

static void
test_q6_k (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (14);
  OddBuffer buf;
  guint8 *p = odd_buffer (&buf, ATTNVIZ_WEIGHT_Q6_K, 2);
  float want[512];
  for (int b = 0; b < 2; b++, p += 210)
    {
      int q[256], sc[16];
      for (int g = 0; g < 16; g++)
        sc[g] = (int) g_rand_int_range (rand, -128, 128);
      sc[0] = -128;
      sc[15] = 127;
      for (int v = 0; v < 256; v++)
        q[v] = b == 0 ? v % 64 : (int) g_rand_int_range (rand, 0, 64);
      /* Value v = 128h + 32k + l: low 4 bits in ql[64h + 32 * (k % 2) + l]
       * (low nibble for k < 2, high for k >= 2), high 2 bits in
       * qh[32h + l] at bits 2k. */
      guint8 *ql = p, *qh = p + 128;
      memset (p, 0, 192);
      for (int v = 0; v < 256; v++)
        {
          int h = v / 128, k = (v % 128) / 32, l = v % 32;
          ql[64 * h + 32 * (k % 2) + l] |= (guint8) ((q[v] & 15) << (4 * (k / 2)));
          qh[32 * h + l] |= (guint8) ((q[v] >> 4) << (2 * k));
        }
      for (int g = 0; g < 16; g++)
        p[192 + g] = (guint8) (gint8) sc[g];
      put_u16 (p + 208, d_bits[b]);
      for (int v = 0; v < 256; v++)
        want[256 * b + v] = (half (d_bits[b]) * (float) sc[v / 16]) * (float) (q[v] - 32);
    }
  check_row (ATTNVIZ_WEIGHT_Q6_K, &buf, want, 512);
}

/* ---- F32, F16, BF16 -------------------------------------------------------- */

static void
test_f32 (void)
{
  const float values[] = { 1.0f, -0.0f, 3.5e-42f, -INFINITY, 123456.789f, NAN, 1e-30f };
  OddBuffer buf;
  int n = G_N_ELEMENTS (values);
  guint8 *p = odd_buffer (&buf, ATTNVIZ_WEIGHT_F32, n);
  for (int i = 0; i < n; i++)
    {
      guint32 bits;
      memcpy (&bits, &values[i], 4);
      for (int k = 0; k < 4; k++)
        p[4 * i + k] = (guint8) (bits >> (8 * k));
    }
  check_row (ATTNVIZ_WEIGHT_F32, &buf, values, n);
}

/* Every one of the 65536 halves, against attnviz_f16_to_f32 (the engine's
 * other, branching, conversion) and, for chosen ones, against values worked
 * out here.  Starting one pattern in, so the last 31 take the tail path. */
static void
test_f16 (void)
{
  for (int start = 0; start < 2; start++)
    {
      int n = 65536 - start;
      OddBuffer buf;
      guint8 *p = odd_buffer (&buf, ATTNVIZ_WEIGHT_F16, n);
      g_autofree float *want = g_new (float, n);
      for (int i = 0; i < n; i++)
        {
          put_u16 (p + 2 * i, (guint16) (start + i));
          want[i] = attnviz_f16_to_f32 ((guint16) (start + i));
        }
      check_row (ATTNVIZ_WEIGHT_F16, &buf, want, n);
    }

  static const struct { guint16 bits; float value; } known[] = {
    { 0x3c00, 1.0f }, { 0xc000, -2.0f }, { 0x0001, 0x1p-24f }, { 0x03ff, 1023 * 0x1p-24f },
    { 0x0400, 0x1p-14f }, { 0x7bff, 65504.0f }, { 0x3555, 1365 * 0x1p-12f },
    { 0x7c00, INFINITY }, { 0xfc00, -INFINITY }, { 0x8000, -0.0f },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (known); i++)
    {
      guint8 bytes[2] = { (guint8) known[i].bits, (guint8) (known[i].bits >> 8) };
      float got;
      attnviz_dequantize_row (ATTNVIZ_WEIGHT_F16, bytes, &got, 1);
      g_assert_cmpmem (&got, 4, &known[i].value, 4);
    }
  guint8 nan_bytes[2] = { 0x01, 0x7d };  /* a signalling NaN keeps its payload */
  float nan_value;
  attnviz_dequantize_row (ATTNVIZ_WEIGHT_F16, nan_bytes, &nan_value, 1);
  guint32 nan_bits;
  memcpy (&nan_bits, &nan_value, 4);
  g_assert_cmphex (nan_bits, ==, 0x7fa02000);
}

static void
test_bf16 (void)
{
  OddBuffer buf;
  int n = 65536 - 3;
  guint8 *p = odd_buffer (&buf, ATTNVIZ_WEIGHT_BF16, n);
  g_autofree float *want = g_new (float, n);
  for (int i = 0; i < n; i++)
    {
      guint32 bits = (guint32) (i + 3) << 16;
      put_u16 (p + 2 * i, (guint16) (i + 3));
      memcpy (&want[i], &bits, 4);
    }
  check_row (ATTNVIZ_WEIGHT_BF16, &buf, want, n);
}

/* ---- rows ------------------------------------------------------------------ */

/* attnviz_dequantize_rows: each row from its own offset into its own
 * stride, leaving the padding between output rows alone. */
static void
test_rows (gconstpointer data)
{
  AttnvizWeightType type = GPOINTER_TO_INT (data);
  const int n_rows = 3, n = 512, ld = n + 5;
  gsize row_bytes;
  g_assert_true (attnviz_weight_row_bytes (type, n, &row_bytes));
  gsize stride = row_bytes + 3;  /* rows need not be back to back */

  g_autoptr(GRand) rand = g_rand_new_with_seed (type);
  g_autofree guint8 *src = g_malloc (stride * n_rows + 1);
  for (gsize i = 0; i < stride * n_rows + 1; i++)
    src[i] = (guint8) g_rand_int (rand);
  /* Random bytes: some scales are inf or NaN, which the bitwise
   * comparison below handles like any other value. */

  g_autofree float *dst = g_new (float, ld * n_rows);
  for (int i = 0; i < ld * n_rows; i++)
    dst[i] = 12345.0f;
  attnviz_dequantize_rows (type, src + 1, stride, n_rows, n, dst, ld);

  for (int r = 0; r < n_rows; r++)
    {
      g_autofree float *row = g_new (float, n);
      attnviz_dequantize_row (type, src + 1 + r * stride, row, n);
      g_assert_cmpmem (dst + r * ld, n * sizeof (float), row, n * sizeof (float));
      for (int i = n; i < ld; i++)
        g_assert_cmpfloat (dst[r * ld + i], ==, 12345.0f);
    }
}

/* attnviz_weight_first_non_finite reads only the stored bits (every value,
 * or a block's f16 scales) yet says the same as dequantizing: blocks of
 * random bytes, in which about one scale in 32 has an all-ones exponent,
 * are non-finite for both or for neither, and at the same block. */
static void
test_finite_check_agrees_with_dequantizing (gconstpointer data)
{
  AttnvizWeightType type = GPOINTER_TO_INT (data);
  int block = attnviz_weight_type_block_size (type);
  gint64 n = block == 1 ? 64 : 4 * block;
  gsize n_bytes = 0;
  g_assert_true (attnviz_weight_row_bytes (type, n, &n_bytes));
  g_autofree guint8 *bytes = g_malloc (n_bytes);
  g_autofree float *values = g_new (float, n);
  GRand *rand = g_rand_new_with_seed (7 + type);
  guint flagged = 0;

  for (int trial = 0; trial < 2000; trial++)
    {
      for (gsize i = 0; i < n_bytes; i++)
        bytes[i] = (guint8) g_rand_int (rand);
      attnviz_dequantize_row (type, bytes, values, n);
      gint64 first = -1;
      for (gint64 i = 0; i < n && first < 0; i++)
        if (!isfinite (values[i]))
          first = i;
      double bad = 0;
      gint64 at = attnviz_weight_first_non_finite (type, bytes, n, &bad);
      /* A block type names the bad block's first value. */
      g_assert_cmpint (at, ==, first < 0 ? -1 : first / block * block);
      g_assert_true (at < 0 || !isfinite (bad));
      flagged += at >= 0;
    }
  g_assert_cmpuint (flagged, >, 0);
  g_assert_cmpuint (flagged, <, 2000);
  g_rand_free (rand);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/quant/f32/dequantizes-every-value-at-an-odd-address", test_f32);
  g_test_add_func ("/engine/quant/f16/dequantizes-all-65536-halves-exactly", test_f16);
  g_test_add_func ("/engine/quant/bf16/dequantizes-all-65536-values-exactly", test_bf16);
  g_test_add_func ("/engine/quant/q4_0/dequantizes-every-value-of-a-hand-built-block", test_q4_0);
  g_test_add_func ("/engine/quant/q4_1/dequantizes-every-value-of-a-hand-built-block", test_q4_1);
  g_test_add_func ("/engine/quant/q5_0/dequantizes-every-value-of-a-hand-built-block", test_q5_0);
  g_test_add_func ("/engine/quant/q5_1/dequantizes-every-value-of-a-hand-built-block", test_q5_1);
  g_test_add_func ("/engine/quant/q8_0/dequantizes-every-value-of-a-hand-built-block", test_q8_0);
  g_test_add_func ("/engine/quant/q2_k/dequantizes-every-value-of-a-hand-built-block", test_q2_k);
  g_test_add_func ("/engine/quant/q3_k/dequantizes-every-value-of-a-hand-built-block", test_q3_k);
  g_test_add_func ("/engine/quant/q4_k/dequantizes-every-value-of-a-hand-built-block", test_q4_k);
  g_test_add_func ("/engine/quant/q5_k/dequantizes-every-value-of-a-hand-built-block", test_q5_k);
  g_test_add_func ("/engine/quant/q6_k/dequantizes-every-value-of-a-hand-built-block", test_q6_k);
  {
    static const AttnvizWeightType all[] = {
      ATTNVIZ_WEIGHT_F32, ATTNVIZ_WEIGHT_F16, ATTNVIZ_WEIGHT_BF16, ATTNVIZ_WEIGHT_Q4_0,
      ATTNVIZ_WEIGHT_Q4_1, ATTNVIZ_WEIGHT_Q5_0, ATTNVIZ_WEIGHT_Q5_1, ATTNVIZ_WEIGHT_Q8_0,
      ATTNVIZ_WEIGHT_Q2_K, ATTNVIZ_WEIGHT_Q3_K, ATTNVIZ_WEIGHT_Q4_K, ATTNVIZ_WEIGHT_Q5_K,
      ATTNVIZ_WEIGHT_Q6_K,
    };
    for (guint i = 0; i < G_N_ELEMENTS (all); i++)
      {
        g_autofree char *lower = g_ascii_strdown (attnviz_weight_type_name (all[i]), -1);
        g_autofree char *path = g_strdup_printf ("/engine/quant/%s/finite-check-agrees-with-dequantizing", lower);
        g_test_add_data_func (path, GINT_TO_POINTER (all[i]), test_finite_check_agrees_with_dequantizing);
      }
  }

  static const AttnvizWeightType types[] = {
    ATTNVIZ_WEIGHT_F32, ATTNVIZ_WEIGHT_F16, ATTNVIZ_WEIGHT_BF16, ATTNVIZ_WEIGHT_Q4_0,
    ATTNVIZ_WEIGHT_Q4_1, ATTNVIZ_WEIGHT_Q5_0, ATTNVIZ_WEIGHT_Q5_1, ATTNVIZ_WEIGHT_Q8_0,
    ATTNVIZ_WEIGHT_Q2_K, ATTNVIZ_WEIGHT_Q3_K, ATTNVIZ_WEIGHT_Q4_K, ATTNVIZ_WEIGHT_Q5_K,
    ATTNVIZ_WEIGHT_Q6_K,
  };
  for (gsize i = 0; i < G_N_ELEMENTS (types); i++)
    {
      g_autofree char *lower = g_ascii_strdown (attnviz_weight_type_name (types[i]), -1);
      g_autofree char *path = g_strdup_printf ("/engine/quant/%s/dequantizes-strided-rows-like-single-rows", lower);
      g_test_add_data_func (path, GINT_TO_POINTER (types[i]), test_rows);
    }

  return g_test_run ();
}
