/*
 * releaseIdleMemory(): gives memory an idle thread no longer uses back to the system
 * (docs/benchmarks.md, "Where the idle memory goes"). Two parts, both measured on the idle hub:
 *
 * - V8's LowMemoryNotification on the calling thread's isolate: full collections that also shrink
 *   the young generation. V8 grows the new space's semi-spaces to their maximum (8 MiB each on
 *   the main thread) during start-up's allocation burst and keeps them while the program is idle;
 *   nothing in Node's JavaScript API shrinks them (a forced gc() does not). They grow back under
 *   load as they would have anyway.
 * - glibc's malloc_trim(0): returns the free pages of every malloc arena (one per thread that
 *   allocated: workers, libuv, RocksDB) to the system.
 *
 * C++ because the isolate is V8's API, not N-API's: this file ties the addon to the Node version
 * it was built for, which the install script already does (it builds against the running node).
 * The main thread passes collect=false: after V8's part, the benchmark gate measured QoS 1 fan-in
 * at 2.4x the broker CPU per message (V8 then sizes the heap from the small post-release live set
 * and collects far more often under the next burst). It blocks the calling thread for the collections (a few ms on the idle hub): call it only when idle.
 */
#include <node_api.h>
#include <v8.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

extern "C" napi_value ReleaseIdleMemory(napi_env env, napi_callback_info info) {
  // releaseIdleMemory(collect): collect false skips V8's part (malloc_trim only).
  size_t argc = 1;
  napi_value argv[1];
  bool collect = true;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  if (argc >= 1 && napi_get_value_bool(env, argv[0], &collect) != napi_ok) collect = true;
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  if (collect && isolate != nullptr) isolate->LowMemoryNotification();
  bool trimmed = false;
#if defined(__GLIBC__)
  trimmed = malloc_trim(0) != 0;
#endif
  napi_value result;
  if (napi_get_boolean(env, trimmed, &result) != napi_ok) return nullptr;
  return result;
}

/*
 * holdMallocThresholds(bytes): fixes glibc's mmap threshold at `bytes` (mallopt M_MMAP_THRESHOLD).
 * glibc starts it at 128 KiB and, each time a chunk it had mapped is freed, raises it to that
 * chunk's size (up to 32 MiB), and the trim threshold to twice that. After a few large Buffers come
 * and go, every later allocation of that size is carved from an arena instead of being mapped, and
 * what is freed in the middle of an arena stays resident: the durable routed benchmark peaked 20-35
 * MiB higher for it (docs/benchmarks.md, "malloc's thresholds held"). Setting a threshold turns
 * the adjustment off for both; the trim threshold (free memory at an arena's top kept rather than
 * given back) is set to `bytes` as well. Process-wide: every thread's arenas. False where it does
 * nothing (not glibc, or mallopt refused).
 */
extern "C" napi_value HoldMallocThresholds(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t bytes = 0;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  if (argc < 1 || napi_get_value_int64(env, argv[0], &bytes) != napi_ok || bytes <= 0) {
    napi_throw_type_error(env, "OUTPOST_NATIVE", "holdMallocThresholds(bytes): bytes must be a positive integer");
    return nullptr;
  }
  bool held = false;
#if defined(__GLIBC__)
  // The trim threshold too: glibc raised it with the mmap threshold (to twice that) for every
  // large free before this call, and setting the mmap threshold alone leaves it there.
  held = mallopt(M_MMAP_THRESHOLD, static_cast<int>(bytes)) == 1 && mallopt(M_TRIM_THRESHOLD, static_cast<int>(bytes)) == 1;
#endif
  napi_value result;
  if (napi_get_boolean(env, held, &result) != napi_ok) return nullptr;
  return result;
}

/*
 * mallocStats(): glibc's mallinfo2() for every arena together, in bytes, or null where there is
 * none: `arena` (obtained from the system by the arenas), `inUse` and `free` of that, `mapped`
 * (chunks mapped on their own) and how many of those `mappedChunks`. What the idle release and
 * the thresholds above are judged by.
 */
extern "C" napi_value MallocStats(napi_env env, napi_callback_info info) {
  napi_value result;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  struct mallinfo2 m = mallinfo2();
  if (napi_create_object(env, &result) != napi_ok) return nullptr;
  const struct {
    const char* name;
    size_t value;
  } fields[] = {{"arena", m.arena}, {"inUse", m.uordblks}, {"free", m.fordblks}, {"mapped", m.hblkhd}, {"mappedChunks", m.hblks}};
  for (const auto& field : fields) {
    napi_value value;
    if (napi_create_double(env, static_cast<double>(field.value), &value) != napi_ok) return nullptr;
    if (napi_set_named_property(env, result, field.name, value) != napi_ok) return nullptr;
  }
#else
  if (napi_get_null(env, &result) != napi_ok) return nullptr;
#endif
  return result;
}
