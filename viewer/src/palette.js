// Chart colours for readers with colour-vision deficiencies: the Okabe–Ito palette
// (Okabe & Ito 2002, "Color Universal Design"), distinguishable under protanopia,
// deuteranopia and tritanopia. Charts (trends, transitions) take series colours from here in
// order, and pair colour with a second cue (pattern, label) when more than eight series show.
export const CHART_PALETTE = Object.freeze([
  '#E69F00', // orange
  '#56B4E9', // sky blue
  '#009E73', // bluish green
  '#F0E442', // yellow
  '#0072B2', // blue
  '#D55E00', // vermillion
  '#CC79A7', // reddish purple
  '#000000', // black
]);

/** Colour of series `i` (cycles past eight). */
export const seriesColor = (i) => CHART_PALETTE[i % CHART_PALETTE.length];
