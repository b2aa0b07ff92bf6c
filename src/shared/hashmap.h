/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hashmap.h — a small chained hash table mapping borrowed keys to borrowed values.
 * The map owns neither: callers keep keys alive while they are in the map. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cleanup.h"

typedef struct HashOps {
        uint64_t (*hash)(const void *key, uint64_t seed);
        int (*compare)(const void *a, const void *b);
} HashOps;

/* Keys are NUL-terminated strings. */
extern const HashOps string_hash_ops;

typedef struct Hashmap Hashmap;

int hashmap_new(Hashmap **ret, const HashOps *ops);
Hashmap *hashmap_free(Hashmap *h);
DEFINE_POINTER_CLEANUP_FUNC(Hashmap, hashmap_free);

/* -EEXIST when the key is present already. */
int hashmap_put(Hashmap *h, const void *key, void *value);
void *hashmap_get(const Hashmap *h, const void *key);
void *hashmap_remove(Hashmap *h, const void *key);
size_t hashmap_size(const Hashmap *h);

/* Removes and returns some value, or NULL when empty: the way to drain a map while freeing. */
void *hashmap_steal_first(Hashmap *h);

/* Iteration: `size_t i = 0; void *v; while (hashmap_iterate(h, &i, &v, NULL)) …`. The map must
 * not change meanwhile. */
bool hashmap_iterate(const Hashmap *h, size_t *state, void **ret_value, const void **ret_key);

/* FNV-1a over bytes, mixed with a seed (per map, random) so clients cannot aim at one bucket. */
uint64_t hash_bytes(const void *p, size_t n, uint64_t seed);
