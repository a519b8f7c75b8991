/* attnviz-safetensors-private.h: what the safetensors files share
 *
 *   attnviz-safetensors.c        the format, field by field; reading, opening
 *   attnviz-safetensors-dtype.c  element types: names, sizes, conversions
 *   attnviz-safetensors-write.c  the writer
 */
#pragma once

#include <glib.h>

#include "attnviz-safetensors.h"

G_BEGIN_DECLS

/* ---- attnviz-safetensors-dtype.c ---- */

/* How many AttnvizDtype values there are (the rows of its dtype table). */
#define ATTNVIZ_N_DTYPES (ATTNVIZ_DTYPE_BOOL + 1)

/* The dtype the header spells S ("F32"), or FALSE. */
gboolean _attnviz_dtype_from_string (const char *s, AttnvizDtype *out);

G_END_DECLS
