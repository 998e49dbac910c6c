/*
 * What the libFuzzer harnesses share: the input read as a stream of
 * choices (an exhausted input reads as zeros, so every input is a whole
 * run), and CHECK, which aborts with a message so that libFuzzer records
 * the input that broke an agreement with the reference model.
 */
#ifndef CT_FUZZ_H
#define CT_FUZZ_H

#include <cthreading.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct input {
    const uint8_t *p;
    size_t n;
};

static inline uint8_t next_byte(struct input *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

static inline uint32_t next_u32(struct input *in)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 8 | next_byte(in);
    return v;
}

/* Any double at all: NaNs, infinities, negative zero, subnormals. */
static inline double next_double(struct input *in)
{
    uint64_t bits = (uint64_t)next_u32(in) << 32 | next_u32(in);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* A timeout a single thread can afford to wait for, in [0, 100 µs). */
static inline double next_short_timeout(struct input *in)
{
    return 1e-6 * (next_byte(in) % 100);
}

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (!(cond)) {                                                    \
            fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                 \
            fprintf(stderr, "\n");                                        \
            abort();                                                      \
        }                                                                 \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
