// The SQLite C API, from Debian's libsqlite3-dev, for the SightlineSQLite adapter.
#include <sqlite3.h>
