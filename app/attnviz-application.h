/* attnviz-application.h: the desktop app */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define ATTNVIZ_TYPE_APPLICATION (attnviz_application_get_type ())
G_DECLARE_FINAL_TYPE (AttnvizApplication, attnviz_application, ATTNVIZ, APPLICATION, AdwApplication)

AttnvizApplication *attnviz_application_new (GApplicationFlags extra_flags);

/* `attnviz [MODEL [TEXT]]`: runs the app; called by main () once no
 * subcommand matched. */
int attnviz_gui_main (int argc, char **argv);

G_END_DECLS
