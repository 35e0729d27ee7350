/* dg-augment.h: random distortions of 28x28 training images.
 *
 * Each image is redrawn through a random affine map (rotation, scale,
 * shear, shift), a smooth elastic displacement field, and a random change
 * of stroke thickness, so the network learns the handwriting people
 * actually produce rather than MNIST's exact pixels; and, if asked, blurred
 * as a scan or a photo softens small writing.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  float rotation;      /* maximum, degrees either way */
  float scale;         /* maximum relative change, e.g. 0.12 = [0.88, 1.12] */
  float shear;         /* maximum shear factor */
  float shift;         /* maximum, pixels either way */
  float elastic;       /* standard deviation of the elastic displacement, pixels */
  float thickness;     /* probability of thickening or thinning the strokes */
  float blur;          /* probability of a 3x3 blur of random strength (0 in the defaults) */
} DgAugment;

/* The distortions used to train the shipped model. */
void dg_augment_defaults (DgAugment *augment);

/* dst (28, 28) = a random distortion of src (28, 28), a pure function of
 * (seed, index): the same image and index give the same result on any thread. */
void dg_augment_image (const DgAugment *augment, guint64 seed, guint64 index, const float *src,
                       float *dst);

G_END_DECLS
