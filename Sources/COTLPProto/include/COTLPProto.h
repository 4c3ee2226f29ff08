// The protobuf-c code generated from proto/*.proto by scripts/generate-otlp.
// Only this umbrella header is hand-written; everything else in this target is generated.
#ifndef COTLPPROTO_H
#define COTLPPROTO_H

#include "otlp_common.pb-c.h"
#include "otlp_resource.pb-c.h"
#include "otlp_trace.pb-c.h"
#include "otlp_trace_service.pb-c.h"

#endif
