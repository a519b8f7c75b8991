/* attnviz-recent.h: the models opened lately, most recent first
 *
 * A small key file, g_get_user_data_dir ()/attnviz/recent, so a folder
 * (which GtkRecentManager does not list well) is remembered like a file.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define ATTNVIZ_RECENT_MAX 8

/* The remembered paths that still exist; never NULL. */
char **attnviz_recent_list (void);
/* Moves PATH to the front and saves; failures to save are only logged. */
void attnviz_recent_add (const char *path);

G_END_DECLS
