/* dg-augment.c: random affine + elastic + thickness distortions, and blur. */
#include "dg-augment.h"

#include "dg-model.h"
#include "dg-rng.h"

#include <math.h>
#include <string.h>

#define SIDE DG_IMAGE_SIDE
#define GRID 4 /* elastic control points per side; displacements are bilinear between them */

void
dg_augment_defaults (DgAugment *augment)
{
  *augment = (DgAugment) {
    .rotation = 12.0f,
    .scale = 0.12f,
    .shear = 0.25f,
    .shift = 2.5f,
    .elastic = 0.9f,
    .thickness = 0.3f,
  };
}

static float
sample_bilinear (const float *img, float x, float y)
{
  int x0 = (int) floorf (x), y0 = (int) floorf (y);
  float fx = x - x0, fy = y - y0;
  float v = 0.0f;

  for (int dy = 0; dy < 2; dy++)
    for (int dx = 0; dx < 2; dx++)
      {
        int xi = x0 + dx, yi = y0 + dy;
        if (xi < 0 || yi < 0 || xi >= SIDE || yi >= SIDE)
          continue;
        v += img[yi * SIDE + xi] * (dx ? fx : 1 - fx) * (dy ? fy : 1 - fy);
      }
  return v;
}

/* Grey-level dilation (thicken) or erosion (thin) with the 4-neighbour
 * cross, blended in by @amount in [0, 1]. */
static void
change_thickness (float *img, gboolean thicken, float amount)
{
  float copy[SIDE * SIDE];
  memcpy (copy, img, sizeof copy);

  for (int y = 0; y < SIDE; y++)
    for (int x = 0; x < SIDE; x++)
      {
        float v = copy[y * SIDE + x];
        float n[4] = {
          x > 0 ? copy[y * SIDE + x - 1] : 0.0f,
          x < SIDE - 1 ? copy[y * SIDE + x + 1] : 0.0f,
          y > 0 ? copy[(y - 1) * SIDE + x] : 0.0f,
          y < SIDE - 1 ? copy[(y + 1) * SIDE + x] : 0.0f,
        };
        float m = v;
        for (int j = 0; j < 4; j++)
          m = thicken ? fmaxf (m, n[j]) : fminf (m, n[j]);
        img[y * SIDE + x] = v + amount * (m - v);
      }
}

/* A separable 3x3 blur: each pixel takes @weight of each neighbour along
 * a row, then along a column (weights 1 and @weight, normalised). */
static void
blur (float *img, float weight)
{
  float copy[SIDE * SIDE];
  float norm = 1.0f / (1.0f + 2.0f * weight);

  for (int pass = 0; pass < 2; pass++)
    {
      memcpy (copy, img, sizeof copy);
      int step = pass == 0 ? 1 : SIDE;
      for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++)
          {
            int at = pass == 0 ? x : y, i = y * SIDE + x;
            float before = at > 0 ? copy[i - step] : 0.0f;
            float after = at < SIDE - 1 ? copy[i + step] : 0.0f;
            img[i] = norm * (copy[i] + weight * (before + after));
          }
    }
}

void
dg_augment_image (const DgAugment *augment, guint64 seed, guint64 index, const float *src,
                  float *dst)
{
  DgRng rng = dg_rng_at (seed, index, 7);
  const float c = (SIDE - 1) / 2.0f;
  float angle = (float) dg_rng_range (&rng, -augment->rotation, augment->rotation) * (float) G_PI / 180.0f;
  float scale_x = 1.0f + (float) dg_rng_range (&rng, -augment->scale, augment->scale);
  float scale_y = scale_x * (1.0f + (float) dg_rng_range (&rng, -augment->scale, augment->scale) / 2);
  float shear = (float) dg_rng_range (&rng, -augment->shear, augment->shear);
  float tx = (float) dg_rng_range (&rng, -augment->shift, augment->shift);
  float ty = (float) dg_rng_range (&rng, -augment->shift, augment->shift);
  float grid_dx[GRID][GRID], grid_dy[GRID][GRID];

  /* Forward map: p' = R (S (shear (p - c))) + c + t.  We need its inverse
   * to pull each output pixel from the source. */
  float cs = cosf (angle), sn = sinf (angle);
  float a = cs * scale_x, b = cs * scale_x * shear - sn * scale_y;
  float d = sn * scale_x, e = sn * scale_x * shear + cs * scale_y;
  float det = a * e - b * d;
  float ia = e / det, ib = -b / det, id = -d / det, ie = a / det;

  for (int i = 0; i < GRID; i++)
    for (int j = 0; j < GRID; j++)
      {
        grid_dx[i][j] = augment->elastic * (float) dg_rng_normal (&rng);
        grid_dy[i][j] = augment->elastic * (float) dg_rng_normal (&rng);
      }

  for (int y = 0; y < SIDE; y++)
    for (int x = 0; x < SIDE; x++)
      {
        float gx = x * (GRID - 1) / (float) (SIDE - 1), gy = y * (GRID - 1) / (float) (SIDE - 1);
        int i0 = MIN ((int) gy, GRID - 2), j0 = MIN ((int) gx, GRID - 2);
        float fy = gy - i0, fx = gx - j0;
        float ex = (grid_dx[i0][j0] * (1 - fx) + grid_dx[i0][j0 + 1] * fx) * (1 - fy)
                   + (grid_dx[i0 + 1][j0] * (1 - fx) + grid_dx[i0 + 1][j0 + 1] * fx) * fy;
        float ey = (grid_dy[i0][j0] * (1 - fx) + grid_dy[i0][j0 + 1] * fx) * (1 - fy)
                   + (grid_dy[i0 + 1][j0] * (1 - fx) + grid_dy[i0 + 1][j0 + 1] * fx) * fy;
        float px = x - c - tx + ex, py = y - c - ty + ey;
        dst[y * SIDE + x] = sample_bilinear (src, ia * px + ib * py + c, id * px + ie * py + c);
      }

  if (dg_rng_uniform (&rng) < augment->thickness)
    {
      gboolean thicken = dg_rng_uniform (&rng) < 0.5;
      change_thickness (dst, thicken, (float) dg_rng_range (&rng, 0.3, 1.0));
    }
  /* Drawn only when asked for, so that the defaults' images stay as they were. */
  if (augment->blur > 0.0f && dg_rng_uniform (&rng) < augment->blur)
    blur (dst, (float) dg_rng_range (&rng, 0.2, 0.8));
}
