/* The thread-local storage model of the hot paths' per-thread records (the
 * contention hand-off's last write, the counter shards' slot).
 *
 * On glibc it is initial-exec: one thread-pointer-relative access and no
 * lazy allocation, also when the library is dlopen()ed (glibc keeps spare
 * static TLS for that; the library needs a few dozen bytes of it).
 * Elsewhere (musl and bionic refuse initial-exec in a dlopen()ed library)
 * the default model: where the runtime allocates a thread's block lazily
 * (a dlopen()ed library, emulated TLS), it does so once per thread, outside
 * rs_set_allocator(). */
#ifndef RS_CORE_TLS_H
#define RS_CORE_TLS_H

#if defined(__GLIBC__) && defined(__GNUC__)
#define RS__TLS_MODEL __attribute__((tls_model("initial-exec")))
#else
#define RS__TLS_MODEL
#endif

#endif /* RS_CORE_TLS_H */
