/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* list.h — intrusive doubly linked lists with head and tail, so appends are O(1) and FIFO order
 * holds. An element can be in several lists through differently named link fields. */
#pragma once

#include <stddef.h>

#define LIST_FIELDS(t, name) t *name##_next, *name##_prev

#define LIST_HEAD(t)                                                                               \
        struct {                                                                                   \
                t *head, *tail;                                                                    \
        }

#define LIST_IS_EMPTY(l) ((l).head == NULL)

#define LIST_APPEND(name, l, item)                                                                 \
        do {                                                                                       \
                __typeof__(item) _i = (item);                                                      \
                _i->name##_next = NULL;                                                            \
                _i->name##_prev = (l).tail;                                                        \
                if ((l).tail)                                                                      \
                        (l).tail->name##_next = _i;                                                \
                else                                                                               \
                        (l).head = _i;                                                             \
                (l).tail = _i;                                                                     \
        } while (0)

#define LIST_REMOVE(name, l, item)                                                                 \
        do {                                                                                       \
                __typeof__(item) _i = (item);                                                      \
                if (_i->name##_next)                                                               \
                        _i->name##_next->name##_prev = _i->name##_prev;                            \
                else                                                                               \
                        (l).tail = _i->name##_prev;                                                \
                if (_i->name##_prev)                                                               \
                        _i->name##_prev->name##_next = _i->name##_next;                            \
                else                                                                               \
                        (l).head = _i->name##_next;                                                \
                _i->name##_next = _i->name##_prev = NULL;                                          \
        } while (0)

/* Removes and yields the first element, or NULL. The head has no predecessor by construction,
 * so only its successor is relinked (which also keeps static analysers from imagining one). */
#define LIST_POP(name, l)                                                                          \
        ({                                                                                         \
                __typeof__((l).head) _h = (l).head;                                                \
                if (_h) {                                                                          \
                        (l).head = _h->name##_next;                                                \
                        if ((l).head)                                                              \
                                (l).head->name##_prev = NULL;                                      \
                        else                                                                       \
                                (l).tail = NULL;                                                   \
                        _h->name##_next = _h->name##_prev = NULL;                                  \
                }                                                                                  \
                _h;                                                                                \
        })

#define LIST_FOREACH(name, i, l) for ((i) = (l).head; (i); (i) = (i)->name##_next)
