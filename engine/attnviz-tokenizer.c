/* placeholder until written */
#include "config.h"
typedef int attnviz_tokenizer_placeholder;
