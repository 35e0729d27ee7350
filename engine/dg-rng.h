/* dg-rng.h: small deterministic random numbers (splitmix64).
 *
 * Every random draw in the engine comes from a seed and a position, never
 * from a shared stream, so a run gives the same numbers on any number of
 * threads.
 */
#pragma once

#include <math.h>
#include <stdint.h>

typedef struct
{
  uint64_t state;
} DgRng;

static inline uint64_t
dg_mix64 (uint64_t z)
{
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* A generator for position (a, b) of a stream named by @seed. */
static inline DgRng
dg_rng_at (uint64_t seed, uint64_t a, uint64_t b)
{
  DgRng rng = { dg_mix64 (seed ^ dg_mix64 (a + 0x9e3779b97f4a7c15ull * (b + 1))) };
  return rng;
}

static inline uint64_t
dg_rng_next (DgRng *rng)
{
  rng->state += 0x9e3779b97f4a7c15ull;
  return dg_mix64 (rng->state);
}

/* Uniform in [0, 1). */
static inline double
dg_rng_uniform (DgRng *rng)
{
  return (dg_rng_next (rng) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform in [lo, hi). */
static inline double
dg_rng_range (DgRng *rng, double lo, double hi)
{
  return lo + (hi - lo) * dg_rng_uniform (rng);
}

/* Standard normal (Box-Muller). */
static inline double
dg_rng_normal (DgRng *rng)
{
  double u1 = dg_rng_uniform (rng);
  double u2 = dg_rng_uniform (rng);
  if (u1 < 1e-300)
    u1 = 1e-300;
  return sqrt (-2.0 * log (u1)) * cos (6.283185307179586 * u2);
}
