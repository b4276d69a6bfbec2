/* Key names: `<prefix>{<name>}:<suffix>[:<more>]`.
 *
 * Redis Cluster puts a key on the slot of its hash tag: the text between
 * the first '{' and the first '}' after it, when that text is not empty;
 * otherwise the whole key decides. Every key of one object starts with the
 * same `<prefix>{<name>}`, whose tag therefore decides the slot of all of
 * them, so each script (which touches only the keys of one object) runs on
 * one slot, and a budget's per-user keys stay together with its base key.
 *
 * 0.2 and earlier wrote `<prefix><name>:<suffix>` (no tag); pools created
 * with rs_redis_config.legacy_key_names keep those names for a rolling
 * upgrade (docs/distributed.md, "Key names and Redis Cluster"). */
#include <string.h>

#include "core/alloc.h"
#include "internal.h"

int rs__redis_check_prefix(const char *prefix)
{
    /* Only the first '{' counts: "{}" there would make every key hash
     * whole, and the per-object tag the library adds would be ignored. */
    const char *open = strchr(prefix, '{');
    if (open != NULL && open[1] == '}') {
        return rs_set_last_error(RS_E_INVAL, "rs_redis_config.key_prefix: \"%s\" holds an empty "
                                             "hash tag \"{}\" (keys would not share a cluster "
                                             "slot per object)", prefix);
    }
    return RS_OK;
}

char *rs__redis_key(const rs_redis *r, const char *name, const char *suffix, size_t *len)
{
    size_t prefix_len;
    const char *prefix = rs__redis_prefix(r, &prefix_len);
    bool tagged = !rs__redis_legacy_keys(r);
    size_t name_len = strlen(name), suffix_len = strlen(suffix);
    size_t braces = tagged ? 2 : 0;
    size_t total = prefix_len + braces + name_len + 1 + suffix_len;
    char *key = rs__malloc(total + 1);
    if (key == NULL) {
        return NULL;
    }
    char *p = key;
    memcpy(p, prefix, prefix_len);
    p += prefix_len;
    if (tagged) {
        *p++ = '{';
    }
    memcpy(p, name, name_len);
    p += name_len;
    if (tagged) {
        *p++ = '}';
    }
    *p++ = ':';
    memcpy(p, suffix, suffix_len + 1);
    *len = total;
    return key;
}

int rs__redis_check_name(const rs_redis *r, const char *config, const char *name)
{
    size_t prefix_len;
    const char *prefix = rs__redis_prefix(r, &prefix_len);
    /* With a '{' in the prefix, the first tag opens there and is not empty
     * (rs__redis_check_prefix), so it ends by the '}' after the name at the
     * latest: inside `<prefix>{<name>}`, which every key of the object
     * starts with. Otherwise the tag is `{<name>}`, empty only when the
     * name starts with '}'. */
    if (rs__redis_legacy_keys(r) || memchr(prefix, '{', prefix_len) != NULL || name[0] != '}') {
        return RS_OK;
    }
    return rs_set_last_error(RS_E_INVAL, "%s.name: \"%s\" makes an empty hash tag \"{}\", so "
                                         "the object's keys would not share a cluster slot "
                                         "(a name must not start with '}')", config, name);
}

char *rs__redis_subkey(const rs__redis_object *o, const char *suffix, size_t *len)
{
    size_t suffix_len = strlen(suffix);
    char *key = rs__malloc(o->key_len + 1 + suffix_len + 1);
    if (key == NULL) {
        return NULL;
    }
    memcpy(key, o->key, o->key_len);
    key[o->key_len] = ':';
    memcpy(key + o->key_len + 1, suffix, suffix_len + 1);
    *len = o->key_len + 1 + suffix_len;
    return key;
}
