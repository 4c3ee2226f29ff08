#ifndef SIGHTLINE_CYAML_SHIM_H
#define SIGHTLINE_CYAML_SHIM_H

#include <yaml.h>

#endif
