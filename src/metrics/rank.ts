// Internal to src/metrics (not re-exported): the ranking the devkit's MATLAB sort produces.

/** Indices sorted by descending score; Array.prototype.sort is stable, so ties keep input order. */
export function rankByScore(indices: readonly number[], score: (i: number) => number): number[] {
  // A comparator on differences would give NaN for Infinity - Infinity.
  return [...indices].sort((a, b) => {
    const sa = score(a);
    const sb = score(b);
    return sb > sa ? 1 : sb < sa ? -1 : 0;
  });
}
