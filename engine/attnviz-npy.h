/* attnviz-npy.h: write NumPy .npy files (format version 1.0)
 *
 *   "\x93NUMPY" 0x01 0x00, u16 LE header length H, then H bytes of a Python
 *   dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (d0, d1, ), }
 *   padded with spaces and a final '\n' so the data starts at a multiple of 64;
 *   then the data, C order, little-endian.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  ATTNVIZ_NPY_F32,   /* '<f4' */
  ATTNVIZ_NPY_I32,   /* '<i4' */
  ATTNVIZ_NPY_I64,   /* '<i8' */
} AttnvizNpyType;

/* Writes an array atomically (temporary file + rename). */
gboolean attnviz_npy_write (const char *path,
                            AttnvizNpyType type,
                            const gint64 *shape,
                            int n_dims,
                            const void *data,
                            GError **error);

/* The header bytes for such an array (exposed for tests). */
GBytes *attnviz_npy_header (AttnvizNpyType type, const gint64 *shape, int n_dims);

G_END_DECLS
