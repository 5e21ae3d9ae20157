{
  "targets": [
    {
      "target_name": "outpost_native",
      "sources": ["outpost_native.c", "packet_scan.c", "topic_filter_index.c", "memory_release.cc", "young_generation.cc"],
      "cflags": ["-O3", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"],
      "cflags_c": ["-std=c11"]
    }
  ]
}
