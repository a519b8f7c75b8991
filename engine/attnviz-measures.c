#define G_LOG_DOMAIN "attnviz-measures"
#include "config.h"

/* The per-head measures of a run (attnviz-measures.h defines each): an
 * accumulator of row sums, fed a block of rows at a time by the forward
 * pass or by a pass over a recorded attention source. */

#include <math.h>
#include <string.h>

#include "attnviz-measures.h"
#include "attnviz-parallel.h"

G_DEFINE_ENUM_TYPE (AttnvizMeasure, attnviz_measure,
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MEASURE_ENTROPY, "entropy"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MEASURE_ENTROPY_NORM, "entropy-norm"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MEASURE_DISTANCE, "distance"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MEASURE_SINK_FIRST, "sink-first"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MEASURE_SINK_SEP, "sink-sep"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MEASURE_SINK_PUNCT, "sink-punct"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MEASURE_SELF, "self"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MEASURE_PREV, "prev"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MEASURE_OFFSET_0, "offset-0"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MEASURE_OFFSET_1, "offset-1"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MEASURE_OFFSET_2, "offset-2"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MEASURE_OFFSET_3, "offset-3"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MEASURE_OFFSET_4, "offset-4"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MEASURE_OFFSET_5, "offset-5"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MEASURE_OFFSET_6, "offset-6"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MEASURE_OFFSET_7, "offset-7"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MEASURE_OFFSET_8, "offset-8"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MEASURE_PREVIOUS_TOKEN, "previous-token"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MEASURE_DUPLICATE_TOKEN, "duplicate-token"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MEASURE_INDUCTION, "induction"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MEASURE_PATTERN, "pattern"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MEASURE_VW_RATIO, "vw-ratio"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MEASURE_POS_NONE, "pos-none"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MEASURE_POS_SHUFFLED, "pos-shuffled"),
  G_DEFINE_ENUM_VALUE (ATTNVIZ_MEASURE_IMPORTANCE, "importance"))

const char *
attnviz_measure_get_name (AttnvizMeasure measure)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (ATTNVIZ_TYPE_MEASURE);
  GEnumValue *v = g_enum_get_value (klass, measure);
  g_return_val_if_fail (v != NULL, NULL);
  return v->value_nick;   /* static strings: they outlive the class reference */
}

gboolean
attnviz_measure_from_name (const char *name, AttnvizMeasure *measure)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (ATTNVIZ_TYPE_MEASURE);
  GEnumValue *v = name ? g_enum_get_value_by_nick (klass, name) : NULL;
  if (v == NULL)
    return FALSE;
  *measure = v->value;
  return TRUE;
}

/* ---- the table ---- */

AttnvizHeadMeasures *
attnviz_head_measures_new (int n_layer, int n_head)
{
  g_return_val_if_fail (n_layer >= 0 && n_head >= 0, NULL);
  AttnvizHeadMeasures *self = g_new0 (AttnvizHeadMeasures, 1);
  self->n_layer = n_layer;
  self->n_head = n_head;
  gsize n = (gsize) n_layer * n_head * ATTNVIZ_N_MEASURES;
  self->values = g_new (double, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    self->values[i] = NAN;
  return self;
}

void
attnviz_head_measures_free (AttnvizHeadMeasures *self)
{
  if (self == NULL)
    return;
  g_free (self->values);
  g_free (self->additive);
  g_free (self);
}

typedef struct {
  const AttnvizHeadMeasures *table;
  AttnvizMeasure measure;
} SortBy;

static int
compare_heads (gconstpointer pa, gconstpointer pb, gpointer data)
{
  const SortBy *by = data;
  int a = *(const int *) pa, b = *(const int *) pb;
  double va = by->table->values[(gsize) a * ATTNVIZ_N_MEASURES + by->measure];
  double vb = by->table->values[(gsize) b * ATTNVIZ_N_MEASURES + by->measure];
  gboolean na = isnan (va), nb = isnan (vb);
  if (na != nb)
    return na ? 1 : -1;
  if (!na && va != vb)
    return va > vb ? -1 : 1;
  return a - b;
}

void
attnviz_head_measures_sort (const AttnvizHeadMeasures *self, AttnvizMeasure measure, int *order)
{
  g_return_if_fail (measure < ATTNVIZ_N_MEASURES);
  int n = self->n_layer * self->n_head;
  for (int i = 0; i < n; i++)
    order[i] = i;
  SortBy by = { self, measure };
  g_qsort_with_data (order, n, sizeof (int), compare_heads, &by);
}

static int
row_at (const int *order, int k)
{
  return order ? order[k] : k;
}

/* A hybrid model's head: "additive" or "scaled_dot" (as `train --score`
 * spells them: a hybrid's other heads are scaled, and "dot" there means
 * unscaled); NULL when the table has one score. */
static const char *
score_of (const AttnvizHeadMeasures *self, int r)
{
  return self->additive == NULL ? NULL : self->additive[r] ? "additive" : "scaled_dot";
}

char *
attnviz_head_measures_to_text (const AttnvizHeadMeasures *self, const int *order)
{
  GString *s = g_string_new (self->additive ? "layer  head      score" : "layer  head");
  for (int m = 0; m < ATTNVIZ_N_MEASURES; m++)
    if (self->has[m])
      g_string_append_printf (s, " %*s", MAX (9, (int) strlen (attnviz_measure_get_name (m))),
                              attnviz_measure_get_name (m));
  g_string_append_c (s, '\n');
  for (int k = 0; k < self->n_layer * self->n_head; k++)
    {
      int r = row_at (order, k);
      g_string_append_printf (s, "%5d  %4d", r / self->n_head, r % self->n_head);
      if (self->additive)
        g_string_append_printf (s, " %10s", score_of (self, r));
      for (int m = 0; m < ATTNVIZ_N_MEASURES; m++)
        if (self->has[m])
          {
            int w = MAX (9, (int) strlen (attnviz_measure_get_name (m)));
            double v = self->values[(gsize) r * ATTNVIZ_N_MEASURES + m];
            if (isnan (v))
              g_string_append_printf (s, " %*s", w, "-");
            else
              g_string_append_printf (s, " %*.4f", w, v);
          }
      g_string_append_c (s, '\n');
    }
  return g_string_free (s, FALSE);
}

/* %.9g in the C locale: enough digits to read back a float's value. */
static void
append_number (GString *s, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append (s, g_ascii_formatd (buf, sizeof buf, "%.9g", v));
}

char *
attnviz_head_measures_to_csv (const AttnvizHeadMeasures *self, const int *order)
{
  GString *s = g_string_new (self->additive ? "layer,head,score" : "layer,head");
  for (int m = 0; m < ATTNVIZ_N_MEASURES; m++)
    if (self->has[m])
      g_string_append_printf (s, ",%s", attnviz_measure_get_name (m));
  g_string_append_c (s, '\n');
  for (int k = 0; k < self->n_layer * self->n_head; k++)
    {
      int r = row_at (order, k);
      g_string_append_printf (s, "%d,%d", r / self->n_head, r % self->n_head);
      if (self->additive)
        g_string_append_printf (s, ",%s", score_of (self, r));
      for (int m = 0; m < ATTNVIZ_N_MEASURES; m++)
        if (self->has[m])
          {
            double v = self->values[(gsize) r * ATTNVIZ_N_MEASURES + m];
            g_string_append_c (s, ',');
            if (!isnan (v))
              append_number (s, v);
          }
      g_string_append_c (s, '\n');
    }
  return g_string_free (s, FALSE);
}

char *
attnviz_head_measures_to_json (const AttnvizHeadMeasures *self, const int *order)
{
  GString *s = g_string_new ("{\n  \"columns\": [\"layer\", \"head\"");
  if (self->additive)
    g_string_append (s, ", \"score\"");
  for (int m = 0; m < ATTNVIZ_N_MEASURES; m++)
    if (self->has[m])
      g_string_append_printf (s, ", \"%s\"", attnviz_measure_get_name (m));
  g_string_append (s, "],\n  \"heads\": [");
  for (int k = 0; k < self->n_layer * self->n_head; k++)
    {
      int r = row_at (order, k);
      g_string_append_printf (s, "%s\n    {\"layer\": %d, \"head\": %d", k ? "," : "", r / self->n_head,
                              r % self->n_head);
      if (self->additive)
        g_string_append_printf (s, ", \"score\": \"%s\"", score_of (self, r));
      for (int m = 0; m < ATTNVIZ_N_MEASURES; m++)
        if (self->has[m])
          {
            double v = self->values[(gsize) r * ATTNVIZ_N_MEASURES + m];
            g_string_append_printf (s, ", \"%s\": ", attnviz_measure_get_name (m));
            if (isnan (v))
              g_string_append (s, "null");
            else
              append_number (s, v);
          }
      g_string_append_c (s, '}');
    }
  g_string_append (s, "\n  ]\n}\n");
  return g_string_free (s, FALSE);
}

/* ---- the accumulator ---- */

#define N_OFFSETS (ATTNVIZ_MEASURE_MAX_OFFSET + 1)

/* Row sums of one head, in double: the means come from these at the end. */
typedef struct {
  double entropy, entropy_norm, distance, first, sep, punct;
  double offset[N_OFFSETS];   /* sum over rows i >= k of p_{i,i-k} */
  double total;               /* sum of every p_ij: TransformerLens's denominator */
  double duplicate, induction, pattern;
  double vw;                  /* sum over rows of (sum_j p_ij f_j) / mean visible f */
  int rows, norm_rows, vw_rows;
} HeadSums;

struct _AttnvizMeasuresAcc {
  int n_layer, n_head, T;
  AttnvizMeasuresInput in;
  int *earlier;         /* (T) the last position p < i with ids[p] == ids[i], or -1 */
  int *sep, n_sep;      /* (n_sep) separator keys, ascending */
  int *punct, n_punct;  /* (n_punct) punctuation keys, ascending */
  HeadSums *sums;       /* (n_layer, n_head) */
  gboolean *seen;       /* (n_layer, n_head) */
};

static int *
positions_of_class (const guint8 *key_class, int T, AttnvizKeyClass kind, int *n)
{
  int *v = g_new (int, MAX (T, 1));
  *n = 0;
  for (int j = 0; j < T; j++)
    if (key_class[j] == kind)
      v[(*n)++] = j;
  return v;
}

AttnvizMeasuresAcc *
attnviz_measures_acc_new (int n_layer, int n_head, const AttnvizMeasuresInput *input)
{
  g_return_val_if_fail (input != NULL && input->T > 0 && n_layer >= 0 && n_head >= 0, NULL);
  AttnvizMeasuresAcc *self = g_new0 (AttnvizMeasuresAcc, 1);
  int T = input->T;
  self->n_layer = n_layer;
  self->n_head = n_head;
  self->T = T;
  self->in = *input;
  self->sums = g_new0 (HeadSums, MAX ((gsize) n_layer * n_head, 1));
  self->seen = g_new0 (gboolean, MAX ((gsize) n_layer * n_head, 1));
  if (input->ids)
    {
      /* Chains of earlier occurrences: a hash from id to its last position. */
      self->earlier = g_new (int, T);
      g_autoptr(GHashTable) last = g_hash_table_new (g_direct_hash, g_direct_equal);
      for (int i = 0; i < T; i++)
        {
          gpointer p;
          self->earlier[i] = g_hash_table_lookup_extended (last, GINT_TO_POINTER (input->ids[i]), NULL, &p)
                               ? GPOINTER_TO_INT (p) : -1;
          g_hash_table_insert (last, GINT_TO_POINTER (input->ids[i]), GINT_TO_POINTER (i));
        }
    }
  if (input->key_class)
    {
      self->sep = positions_of_class (input->key_class, T, ATTNVIZ_KEY_SEPARATOR, &self->n_sep);
      self->punct = positions_of_class (input->key_class, T, ATTNVIZ_KEY_PUNCT, &self->n_punct);
    }
  return self;
}

void
attnviz_measures_acc_free (AttnvizMeasuresAcc *self)
{
  if (self == NULL)
    return;
  g_free (self->earlier);
  g_free (self->sep);
  g_free (self->punct);
  g_free (self->sums);
  g_free (self->seen);
  g_free (self);
}

static double
sum_at (const float *row, int n_keys, const int *keys, int n)
{
  double s = 0.0;
  for (int k = 0; k < n && keys[k] < n_keys; k++)
    s += row[keys[k]];
  return s;
}

/* One row I of n_keys probabilities (zeros past them) seeing N_VISIBLE keys. */
static void
add_row (const AttnvizMeasuresAcc *self, HeadSums *h, int i, const float *row, int n_keys, int n_visible)
{
  /* entropy, distance and the row's total in one pass; p ln p in float,
   * summed in double (a row's error stays near float rounding) */
  double ent = 0.0, dist = 0.0, total = 0.0;
  for (int j = 0; j < n_keys; j++)
    {
      float p = row[j];
      if (p > 0.0f)
        {
          ent -= (double) (p * logf (p));
          dist += (double) p * abs (i - j);
          total += p;
        }
    }
  h->entropy += ent;
  if (n_visible >= 2)
    {
      h->entropy_norm += ent / log ((double) n_visible);
      h->norm_rows++;
    }
  h->distance += dist;
  h->total += total;
  h->first += n_keys > 0 ? row[0] : 0.0;
  if (self->sep)
    {
      h->sep += sum_at (row, n_keys, self->sep, self->n_sep);
      h->punct += sum_at (row, n_keys, self->punct, self->n_punct);
    }
  for (int k = 0; k < N_OFFSETS && k <= i; k++)
    if (i - k < n_keys)
      h->offset[k] += row[i - k];
  if (self->earlier)
    for (int p = self->earlier[i]; p >= 0; p = self->earlier[p])
      {
        /* duplicate: key p (p < i); induction: key p + 1 (<= i) */
        if (p < n_keys)
          h->duplicate += row[p];
        if (p + 1 < n_keys)
          h->induction += row[p + 1];
      }
  if (self->in.pattern)
    {
      const float *mask = self->in.pattern + (gsize) i * self->T;
      double s = 0.0;
      for (int j = 0; j < n_keys; j++)
        s += (double) row[j] * mask[j];
      h->pattern += s;
    }
  h->rows++;
}

void
attnviz_measures_acc_add_value_rows (AttnvizMeasuresAcc *self, int layer, int head, int i0, int m,
                                     const float *weighted, const float *visible_mean)
{
  g_return_if_fail (layer >= 0 && layer < self->n_layer && head >= 0 && head < self->n_head);
  g_return_if_fail (i0 >= 0 && i0 + m <= self->T);
  HeadSums *h = &self->sums[(gsize) layer * self->n_head + head];
  for (int r = 0; r < m; r++)
    if (visible_mean[r] > 0.0f)
      {
        h->vw += (double) weighted[r] / visible_mean[r];
        h->vw_rows++;
      }
}

void
attnviz_measures_acc_add_rows (AttnvizMeasuresAcc *self, int layer, int head, int i0, int m, const float *P,
                               gsize ldp, int n_keys, const int *n_visible)
{
  g_return_if_fail (layer >= 0 && layer < self->n_layer && head >= 0 && head < self->n_head);
  g_return_if_fail (i0 >= 0 && i0 + m <= self->T && n_keys <= self->T);
  gsize at = (gsize) layer * self->n_head + head;
  HeadSums *h = &self->sums[at];
  self->seen[at] = TRUE;
  for (int r = 0; r < m; r++)
    add_row (self, h, i0 + r, P + (gsize) r * ldp, n_keys, n_visible[r]);
}

/* Rows a pass over an attention source reads at once. */
#define PASS_ROW_BLOCK 128

typedef struct {
  AttnvizMeasuresAcc *acc;
  AttnvizAttention *att;
  const int *layers, *heads;   /* model indices of the recorded ones */
  int n_rec_heads;
  GCancellable *cancellable;
} PassJob;

static void
pass_range (gpointer data, gsize start, gsize end)
{
  const PassJob *job = data;
  int T = attnviz_attention_get_n_rows (job->att), n_cols = attnviz_attention_get_n_cols (job->att);
  gboolean causal = attnviz_attention_is_causal (job->att);
  int block = MIN (PASS_ROW_BLOCK, T);
  g_autofree float *buf = g_new (float, (gsize) block * n_cols);
  g_autofree int *visible = g_new (int, block);
  for (gsize k = start; k < end; k++)
    {
      int layer = job->layers[k / job->n_rec_heads], head = job->heads[k % job->n_rec_heads];
      for (int i0 = 0; i0 < T; i0 += block)
        {
          if (g_cancellable_is_cancelled (job->cancellable))
            return;
          int m = MIN (block, T - i0);
          /* a causal block sees no key after its last row */
          int keys = causal ? MIN (i0 + m, n_cols) : n_cols;
          attnviz_attention_get_rect (job->att, layer, head, i0, i0 + m, 0, keys, buf, keys);
          attnviz_attention_count_visible (job->att, i0, i0 + m, visible);
          attnviz_measures_acc_add_rows (job->acc, layer, head, i0, m, buf, keys, keys, visible);
          const float *f = attnviz_attention_get_value_norms (job->att, layer, head);
          if (f)
            {
              float weighted[PASS_ROW_BLOCK], mean[PASS_ROW_BLOCK];
              attnviz_attention_visible_mean (job->att, f, i0, i0 + m, mean);
              for (int r = 0; r < m; r++)
                {
                  double s = 0.0;
                  for (int j = 0; j < keys; j++)
                    s += (double) buf[(gsize) r * keys + j] * f[j];
                  weighted[r] = (float) s;
                }
              attnviz_measures_acc_add_value_rows (job->acc, layer, head, i0, m, weighted, mean);
            }
        }
    }
}

gboolean
attnviz_measures_acc_add_attention (AttnvizMeasuresAcc *self, AttnvizAttention *attention, GCancellable *cancellable)
{
  g_return_val_if_fail (attnviz_attention_get_n_rows (attention) == self->T
                        && attnviz_attention_get_n_cols (attention) == self->T, FALSE);
  int n_layers = attnviz_attention_get_n_layers (attention), n_heads = attnviz_attention_get_n_heads (attention);
  g_autofree int *layers = g_new (int, MAX (n_layers, 1));
  g_autofree int *heads = g_new (int, MAX (n_heads, 1));
  int nl = 0, nh = 0;
  for (int l = 0; l < self->n_layer && nl < n_layers; l++)
    for (int h = 0; h < self->n_head; h++)
      if (attnviz_attention_has_head (attention, l, h))
        {
          layers[nl++] = l;
          break;
        }
  for (int h = 0; h < self->n_head && nh < n_heads && nl > 0; h++)
    if (attnviz_attention_has_head (attention, layers[0], h))
      heads[nh++] = h;
  PassJob job = { self, attention, layers, heads, MAX (nh, 1), cancellable };
  attnviz_parallel_for ((gsize) nl * nh, 1, pass_range, &job);
  return !g_cancellable_is_cancelled (cancellable);
}

void
attnviz_measures_acc_finish (const AttnvizMeasuresAcc *self, AttnvizHeadMeasures *out)
{
  g_return_if_fail (out->n_layer == self->n_layer && out->n_head == self->n_head);
  int T = self->T;
  for (int m = ATTNVIZ_MEASURE_ENTROPY; m <= ATTNVIZ_MEASURE_PREVIOUS_TOKEN; m++)
    out->has[m] = TRUE;
  out->has[ATTNVIZ_MEASURE_SINK_SEP] = out->has[ATTNVIZ_MEASURE_SINK_PUNCT] = self->sep != NULL;
  out->has[ATTNVIZ_MEASURE_DUPLICATE_TOKEN] = out->has[ATTNVIZ_MEASURE_INDUCTION] = self->earlier != NULL;
  out->has[ATTNVIZ_MEASURE_PATTERN] = self->in.pattern != NULL;
  for (gsize at = 0; at < (gsize) self->n_layer * self->n_head; at++)
    out->has[ATTNVIZ_MEASURE_VW_RATIO] |= self->sums[at].vw_rows > 0;
  for (gsize at = 0; at < (gsize) self->n_layer * self->n_head; at++)
    {
      const HeadSums *h = &self->sums[at];
      double *v = out->values + at * ATTNVIZ_N_MEASURES;
      if (!self->seen[at] || h->rows == 0)
        continue;
      double rows = h->rows;
      v[ATTNVIZ_MEASURE_ENTROPY] = h->entropy / rows;
      v[ATTNVIZ_MEASURE_ENTROPY_NORM] = h->norm_rows ? h->entropy_norm / h->norm_rows : NAN;
      v[ATTNVIZ_MEASURE_DISTANCE] = h->distance / rows;
      v[ATTNVIZ_MEASURE_SINK_FIRST] = h->first / rows;
      if (self->sep)
        {
          v[ATTNVIZ_MEASURE_SINK_SEP] = h->sep / rows;
          v[ATTNVIZ_MEASURE_SINK_PUNCT] = h->punct / rows;
        }
      for (int k = 0; k < N_OFFSETS; k++)
        v[ATTNVIZ_MEASURE_OFFSET_0 + k] = T > k ? h->offset[k] / (T - k) : NAN;
      v[ATTNVIZ_MEASURE_SELF] = v[ATTNVIZ_MEASURE_OFFSET_0];
      v[ATTNVIZ_MEASURE_PREV] = v[ATTNVIZ_MEASURE_OFFSET_1];
      double total = h->total > 0.0 ? h->total : NAN;
      v[ATTNVIZ_MEASURE_PREVIOUS_TOKEN] = h->offset[1] / total;
      if (self->earlier)
        {
          v[ATTNVIZ_MEASURE_DUPLICATE_TOKEN] = h->duplicate / total;
          v[ATTNVIZ_MEASURE_INDUCTION] = h->induction / total;
        }
      if (self->in.pattern)
        v[ATTNVIZ_MEASURE_PATTERN] = h->pattern / total;
      if (h->vw_rows > 0)
        v[ATTNVIZ_MEASURE_VW_RATIO] = h->vw / h->vw_rows;
    }
}
