/* test-cli-train.c: attnviz train, sweep and generate as a user runs them */
#define G_LOG_DOMAIN "test-cli-train"
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "attnviz-test-util.h"

static void
test_train_and_use (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-cli-train-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *out = g_build_filename (tmp, "copy-model", NULL);

  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "train", "--task", "copy", "--layers", "1", "--d-model", "16", "--heads", "2", "--head-dim", "6",
                            "--pos", "rope", "--score", "additive", "--steps", "40", "--batch", "8", "--eval-every", "20",
                            "--eval-examples", "20", "--checkpoint-every", "20", "--seed", "3", "-o", out, NULL);
  g_assert_cmpint (r.status, ==, 0);
  /* not a terminal: plain progress lines, then the held-out result */
  g_assert_nonnull (strstr (r.out, "step 20/40"));
  g_assert_null (strchr (r.out, '\r'));
  g_assert_nonnull (strstr (r.out, "held-out exact match:"));
  g_autofree char *ckpt = g_build_filename (out, "checkpoints", "step-000020", "model.safetensors", NULL);
  g_assert_true (g_file_test (ckpt, G_FILE_TEST_EXISTS));
  g_autofree char *last = g_build_filename (out, "checkpoints", "step-000040", NULL);
  g_assert_false (g_file_test (last, G_FILE_TEST_EXISTS));

  /* the config names the architecture and how it was trained */
  g_autofree char *config_path = g_build_filename (out, "config.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, config_path, &error));
  JsonObject *o = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (o, "score"), ==, "additive");
  g_assert_cmpstr (json_object_get_string_member (o, "position"), ==, "rope");
  g_assert_cmpstr (json_object_get_string_member (o, "attnviz_task"), ==, "copy");
  g_assert_cmpint (json_object_get_int_member (o, "attnviz_step"), ==, 40);
  g_assert_cmpint (json_object_get_int_member (o, "head_dim"), ==, 6);

  g_auto(AttnvizTestRun) info = { 0 };
  attnviz_test_run_attnviz (&info, "info", out, NULL);
  g_assert_cmpint (info.status, ==, 0);
  g_assert_nonnull (strstr (info.out, "AttnvizSeq2Seq"));

  g_auto(AttnvizTestRun) gen = { 0 };
  attnviz_test_run_attnviz (&gen, "generate", out, "--prompt", "abc", NULL);
  g_assert_cmpint (gen.status, ==, 0);
  g_assert_cmpuint (strlen (gen.out), >=, 1);

  /* policy gradient, fine-tuning the model just saved */
  g_autofree char *pg = g_build_filename (tmp, "copy-pg.safetensors", NULL);
  g_auto(AttnvizTestRun) r2 = { 0 };
  attnviz_test_run_attnviz (&r2, "train", "--task", "copy", "--init", out, "--objective", "pg", "--reward", "tokens", "--steps",
                            "5", "--batch", "8", "--eval-examples", "10", "--lr", "1e-4", "-o", pg, NULL);
  g_assert_cmpint (r2.status, ==, 0);
  g_assert_true (g_file_test (pg, G_FILE_TEST_EXISTS));
  /* the joint objective, self-critical, with a mixed reward and the curve */
  g_autofree char *joint = g_build_filename (tmp, "copy-ce-pg", NULL);
  g_auto(AttnvizTestRun) r3 = { 0 };
  attnviz_test_run_attnviz (&r3, "train", "--task", "copy", "--init", out, "--objective", "ce+pg", "--pg-weight", "0.5",
                            "--pg-ramp", "2", "--entropy", "0.01", "--reward", "mix:0.5", "--steps", "4", "--batch", "8",
                            "--eval-every", "2", "--eval-examples", "10", "--lr", "1e-4", "--bench", "-o", joint, NULL);
  g_assert_cmpint (r3.status, ==, 0);
  g_assert_nonnull (strstr (r3.out, "cross-entropy + policy gradient"));
  /* the curve: before the first step, at step 2, and the whole held-out set at the end */
  g_assert_nonnull (strstr (r3.out, "curve: step 0 "));
  g_assert_nonnull (strstr (r3.out, "curve: step 2 "));
  g_assert_nonnull (strstr (r3.out, "curve: step 4 "));
  g_assert_nonnull (strstr (r3.out, "(all held-out)"));
  /* and how many samples beat their baseline (the greedy output) or fell short */
  g_assert_nonnull (strstr (r3.out, "better than the baseline "));
  g_autofree char *beside = g_build_filename (tmp, "tokenizer.json", NULL);
  g_assert_true (g_file_test (beside, G_FILE_TEST_EXISTS));

  attnviz_test_remove_tree (tmp);
}

static void
test_train_refuses_bad_options (void)
{
  g_auto(AttnvizTestRun) a = { 0 };
  attnviz_test_run_attnviz (&a, "train", "--task", "nonsense", NULL);
  g_assert_cmpint (a.status, ==, 2);
  g_assert_nonnull (strstr (a.err, "unknown task"));
  /* a task file that cannot be read is bad input, not usage */
  g_auto(AttnvizTestRun) a2 = { 0 };
  attnviz_test_run_attnviz (&a2, "train", "--task", "file:/nonexistent/attnviz-task.txt", NULL);
  g_assert_cmpint (a2.status, ==, 1);
  g_assert_nonnull (strstr (a2.err, "/nonexistent/attnviz-task.txt"));
  g_auto(AttnvizTestRun) a3 = { 0 };
  attnviz_test_run_attnviz (&a3, "sweep", "--task", "nonsense", NULL);
  g_assert_cmpint (a3.status, ==, 2);
  g_auto(AttnvizTestRun) b = { 0 };
  attnviz_test_run_attnviz (&b, "train", "--task", "copy", "--pos", "spiral", NULL);
  g_assert_cmpint (b.status, ==, 2);
  g_assert_nonnull (strstr (b.err, "spiral"));
  g_auto(AttnvizTestRun) c = { 0 };
  attnviz_test_run_attnviz (&c, "train", "--task", "copy", "--steps", "0", NULL);
  g_assert_cmpint (c.status, ==, 2);
  g_auto(AttnvizTestRun) d = { 0 };
  attnviz_test_run_attnviz (&d, "train", NULL);
  g_assert_cmpint (d.status, ==, 2);
  g_auto(AttnvizTestRun) e = { 0 };
  attnviz_test_run_attnviz (&e, "train", "--task", "copy", "--pos", "rope", "--head-dim", "5", "--steps", "1", NULL);
  g_assert_cmpint (e.status, ==, 2);
  g_assert_nonnull (strstr (e.err, "RoPE"));

  /* policy-gradient options: each refusal names its option */
  static const char *const bad[][3] = {
    { "--reward", "mix:2", "--reward" },
    { "--reward", "bleu", "--reward" },
    { "--pg-weight", "1.5", "--pg-weight" },
    { "--baseline", "median", "--baseline" },
    { "--entropy", "-1", "--entropy" },
    { "--objective", "rl", "--objective" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_auto(AttnvizTestRun) f = { 0 };
      attnviz_test_run_attnviz (&f, "train", "--task", "copy", "--objective", "ce+pg", bad[i][0], bad[i][1], "--steps", "1",
                                NULL);
      g_assert_cmpint (f.status, ==, 2);
      g_assert_nonnull (strstr (f.err, bad[i][2]));
      g_assert_true (strchr (f.err, '\n') == f.err + strlen (f.err) - 1); /* one line */
    }
  /* greedy outputs against the greedy baseline would have no advantage */
  g_auto(AttnvizTestRun) g = { 0 };
  attnviz_test_run_attnviz (&g, "train", "--task", "copy", "--objective", "pg", "--pg-greedy", "--steps", "1", NULL);
  g_assert_cmpint (g.status, ==, 2);
  g_assert_nonnull (strstr (g.err, "--baseline average"));
}

/* Every number is checked on its own, and its refusal names it: no NaN or
 * infinity reaches the optimizer, no size overflows or asks for more
 * memory than the machine has. */
static void
test_train_refuses_each_bad_number_naming_it (void)
{
  static const char *const bad[][2] = {
    { "--lr", "inf" }, { "--min-lr", "nan" }, { "--min-lr", "-1" }, { "--weight-decay", "nan" },
    { "--clip", "-1" }, { "--dropout", "nan" }, { "--stop-at", "2" }, { "--warmup", "-5" },
    { "--eval-examples", "-1" }, { "--log-every", "-1" }, { "--threads", "100000" }, { "--entropy", "inf" },
    { "--batch", "2147483647" }, { "--d-model", "1000000000" }, { "--heads", "1000000000" },
    { "--head-dim", "1000000000" }, { "--d-ff", "2000000000" }, { "--ctx", "100000000" }, { "--layers", "100000" },
    { "--enc-layers", "0" },
    { "--ctx", "1" },   /* in range, but shorter than the task's examples */
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_auto(AttnvizTestRun) r = { 0 };
      attnviz_test_run_attnviz (&r, "train", "--task", "copy", "--objective", "pg", "--steps", "1", bad[i][0], bad[i][1],
                                NULL);
      g_test_message ("%s %s: %s", bad[i][0], bad[i][1], r.err);
      g_assert_cmpint (r.status, ==, 2);
      g_assert_true (g_str_has_prefix (r.err, "attnviz: "));
      g_assert_nonnull (strstr (r.err, bad[i][0]));
      g_assert_cmpint (strchr (r.err, '\n') - r.err, ==, (int) strlen (r.err) - 1);
    }
  /* sizes each within bounds whose model would not fit: refused before any
   * allocation, naming the options that size it */
  static const char *const big[][4] = {
    { "--heads", "4096", "--head-dim", "4096" },
    { "--layers", "4096", "--d-model", "4096" },
    { "--batch", "65536", "--d-model", "4096" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (big); i++)
    {
      g_auto(AttnvizTestRun) r = { 0 };
      attnviz_test_run_attnviz (&r, "train", "--task", "copy", "--steps", "1", big[i][0], big[i][1], big[i][2],
                                big[i][3], NULL);
      g_test_message ("%s %s %s %s: %s", big[i][0], big[i][1], big[i][2], big[i][3], r.err);
      g_assert_cmpint (r.status, ==, 2);
      g_assert_nonnull (strstr (r.err, big[i][0]));
      g_assert_nonnull (strstr (r.err, big[i][2]));
      g_assert_cmpint (strchr (r.err, '\n') - r.err, ==, (int) strlen (r.err) - 1);
    }
}

/* An option that would change nothing is refused, not ignored: the
 * policy-gradient options without that objective, a shape beside --init
 * (the model keeps its own), --window on a task with sources. */
static void
test_train_refuses_values_it_would_ignore (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-cli-ignored-XXXXXX", &error);
  g_autofree char *model = g_build_filename (tmp, "model", NULL);
  g_auto(AttnvizTestRun) base = { 0 };
  attnviz_test_run_attnviz (&base, "train", "--task", "copy", "--layers", "1", "--d-model", "8", "--heads", "2",
                            "--steps", "1", "--batch", "2", "--eval-examples", "2", "-q", "-o", model, NULL);
  g_assert_cmpint (base.status, ==, 0);

  static const char *const ignored[][5] = {
    /* the options, then the one the refusal names */
    { "--reward", "mix:0.5", NULL, NULL, "--reward" },
    { "--objective", "ce", "--entropy", "0.1", "--entropy" },
    { "--objective", "ce", "--pg-greedy", NULL, "--pg-greedy" },
    { "--objective", "pg", "--pg-weight", "0.3", "--pg-weight" },
    { "--objective", "pg", "--pg-ramp", "10", "--pg-ramp" },
    { "--init", "MODEL", "--score", "hybrid:heads=1", "--score" },
    { "--init", "MODEL", "-H", "4", "--heads" },
    { "--init", "MODEL", "--mask", "window:2", "--mask" },
    { "--window", "10", NULL, NULL, "--window" },
    { "--arch", "decoder", "--enc-layers", "2", "--enc-layers" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (ignored); i++)
    {
      const char *args[4];
      for (int k = 0; k < 4; k++)
        args[k] = g_strcmp0 (ignored[i][k], "MODEL") == 0 ? model : ignored[i][k];
      g_auto(AttnvizTestRun) r = { 0 };
      attnviz_test_run_attnviz (&r, "train", "--task", "copy", "--steps", "1", "--batch", "2", "--eval-examples", "2",
                                args[0], args[1], args[2], args[3], NULL);
      g_test_message ("%s %s %s %s: %s", args[0], args[1], args[2], args[3], r.err);
      g_assert_cmpint (r.status, ==, 2);
      g_assert_true (g_str_has_prefix (r.err, "attnviz: "));
      g_assert_nonnull (strstr (r.err, ignored[i][4]));
      g_assert_cmpint (strchr (r.err, '\n') - r.err, ==, (int) strlen (r.err) - 1);
    }
  /* and where each does change something, it is taken */
  g_auto(AttnvizTestRun) ok = { 0 };
  attnviz_test_run_attnviz (&ok, "train", "--task", "copy", "--init", model, "--objective", "ce+pg", "--pg-weight",
                            "0.3", "--pg-ramp", "1", "--reward", "token", "--entropy", "0.01", "--steps", "1", "--batch",
                            "2", "--eval-examples", "2", "-q", NULL);
  g_assert_cmpint (ok.status, ==, 0);
  attnviz_test_remove_tree (tmp);
}

/* A bad --score or --mask is one line naming the option, exit 2. */
static void
test_train_refuses_bad_score_and_mask_specs (void)
{
  static const char *const bad[][2] = {
    { "--score", "hybrid:heads=99" },      /* the model has 4 heads */
    { "--score", "hybrid:additive=x" },
    { "--score", "hybrid:additive=2" },    /* layers 0-1 */
    { "--score", "hybrid:heads=0" },
    { "--score", "hybrid:" },
    { "--score", "hybrid:additive=0,0" },  /* a typo for 0,1, not layer 0 twice as additive */
    { "--mask", "block:0" },
    { "--mask", "window:4+global:x" },
    { "--mask", "global:2" },              /* nothing for the global tokens to stand out from */
    { "--mask", "window:4+window:2" },
    { "--mask", "strided:-3" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_auto(AttnvizTestRun) r = { 0 };
      attnviz_test_run_attnviz (&r, "train", "--task", "copy", "--steps", "1", bad[i][0], bad[i][1], NULL);
      g_test_message ("%s %s: %s", bad[i][0], bad[i][1], r.err);
      g_assert_cmpint (r.status, ==, 2);
      g_assert_true (g_str_has_prefix (r.err, "attnviz: --"));
      g_assert_nonnull (strstr (r.err, bad[i][0]));
      g_assert_cmpint (strchr (r.err, '\n') - r.err, ==, (int) strlen (r.err) - 1);
    }
}

/* A hybrid, sparse model saves its score and mask, and the engine opens
 * it as such. */
static void
test_train_hybrid_sparse_model_reopens (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-cli-hybrid-XXXXXX", &error);
  g_autofree char *out = g_build_filename (tmp, "model", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "train", "--task", "reverse", "--arch", "decoder", "--d-model", "16", "--heads", "2",
                            "--score", "hybrid:additive=0", "--mask", "window:3+global:1", "--steps", "3", "--batch", "4",
                            "--eval-examples", "5", "-o", out, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "hybrid:additive=0 scoring, mask window:3+global:1"));
  g_auto(AttnvizTestRun) info = { 0 };
  attnviz_test_run_attnviz (&info, "info", out, NULL);
  g_assert_cmpint (info.status, ==, 0);
  g_assert_nonnull (strstr (info.out, "sparse window:3+global:1, hybrid (additive: every head of layer 0, scaled dot elsewhere)"));
  /* heads says which heads score additively, row by row */
  g_auto(AttnvizTestRun) heads = { 0 };
  attnviz_test_run_attnviz (&heads, "heads", out, "--text", "abc", "--csv", NULL);
  g_assert_cmpint (heads.status, ==, 0);
  g_assert_true (g_str_has_prefix (heads.out, "layer,head,score,"));
  g_assert_nonnull (strstr (heads.out, "\n0,1,additive,"));
  /* the other heads scale their dot product, as `--score scaled_dot` does
   * (a bare "dot" would read as `--score dot`, unscaled) */
  g_assert_nonnull (strstr (heads.out, "\n1,0,scaled_dot,"));
  g_auto(AttnvizTestRun) text = { 0 };
  attnviz_test_run_attnviz (&text, "heads", out, "--text", "abc", NULL);
  g_assert_cmpint (text.status, ==, 0);
  g_assert_true (g_str_has_prefix (text.out, "layer  head      score "));
  g_assert_nonnull (strstr (text.out, "\n    1     0 scaled_dot "));
  g_assert_nonnull (strstr (text.out, "\n    0     1   additive "));
  /* and so does a dump's metadata: per layer, its additive heads */
  g_autofree char *dump = g_build_filename (tmp, "run.json", NULL);
  g_auto(AttnvizTestRun) dumped = { 0 };
  attnviz_test_run_attnviz (&dumped, "dump", out, "--text", "abc", "-o", dump, NULL);
  g_assert_cmpint (dumped.status, ==, 0);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, dump, &error));
  JsonObject *meta = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)), "metadata");
  g_assert_cmpstr (json_object_get_string_member (meta, "score"), ==, "hybrid:additive=0");
  /* and the sparse pattern it was trained with */
  g_assert_cmpstr (json_object_get_string_member (meta, "mask"), ==, "window:3+global:1");
  JsonArray *additive = json_object_get_array_member (meta, "additive_heads");
  g_assert_cmpint (json_array_get_length (additive), ==, 2);
  JsonArray *layer0 = json_array_get_array_element (additive, 0);
  g_assert_cmpint (json_array_get_length (layer0), ==, 2);
  g_assert_cmpint (json_array_get_int_element (layer0, 1), ==, 1);
  g_assert_cmpint (json_array_get_length (json_array_get_array_element (additive, 1)), ==, 0);
  attnviz_test_remove_tree (tmp);
}

/* --bench gives the CPU time of the training steps beside their wall
 * time: a cost that other jobs on the machine do not inflate. */
static void
test_train_bench_gives_cpu_time (void)
{
  g_auto(AttnvizTestRun) r = { 0 };
  /* OpenBLAS starts the threads its environment asks for when it loads,
   * and an idle one spins for a while before it sleeps: on a quiet machine
   * that spin fell inside these few steps (1.98 CPU s a wall s).  One
   * thread in the environment too, so that nothing spins beside the run. */
  g_autofree char *saved = g_strdup (g_getenv ("OPENBLAS_NUM_THREADS"));
  g_setenv ("OPENBLAS_NUM_THREADS", "1", TRUE);
  attnviz_test_run_attnviz (&r, "train", "--task", "copy", "--steps", "20", "--batch", "8", "--threads", "1",
                            "--eval-every", "0", "--eval-examples", "5", "--bench", NULL);
  if (saved)
    g_setenv ("OPENBLAS_NUM_THREADS", saved, TRUE);
  else
    g_unsetenv ("OPENBLAS_NUM_THREADS");
  g_assert_cmpint (r.status, ==, 0);
  const char *line = strstr (r.out, "bench: CPU ");
  g_assert_nonnull (line);
  g_assert_nonnull (strchr (line, '('));
  double cpu = g_ascii_strtod (strchr (line, '(') + 1, NULL);   /* ms a step */
  const char *per_wall = strstr (line, "ms/step, ");
  g_assert_nonnull (per_wall);
  double share = g_ascii_strtod (per_wall + strlen ("ms/step, "), NULL);
  g_assert_cmpfloat (cpu, >, 0.0);
  /* one thread: at most one CPU second a wall second (and some slack for
   * the clocks' granularity) */
  g_assert_cmpfloat (share, >, 0.0);
  g_assert_cmpfloat (share, <=, 1.05);
}

static void
test_sweep_compares_scores_and_masks (void)
{
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "sweep", "--task", "reverse", "--arch", "decoder", "--score",
                            "scaled_dot,dot,additive,hybrid,hybrid:additive=0,1", "--mask", "causal,block:4",
                            "--layers", "3", "--d-model", "16", "--steps", "2", "--batch", "2", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "| score | mask | parameters |"));
  g_assert_nonnull (strstr (r.out, "| hybrid | causal |"));
  g_assert_nonnull (strstr (r.out, "| hybrid:additive=0,1 | block:4 |"));
  int rows = 0;
  for (const char *p = r.out; (p = strstr (p, "\n|")) != NULL; p++)
    rows++;
  g_assert_cmpint (rows, ==, 2 + 5 * 2);

  /* a combination that cannot be is refused before anything trains */
  g_auto(AttnvizTestRun) bad = { 0 };
  attnviz_test_run_attnviz (&bad, "sweep", "--task", "reverse", "--heads", "2,8", "--score", "hybrid:heads=4",
                            "--steps", "2", NULL);
  g_assert_cmpint (bad.status, ==, 2);
  g_assert_nonnull (strstr (bad.err, "2 heads"));
  g_assert_null (strstr (bad.err, "[1/"));
  /* a "hybrid" whose every head would be additive is no hybrid: refused
   * before anything trains, as train refuses it */
  g_auto(AttnvizTestRun) all = { 0 };
  attnviz_test_run_attnviz (&all, "sweep", "--task", "reverse", "--heads", "1,2", "--score", "hybrid", "--steps", "2",
                            NULL);
  g_assert_cmpint (all.status, ==, 2);
  g_assert_nonnull (strstr (all.err, "with 1 head per layer every head would be additive"));
  g_assert_null (strstr (all.err, "[1/"));
  g_auto(AttnvizTestRun) layers = { 0 };
  attnviz_test_run_attnviz (&layers, "train", "--task", "reverse", "--arch", "decoder", "--layers", "2", "--score",
                            "hybrid:additive=0,1", "--steps", "2", "-o", "/nonexistent/never-written", NULL);
  g_assert_cmpint (layers.status, ==, 2);
  g_assert_nonnull (strstr (layers.err, "every layer would be additive"));
}

static void
test_sweep_table (void)
{
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "sweep", "--task", "reverse", "--heads", "1,2", "--pos", "learned,none", "--d-model", "16",
                            "--steps", "5", "--batch", "4", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "| heads | positions | parameters | held-out exact match | token accuracy | training time | time / first |"));
  /* and the choices no column shows are said above the table */
  g_assert_nonnull (strstr (r.out, "Every run: layers 2, d_model 16, head dim auto, score scaled_dot, mask causal, "
                                   "activation relu, seed 1.\n"));
  g_assert_nonnull (strstr (r.out, "| 2 | none |"));
  int rows = 0;
  for (const char *p = r.out; (p = strstr (p, "\n|")) != NULL; p++)
    rows++;
  g_assert_cmpint (rows, ==, 2 + 4); /* the rule, the header's end, four runs */

  /* --pg-steps: each model also continued with CE and, apart, with CE+PG */
  g_auto(AttnvizTestRun) p = { 0 };
  attnviz_test_run_attnviz (&p, "sweep", "--task", "reverse", "--heads", "1,2", "--d-model", "16", "--steps", "5",
                            "--batch", "4", "--pg-steps", "2", "--pg-weight", "0.3", NULL);
  g_assert_cmpint (p.status, ==, 0);
  g_assert_nonnull (strstr (p.out, "| then 2 CE steps | then 2 CE+PG steps (lambda 0.3) | their times |"));
  g_assert_nonnull (strstr (p.out, "|---:|---:|---:|---:|---:|---:|---:|"));
  g_assert_nonnull (strstr (p.err, "then CE"));
  g_auto(AttnvizTestRun) q = { 0 };
  attnviz_test_run_attnviz (&q, "sweep", "--task", "reverse", "--pg-steps", "2", "--pg-weight", "7", NULL);
  g_assert_cmpint (q.status, ==, 2);
  g_assert_nonnull (strstr (q.err, "--pg-weight"));
}

/* A sweep's lists name each run once: a value given twice, in any
 * spelling, would train the same run again (and --save-dir write over it);
 * options only the --pg-steps columns use are refused without them. */
static void
test_sweep_refuses_repeats_and_stray_options (void)
{
  static const char *const bad[][3] = {
    { "--score", "scaled,scaled_dot", "--score" },
    { "--score", "dot,hybrid:additive=0,dot", "--score" },
    { "--seeds", "1,01", "--seeds" },
    { "--mask", "window:2,window:2", "--mask" },
    { "--pg-lr", "1e-3", "--pg-lr" },
    { "--pg-weight", "0.3", "--pg-weight" },
    { "--lr", "inf", "--lr" },
    { "--warmup", "-3", "--warmup" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_auto(AttnvizTestRun) r = { 0 };
      attnviz_test_run_attnviz (&r, "sweep", "--task", "reverse", "--arch", "decoder", "--d-model", "8", "--steps", "1",
                                "--batch", "2", bad[i][0], bad[i][1], NULL);
      g_test_message ("%s %s: %s", bad[i][0], bad[i][1], r.err);
      g_assert_cmpint (r.status, ==, 2);
      g_assert_true (g_str_has_prefix (r.err, "attnviz: "));
      g_assert_nonnull (strstr (r.err, bad[i][2]));
      g_assert_cmpint (strchr (r.err, '\n') - r.err, ==, (int) strlen (r.err) - 1);
      g_assert_null (strstr (r.err, "[1/"));   /* before anything trained */
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/train/trains-saves-and-the-model-opens", test_train_and_use);
  g_test_add_func ("/cli/train/refuses-bad-options", test_train_refuses_bad_options);
  g_test_add_func ("/cli/train/refuses-bad-score-and-mask-specs", test_train_refuses_bad_score_and_mask_specs);
  g_test_add_func ("/cli/train/refuses-each-bad-number-naming-it", test_train_refuses_each_bad_number_naming_it);
  g_test_add_func ("/cli/train/refuses-values-it-would-ignore", test_train_refuses_values_it_would_ignore);
  g_test_add_func ("/cli/train/hybrid-sparse-model-reopens", test_train_hybrid_sparse_model_reopens);
  g_test_add_func ("/cli/train/bench-gives-cpu-time", test_train_bench_gives_cpu_time);
  g_test_add_func ("/cli/sweep/writes-a-table", test_sweep_table);
  g_test_add_func ("/cli/sweep/compares-scores-and-masks", test_sweep_compares_scores_and_masks);
  g_test_add_func ("/cli/sweep/refuses-repeats-and-stray-options", test_sweep_refuses_repeats_and_stray_options);
  return g_test_run ();
}
