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
