/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hashmap.c — separate chaining, power-of-two bucket count, grows at load factor 1.
 * Iteration state packs (bucket, depth in chain) into one size_t. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "hashmap.h"

typedef struct Entry {
        struct Entry *next;
        const void *key;
        void *value;
        uint64_t hash;
} Entry;

struct Hashmap {
        const HashOps *ops;
        Entry **buckets;
        size_t n_buckets;
        size_t n_entries;
        uint64_t seed;
};

#define INITIAL_BUCKETS 16u
#define ITER_DEPTH_BITS 16u

uint64_t hash_bytes(const void *p, size_t n, uint64_t seed)
{
        const unsigned char *c = p;
        uint64_t h = 0xcbf29ce484222325ULL ^ seed;

        for (size_t i = 0; i < n; i++) {
                h ^= c[i];
                h *= 0x100000001b3ULL;
        }
        /* Final avalanche (splitmix64) so the low bits used for bucketing depend on all bytes. */
        h ^= h >> 30;
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 27;
        h *= 0x94d049bb133111ebULL;
        h ^= h >> 31;
        return h;
}

static uint64_t string_hash(const void *key, uint64_t seed)
{
        return hash_bytes(key, strlen(key), seed);
}

static int string_compare(const void *a, const void *b)
{
        return strcmp(a, b);
}

const HashOps string_hash_ops = {
        .hash = string_hash,
        .compare = string_compare,
};

int hashmap_new(Hashmap **ret, const HashOps *ops)
{
        Hashmap *h;

        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->buckets = calloc(INITIAL_BUCKETS, sizeof(Entry *));
        if (!h->buckets) {
                free(h);
                return -ENOMEM;
        }
        h->n_buckets = INITIAL_BUCKETS;
        h->ops = ops;
        if (getrandom(&h->seed, sizeof(h->seed), GRND_NONBLOCK) != sizeof(h->seed))
                h->seed = (uint64_t) (uintptr_t) h ^ 0x9e3779b97f4a7c15ULL;
        *ret = h;
        return 0;
}

Hashmap *hashmap_free(Hashmap *h)
{
        if (!h)
                return NULL;
        for (size_t i = 0; i < h->n_buckets; i++)
                for (Entry *e = h->buckets[i], *n; e; e = n) {
                        n = e->next;
                        free(e);
                }
        free(h->buckets);
        free(h);
        return NULL;
}

static Entry **hashmap_find(const Hashmap *h, const void *key, uint64_t hash)
{
        Entry **p = &h->buckets[hash & (h->n_buckets - 1)];

        for (; *p; p = &(*p)->next)
                if ((*p)->hash == hash && h->ops->compare((*p)->key, key) == 0)
                        return p;
        return p;
}

static void hashmap_grow(Hashmap *h)
{
        size_t n = h->n_buckets * 2;
        Entry **b;

        b = calloc(n, sizeof(Entry *));
        if (!b)
                return; /* Keep working with longer chains. */
        for (size_t i = 0; i < h->n_buckets; i++)
                for (Entry *e = h->buckets[i], *next; e; e = next) {
                        next = e->next;
                        e->next = b[e->hash & (n - 1)];
                        b[e->hash & (n - 1)] = e;
                }
        free(h->buckets);
        h->buckets = b;
        h->n_buckets = n;
}

int hashmap_put(Hashmap *h, const void *key, void *value)
{
        uint64_t hash = h->ops->hash(key, h->seed);
        Entry **p, *e;

        p = hashmap_find(h, key, hash);
        if (*p)
                return -EEXIST;
        e = malloc(sizeof(*e));
        if (!e)
                return -ENOMEM;
        *e = (Entry){ .key = key, .value = value, .hash = hash };
        *p = e;
        if (++h->n_entries > h->n_buckets)
                hashmap_grow(h);
        return 0;
}

void *hashmap_get(const Hashmap *h, const void *key)
{
        Entry **p;

        if (!h)
                return NULL;
        p = hashmap_find(h, key, h->ops->hash(key, h->seed));
        return *p ? (*p)->value : NULL;
}

void *hashmap_remove(Hashmap *h, const void *key)
{
        Entry **p, *e;
        void *v;

        if (!h)
                return NULL;
        p = hashmap_find(h, key, h->ops->hash(key, h->seed));
        e = *p;
        if (!e)
                return NULL;
        *p = e->next;
        v = e->value;
        free(e);
        h->n_entries--;
        return v;
}

size_t hashmap_size(const Hashmap *h)
{
        return h ? h->n_entries : 0;
}

void *hashmap_steal_first(Hashmap *h)
{
        if (!h)
                return NULL;
        for (size_t i = 0; i < h->n_buckets; i++) {
                Entry *e = h->buckets[i];
                void *v;

                if (!e)
                        continue;
                h->buckets[i] = e->next;
                v = e->value;
                free(e);
                h->n_entries--;
                return v;
        }
        return NULL;
}

bool hashmap_iterate(const Hashmap *h, size_t *state, void **ret_value, const void **ret_key)
{
        size_t bucket, depth;

        if (!h)
                return false;
        bucket = *state >> ITER_DEPTH_BITS;
        depth = *state & ((1u << ITER_DEPTH_BITS) - 1);

        for (; bucket < h->n_buckets; bucket++, depth = 0) {
                Entry *e = h->buckets[bucket];

                for (size_t d = 0; e && d < depth; d++)
                        e = e->next;
                if (!e)
                        continue;
                *state = (bucket << ITER_DEPTH_BITS) | (depth + 1);
                if (ret_value)
                        *ret_value = e->value;
                if (ret_key)
                        *ret_key = e->key;
                return true;
        }
        *state = bucket << ITER_DEPTH_BITS;
        return false;
}
