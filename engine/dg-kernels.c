/* dg-kernels.c: the arithmetic — convolutions (Winograd F(2x2, 3x3) and
 * im2col + GEMM), dense layers, max pooling, softmax — on channel-major
 * batches (C, B, H*W).  dg-model.c decides what runs; this file runs it.
 * The GEMM-shaped work is one cblas_sgemm per block of columns, one block
 * per thread at a time; everything else is a plain loop.
 */
#include "dg-kernels.h"

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
      scratch->buffers[slot] = malloc (n_floats * sizeof (float));
      if (scratch->buffers[slot] == NULL)
        g_error ("out of memory allocating %zu bytes of scratch", n_floats * sizeof (float));
      scratch->sizes[slot] = n_floats;
    }
  return scratch->buffers[slot];
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

/* out (O, B*OH*OW) = w (O, C*k*k) x im2col (in) + bias, then ReLU if asked. */
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

#pragma omp parallel for schedule(static) num_threads(n_threads) if (n_blocks > 1)
  for (long blk = 0; blk < n_blocks; blk++)
    {
      long n0 = blk * block, n1 = MIN (N, n0 + block), nc = n1 - n0;
      const float *col;
      long ldcol;

      if (direct)
        col = in + n0, ldcol = N;
      else
        {
          float *unfolded = dg_scratch (0, (size_t) (K * nc));
          im2col (in, C, B, H, W, k, pad, OH, OW, n0, n1, unfolded);
          col = unfolded, ldcol = nc;
        }
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, O, (int) nc, (int) K, 1.0f, w,
                   (int) K, col, (int) ldcol, 0.0f, out + n0, (int) N);
      for (int o = 0; o < O; o++)
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
            const float *row = d_out + (long) o * N + n0;
            float s = 0.0f;
            for (long j = 0; j < nc; j++)
              s += row[j];
            my_db[o] += s;
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

/* Winograd F(2x2, 3x3) (Lavin and Gray, 2015): each 2x2 block of a 3x3
 * convolution's output comes from a 4x4 input tile with 16 multiplies per
 * (input, output) channel pair instead of 36, so the multiply work is 2.25x
 * smaller.  With U = G g G^T (kernel), V = B^T d B (input tile) and
 * Y = A^T [U . V] A, the 16 positions of the 4x4 grid are independent, and
 * over a block of tiles each is one matrix product M = U V with U (O, C)
 * and V (C, tiles).  Training reuses the same pieces: the input gradient is
 * a Winograd convolution with flipped kernels, and the weight gradient is
 * dU = dM V^T with dM = A dY A^T, dW = G^T dU G. */

#define WINO_MIN_CHANNELS 4 /* below this, one im2col GEMM is faster */

/* U (16, O, C) from w (O, C, 3, 3). */
void
dg_winograd_kernels (const float *w, int O, int C, float *U)
{
  long oc = (long) O * C;

  for (long j = 0; j < oc; j++)
    {
      const float *g = w + j * 9;
      float t[4][3], u[4][4];
      /* G g: rows of G are (1,0,0), (.5,.5,.5), (.5,-.5,.5), (0,0,1) */
      for (int x = 0; x < 3; x++)
        {
          t[0][x] = g[x];
          t[1][x] = 0.5f * (g[x] + g[3 + x] + g[6 + x]);
          t[2][x] = 0.5f * (g[x] - g[3 + x] + g[6 + x]);
          t[3][x] = g[6 + x];
        }
      /* (G g) G^T */
      for (int y = 0; y < 4; y++)
        {
          u[y][0] = t[y][0];
          u[y][1] = 0.5f * (t[y][0] + t[y][1] + t[y][2]);
          u[y][2] = 0.5f * (t[y][0] - t[y][1] + t[y][2]);
          u[y][3] = t[y][2];
        }
      for (int xi = 0; xi < 16; xi++)
        U[xi * oc + j] = u[xi / 4][xi % 4];
    }
}

/* Tiles are numbered image by image, row by row: tile = (b * tiles_y + ty) *
 * tiles_x + tx.  The transforms below walk a block of tiles as runs along
 * one tile row, so the inner loops are straight-line code over consecutive
 * tiles that the compiler vectorises. */
/* Eight floats, loaded and stored at any alignment. */
typedef float v8f __attribute__ ((vector_size (32), aligned (4)));

/* V, M and dM hold 16 slabs, one per position of the 4x4 tile, and the
 * transforms write all 16 at once.  Slabs a multiple of 4 KiB apart (64
 * channels x 144 tiles is 9 x 4 KiB) fall in the same L1 cache sets, more
 * of them than a set has ways: the input transform ran 3 times slower.  So
 * the slabs sit one cache line further apart than they need. */
static inline long
slab_stride (long floats)
{
  return ((floats + 15) & ~15L) + 16;
}

typedef struct
{
  int b, ty, tx; /* where the run starts */
  int run;       /* tiles in the run */
} TileRun;

static inline TileRun
tile_run (long tile, long remaining, int tiles_x, int tiles_img)
{
  TileRun r;
  int rest = (int) (tile % tiles_img);
  r.b = (int) (tile / tiles_img);
  r.ty = rest / tiles_x;
  r.tx = rest % tiles_x;
  r.run = (int) MIN ((long) (tiles_x - r.tx), remaining);
  return r;
}

/* The run after @r, @remaining tiles left: the next row of tiles, of this
 * image or the next.  No division, unlike tile_run: the transforms step
 * through the same runs for every channel. */
static inline void
tile_run_next (TileRun *r, long remaining, int tiles_x, int tiles_y)
{
  r->tx = 0;
  if (++r->ty == tiles_y)
    {
      r->ty = 0;
      r->b++;
    }
  r->run = (int) MIN ((long) tiles_x, remaining);
}

/* Rows of B^T d for @span columns of the four input rows @d0 .. @d3, into
 * @comb (4, span).  B^T's rows: (1, 0, -1, 0), (0, 1, 1, 0), (0, -1, 1, 0),
 * (0, 1, 0, -1). */
static inline void
input_transform_rows (const float *restrict d0, const float *restrict d1,
                      const float *restrict d2, const float *restrict d3, int span,
                      float *restrict comb)
{
  float *restrict c0 = comb, *restrict c1 = comb + span;
  float *restrict c2 = comb + 2 * span, *restrict c3 = comb + 3 * span;
  for (int j = 0; j < span; j++)
    {
      c0[j] = d0[j] - d2[j];
      c1[j] = d1[j] + d2[j];
      c2[j] = d2[j] - d1[j];
      c3[j] = d1[j] - d3[j];
    }
}

/* The same on the columns of @comb (4, 2 run + 2) for @run tiles (tile k
 * covers columns 2k .. 2k + 3), into v (16, ...) with position stride @cn. */
static inline void
input_transform_columns (const float *restrict comb, int run, float *restrict v, long cn)
{
  int span = 2 * run + 2;
  for (int y = 0; y < 4; y++)
    {
      const float *restrict t = comb + y * span;
      float *restrict v0 = v + (4 * y + 0) * cn, *restrict v1 = v + (4 * y + 1) * cn;
      float *restrict v2 = v + (4 * y + 2) * cn, *restrict v3 = v + (4 * y + 3) * cn;
      for (int k = 0; k < run; k++)
        {
          float x0 = t[2 * k], x1 = t[2 * k + 1], x2 = t[2 * k + 2], x3 = t[2 * k + 3];
          v0[k] = x0 - x2;
          v1[k] = x1 + x2;
          v2[k] = x2 - x1;
          v3[k] = x1 - x3;
        }
    }
}

/* V (16, C, nt) = B^T d B for tiles [t0, t0 + nt) of every channel, slabs
 * slab_stride (C nt) apart.  Where the tiles reach past the plane (padding,
 * or an odd size), each plane is first copied into one with zeros round it.
 * Per channel, the rows of every run of tiles are combined first and their
 * columns after: reading back what was just written, at other offsets,
 * would stall on store forwarding. */
static void __attribute__ ((noinline))
winograd_input (const float *in, int C, int B, int H, int W, int pad, int tiles_x, int tiles_img,
                long t0, long nt, float *V)
{
  long cn = slab_stride ((long) C * nt);
  const int tiles_y = tiles_img / tiles_x;
  int span_max = 2 * tiles_x + 2, padded_h = 2 * tiles_y + 2;
  gboolean needs_padding = pad > 0 || padded_h > H || span_max > W;
  long max_runs = nt / tiles_x + 2;
  float *combined = dg_scratch (3, (size_t) 4 * max_runs * span_max
                                       + (needs_padding ? (size_t) padded_h * span_max : 0));
  float *padded = combined + 4 * max_runs * span_max; /* (padded_h, span_max) */
  const TileRun first = tile_run (t0, nt, tiles_x, tiles_img);

  for (int c = 0; c < C; c++)
    {
      int n_runs = 0, image = -1;
      const float *plane = NULL;
      int stride = needs_padding ? span_max : W;
      TileRun r = first;
      for (long t = 0; t < nt; n_runs++)
        {
          if (r.b != image)
            {
              image = r.b;
              plane = in + ((long) c * B + image) * H * W;
              if (needs_padding)
                {
                  memset (padded, 0, sizeof (float) * padded_h * span_max);
                  for (int y = 0; y < H && y + pad < padded_h; y++)
                    memcpy (padded + (y + pad) * span_max + pad, plane + (long) y * W,
                            sizeof (float) * MIN (W, span_max - pad));
                  plane = padded;
                }
            }
          const float *d = plane + (long) (2 * r.ty) * stride + 2 * r.tx;
          input_transform_rows (d, d + stride, d + 2 * stride, d + 3 * stride, 2 * r.run + 2,
                                combined + (long) n_runs * 4 * span_max);
          t += r.run;
          tile_run_next (&r, nt - t, tiles_x, tiles_y);
        }
      n_runs = 0;
      r = first;
      for (long t = 0; t < nt; n_runs++)
        {
          input_transform_columns (combined + (long) n_runs * 4 * span_max, r.run,
                                   V + (long) c * nt + t, cn);
          t += r.run;
          tile_run_next (&r, nt - t, tiles_x, tiles_y);
        }
    }
}

/* A^T m A + bias (and a ReLU where @relu) for @run consecutive tiles of
 * one channel, m (16, ...) with position stride @on;
 * tile k's 2x2 result goes to columns 2k and 2k + 1 of @row0 and @row1.
 * A^T rows: (1, 1, 1, 0), (0, 1, -1, -1). */
static inline void
output_transform (const float *restrict m, long on, int run, float bias, gboolean relu,
                  float *restrict row0, float *restrict row1)
{
  for (int k = 0; k < run; k++)
    {
      float a0[4], a1[4];
      for (int x = 0; x < 4; x++)
        {
          float m0 = m[x * on + k], m1 = m[(4 + x) * on + k];
          float m2 = m[(8 + x) * on + k], m3 = m[(12 + x) * on + k];
          a0[x] = m0 + m1 + m2;
          a1[x] = m1 - m2 - m3;
        }
      float y[4] = { a0[0] + a0[1] + a0[2] + bias, a0[1] - a0[2] - a0[3] + bias,
                     a1[0] + a1[1] + a1[2] + bias, a1[1] - a1[2] - a1[3] + bias };
      if (relu)
        for (int i = 0; i < 4; i++)
          y[i] = y[i] > 0.0f ? y[i] : 0.0f;
      row0[2 * k] = y[0];
      row0[2 * k + 1] = y[1];
      row1[2 * k] = y[2];
      row1[2 * k + 1] = y[3];
    }
}

/* out = A^T M A (+ bias, ReLU) for tiles [t0, t0 + nt), M (16, O, nt),
 * slabs slab_stride (O nt) apart.  Runs of tiles inside the output are
 * written in place; those over its right or bottom edge, through a buffer. */
static void __attribute__ ((noinline))
winograd_output (const float *M, int O, int B, int OH, int OW, int tiles_x, int tiles_img, long t0,
                 long nt, const float *bias, gboolean relu, float *out)
{
  long on = slab_stride ((long) O * nt);
  int width = 2 * tiles_x;
  float *rows = dg_scratch (3, (size_t) 2 * width);

  const TileRun first = tile_run (t0, nt, tiles_x, tiles_img);
  const int tiles_y = tiles_img / tiles_x;

  for (int o = 0; o < O; o++)
    {
      float bo = bias != NULL ? bias[o] : 0.0f;
      TileRun r = first;
      for (long t = 0; t < nt;)
        {
          const float *m = M + (long) o * nt + t;
          float *plane = out + ((long) o * B + r.b) * OH * OW;
          int x0 = 2 * r.tx, y0 = 2 * r.ty;
          if (y0 + 1 < OH && x0 + 2 * r.run <= OW)
            output_transform (m, on, r.run, bo, relu, plane + y0 * OW + x0,
                              plane + (y0 + 1) * OW + x0);
          else
            {
              output_transform (m, on, r.run, bo, relu, rows, rows + width);
              int count = MIN (2 * r.run, OW - x0);
              for (int i = 0; i < 2 && y0 + i < OH; i++)
                memcpy (plane + (y0 + i) * OW + x0, rows + i * width, sizeof (float) * count);
            }
          t += r.run;
          tile_run_next (&r, nt - t, tiles_x, tiles_y);
        }
    }
}

/* A dy A^T for @run consecutive tiles, dy's 2x2 given as four arrays
 * (top-left, top-right, bottom-left, bottom-right); m (16, ...) with
 * position stride @on.  A rows: (1, 0), (1, 1), (1, -1), (0, -1). */
static void
grad_output_transform (const float *restrict g00, const float *restrict g01,
                       const float *restrict g10, const float *restrict g11, int run,
                       float *restrict m, long on)
{
  int k = 0;

  /* Eight tiles at a time with GCC vector types: with sixteen output
   * streams, GCC 12 does not vectorise the plain loop. */
  for (; k + 8 <= run; k += 8)
    {
      v8f u0 = *(const v8f *) (g00 + k), v0 = *(const v8f *) (g01 + k);
      v8f u1 = *(const v8f *) (g10 + k), v1 = *(const v8f *) (g11 + k);
      v8f ra[4] = { u0, u0 + u1, u0 - u1, -u1 };
      v8f rb[4] = { v0, v0 + v1, v0 - v1, -v1 };
      for (int y = 0; y < 4; y++)
        {
          *(v8f *) (m + (4 * y + 0) * on + k) = ra[y];
          *(v8f *) (m + (4 * y + 1) * on + k) = ra[y] + rb[y];
          *(v8f *) (m + (4 * y + 2) * on + k) = ra[y] - rb[y];
          *(v8f *) (m + (4 * y + 3) * on + k) = -rb[y];
        }
    }
  for (; k < run; k++)
    {
      /* rows of A dy, then the same on columns: (u, v) -> u, u + v, u - v, -v */
      float ra[4] = { g00[k], g00[k] + g10[k], g00[k] - g10[k], -g10[k] };
      float rb[4] = { g01[k], g01[k] + g11[k], g01[k] - g11[k], -g11[k] };
      for (int y = 0; y < 4; y++)
        {
          m[(4 * y + 0) * on + k] = ra[y];
          m[(4 * y + 1) * on + k] = ra[y] + rb[y];
          m[(4 * y + 2) * on + k] = ra[y] - rb[y];
          m[(4 * y + 3) * on + k] = -rb[y];
        }
    }
}

/* dM (16, O, nt) = A dY A^T for tiles [t0, t0 + nt), slabs slab_stride
 * (O nt) apart; dY is zero past the output's edge. */
static void __attribute__ ((noinline))
winograd_grad_output (const float *d_out, int O, int B, int OH, int OW, int tiles_x, int tiles_img,
                      long t0, long nt, float *dM)
{
  long on = slab_stride ((long) O * nt);
  int width = 2 * tiles_x;
  float *rows = dg_scratch (3, (size_t) 4 * width);

  const TileRun first = tile_run (t0, nt, tiles_x, tiles_img);
  const int tiles_y = tiles_img / tiles_x;

  for (int o = 0; o < O; o++)
    {
      TileRun r = first;
      for (long t = 0; t < nt;)
        {
          const float *plane = d_out + ((long) o * B + r.b) * OH * OW;
          int x0 = 2 * r.tx, count = MIN (2 * r.run, OW - x0);
          float *m = dM + (long) o * nt + t;

          for (int i = 0; i < 2; i++)
            {
              float *row = rows + i * width;
              int y = 2 * r.ty + i;
              if (y < OH)
                memcpy (row, plane + y * OW + x0, sizeof (float) * count);
              else
                count = 0;
              for (int j = count; j < 2 * r.run; j++)
                row[j] = 0.0f;
            }
          /* Split the two rows into even and odd columns, then transform. */
          float *half = rows + 2 * width;
          for (int k = 0; k < r.run; k++)
            {
              half[k] = rows[2 * k];
              half[r.run + k] = rows[2 * k + 1];
              half[2 * r.run + k] = rows[width + 2 * k];
              half[3 * r.run + k] = rows[width + 2 * k + 1];
            }
          grad_output_transform (half, half + r.run, half + 2 * r.run, half + 3 * r.run, r.run, m,
                                 on);
          t += r.run;
          tile_run_next (&r, nt - t, tiles_x, tiles_y);
        }
    }
}

/* Tiles one thread transforms and multiplies at a time: the V and M blocks
 * (16 x (C + O) x nt floats) should stay within about 1 MB of cache. */
static long
winograd_block (long n_tiles, int C, int O, int n_threads)
{
  long fit = 16384 / (C + O);
  long per_thread = (n_tiles + n_threads - 1) / n_threads;
  return CLAMP (MIN (per_thread, fit), 8, 1024);
}

static void
conv_forward_winograd (const float *in, int C, int B, int H, int W, int pad, int OH, int OW,
                       const float *w, const float *kernels, const float *bias, int O,
                       gboolean relu, float *out)
{
  int tiles_y = (OH + 1) / 2, tiles_x = (OW + 1) / 2, tiles_img = tiles_y * tiles_x;
  long n_tiles = (long) B * tiles_img;
  int n_threads = dg_get_threads ();
  long block = winograd_block (n_tiles, C, O, n_threads);
  long n_blocks = (n_tiles + block - 1) / block;
  const float *U = kernels;

  if (U == NULL)
    {
      float *transformed = dg_scratch (1, (size_t) 16 * O * C);
      dg_winograd_kernels (w, O, C, transformed);
      U = transformed;
    }
#pragma omp parallel for schedule(static) num_threads(n_threads) if (n_blocks > 1)
  for (long blk = 0; blk < n_blocks; blk++)
    {
      long t0 = blk * block, nt = MIN (block, n_tiles - t0);
      float *V = dg_scratch (0, (size_t) 16 * (slab_stride (C * block) + slab_stride (O * block)));
      float *M = V + 16 * slab_stride (C * block);
      long vs = slab_stride (C * nt), ms = slab_stride (O * nt);

      winograd_input (in, C, B, H, W, pad, tiles_x, tiles_img, t0, nt, V);
      for (int xi = 0; xi < 16; xi++)
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, O, (int) nt, C, 1.0f,
                     U + (long) xi * O * C, C, V + xi * vs, (int) nt, 0.0f, M + xi * ms, (int) nt);
      winograd_output (M, O, B, OH, OW, tiles_x, tiles_img, t0, nt, bias, relu, out);
    }
}

/* dw (O, C, 3, 3) += G^T [sum over tiles of dM V^T] G, db += sums of d_out. */
static void
conv_backward_weights_winograd (const float *in, int C, int B, int H, int W, int pad, int OH,
                                int OW, const float *d_out, int O, float *dw, float *db)
{
  int tiles_y = (OH + 1) / 2, tiles_x = (OW + 1) / 2, tiles_img = tiles_y * tiles_x;
  long n_tiles = (long) B * tiles_img;
  int n_threads = dg_get_threads ();
  long block = winograd_block (n_tiles, C, O, n_threads);
  long n_blocks = (n_tiles + block - 1) / block;
  long oc = (long) O * C;
  float *dU = g_new0 (float, (size_t) n_threads * 16 * oc);

#pragma omp parallel num_threads(n_threads)
  {
    float *my_dU = dU + (size_t) omp_get_thread_num () * 16 * oc;

#pragma omp for schedule(static)
    for (long blk = 0; blk < n_blocks; blk++)
      {
        long t0 = blk * block, nt = MIN (block, n_tiles - t0);
        float *V
            = dg_scratch (0, (size_t) 16 * (slab_stride (C * block) + slab_stride (O * block)));
        float *dM = V + 16 * slab_stride (C * block);
        long vs = slab_stride (C * nt), ms = slab_stride (O * nt);

        winograd_input (in, C, B, H, W, pad, tiles_x, tiles_img, t0, nt, V);
        winograd_grad_output (d_out, O, B, OH, OW, tiles_x, tiles_img, t0, nt, dM);
        for (int xi = 0; xi < 16; xi++)
          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, O, C, (int) nt, 1.0f, dM + xi * ms,
                       (int) nt, V + xi * vs, (int) nt, 1.0f, my_dU + xi * oc, C);
      }
  }

  /* Sum the threads' parts in a fixed order, then dW = G^T dU G.
   * G^T rows: (1, .5, .5, 0), (0, .5, -.5, 0), (0, .5, .5, 1). */
  for (int t = 1; t < n_threads; t++)
    for (long j = 0; j < 16 * oc; j++)
      dU[j] += dU[(size_t) t * 16 * oc + j];
  for (long j = 0; j < oc; j++)
    {
      float u[4][4], a[3][4];
      for (int xi = 0; xi < 16; xi++)
        u[xi / 4][xi % 4] = dU[xi * oc + j];
      for (int x = 0; x < 4; x++)
        {
          a[0][x] = u[0][x] + 0.5f * (u[1][x] + u[2][x]);
          a[1][x] = 0.5f * (u[1][x] - u[2][x]);
          a[2][x] = 0.5f * (u[1][x] + u[2][x]) + u[3][x];
        }
      float *g = dw + j * 9;
      for (int y = 0; y < 3; y++)
        {
          g[y * 3 + 0] += a[y][0] + 0.5f * (a[y][1] + a[y][2]);
          g[y * 3 + 1] += 0.5f * (a[y][1] - a[y][2]);
          g[y * 3 + 2] += 0.5f * (a[y][1] + a[y][2]) + a[y][3];
        }
    }
  g_free (dU);

  for (int o = 0; o < O; o++)
    {
      double s = 0.0;
      const float *row = d_out + (long) o * B * OH * OW;
      for (long j = 0; j < (long) B * OH * OW; j++)
        s += row[j];
      db[o] += (float) s;
    }
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
 * its transpose, B (K, N) or its transpose). */
void
dg_sgemm_rows (gboolean trans_a, gboolean trans_b, int M, int N, int K, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc)
{
  int n_threads = dg_get_threads ();
  int rows = MAX (1, (M + n_threads - 1) / n_threads);

#pragma omp parallel for schedule(static) num_threads(n_threads) if (M >= 64)
  for (int m0 = 0; m0 < M; m0 += rows)
    {
      int m = MIN (rows, M - m0);
      const float *a = trans_a ? A + m0 : A + (long) m0 * lda;
      cblas_sgemm (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                   trans_b ? CblasTrans : CblasNoTrans, m, N, K, 1.0f, a, lda, B, ldb, beta,
                   C + (long) m0 * ldc, ldc);
    }
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

  if (dense_input_is_flat (B, S))
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
