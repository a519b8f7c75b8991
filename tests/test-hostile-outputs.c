/* Hostile input (issue 8), the outputs and the messages: outputs that must
 * not be replaced (FIFOs, devices, links, a folder for a file), a dump
 * folder holding someone else's file, finite weights that overflow in the
 * forward pass, generate's and dump's prediction options out of range
 * (issue 13), and messages that name the file or option at fault.
 *
 * One table, one case per row, as in test-hostile.c (which says what a
 * row asks); the shared part is in tests/attnviz-test-hostile.c. */
#define G_LOG_DOMAIN "test-hostile"
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "attnviz-test-hostile.h"
#include "attnviz-test-util.h"

/* ---- the table ------------------------------------------------------------- */

/* class 5: outputs that must not be replaced */
static void
out_fifo (AttnvizTestCtx *ctx)
{
  attnviz_test_put_fifo (ctx, "@T/out.json");
}

static void
out_fifo_png (AttnvizTestCtx *ctx)
{
  attnviz_test_put_fifo (ctx, "@T/out.png");
}

static void
out_fifo_md (AttnvizTestCtx *ctx)
{
  attnviz_test_put_fifo (ctx, "@T/out.md");
}

static void
out_link (AttnvizTestCtx *ctx)
{
  attnviz_test_put (ctx, "@T/target.json", "{\"keep\": true}\n");
  attnviz_test_put_link (ctx, "@T/out.json", "@T/target.json");
}

static void
out_dangling_link (AttnvizTestCtx *ctx)
{
  attnviz_test_put_link (ctx, "@T/out.json", "@T/nowhere.json");
}

static void
out_link_png (AttnvizTestCtx *ctx)
{
  attnviz_test_put (ctx, "@T/target.png", "not a png\n");
  attnviz_test_put_link (ctx, "@T/out.png", "@T/target.png");
}

static void
out_link_folder (AttnvizTestCtx *ctx)
{
  g_autofree char *dir = attnviz_test_expand (ctx, "@T/real");
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  attnviz_test_put_link (ctx, "@T/out", "@T/real");
}

static void
out_device (AttnvizTestCtx *ctx)
{
  /* The same device as /dev/null, made here: as root, the old code would
   * have turned it into a regular file. */
  g_autofree char *path = attnviz_test_expand (ctx, "@T/null");
  if (mknod (path, S_IFCHR | 0666, makedev (1, 3)) != 0)
    {
      g_test_skip ("cannot make a device node here");
      attnviz_test_setup_skipped = TRUE;
    }
}

static void
out_regular_file_for_a_folder (AttnvizTestCtx *ctx)
{
  attnviz_test_put (ctx, "@T/out", "a file, not a folder\n");
}

/* class 6: a dump folder that holds someone else's file */
static void
dump_folder_with_a_stranger (AttnvizTestCtx *ctx)
{
  g_autofree char *dir = attnviz_test_expand (ctx, "@T/dump");
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  attnviz_test_put (ctx, "@T/dump/metadata.json", "{\"n_tokens\": 2}\n");
  attnviz_test_put (ctx, "@T/dump/attentions.npy", "old");
  attnviz_test_put (ctx, "@T/dump/notes.txt", "my notes\n");
}

/* class 8: weights that overflow in the forward pass */
static void
overflow_in_layer_1 (AttnvizTestCtx *ctx)
{
  attnviz_test_set_tensor (ctx, "h.1.attn.c_attn.weight", 3e38f);
}

static void
overflow_in_layer_1_with_a_tokenizer (AttnvizTestCtx *ctx)
{
  g_autofree char *j = attnviz_test_wordpiece_json (NULL);
  attnviz_test_put (ctx, "@M/tokenizer.json", j);
  attnviz_test_set_tensor (ctx, "h.1.attn.c_attn.weight", 3e38f);
}

static void
overflow_in_the_embedding (AttnvizTestCtx *ctx)
{
  attnviz_test_set_tensor (ctx, "wte.weight", 3e38f);
  attnviz_test_set_tensor (ctx, "wpe.weight", 3e38f);
}

static void
overflow_in_the_logits (AttnvizTestCtx *ctx)
{
  attnviz_test_set_tensor (ctx, "ln_f.weight", 3e38f);
  attnviz_test_set_tensor (ctx, "ln_f.bias", 3e38f);
}

/* class 9: messages */
static void
config_link_loop (AttnvizTestCtx *ctx)
{
  attnviz_test_put_link (ctx, "@M/config.json", "@M/config.json");
}

static void
model_link_loop (AttnvizTestCtx *ctx)
{
  attnviz_test_put_link (ctx, "@T/loop", "@T/loop");
}

static void
huge_layer_count (AttnvizTestCtx *ctx)
{
  attnviz_test_config_set_raw (ctx, "n_layer", "18446744073709551621");
}

static void
escape_in_architecture (AttnvizTestCtx *ctx)
{
  attnviz_test_config_set_raw (ctx, "architectures", "[\"\\u001b[31mEvil\\u001b]0;owned\\u0007\"]");
}

static void
no_raw_escape (AttnvizTestCtx *ctx, const AttnvizTestRun *r)
{
  g_assert_null (strchr (r->err, '\x1b'));
  g_assert_null (strchr (r->err, '\a'));
  g_assert_nonnull (strstr (r->err, "\\x1b[31mEvil"));
}

static void
split_pattern_that_fails (AttnvizTestCtx *ctx)
{
  attnviz_test_put (ctx, "@M/tokenizer.json",
       "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"\xc4\xa0\": 2}, \"merges\": []}, "
       "\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": ["
       "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(a|aa)+$\"}}, {\"type\": \"ByteLevel\"}]}}");
}

static void
split_pattern_that_does_not_compile (AttnvizTestCtx *ctx)
{
  attnviz_test_put (ctx, "@M/tokenizer.json",
       "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, "
       "\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": ["
       "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(\"}}, {\"type\": \"ByteLevel\"}]}}");
}

static const AttnvizTestHostileCase cases[] = {
  /* 5. outputs: nothing but a regular file is replaced; links are refused */
  { "/hostile/outputs/dump-onto-a-fifo", out_fifo, { "dump", "@M", "--ids", "1,2", "-o", "@T/out.json" }, 1,
    "@T/out.json", "is a FIFO" },
  { "/hostile/outputs/dump-onto-a-device", out_device, { "dump", "@M", "--ids", "1,2", "--format", "json", "-o",
    "@T/null" }, 1, "@T/null", "is a character device" },
  { "/hostile/outputs/dump-through-a-link", out_link, { "dump", "@M", "--ids", "1,2", "-o", "@T/out.json" }, 1,
    "@T/out.json", "is a symbolic link" },
  { "/hostile/outputs/dump-through-a-dangling-link", out_dangling_link,
    { "dump", "@M", "--ids", "1,2", "-o", "@T/out.json" }, 1, "@T/out.json", "is a symbolic link" },
  { "/hostile/outputs/dump-npy-through-a-link", out_link_folder,
    { "dump", "@M", "--ids", "1,2", "--format", "npy", "-o", "@T/out" }, 1, "@T/out", "is a symbolic link" },
  { "/hostile/outputs/dump-npy-onto-a-file", out_regular_file_for_a_folder,
    { "dump", "@M", "--ids", "1,2", "--format", "npy", "-o", "@T/out" }, 1, "@T/out", "not a folder" },
  { "/hostile/outputs/render-onto-a-fifo", out_fifo_png, { "render", "@M", "--ids", "1,2", "-o", "@T/out.png" }, 1,
    "@T/out.png", "is a FIFO" },
  { "/hostile/outputs/render-through-a-link", out_link_png, { "render", "@M", "--ids", "1,2", "-o", "@T/out.png" },
    1, "@T/out.png", "is a symbolic link" },
  { "/hostile/outputs/sweep-onto-a-fifo", out_fifo_md, { "sweep", "--task", "copy", "--steps", "1", "-o",
    "@T/out.md" }, 1, "@T/out.md", "is a FIFO" },
  { "/hostile/outputs/train-through-a-link", out_link_folder, { "train", "--task", "copy", "--steps", "1", "-o",
    "@T/out" }, 1, "@T/out", "is a symbolic link" },
  { "/hostile/outputs/empty-output-path", NULL, { "dump", "@M", "--ids", "1,2", "-o", "" }, 2, "-o",
    "the output path is empty" },
  { "/hostile/outputs/render-empty-output-path", NULL, { "render", "@M", "--ids", "1,2", "-o", "" }, 2, "-o",
    "empty" },

  /* 6. a dump folder is replaced only when it holds nothing but a dump */
  { "/hostile/folders/dump-into-a-folder-with-other-files", dump_folder_with_a_stranger,
    { "dump", "@M", "--ids", "1,2", "--format", "npy", "-o", "@T/dump" }, 1, "@T/dump", "holds \"notes.txt\"" },

  /* 8. finite weights that overflow: the first layer is named */
  { "/hostile/non-finite/overflow-in-layer-1", overflow_in_layer_1,
    { "dump", "@M", "--ids", "5,17,33,2,90,41", "-o", "@T/o.json" }, 1, "@M", "layer 1 produced a non-finite value" },
  { "/hostile/non-finite/overflow-in-the-embedding", overflow_in_the_embedding,
    { "dump", "@M", "--ids", "5,17,33", "-o", "@T/o.json" }, 1, "@M", "the embedding produced a non-finite value" },
  { "/hostile/non-finite/overflow-in-the-logits", overflow_in_the_logits,
    { "dump", "@M", "--ids", "5,17,33", "-o", "@T/o.json" }, 1, "@M", "logits" },
  { "/hostile/non-finite/generate-stops-at-the-overflow", overflow_in_layer_1_with_a_tokenizer,
    { "generate", "@M", "-n", "3" }, 1, "@M", "layer 1 produced a non-finite value" },

  /* 8b. generation and predictions (issue 13): options out of range are usage errors naming the option */
  { "/hostile/predictions/dump-top-k-0", NULL, { "dump", "@M", "--ids", "1,2", "--top-k", "0", "-o", "@T/o.json" },
    2, "--top-k", "1 or more" },
  { "/hostile/predictions/dump-top-k-negative", NULL,
    { "dump", "@M", "--ids", "1,2", "--top-k", "-4", "-o", "@T/o.json" }, 2, "--top-k", "1 or more" },
  { "/hostile/predictions/dump-top-k-past-the-vocabulary", NULL,
    { "dump", "@M", "--ids", "1,2", "--top-k", "98", "--logit-lens", "-o", "@T/o.json" }, 2, "--top-k 98",
    "more than the 97 tokens" },
  { "/hostile/predictions/generate-top-k-past-the-vocabulary", NULL, { "generate", "@M", "--top-k", "98" }, 2,
    "--top-k 98", "more than the 97 tokens" },
  { "/hostile/predictions/generate-top-p-0", NULL, { "generate", "@M", "-T", "1", "--top-p", "0" }, 2, "--top-p",
    "above 0" },
  { "/hostile/predictions/generate-top-p-nan", NULL, { "generate", "@M", "-T", "1", "--top-p", "nan" }, 2,
    "--top-p", "above 0" },
  { "/hostile/predictions/generate-temperature-inf", NULL, { "generate", "@M", "-T", "inf" }, 2, "--temperature",
    "finite" },
  { "/hostile/predictions/generate-sample-top-k-without-temperature", NULL,
    { "generate", "@M", "--sample-top-k", "3" }, 2, "--sample-top-k", "--temperature" },
  { "/hostile/predictions/generate-format-without-dump", NULL, { "generate", "@M", "--format", "json" }, 2,
    "--format", "--dump" },
  { "/hostile/predictions/generate-dump-onto-a-fifo", out_fifo, { "generate", "@M", "--dump", "@T/out.json" }, 1,
    "@T/out.json", "is a FIFO" },

  /* 9. messages that name the file or option at fault */
  { "/hostile/messages/config-link-loop", config_link_loop, { "info", "@M" }, 1, "@M/config.json",
    "too many levels of symbolic links" },
  { "/hostile/messages/model-link-loop", model_link_loop, { "info", "@T/loop" }, 1, "@T/loop",
    "too many levels of symbolic links" },
  { "/hostile/messages/ids-outside-the-vocabulary", NULL, { "dump", "@M", "--ids", "1,99999", "-o", "@T/o.json" },
    2, "--ids", "99999 is outside the vocabulary (0..96)" },
  { "/hostile/messages/layers-past-the-model", NULL, { "dump", "@M", "--ids", "1,2", "--layers", "99", "-o",
    "@T/o.json" }, 2, "--layers", "99 is past the model's 3 layers" },
  { "/hostile/messages/heads-past-the-model", NULL, { "dump", "@M", "--ids", "1,2", "--heads", "8", "-o",
    "@T/o.json" }, 2, "--heads", "8 is past the model's 4 heads" },
  { "/hostile/messages/integer-past-64-bits", huge_layer_count, { "info", "@M" }, 1, "@M/config.json",
    "\"n_layer\" = 18446744073709551621 does not fit in 64 bits" },
  { "/hostile/messages/escape-sequence-in-the-architecture", escape_in_architecture, { "info", "@M" }, 1,
    "@M/config.json", "unsupported architecture", no_raw_escape },
  { "/hostile/messages/split-pattern-fails-on-the-text", split_pattern_that_fails,
    { "dump", "@M", "--text", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "-o", "@T/o.json" }, 1,
    "@M/tokenizer.json", "split pattern failed" },
  { "/hostile/messages/split-pattern-does-not-compile", split_pattern_that_does_not_compile, { "info", "@M" }, 1,
    "@M/tokenizer.json", "pre-tokenizer pattern" },
  { "/hostile/messages/text-file-missing", NULL, { "dump", "@M", "--text-file", "@T/absent.txt", "-o", "@T/o.json" },
    1, "@T/absent.txt", "no such file" },
  /* Long inputs are no longer refused for their attention (it is computed
   * on demand, attnviz-attention.h: /hostile/memory/a-long-pooled-dump-...);
   * a format that cannot hold them is, before the run, naming the option. */
  { "/hostile/messages/long-input-in-json-names-the-format", attnviz_test_long_context_llama,
    { "dump", "@M", "--ids", "@IDS33000", "--layers", "0", "--heads", "0", "--format", "json", "-o",
      "@T/o.json" }, 2, "--format json", "33000 tokens are too many for json (at most 512)" },
};


int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    g_test_add_data_func (cases[i].path, &cases[i], attnviz_test_hostile_case);
  return g_test_run ();
}
