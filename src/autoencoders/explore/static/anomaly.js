// ---- anomaly.js: a run's calibrated anomaly score (evaluation/detection.py), computed in the page ----
// The same definition as `ae score --fpr`: each part's raw score from the run's code and
// reconstruction, standardised and summed when there are several, flagged above the split-conformal
// threshold, with the conformal p-value (1 + #{calibration scores >= s}) / (n + 1).

function tensorOf(t) {
  const bytes = fromBase64(t.data);  // a fresh, aligned buffer: little-endian, as safetensors stores it
  const Kind = t.dtype === "float64" ? Float64Array : Float32Array;
  return { data: new Kind(bytes.buffer, 0, bytes.length / Kind.BYTES_PER_ELEMENT), shape: t.shape };
}

// The k rows of bank (n x d) nearest to code (Euclidean, in double): {dist, idx}, nearest first.
function nearest(code, bank, k) {
  const [n, d] = bank.shape, rows = bank.data, dist = [], idx = [];
  for (let r = 0; r < n; r++) {
    let sum = 0;
    for (let j = 0, o = r * d; j < d; j++) { const v = code[j] - rows[o + j]; sum += v * v; }
    const dr = Math.sqrt(sum);
    if (dist.length === k && dr >= dist[k - 1]) continue;
    let at = dist.length === k ? k - 1 : dist.length;
    while (at > 0 && dist[at - 1] > dr) { dist[at] = dist[at - 1]; idx[at] = idx[at - 1]; at--; }
    dist[at] = dr;
    idx[at] = r;
  }
  return { dist, idx };
}

const PARTS = {
  bce: (x, code, recon) => mean(pixelErrors(x, recon, "bce")),
  mse: (x, code, recon) => mean(pixelErrors(x, recon, "mse")),
  knn(x, code, recon, s, a) {
    const bank = s["knn.bank"], { dist } = nearest(code, bank, Math.min(a.knn_k, bank.shape[0]));
    return mean(dist);
  },
  lof(x, code, recon, s, a) {
    const bank = s["lof.bank"], kdist = s["lof.kdist"].data, lrd = s["lof.lrd"].data;
    const { dist, idx } = nearest(code, bank, Math.min(a.lof_k, bank.shape[0] - 1));
    let reach = 0, density = 0;
    dist.forEach((v, j) => { reach += Math.max(v, kdist[idx[j]]); density += lrd[idx[j]]; });
    const own = 1 / (reach / dist.length + 1e-10);
    return density / dist.length / own;
  },
  maha(x, code, recon, s) {
    const m = s["maha.mean"].data, p = s["maha.precision"].data, d = m.length;
    let total = 0;
    for (let i = 0; i < d; i++) {
      let row = 0;
      for (let j = 0; j < d; j++) row += p[i * d + j] * (code[j] - m[j]);
      total += (code[i] - m[i]) * row;
    }
    return total;
  },
};

class Detector {
  constructor(about) {
    this.about = about;
    this.state = about.state ? Object.fromEntries(Object.entries(about.state).map(([k, t]) => [k, tensorOf(t)])) : null;
  }

  // (1 + #{calibration scores >= s}) / (n + 1); the calibration scores are sorted.
  pValue(s) {
    const cal = this.about.calibration;
    let lo = 0, hi = cal.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (cal[mid] < s) lo = mid + 1; else hi = mid; }
    return (1 + cal.length - lo) / (cal.length + 1);
  }

  verdict(score, source) {
    return { score, p_value: this.pValue(score), anomaly: score > this.about.threshold,
             threshold: this.about.threshold, alpha: this.about.alpha, source };
  }

  // x: the input's values, code: its code, recon: its reconstruction (probabilities). null when the
  // page cannot compute this run's score (about.why_not says why).
  evaluate(x, code, recon) {
    const a = this.about;
    if (!a.in_page) return null;
    const raw = Object.fromEntries(a.parts.map((p) => [p, PARTS[p](x, code, recon, this.state, a)]));
    if (a.parts.length === 1) return this.verdict(raw[a.parts[0]], "page");
    let score = 0;
    for (const p of a.parts) score += (raw[p] - a.standardisation[p].mean) / a.standardisation[p].std;
    return this.verdict(score, "page");
  }

  // `ae score`'s numbers for test image i of the strip, computed when the page was built.
  fromBuild(i) {
    const s = this.about.strip;
    return { score: s.score[i], p_value: s.p_value[i], anomaly: s.anomaly[i], threshold: this.about.threshold,
             alpha: this.about.alpha, source: "ae score" };
  }
}
