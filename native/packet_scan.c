/*
 * scanPackets: the C version of src/native/packet-scan.ts (the specification; the layout of `out`
 * is documented there). Identical output for every input: test/native/packet-scan.test.ts.
 */
#include <stdint.h>
#include "outpost_native.h"

#define SCAN_HEADER 4
#define SCAN_STRIDE 6
#define SCAN_OK 0
#define SCAN_TOO_LARGE 1
#define SCAN_MALFORMED 2

static void decode_publish_at(const uint8_t *buf, int64_t offset, int64_t packet_end, int qos, int protocol_version, int32_t *rec) {
  if (offset + 2 > packet_end) return;
  int64_t topic_length = ((int64_t)buf[offset] << 8) | buf[offset + 1];
  int64_t topic_start = offset + 2;
  int64_t topic_end = topic_start + topic_length;
  if (topic_end > packet_end) return;
  int64_t at = topic_end;
  int32_t packet_id = 0;
  if (qos > 0) {
    if (at + 2 > packet_end) return;
    packet_id = ((int32_t)buf[at] << 8) | buf[at + 1];
    at += 2;
  }
  if (protocol_version == 5) {
    if (at >= packet_end || buf[at] != 0) return;
    at += 1;
  }
  rec[2] = (int32_t)topic_start;
  rec[3] = (int32_t)topic_end;
  rec[4] = (int32_t)at;
  rec[5] = packet_id;
}

static int64_t scan(const uint8_t *buf, int64_t start, int64_t end, double max_packet_bytes, int protocol_version, int32_t *out, int64_t out_len) {
  int64_t capacity = (out_len - SCAN_HEADER) / SCAN_STRIDE;
  int64_t count = 0;
  int64_t pos = start;
  int32_t status = SCAN_OK;
  int64_t detail = 0;
  while (count < capacity) {
    int64_t offset = pos + 1;
    int64_t remaining = 0;
    int64_t multiplier = 1;
    int complete = 0;
    for (;;) {
      if (offset >= end) break;
      uint8_t byte = buf[offset];
      remaining += (int64_t)(byte & 0x7f) * multiplier;
      offset += 1;
      if ((byte & 0x80) == 0) {
        complete = 1;
        break;
      }
      if (offset - pos > 4) {
        status = SCAN_MALFORMED;
        break;
      }
      multiplier *= 128;
    }
    if (!complete) break;
    int64_t total = offset - pos + remaining;
    if ((double)total > max_packet_bytes) {
      status = SCAN_TOO_LARGE;
      detail = total;
      break;
    }
    int64_t packet_end = pos + total;
    if (packet_end > end) break;
    int32_t *rec = out + SCAN_HEADER + SCAN_STRIDE * count;
    rec[0] = (int32_t)pos;
    rec[1] = (int32_t)packet_end;
    rec[2] = -1;
    rec[3] = -1;
    rec[4] = -1;
    rec[5] = 0;
    uint8_t first = buf[pos];
    if ((first >> 4) == 3 && ((first >> 1) & 0x03) != 3) decode_publish_at(buf, offset, packet_end, (first >> 1) & 0x03, protocol_version, rec);
    count += 1;
    pos = packet_end;
  }
  out[0] = status;
  out[1] = (int32_t)pos;
  out[2] = (int32_t)detail;
  out[3] = 0;
  return count;
}

/* scanPackets(buf, start, end, maxPacketBytes, protocolVersion, out) -> count */
napi_value ScanPackets(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) {
    napi_throw_type_error(env, NULL, "scanPackets: 6 arguments expected");
    return NULL;
  }
  napi_typedarray_type buf_type, out_type;
  size_t buf_len, out_len;
  void *buf_data, *out_data;
  napi_value ab;
  size_t byte_offset;
  if (napi_get_typedarray_info(env, argv[0], &buf_type, &buf_len, &buf_data, &ab, &byte_offset) != napi_ok || buf_type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "scanPackets: buf must be a Uint8Array");
    return NULL;
  }
  if (napi_get_typedarray_info(env, argv[5], &out_type, &out_len, &out_data, &ab, &byte_offset) != napi_ok || out_type != napi_int32_array) {
    napi_throw_type_error(env, NULL, "scanPackets: out must be an Int32Array");
    return NULL;
  }
  int64_t start, end;
  int32_t protocol_version;
  double max_packet_bytes;
  CHECK(napi_get_value_int64(env, argv[1], &start));
  CHECK(napi_get_value_int64(env, argv[2], &end));
  CHECK(napi_get_value_double(env, argv[3], &max_packet_bytes));
  CHECK(napi_get_value_int32(env, argv[4], &protocol_version));
  if (!(start >= 0 && start <= end && end <= (int64_t)buf_len) || out_len < SCAN_HEADER) {
    napi_throw_range_error(env, NULL, "scanPackets: start/end outside the buffer, or out shorter than its header");
    return NULL;
  }
  int64_t count = scan((const uint8_t *)buf_data, start, end, max_packet_bytes, protocol_version, (int32_t *)out_data, (int64_t)out_len);
  napi_value result;
  CHECK(napi_create_int64(env, count, &result));
  return result;
}

