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

// Clue statuses on the map and in the ledger list (Okabe–Ito again). Colour is never the only
// cue: the list names the status, and overdue clues are outlined in black on the map and
// flagged in words in the list.
export const CLUE_STATUS_COLORS = Object.freeze({
  pending: '#E69F00', // orange: waiting for the field check
  verified_problem: '#D55E00', // vermillion: a real problem, not yet being fixed
  verified_no_problem: '#56B4E9', // sky blue
  rectifying: '#CC79A7', // reddish purple
  rectified: '#009E73', // bluish green
  closed: '#0072B2', // blue
});
export const CLUE_OVERDUE_OUTLINE = '#000000';
