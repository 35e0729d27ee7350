/* dg-winograd.h: the one-dimensional transforms of Winograd F(4x4, 3x3)
 * (see dg-kernels.c), for dg-kernels.c and dg-pixels.c (not installed).
 * DEFINE_TRANSFORMS (vec, suffix) defines transform_input##suffix and
 * transform_output##suffix on any GCC vector type of floats: a vector of
 * tiles in the channel-major code, of channels in the pixel-major one. */
#pragma once

#define DEFINE_TRANSFORMS(vec, suffix)                                                             \
  /* B^T d: six input values to six transformed ones. */                                         \
  static inline void transform_input##suffix (const vec d[6], vec r[6])                           \
  {                                                                                               \
    r[0] = 4.0f * d[0] - 5.0f * d[2] + d[4];                                                      \
    r[1] = d[3] + d[4] - 4.0f * (d[1] + d[2]);                                                    \
    r[2] = d[4] - d[3] + 4.0f * (d[1] - d[2]);                                                    \
    r[3] = d[4] - d[2] + 2.0f * (d[3] - d[1]);                                                    \
    r[4] = d[4] - d[2] - 2.0f * (d[3] - d[1]);                                                    \
    r[5] = 4.0f * d[1] - 5.0f * d[3] + d[5];                                                      \
  }                                                                                               \
  /* A^T m: six products to four outputs. */                                                      \
  static inline void transform_output##suffix (const vec m[6], vec y[4])                          \
  {                                                                                               \
    vec s12 = m[1] + m[2], d12 = m[1] - m[2];                                                     \
    vec s34 = m[3] + m[4], d34 = m[3] - m[4];                                                     \
    y[0] = m[0] + s12 + s34;                                                                      \
    y[1] = d12 + 2.0f * d34;                                                                      \
    y[2] = s12 + 4.0f * s34;                                                                      \
    y[3] = d12 + 8.0f * d34 + m[5];                                                               \
  }

