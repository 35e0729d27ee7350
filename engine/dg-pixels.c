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

/* A convolution's 4x4 output blocks and where their products go. */
typedef struct
{
  int H, W, pad, OH, OW, C, O;
  int tiles_x, tiles;
  long vs, ms; /* position slabs of V (tiles, C) and M (tiles, O), floats */
} Tiles;

static Tiles
tiles_new (int C, int H, int W, int pad, int OH, int OW, int O)
{
  Tiles t = { .H = H, .W = W, .pad = pad, .OH = OH, .OW = OW, .C = C, .O = O };
  t.tiles_x = (OW + 3) / 4;
  t.tiles = t.tiles_x * ((OH + 3) / 4);
  /* A cache line more than they need apart, so slabs a multiple of 4 KiB
   * long do not fall in the same cache sets. */
  t.vs = (long) t.tiles * C + 16;
  t.ms = (long) t.tiles * O + 16;
  return t;
}

/* v = B^T d B for tiles [t0, t1), a vector of channels at a time: along
 * each row of the tile, then down each column, into the position slabs. */
static void
input_tiles (const float *in, const Tiles *t, int t0, int t1, float *V)
{
  const int C = t->C, H = t->H, W = t->W;

  for (int tile = t0; tile < t1; tile++)
    {
      int y0 = 4 * (tile / t->tiles_x) - t->pad, x0 = 4 * (tile % t->tiles_x) - t->pad;
      gboolean inside = y0 >= 0 && x0 >= 0 && y0 + 6 <= H && x0 + 6 <= W;
      for (int c = 0; c < C; c += LANES)
        {
          vec rows[6][6];
          for (int i = 0; i < 6; i++)
            {
              int y = y0 + i;
              vec d[6];
              for (int j = 0; j < 6; j++)
                {
                  int x = x0 + j;
                  if (inside || (y >= 0 && y < H && x >= 0 && x < W))
                    d[j] = *(const vec *) (in + ((long) y * W + x) * C + c);
                  else
                    d[j] = (vec){ 0 };
                }
              transform_input (d, rows[i]);
            }
          for (int j = 0; j < 6; j++)
            {
              vec d[6] = { rows[0][j], rows[1][j], rows[2][j], rows[3][j], rows[4][j], rows[5][j] };
              vec r[6];
              transform_input (d, r);
              for (int i = 0; i < 6; i++)
                *(vec *) (V + (6 * i + j) * t->vs + (long) tile * C + c) = r[i];
            }
        }
    }
}

/* y = A^T m A (+ bias, ReLU) for tiles [t0, t1), the parts of each tile
 * past the output's edge left out. */
static void
output_tiles (const float *M, const Tiles *t, int t0, int t1, const float *bias, gboolean relu,
              float *out)
{
  const int O = t->O;

  for (int tile = t0; tile < t1; tile++)
    {
      int y0 = 4 * (tile / t->tiles_x), x0 = 4 * (tile % t->tiles_x);
      int ny = MIN (4, t->OH - y0), nx = MIN (4, t->OW - x0);
      for (int o = 0; o < O; o += LANES)
        {
          vec rows[6][4], b = *(const vec *) (bias + o);
          for (int i = 0; i < 6; i++)
            {
              vec m[6];
              for (int j = 0; j < 6; j++)
                m[j] = *(const vec *) (M + (6 * i + j) * t->ms + (long) tile * O + o);
              transform_output (m, rows[i]);
            }
          for (int j = 0; j < nx; j++)
            {
              vec m[6] = { rows[0][j], rows[1][j], rows[2][j], rows[3][j], rows[4][j], rows[5][j] };
              vec r[4];
              transform_output (m, r);
              for (int i = 0; i < ny; i++)
                *(vec *) (out + ((long) (y0 + i) * t->OW + x0 + j) * O + o)
                    = relu ? relu_vec (r[i] + b) : r[i] + b;
            }
        }
    }
}

/* Tiles, then positions (one matrix product each), then tiles again are
 * split over the team. */
static void
conv_winograd (const float *in, int C, int H, int W, int pad, int OH, int OW, const float *wt,
               const float *bias, int O, gboolean relu, float *work, float *out, int id, int n)
{
  const Tiles t = tiles_new (C, H, W, pad, OH, OW, O);
  float *V = work, *M = work + DG_WINOGRAD_POSITIONS * t.vs;

  input_tiles (in, &t, t.tiles * id / n, t.tiles * (id + 1) / n, V);
#pragma omp barrier
  for (int xi = DG_WINOGRAD_POSITIONS * id / n; xi < DG_WINOGRAD_POSITIONS * (id + 1) / n; xi++)
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, t.tiles, O, C, 1.0f, V + xi * t.vs, C,
                 wt + (long) xi * C * O, O, 0.0f, M + xi * t.ms, O);
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
  if (dg_pixels_winograd (k, C))
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
            vec v0 = *(const vec *) (a + c), v1 = *(const vec *) (a + C + c);
            vec v2 = *(const vec *) (b + c), v3 = *(const vec *) (b + C + c);
            veci m01 = v1 > v0, m23 = v3 > v2;
            vec top = (vec) (((veci) v1 & m01) | ((veci) v0 & ~m01));
            vec bottom = (vec) (((veci) v3 & m23) | ((veci) v2 & ~m23));
            veci m = bottom > top;
            *(vec *) (dst + c) = (vec) (((veci) bottom & m) | ((veci) top & ~m));
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
      lanes = __builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512vl")
                      && __builtin_cpu_supports ("avx512bw") && __builtin_cpu_supports ("avx512dq")
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

gboolean
dg_pixels_winograd (int k, int C)
{
  return k == 3 && C % 16 == 0;
}

size_t
dg_pixels_weights_floats (int k, int C, int O)
{
  return (size_t) (dg_pixels_winograd (k, C) ? DG_WINOGRAD_POSITIONS : k * k) * C * O;
}

/* wt (36, C, O): U with each position's matrix transposed; or for a
 * direct convolution (k, k, C, O). */
void
dg_pixels_weights (const float *w, int O, int C, int k, float *wt)
{
  long kk = dg_pixels_winograd (k, C) ? DG_WINOGRAD_POSITIONS : (long) k * k;
  float *U = g_new (float, (size_t) kk * O * C);

  if (dg_pixels_winograd (k, C))
    dg_winograd_kernels (w, O, C, U);
  else
    for (int o = 0; o < O; o++) /* (O, C, k, k) to (k k, O, C) */
      for (int c = 0; c < C; c++)
        for (long j = 0; j < kk; j++)
          U[(j * O + o) * C + c] = w[((long) o * C + c) * kk + j];
  for (long j = 0; j < kk; j++)
    for (int o = 0; o < O; o++)
      for (int c = 0; c < C; c++)
        wt[(j * C + c) * O + o] = U[(j * O + o) * C + c];
  g_free (U);
}

size_t
dg_pixels_conv_floats (int k, int C, int OH, int OW, int O)
{
  if (!dg_pixels_winograd (k, C))
    return 0;
  const Tiles t = tiles_new (C, 0, 0, 0, OH, OW, O);
  return (size_t) DG_WINOGRAD_POSITIONS * (t.vs + t.ms);
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
