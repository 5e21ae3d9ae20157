/*
 * Outpost's N-API addon: C versions of src/native/packet-scan.ts (packet_scan.c) and
 * src/native/topic-filter-index.ts (topic_filter_index.c), whose TypeScript files are the
 * specification (test/native/ checks identical results on random inputs; the broker's topic filter
 * index uses the C one); and what JavaScript has no way to do, with no TypeScript twin:
 * releaseIdleMemory, holdMallocThresholds and mallocStats (memory_release.cc),
 * holdSemiSpaceGrowthFactor (young_generation.cc). docs/benchmarks.md, "Native addon".
 *
 * No mutable static state: the addon loads in worker threads too, each with its own env
 * (NAPI_MODULE_INIT registers it as context-aware); what a thread holds is its instance data.
 */
#include "outpost_native.h"

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"scanPackets", NULL, ScanPackets, NULL, NULL, NULL, napi_enumerable, NULL},
      {"filterIndexCreate", NULL, IndexCreate, NULL, NULL, NULL, napi_enumerable, NULL},
      {"filterIndexAdd", NULL, IndexAdd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"filterIndexRemove", NULL, IndexRemove, NULL, NULL, NULL, napi_enumerable, NULL},
      {"filterIndexMatch", NULL, IndexMatch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"filterIndexSize", NULL, IndexSize, NULL, NULL, NULL, napi_enumerable, NULL},
      {"releaseIdleMemory", NULL, ReleaseIdleMemory, NULL, NULL, NULL, napi_enumerable, NULL},
      {"holdMallocThresholds", NULL, HoldMallocThresholds, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mallocStats", NULL, MallocStats, NULL, NULL, NULL, napi_enumerable, NULL},
      {"holdSemiSpaceGrowthFactor", NULL, HoldSemiSpaceGrowthFactor, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties));
  return exports;
}

NAPI_MODULE_INIT() { return Init(env, exports); }
