/* fuzz-small-stack.h: run a harness's body on a thread with a small stack
 *
 * Recursion that grows with the input (json-glib's parser takes a few
 * frames per level of nesting) only overflows an 8 MiB main stack at tens
 * of thousands of levels: far longer inputs than a fuzzer grows in a run.
 * On a FUZZ_STACK_BYTES stack the same bug overflows at a few hundred
 * levels, and AddressSanitizer reports it as a stack-overflow.  Code that
 * bounds its recursion (attnviz_json_parse: 64 levels) runs the same on
 * either stack.
 *
 * json-glib is not instrumented, so libFuzzer sees no new coverage in a
 * deeper input; fuzz_depth_feedback () gives it some: one branch per depth
 * threshold, so an input that nests deeper than any before is kept and
 * grown further, and the fuzzer climbs to the depth that overflows. */
#pragma once

#include <pthread.h>
#include <stdint.h>
#include <glib.h>

#ifndef FUZZ_STACK_BYTES
#define FUZZ_STACK_BYTES (64 * 1024)
#endif

typedef struct {
  void (*func) (gpointer data);
  gpointer data;
} FuzzStackJob;

static void *
fuzz_stack_trampoline (void *p)
{
  FuzzStackJob *job = p;
  job->func (job->data);
  return NULL;
}

/* How deep a recursive JSON parser descends into DATA before it stops: a
 * small validating scanner (containers on a stack, keys, colons, commas)
 * that stops where a parser would report an error, so only nesting the
 * parser really enters counts.  Turned into coverage below. */
static volatile unsigned fuzz_depth_sink[32];
static char fuzz_depth_stack[1 << 17];

enum { FD_VALUE, FD_VALUE_OR_END, FD_KEY_OR_END, FD_KEY, FD_COLON, FD_AFTER };

#define FUZZ_DEPTH_EDGE(i, n) \
  if (max >= (n))             \
    fuzz_depth_sink[i]++;

static inline void __attribute__ ((noinline))
fuzz_depth_feedback (const uint8_t *data, size_t size)
{
  long depth = 0, max = 0;
  int state = FD_VALUE;
  /* json-glib reads nothing that is not UTF-8 */
  if (!g_utf8_validate_len ((const char *) data, size, NULL))
    return;
  for (size_t i = 0; i < size; i++)
    {
      uint8_t c = data[i];
      if (c == ' ' || c == '\n' || c == '\t' || c == '\r')
        continue;
      if (c == '/' && i + 1 < size && data[i + 1] == '*')
        {
          /* json-glib 1.6 skips C comments like blanks */
          for (i += 2; i + 1 < size && !(data[i] == '*' && data[i + 1] == '/'); i++)
            ;
          i++;
          continue;
        }
      if (state == FD_VALUE || state == FD_VALUE_OR_END)
        {
          if ((c == '[' || c == '{') && depth < (long) sizeof fuzz_depth_stack)
            {
              fuzz_depth_stack[depth++] = (char) c;
              max = depth > max ? depth : max;
              state = c == '[' ? FD_VALUE_OR_END : FD_KEY_OR_END;
              continue;
            }
          if (c == ']' && state == FD_VALUE_OR_END)
            {
              depth--;
              state = FD_AFTER;
            }
          else if (c == '"')
            {
              for (i++; i < size && data[i] != '"'; i++)
                if (data[i] == '\\')
                  i++;
              state = FD_AFTER;
            }
          else if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-')
            {
              while (i + 1 < size && ((data[i + 1] >= '0' && data[i + 1] <= '9') || (data[i + 1] >= 'a' && data[i + 1] <= 'z')
                                      || data[i + 1] == '.' || data[i + 1] == '+' || data[i + 1] == '-'
                                      || data[i + 1] == 'E'))
                i++;
              state = FD_AFTER;
            }
          else
            break;
        }
      else if (state == FD_KEY_OR_END || state == FD_KEY)
        {
          if (c == '}' && state == FD_KEY_OR_END)
            {
              depth--;
              state = FD_AFTER;
            }
          else if (c == '"')
            {
              for (i++; i < size && data[i] != '"'; i++)
                if (data[i] == '\\')
                  i++;
              state = FD_COLON;
            }
          else
            break;
        }
      else if (state == FD_COLON)
        {
          if (c != ':')
            break;
          state = FD_VALUE;
        }
      else /* FD_AFTER */
        {
          if (depth == 0)
            break;
          char top = fuzz_depth_stack[depth - 1];
          if (c == ',')
            state = top == '[' ? FD_VALUE : FD_KEY;
          else if ((c == ']' && top == '[') || (c == '}' && top == '{'))
            depth--;
          else
            break;
        }
    }
  FUZZ_DEPTH_EDGE (0, 2) FUZZ_DEPTH_EDGE (1, 4) FUZZ_DEPTH_EDGE (2, 8) FUZZ_DEPTH_EDGE (3, 16)
  FUZZ_DEPTH_EDGE (4, 32) FUZZ_DEPTH_EDGE (5, 48) FUZZ_DEPTH_EDGE (6, 64) FUZZ_DEPTH_EDGE (7, 65)
  FUZZ_DEPTH_EDGE (8, 80) FUZZ_DEPTH_EDGE (9, 96) FUZZ_DEPTH_EDGE (10, 128) FUZZ_DEPTH_EDGE (11, 160)
  FUZZ_DEPTH_EDGE (12, 192) FUZZ_DEPTH_EDGE (13, 224) FUZZ_DEPTH_EDGE (14, 256) FUZZ_DEPTH_EDGE (15, 320)
  FUZZ_DEPTH_EDGE (16, 384) FUZZ_DEPTH_EDGE (17, 448) FUZZ_DEPTH_EDGE (18, 512) FUZZ_DEPTH_EDGE (19, 640)
  FUZZ_DEPTH_EDGE (20, 768) FUZZ_DEPTH_EDGE (21, 896) FUZZ_DEPTH_EDGE (22, 1024) FUZZ_DEPTH_EDGE (23, 1536)
  FUZZ_DEPTH_EDGE (24, 2048) FUZZ_DEPTH_EDGE (25, 3072) FUZZ_DEPTH_EDGE (26, 4096) FUZZ_DEPTH_EDGE (27, 8192)
  FUZZ_DEPTH_EDGE (28, 16384) FUZZ_DEPTH_EDGE (29, 32768) FUZZ_DEPTH_EDGE (30, 65536)
}

static inline void
fuzz_on_small_stack (void (*func) (gpointer data), gpointer data)
{
  FuzzStackJob job = { func, data };
  pthread_attr_t attr;
  pthread_t thread;
  g_assert (pthread_attr_init (&attr) == 0);
  g_assert (pthread_attr_setstacksize (&attr, FUZZ_STACK_BYTES) == 0);
  g_assert (pthread_create (&thread, &attr, fuzz_stack_trampoline, &job) == 0);
  g_assert (pthread_join (thread, NULL) == 0);
  pthread_attr_destroy (&attr);
}
