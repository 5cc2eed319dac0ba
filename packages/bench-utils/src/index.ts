/**
 * What nextscale's benchmarks share: medians and timing, the machine description printed with every result, and
 * the SVG charts. Used by `nextscale bench` (bundled into the CLI at build time) and by scripts/bench/*; private,
 * so neither the CLI nor a benchmark has to import the other.
 */
export { machine, median, timeMedian } from './stats.js';
export { barChart, logLogChart, type BarGroup, type LineSeries } from './svg.js';
