/* attnviz train --task dates ... -o DIR: train a small transformer
 *
 * Prints the loss and accuracy as it goes (one line redrawn with \r on a
 * terminal, plain lines otherwise) and the held-out accuracy at the end,
 * then saves a model every other command opens.
 */
#define G_LOG_DOMAIN "attnviz-cmd-train"
#include "config.h"

#include <cblas.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "attnviz-cli.h"
#include "attnviz-fileutil.h"
#include "attnviz-parallel.h"
#include "attnviz-train.h"

typedef struct {
  gboolean tty;
  int width;              /* of the last line drawn, to blank it */
  gboolean quiet;
  double train_seconds;   /* from the last report */
  gboolean pg;            /* the loss column is the mean reward */
  gboolean curve;         /* --bench with pg: one line per held-out evaluation */
  double sampled;         /* the exact match of the last report's samples */
  double better, worse;   /* and the shares of them above and below their baseline */
  double train_cpu_seconds; /* from the last report */
} Printer;

static void
print_report (const AttnvizTrainReport *r, gpointer data)
{
  Printer *p = data;
  p->train_seconds = r->train_seconds;
  p->train_cpu_seconds = r->train_cpu_seconds;
  /* The final report comes right after the last step's: it has no samples of its own. */
  if (!r->final && r->step > 0)
    {
      p->sampled = r->accuracy;
      p->better = r->pg_better;
      p->worse = r->pg_worse;
    }
  if (p->curve && r->heldout_exact >= 0.0)
    {
      /* step, seconds since the start, greedy held-out exact match, the
       * exact match of the outputs sampled for training since the last report */
      if (p->tty && p->width > 0)
        printf ("\r%*s\r", p->width, "");
      p->width = 0;
      g_autofree char *sampled = r->step > 0 ? g_strdup_printf ("%.2f%%", 100.0 * p->sampled) : g_strdup ("-");
      g_autofree char *signal = r->step > 0 && p->better >= 0.0
                                  ? g_strdup_printf ("  better than the baseline %.1f%%, worse %.1f%%", 100.0 * p->better,
                                                     100.0 * p->worse)
                                  : g_strdup ("");
      printf ("curve: step %d  %.1f s  greedy %.2f%% (%s)  sampled %s%s\n", r->step, r->seconds,
              100.0 * r->heldout_exact, r->final ? "all held-out" : "quick", sampled, signal);
      fflush (stdout);
    }
  /* The evaluation before the first step is only the curve's. */
  if (p->quiet || r->step == 0)
    return;
  double rate = r->train_seconds > 0.0 ? r->step / r->train_seconds : 0.0;
  g_autofree char *heldout = r->heldout_exact >= 0.0
                               ? g_strdup_printf ("  held-out %5.1f%% exact, %5.1f%% tokens", 100.0 * r->heldout_exact,
                                                  100.0 * r->heldout_tokens)
                               : g_strdup ("");
  if (r->final)
    {
      if (p->tty && p->width > 0)
        printf ("\r%*s\r", p->width, "");
      return;
    }
  if (p->tty)
    {
      int bar = 24, done = (int) ((double) r->step / MAX (r->steps, 1) * bar);
      char line[512];
      int n = g_snprintf (line, sizeof line, "step %d/%d [%.*s%*s] %s %.4f %s %5.1f%%  %.1f steps/s%s", r->step,
                          r->steps, done, "########################", bar - done, "", p->pg ? "reward" : "loss",
                          r->loss, p->pg ? "exact" : "acc", 100.0 * r->accuracy, rate, heldout);
      printf ("\r%s%*s", line, MAX (p->width - n, 0), "");
      p->width = n;
      /* Held-out results and checkpoints stay on the screen. */
      if (r->heldout_exact >= 0.0 || r->checkpoint)
        {
          printf ("\n");
          p->width = 0;
        }
      if (r->checkpoint)
        printf ("checkpoint: %s\n", r->checkpoint);
    }
  else
    {
      printf ("step %d/%d  %s %.4f  %s %5.1f%%  lr %.2e  %.1f steps/s%s\n", r->step, r->steps,
              p->pg ? "reward" : "loss", r->loss, p->pg ? "exact" : "acc", 100.0 * r->accuracy, r->lr, rate, heldout);
      if (r->checkpoint)
        printf ("checkpoint: %s\n", r->checkpoint);
    }
  fflush (stdout);
}

int
attnviz_cmd_train (int argc, char **argv)
{
  g_autofree char *task_spec = NULL, *arch = NULL, *pos = NULL, *score = NULL, *mask = NULL, *act = NULL;
  g_autofree char *objective = NULL, *reward = NULL, *init = NULL, *out = NULL;
  int layers = 2, enc_layers = -1, d_model = 64, heads = 4, head_dim = 0, d_ff = 0, ctx = 0, text_window = 0;
  int steps = 2000, batch = 32, warmup = 100, eval_every = 250, eval_examples = 200, checkpoint_every = 0;
  int log_every = 0, threads = 0, pg_ramp = 0;
  double pg_weight = 0.5, entropy = 0.0;
  g_autofree char *baseline = NULL;
  double lr = 1e-3, weight_decay = 0.01, clip = 1.0, dropout = 0.0, stop_at = 0.0, min_lr = 0.1;
  gint64 seed = 1;
  gboolean pg_greedy = FALSE, bench = FALSE, quiet = FALSE;
  const GOptionEntry entries[] = {
    { "task", 't', 0, G_OPTION_ARG_STRING, &task_spec, "copy, reverse, sort, dates, repeat or file:PATH", "TASK" },
    { "arch", 0, 0, G_OPTION_ARG_STRING, &arch, "seq2seq or decoder (default: what the task suits)", "ARCH" },
    { "layers", 'l', 0, G_OPTION_ARG_INT, &layers, "Decoder layers (default 2)", "N" },
    { "enc-layers", 0, 0, G_OPTION_ARG_INT, &enc_layers, "Encoder layers (default: as --layers)", "N" },
    { "d-model", 'd', 0, G_OPTION_ARG_INT, &d_model, "Width of the residual stream (default 64)", "N" },
    { "heads", 'H', 0, G_OPTION_ARG_INT, &heads, "Attention heads (default 4)", "N" },
    { "head-dim", 0, 0, G_OPTION_ARG_INT, &head_dim, "Width of each head (default d-model / heads)", "N" },
    { "d-ff", 0, 0, G_OPTION_ARG_INT, &d_ff, "MLP hidden width (default 4 * d-model)", "N" },
    { "pos", 0, 0, G_OPTION_ARG_STRING, &pos, "sinusoidal (default), learned, rope or none", "POS" },
    { "score", 0, 0, G_OPTION_ARG_STRING, &score, "scaled_dot (default), dot, additive, hybrid:heads=K or hybrid:additive=L1,L2", "SCORE" },
    { "mask", 0, 0, G_OPTION_ARG_STRING, &mask, "causal (default), window:W, strided:S, block:B or window:W+global:G (decoder self-attention)", "MASK" },
    { "act", 0, 0, G_OPTION_ARG_STRING, &act, "relu (default) or gelu", "ACT" },
    { "dropout", 0, 0, G_OPTION_ARG_DOUBLE, &dropout, "On each block's output (default 0)", "P" },
    { "ctx", 0, 0, G_OPTION_ARG_INT, &ctx, "Context length (default: what the task needs)", "N" },
    { "window", 0, 0, G_OPTION_ARG_INT, &text_window, "Plain-text tasks: characters per example (default 64)", "N" },
    { "objective", 0, 0, G_OPTION_ARG_STRING, &objective,
      "ce (cross-entropy, default), pg (policy gradient) or ce+pg (both)", "OBJ" },
    { "reward", 0, 0, G_OPTION_ARG_STRING, &reward,
      "pg: exact (default), token (accuracy) or mix:A (A * exact + (1 - A) * token)", "REWARD" },
    { "baseline", 0, 0, G_OPTION_ARG_STRING, &baseline,
      "pg: greedy (self-critical, default) or average (moving average of the reward)", "B" },
    { "pg-weight", 0, 0, G_OPTION_ARG_DOUBLE, &pg_weight, "ce+pg: lambda in [0, 1], the weight of PG (default 0.5)",
      "L" },
    { "pg-ramp", 0, 0, G_OPTION_ARG_INT, &pg_ramp, "ce+pg: raise lambda from 0 over N steps (default 0)", "N" },
    { "entropy", 0, 0, G_OPTION_ARG_DOUBLE, &entropy, "pg: weight of the entropy bonus (default 0)", "BETA" },
    { "pg-greedy", 0, 0, G_OPTION_ARG_NONE, &pg_greedy,
      "pg: reward the greedy output instead of samples (with --baseline average)", NULL },
    { "init", 0, 0, G_OPTION_ARG_FILENAME, &init, "Start from this trained model (e.g. to fine-tune with pg)", "MODEL" },
    { "steps", 'n', 0, G_OPTION_ARG_INT, &steps, "Optimizer steps (default 2000)", "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Sequences per step (default 32)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, "Peak learning rate (default 1e-3)", "LR" },
    { "min-lr", 0, 0, G_OPTION_ARG_DOUBLE, &min_lr, "Final learning rate, as a fraction of --lr (default 0.1)", "F" },
    { "warmup", 0, 0, G_OPTION_ARG_INT, &warmup, "Warm-up steps (default 100)", "N" },
    { "weight-decay", 0, 0, G_OPTION_ARG_DOUBLE, &weight_decay, "AdamW weight decay (default 0.01)", "W" },
    { "clip", 0, 0, G_OPTION_ARG_DOUBLE, &clip, "Clip the gradient norm to this (default 1; 0: never)", "C" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "Random seed (default 1)", "S" },
    { "eval-every", 0, 0, G_OPTION_ARG_INT, &eval_every, "Steps between held-out evaluations (default 250)", "N" },
    { "eval-examples", 0, 0, G_OPTION_ARG_INT, &eval_examples, "Held-out examples those use (default 200)", "N" },
    { "stop-at", 0, 0, G_OPTION_ARG_DOUBLE, &stop_at, "Stop once held-out exact match reaches this (0.99)", "A" },
    { "checkpoint-every", 0, 0, G_OPTION_ARG_INT, &checkpoint_every, "Save checkpoints/step-N/ every N steps", "N" },
    { "log-every", 0, 0, G_OPTION_ARG_INT, &log_every, "Steps between progress lines", "N" },
    { "threads", 'j', 0, G_OPTION_ARG_INT, &threads, "Threads, OpenBLAS's and the engine's (default 2, or 1 on one core)", "N" },
    { "bench", 0, 0, G_OPTION_ARG_NONE, &bench,
      "Report steps/s and the share of time in GEMM; pg: the curve (step, seconds, greedy and sampled exact match)",
      NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print only the result", NULL },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Model folder, or a .safetensors file", "PATH" },
    { NULL }
  };
  g_autoptr(GOptionContext) octx = g_option_context_new ("- train a small transformer on a task");
  g_option_context_add_main_entries (octx, entries, NULL);
  g_option_context_set_description (octx,
    "Example:\n  attnviz train --task dates --heads 4 --head-dim 16 --pos sinusoidal --score additive \\\n"
    "                --objective ce --steps 3000 --batch 32 --lr 1e-3 --seed 1 -o dates-model\n"
    "Fine-tune with policy gradient:\n  attnviz train --task dates --init dates-model --objective pg --lr 1e-4 "
    "--steps 500 -o dates-pg\n");
  /* Which options were given, before parsing takes them out of argv. */
  static const struct { const char *name; char short_name; } shape_options[] = {
    { "--arch", 0 }, { "--layers", 'l' }, { "--enc-layers", 0 }, { "--d-model", 'd' }, { "--heads", 'H' },
    { "--head-dim", 0 }, { "--d-ff", 0 }, { "--pos", 0 }, { "--score", 0 }, { "--mask", 0 }, { "--act", 0 },
    { "--ctx", 0 },
  };
  static const char *const pg_options[] = { "--reward", "--baseline", "--entropy", "--pg-greedy" };
  static const char *const ce_pg_options[] = { "--pg-weight", "--pg-ramp" };
  const char *shape_given = NULL, *pg_given = NULL, *ce_pg_given = NULL;
  for (guint i = 0; i < G_N_ELEMENTS (shape_options) && shape_given == NULL; i++)
    if (attnviz_cli_option_given (argc, argv, shape_options[i].name, shape_options[i].short_name))
      shape_given = shape_options[i].name;
  for (guint i = 0; i < G_N_ELEMENTS (pg_options) && pg_given == NULL; i++)
    if (attnviz_cli_option_given (argc, argv, pg_options[i], 0))
      pg_given = pg_options[i];
  for (guint i = 0; i < G_N_ELEMENTS (ce_pg_options) && ce_pg_given == NULL; i++)
    if (attnviz_cli_option_given (argc, argv, ce_pg_options[i], 0))
      ce_pg_given = ce_pg_options[i];
  gboolean window_given = attnviz_cli_option_given (argc, argv, "--window", 0);
  gboolean enc_layers_given = attnviz_cli_option_given (argc, argv, "--enc-layers", 0);

  gboolean help;
  if (!attnviz_cli_parse (octx, &argc, &argv, &help))
    return help ? ATTNVIZ_EXIT_OK : ATTNVIZ_EXIT_USAGE;
  if (argc != 1)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "train takes no positional arguments (see attnviz train --help)");
  if (task_spec == NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "train needs --task (copy, reverse, sort, dates, repeat or file:PATH)");
  g_autoptr(GError) error = NULL;
  if (out != NULL && *out == '\0')
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "-o: the output path is empty");
  if (out != NULL && !(g_str_has_suffix (out, ".safetensors") ? attnviz_output_check (out, &error)
                                                              : attnviz_output_check_dir (out, NULL, &error)))
    return attnviz_cli_fail_error (error);
  /* Each number on its own, the refusal naming it.  Sizes stop where the
   * sweep's do (a model far past them would not fit in memory anyway);
   * 0 keeps the default where the help says so. */
  const struct { const char *name; int value, min, max; } ints[] = {
    { "--layers", layers, 1, ATTNVIZ_CLI_MAX_TRAIN_SIZE },
    { "--enc-layers", enc_layers_given ? enc_layers : 1, 1, ATTNVIZ_CLI_MAX_TRAIN_SIZE },
    { "--d-model", d_model, 1, ATTNVIZ_CLI_MAX_TRAIN_SIZE },
    { "--heads", heads, 1, ATTNVIZ_CLI_MAX_TRAIN_SIZE },
    { "--head-dim", head_dim, 0, ATTNVIZ_CLI_MAX_TRAIN_SIZE },
    { "--d-ff", d_ff, 0, 4 * ATTNVIZ_CLI_MAX_TRAIN_SIZE },
    { "--ctx", ctx, 0, 1 << 16 },
    { "--window", text_window, 0, 1 << 16 },
    { "--steps", steps, 1, G_MAXINT },
    { "--batch", batch, 1, 1 << 16 },
    { "--warmup", warmup, 0, G_MAXINT },
    { "--eval-every", eval_every, 0, G_MAXINT },
    { "--eval-examples", eval_examples, 0, G_MAXINT },
    { "--checkpoint-every", checkpoint_every, 0, G_MAXINT },
    { "--log-every", log_every, 0, G_MAXINT },
    { "--threads", threads, 0, 1024 },
    { "--pg-ramp", pg_ramp, 0, G_MAXINT },
  };
  for (guint i = 0; i < G_N_ELEMENTS (ints); i++)
    if (ints[i].value < ints[i].min || ints[i].value > ints[i].max)
      return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "%s: %d is not in [%d, %d]", ints[i].name, ints[i].value,
                               ints[i].min, ints[i].max);
  /* and each rate: finite, in its range (max_open: the top is excluded) */
  const struct { const char *name; double value, min, max; gboolean min_open, max_open; } rates[] = {
    { "--lr", lr, 0.0, G_MAXDOUBLE, TRUE, FALSE },
    { "--min-lr", min_lr, 0.0, 1.0, FALSE, FALSE },
    { "--weight-decay", weight_decay, 0.0, G_MAXDOUBLE, FALSE, FALSE },
    { "--clip", clip, 0.0, G_MAXDOUBLE, FALSE, FALSE },
    { "--dropout", dropout, 0.0, 1.0, FALSE, TRUE },
    { "--stop-at", stop_at, 0.0, 1.0, FALSE, FALSE },
    { "--pg-weight", pg_weight, 0.0, 1.0, FALSE, FALSE },
    { "--entropy", entropy, 0.0, 1e3, FALSE, TRUE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (rates); i++)
    {
      double v = rates[i].value;
      if (v >= rates[i].min && v <= rates[i].max && !(rates[i].min_open && v == rates[i].min)
          && !(rates[i].max_open && v == rates[i].max))
        continue;
      g_autofree char *top = rates[i].max == G_MAXDOUBLE ? g_strdup ("inf)")
                                                         : g_strdup_printf ("%g%s", rates[i].max, rates[i].max_open ? ")" : "]");
      return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "%s: %g is not in %s%g, %s", rates[i].name, v,
                               rates[i].min_open ? "(" : "[", rates[i].min, top);
    }
  /* A value that would change nothing is refused, not ignored. */
  if (init != NULL && shape_given != NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE,
                             "%s: fine-tuning --init %s keeps that model's shape, score and mask", shape_given, init);
  if (objective != NULL && strcmp (objective, "ce") != 0 && strcmp (objective, "pg") != 0
      && strcmp (objective, "ce+pg") != 0)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--objective: \"%s\" (ce, pg or ce+pg)", objective);
  if (pg_given != NULL && (objective == NULL || strcmp (objective, "ce") == 0))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "%s: only with --objective pg or ce+pg", pg_given);
  if (ce_pg_given != NULL && g_strcmp0 (objective, "ce+pg") != 0)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "%s: only with --objective ce+pg", ce_pg_given);

  g_autoptr(AttnvizTask) task = attnviz_task_new (task_spec, text_window, &error);
  if (task == NULL)   /* a name it does not know is usage; a file:PATH that fails, bad input */
    return attnviz_cli_fail (g_str_has_prefix (task_spec, "file:") ? ATTNVIZ_EXIT_BAD_INPUT : ATTNVIZ_EXIT_USAGE,
                             "--task: %s", error->message);

  if (window_given && attnviz_task_has_source (task))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--window: only for plain-text tasks (file:PATH without tabs)");

  g_autoptr(AttnvizModel) init_model = NULL;
  AttnvizConfig c;
  if (init != NULL)
    {
      init_model = attnviz_model_load (init, &error);
      if (init_model == NULL)
        return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "--init: %s", error->message);
      if (init_model->config.family != ATTNVIZ_FAMILY_ATTNVIZ)
        return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "--init %s: not a model attnviz trained", init);
      if (init_model->config.vocab_size != attnviz_task_get_vocab_size (task))
        return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "--init %s: its vocabulary (%d) is not the task's (%d)",
                                 init, init_model->config.vocab_size, attnviz_task_get_vocab_size (task));
      c = init_model->config;
      /* The shape is the model's; what may change is how it is trained. */
    }
  else
    {
      gboolean seq2seq = attnviz_task_prefers_seq2seq (task);
      if (arch != NULL && strcmp (arch, "seq2seq") != 0 && strcmp (arch, "decoder") != 0)
        return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--arch: \"%s\" (seq2seq or decoder)", arch);
      if (arch != NULL)
        seq2seq = strcmp (arch, "seq2seq") == 0;
      if (seq2seq && !attnviz_task_has_source (task))
        return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--arch seq2seq: a plain-text task has no source");
      if (enc_layers_given && !seq2seq)
        return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--enc-layers: a decoder-only model has no encoder");
      attnviz_train_config_init (&c, task, seq2seq);
      c.n_layer = layers;
      c.n_enc_layer = seq2seq ? (enc_layers_given ? enc_layers : layers) : 0;
      c.d_model = d_model;
      c.n_head = c.n_kv_head = heads;
      c.head_dim = head_dim > 0 ? head_dim : MAX (d_model / heads, 1);
      c.d_ff = d_ff > 0 ? d_ff : 4 * d_model;
      if (ctx > 0)
        c.n_ctx = ctx;
      if (pos && !attnviz_train_parse_position (pos, &c.pos, &error))
        return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--pos: %s", error->message);
      if (act && !attnviz_train_parse_activation (act, &c.act, &error))
        return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--act: %s", error->message);
      if (score && !(attnviz_config_parse_score (&c, score, &error) && attnviz_config_check_score (&c, &error)))
        return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--score: %s", error->message);
      if (mask && !attnviz_pattern_parse (&c.pattern, mask, &error))
        return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--mask: %s", error->message);
      if ((gint64) c.n_head * c.head_dim > ATTNVIZ_CLI_MAX_TRAIN_SIZE * 16)
        return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--heads, --head-dim: %d heads of %d, more than %d in all",
                                 c.n_head, c.head_dim, ATTNVIZ_CLI_MAX_TRAIN_SIZE * 16);
      if (c.pos == ATTNVIZ_POS_ROPE && c.head_dim % 2 != 0)
        return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--head-dim: RoPE needs an even head dimension, not %d",
                                 c.head_dim);
    }

  AttnvizTrainOptions opt;
  attnviz_train_options_init (&opt);
  opt.steps = steps;
  opt.batch = batch;
  opt.lr = lr;
  opt.min_lr = min_lr;
  opt.warmup = warmup;
  opt.weight_decay = weight_decay;
  opt.grad_clip = clip;
  opt.dropout = dropout;
  opt.seed = (guint64) seed;
  opt.pg_sample = !pg_greedy;
  opt.objective = g_strcmp0 (objective, "pg") == 0      ? ATTNVIZ_OBJECTIVE_PG
                  : g_strcmp0 (objective, "ce+pg") == 0 ? ATTNVIZ_OBJECTIVE_CE_PG
                                                        : ATTNVIZ_OBJECTIVE_CE;
  if (reward != NULL && !attnviz_train_parse_reward (reward, &opt.reward, &opt.reward_mix, &error))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--reward: %s", error->message);
  if (baseline != NULL && strcmp (baseline, "greedy") != 0 && strcmp (baseline, "average") != 0)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--baseline: \"%s\" (greedy or average)", baseline);
  opt.baseline = g_strcmp0 (baseline, "average") == 0 ? ATTNVIZ_BASELINE_AVERAGE : ATTNVIZ_BASELINE_GREEDY;
  opt.pg_weight = pg_weight;
  opt.pg_ramp = pg_ramp;
  opt.entropy = entropy;
  if (pg_greedy && opt.baseline == ATTNVIZ_BASELINE_GREEDY && opt.objective != ATTNVIZ_OBJECTIVE_CE)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE,
                             "--pg-greedy with the greedy baseline: every advantage would be 0 (add --baseline average)");
  if (opt.objective != ATTNVIZ_OBJECTIVE_CE && !attnviz_task_has_source (task))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--objective %s needs a task with targets to reward, not plain text",
                             objective);

  /* The matrices are small: more than two threads only wait on each other
   * (on the 2-core machine two run the dates recipe 20% faster than one;
   * the weights come out the same either way). */
  int n_threads = threads > 0 ? threads : MIN (2, (int) g_get_num_processors ());
  openblas_set_num_threads (n_threads);
  /* and the engine's own threads (evaluation's forward passes): --threads 1
   * is one thread, whatever else the machine is doing */
  attnviz_set_n_threads (n_threads);

  int max_S, max_T;
  attnviz_train_context_for (task, c.encoder_decoder, &max_S, &max_T);
  /* too short a context: --ctx's (a usage error), or the --init model's */
  if (MAX (max_S, max_T) > c.n_ctx && init == NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--ctx: the task's examples need a context of %d, not %d",
                             MAX (max_S, max_T), c.n_ctx);
  if (MAX (max_S, max_T) > c.n_ctx)
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "--init %s: the task's examples need a context of %d, the model has %d",
                             init, MAX (max_S, max_T), c.n_ctx);
  g_autoptr(AttnvizTrainer) t = attnviz_trainer_new (&c, &opt, max_S, max_T, &error);
  if (t == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--layers, --d-model, --heads, --head-dim, --d-ff, --batch: %s",
                             error->message);
  if (t == NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "%s", error->message);
  if (init_model != NULL && !attnviz_trainer_load_weights (t, init_model, &error))
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "--init: %s", error->message);

  gsize n_params;
  attnviz_trainer_get_params (t, &n_params);
  gboolean pg = opt.objective != ATTNVIZ_OBJECTIVE_CE;
  Printer printer = { isatty (fileno (stdout)), 0, quiet, 0.0, pg, bench && pg };
  if (!quiet)
    {
      const AttnvizConfig *tc = attnviz_trainer_get_config (t);
      g_autofree char *enc = tc->encoder_decoder ? g_strdup_printf (" (+%d encoder)", tc->n_enc_layer) : g_strdup ("");
      g_autofree char *pattern = attnviz_pattern_to_string (&tc->pattern);
      g_autofree char *win = attnviz_pattern_is_dense (&tc->pattern) ? g_strdup ("")
                                                                     : g_strdup_printf (", mask %s", pattern);
      g_autofree char *scoring = attnviz_config_score_to_string (tc);
      printf ("task %s: %s, %d layers%s, d_model %d, %d heads of %d, %s positions, %s scoring%s, %s; "
              "%.1fk parameters\n",
              task_spec, tc->encoder_decoder ? "encoder-decoder" : "decoder-only", tc->n_layer, enc, tc->d_model,
              tc->n_head, tc->head_dim, attnviz_position_kind_to_string (tc->pos),
              scoring, win,
              opt.objective == ATTNVIZ_OBJECTIVE_PG      ? "policy gradient"
              : opt.objective == ATTNVIZ_OBJECTIVE_CE_PG ? "cross-entropy + policy gradient"
                                                         : "cross-entropy",
              n_params / 1000.0);
      fflush (stdout);
    }

  g_autoptr(GHashTable) extra = g_hash_table_new (g_str_hash, g_str_equal);
  if (init != NULL)
    g_hash_table_insert (extra, (char *) "attnviz_init", init);

  AttnvizTrainLoop loop = {
    .report_every = log_every > 0 ? log_every : printer.tty ? 10 : MAX (steps / 20, 50),
    .eval_every = eval_every,
    .eval_examples = eval_examples,
    .eval_first = bench && opt.objective != ATTNVIZ_OBJECTIVE_CE,
    .stop_at = stop_at,
    .checkpoint_every = checkpoint_every,
    .out_path = out,
    .extra = extra,
    .report = print_report,
    .report_data = &printer,
  };
  attnviz_train_gemm_timing (bench);
  AttnvizEvalResult res;
  gint64 t0 = g_get_monotonic_time ();
  if (!attnviz_trainer_run (t, task, &loop, &res, &error))
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s", error->message);
  double total = (g_get_monotonic_time () - t0) / 1e6;

  int step = attnviz_trainer_get_step (t);
  if (attnviz_task_has_source (task))
    printf ("held-out exact match: %.2f%% (%d examples), token accuracy %.2f%%, after %d steps in %.1f s\n",
            100.0 * res.exact, res.n, 100.0 * res.tokens, step, total);
  else
    printf ("held-out next-character accuracy: %.2f%% (%d windows), after %d steps in %.1f s\n", 100.0 * res.tokens,
            res.n, step, total);
  if (bench)
    {
      double train_s = printer.train_seconds, gemm_s = attnviz_train_gemm_seconds ();
      printf ("bench: %d steps in %.2f s of training (%.1f steps/s, %.1f ms/step); GEMM %.2f s = %.0f%% of it, "
              "%" G_GUINT64_FORMAT " calls (%.0f per step); %d OpenBLAS thread%s\n",
              step, train_s, step / MAX (train_s, 1e-9), 1000.0 * train_s / MAX (step, 1), gemm_s,
              100.0 * gemm_s / MAX (train_s, 1e-9), attnviz_train_gemm_calls (),
              (double) attnviz_train_gemm_calls () / MAX (step, 1), openblas_get_num_threads (),
              openblas_get_num_threads () == 1 ? "" : "s");
      /* the CPU time, which other jobs' load does not inflate as it does the wall time */
      printf ("bench: CPU %.2f s of training (%.1f ms/step, %.2f CPU s a wall s)\n", printer.train_cpu_seconds,
              1000.0 * printer.train_cpu_seconds / MAX (step, 1), printer.train_cpu_seconds / MAX (train_s, 1e-9));
    }
  if (out != NULL)
    printf ("saved: %s\n", out);
  return ATTNVIZ_EXIT_OK;
}
