/* attnviz-spm.c: SentencePiece's ModelProto, read with bounds checks
 *
 * The file is one protocol buffer message (sentencepiece_model.proto,
 * proto2).  On the wire a message is a run of fields, each a key varint
 * (field number << 3 | wire type) then the value: wire type 0 a varint
 * (at most 10 bytes, little-endian groups of 7 bits), 1 eight bytes, 2 a
 * length varint then that many bytes (strings, bytes, sub-messages), 5 four
 * bytes (float, fixed32).  Types 3 and 4 (groups) are not used by
 * ModelProto: refused.  Unknown fields are skipped by their wire type, so
 * a newer SentencePiece's additions are read past.
 *
 * ModelProto
 *   1  pieces (repeated SentencePiece, message)
 *        1  piece (string)          the piece's text, "▁" for a space
 *        2  score (float, wire 5)   log probability (Unigram)
 *        3  type (enum, varint)     NORMAL 1 (default), UNKNOWN 2, CONTROL 3,
 *                                   USER_DEFINED 4, UNUSED 5, BYTE 6
 *   2  trainer_spec (TrainerSpec, message)
 *        3  model_type (enum)       UNIGRAM 1 (default), BPE 2, WORD 3, CHAR 4
 *       35  byte_fallback (bool)
 *       40  unk_id (int32, default 0)   41 bos_id (1)   42 eos_id (2)
 *       43  pad_id (-1); a negative int32 is a 10-byte varint
 *   3  normalizer_spec (NormalizerSpec, message)
 *        1  name (string)           "nmt_nfkc", "nfkc", "identity", ...
 *        2  precompiled_charsmap (bytes)   the compiled rules (attnviz-charsmap.c),
 *                                   checked and kept; empty: none (identity)
 *        3  add_dummy_prefix (bool, default true)
 *        4  remove_extra_whitespaces (bool, default true)
 *   4  self_test_data, 5 denormalizer_spec: read past
 *
 * Every varint is checked to end within 10 bytes and inside its message;
 * every length to fit in what is left of its message.
 */
#define G_LOG_DOMAIN "attnviz-spm"
#include "config.h"

#include <gio/gio.h>
#include <math.h>
#include <string.h>

#include "attnviz-charsmap.h"
#include "attnviz-fileutil.h"
#include "attnviz-spm.h"

/* More pieces than this is a corrupt file (as the tokenizer's MAX_VOCAB_ID). */
#define MAX_PIECES (1 << 24)

typedef struct {
  const guint8 *p;    /* the next byte */
  const guint8 *end;  /* the end of the message being read */
} Cursor;

typedef struct {
  const char *filename;
  GError **error;
  gboolean failed;
} Reader;

static gboolean G_GNUC_PRINTF (2, 3)
fail (Reader *r, const char *format, ...)
{
  if (!r->failed)
    {
      va_list args;
      va_start (args, format);
      g_autofree char *msg = g_strdup_vprintf (format, args);
      va_end (args);
      g_set_error (r->error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: not a SentencePiece model: %s", r->filename, msg);
      r->failed = TRUE;
    }
  return FALSE;
}

static gboolean
read_varint (Reader *r, Cursor *c, guint64 *out)
{
  guint64 v = 0;
  for (int i = 0; i < 10; i++)
    {
      if (c->p >= c->end)
        return fail (r, "a varint runs past the end of its message");
      guint8 b = *c->p++;
      v |= (guint64) (b & 0x7f) << (7 * i);
      if (!(b & 0x80))
        {
          *out = v;
          return TRUE;
        }
    }
  return fail (r, "a varint is longer than 10 bytes");
}

/* The key of the next field: its number and wire type. */
static gboolean
read_key (Reader *r, Cursor *c, guint32 *field, guint *wire)
{
  guint64 key;
  if (!read_varint (r, c, &key))
    return FALSE;
  if (key >> 3 == 0 || key >> 3 > G_MAXINT32)
    return fail (r, "field number %" G_GUINT64_FORMAT " is out of range", key >> 3);
  *field = (guint32) (key >> 3);
  *wire = (guint) (key & 7);
  return TRUE;
}

/* A length-delimited value: *SUB its bytes, C moved past them. */
static gboolean
read_bytes (Reader *r, Cursor *c, Cursor *sub)
{
  guint64 n;
  if (!read_varint (r, c, &n))
    return FALSE;
  if (n > (guint64) (c->end - c->p))
    return fail (r, "a length of %" G_GUINT64_FORMAT " bytes runs past the end of its message", n);
  sub->p = c->p;
  sub->end = c->p + n;
  c->p += n;
  return TRUE;
}

static gboolean
skip_value (Reader *r, Cursor *c, guint32 field, guint wire)
{
  guint64 v;
  Cursor sub;
  switch (wire)
    {
    case 0: return read_varint (r, c, &v);
    case 2: return read_bytes (r, c, &sub);
    case 1:
    case 5:
      if ((gsize) (c->end - c->p) < (wire == 1 ? 8u : 4u))
        return fail (r, "field %u runs past the end of its message", field);
      c->p += wire == 1 ? 8 : 4;
      return TRUE;
    default:
      return fail (r, "field %u has wire type %u, which ModelProto does not use", field, wire);
    }
}

/* Field FIELD must have wire type WANT. */
static gboolean
expect_wire (Reader *r, guint32 field, const char *name, guint wire, guint want)
{
  if (wire != want)
    return fail (r, "%s (field %u) has wire type %u, expected %u", name, field, wire, want);
  return TRUE;
}

static gboolean
read_int32 (Reader *r, Cursor *c, guint32 field, const char *name, guint wire, int *out)
{
  guint64 v;
  if (!expect_wire (r, field, name, wire, 0) || !read_varint (r, c, &v))
    return FALSE;
  *out = (int) (gint32) (guint32) v;   /* int32: the low 32 bits, sign-extended on the wire */
  return TRUE;
}

static gboolean
read_bool (Reader *r, Cursor *c, guint32 field, const char *name, guint wire, gboolean *out)
{
  guint64 v;
  if (!expect_wire (r, field, name, wire, 0) || !read_varint (r, c, &v))
    return FALSE;
  *out = v != 0;
  return TRUE;
}

/* A string field, checked to be UTF-8 without NUL. */
static char *
read_string (Reader *r, Cursor *c, guint32 field, const char *name, guint wire)
{
  Cursor s;
  if (!expect_wire (r, field, name, wire, 2) || !read_bytes (r, c, &s))
    return NULL;
  gsize n = (gsize) (s.end - s.p);
  if (memchr (s.p, '\0', n) != NULL || !g_utf8_validate ((const char *) s.p, (gssize) n, NULL))
    {
      fail (r, "%s is not UTF-8 text", name);
      return NULL;
    }
  return g_strndup ((const char *) s.p, n);
}

static gboolean
read_piece (Reader *r, Cursor c, AttnvizSpmPiece *out, int index)
{
  out->type = ATTNVIZ_SPM_NORMAL;
  while (c.p < c.end && !r->failed)
    {
      guint32 field = 0;
      guint wire = 0;
      if (!read_key (r, &c, &field, &wire))
        return FALSE;
      if (field == 1)
        {
          g_free (out->piece);
          if ((out->piece = read_string (r, &c, field, "a piece", wire)) == NULL)
            return FALSE;
        }
      else if (field == 2)
        {
          if (!expect_wire (r, field, "a piece's score", wire, 5))
            return FALSE;
          if (c.end - c.p < 4)
            return fail (r, "piece %d's score runs past its end", index);
          guint32 bits = (guint32) c.p[0] | (guint32) c.p[1] << 8 | (guint32) c.p[2] << 16 | (guint32) c.p[3] << 24;
          memcpy (&out->score, &bits, sizeof bits);
          c.p += 4;
          if (!isfinite (out->score))
            return fail (r, "piece %d has a score that is not a finite number", index);
        }
      else if (field == 3)
        {
          int type;
          if (!read_int32 (r, &c, field, "a piece's type", wire, &type))
            return FALSE;
          if (type < ATTNVIZ_SPM_NORMAL || type > ATTNVIZ_SPM_BYTE)
            return fail (r, "piece %d has type %d (expected 1 to 6)", index, type);
          out->type = type;
        }
      else if (!skip_value (r, &c, field, wire))
        return FALSE;
    }
  if (!r->failed && (out->piece == NULL || out->piece[0] == '\0'))
    return fail (r, "piece %d is empty", index);
  return !r->failed;
}

static gboolean
read_trainer_spec (Reader *r, Cursor c, AttnvizSpmModel *m)
{
  while (c.p < c.end && !r->failed)
    {
      guint32 field = 0;
      guint wire = 0;
      int v;
      if (!read_key (r, &c, &field, &wire))
        return FALSE;
      switch (field)
        {
        case 3:
          if (!read_int32 (r, &c, field, "trainer_spec.model_type", wire, &v))
            return FALSE;
          if (v < ATTNVIZ_SPM_MODEL_UNIGRAM || v > ATTNVIZ_SPM_MODEL_CHAR)
            return fail (r, "trainer_spec.model_type is %d (expected 1 to 4)", v);
          m->model_type = v;
          break;
        case 35: read_bool (r, &c, field, "trainer_spec.byte_fallback", wire, &m->byte_fallback); break;
        case 40: read_int32 (r, &c, field, "trainer_spec.unk_id", wire, &m->unk_id); break;
        case 41: read_int32 (r, &c, field, "trainer_spec.bos_id", wire, &m->bos_id); break;
        case 42: read_int32 (r, &c, field, "trainer_spec.eos_id", wire, &m->eos_id); break;
        case 43: read_int32 (r, &c, field, "trainer_spec.pad_id", wire, &m->pad_id); break;
        default: skip_value (r, &c, field, wire); break;
        }
    }
  return !r->failed;
}

static gboolean
read_normalizer_spec (Reader *r, Cursor c, AttnvizSpmModel *m)
{
  while (c.p < c.end && !r->failed)
    {
      guint32 field = 0;
      guint wire = 0;
      if (!read_key (r, &c, &field, &wire))
        return FALSE;
      switch (field)
        {
        case 1:
          g_free (m->normalizer_name);
          m->normalizer_name = read_string (r, &c, field, "normalizer_spec.name", wire);
          break;
        case 2:
          {
            Cursor map;
            if (!expect_wire (r, field, "normalizer_spec.precompiled_charsmap", wire, 2) || !read_bytes (r, &c, &map))
              break;
            g_clear_pointer (&m->charsmap, attnviz_charsmap_free);
            m->has_charsmap = map.end > map.p;
            if (m->has_charsmap
                && (m->charsmap = attnviz_charsmap_new (map.p, (gsize) (map.end - map.p), r->filename, r->error))
                     == NULL)
              r->failed = TRUE;   /* the message names the file and precompiled_charsmap */
          }
          break;
        case 3: read_bool (r, &c, field, "normalizer_spec.add_dummy_prefix", wire, &m->add_dummy_prefix); break;
        case 4:
          read_bool (r, &c, field, "normalizer_spec.remove_extra_whitespaces", wire, &m->remove_extra_whitespaces);
          break;
        default: skip_value (r, &c, field, wire); break;
        }
    }
  return !r->failed;
}

static gboolean
check_id (Reader *r, const AttnvizSpmModel *m, const char *name, int *id)
{
  if (*id < -1 || *id >= m->n_pieces)
    return fail (r, "trainer_spec.%s = %d is not one of the %d pieces", name, *id, m->n_pieces);
  return TRUE;
}

AttnvizSpmModel *
attnviz_spm_parse (const guint8 *data, gsize len, const char *filename, GError **error)
{
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  static const guint8 nothing[1];
  if (data == NULL)
    data = nothing;   /* an empty mapping: no arithmetic on NULL */
  Reader r = { filename, error, FALSE };
  g_autoptr(AttnvizSpmModel) m = g_new0 (AttnvizSpmModel, 1);
  m->model_type = ATTNVIZ_SPM_MODEL_UNIGRAM;
  m->unk_id = 0, m->bos_id = 1, m->eos_id = 2, m->pad_id = -1;
  m->add_dummy_prefix = m->remove_extra_whitespaces = TRUE;
  g_autoptr(GArray) pieces = g_array_new (FALSE, TRUE, sizeof (AttnvizSpmPiece));

  Cursor c = { data, data + len };
  while (c.p < c.end && !r.failed)
    {
      guint32 field = 0;
      guint wire = 0;
      Cursor sub;
      if (!read_key (&r, &c, &field, &wire))
        break;
      if (field >= 1 && field <= 3)
        {
          static const char *const names[] = { NULL, "pieces", "trainer_spec", "normalizer_spec" };
          if (!expect_wire (&r, field, names[field], wire, 2) || !read_bytes (&r, &c, &sub))
            break;
          if (field == 1)
            {
              if (pieces->len >= MAX_PIECES)
                {
                  fail (&r, "more than %d pieces", MAX_PIECES);
                  break;
                }
              AttnvizSpmPiece piece = { 0 };
              gboolean ok = read_piece (&r, sub, &piece, (int) pieces->len);
              if (!ok)
                {
                  g_free (piece.piece);
                  break;
                }
              g_array_append_val (pieces, piece);
            }
          else if (field == 2)
            read_trainer_spec (&r, sub, m);
          else
            read_normalizer_spec (&r, sub, m);
        }
      else
        skip_value (&r, &c, field, wire);
    }

  m->n_pieces = (int) pieces->len;
  m->pieces = (AttnvizSpmPiece *) g_array_free (g_steal_pointer (&pieces), FALSE);
  if (r.failed)
    return NULL;
  if (m->n_pieces == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: the SentencePiece model has no pieces",
                   filename);
      return NULL;
    }
  if (m->unk_id < 0)
    {
      fail (&r, "it names no unknown piece (trainer_spec.unk_id)");
      return NULL;
    }
  if (!check_id (&r, m, "unk_id", &m->unk_id) || !check_id (&r, m, "bos_id", &m->bos_id)
      || !check_id (&r, m, "eos_id", &m->eos_id) || !check_id (&r, m, "pad_id", &m->pad_id))
    return NULL;
  return g_steal_pointer (&m);
}

AttnvizSpmModel *
attnviz_spm_load (const char *path, GError **error)
{
  g_autoptr(GMappedFile) file = attnviz_map_regular (path, error);
  if (file == NULL)
    return NULL;
  return attnviz_spm_parse ((const guint8 *) g_mapped_file_get_contents (file), g_mapped_file_get_length (file), path,
                            error);
}

void
attnviz_spm_free (AttnvizSpmModel *model)
{
  if (model == NULL)
    return;
  for (int i = 0; i < model->n_pieces; i++)
    g_free (model->pieces[i].piece);
  g_free (model->pieces);
  g_free (model->normalizer_name);
  attnviz_charsmap_free (model->charsmap);
  g_free (model);
}

const char *
attnviz_spm_model_type_to_string (AttnvizSpmModelType type)
{
  switch (type)
    {
    case ATTNVIZ_SPM_MODEL_UNIGRAM: return "unigram";
    case ATTNVIZ_SPM_MODEL_BPE: return "bpe";
    case ATTNVIZ_SPM_MODEL_WORD: return "word";
    case ATTNVIZ_SPM_MODEL_CHAR: return "char";
    default: return "unknown";
    }
}
