#include "core/contention.h"

_Thread_local rs__last_write rs__my_last_write RS__TLS_MODEL;
