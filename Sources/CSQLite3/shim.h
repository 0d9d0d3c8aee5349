// Debian's SQLite 3 (libsqlite3-dev), for the embedded store. SQLITE_TRANSIENT
// is a cast macro Swift cannot import; the shim names it.
#ifndef SCEPTER_CSQLITE3_SHIM_H
#define SCEPTER_CSQLITE3_SHIM_H

#include <sqlite3.h>

static inline sqlite3_destructor_type scepter_sqlite3_transient(void) { return SQLITE_TRANSIENT; }

#endif
