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

/* The same, streamed: the header first, then the data in pieces of any
 * size as it is computed (an array larger than memory), through an
 * AttnvizAtomicFile.  commit checks that exactly the shape's elements were
 * written; abort (or a failed write) leaves no file. */
typedef struct _AttnvizNpyWriter AttnvizNpyWriter;

AttnvizNpyWriter *attnviz_npy_writer_open (const char *path,
                                           AttnvizNpyType type,
                                           const gint64 *shape,
                                           int n_dims,
                                           GError **error);
/* Appends N_ELEMENTS elements of DATA (little-endian). */
gboolean attnviz_npy_writer_write (AttnvizNpyWriter *self, const void *data, gsize n_elements, GError **error);
gboolean attnviz_npy_writer_commit (AttnvizNpyWriter *self, GError **error);
void attnviz_npy_writer_abort (AttnvizNpyWriter *self);

/* Reads a .npy file from a user (version 1 or 2, C order) of '<f4', '<f8',
 * '|b1', '|u1', '<i4' or '<i8' as float32: OUT (shape), SHAPE (*n_dims)
 * filled, at most MAX_DIMS dimensions.  Anything else (a truncated file,
 * another dtype, Fortran order, a header that does not parse) is a one-line
 * G_IO_ERROR_INVALID_DATA naming PATH. */
float *attnviz_npy_read_floats (const char *path, gint64 *shape, int max_dims, int *n_dims, GError **error);
/* The same of the LEN bytes at DATA, its errors naming PATH (the fuzzer's
 * way in). */
float *attnviz_npy_read_floats_bytes (const guint8 *data, gsize len, const char *path, gint64 *shape, int max_dims,
                                      int *n_dims, GError **error);

/* The same, refusing (G_IO_ERROR_NO_SPACE, naming PATH) before any
 * allocation an array of more than MAX_VALUES values. */
float *attnviz_npy_read_floats_max (const guint8 *data, gsize len, const char *path, gint64 *shape, int max_dims,
                                    int *n_dims, guint64 max_values, GError **error);

/* The header bytes for such an array (exposed for tests). */
GBytes *attnviz_npy_header (AttnvizNpyType type, const gint64 *shape, int n_dims);

G_END_DECLS
