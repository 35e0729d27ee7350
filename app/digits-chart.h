/* digits-chart.h: a bar chart of the ten class probabilities. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define DIGITS_TYPE_CHART (digits_chart_get_type ())

G_DECLARE_FINAL_TYPE (DigitsChart, digits_chart, DIGITS, CHART, GtkWidget)

GtkWidget *digits_chart_new (void);

/* @probs (10): probability of each digit, 0..9.  NULL empties the chart. */
void digits_chart_set_probabilities (DigitsChart *self, const float *probs);
/* (10) what the bars show, or NULL when the chart is empty. */
const float *digits_chart_get_probabilities (DigitsChart *self);
/* The highlighted (most probable) digit, or -1 when the chart is empty. */
int digits_chart_get_top (DigitsChart *self);

G_END_DECLS
