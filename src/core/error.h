/* Internal helpers around rs_last_error(). Not installed. */
#ifndef RS_CORE_ERROR_H
#define RS_CORE_ERROR_H

/* For a configuration nested in another: rewrites this thread's last error
 * "rs_backoff_config.base_ns: 0, must be > 0", set by the inner validate,
 * as "<outer>.base_ns: 0, must be > 0" (outer = "rs_policy_config.retry.backoff"),
 * so the text names the field the caller wrote. An empty outer names the
 * field alone ("base_ns: 0, must be > 0"), for a field passed as an
 * argument of its own. Text of another shape is kept behind "<outer>: ".
 * Returns status. */
int rs__error_nest(int status, const char *outer);

#endif /* RS_CORE_ERROR_H */
