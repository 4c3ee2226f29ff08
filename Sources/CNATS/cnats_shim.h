// The NATS C client (cnats 3.x, Debian libnats-dev) as one Swift module.
#include <nats/nats.h>
