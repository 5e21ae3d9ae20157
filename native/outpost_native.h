/*
 * Shared by the addon's C files: the N-API version, the check macro, and the functions each file
 * exports to the module's Init (outpost_native.c).
 */
#ifndef OUTPOST_NATIVE_H
#define OUTPOST_NATIVE_H

#define NAPI_VERSION 8
#include <node_api.h>

/* Throws and returns NULL from the calling napi_callback when an N-API call fails. */
#define CHECK(call)                                                                   \
  do {                                                                                \
    if ((call) != napi_ok) {                                                          \
      napi_throw_error(env, "OUTPOST_NATIVE", "N-API call failed: " #call);         \
      return NULL;                                                                    \
    }                                                                                 \
  } while (0)

/* packet_scan.c */
napi_value ScanPackets(napi_env env, napi_callback_info info);

/* topic_filter_index.c */
napi_value IndexCreate(napi_env env, napi_callback_info info);
napi_value IndexAdd(napi_env env, napi_callback_info info);
napi_value IndexRemove(napi_env env, napi_callback_info info);
napi_value IndexMatch(napi_env env, napi_callback_info info);
napi_value IndexSize(napi_env env, napi_callback_info info);

/* memory_release.cc (C++: V8's isolate API; malloc) */
#ifdef __cplusplus
extern "C" {
#endif
napi_value ReleaseIdleMemory(napi_env env, napi_callback_info info);
napi_value HoldMallocThresholds(napi_env env, napi_callback_info info);
napi_value MallocStats(napi_env env, napi_callback_info info);

/* young_generation.cc (C++: V8's isolate API) */
napi_value HoldSemiSpaceGrowthFactor(napi_env env, napi_callback_info info);
#ifdef __cplusplus
}
#endif

#endif
