/* dg-pixels.c: one image through the inference plan, pixel-major.
 *
 * A single image (a drawn digit) is too small for the channel-major
 * kernels of dg-kernels.c to fill their vectors: a 24x24 plane is six
 * tiles a row, and its rows are shuffled apart before every transform.
 * Stored pixel-major instead, (H, W, C) with the channels innermost, a
 * vector holds the same pixel of consecutive channels: the Winograd
 * transforms run on whole vectors with no shuffles, a convolution over few
 * channels broadcasts each input value against the kernels of a vector or
 * two of output channels, and pooling compares vectors.
 *
 * The kernels are compiled twice (engine/meson.build): with LANES 16 for
 * AVX-512, and with LANES 8 for the baseline, which also defines the
 * public functions and picks the AVX-512 kernels when the processor has
 * them.  Sixteen-float vectors compiled without AVX-512 would be emulated,
 * many times slower.
 */
#include "dg-kernels.h"
#include "dg-winograd.h"

#include <cblas.h>
#include <string.h>

#if LANES == 16
typedef float vec __attribute__ ((vector_size (64), aligned (4)));
typedef int veci __attribute__ ((vector_size (64)));
#define KERNEL(name) name##_16
#elif LANES == 8
typedef float vec __attribute__ ((vector_size (32), aligned (4)));
typedef int veci __attribute__ ((vector_size (32)));
#define KERNEL(name) name##_8
#else
#error "dg-pixels.c is compiled with LANES 8 or 16"
#endif

DEFINE_TRANSFORMS (vec, )

/* Both builds' kernels, for the dispatch below. */
void dg_pixels_conv_8 (const float *in, int C, int H, int W, int k, int pad, int OH, int OW,
                       const float *wt, const float *bias, int O, gboolean relu, float *work,
                       float *out, int id, int n);
void dg_pixels_conv_16 (const float *in, int C, int H, int W, int k, int pad, int OH, int OW,
                        const float *wt, const float *bias, int O, gboolean relu, float *work,
                        float *out, int id, int n);
void dg_pixels_pool_8 (const float *in, int C, int H, int W, float *out, int id, int n);
void dg_pixels_pool_16 (const float *in, int C, int H, int W, float *out, int id, int n);

static inline vec
relu_vec (vec v)
{
  return (vec) ((veci) v & (veci) (v > (vec){ 0 }));
}

static inline vec
max_vec (vec a, vec b)
{
  veci b_wins = b > a;
  return (vec) (((veci) b & b_wins) | ((veci) a & ~b_wins));
}

/* Winograd F(6x6, 3x3), for larger outputs: a 6x6 block from an 8x8 tile,
 * 64 products per pair of channels for 36 outputs (F(4x4): 36 for 16), at
 * the points 0, 1, -1, 1/2, -1/2, 2, -2 (and infinity).  Its transforms
 * grow values more, so it is used only where it saves a good share of the
 * products.  In float, one random 8x8 tile and kernel came out within
 * 3e-6 of the output's size (NumPy); tests/test-model.c checks whole
 * networks against the unfolded forward. */

/* B^T d: eight input values to eight transformed ones. */
static inline void
transform_input_f6 (const vec d[8], vec r[8])
{
  vec a = d[2] + d[6] - 4.25f * d[4], b = d[1] + d[5] - 4.25f * d[3];
  vec c = 0.25f * d[2] - 1.25f * d[4] + d[6], e = 0.5f * d[1] - 2.5f * d[3] + 2.0f * d[5];
  vec f = 4.0f * d[2] - 5.0f * d[4] + d[6], g = 2.0f * d[1] - 2.5f * d[3] + 0.5f * d[5];
  r[0] = d[0] - d[6] + 5.25f * (d[4] - d[2]);
  r[1] = a + b;
  r[2] = a - b;
  r[3] = c + e;
  r[4] = c - e;
  r[5] = f + g;
  r[6] = f - g;
  r[7] = d[7] - d[1] + 5.25f * (d[3] - d[5]);
}

/* A^T m: eight products to six outputs. */
static inline void
transform_output_f6 (const vec m[8], vec y[6])
{
  vec s12 = m[1] + m[2], d12 = m[1] - m[2];
  vec s34 = m[3] + m[4], d34 = m[3] - m[4];
  vec s56 = m[5] + m[6], d56 = m[5] - m[6];
  y[0] = m[0] + s12 + s34 + s56;
  y[1] = d12 + 2.0f * d34 + 0.5f * d56;
  y[2] = s12 + 4.0f * s34 + 0.25f * s56;
  y[3] = d12 + 8.0f * d34 + 0.125f * d56;
  y[4] = s12 + 16.0f * s34 + 0.0625f * s56;
  y[5] = d12 + 32.0f * d34 + 0.03125f * d56 + m[7];
}

/* The transforms for a tile of @a values a side (6: F(4x4), 8: F(6x6)). */
static inline void
tile_input (int a, const vec d[8], vec r[8])
{
  if (a == 6)
    transform_input (d, r);
  else
    transform_input_f6 (d, r);
}

static inline void
tile_output (int a, const vec p[8], vec y[6])
{
  if (a == 6)
    transform_output (p, y);
  else
    transform_output_f6 (p, y);
}

/* A convolution's output blocks (4x4 or 6x6) and where their products go. */
typedef struct
{
  int H, W, pad, OH, OW, C, O;
  int m, a;         /* output block and tile size: 4 and 6, or 6 and 8 */
  int tiles_x, tiles;
  long vs, ms; /* position slabs of V (tiles, C) and M (tiles, O), floats */
} Tiles;

static Tiles
tiles_new (int m, int C, int H, int W, int pad, int OH, int OW, int O)
{
  Tiles t = { .H = H, .W = W, .pad = pad, .OH = OH, .OW = OW, .C = C, .O = O, .m = m, .a = m + 2 };
  t.tiles_x = (OW + m - 1) / m;
  t.tiles = t.tiles_x * ((OH + m - 1) / m);
  /* A cache line more than they need apart, so slabs a multiple of 4 KiB
   * long do not fall in the same cache sets. */
  t.vs = (long) t.tiles * C + 16;
  t.ms = (long) t.tiles * O + 16;
  return t;
}

/* v = B^T d B for tiles [t0, t1), a vector of channels at a time: along
 * each row of the tile, then down each column, into the position slabs.
 * @a, the tile size, is a constant where this is inlined. */
static inline void __attribute__ ((always_inline))
input_tiles_of (const float *in, const Tiles *t, int t0, int t1, float *V, const int a)
{
  const int C = t->C, H = t->H, W = t->W, m = a - 2;

  for (int tile = t0; tile < t1; tile++)
    {
      int y0 = m * (tile / t->tiles_x) - t->pad, x0 = m * (tile % t->tiles_x) - t->pad;
      gboolean inside = y0 >= 0 && x0 >= 0 && y0 + a <= H && x0 + a <= W;
      for (int c = 0; c < C; c += LANES)
        {
          vec rows[8][8];
          for (int i = 0; i < a; i++)
            {
              int y = y0 + i;
              vec d[8];
              for (int j = 0; j < a; j++)
                {
                  int x = x0 + j;
                  if (inside || (y >= 0 && y < H && x >= 0 && x < W))
                    d[j] = *(const vec *) (in + ((long) y * W + x) * C + c);
                  else
                    d[j] = (vec){ 0 };
                }
              tile_input (a, d, rows[i]);
            }
          for (int j = 0; j < a; j++)
            {
              vec d[8], r[8];
              for (int i = 0; i < a; i++)
                d[i] = rows[i][j];
              tile_input (a, d, r);
              for (int i = 0; i < a; i++)
                *(vec *) (V + (a * i + j) * t->vs + (long) tile * C + c) = r[i];
            }
        }
    }
}

static void
input_tiles (const float *in, const Tiles *t, int t0, int t1, float *V)
{
  if (t->a == 6)
    input_tiles_of (in, t, t0, t1, V, 6);
  else
    input_tiles_of (in, t, t0, t1, V, 8);
}

/* y = A^T m A (+ bias, ReLU) for tiles [t0, t1), the parts of each tile
 * past the output's edge left out. */
static inline void __attribute__ ((always_inline))
output_tiles_of (const float *M, const Tiles *t, int t0, int t1, const float *bias,
                 gboolean relu, float *out, const int a)
{
  const int O = t->O, m = a - 2;

  for (int tile = t0; tile < t1; tile++)
    {
      int y0 = m * (tile / t->tiles_x), x0 = m * (tile % t->tiles_x);
      int ny = MIN (m, t->OH - y0), nx = MIN (m, t->OW - x0);
      for (int o = 0; o < O; o += LANES)
        {
          vec rows[8][6], b = *(const vec *) (bias + o);
          for (int i = 0; i < a; i++)
            {
              vec p[8];
              for (int j = 0; j < a; j++)
                p[j] = *(const vec *) (M + (a * i + j) * t->ms + (long) tile * O + o);
              tile_output (a, p, rows[i]);
            }
          for (int j = 0; j < nx; j++)
            {
              vec p[8], r[6];
              for (int i = 0; i < a; i++)
                p[i] = rows[i][j];
              tile_output (a, p, r);
              for (int i = 0; i < ny; i++)
                *(vec *) (out + ((long) (y0 + i) * t->OW + x0 + j) * O + o)
                    = relu ? relu_vec (r[i] + b) : r[i] + b;
            }
        }
    }
}

static void
output_tiles (const float *M, const Tiles *t, int t0, int t1, const float *bias, gboolean relu,
              float *out)
{
  if (t->a == 6)
    output_tiles_of (M, t, t0, t1, bias, relu, out, 6);
  else
    output_tiles_of (M, t, t0, t1, bias, relu, out, 8);
}

#if LANES == 16
/* @rows rows of p (rows, O) = v (rows, C) u (C, O), two vectors of columns
 * from @o: the 2 x rows sums stay in registers (32 with AVX-512) while C
 * goes by.  @rows is a constant where this is inlined. */
static inline void __attribute__ ((always_inline))
product_block (const float *v, const float *u, int C, int O, int o, const int rows, float *p)
{
  vec acc[8][2];

  for (int r = 0; r < rows; r++)
    acc[r][0] = acc[r][1] = (vec){ 0 };
  for (int c = 0; c < C; c++)
    {
      vec w0 = *(const vec *) (u + (long) c * O + o);
      vec w1 = *(const vec *) (u + (long) c * O + o + 16);
      for (int r = 0; r < rows; r++)
        {
          float x = v[(long) r * C + c];
          acc[r][0] += x * w0;
          acc[r][1] += x * w1;
        }
    }
  for (int r = 0; r < rows; r++)
    {
      *(vec *) (p + (long) r * O + o) = acc[r][0];
      *(vec *) (p + (long) r * O + o + 16) = acc[r][1];
    }
}

/* p (tiles, O) = v (tiles, C) u (C, O) for one position of F(6x6), O a
 * multiple of 32: eight rows at a time.  Its products are short (16 tiles
 * for a 24x24 output): with OpenBLAS doing them the keras-style network
 * took 50 to 51 us against 47 to 49.  On F(4x4)'s longer products
 * OpenBLAS was the faster. */
static void
multiply_position (const float *v, const float *u, int tiles, int C, int O, float *p)
{
  int t = 0;

  for (; t + 8 <= tiles; t += 8)
    for (int o = 0; o < O; o += 32)
      product_block (v + (long) t * C, u, C, O, o, 8, p + (long) t * O);
  for (; t + 4 <= tiles; t += 4)
    for (int o = 0; o < O; o += 32)
      product_block (v + (long) t * C, u, C, O, o, 4, p + (long) t * O);
  for (; t < tiles; t++)
    for (int o = 0; o < O; o += 32)
      product_block (v + (long) t * C, u, C, O, o, 1, p + (long) t * O);
}
#endif

/* Tiles, then positions (one matrix product each), then tiles again are
 * split over the team. */
static void
conv_winograd (const float *in, int C, int H, int W, int pad, int OH, int OW, const float *wt,
               const float *bias, int O, gboolean relu, float *work, float *out, int id, int n)
{
  const Tiles t = tiles_new (dg_pixels_block (3, C, OH, OW), C, H, W, pad, OH, OW, O);
  const int positions = t.a * t.a;
  float *V = work, *M = work + positions * t.vs;

  input_tiles (in, &t, t.tiles * id / n, t.tiles * (id + 1) / n, V);
#pragma omp barrier
  for (int xi = positions * id / n; xi < positions * (id + 1) / n; xi++)
#if LANES == 16
    if (t.m == 6 && O % 32 == 0)
      multiply_position (V + xi * t.vs, wt + (long) xi * C * O, t.tiles, C, O, M + xi * t.ms);
    else
#endif
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, t.tiles, O, C, 1.0f, V + xi * t.vs,
                   C, wt + (long) xi * C * O, O, 0.0f, M + xi * t.ms, O);
#pragma omp barrier
  output_tiles (M, &t, t.tiles * id / n, t.tiles * (id + 1) / n, bias, relu, out);
}

/* Four output pixels of @groups vectors of output channels from @o: each
 * input value is broadcast against the kernels' vectors.  @padded: the
 * first of the pixels' input windows, rows @PW pixels long. */
static inline void __attribute__ ((always_inline))
direct_block (const float *padded, int PW, int C, int k, const float *wt, int O, int o,
              int groups, const float *bias, gboolean relu, int nx, float *dst)
{
  vec acc[4][2];

  for (int g = 0; g < groups; g++)
    for (int q = 0; q < 4; q++)
      acc[q][g] = *(const vec *) (bias + o + LANES * g);
  for (int ky = 0; ky < k; ky++)
    for (int kx = 0; kx < k; kx++)
      for (int c = 0; c < C; c++)
        {
          const float *x = padded + ((long) ky * PW + kx) * C + c;
          const float *w = wt + ((long) (ky * k + kx) * C + c) * O + o;
          for (int g = 0; g < groups; g++)
            {
              vec wv = *(const vec *) (w + LANES * g);
              for (int q = 0; q < 4; q++)
                acc[q][g] += x[q * C] * wv;
            }
        }
  for (int q = 0; q < nx; q++)
    for (int g = 0; g < groups; g++)
      *(vec *) (dst + (long) q * O + LANES * g) = relu ? relu_vec (acc[q][g]) : acc[q][g];
}

/* Output rows are split over the team.  The input rows a thread needs are
 * copied into a zero border first, so no tap looks past an edge. */
static void
conv_direct (const float *in, int C, int H, int W, int k, int pad, int OH, int OW,
             const float *wt, const float *bias, int O, gboolean relu, float *out, int id, int n)
{
  int y0 = OH * id / n, y1 = OH * (id + 1) / n;
  int PW = ((OW + 3) & ~3) + k - 1, rows = y1 - y0 + k - 1;
  float *padded = dg_scratch (3, (size_t) MAX (rows, 1) * PW * C);

  memset (padded, 0, sizeof (float) * rows * PW * C);
  for (int r = 0; r < rows; r++)
    {
      int y = y0 + r - pad;
      if (y >= 0 && y < H) /* columns pad .. pad + W - 1, as many as fit */
        memcpy (padded + ((long) r * PW + pad) * C, in + (long) y * W * C,
                sizeof (float) * MIN (W, PW - pad) * C);
    }
  for (int y = y0; y < y1; y++)
    for (int x = 0; x < OW; x += 4)
      {
        const float *src = padded + ((long) (y - y0) * PW + x) * C;
        float *dst = out + ((long) y * OW + x) * O;
        int nx = MIN (4, OW - x), o = 0;
        if (C == 1 && k == 3) /* a first layer: its nine taps unrolled */
          for (; o + 2 * LANES <= O; o += 2 * LANES)
            direct_block (src, PW, 1, 3, wt, O, o, 2, bias, relu, nx, dst + o);
        for (; o + 2 * LANES <= O; o += 2 * LANES)
          direct_block (src, PW, C, k, wt, O, o, 2, bias, relu, nx, dst + o);
        for (; o < O; o += LANES)
          direct_block (src, PW, C, k, wt, O, o, 1, bias, relu, nx, dst + o);
      }
}

void
KERNEL (dg_pixels_conv) (const float *in, int C, int H, int W, int k, int pad, int OH, int OW,
                         const float *wt, const float *bias, int O, gboolean relu, float *work,
                         float *out, int id, int n)
{
  if (dg_pixels_block (k, C, OH, OW) > 0)
    conv_winograd (in, C, H, W, pad, OH, OW, wt, bias, O, relu, work, out, id, n);
  else
    conv_direct (in, C, H, W, k, pad, OH, OW, wt, bias, O, relu, out, id, n);
}

void
KERNEL (dg_pixels_pool) (const float *in, int C, int H, int W, float *out, int id, int n)
{
  int OH = H / 2, OW = W / 2;

  for (int y = OH * id / n; y < OH * (id + 1) / n; y++)
    for (int x = 0; x < OW; x++)
      {
        const float *a = in + ((long) 2 * y * W + 2 * x) * C, *b = a + (long) W * C;
        float *dst = out + ((long) y * OW + x) * C;
        int c = 0;
        for (; c + LANES <= C; c += LANES)
          {
            vec top = max_vec (*(const vec *) (a + c), *(const vec *) (a + C + c));
            vec bottom = max_vec (*(const vec *) (b + c), *(const vec *) (b + C + c));
            *(vec *) (dst + c) = max_vec (top, bottom);
          }
        for (; c < C; c++)
          dst[c] = MAX (MAX (a[c], a[C + c]), MAX (b[c], b[C + c]));
      }
}

#if LANES == 8 /* the public functions, once */

/* 16 or 8: which kernels run; 0 until the processor is asked.  A test may
 * set it between runs (dg_pixels_set_lanes). */
static int pixel_lanes;

void
dg_pixels_set_lanes (int lanes)
{
  g_atomic_int_set (&pixel_lanes, lanes);
}

static gboolean
use_16_lanes (void)
{
  int lanes = g_atomic_int_get (&pixel_lanes);
  if (lanes == 0)
    {
      __builtin_cpu_init ();
      /* x86-64-v4, which the 16-lane kernels are compiled for */
      lanes = __builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512vl")
                      && __builtin_cpu_supports ("avx512bw") && __builtin_cpu_supports ("avx512dq")
                      && __builtin_cpu_supports ("avx512cd")
                  ? 16
                  : 8;
      g_atomic_int_set (&pixel_lanes, lanes);
    }
  return lanes == 16;
}

void
dg_pixels_conv (const float *in, int C, int H, int W, int k, int pad, int OH, int OW,
                const float *wt, const float *bias, int O, gboolean relu, float *work, float *out,
                int id, int n)
{
  (use_16_lanes () ? dg_pixels_conv_16 : dg_pixels_conv_8) (in, C, H, W, k, pad, OH, OW, wt, bias,
                                                            O, relu, work, out, id, n);
}

void
dg_pixels_pool (const float *in, int C, int H, int W, float *out, int id, int n)
{
  (use_16_lanes () ? dg_pixels_pool_16 : dg_pixels_pool_8) (in, C, H, W, out, id, n);
}

/* 4 or 6 for Winograd F(4x4, 3x3) or F(6x6, 3x3), 0 for a direct
 * convolution.  F(6x6) where it needs at most 85% of F(4x4)'s products. */
int
dg_pixels_block (int k, int C, int OH, int OW)
{
  if (k != 3 || C % 16 != 0)
    return 0;
  long f4 = 36L * ((OH + 3) / 4) * ((OW + 3) / 4), f6 = 64L * ((OH + 5) / 6) * ((OW + 5) / 6);
  return f6 <= 0.85 * f4 ? 6 : 4;
}

size_t
dg_pixels_weights_floats (int k, int C, int OH, int OW, int O)
{
  int m = dg_pixels_block (k, C, OH, OW);
  return (size_t) (m > 0 ? (m + 2) * (m + 2) : k * k) * C * O;
}

/* G (8x3) of F(6x6, 3x3); G g G^T in double, then rounded once. */
static void
winograd6_kernels (const float *w, int O, int C, float *U /* (64, O, C) */)
{
  static const double G[8][3] = {
    { 1, 0, 0 },
    { -2.0 / 9, -2.0 / 9, -2.0 / 9 },
    { -2.0 / 9, 2.0 / 9, -2.0 / 9 },
    { 1.0 / 90, 1.0 / 45, 2.0 / 45 },
    { 1.0 / 90, -1.0 / 45, 2.0 / 45 },
    { 32.0 / 45, 16.0 / 45, 8.0 / 45 },
    { 32.0 / 45, -16.0 / 45, 8.0 / 45 },
    { 0, 0, 1 },
  };
  long oc = (long) O * C;

  for (long j = 0; j < oc; j++)
    {
      const float *g = w + j * 9;
      double gg[8][3]; /* G g */
      for (int i = 0; i < 8; i++)
        for (int x = 0; x < 3; x++)
          gg[i][x] = G[i][0] * g[x] + G[i][1] * g[3 + x] + G[i][2] * g[6 + x];
      for (int i = 0; i < 8; i++)
        for (int x = 0; x < 8; x++)
          U[(8 * i + x) * oc + j]
              = (float) (gg[i][0] * G[x][0] + gg[i][1] * G[x][1] + gg[i][2] * G[x][2]);
    }
}

/* wt (positions, C, O): U with each position's matrix transposed; or for a
 * direct convolution (k, k, C, O). */
void
dg_pixels_weights (const float *w, int O, int C, int k, int OH, int OW, float *wt)
{
  int m = dg_pixels_block (k, C, OH, OW);

  if (m == 0)
    {
      long kk = (long) k * k; /* (O, C, k, k) to (k k, C, O) */
      for (int o = 0; o < O; o++)
        for (int c = 0; c < C; c++)
          for (long j = 0; j < kk; j++)
            wt[(j * C + c) * O + o] = w[((long) o * C + c) * kk + j];
      return;
    }
  long positions = (long) (m + 2) * (m + 2);
  float *U = g_new (float, (size_t) positions * O * C);
  if (m == 4)
    dg_winograd_kernels (w, O, C, U);
  else
    winograd6_kernels (w, O, C, U);
  for (long j = 0; j < positions; j++) /* (positions, O, C) to (positions, C, O) */
    for (int o = 0; o < O; o++)
      for (int c = 0; c < C; c++)
        wt[(j * C + c) * O + o] = U[(j * O + o) * C + c];
  g_free (U);
}

size_t
dg_pixels_conv_floats (int k, int C, int OH, int OW, int O)
{
  int m = dg_pixels_block (k, C, OH, OW);
  if (m == 0)
    return 0;
  const Tiles t = tiles_new (m, C, 0, 0, 0, OH, OW, O);
  return (size_t) t.a * t.a * (t.vs + t.ms);
}

/* out (O) = w (O, K) x in (K) + bias: each thread multiplies its slice of
 * K into its row of @parts (n, O), then each sums a share of the rows. */
void
dg_pixels_dense (const float *in, int K, const float *w, const float *bias, int O, gboolean relu,
                 float *parts, float *out, int id, int n)
{
  int k0 = (int) ((long) K * id / n), k1 = (int) ((long) K * (id + 1) / n);

  cblas_sgemv (CblasRowMajor, CblasNoTrans, O, k1 - k0, 1.0f, w + k0, K, in + k0, 1, 0.0f,
               parts + (long) id * O, 1);
#pragma omp barrier
  for (int o = O * id / n; o < O * (id + 1) / n; o++)
    {
      float sum = bias[o];
      for (int t = 0; t < n; t++)
        sum += parts[(long) t * O + o];
      out[o] = relu && sum < 0.0f ? 0.0f : sum;
    }
}

void
dg_pixels_relu (const float *in, long size, float *out, int id, int n)
{
  for (long j = size * id / n; j < size * (id + 1) / n; j++)
    out[j] = in[j] > 0.0f ? in[j] : 0.0f;
}

#endif
