// The loss-against-compute envelope of a set of runs: the lower convex hull of the points in
// (log C, loss), cut at the lowest loss so it only falls (Chinchilla's "efficient frontier" drawn
// through the data, with no fitted law). Plain numbers in and out.

export interface XY {
  x: number;
  y: number;
}

/** Lower convex hull of points in (log10 x, y), from the smallest x to the point of lowest y. */
export function lowerEnvelope(points: readonly XY[]): XY[] {
  const pts = points
    .filter((p) => p.x > 0 && Number.isFinite(p.x) && Number.isFinite(p.y))
    .map((p) => ({ p, u: Math.log10(p.x) }))
    .sort((a, b) => a.u - b.u || a.p.y - b.p.y);
  const hull: Array<{ p: XY; u: number }> = [];
  for (const q of pts) {
    if (hull.length && hull[hull.length - 1].u === q.u) continue; // same x: the lower y came first
    while (hull.length >= 2) {
      const a = hull[hull.length - 2], b = hull[hull.length - 1];
      // Keep b only if it lies strictly below the segment a→q (a right turn seen from below).
      const cross = (b.u - a.u) * (q.p.y - a.p.y) - (b.p.y - a.p.y) * (q.u - a.u);
      if (cross <= 0) hull.pop();
      else break;
    }
    hull.push(q);
  }
  let best = 0;
  hull.forEach((h, i) => {
    if (h.p.y < hull[best].p.y) best = i;
  });
  return hull.slice(0, best + 1).map((h) => h.p);
}
