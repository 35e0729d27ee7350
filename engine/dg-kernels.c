/* dg-kernels.c: the arithmetic — convolutions (Winograd F(4x4, 3x3) and
 * im2col + GEMM), dense layers, max pooling, softmax — on channel-major
 * batches (C, B, H*W).  dg-model.c decides what runs; this file runs it.
 * The GEMM-shaped work is one cblas_sgemm per block of columns, one block
 * per thread at a time; everything else is a plain loop.
 */
#include "dg-kernels.h"
#include "dg-winograd.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* OpenBLAS's own thread pool would fight ours: every sgemm below runs on the
 * calling thread and the parallelism is the engine's (OpenMP), so the number
 * of threads is one setting and the work split is deterministic. */
extern void openblas_set_num_threads (int num_threads);

static int engine_threads = 0;

void
dg_set_threads (int n_threads)
{
  engine_threads = n_threads > 0 ? n_threads : 0;
}

int
dg_get_threads (void)
{
  static gsize once = 0;
  if (g_once_init_enter (&once))
    {
      openblas_set_num_threads (1);
      g_once_init_leave (&once, 1);
    }
  return engine_threads > 0 ? engine_threads : (int) g_get_num_processors ();
}

/* Scratch memory that lives with the thread, so the hot path allocates
 * nothing after its first call, and is freed when the thread ends (worker
 * threads of a pool come and go).  Slots: 0 unfolded columns or Winograd
 * blocks, 1 transformed kernels, 2 the inference plan's activations, 3
 * Winograd rows and padded planes. */
typedef struct
{
  float *buffers[4];
  size_t sizes[4]; /* floats */
} Scratch;

static void
scratch_free (gpointer data)
{
  Scratch *scratch = data;
  for (int i = 0; i < 4; i++)
    free (scratch->buffers[i]);
  g_free (scratch);
}

static GPrivate scratch_key = G_PRIVATE_INIT (scratch_free);

float *
dg_scratch (int slot, size_t n_floats)
{
  Scratch *scratch = g_private_get (&scratch_key);

  if (scratch == NULL)
    {
      scratch = g_new0 (Scratch, 1);
      g_private_set (&scratch_key, scratch);
    }
  if (scratch->sizes[slot] < n_floats)
    {
      free (scratch->buffers[slot]);
      /* On a cache line: a vector that straddles two costs twice. */
      if (posix_memalign ((void **) &scratch->buffers[slot], 64, n_floats * sizeof (float)) != 0)
        scratch->buffers[slot] = NULL;
      if (scratch->buffers[slot] == NULL)
        g_error ("out of memory allocating %zu bytes of scratch", n_floats * sizeof (float));
      scratch->sizes[slot] = n_floats;
    }
  return scratch->buffers[slot];
}

/* Eight floats, loaded and stored at any alignment. */
typedef float v8f __attribute__ ((vector_size (32), aligned (4)));

/* Sum of n floats: in float within blocks of 256, eight lanes and two
 * accumulators at a time, and in double across blocks.  A plain loop is
 * one dependent addition after another, four cycles each. */
double
dg_sum_floats (const float *x, long n)
{
  double sum = 0.0;
  long j = 0;

  while (j + 16 <= n)
    {
      v8f a = { 0 }, b = { 0 };
      long end = MIN (n, j + 256);
      for (; j + 16 <= end; j += 16)
        {
          a += *(const v8f *) (x + j);
          b += *(const v8f *) (x + j + 8);
        }
      a += b;
      for (int l = 0; l < 8; l++)
        sum += a[l];
    }
  for (; j < n; j++)
    sum += x[j];
  return sum;
}

/* Unfold columns [n0, n1) of a convolution's input into rows.
 * in: (C, B, H*W) channel-major; column n is output pixel (b, oy, ox) with
 * n = (b * OH + oy) * OW + ox; col: (C*k*k, n1-n0), row (c, ky, kx). */
static void
im2col (const float *in, int C, int B, int H, int W, int k, int pad, int OH, int OW, long n0,
        long n1, float *col)
{
  long ncols = n1 - n0;
  long plane = (long) OH * OW;

  for (int c = 0; c < C; c++)
    for (int ky = 0; ky < k; ky++)
      for (int kx = 0; kx < k; kx++)
        {
          float *dst = col + ((long) (c * k + ky) * k + kx) * ncols;
          long n = n0;
          while (n < n1)
            {
              int b = (int) (n / plane);
              int r = (int) (n % plane);
              int oy = r / OW, ox = r % OW;
              int run = (int) MIN ((long) (OW - ox), n1 - n);
              int iy = oy + ky - pad;

              if (iy < 0 || iy >= H)
                memset (dst, 0, sizeof (float) * run);
              else
                {
                  /* ix = ox + j + kx - pad must lie in [0, W). */
                  const float *src
                      = in + ((long) c * B + b) * H * W + (long) iy * W + ox + kx - pad;
                  int lo = CLAMP (pad - kx - ox, 0, run);
                  int hi = CLAMP (W - ox - kx + pad, lo, run);
                  for (int j = 0; j < lo; j++)
                    dst[j] = 0.0f;
                  memcpy (dst + lo, src + lo, sizeof (float) * (hi - lo));
                  for (int j = hi; j < run; j++)
                    dst[j] = 0.0f;
                }
              n += run;
              dst += run;
            }
        }
}

/* How many output columns one thread unfolds and multiplies at a time: big
 * enough for an efficient GEMM, small enough for the unfolded block to stay
 * in cache. */
static long
block_columns (long n_total, int n_threads)
{
  long per_thread = (n_total + n_threads - 1) / n_threads;
  return CLAMP (per_thread, 1, 512);
}

/* out rows [o0, o1) = their rows of w x the unfolded columns [n0, n1)
 * @col (K, n1 - n0, row stride @ldcol) + bias, then ReLU if asked. */
static void
multiply_columns (const float *w, long K, const float *col, long ldcol, const float *bias,
                  gboolean relu, long N, long n0, long n1, int o0, int o1, float *out)
{
  long nc = n1 - n0;

  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, o1 - o0, (int) nc, (int) K, 1.0f,
               w + o0 * K, (int) K, col, (int) ldcol, 0.0f, out + o0 * N + n0, (int) N);
  for (int o = o0; o < o1; o++)
    {
      float *row = out + (long) o * N + n0;
      float bo = bias != NULL ? bias[o] : 0.0f;
      if (relu)
        for (long j = 0; j < nc; j++)
          row[j] = row[j] + bo > 0.0f ? row[j] + bo : 0.0f;
      else if (bias != NULL)
        for (long j = 0; j < nc; j++)
          row[j] += bo;
    }
}

/* out (O, B*OH*OW) = w (O, C*k*k) x im2col (in) + bias, then ReLU if asked.
 * Blocks of columns go to the threads; with fewer columns than make two
 * good blocks (one image), every thread unfolds them all and takes a
 * share of the output channels instead, its rows of out its own. */
static void
conv_forward_im2col (const float *in, int C, int B, int H, int W, int k, int pad, int OH, int OW,
                     const float *w, const float *bias, int O, gboolean relu, float *out)
{
  long N = (long) B * OH * OW;
  long K = (long) C * k * k;
  int n_threads = dg_get_threads ();
  long block = block_columns (N, n_threads);
  long n_blocks = (N + block - 1) / block;
  gboolean direct = (k == 1 && pad == 0);

  if (n_threads > 1 && N <= 1024 && !direct)
    {
#pragma omp parallel num_threads(n_threads)
      {
        int id = omp_get_thread_num (), n = omp_get_num_threads ();
        float *unfolded = dg_scratch (0, (size_t) (K * N));
        im2col (in, C, B, H, W, k, pad, OH, OW, 0, N, unfolded);
        multiply_columns (w, K, unfolded, N, bias, relu, N, 0, N, O * id / n, O * (id + 1) / n,
                          out);
      }
      return;
    }

#pragma omp parallel for schedule(static) num_threads(n_threads) if (n_blocks > 1)
  for (long blk = 0; blk < n_blocks; blk++)
    {
      long n0 = blk * block, n1 = MIN (N, n0 + block), nc = n1 - n0;

      if (direct)
        multiply_columns (w, K, in + n0, N, bias, relu, N, n0, n1, 0, O, out);
      else
        {
          float *unfolded = dg_scratch (0, (size_t) (K * nc));
          im2col (in, C, B, H, W, k, pad, OH, OW, n0, n1, unfolded);
          multiply_columns (w, K, unfolded, nc, bias, relu, N, n0, n1, 0, O, out);
        }
    }
}

/* dw (O, C*k*k) += d_out (O, N) x im2col (in)^T and db (O) += row sums of
 * d_out.  Each thread sums its blocks privately; the partial sums are added
 * in thread order, so a run is repeatable for a given thread count. */
static void
conv_backward_weights_im2col (const float *in, int C, int B, int H, int W, int k, int pad, int OH,
                              int OW, const float *d_out, int O, float *dw, float *db)
{
  long N = (long) B * OH * OW;
  long K = (long) C * k * k;
  int n_threads = dg_get_threads ();
  long block = block_columns (N, n_threads);
  long n_blocks = (N + block - 1) / block;
  float *partial = g_new0 (float, (size_t) n_threads * (O * K + O));

#pragma omp parallel num_threads(n_threads)
  {
    int t = omp_get_thread_num ();
    float *my_dw = partial + (size_t) t * (O * K + O);
    float *my_db = my_dw + O * K;

#pragma omp for schedule(static)
    for (long blk = 0; blk < n_blocks; blk++)
      {
        long n0 = blk * block, n1 = MIN (N, n0 + block), nc = n1 - n0;
        float *col = dg_scratch (0, (size_t) (K * nc));

        im2col (in, C, B, H, W, k, pad, OH, OW, n0, n1, col);
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, O, (int) K, (int) nc, 1.0f,
                     d_out + n0, (int) N, col, (int) nc, 1.0f, my_dw, (int) K);
        for (int o = 0; o < O; o++)
          {
            my_db[o] += (float) dg_sum_floats (d_out + (long) o * N + n0, nc);
          }
      }
  }
  for (int t = 0; t < n_threads; t++)
    {
      const float *p = partial + (size_t) t * (O * K + O);
      for (long j = 0; j < O * K; j++)
        dw[j] += p[j];
      for (int o = 0; o < O; o++)
        db[o] += p[O * K + o];
    }
  g_free (partial);
}

/* Winograd F(4x4, 3x3) (Lavin and Gray, 2015): each 4x4 block of a 3x3
 * convolution's output comes from a 6x6 input tile with 36 multiplies per
 * (input, output) channel pair instead of 144, so the multiply work is 4x
 * smaller.  With U = G g G^T (kernel), V = B^T d B (input tile) and
 * Y = A^T [U . V] A, the 36 positions of the 6x6 grid are independent, and
 * over a block of tiles each is one matrix product M = U V with U (O, C)
 * and V (C, tiles).  Training reuses the same pieces: the input gradient is
 * a Winograd convolution with flipped kernels, and the weight gradient is
 * dU = dM V^T with dM = A dY A^T, dW = G^T dU G.  The matrices are those of
 * the interpolation points 0, 1, -1, 2, -2 (and infinity). */

#define WINO_MIN_CHANNELS 4 /* below this, one im2col GEMM is faster */

typedef int v8i __attribute__ ((vector_size (32)));

DEFINE_TRANSFORMS (v8f, )

/* A u: four output gradients to six. */
static inline void
transform_grad_output (const v8f u[4], v8f m[6])
{
  v8f s02 = u[0] + u[2], s13 = u[1] + u[3];
  v8f t02 = u[0] + 4.0f * u[2], t13 = 2.0f * u[1] + 8.0f * u[3];
  m[0] = u[0];
  m[1] = s02 + s13;
  m[2] = s02 - s13;
  m[3] = t02 + t13;
  m[4] = t02 - t13;
  m[5] = u[3];
}

/* G g (three kernel values to six) and G^T u (six back to three), one
 * kernel at a time: they run once per kernel, not per tile. */
static inline void
transform_kernel (float g0, float g1, float g2, float r[6])
{
  r[0] = g0 / 4.0f;
  r[1] = -(g0 + g1 + g2) / 6.0f;
  r[2] = -(g0 - g1 + g2) / 6.0f;
  r[3] = g0 / 24.0f + g1 / 12.0f + g2 / 6.0f;
  r[4] = g0 / 24.0f - g1 / 12.0f + g2 / 6.0f;
  r[5] = g2;
}

static inline void
transform_kernel_grad (const float u[6], float r[3])
{
  r[0] = u[0] / 4.0f - (u[1] + u[2]) / 6.0f + (u[3] + u[4]) / 24.0f;
  r[1] = (u[2] - u[1]) / 6.0f + (u[3] - u[4]) / 12.0f;
  r[2] = (u[3] + u[4] - u[1] - u[2]) / 6.0f + u[5];
}

/* U (36, O, C) from w (O, C, 3, 3). */
void
dg_winograd_kernels (const float *w, int O, int C, float *U)
{
  long oc = (long) O * C;

  for (long j = 0; j < oc; j++)
    {
      const float *g = w + j * 9;
      float t[3][6], u[6];
      for (int x = 0; x < 3; x++) /* G g, column by column */
        transform_kernel (g[x], g[3 + x], g[6 + x], t[x]);
      for (int y = 0; y < 6; y++) /* (G g) G^T, row by row */
        {
          transform_kernel (t[0][y], t[1][y], t[2][y], u);
          for (int x = 0; x < 6; x++)
            U[(6 * y + x) * oc + j] = u[x];
        }
    }
}

/* Tiles 4 pixels apart overlap, so a tile's columns are every fourth value
 * of a row from some start.  Rows are therefore split into their four
 * phases first: column 4k + r of a row goes to place r S + k, and the
 * columns of eight neighbouring tiles are eight consecutive values.  Both
 * directions are two rounds of shuffles on 32 values. */
static inline void
shuffle_pairs (v8f a, v8f b, v8f *lo, v8f *hi)
{
  *lo = __builtin_shufflevector (a, b, 0, 4, 8, 12, 1, 5, 9, 13);
  *hi = __builtin_shufflevector (a, b, 2, 6, 10, 14, 3, 7, 11, 15);
}

static inline void
shuffle_halves (v8f a, v8f b, v8f *lo, v8f *hi)
{
  *lo = __builtin_shufflevector (a, b, 0, 1, 2, 3, 8, 9, 10, 11);
  *hi = __builtin_shufflevector (a, b, 4, 5, 6, 7, 12, 13, 14, 15);
}

/* @row (4 S values, S a multiple of 8) into its phases @out (4, S). */
static inline void
deinterleave_row (const float *restrict row, int S, float *restrict out)
{
  for (int q = 0; q < S; q += 8)
    {
      const float *a = row + 4 * q;
      v8f b0, b1, b2, b3, p0, p1, p2, p3;
      shuffle_pairs (*(const v8f *) a, *(const v8f *) (a + 8), &b0, &b1);
      shuffle_pairs (*(const v8f *) (a + 16), *(const v8f *) (a + 24), &b2, &b3);
      shuffle_halves (b0, b2, &p0, &p1);
      shuffle_halves (b1, b3, &p2, &p3);
      *(v8f *) (out + q) = p0;
      *(v8f *) (out + S + q) = p1;
      *(v8f *) (out + 2 * S + q) = p2;
      *(v8f *) (out + 3 * S + q) = p3;
    }
}

/* The inverse for eight tiles: p[j] holds column j of each tile; the 32
 * values go to @row in order. */
static inline void
interleave_tiles (const v8f p[4], float *row)
{
  v8f b0, b1, b2, b3;
  shuffle_halves (p[0], p[1], &b0, &b2);
  shuffle_halves (p[2], p[3], &b1, &b3);
  shuffle_pairs (b0, b1, (v8f *) row, (v8f *) (row + 8));
  shuffle_pairs (b2, b3, (v8f *) (row + 16), (v8f *) (row + 24));
}

/* A convolution's tiling.  A block of whole images is transformed and
 * multiplied at a time; its tiles are numbered image by image, row by row:
 * tile = (b - b0) * tiles_img + ty * tiles_x + tx. */
typedef struct
{
  int H, W, pad, OH, OW;
  int tiles_y, tiles_x, tiles_img;
  int phase_in;  /* values per phase of a split input row: tiles_x + 1, rounded up to 8 */
  int phase_out; /* the same for an output row: tiles_x, rounded up to 8 */
} Tiling;

static Tiling
tiling_new (int H, int W, int pad, int OH, int OW)
{
  Tiling t = { .H = H, .W = W, .pad = pad, .OH = OH, .OW = OW };
  t.tiles_y = (OH + 3) / 4;
  t.tiles_x = (OW + 3) / 4;
  t.tiles_img = t.tiles_y * t.tiles_x;
  t.phase_in = (t.tiles_x + 1 + 7) & ~7;
  t.phase_out = (t.tiles_x + 7) & ~7;
  return t;
}

/* Floats of scratch the transforms of one plane need. */
static size_t
tiling_work (const Tiling *t)
{
  size_t in = (size_t) (2 * (4 * t->tiles_y + 2) + 6 * t->tiles_y) * 4 * t->phase_in;
  size_t out = (size_t) 2 * 4 * t->tiles_y * 4 * t->phase_out;
  return MAX (in, out);
}

/* A block's V, M and dM hold one slab per position, of one row per
 * channel; a row has room for the block's tiles and the seven more that
 * the transforms' last eight-tile step writes past them.  Slabs a multiple
 * of 4 KiB apart would fall in the same L1 cache sets, more of them than a
 * set has ways, so they sit one cache line further apart than they need. */
static inline long
row_stride (long n_tiles)
{
  return ((n_tiles + 7) & ~7L) + 8;
}

static inline long
slab_stride (long rows, long n_tiles)
{
  return rows * row_stride (n_tiles) + 16;
}

/* v = B^T d B for every tile of one input plane, v the plane's first tile
 * in position 0's slab, slabs @vs apart.  Steps of eight tiles along a tile
 * row write up to seven tiles past it; those are the next row's, written
 * after, or the room at the end of the channel's row.  Each pass finishes
 * the whole plane before the next reads it: values read back soon after
 * being written, at other offsets or widths, wait for the store to reach
 * the cache (the transform ran at half speed that way). */
static void
input_plane (const float *plane, const Tiling *t, float *work, float *v, long vs)
{
  const int S = t->phase_in, width = 4 * S, rows = 4 * t->tiles_y + 2;
  float *padded = work;                        /* (rows, width) */
  float *split = padded + (long) rows * width; /* (rows, 4, S) */
  float *comb = split + (long) rows * width;   /* (tiles_y, 6, width): B^T over rows */

  memset (padded, 0, sizeof (float) * rows * width);
  for (int y = MAX (0, t->pad); y < MIN (rows, t->H + t->pad); y++)
    memcpy (padded + (long) y * width + t->pad, plane + (long) (y - t->pad) * t->W,
            sizeof (float) * MIN (t->W, width - t->pad));
  for (int y = 0; y < rows; y++)
    deinterleave_row (padded + (long) y * width, S, split + (long) y * width);

  for (int ty = 0; ty < t->tiles_y; ty++)
    {
      const float *d = split + (long) 4 * ty * width;
      float *c = comb + (long) 6 * ty * width;
      for (int j = 0; j < width; j += 8)
        {
          v8f e[6], r[6];
          for (int i = 0; i < 6; i++)
            e[i] = *(const v8f *) (d + i * width + j);
          transform_input (e, r);
          for (int i = 0; i < 6; i++)
            *(v8f *) (c + i * width + j) = r[i];
        }
    }

  for (int ty = 0; ty < t->tiles_y; ty++)
    for (int k = 0; k < t->tiles_x; k += 8)
      for (int y = 0; y < 6; y++)
        {
          const float *c = comb + (long) (6 * ty + y) * width + k;
          v8f e[6] = { *(const v8f *) c,           *(const v8f *) (c + S),
                       *(const v8f *) (c + 2 * S), *(const v8f *) (c + 3 * S),
                       *(const v8f *) (c + 1),     *(const v8f *) (c + S + 1) };
          v8f r[6];
          transform_input (e, r);
          float *dst = v + ty * t->tiles_x + k;
          for (int x = 0; x < 6; x++)
            *(v8f *) (dst + (6 * y + x) * vs) = r[x];
        }
}

/* One output plane = A^T m A (+ bias, and a ReLU where @relu) from its
 * tiles' products, m the plane's first tile in position 0's slab.  The
 * rows are assembled whole, then copied out. */
static void
output_plane (const float *m, long ms, const Tiling *t, float bias, gboolean relu, float *work,
              float *plane)
{
  const int width = 4 * t->phase_out;
  float *rows = work; /* (4 tiles_y, width) */

  for (int ty = 0; ty < t->tiles_y; ty++)
    for (int k = 0; k < t->tiles_x; k += 8)
      {
        v8f a[6][4], y[4][4];
        const float *src = m + ty * t->tiles_x + k;
        for (int i = 0; i < 6; i++) /* A^T over each row of the tile */
          {
            v8f e[6];
            for (int x = 0; x < 6; x++)
              e[x] = *(const v8f *) (src + (6 * i + x) * ms);
            transform_output (e, a[i]);
          }
        for (int j = 0; j < 4; j++) /* and over the columns */
          {
            v8f e[6] = { a[0][j], a[1][j], a[2][j], a[3][j], a[4][j], a[5][j] }, r[4];
            transform_output (e, r);
            for (int i = 0; i < 4; i++)
              {
                r[i] += bias;
                y[i][j] = relu ? (v8f) ((v8i) r[i] & (v8i) (r[i] > (v8f){ 0 })) : r[i];
              }
          }
        for (int i = 0; i < 4; i++)
          interleave_tiles (y[i], rows + (long) (4 * ty + i) * width + 4 * k);
      }
  for (int y = 0; y < t->OH; y++)
    memcpy (plane + (long) y * t->OW, rows + (long) y * width, sizeof (float) * t->OW);
}

/* dm = A dy A^T for every tile of one output-gradient plane (zero past its
 * edge), dm the plane's first tile in position 0's slab. */
static void
grad_output_plane (const float *plane, const Tiling *t, float *work, float *dm, long ms)
{
  const int S = t->phase_out, width = 4 * S, rows = 4 * t->tiles_y;
  float *padded = work;                        /* (rows, width) */
  float *split = padded + (long) rows * width; /* (rows, 4, S) */

  memset (padded, 0, sizeof (float) * rows * width);
  for (int y = 0; y < t->OH; y++)
    memcpy (padded + (long) y * width, plane + (long) y * t->OW, sizeof (float) * t->OW);
  for (int y = 0; y < rows; y++)
    deinterleave_row (padded + (long) y * width, S, split + (long) y * width);

  for (int ty = 0; ty < t->tiles_y; ty++)
    for (int k = 0; k < t->tiles_x; k += 8)
      {
        v8f a[4][6];
        for (int i = 0; i < 4; i++) /* A over each row of the tile */
          {
            const float *src = split + (long) (4 * ty + i) * width + k;
            v8f u[4] = { *(const v8f *) src, *(const v8f *) (src + S),
                         *(const v8f *) (src + 2 * S), *(const v8f *) (src + 3 * S) };
            transform_grad_output (u, a[i]);
          }
        float *dst = dm + ty * t->tiles_x + k;
        for (int x = 0; x < 6; x++) /* and over the columns */
          {
            v8f u[4] = { a[0][x], a[1][x], a[2][x], a[3][x] }, r[6];
            transform_grad_output (u, r);
            for (int y = 0; y < 6; y++)
              *(v8f *) (dst + (6 * y + x) * ms) = r[y];
          }
      }
}

/* The planes of channels [c0, c1) of a block of @nb images from @b0.  One
 * thread does all of a channel's images, in order: each may write a few
 * tiles into the next one's place before that is written. */
static void
input_planes (const float *in, int C, int B, const Tiling *t, int b0, int nb, int c0, int c1,
              float *V)
{
  long ld = row_stride ((long) nb * t->tiles_img), vs = slab_stride (C, (long) nb * t->tiles_img);
  float *work = dg_scratch (3, tiling_work (t));

  for (int c = c0; c < c1; c++)
    for (int b = 0; b < nb; b++)
      input_plane (in + ((long) c * B + b0 + b) * t->H * t->W, t, work,
                   V + c * ld + (long) b * t->tiles_img, vs);
}

/* The output planes of channels [o0, o1) from a block's products. */
static void
output_planes (const float *M, int O, int B, const Tiling *t, int b0, int nb, int o0, int o1,
               const float *bias, gboolean relu, float *out)
{
  long ld = row_stride ((long) nb * t->tiles_img), ms = slab_stride (O, (long) nb * t->tiles_img);
  float *work = dg_scratch (3, tiling_work (t));

  for (int o = o0; o < o1; o++)
    for (int b = 0; b < nb; b++)
      output_plane (M + o * ld + (long) b * t->tiles_img, ms, t, bias != NULL ? bias[o] : 0.0f,
                    relu, work, out + ((long) o * B + b0 + b) * t->OH * t->OW);
}

static void
grad_output_planes (const float *d_out, int O, int B, const Tiling *t, int b0, int nb, float *dM)
{
  long ld = row_stride ((long) nb * t->tiles_img), ms = slab_stride (O, (long) nb * t->tiles_img);
  float *work = dg_scratch (3, tiling_work (t));

  for (int o = 0; o < O; o++)
    for (int b = 0; b < nb; b++)
      grad_output_plane (d_out + ((long) o * B + b0 + b) * t->OH * t->OW, t, work,
                         dM + o * ld + (long) b * t->tiles_img, ms);
}

/* M[xi] = U[xi] V[xi] for the positions [x0, x1) of a block of @nt tiles. */
static void
multiply_positions (const float *U, const float *V, int C, int O, long nt, int x0, int x1,
                    float *M)
{
  long ld = row_stride (nt), vs = slab_stride (C, nt), ms = slab_stride (O, nt);

  for (int xi = x0; xi < x1; xi++)
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, O, (int) nt, C, 1.0f,
                 U + (long) xi * O * C, C, V + xi * vs, (int) ld, 0.0f, M + xi * ms, (int) ld);
}

/* Images one thread transforms and multiplies at a time: its V and M
 * (36 x (C + O) floats a tile) should stay within about 1 MB of cache. */
static int
winograd_images (const Tiling *t, int B, int C, int O)
{
  long fit = (1L << 18) / (36L * (C + O) * t->tiles_img);
  return (int) CLAMP (fit, 1, B);
}

static size_t
winograd_block_floats (int C, int O, long nt)
{
  return (size_t) 36 * (slab_stride (C, nt) + slab_stride (O, nt));
}

static void
conv_forward_winograd (const float *in, int C, int B, int H, int W, int pad, int OH, int OW,
                       const float *w, const float *kernels, const float *bias, int O,
                       gboolean relu, float *out)
{
  const Tiling t = tiling_new (H, W, pad, OH, OW);
  int n_threads = dg_get_threads ();
  int nb = winograd_images (&t, B, C, O);
  int n_blocks = (B + nb - 1) / nb;
  const float *U = kernels;

  if (U == NULL)
    {
      float *transformed = dg_scratch (1, (size_t) 36 * O * C);
      dg_winograd_kernels (w, O, C, transformed);
      U = transformed;
    }

  if (n_blocks >= n_threads || n_threads == 1)
    {
      /* Enough blocks to go round: each thread its own, start to finish. */
#pragma omp parallel for schedule(static) num_threads(n_threads) if (n_blocks > 1)
      for (int blk = 0; blk < n_blocks; blk++)
        {
          int b0 = blk * nb, n = MIN (nb, B - b0);
          long nt = (long) n * t.tiles_img;
          float *V = dg_scratch (0, winograd_block_floats (C, O, (long) nb * t.tiles_img));
          float *M = V + 36 * slab_stride (C, nt);

          input_planes (in, C, B, &t, b0, n, 0, C, V);
          multiply_positions (U, V, C, O, nt, 0, 36, M);
          output_planes (M, O, B, &t, b0, n, 0, O, bias, relu, out);
        }
      return;
    }

  /* A few images (one drawn digit): all threads on one block, splitting
   * the planes, then the positions, then the planes again. */
  long nt = (long) B * t.tiles_img;
  float *V = dg_scratch (0, winograd_block_floats (C, O, nt));
  float *M = V + 36 * slab_stride (C, nt);

#pragma omp parallel num_threads(n_threads)
  {
    int id = omp_get_thread_num (), n = omp_get_num_threads ();

    input_planes (in, C, B, &t, 0, B, C * id / n, C * (id + 1) / n, V);
#pragma omp barrier
    multiply_positions (U, V, C, O, nt, 36 * id / n, 36 * (id + 1) / n, M);
#pragma omp barrier
    output_planes (M, O, B, &t, 0, B, O * id / n, O * (id + 1) / n, bias, relu, out);
  }
}

/* dw (O, C, 3, 3) += G^T [sum over tiles of dM V^T] G, db += sums of d_out. */
static void
conv_backward_weights_winograd (const float *in, int C, int B, int H, int W, int pad, int OH,
                                int OW, const float *d_out, int O, float *dw, float *db)
{
  const Tiling t = tiling_new (H, W, pad, OH, OW);
  int n_threads = dg_get_threads ();
  int nb = winograd_images (&t, B, C, O);
  int n_blocks = (B + nb - 1) / nb;
  long oc = (long) O * C;
  float *dU = g_new0 (float, (size_t) n_threads * 36 * oc);

#pragma omp parallel num_threads(n_threads)
  {
    float *my_dU = dU + (size_t) omp_get_thread_num () * 36 * oc;

#pragma omp for schedule(static)
    for (int blk = 0; blk < n_blocks; blk++)
      {
        int b0 = blk * nb, n = MIN (nb, B - b0);
        long nt = (long) n * t.tiles_img, ld = row_stride (nt);
        long vs = slab_stride (C, nt), ms = slab_stride (O, nt);
        float *V = dg_scratch (0, winograd_block_floats (C, O, (long) nb * t.tiles_img));
        float *dM = V + 36 * vs;

        input_planes (in, C, B, &t, b0, n, 0, C, V);
        grad_output_planes (d_out, O, B, &t, b0, n, dM);
        for (int xi = 0; xi < 36; xi++)
          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, O, C, (int) nt, 1.0f, dM + xi * ms,
                       (int) ld, V + xi * vs, (int) ld, 1.0f, my_dU + xi * oc, C);
      }


    /* Sum the threads' parts in a fixed order, then dW = G^T dU G. */
#pragma omp for schedule(static)
    for (long j = 0; j < oc; j++)
      {
        float a[6][3], u[6], g[3], sum[36];
        for (int xi = 0; xi < 36; xi++)
          {
            sum[xi] = dU[xi * oc + j];
            for (int th = 1; th < n_threads; th++)
              sum[xi] += dU[((size_t) th * 36 + xi) * oc + j];
          }
        for (int y = 0; y < 6; y++) /* G^T over each row of dU */
          transform_kernel_grad (sum + 6 * y, a[y]);
        for (int x = 0; x < 3; x++) /* and over the columns */
          {
            for (int y = 0; y < 6; y++)
              u[y] = a[y][x];
            transform_kernel_grad (u, g);
            for (int y = 0; y < 3; y++)
              dw[j * 9 + y * 3 + x] += g[y];
          }
      }

#pragma omp for schedule(static)
    for (int o = 0; o < O; o++)
      db[o] += (float) dg_sum_floats (d_out + (long) o * B * OH * OW, (long) B * OH * OW);
  }
  g_free (dU);
}

/* The convolution entry points: Winograd for 3x3 kernels over enough
 * channels, im2col + GEMM for the rest.  @kernels: the Winograd-transformed
 * weights if already computed (the inference plan keeps them), or NULL. */
gboolean
dg_use_winograd (int k, int C)
{
  return k == 3 && C >= WINO_MIN_CHANNELS;
}

void
dg_conv_forward (const float *in, int C, int B, int H, int W, int k, int pad, int OH, int OW,
                 const float *w, const float *kernels, const float *bias, int O, gboolean relu,
                 float *out)
{
  if (dg_use_winograd (k, C))
    conv_forward_winograd (in, C, B, H, W, pad, OH, OW, w, kernels, bias, O, relu, out);
  else
    conv_forward_im2col (in, C, B, H, W, k, pad, OH, OW, w, bias, O, relu, out);
}

void
dg_conv_backward_weights (const float *in, int C, int B, int H, int W, int k, int pad, int OH,
                          int OW, const float *d_out, int O, float *dw, float *db)
{
  if (dg_use_winograd (k, C))
    conv_backward_weights_winograd (in, C, B, H, W, pad, OH, OW, d_out, O, dw, db);
  else
    conv_backward_weights_im2col (in, C, B, H, W, k, pad, OH, OW, d_out, O, dw, db);
}

/* The input gradient of a convolution is a convolution of the output
 * gradient with the kernels flipped and the channel axes swapped:
 * w_flip (C, O, k, k)[c][o][y][x] = w (O, C, k, k)[o][c][k-1-y][k-1-x],
 * padded by k-1-pad so the result has the input's size. */
void
dg_conv_backward_input (const float *d_out, int O, int B, int OH, int OW, int k, int pad,
                        const float *w, int C, int H, int W, float *d_in)
{
  long kk = (long) k * k;
  float *w_flip = g_new (float, (size_t) C *O *kk);

  for (int o = 0; o < O; o++)
    for (int c = 0; c < C; c++)
      for (long j = 0; j < kk; j++)
        w_flip[((long) c * O + o) * kk + j] = w[((long) o * C + c) * kk + (kk - 1 - j)];
  dg_conv_forward (d_out, O, B, OH, OW, k, k - 1 - pad, H, W, w_flip, NULL, NULL, C, FALSE, d_in);
  g_free (w_flip);
}

/* C = A x B over rows of C split between threads (row-major, A (M, K) or
 * its transpose, B (K, N) or its transpose); fewer than 64 rows are one
 * product on the calling thread. */
void
dg_sgemm_rows (gboolean trans_a, gboolean trans_b, int M, int N, int K, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc)
{
  int n_threads = M >= 64 ? dg_get_threads () : 1;
  int rows = MAX (1, (M + n_threads - 1) / n_threads);

#pragma omp parallel for schedule(static) num_threads(n_threads) if (n_threads > 1)
  for (int m0 = 0; m0 < M; m0 += rows)
    {
      int m = MIN (rows, M - m0);
      const float *a = trans_a ? A + m0 : A + (long) m0 * lda;
      cblas_sgemm (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                   trans_b ? CblasTrans : CblasNoTrans, m, N, K, 1.0f, a, lda, B, ldb, beta,
                   C + (long) m0 * ldc, ldc);
    }
}

/* C (M, N) = A (M, K) x B (K, N) for few rows and columns but a long K (a
 * classifier over one image's features): each thread multiplies its slice
 * of K, and the parts are added in thread order. */
static void
sgemm_split_depth (int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
                   int ldc)
{
  int n_threads = dg_get_threads ();
  /* Zeroed: a team smaller than asked for leaves some parts unwritten. */
  float *parts = g_new0 (float, (size_t) n_threads * M * N);

#pragma omp parallel num_threads(n_threads)
  {
    int id = omp_get_thread_num (), n = omp_get_num_threads ();
    int k0 = (int) ((long) K * id / n), k1 = (int) ((long) K * (id + 1) / n);
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, k1 - k0, 1.0f, A + k0, lda,
                 B + (long) k0 * ldb, ldb, 0.0f, parts + (long) id * M * N, N);
  }
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++)
      {
        float sum = 0.0f;
        for (int t = 0; t < n_threads; t++)
          sum += parts[((long) t * M + i) * N + j];
        C[(long) i * ldc + j] = sum;
      }
  g_free (parts);
}

/* The input of a dense layer is (C, B, S): C planes of S values per image.
 * With one image, or one value per plane, that is already the (C S, B) of
 * x in w x; otherwise w x is summed over the planes, w's columns c S ..
 * (c + 1) S against plane c's (B, S) transposed, so the batch is never
 * rearranged. */
static gboolean
dense_input_is_flat (int B, int S)
{
  return B == 1 || S == 1;
}

void
dg_dense_forward (const float *in, int C, int B, int S, const float *w, const float *bias, int O,
                  gboolean relu, float *out)
{
  int n_in = C * S;

  if (dense_input_is_flat (B, S) && O < 64 && B <= 16 && (long) O * B * n_in > 65536
      && dg_get_threads () > 1)
    sgemm_split_depth (O, B, n_in, w, n_in, in, B, out, B);
  else if (dense_input_is_flat (B, S))
    dg_sgemm_rows (FALSE, FALSE, O, B, n_in, w, n_in, in, B, 0.0f, out, B);
  else
    {
      /* Each thread its own columns (images) of out, summing the planes. */
      int n_threads = dg_get_threads ();
      int cols = MAX (1, (B + n_threads - 1) / n_threads);
#pragma omp parallel for schedule(static) num_threads(n_threads) if ((long) O * B * n_in > 262144)
      for (int b0 = 0; b0 < B; b0 += cols)
        for (int c = 0; c < C; c++)
          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, O, MIN (cols, B - b0), S, 1.0f,
                       w + (long) c * S, n_in, in + ((long) c * B + b0) * S, S,
                       c == 0 ? 0.0f : 1.0f, out + b0, B);
    }
  for (int o = 0; o < O; o++)
    for (int b = 0; b < B; b++)
      {
        float v = out[(long) o * B + b] + bias[o];
        out[(long) o * B + b] = relu && v < 0.0f ? 0.0f : v;
      }
}

void
dg_dense_backward (const float *in, int C, int B, int S, const float *w, int O,
                   const float *d_out, float *dw, float *db, float *d_in)
{
  int n_in = C * S;

  for (int o = 0; o < O; o++)
    for (int b = 0; b < B; b++)
      db[o] += d_out[(long) o * B + b];
  if (dense_input_is_flat (B, S))
    {
      /* dw (O, n_in) += d_out (O, B) x x^T;  dx (n_in, B) = w^T x d_out */
      dg_sgemm_rows (FALSE, TRUE, O, n_in, B, d_out, B, in, B, 1.0f, dw, n_in);
      if (d_in != NULL)
        dg_sgemm_rows (TRUE, FALSE, n_in, B, O, w, n_in, d_out, B, 0.0f, d_in, B);
      return;
    }
  /* Per plane c: dw_c (O, S) += d_out (O, B) x in_c (B, S), and
   * d_in_c (B, S) = d_out^T (B, O) x w_c (O, S); the planes are disjoint. */
#pragma omp parallel for schedule(static) num_threads(dg_get_threads ())
  for (int c = 0; c < C; c++)
    {
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, O, S, B, 1.0f, d_out, B,
                   in + (long) c * B * S, S, 1.0f, dw + (long) c * S, n_in);
      if (d_in != NULL)
        cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, B, S, O, 1.0f, d_out, B,
                     w + (long) c * S, n_in, 0.0f, d_in + (long) c * B * S, S);
    }
}

/* 2x2 max pool of (C*B) planes; @arg, if not NULL, records which of the four
 * won (0..3) for the backward pass. */
void
dg_pool_forward (const float *in, long planes, int H, int W, float *out, guint8 *arg)
{
  int OH = H / 2, OW = W / 2;
  int n_threads = dg_get_threads ();

#pragma omp parallel for schedule(static) num_threads(n_threads) if (planes > 1)
  for (long p = 0; p < planes; p++)
    {
      const float *src = in + p * H * W;
      float *dst = out + p * OH * OW;
      for (int y = 0; y < OH; y++)
        for (int x = 0; x < OW; x++)
          {
            const float *q = src + (2 * y) * W + 2 * x;
            float v[4] = { q[0], q[1], q[W], q[W + 1] };
            int best = 0;
            for (int j = 1; j < 4; j++)
              if (v[j] > v[best])
                best = j;
            dst[y * OW + x] = v[best];
            if (arg != NULL)
              arg[p * OH * OW + y * OW + x] = (guint8) best;
          }
    }
}

void
dg_softmax_columns (const float *logits, int n_classes, int B, float *probs /* (B, n_classes) */)
{
  for (int b = 0; b < B; b++)
    {
      float max = logits[b];
      double sum = 0.0;
      for (int j = 1; j < n_classes; j++)
        max = fmaxf (max, logits[(long) j * B + b]);
      for (int j = 0; j < n_classes; j++)
        {
          float e = expf (logits[(long) j * B + b] - max);
          probs[(long) b * n_classes + j] = e;
          sum += e;
        }
      for (int j = 0; j < n_classes; j++)
        probs[(long) b * n_classes + j] = (float) (probs[(long) b * n_classes + j] / sum);
    }
}
