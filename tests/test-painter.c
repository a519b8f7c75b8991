/* test-painter: colour maps, scales and colour bars (the figures' text and
 * SVG: test-painter-svg.c; heatmap and grid layouts, pixels and files:
 * test-painter-layout.c) */
#define G_LOG_DOMAIN "test-painter"
#include "config.h"

#include <math.h>
#include <string.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "attnviz-painter-private.h"

/* ---- Colour maps ------------------------------------------------------------ */

static void
assert_rgb (const double rgb[3], double r, double g, double b)
{
  g_assert_cmpfloat_with_epsilon (rgb[0], r, 1e-6);
  g_assert_cmpfloat_with_epsilon (rgb[1], g, 1e-6);
  g_assert_cmpfloat_with_epsilon (rgb[2], b, 1e-6);
}

static void
test_viridis_ends_match_matplotlib (void)
{
  double rgb[3];
  /* matplotlib _cm_listed._viridis_data[0], [128] and [255] */
  attnviz_colormap_lookup (ATTNVIZ_COLORMAP_VIRIDIS, 0.0, rgb);
  assert_rgb (rgb, 0.267004, 0.004874, 0.329415);
  attnviz_colormap_lookup (ATTNVIZ_COLORMAP_VIRIDIS, 128.0 / 255.0, rgb);
  assert_rgb (rgb, 0.127568, 0.566949, 0.550556);
  attnviz_colormap_lookup (ATTNVIZ_COLORMAP_VIRIDIS, 1.0, rgb);
  assert_rgb (rgb, 0.993248, 0.906157, 0.143936);
  /* _magma_data[0] and [255] */
  attnviz_colormap_lookup (ATTNVIZ_COLORMAP_MAGMA, 0.0, rgb);
  assert_rgb (rgb, 0.001462, 0.000466, 0.013866);
  attnviz_colormap_lookup (ATTNVIZ_COLORMAP_MAGMA, 1.0, rgb);
  assert_rgb (rgb, 0.987053, 0.991438, 0.749504);
}

static void
test_grey_and_diverging_ends (void)
{
  double rgb[3];
  attnviz_colormap_lookup (ATTNVIZ_COLORMAP_GREY, 0.0, rgb);
  assert_rgb (rgb, 1, 1, 1);
  attnviz_colormap_lookup (ATTNVIZ_COLORMAP_GREY, 1.0, rgb);
  assert_rgb (rgb, 0, 0, 0);

  /* rdbu: blue below, near-white in the middle, red above. */
  attnviz_colormap_lookup (ATTNVIZ_COLORMAP_RDBU, 0.0, rgb);
  g_assert_cmpfloat (rgb[2], >, 2 * rgb[0]);
  attnviz_colormap_lookup (ATTNVIZ_COLORMAP_RDBU, 0.5, rgb);
  for (int c = 0; c < 3; c++)
    g_assert_cmpfloat (rgb[c], >, 0.95);
  attnviz_colormap_lookup (ATTNVIZ_COLORMAP_RDBU, 1.0, rgb);
  g_assert_cmpfloat (rgb[0], >, 2 * rgb[2]);
  g_assert_true (attnviz_colormap_is_diverging (ATTNVIZ_COLORMAP_RDBU));
  g_assert_false (attnviz_colormap_is_diverging (ATTNVIZ_COLORMAP_VIRIDIS));
}

static void
test_colormap_clamps_and_marks_nan (void)
{
  for (int m = 0; m < ATTNVIZ_N_COLORMAPS; m++)
    {
      double lo[3], below[3], hi[3], above[3], nan_rgb[3];
      attnviz_colormap_lookup (m, 0.0, lo);
      attnviz_colormap_lookup (m, -3.0, below);
      attnviz_colormap_lookup (m, 1.0, hi);
      attnviz_colormap_lookup (m, 7.0, above);
      attnviz_colormap_lookup (m, NAN, nan_rgb);
      g_assert_cmpmem (lo, sizeof lo, below, sizeof below);
      g_assert_cmpmem (hi, sizeof hi, above, sizeof above);
      /* "No data" is no colour of the map: look for it along the map. */
      double nearest = INFINITY;
      for (int i = 0; i <= 1024; i++)
        {
          double rgb[3];
          attnviz_colormap_lookup (m, i / 1024.0, rgb);
          double d = fabs (rgb[0] - nan_rgb[0]) + fabs (rgb[1] - nan_rgb[1]) + fabs (rgb[2] - nan_rgb[2]);
          nearest = MIN (nearest, d);
        }
      g_test_message ("%s: no-data colour is %.3f from the map", attnviz_colormap_to_string (m), nearest);
      g_assert_cmpfloat (nearest, >, 0.1);
    }
}

static void
test_colormap_names_round_trip (void)
{
  for (int m = 0; m < ATTNVIZ_N_COLORMAPS; m++)
    {
      AttnvizColormap back;
      g_assert_true (attnviz_colormap_from_string (attnviz_colormap_to_string (m), &back));
      g_assert_cmpint (back, ==, m);
    }
  AttnvizColormap map;
  g_assert_true (attnviz_colormap_from_string ("Gray", &map));
  g_assert_cmpint (map, ==, ATTNVIZ_COLORMAP_GREY);
  g_assert_true (attnviz_colormap_from_string ("diverging", &map));
  g_assert_cmpint (map, ==, ATTNVIZ_COLORMAP_RDBU);
  g_assert_false (attnviz_colormap_from_string ("jet", &map));
}

/* ---- Scales ------------------------------------------------------------------ */

static void
test_log_maps_floor_to_zero (void)
{
  AttnvizScale s;
  attnviz_scale_init (&s, ATTNVIZ_SCALE_LOG, 0, 1);
  g_assert_cmpfloat (attnviz_scale_map (&s, 1e-4), ==, 0.0);
  g_assert_cmpfloat (attnviz_scale_map (&s, 1e-7), ==, 0.0);
  g_assert_cmpfloat (attnviz_scale_map (&s, 0.0), ==, 0.0);
  g_assert_cmpfloat (attnviz_scale_map (&s, -1.0), ==, 0.0);
  g_assert_cmpfloat_with_epsilon (attnviz_scale_map (&s, 1e-2), 0.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (attnviz_scale_map (&s, 1.0), 1.0, 1e-12);
  g_assert_true (isnan (attnviz_scale_map (&s, NAN)));

  /* A positive vmin is the floor. */
  attnviz_scale_init (&s, ATTNVIZ_SCALE_LOG, 1e-3, 1e-1);
  g_assert_cmpfloat (attnviz_scale_map (&s, 1e-3), ==, 0.0);
  g_assert_cmpfloat_with_epsilon (attnviz_scale_map (&s, 1e-2), 0.5, 1e-12);
}

static void
test_linear_and_power_map_ends (void)
{
  AttnvizScale s;
  attnviz_scale_init (&s, ATTNVIZ_SCALE_LINEAR, -2, 2);
  g_assert_cmpfloat (attnviz_scale_map (&s, -2), ==, 0.0);
  g_assert_cmpfloat (attnviz_scale_map (&s, 0), ==, 0.5);
  g_assert_cmpfloat (attnviz_scale_map (&s, 5), ==, 1.0);

  attnviz_scale_init (&s, ATTNVIZ_SCALE_POWER, 0, 1);
  g_assert_cmpfloat_with_epsilon (attnviz_scale_map (&s, 0.25), 0.5, 1e-12);
  s.gamma = 2;
  g_assert_cmpfloat_with_epsilon (attnviz_scale_map (&s, 0.5), 0.25, 1e-12);
  g_assert_cmpfloat (attnviz_scale_map (&s, -0.1), ==, 0.0);
}

static void
test_unmap_inverts_map (void)
{
  for (int k = 0; k < ATTNVIZ_N_SCALES; k++)
    {
      AttnvizScale s;
      attnviz_scale_init (&s, k, 0, 0.8);
      for (int i = 1; i < 10; i++)
        {
          double t = i / 10.0;
          g_assert_cmpfloat_with_epsilon (attnviz_scale_map (&s, attnviz_scale_unmap (&s, t)), t, 1e-9);
        }
    }
}

static void
test_fit_takes_the_data_range (void)
{
  const float data[] = { 0.5f, NAN, -0.25f, 2.0f, INFINITY };
  AttnvizScale s = { 0 };
  attnviz_scale_fit (&s, data, G_N_ELEMENTS (data), FALSE);
  g_assert_cmpfloat (s.vmin, ==, -0.25);
  g_assert_cmpfloat (s.vmax, ==, 2.0);

  AttnvizScale d = { 0 };
  attnviz_scale_fit (&d, data, G_N_ELEMENTS (data), TRUE);
  g_assert_cmpfloat (d.vmin, ==, -2.0);
  g_assert_cmpfloat (d.vmax, ==, 2.0);

  /* A set range stays. */
  AttnvizScale set;
  attnviz_scale_init (&set, ATTNVIZ_SCALE_LINEAR, 0, 1);
  attnviz_scale_fit (&set, data, G_N_ELEMENTS (data), FALSE);
  g_assert_cmpfloat (set.vmax, ==, 1.0);
}

static void
assert_ticks (AttnvizScaleKind kind, double vmin, double vmax, int max_ticks, const char *expected)
{
  AttnvizScale s;
  double ticks[16];
  attnviz_scale_init (&s, kind, vmin, vmax);
  int n = attnviz_scale_ticks (&s, max_ticks, ticks);
  g_assert_cmpint (n, <=, max_ticks);
  g_auto(GStrv) labels = attnviz_scale_tick_labels (&s, ticks, n);
  g_autofree char *joined = g_strjoinv (" ", labels);
  g_test_message ("%s [%g, %g]: %s", attnviz_scale_kind_to_string (kind), vmin, vmax, joined);
  g_assert_cmpstr (joined, ==, expected);
  for (int i = 1; i < n; i++)
    g_assert_cmpfloat (ticks[i], >, ticks[i - 1]);
}

static void
test_linear_ticks_are_nice_numbers (void)
{
  assert_ticks (ATTNVIZ_SCALE_LINEAR, 0, 1, 6, "0.0 0.2 0.4 0.6 0.8 1.0");
  assert_ticks (ATTNVIZ_SCALE_LINEAR, 0, 1, 5, "0.00 0.25 0.50 0.75 1.00");
  assert_ticks (ATTNVIZ_SCALE_LINEAR, 0, 0.37, 5, "0.0 0.1 0.2 0.3");
  assert_ticks (ATTNVIZ_SCALE_LINEAR, -1, 1, 5, "−1.0 −0.5 0.0 0.5 1.0");
  assert_ticks (ATTNVIZ_SCALE_LINEAR, 0, 250, 4, "0 100 200");
}

/* Every colour bar labels its two ends, a log one in one notation, and
 * the range mode's caption sits under the bar, inside the matrix's height. */
static void
test_colour_bars_label_both_ends (void)
{
  float m[36];
  for (int i = 0; i < 36; i++)
    m[i] = 0.8734f * i / 35;
  for (int kind = 0; kind < ATTNVIZ_N_SCALES; kind++)
    {
      AttnvizHeatmapSpec spec;
      attnviz_heatmap_spec_init (&spec, m, 6, 6);
      attnviz_scale_init (&spec.scale, kind, 0, 0.8734);
      AttnvizHeatmapLayout layout;
      attnviz_heatmap_layout (&spec, 300, 280, &layout);
      int n = layout.colorbar_n_ticks;
      double lo, hi;
      attnviz_scale_get_bounds (&spec.scale, &lo, &hi);
      g_assert_cmpint (n, >=, 3);
      g_assert_cmpfloat (layout.colorbar_ticks[0], ==, lo);
      g_assert_cmpfloat (layout.colorbar_ticks[n - 1], ==, hi);
      g_auto(GStrv) labels = attnviz_scale_tick_labels (&spec.scale, layout.colorbar_ticks, n);
      g_autofree char *joined = g_strjoinv (" ", labels);
      g_test_message ("%s: %s", attnviz_scale_kind_to_string (kind), joined);
      if (kind == ATTNVIZ_SCALE_LOG)
        {
          g_assert_cmpstr (labels[n - 1], ==, "8.7×10⁻¹");
          for (int i = 0; i < n; i++)
            g_assert_nonnull (strstr (labels[i], "10"));
        }
      else
        g_assert_cmpstr (labels[n - 1], ==, "0.87");

      /* The caption takes its line under the bar, within the matrix's height. */
      g_assert_cmpfloat_with_epsilon (layout.colorbar.y + layout.colorbar.height,
                                      layout.matrix.y + layout.matrix.height, 1e-9);
      spec.scale_caption = "per layer";
      attnviz_heatmap_layout (&spec, 300, 280, &layout);
      g_assert_cmpfloat (layout.colorbar.y + layout.colorbar.height, <,
                         layout.matrix.y + layout.matrix.height - layout.font_size);
      g_assert_cmpfloat (layout.colorbar.x + 4 * layout.font_size, <, 300);
    }
}

static void
test_log_ticks_are_decades (void)
{
  /* One notation on a bar: powers of ten once one label needs them ... */
  assert_ticks (ATTNVIZ_SCALE_LOG, 0, 1, 8, "10⁻⁴ 10⁻³ 10⁻² 10⁻¹ 10⁰");
  /* ... plain numbers while every one is short. */
  assert_ticks (ATTNVIZ_SCALE_LOG, 0.01, 1, 8, "0.01 0.1 1");
  /* Too many decades: every other one, ending at the top. */
  assert_ticks (ATTNVIZ_SCALE_LOG, 1e-8, 1, 5, "10⁻⁸ 10⁻⁶ 10⁻⁴ 10⁻² 10⁰");
  /* Under a decade: nice numbers instead. */
  assert_ticks (ATTNVIZ_SCALE_LOG, 0.2, 0.9, 5, "0.2 0.4 0.6 0.8");
}

/* A diverging bar of −1 .. 1 keeps ticks on both sides of 0 (it once kept
 * the first eight of a fine step: 0.60 and 0.80 were missing), and an end
 * off the step's grid keeps its own two digits without giving every label
 * six decimals ("0.600000"). */
static void
test_colour_bar_ticks_cover_the_bar_and_read_short (void)
{
  AttnvizScale s;
  double ticks[8];
  attnviz_scale_init (&s, ATTNVIZ_SCALE_LINEAR, -1, 1);
  int n = attnviz_scale_ticks_with_ends (&s, 8, 0.05, ticks);
  g_assert_cmpint (n, <=, 8);
  gboolean above = FALSE, below = FALSE;
  for (int i = 1; i < n - 1; i++)
    {
      above |= ticks[i] > 0.3;
      below |= ticks[i] < -0.3;
    }
  g_assert_true (above && below);

  attnviz_scale_init (&s, ATTNVIZ_SCALE_LINEAR, 0.000051, 0.643553);
  n = attnviz_scale_ticks_with_ends (&s, 8, 0.05, ticks);
  g_auto(GStrv) labels = attnviz_scale_tick_labels (&s, ticks, n);
  g_assert_cmpstr (labels[0], ==, "0.000051");
  g_assert_cmpstr (labels[n - 1], ==, "0.64");
  for (int i = 1; i < n - 1; i++)
    g_assert_cmpint (strlen (labels[i]), <=, 4);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ui/colormap/viridis-ends-match-matplotlib", test_viridis_ends_match_matplotlib);
  g_test_add_func ("/ui/colormap/grey-is-white-to-black-and-rdbu-blue-to-red", test_grey_and_diverging_ends);
  g_test_add_func ("/ui/colormap/clamps-and-marks-nan-as-no-data", test_colormap_clamps_and_marks_nan);
  g_test_add_func ("/ui/colormap/names-round-trip", test_colormap_names_round_trip);
  g_test_add_func ("/ui/scale/log-maps-floor-to-zero", test_log_maps_floor_to_zero);
  g_test_add_func ("/ui/scale/linear-and-power-map-their-ends", test_linear_and_power_map_ends);
  g_test_add_func ("/ui/scale/unmap-inverts-map", test_unmap_inverts_map);
  g_test_add_func ("/ui/scale/fit-takes-the-data-range", test_fit_takes_the_data_range);
  g_test_add_func ("/ui/scale/linear-ticks-are-nice-numbers", test_linear_ticks_are_nice_numbers);
  g_test_add_func ("/ui/scale/log-ticks-are-decades", test_log_ticks_are_decades);
  g_test_add_func ("/ui/painter/colour-bars-label-both-ends-in-one-notation", test_colour_bars_label_both_ends);
  g_test_add_func ("/ui/painter/colour-bar-ticks-cover-the-bar-and-read-short",
                   test_colour_bar_ticks_cover_the_bar_and_read_short);

  return g_test_run ();
}
