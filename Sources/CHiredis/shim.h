// Thin shim over Debian's hiredis (libhiredis-dev): only the RESP reader is
// used (the sockets are NIO's); the accessor macros become inline functions.
#ifndef SCEPTER_CHIREDIS_SHIM_H
#define SCEPTER_CHIREDIS_SHIM_H

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

static inline const char *scepter_redisReaderGetError(const redisReader *reader) { return reader->errstr; }

#endif
