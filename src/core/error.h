/* The library's own side of rs_last_error() (common.h). */
#ifndef RS_CORE_ERROR_H
#define RS_CORE_ERROR_H

/* Rewrites this thread's last error when it begins with `from`, so that it
 * begins with `to` instead, and returns `status`: a configuration checked
 * inside another names the field by its whole path
 * ("rs_breaker_config.open_backoff.max_ns" rather than
 * "rs_backoff_config.max_ns"). Text that does not begin with `from` is left
 * as it is; an empty `from` puts `to` in front. */
int rs__last_error_rename(int status, const char *from, const char *to);

#endif /* RS_CORE_ERROR_H */
