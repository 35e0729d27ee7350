/* dg-kernels.h: the engine's arithmetic, for dg-model.c (not installed).
 *
 * Every activation is channel-major: B images of C channels of H x W are
 * stored (C, B, H*W).  All functions split their work over dg_get_threads ()
 * threads in a fixed way, so results repeat for a given thread count.
 */
#pragma once

#include "dg-model.h"

#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

/* Scratch memory owned by the calling thread, grown on demand, never freed
 * during the run.  Slots: 0 unfolded columns or Winograd blocks; 1
 * transformed kernels; 2 the inference plan's activations; 3 Winograd rows
 * and padded planes.  Aligned to a cache line (64 bytes). */
float *dg_scratch (int slot, size_t n_floats);

/* Sum of @n floats, accurate to a few float roundings, in a fixed order. */
double dg_sum_floats (const float *x, long n);

/* Convolution, stride 1, zero padding @pad: out (O, B, OH*OW) =
 * w (O, C, k, k) * in (C, B, H*W) + bias (O) (NULL: none), then ReLU if
 * @relu.  @kernels: w already through dg_winograd_kernels, or NULL. */
void dg_conv_forward (const float *in, int C, int B, int H, int W, int k, int pad, int OH, int OW,
                      const float *w, const float *kernels, const float *bias, int O,
                      gboolean relu, float *out);
/* dw (O, C, k, k) += d loss / d w and db (O) += d loss / d bias. */
void dg_conv_backward_weights (const float *in, int C, int B, int H, int W, int k, int pad, int OH,
                               int OW, const float *d_out, int O, float *dw, float *db);
/* d_in (C, B, H*W) = d loss / d in. */
void dg_conv_backward_input (const float *d_out, int O, int B, int OH, int OW, int k, int pad,
                             const float *w, int C, int H, int W, float *d_in);
/* Whether a k x k convolution over C input channels goes through Winograd. */
gboolean dg_use_winograd (int k, int C);
/* Winograd F(4x4, 3x3) works on 6x6 tiles: 36 positions. */
#define DG_WINOGRAD_POSITIONS 36
/* U (DG_WINOGRAD_POSITIONS, O, C): Winograd's G w G^T for each 3x3 kernel
 * of w (O, C, 3, 3). */
void dg_winograd_kernels (const float *w, int O, int C, float *U);

/* C = op (A) x op (B) (+ beta C), row-major, rows of C split over threads. */
void dg_sgemm_rows (gboolean trans_a, gboolean trans_b, int M, int N, int K, const float *A,
                    int lda, const float *B, int ldb, float beta, float *C, int ldc);
/* out (O, B) = w (O, C*S) x in + bias, ReLU if @relu, the input (C, B, S)
 * read as (C*S, B): plane c's value s of image b is x[c S + s][b]. */
void dg_dense_forward (const float *in, int C, int B, int S, const float *w, const float *bias,
                       int O, gboolean relu, float *out);
/* The gradients of dg_dense_forward (without ReLU) from d_out (O, B):
 * dw (O, C*S) and db (O) accumulate; d_in (C, B, S) is set unless NULL. */
void dg_dense_backward (const float *in, int C, int B, int S, const float *w, int O,
                        const float *d_out, float *dw, float *db, float *d_in);
/* 2x2 max pool of @planes planes of H x W; @arg (if not NULL) records the
 * winner of each window (0..3) for the backward pass. */
void dg_pool_forward (const float *in, long planes, int H, int W, float *out, guint8 *arg);
/* One image stored pixel-major, (H, W, C): the batch-1 path of the
 * inference plan.  Every thread of an OpenMP team calls these with its
 * number @id of @n and does its share; those that need the others' results
 * wait at a barrier, so the caller puts one between layers.  Output
 * channels must be a multiple of 16. */
/* The kernels' vector width: 16 (AVX-512) or 8 (AVX2); 0, the default,
 * picks 16 when the processor has AVX-512.  For tests, between runs. */
void dg_pixels_set_lanes (int lanes);
/* How a k x k convolution over C channels onto OH x OW is done here:
 * Winograd F(4x4, 3x3) (4), F(6x6, 3x3) (6), or directly (0). */
int dg_pixels_block (int k, int C, int OH, int OW);
/* wt for dg_pixels_conv from w (O, C, k, k): dg_pixels_weights_floats. */
size_t dg_pixels_weights_floats (int k, int C, int OH, int OW, int O);
void dg_pixels_weights (const float *w, int O, int C, int k, int OH, int OW, float *wt);
/* Shared scratch @work a convolution needs (floats; 0 for none). */
size_t dg_pixels_conv_floats (int k, int C, int OH, int OW, int O);
void dg_pixels_conv (const float *in, int C, int H, int W, int k, int pad, int OH, int OW,
                     const float *wt, const float *bias, int O, gboolean relu, float *work,
                     float *out, int id, int n);
void dg_pixels_pool (const float *in, int C, int H, int W, float *out, int id, int n);
/* out (O) = w (O, K) x in (K) + bias; @parts: n x O floats of scratch. */
void dg_pixels_dense (const float *in, int K, const float *w, const float *bias, int O,
                      gboolean relu, float *parts, float *out, int id, int n);
void dg_pixels_relu (const float *in, long size, float *out, int id, int n);
/* probs (B, n_classes) = softmax over the columns of logits (n_classes, B). */
void dg_softmax_columns (const float *logits, int n_classes, int B, float *probs);

G_END_DECLS
