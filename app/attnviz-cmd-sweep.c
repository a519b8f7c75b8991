/* attnviz sweep --task dates --heads 1,2,4,8 --pos sinusoidal,learned,rope,none
 *
 * Trains every combination of the listed choices with the same budget and
 * seed and writes a markdown table of held-out accuracy and training time.
 */
#define G_LOG_DOMAIN "attnviz-cmd-sweep"
#include "config.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "attnviz-cli.h"
#include "attnviz-fileutil.h"
#include "attnviz-train.h"

/* One axis of the sweep: its values as given. */
typedef struct {
  const char *name;       /* column title */
  char **values;
} Axis;

enum { AX_LAYERS, AX_D_MODEL, AX_HEADS, AX_HEAD_DIM, AX_POS, AX_SCORE, AX_MASK, AX_ACT, AX_SEED, N_AXES };

static gboolean
apply (AttnvizConfig *c, guint64 *seed, int axis, const char *value, GError **error)
{
  gint64 n = 0;
  gboolean numeric = axis == AX_LAYERS || axis == AX_D_MODEL || axis == AX_HEADS || axis == AX_HEAD_DIM
                     || axis == AX_SEED;
  if (numeric && !(g_strcmp0 (value, "auto") == 0 && axis == AX_HEAD_DIM)
      && !g_ascii_string_to_signed (value, 10, axis == AX_SEED ? 0 : 1,
                                    axis == AX_SEED ? G_MAXINT64 : ATTNVIZ_CLI_MAX_TRAIN_SIZE, &n,
                                    error))
    return FALSE;
  switch (axis)
    {
    case AX_LAYERS:
      c->n_layer = (int) n;
      c->n_enc_layer = c->encoder_decoder ? (int) n : 0;
      return TRUE;
    case AX_D_MODEL:
      c->d_model = (int) n;
      c->d_ff = 4 * (int) n;
      return TRUE;
    case AX_HEADS:
      c->n_head = c->n_kv_head = (int) n;
      return TRUE;
    case AX_HEAD_DIM:
      c->head_dim = (int) n; /* 0 ("auto"): d_model / heads, set later */
      return TRUE;
    case AX_POS:
      return attnviz_train_parse_position (value, &c->pos, error);
    case AX_SCORE:
      return attnviz_config_parse_score (c, value, error);
    case AX_MASK:
      return attnviz_pattern_parse (&c->pattern, value, error);
    case AX_ACT:
      return attnviz_train_parse_activation (value, &c->act, error);
    case AX_SEED:
      *seed = (guint64) n;
      return TRUE;
    default:
      g_assert_not_reached ();
    }
}

/* What AXIS's value made of C and SEED: two values with the same key
 * ("scaled" and "scaled_dot", "01" and "1") would train the same run. */
static char *
axis_key (int axis, const AttnvizConfig *c, guint64 seed)
{
  switch (axis)
    {
    case AX_LAYERS: return g_strdup_printf ("%d", c->n_layer);
    case AX_D_MODEL: return g_strdup_printf ("%d", c->d_model);
    case AX_HEADS: return g_strdup_printf ("%d", c->n_head);
    case AX_HEAD_DIM: return g_strdup_printf ("%d", c->head_dim);
    case AX_POS: return g_strdup (attnviz_position_kind_to_string (c->pos));
    case AX_SCORE: return attnviz_config_score_to_string (c);
    case AX_MASK: return attnviz_pattern_to_string (&c->pattern);
    case AX_ACT: return g_strdup_printf ("%d", (int) c->act);
    case AX_SEED: return g_strdup_printf ("%" G_GUINT64_FORMAT, seed);
    default: g_assert_not_reached ();
    }
}

/* "hybrid:additive=0,2" inside a comma-separated --score list: the
 * numbers after it are its layers, not scores of their own. */
static void
join_hybrid_layers (char **values)
{
  int out = 0;
  for (int i = 0; values[i]; i++)
    {
      gboolean number = values[i][0] != '\0' && strspn (values[i], "0123456789") == strlen (values[i]);
      if (number && out > 0 && g_str_has_prefix (values[out - 1], "hybrid:additive="))
        {
          char *joined = g_strconcat (values[out - 1], ",", values[i], NULL);
          g_free (values[out - 1]);
          g_free (values[i]);
          values[out - 1] = joined;
        }
      else
        values[out++] = values[i];
    }
  values[out] = NULL;
}

/* The model and seed of run RUN: every axis's value at RUN's index. */
static gboolean
run_config (AttnvizConfig *c, guint64 *seed, const AttnvizConfig *base, const Axis *axes, const int *counts,
            int run, int *idx, GError **error)
{
  *c = *base;
  *seed = 1;
  for (int a = N_AXES - 1; a >= 0; a--)
    {
      idx[a] = run % counts[a];
      run /= counts[a];
    }
  for (int a = 0; a < N_AXES; a++)
    if (!apply (c, seed, a, axes[a].values[idx[a]], error))
      return FALSE;
  if (c->head_dim == 0)
    c->head_dim = MAX (c->d_model / c->n_head, 1);
  return attnviz_config_check_score (c, error);
}

static void
keep_train_seconds (const AttnvizTrainReport *report, gpointer data)
{
  *(double *) data = report->train_seconds;
}

/* --pg-steps: from the weights T trained, N more steps of OBJECTIVE (ce or
 * ce+pg) with the same batch, at LR with a 20-step warm-up and a cosine
 * decay to a tenth; the held-out result into RES, the training time into
 * *SECONDS. */
static gboolean
continue_training (AttnvizTrainer *t, AttnvizTask *task, AttnvizObjective objective, int n, double lr,
                   double pg_weight, int max_S, int max_T, AttnvizEvalResult *res, double *seconds, GError **error)
{
  AttnvizTrainOptions opt = *attnviz_trainer_get_options (t);
  opt.objective = objective;
  opt.steps = n;
  opt.lr = lr;
  opt.warmup = MIN (20, n);
  opt.reward = ATTNVIZ_REWARD_MIX;
  opt.reward_mix = 0.5;
  opt.pg_weight = pg_weight;
  opt.seed += 1000;
  g_autoptr(AttnvizTrainer) t2 = attnviz_trainer_new (attnviz_trainer_get_config (t), &opt, max_S, max_T, error);
  if (t2 == NULL)
    return FALSE;
  gsize n1, n2;
  float *from = attnviz_trainer_get_params (t, &n1);
  float *to = attnviz_trainer_get_params (t2, &n2);
  g_assert (n1 == n2);
  memcpy (to, from, sizeof (float) * n1);
  *seconds = 0.0;
  AttnvizTrainLoop loop = { .report = keep_train_seconds, .report_data = seconds };
  return attnviz_trainer_run (t2, task, &loop, res, error);
}

int
attnviz_cmd_sweep (int argc, char **argv)
{
  g_autofree char *task_spec = NULL, *arch = NULL, *out = NULL, *save_dir = NULL;
  g_autofree char *layers = NULL, *d_model = NULL, *heads = NULL, *head_dim = NULL, *pos = NULL, *score = NULL;
  g_autofree char *mask = NULL, *act = NULL, *seeds = NULL;
  int steps = 1500, batch = 32, warmup = 100, threads = 0, pg_steps = 0;
  double lr = 1e-3, dropout = 0.0, pg_lr = 1e-4, pg_weight = 0.5;
  const GOptionEntry entries[] = {
    { "task", 't', 0, G_OPTION_ARG_STRING, &task_spec, "copy, reverse, sort, dates, repeat or file:PATH", "TASK" },
    { "arch", 0, 0, G_OPTION_ARG_STRING, &arch, "seq2seq or decoder (default: what the task suits)", "ARCH" },
    { "layers", 'l', 0, G_OPTION_ARG_STRING, &layers, "Layers, e.g. 1,2 (default 2)", "LIST" },
    { "d-model", 'd', 0, G_OPTION_ARG_STRING, &d_model, "Widths (default 64)", "LIST" },
    { "heads", 'H', 0, G_OPTION_ARG_STRING, &heads, "Heads, e.g. 1,2,4,8 (default 4)", "LIST" },
    { "head-dim", 0, 0, G_OPTION_ARG_STRING, &head_dim, "Head widths, or auto = d-model / heads (default)", "LIST" },
    { "pos", 0, 0, G_OPTION_ARG_STRING, &pos, "Positional encodings: sinusoidal,learned,rope,none", "LIST" },
    { "score", 0, 0, G_OPTION_ARG_STRING, &score, "Compatibility functions: scaled_dot,dot,additive,hybrid (hybrid:heads=K, hybrid:additive=L1,L2)", "LIST" },
    { "mask", 0, 0, G_OPTION_ARG_STRING, &mask, "Masks: causal,window:W,strided:S,block:B,window:W+global:G", "LIST" },
    { "act", 0, 0, G_OPTION_ARG_STRING, &act, "Activations: relu,gelu", "LIST" },
    { "seeds", 's', 0, G_OPTION_ARG_STRING, &seeds, "Seeds (default 1)", "LIST" },
    { "steps", 'n', 0, G_OPTION_ARG_INT, &steps, "Optimizer steps of each run (default 1500)", "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Sequences per step (default 32)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, "Peak learning rate (default 1e-3)", "LR" },
    { "warmup", 0, 0, G_OPTION_ARG_INT, &warmup, "Warm-up steps (default 100)", "N" },
    { "dropout", 0, 0, G_OPTION_ARG_DOUBLE, &dropout, "Dropout (default 0)", "P" },
    { "threads", 'j', 0, G_OPTION_ARG_INT, &threads, "OpenBLAS threads (default 2, or 1 on one core)", "N" },
    { "pg-steps", 0, 0, G_OPTION_ARG_INT, &pg_steps,
      "Then N more steps of ce, and apart N of ce+pg, from each model: two more columns (default 0: none)", "N" },
    { "pg-lr", 0, 0, G_OPTION_ARG_DOUBLE, &pg_lr, "Peak learning rate of those steps (default 1e-4)", "LR" },
    { "pg-weight", 0, 0, G_OPTION_ARG_DOUBLE, &pg_weight, "ce+pg's lambda (default 0.5)", "L" },
    { "save-dir", 0, 0, G_OPTION_ARG_FILENAME, &save_dir, "Save each model in a folder under DIR", "DIR" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Write the table here (default: stdout)", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) octx = g_option_context_new ("- train variants of a model and tabulate them");
  g_option_context_add_main_entries (octx, entries, NULL);
  g_option_context_set_description (octx,
    "Every combination of the lists is trained with the same budget and seed.\n"
    "Example:\n  attnviz sweep --task dates --heads 1,2,4,8 --pos sinusoidal,learned,rope,none --steps 1500 "
    "-o sweep.md\n");
  gboolean pg_lr_given = attnviz_cli_option_given (argc, argv, "--pg-lr", 0);
  gboolean pg_weight_given = attnviz_cli_option_given (argc, argv, "--pg-weight", 0);
  gboolean help;
  if (!attnviz_cli_parse (octx, &argc, &argv, &help))
    return help ? ATTNVIZ_EXIT_OK : ATTNVIZ_EXIT_USAGE;
  if (argc != 1)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "sweep takes no positional arguments (see attnviz sweep --help)");
  if (task_spec == NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "sweep needs --task");
  if (save_dir != NULL && *save_dir == '\0')
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--save-dir: the folder is empty");
  /* Outputs are checked before the first run trains: no link, no FIFO. */
  g_autoptr(GError) error = NULL;
  if ((out != NULL && !attnviz_cli_check_output ("-o", out, &error))
      || (save_dir != NULL && !attnviz_output_check_dir (save_dir, NULL, &error)))
    return attnviz_cli_fail_error (error);
  /* each number on its own, the refusal naming it (NaN fails every test) */
  const struct { const char *name; int value, min, max; } ints[] = {
    { "--steps", steps, 1, G_MAXINT }, { "--batch", batch, 1, 1 << 16 }, { "--warmup", warmup, 0, G_MAXINT },
    { "--threads", threads, 0, 1024 }, { "--pg-steps", pg_steps, 0, G_MAXINT },
  };
  for (guint i = 0; i < G_N_ELEMENTS (ints); i++)
    if (ints[i].value < ints[i].min || ints[i].value > ints[i].max)
      return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "%s: %d is not in [%d, %d]", ints[i].name, ints[i].value,
                               ints[i].min, ints[i].max);
  if (!(lr > 0.0 && isfinite (lr)))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--lr: %g is not a positive number", lr);
  if (!(pg_lr > 0.0 && isfinite (pg_lr)))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--pg-lr: %g is not a positive number", pg_lr);
  if (!(dropout >= 0.0 && dropout < 1.0))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--dropout: %g is not in [0, 1)", dropout);
  if (!(pg_weight >= 0.0 && pg_weight <= 1.0))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--pg-weight: %g is not in [0, 1]", pg_weight);
  /* They only shape the --pg-steps columns: without them, refused rather than ignored. */
  if (pg_steps == 0 && (pg_lr_given || pg_weight_given))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "%s: only with --pg-steps N", pg_lr_given ? "--pg-lr" : "--pg-weight");

  g_autoptr(AttnvizTask) task = attnviz_task_new (task_spec, 0, &error);
  if (task == NULL)   /* a name it does not know is usage; a file:PATH that fails, bad input */
    return attnviz_cli_fail (g_str_has_prefix (task_spec, "file:") ? ATTNVIZ_EXIT_BAD_INPUT : ATTNVIZ_EXIT_USAGE,
                             "--task: %s", error->message);
  gboolean seq2seq = attnviz_task_prefers_seq2seq (task);
  if (arch != NULL && strcmp (arch, "seq2seq") != 0 && strcmp (arch, "decoder") != 0)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--arch: \"%s\" (seq2seq or decoder)", arch);
  if (arch != NULL)
    seq2seq = strcmp (arch, "seq2seq") == 0;
  if (seq2seq && !attnviz_task_has_source (task))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--arch seq2seq: a plain-text task has no source");
  if (pg_steps > 0 && !attnviz_task_has_source (task))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--pg-steps needs a task with targets to reward, not plain text");

  /* Each list option, its column title and its default. */
  static const struct { const char *option; const char *title; const char *fallback; } lists[N_AXES] = {
    [AX_LAYERS] = { "--layers", "layers", "2" },
    [AX_D_MODEL] = { "--d-model", "d_model", "64" },
    [AX_HEADS] = { "--heads", "heads", "4" },
    [AX_HEAD_DIM] = { "--head-dim", "head dim", "auto" },
    [AX_POS] = { "--pos", "positions", "sinusoidal" },
    [AX_SCORE] = { "--score", "score", "scaled_dot" },
    [AX_MASK] = { "--mask", "mask", "causal" },
    [AX_ACT] = { "--act", "activation", "relu" },
    [AX_SEED] = { "--seeds", "seed", "1" },
  };
  const char *given[N_AXES] = { layers, d_model, heads, head_dim, pos, score, mask, act, seeds };
  Axis axes[N_AXES] = { { 0 } };
  /* the lists' strings, freed on every way out */
  g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  int n_runs = 1;
  int counts[N_AXES];
  for (int a = 0; a < N_AXES; a++)
    {
      axes[a].name = lists[a].title;
      axes[a].values = attnviz_cli_split_list (lists[a].option, given[a] ? given[a] : lists[a].fallback, &error);
      g_ptr_array_add (owned, axes[a].values);
      if (axes[a].values == NULL)
        {
          return attnviz_cli_fail_error (error);
        }
      if (a == AX_SCORE)
        join_hybrid_layers (axes[a].values);
      counts[a] = g_strv_length (axes[a].values);
      n_runs = (int) MIN ((gint64) n_runs * counts[a], 1 << 20);
    }
  /* Every value is checked before the first run trains, and none is given
   * twice (the second run would repeat the first, and --save-dir write it
   * over the first's folder). */
  for (int a = 0; a < N_AXES; a++)
    {
      g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
      for (int i = 0; i < counts[a]; i++)
        {
          AttnvizConfig probe;
          guint64 probe_seed = 1;
          attnviz_train_config_init (&probe, task, seq2seq);
          g_autofree char *quoted = attnviz_printable (axes[a].values[i]);
          if (!apply (&probe, &probe_seed, a, axes[a].values[i], &error))
            return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "%s: \"%s\": %s", lists[a].option, quoted, error->message);
          char *key = axis_key (a, &probe, probe_seed);
          for (guint j = 0; j < keys->len; j++)
            if (strcmp (key, keys->pdata[j]) == 0)
              {
                g_autofree char *first = attnviz_printable (axes[a].values[j]);
                g_free (key);
                if (strcmp (first, quoted) == 0)
                  return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "%s: \"%s\" is listed twice", lists[a].option, quoted);
                return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "%s: \"%s\" is \"%s\" again", lists[a].option, quoted,
                                         first);
              }
          g_ptr_array_add (keys, key);
        }
    }
  if (n_runs > 256)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "%d combinations: more than 256", n_runs);
  AttnvizConfig base;
  attnviz_train_config_init (&base, task, seq2seq);
  /* and every combination (hybrid:heads=K against each --heads) */
  for (int run = 0; run < n_runs; run++)
    {
      AttnvizConfig c;
      guint64 seed;
      int idx[N_AXES];
      if (!run_config (&c, &seed, &base, axes, counts, run, idx, &error))
        return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--score: %s", error->message);
    }

  int n_threads = threads > 0 ? threads : MIN (2, (int) g_get_num_processors ());
  openblas_set_num_threads (n_threads);
  int max_S, max_T;
  attnviz_train_context_for (task, seq2seq, &max_S, &max_T);

  GString *table = g_string_new (NULL);
  g_string_append_printf (table,
                          "Task `%s`, %s, %d steps of %d sequences, lr %g, %s; held-out exact match on %u examples "
                          "(greedy decoding) and training time on %d thread%s; time / first: the training time over the "
                          "first row's, measured in the same sweep.\n\n",
                          task_spec, seq2seq ? "encoder-decoder" : "decoder-only", steps, batch, lr,
                          dropout > 0.0 ? "dropout" : "no dropout", attnviz_task_get_test_set (task)->len,
                          n_threads, n_threads > 1 ? "s" : "");
  /* The choices no column shows, so that the table says what it measured. */
  gboolean fixed_any = FALSE;
  for (int a = 0; a < N_AXES; a++)
    if (counts[a] == 1)
      {
        g_string_append_printf (table, "%s %s %s", fixed_any ? "," : "Every run:", axes[a].name, axes[a].values[0]);
        fixed_any = TRUE;
      }
  if (fixed_any)
    g_string_append (table, ".\n\n");
  g_string_append (table, "|");
  for (int a = 0; a < N_AXES; a++)
    if (counts[a] > 1)
      g_string_append_printf (table, " %s |", axes[a].name);
  g_string_append (table, " parameters | held-out exact match | token accuracy | training time | time / first |");
  if (pg_steps > 0)
    g_string_append_printf (table, " then %d CE steps | then %d CE+PG steps (lambda %g) | their times |", pg_steps,
                            pg_steps, pg_weight);
  g_string_append (table, "\n|");
  for (int a = 0; a < N_AXES; a++)
    if (counts[a] > 1)
      g_string_append (table, "---|");
  g_string_append (table, pg_steps > 0 ? "---:|---:|---:|---:|---:|---:|---:|---:|\n" : "---:|---:|---:|---:|---:|\n");
  double first_seconds = 0.0;

  for (int run = 0; run < n_runs; run++)
    {
      AttnvizConfig c;
      guint64 seed;
      int idx[N_AXES];
      if (!run_config (&c, &seed, &base, axes, counts, run, idx, &error))
        return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "%s", error->message);
      g_autoptr(GString) label = g_string_new (NULL);
      for (int a = 0; a < N_AXES; a++)
        if (counts[a] > 1)
          g_string_append_printf (label, "%s%s %s", label->len ? ", " : "", axes[a].name, axes[a].values[idx[a]]);

      AttnvizTrainOptions opt;
      attnviz_train_options_init (&opt);
      opt.steps = steps;
      opt.batch = batch;
      opt.lr = lr;
      opt.warmup = warmup;
      opt.dropout = dropout;
      opt.seed = seed;
      g_autoptr(AttnvizTrainer) t = attnviz_trainer_new (&c, &opt, max_S, max_T, &error);
      if (t == NULL)
        return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "%s: %s", label->str, error->message);

      g_autofree char *path = NULL;
      if (save_dir != NULL)
        {
          /* "heads 4, positions rope" -> "heads-4-positions-rope" */
          GString *name = g_string_new (NULL);
          for (const char *p = label->len ? label->str : "model"; *p; p++)
            {
              char ch = g_ascii_isalnum (*p) || *p == '_' || *p == '.' ? *p : '-';
              if (ch != '-' || (name->len > 0 && name->str[name->len - 1] != '-'))
                g_string_append_c (name, ch);
            }
          path = g_build_filename (save_dir, name->str, NULL);
          g_string_free (name, TRUE);
        }
      /* the time spent training, not evaluating: the loop's last report */
      double train_seconds = 0.0;
      AttnvizTrainLoop loop = { .out_path = path, .report = keep_train_seconds, .report_data = &train_seconds };
      AttnvizEvalResult res;
      if (!attnviz_trainer_run (t, task, &loop, &res, &error))
        return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s: %s", label->str, error->message);
      gsize n_params;
      attnviz_trainer_get_params (t, &n_params);

      fprintf (stderr, "[%d/%d] %s: %.1f%% exact, %.1f%% tokens, %.1f s\n", run + 1, n_runs,
               label->len ? label->str : "model", 100.0 * res.exact, 100.0 * res.tokens, train_seconds);
      g_string_append (table, "|");
      for (int a = 0; a < N_AXES; a++)
        if (counts[a] > 1)
          g_string_append_printf (table, " %s |", axes[a].values[idx[a]]);
      if (run == 0)
        first_seconds = train_seconds;
      /* whole seconds, tenths under ten: a run of 0.4 s is not "0 s" */
      g_string_append_printf (table, " %.1fk | %.1f%% | %.1f%% | %.*f s | %.2f |", n_params / 1000.0,
                              100.0 * res.exact, 100.0 * res.tokens, train_seconds < 9.95 ? 1 : 0, train_seconds,
                              train_seconds / MAX (first_seconds, 1e-9));
      if (pg_steps > 0)
        {
          /* The same start, the same number of steps: cross-entropy alone, then with policy gradient. */
          AttnvizEvalResult ce, pg;
          double ce_s, pg_s;
          if (!continue_training (t, task, ATTNVIZ_OBJECTIVE_CE, pg_steps, pg_lr, pg_weight, max_S, max_T, &ce, &ce_s,
                                  &error)
              || !continue_training (t, task, ATTNVIZ_OBJECTIVE_CE_PG, pg_steps, pg_lr, pg_weight, max_S, max_T, &pg,
                                     &pg_s, &error))
            return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s: %s", label->str, error->message);
          fprintf (stderr, "[%d/%d] then CE %.1f%% exact (%.1f s), CE+PG %.1f%% exact (%.1f s)\n", run + 1, n_runs,
                   100.0 * ce.exact, ce_s, 100.0 * pg.exact, pg_s);
          g_string_append_printf (table, " %.1f%% | %.1f%% | %.*f s, %.*f s |", 100.0 * ce.exact, 100.0 * pg.exact,
                                  ce_s < 9.95 ? 1 : 0, ce_s, pg_s < 9.95 ? 1 : 0, pg_s);
        }
      g_string_append_c (table, '\n');
    }

  g_autofree char *text = g_string_free (table, FALSE);
  if (out == NULL)
    {
      fputs (text, stdout);
      return ATTNVIZ_EXIT_OK;
    }
  if (!attnviz_file_set_contents (out, text, strlen (text), &error))
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s", error->message);
  return ATTNVIZ_EXIT_OK;
}
