/* attnviz sweep: train variants of a model and tabulate them */
#define G_LOG_DOMAIN "attnviz-cmd-sweep"
#include "config.h"

#include "attnviz-cli.h"

int
attnviz_cmd_sweep (int argc, char **argv)
{
  return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "sweep: not yet");
}
