/*
 * The topic filter index: the C version of src/native/topic-filter-index.ts (the specification:
 * the broker's SubscriptionTrie walk over integer ids). Identical results for every well-formed
 * input: test/native/topic-filter-index.test.ts.
 *
 * An index lives in an external owned by its JS object and freed by the finalizer: no static
 * state, so the addon loads in worker threads too.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "outpost_native.h"

typedef struct Node {
  struct Node *parent;
  char *level; /* key in the parent (not NUL-terminated) */
  uint32_t level_len;
  uint32_t hash;
  /* Literal children: open addressing, linear probing, power-of-two capacity. */
  struct Node **slots;
  uint32_t capacity;
  uint32_t literal_count;
  struct Node *plus; /* the '+' child */
  struct Node *hash_child; /* the '#' child */
  uint32_t *ids;
  uint32_t id_count;
  uint32_t id_capacity;
} Node;

typedef struct {
  Node *root;
  Node **leaf_of; /* by id; NULL once removed */
  uint32_t id_count; /* ids ever given out: leaf_of's length in use */
  uint32_t id_capacity;
  uint32_t size;
  uint32_t *free_ids; /* removed ids, reused last-in first-out (as the TypeScript twin does) */
  uint32_t free_count;
  uint32_t free_capacity;
} Index;

static const napi_type_tag INDEX_TAG = {0x6f7574706f737431ULL, 0x746f706963696478ULL};

static uint32_t fnv1a(const char *s, uint32_t n) {
  uint32_t h = 2166136261u;
  for (uint32_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
  return h;
}

static int is_plus(const char *s, uint32_t n) { return n == 1 && s[0] == '+'; }
static int is_hash(const char *s, uint32_t n) { return n == 1 && s[0] == '#'; }

static Node *literal_get(const Node *node, const char *s, uint32_t n, uint32_t h) {
  if (node->literal_count == 0) return NULL;
  uint32_t mask = node->capacity - 1;
  for (uint32_t i = h & mask;; i = (i + 1) & mask) {
    Node *c = node->slots[i];
    if (c == NULL) return NULL;
    if (c->hash == h && c->level_len == n && memcmp(c->level, s, n) == 0) return c;
  }
}

static Node *child_get(const Node *node, const char *s, uint32_t n) {
  if (is_plus(s, n)) return node->plus;
  if (is_hash(s, n)) return node->hash_child;
  return literal_get(node, s, n, fnv1a(s, n));
}

static int literal_put(Node *node, Node *child) {
  if ((node->literal_count + 1) * 2 > node->capacity) {
    uint32_t capacity = node->capacity == 0 ? 8 : node->capacity * 2;
    Node **slots = calloc(capacity, sizeof(Node *));
    if (slots == NULL) return 0;
    for (uint32_t i = 0; i < node->capacity; i++) {
      Node *c = node->slots[i];
      if (c == NULL) continue;
      uint32_t j = c->hash & (capacity - 1);
      while (slots[j] != NULL) j = (j + 1) & (capacity - 1);
      slots[j] = c;
    }
    free(node->slots);
    node->slots = slots;
    node->capacity = capacity;
  }
  uint32_t mask = node->capacity - 1;
  uint32_t i = child->hash & mask;
  while (node->slots[i] != NULL) i = (i + 1) & mask;
  node->slots[i] = child;
  node->literal_count += 1;
  return 1;
}

/* Backward-shift deletion keeps every probe chain unbroken without tombstones. */
static void literal_delete(Node *node, Node *child) {
  uint32_t mask = node->capacity - 1;
  uint32_t i = child->hash & mask;
  while (node->slots[i] != child) i = (i + 1) & mask;
  node->slots[i] = NULL;
  for (uint32_t j = (i + 1) & mask; node->slots[j] != NULL; j = (j + 1) & mask) {
    Node *c = node->slots[j];
    uint32_t home = c->hash & mask;
    /* c may move into the hole at i when i lies cyclically in [home, j). */
    if (((j - home) & mask) >= ((j - i) & mask)) {
      node->slots[i] = c;
      node->slots[j] = NULL;
      i = j;
    }
  }
  node->literal_count -= 1;
}

static Node *node_new(Node *parent, const char *s, uint32_t n) {
  Node *node = calloc(1, sizeof(Node));
  if (node == NULL) return NULL;
  node->parent = parent;
  node->level = malloc(n == 0 ? 1 : n);
  if (node->level == NULL) {
    free(node);
    return NULL;
  }
  memcpy(node->level, s, n);
  node->level_len = n;
  node->hash = fnv1a(s, n);
  return node;
}

static void node_free_one(Node *node) {
  free(node->slots);
  free(node->ids);
  free(node->level);
  free(node);
}

/* Iterative, so a very deep filter cannot exhaust the C stack. */
static void tree_free(Node *root) {
  Node *current = root;
  while (current != NULL) {
    Node *next = NULL;
    if (current->plus != NULL) {
      next = current->plus;
      current->plus = NULL;
    } else if (current->hash_child != NULL) {
      next = current->hash_child;
      current->hash_child = NULL;
    } else {
      for (uint32_t i = 0; i < current->capacity && current->literal_count > 0; i++) {
        if (current->slots[i] != NULL) {
          next = current->slots[i];
          current->slots[i] = NULL;
          current->literal_count -= 1;
          break;
        }
      }
    }
    if (next != NULL) {
      current = next;
    } else {
      Node *parent = current->parent;
      node_free_one(current);
      current = parent;
    }
  }
}

static void index_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Index *index = data;
  tree_free(index->root);
  free(index->leaf_of);
  free(index->free_ids);
  free(index);
}

static Index *index_of(napi_env env, napi_value value) {
  bool tagged = false;
  void *data = NULL;
  if (napi_check_object_type_tag(env, value, &INDEX_TAG, &tagged) != napi_ok || !tagged || napi_get_value_external(env, value, &data) != napi_ok) {
    napi_throw_type_error(env, NULL, "not a topic filter index");
    return NULL;
  }
  return data;
}

/* A JS string as UTF-8: into `stack` when it fits, else into a malloc'd buffer (*heap). */
static char *utf8_of(napi_env env, napi_value value, char *stack, size_t stack_size, char **heap, size_t *length) {
  *heap = NULL;
  if (napi_get_value_string_utf8(env, value, stack, stack_size, length) != napi_ok) {
    napi_throw_type_error(env, NULL, "a string is expected");
    return NULL;
  }
  /* V8 never splits a character, so "nearly full" is the only safe sign of truncation. */
  if (*length + 4 < stack_size) return stack;
  if (napi_get_value_string_utf8(env, value, NULL, 0, length) != napi_ok) return NULL;
  *heap = malloc(*length + 1);
  if (*heap == NULL) {
    napi_throw_error(env, "OUTPOST_NATIVE", "out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, value, *heap, *length + 1, length);
  return *heap;
}

napi_value IndexCreate(napi_env env, napi_callback_info info) {
  (void)info;
  Index *index = calloc(1, sizeof(Index));
  Node *root = index == NULL ? NULL : node_new(NULL, "", 0);
  if (root == NULL) {
    free(index);
    napi_throw_error(env, "OUTPOST_NATIVE", "out of memory");
    return NULL;
  }
  index->root = root;
  napi_value external;
  if (napi_create_external(env, index, index_finalize, NULL, &external) != napi_ok) {
    index_finalize(env, index, NULL);
    napi_throw_error(env, "OUTPOST_NATIVE", "cannot create the index");
    return NULL;
  }
  CHECK(napi_type_tag_object(env, external, &INDEX_TAG));
  return external;
}

napi_value IndexAdd(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Index *index = argc < 2 ? NULL : index_of(env, argv[0]);
  if (index == NULL) return NULL;
  char stack[1024];
  char *heap;
  size_t length;
  const char *filter = utf8_of(env, argv[1], stack, sizeof stack, &heap, &length);
  if (filter == NULL) return NULL;
  if (index->free_count == 0 && index->id_count == index->id_capacity) {
    uint32_t capacity = index->id_capacity == 0 ? 64 : index->id_capacity * 2;
    Node **leaf_of = realloc(index->leaf_of, capacity * sizeof(Node *));
    if (leaf_of == NULL) goto oom;
    index->leaf_of = leaf_of;
    index->id_capacity = capacity;
  }
  Node *current = index->root;
  size_t from = 0;
  for (;;) {
    size_t to = from;
    while (to < length && filter[to] != '/') to++;
    const char *s = filter + from;
    uint32_t n = (uint32_t)(to - from);
    Node *next = child_get(current, s, n);
    if (next == NULL) {
      next = node_new(current, s, n);
      if (next == NULL) goto oom;
      if (is_plus(s, n)) current->plus = next;
      else if (is_hash(s, n)) current->hash_child = next;
      else if (!literal_put(current, next)) {
        node_free_one(next);
        goto oom;
      }
    }
    current = next;
    if (to >= length) break;
    from = to + 1;
  }
  if (current->id_count == current->id_capacity) {
    uint32_t capacity = current->id_capacity == 0 ? 2 : current->id_capacity * 2;
    uint32_t *ids = realloc(current->ids, capacity * sizeof(uint32_t));
    if (ids == NULL) goto oom;
    current->ids = ids;
    current->id_capacity = capacity;
  }
  uint32_t id = index->free_count > 0 ? index->free_ids[--index->free_count] : index->id_count++;
  index->leaf_of[id] = current;
  current->ids[current->id_count++] = id;
  index->size += 1;
  free(heap);
  napi_value result;
  CHECK(napi_create_uint32(env, id, &result));
  return result;
oom:
  /* Nodes already made stay as an empty branch; the next add or remove of that path reuses or prunes them. */
  free(heap);
  napi_throw_error(env, "OUTPOST_NATIVE", "out of memory");
  return NULL;
}

napi_value IndexRemove(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Index *index = argc < 2 ? NULL : index_of(env, argv[0]);
  if (index == NULL) return NULL;
  double id_number;
  CHECK(napi_get_value_double(env, argv[1], &id_number));
  bool removed = false;
  if (id_number >= 0 && id_number < index->id_count && id_number == (double)(uint32_t)id_number) {
    uint32_t id = (uint32_t)id_number;
    Node *current = index->leaf_of[id];
    if (current != NULL) {
      index->leaf_of[id] = NULL;
      if (index->free_count == index->free_capacity) {
        uint32_t capacity = index->free_capacity == 0 ? 64 : index->free_capacity * 2;
        uint32_t *grown = realloc(index->free_ids, capacity * sizeof(uint32_t));
        if (grown != NULL) {
          index->free_ids = grown;
          index->free_capacity = capacity;
        }
      }
      /* Out of memory for the list: this one id is not reused, nothing else changes. */
      if (index->free_count < index->free_capacity) index->free_ids[index->free_count++] = id;
      uint32_t i = 0;
      while (current->ids[i] != id) i++;
      memmove(current->ids + i, current->ids + i + 1, (current->id_count - i - 1) * sizeof(uint32_t));
      current->id_count -= 1;
      index->size -= 1;
      removed = true;
      /* Prune empty branches so churn of unique filters does not leak memory. */
      while (current->parent != NULL && current->id_count == 0 && current->literal_count == 0 && current->plus == NULL && current->hash_child == NULL) {
        Node *parent = current->parent;
        if (parent->plus == current) parent->plus = NULL;
        else if (parent->hash_child == current) parent->hash_child = NULL;
        else literal_delete(parent, current);
        node_free_one(current);
        current = parent;
      }
    }
  }
  napi_value result;
  CHECK(napi_get_boolean(env, removed, &result));
  return result;
}

typedef struct {
  const char *const *starts;
  const uint32_t *lengths;
  uint32_t levels;
  int dollar;
  uint32_t *out;
  uint32_t out_len;
  uint32_t found;
} Match;

static void put(Match *m, const Node *node) {
  for (uint32_t i = 0; i < node->id_count; i++) {
    if (m->found < m->out_len) m->out[m->found] = node->ids[i];
    m->found += 1;
  }
}

static void walk(Match *m, const Node *current, uint32_t depth) {
  int wildcards_allowed = !(m->dollar && depth == 0);
  if (wildcards_allowed && current->hash_child != NULL) put(m, current->hash_child);
  if (depth == m->levels) {
    put(m, current);
    return;
  }
  const Node *exact = child_get(current, m->starts[depth], m->lengths[depth]);
  if (exact != NULL) walk(m, exact, depth + 1);
  if (wildcards_allowed && current->plus != NULL) walk(m, current->plus, depth + 1);
}

napi_value IndexMatch(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Index *index = argc < 3 ? NULL : index_of(env, argv[0]);
  if (index == NULL) return NULL;
  napi_typedarray_type out_type;
  size_t out_len, byte_offset;
  void *out_data;
  napi_value ab;
  if (napi_get_typedarray_info(env, argv[2], &out_type, &out_len, &out_data, &ab, &byte_offset) != napi_ok || out_type != napi_uint32_array) {
    napi_throw_type_error(env, NULL, "match: out must be a Uint32Array");
    return NULL;
  }
  char stack[1024];
  char *heap;
  size_t length;
  const char *topic = utf8_of(env, argv[1], stack, sizeof stack, &heap, &length);
  if (topic == NULL) return NULL;
  uint32_t levels = 1;
  for (size_t i = 0; i < length; i++) levels += topic[i] == '/';
  const char *starts_stack[64];
  uint32_t lengths_stack[64];
  const char **starts = starts_stack;
  uint32_t *lengths = lengths_stack;
  if (levels > 64) {
    starts = malloc(levels * sizeof(char *));
    lengths = malloc(levels * sizeof(uint32_t));
    if (starts == NULL || lengths == NULL) {
      free(starts);
      free(lengths);
      free(heap);
      napi_throw_error(env, "OUTPOST_NATIVE", "out of memory");
      return NULL;
    }
  }
  size_t from = 0;
  for (uint32_t l = 0; l < levels; l++) {
    size_t to = from;
    while (to < length && topic[to] != '/') to++;
    starts[l] = topic + from;
    lengths[l] = (uint32_t)(to - from);
    from = to + 1;
  }
  Match m = {starts, lengths, levels, length > 0 && topic[0] == '$', (uint32_t *)out_data, (uint32_t)out_len, 0};
  walk(&m, index->root, 0);
  if (levels > 64) {
    free(starts);
    free(lengths);
  }
  free(heap);
  napi_value result;
  CHECK(napi_create_uint32(env, m.found, &result));
  return result;
}

napi_value IndexSize(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Index *index = argc < 1 ? NULL : index_of(env, argv[0]);
  if (index == NULL) return NULL;
  napi_value result;
  CHECK(napi_create_uint32(env, index->size, &result));
  return result;
}

