#define G_LOG_DOMAIN "attnviz-fuzz-safetensors"
#include "config.h"

/* libFuzzer harness: any byte string handed to the safetensors reader either
 * opens or fails with a GError; an opened file converts every floating
 * tensor without reading outside the input. */

#include <stdint.h>
#include <glib.h>

#include "attnviz-safetensors.h"
#include "fuzz-small-stack.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef struct {
  const uint8_t *data;
  size_t size;
} Input;

static void run (gpointer p);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  Input in = { data, size };
  /* the header's JSON after the 8-byte length: its depth as coverage, and
   * the parse on a small stack (fuzz-small-stack.h) */
  if (size > 8)
    fuzz_depth_feedback (data + 8, size - 8);
  fuzz_on_small_stack (run, &in);
  return 0;
}

static void
run (gpointer p)
{
  const uint8_t *data = ((const Input *) p)->data;
  size_t size = ((const Input *) p)->size;
  GError *error = NULL;
  AttnvizSafetensors *st = attnviz_safetensors_open_bytes (data, size, "fuzz.safetensors",
                                                           &error);
  if (st == NULL)
    {
      g_assert (error != NULL && error->message != NULL);
      g_error_free (error);
      return;
    }
  g_assert (error == NULL);

  guint n = attnviz_safetensors_get_n_tensors (st);
  for (guint i = 0; i < n; i++)
    {
      const AttnvizTensorInfo *info = attnviz_safetensors_get_nth (st, i);
      g_assert (attnviz_safetensors_lookup (st, info->name) == info);
      g_assert (info->data >= data && info->data + info->n_bytes <= data + size);
      switch (info->dtype)
        {
        case ATTNVIZ_DTYPE_F32:
        case ATTNVIZ_DTYPE_F16:
        case ATTNVIZ_DTYPE_BF16:
        case ATTNVIZ_DTYPE_F64:
          {
            /* n_bytes <= size, so this allocation is bounded by the input. */
            float *out = g_new (float, info->n_elements + 1);
            attnviz_tensor_to_f32 (info, out);
            g_free (out);
          }
          break;
        default:
          break;
        }
    }
  attnviz_safetensors_get_metadata (st, "format");
  attnviz_safetensors_free (st);
}
