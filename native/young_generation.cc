/*
 * holdSemiSpaceGrowthFactor(factor): sets V8's --semi-space-growth-factor now and again before
 * every collection of the calling thread's isolate, so the factor the main thread's
 * YoungGenerationCap chose (src/hub/young-generation-cap.ts) is the one V8 reads when it decides,
 * after a scavenge, whether the young generation grows.
 *
 * Why before every collection: the flag is the process's, and V8 sets it back to at least 2 each
 * time it makes an isolate (Heap::ConfigureHeap), that is each time a worker thread starts. A
 * store shard starts on its first message, under load; when two started in the same turn, the
 * main thread's semi-space grew from 8 to 16 MiB within 50 ms, before JavaScript could observe the
 * collection and set the factor again (the routed benchmark's peak RSS 206-209 MiB against 191-192
 * when it held; docs/benchmarks.md). A GC prologue callback runs on the collecting thread before
 * the collection, with no JavaScript involved, so no collection sees V8's value.
 *
 * factor 0 stops holding (the callback is removed; the flag keeps its last value). One hold per
 * isolate, kept in the addon's instance data for that thread and removed when its environment is
 * torn down.
 */
#include <node_api.h>
#include <v8.h>
#include <cstdio>

namespace {

struct GrowthHold {
  v8::Isolate* isolate;
  int factor;
  bool registered;
};

void SetFactor(int factor) {
  char flag[48];
  int length = std::snprintf(flag, sizeof flag, "--semi-space-growth-factor=%d", factor);
  if (length > 0) v8::V8::SetFlagsFromString(flag, static_cast<size_t>(length));
}

void BeforeCollection(v8::Isolate*, v8::GCType, v8::GCCallbackFlags, void* data) {
  SetFactor(static_cast<GrowthHold*>(data)->factor);
}

void Release(GrowthHold* hold) {
  if (hold->registered) hold->isolate->RemoveGCPrologueCallback(BeforeCollection, hold);
  hold->registered = false;
}

void Finalize(napi_env, void* data, void*) {
  GrowthHold* hold = static_cast<GrowthHold*>(data);
  Release(hold);
  delete hold;
}

}  // namespace

extern "C" napi_value HoldSemiSpaceGrowthFactor(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t factor = -1;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &factor) != napi_ok || factor < 0) {
    napi_throw_type_error(env, "OUTPOST_NATIVE", "holdSemiSpaceGrowthFactor(factor): factor must be an integer, 0 to stop holding");
    return nullptr;
  }
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  if (isolate == nullptr) {
    napi_throw_error(env, "OUTPOST_NATIVE", "holdSemiSpaceGrowthFactor: no isolate on this thread");
    return nullptr;
  }
  void* data = nullptr;
  if (napi_get_instance_data(env, &data) != napi_ok) return nullptr;
  GrowthHold* hold = static_cast<GrowthHold*>(data);
  if (hold == nullptr) {
    hold = new GrowthHold{isolate, 0, false};
    if (napi_set_instance_data(env, hold, Finalize, nullptr) != napi_ok) {
      delete hold;
      return nullptr;
    }
  }
  hold->factor = factor;
  if (factor == 0) {
    Release(hold);
  } else {
    SetFactor(factor);
    if (!hold->registered) {
      isolate->AddGCPrologueCallback(BeforeCollection, hold);
      hold->registered = true;
    }
  }
  napi_value result;
  if (napi_get_undefined(env, &result) != napi_ok) return nullptr;
  return result;
}
