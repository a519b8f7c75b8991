/* attnviz-tokenizer-pretok.c: llama.cpp's pre-tokenizers for GGUF vocabularies
 *
 * A GGUF BPE vocabulary names its pre-tokenizer (tokenizer.ggml.pre) rather
 * than carrying its pattern.  llama.cpp maps each name to a list of
 * patterns applied one after another, each splitting the words the previous
 * one made into matches and the gaps between them; the common patterns it
 * runs through hand-written scanners instead of a regex engine.  This file
 * does the same with its own scanners, one per pattern below, over code
 * points classified by GLib's Unicode tables:
 *
 *   letter  \p{L}  Lu Ll Lt Lm Lo
 *   number  \p{N}  Nd Nl No
 *   space   \s     Unicode White_Space (9-13, 32, 0x85, 0xA0, 0x1680,
 *                  0x2000-0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000)
 *   punct   \p{P}  Pc Pd Ps Pe Pi Pf Po
 *
 * Words are byte ranges of the text, so every token keeps its span.
 */
#define G_LOG_DOMAIN "attnviz-tokenizer"

#include "config.h"

#include <string.h>

#include "attnviz-tokenizer-private.h"

/* ---------------------------------------------------------------- the names */

static const char *const gpt2_names[] = {
  "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0",
  "mellum", "modern-bert", "mpt", "olmo", "jais", "trillion", "granite-docling", "exaone4", NULL
};
static const char *const llama3_names[] = {
  "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
  "jina-v5-nano", NULL
};
static const char *const llama3_plain_names[] = { "dbrx", "smaug-bpe", NULL };
static const char *const qwen2_names[] = {
  "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez", "stablelm2", "hunyuan", "solar-open", NULL
};
static const char *const starcoder_names[] = {
  "starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b", "mellum2", NULL
};
static const char *const falcon_names[] = { "falcon", NULL };
/* llama.cpp's default for a BPE vocabulary, also used when the key is absent. */
static const char *const default_names[] = { "default", NULL };

static const AttnvizPretok pretoks[] = {
  { gpt2_names, { PRETOK_GPT2 }, 1, FALSE, FALSE },
  { llama3_names, { PRETOK_LLAMA3 }, 1, TRUE, TRUE },
  { llama3_plain_names, { PRETOK_LLAMA3 }, 1, FALSE, FALSE },
  { qwen2_names, { PRETOK_QWEN2 }, 1, FALSE, FALSE },
  { starcoder_names, { PRETOK_NUMBER_EACH, PRETOK_GPT2 }, 2, FALSE, FALSE },
  { falcon_names, { PRETOK_PUNCT_RUNS_BT, PRETOK_GPT2, PRETOK_DIGITS3 }, 3, FALSE, FALSE },
  { default_names, { PRETOK_PUNCT_RUNS, PRETOK_GPT2, PRETOK_NUMBER_RUNS, PRETOK_DIGITS3 }, 4, FALSE, FALSE },
};

const AttnvizPretok *
_attnviz_pretok_lookup (const char *name)
{
  if (name == NULL || *name == '\0')
    name = "default";
  for (gsize i = 0; i < G_N_ELEMENTS (pretoks); i++)
    if (g_strv_contains ((const char *const *) pretoks[i].names, name))
      return &pretoks[i];
  return NULL;
}

/* ---------------------------------------------------------------- code points */

enum {
  CP_LETTER = 1 << 0,
  CP_NUMBER = 1 << 1,
  CP_SPACE = 1 << 2,
  CP_PUNCT = 1 << 3,
};

gboolean
_attnviz_tokenizer_is_white_space (gunichar c)
{
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680
    || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F
    || c == 0x205F || c == 0x3000;
}

static guint8
classify (gunichar c)
{
  guint8 cls = _attnviz_tokenizer_is_white_space (c) ? CP_SPACE : 0;

  if (c < 128)
    {
      /* ASCII punctuation but the symbols $+<=>^`|~ (Sc, Sm, Sk). */
      if (g_ascii_isalpha ((char) c))
        return CP_LETTER;
      if (g_ascii_isdigit ((char) c))
        return CP_NUMBER;
      if (g_ascii_ispunct ((char) c) && strchr ("$+<=>^`|~", (char) c) == NULL)
        return CP_PUNCT;
      return cls;
    }
  switch (g_unichar_type (c))
    {
    case G_UNICODE_UPPERCASE_LETTER:
    case G_UNICODE_LOWERCASE_LETTER:
    case G_UNICODE_TITLECASE_LETTER:
    case G_UNICODE_MODIFIER_LETTER:
    case G_UNICODE_OTHER_LETTER:
      return cls | CP_LETTER;
    case G_UNICODE_DECIMAL_NUMBER:
    case G_UNICODE_LETTER_NUMBER:
    case G_UNICODE_OTHER_NUMBER:
      return cls | CP_NUMBER;
    case G_UNICODE_CONNECT_PUNCTUATION:
    case G_UNICODE_DASH_PUNCTUATION:
    case G_UNICODE_OPEN_PUNCTUATION:
    case G_UNICODE_CLOSE_PUNCTUATION:
    case G_UNICODE_INITIAL_PUNCTUATION:
    case G_UNICODE_FINAL_PUNCTUATION:
    case G_UNICODE_OTHER_PUNCTUATION:
      return cls | CP_PUNCT;
    default:
      return cls;
    }
}

/* The text as code points and their classes. */
typedef struct {
  const gunichar *cp; /* (n) */
  const guint8 *cls;  /* (n) CP_* */
  gsize n;
} Cps;

/* One piece being split, [ini, end) in code points; words are appended to
 * OUT as end indices.  Outside the piece a class is 0 and a code point
 * matches nothing, as the end of the text does for a regex. */
typedef struct {
  const Cps *t;
  gsize ini;
  gsize end;
  gsize last; /* where the previous word ended */
  GArray *out;
} Piece;

static inline guint8
cls_at (const Piece *p, gsize i)
{
  return i >= p->ini && i < p->end ? p->t->cls[i] : 0;
}

static inline gunichar
cp_at (const Piece *p, gsize i)
{
  return i >= p->ini && i < p->end ? p->t->cp[i] : G_MAXUINT32;
}

/* Neither space, letter nor number: [^\s\p{L}\p{N}] (inside the piece). */
static inline gboolean
is_other (const Piece *p, gsize i)
{
  return i >= p->ini && i < p->end && (p->t->cls[i] & (CP_SPACE | CP_LETTER | CP_NUMBER)) == 0;
}

/* Ends a word at END (nothing when it would be empty); returns its length. */
static gsize
word_to (Piece *p, gsize end)
{
  gsize n = end - p->last;

  if (n > 0)
    {
      guint32 e = (guint32) end;

      g_array_append_val (p->out, e);
    }
  p->last = end;
  return n;
}

/* 's|'t|'re|'ve|'m|'ll|'d at I, case-folded when FOLD: its length, or 0. */
static gsize
contraction_at (const Piece *p, gsize i, gboolean fold)
{
  gunichar a, b;

  if (cp_at (p, i) != '\'')
    return 0;
  a = cp_at (p, i + 1);
  b = cp_at (p, i + 2);
  if (fold)
    {
      a = a < 128 ? (gunichar) g_ascii_tolower ((char) a) : a;
      b = b < 128 ? (gunichar) g_ascii_tolower ((char) b) : b;
    }
  if (a == 's' || a == 't' || a == 'm' || a == 'd')
    return 2;
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
    return 3;
  return 0;
}

/* \s+(?!\S)|\s+ at POS: a run of spaces followed by more text leaves its
 * last space to the next word.  Returns the new position, or POS. */
static gsize
spaces_at (const Piece *p, gsize pos)
{
  gsize n = 0;

  while (cls_at (p, pos + n) & CP_SPACE)
    n++;
  if (n > 1 && pos + n < p->end)
    return pos + n - 1;
  return pos + n;
}

/* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static void
split_gpt2 (Piece *p)
{
  gsize pos = p->ini;

  while (pos < p->end)
    {
      gsize k = contraction_at (p, pos, FALSE);
      gsize at;

      if (k > 0)
        {
          pos += word_to (p, pos + k);
          continue;
        }
      /* An optional space, then a run of one class. */
      at = p->t->cp[pos] == ' ' ? pos + 1 : pos;
      if (cls_at (p, at) & (CP_LETTER | CP_NUMBER))
        {
          guint8 run = cls_at (p, at) & (CP_LETTER | CP_NUMBER);

          for (pos = at; cls_at (p, pos) & run; pos++)
            ;
          word_to (p, pos);
          continue;
        }
      if (is_other (p, at))
        {
          for (pos = at; is_other (p, pos); pos++)
            ;
          word_to (p, pos);
          continue;
        }
      k = spaces_at (p, pos);
      pos = k > pos ? k : pos + 1;
      word_to (p, pos);
    }
}

/* Llama 3 (DIGITS 3) and Qwen2 (DIGITS 1):
 * (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,DIGITS}
 * | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
static void
split_llama3 (Piece *p, gsize digits)
{
  gsize pos = p->ini;

  while (pos < p->end)
    {
      gunichar c = p->t->cp[pos];
      guint8 cls = p->t->cls[pos];
      gsize k = contraction_at (p, pos, TRUE);
      gsize at, last_newline;

      if (k > 0)
        {
          pos += word_to (p, pos + k);
          continue;
        }
      /* One character that is not a newline, letter or number may lead
       * a run of letters. */
      if (c != '\r' && c != '\n' && !(cls & CP_NUMBER)
          && ((cls & CP_LETTER) || (cls_at (p, pos + 1) & CP_LETTER)))
        {
          for (pos++; cls_at (p, pos) & CP_LETTER; pos++)
            ;
          word_to (p, pos);
          continue;
        }
      if (cls & CP_NUMBER)
        {
          gsize start = pos;

          while ((cls_at (p, pos) & CP_NUMBER) && pos - start < digits)
            pos++;
          word_to (p, pos);
          continue;
        }
      at = c == ' ' ? pos + 1 : pos;
      if (is_other (p, at))
        {
          for (pos = at; is_other (p, pos); pos++)
            ;
          while (cp_at (p, pos) == '\r' || cp_at (p, pos) == '\n')
            pos++;
          word_to (p, pos);
          continue;
        }
      /* Spaces up to the last newline among them, else as GPT-2. */
      last_newline = 0;
      for (k = pos; cls_at (p, k) & CP_SPACE; k++)
        if (p->t->cp[k] == '\r' || p->t->cp[k] == '\n')
          last_newline = k + 1;
      if (last_newline > 0)
        pos = last_newline;
      else
        {
          k = spaces_at (p, pos);
          pos = k > pos ? k : pos + 1;
        }
      word_to (p, pos);
    }
}

/* A class that runs of one pattern match, for the patterns llama.cpp hands
 * to std::regex over a text where every code point above 127 stands for
 * its category (so only Unicode punctuation joins the ASCII ones). */
static gboolean
in_punct_class (const Piece *p, gsize i, gboolean backtick)
{
  gunichar c = p->t->cp[i];

  if (c < 128)
    return g_ascii_ispunct ((char) c) && (backtick || c != '`');
  return (p->t->cls[i] & (CP_PUNCT | CP_SPACE)) == CP_PUNCT;
}

/* Runs of the class (matches) and what lies between them (gaps) become
 * words; with EACH every member is a word of its own. */
static void
split_runs (Piece *p, AttnvizPretokStage stage)
{
  gsize pos = p->ini;

  while (pos < p->end)
    {
      gboolean member;

      switch (stage)
        {
        case PRETOK_PUNCT_RUNS:
        case PRETOK_PUNCT_RUNS_BT:
          member = in_punct_class (p, pos, stage == PRETOK_PUNCT_RUNS_BT);
          break;
        default:
          member = (p->t->cls[pos] & CP_NUMBER) != 0;
          break;
        }
      if (!member)
        {
          pos++;
          continue;
        }
      word_to (p, pos); /* the gap before */
      if (stage == PRETOK_NUMBER_EACH)
        pos++;
      else if (stage == PRETOK_NUMBER_RUNS)
        while (pos < p->end && (p->t->cls[pos] & CP_NUMBER))
          pos++;
      else
        while (pos < p->end && in_punct_class (p, pos, stage == PRETOK_PUNCT_RUNS_BT))
          pos++;
      word_to (p, pos);
    }
  word_to (p, p->end);
}

static inline gboolean
is_ascii_digit (gunichar c)
{
  return c >= '0' && c <= '9';
}

/* [0-9][0-9][0-9]: each three ASCII digits in a row, leftmost first. */
static void
split_digits3 (Piece *p)
{
  gsize pos = p->ini;

  while (pos < p->end)
    {
      if (pos + 3 <= p->end && is_ascii_digit (p->t->cp[pos]) && is_ascii_digit (p->t->cp[pos + 1])
          && is_ascii_digit (p->t->cp[pos + 2]))
        {
          word_to (p, pos);
          pos += 3;
          word_to (p, pos);
        }
      else
        pos++;
    }
  word_to (p, p->end);
}

void
_attnviz_pretok_split (const AttnvizPretok *pre, const char *text, gsize len, GArray *ends)
{
  g_autofree gunichar *cp = g_new (gunichar, len + 1);
  g_autofree guint8 *cls = g_new (guint8, len + 1);
  g_autofree guint32 *offset = g_new (guint32, len + 1); /* byte offset of each code point */
  g_autoptr(GArray) words = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GArray) next = g_array_new (FALSE, FALSE, sizeof (guint32));
  Cps t = { cp, cls, 0 };
  guint32 n;

  g_return_if_fail (pre != NULL && pre->n_stages > 0);

  for (const char *s = text; s < text + len; s = g_utf8_next_char (s))
    {
      /* The text is valid UTF-8 with U+0000 allowed, which g_utf8_get_char reads. */
      cp[t.n] = g_utf8_get_char (s);
      cls[t.n] = classify (cp[t.n]);
      offset[t.n] = (guint32) (s - text);
      t.n++;
    }
  offset[t.n] = (guint32) len;
  if (t.n == 0)
    return;

  n = (guint32) t.n;
  g_array_append_val (words, n);
  for (int s = 0; s < pre->n_stages; s++)
    {
      guint32 start = 0;

      g_array_set_size (next, 0);
      for (guint w = 0; w < words->len; w++)
        {
          Piece p = { &t, start, g_array_index (words, guint32, w), start, next };

          switch (pre->stages[s])
            {
            case PRETOK_GPT2:
              split_gpt2 (&p);
              break;
            case PRETOK_LLAMA3:
              split_llama3 (&p, 3);
              break;
            case PRETOK_QWEN2:
              split_llama3 (&p, 1);
              break;
            case PRETOK_DIGITS3:
              split_digits3 (&p);
              break;
            default:
              split_runs (&p, pre->stages[s]);
              break;
            }
          start = (guint32) p.end;
        }
      {
        GArray *tmp = words;

        words = next;
        next = tmp;
      }
    }

  for (guint w = 0; w < words->len; w++)
    {
      guint32 e = offset[g_array_index (words, guint32, w)];

      g_array_append_val (ends, e);
    }
}
