// ---- views.js: one card per run: reconstruction, code, per-pixel error map and anomaly score ----
// A run without an anomaly calibration is scored by its reconstruction error against the 99th
// percentile of training errors (`ae score --threshold auto`); a calibrated one (anomaly.json) by
// its detector (anomaly.js), as `ae score --fpr` scores it.
const EPS = 1e-7;  // probabilities are clamped here before the log, as BCE from probabilities must
const UNITS = { bce: "nats per pixel (BCE)", mse: "squared error per value (MSE)" };

// The run's own error per value (evaluation/anomaly.py): BCE of the probabilities, or squared error.
function pixelErrors(x, recon, metric) {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    if (metric === "bce") {
      const p = Math.min(1 - EPS, Math.max(EPS, recon[i]));
      out[i] = -(x[i] * Math.log(p) + (1 - x[i]) * Math.log(1 - p));
    } else {
      out[i] = (recon[i] - x[i]) ** 2;
    }
  }
  return out;
}

function mean(values) {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

// The conv net's (C, H, W) code as the article draws it: code.reshape(H, C*W).T, a (C*W) x H
// picture; any other code as signed bars.
function codeView(shape) {
  if (shape.length === 3) {
    const cols = shape[1], rows = shape[0] * shape[2];
    return picture(rows, cols, "code picture", "codepic");
  }
  return el("canvas", { width: 168, height: 84, class: "code", role: "img", "aria-label": "code bars" });
}

function drawCode(canvas, code, shape) {
  let lo = Infinity, hi = -Infinity;
  for (const v of code) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (shape.length === 3) {
    const cols = shape[1], rows = code.length / cols, pic = new Float32Array(code.length);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) pic[r * cols + c] = (code[c * rows + r] - lo) / ((hi - lo) || 1);
    drawGray(canvas, pic, rows, cols);
  } else {
    const ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height, top = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    ctx.clearRect(0, 0, W, H);
    ctx.fillStyle = "#999";
    ctx.fillRect(0, H / 2, W, 1);
    const bar = W / code.length;
    code.forEach((v, i) => {
      ctx.fillStyle = v >= 0 ? "#1f77b4" : "#ff7f0e";
      const len = (Math.abs(v) / top) * (H / 2 - 2);
      ctx.fillRect(i * bar + bar * 0.1, v >= 0 ? H / 2 - len : H / 2, Math.max(1, bar * 0.8), len);
    });
  }
  const shown = Array.from(code.slice(0, 8), (v) => v.toFixed(2)).join(", ");
  canvas.setAttribute("aria-label", `code of ${code.length} numbers: ${shown}${code.length > 8 ? ", …" : ""}`);
}

class RunCard {
  constructor(run, h, w) {
    Object.assign(this, { run, h, w, last: null });
    this.recon = picture(h, w, `${run.name} reconstruction`);
    this.error = picture(h, w, `${run.name} per-pixel error`);
    this.code = codeView(run.code_shape);
    this.score = el("p", { class: "score", "aria-live": "polite" });
    this.detector = run.anomaly ? new Detector(run.anomaly) : null;
    this.verdict = el("p", { class: "score detector", "aria-live": "polite" });
    const notes = [];
    if (run.sequence) notes.push(`reads the ${h} rows as ${h} steps of ${w} features`);
    if (run.noise) notes.push(`trained to denoise ${run.noise.kind}:${run.noise.level}`);
    this.node = el("article", { class: "card", id: `card-${run.name}`, "data-run": run.name },
      el("h3", { text: `${run.name} (${run.model})` }),
      el("div", { class: "row" }, figure(this.recon, "reconstruction"), figure(this.error, "error"),
         figure(this.code, `code ${run.code_shape.join("×")}`)),
      this.score, ...(this.detector ? [this.verdict] : []),
      ...(notes.length ? [el("p", { class: "note", text: notes.join("; ") })] : []));
  }

  // x: the pad's H*W values; picked: the strip image it shows unchanged, or null. Encodes, decodes,
  // scores and draws; keeps the numbers in this.last: score is the reconstruction error (the error
  // map's mean), anomaly the card's verdict, detector the calibrated score's numbers (or null).
  async update(x, picked = null) {
    const run = this.run;
    const code = await infer(run.enc, x, 1, run.input_shape);
    const recon = await infer(run.dec, code, 1, run.code_shape);
    const errors = pixelErrors(x, recon, run.metric), score = mean(errors), t = run.threshold;
    drawGray(this.recon, recon, this.h, this.w);
    drawHeat(this.error, errors, this.h, this.w, run.metric === "bce" ? 2 : 0.5);
    drawCode(this.code, code, run.code_shape);
    let flagged = score > t.value, detector = null;
    if (this.detector) {
      detector = this.detector.evaluate(x, code, recon) ?? (picked === null ? null : this.detector.fromBuild(picked));
      flagged = detector ? detector.anomaly : null;
      this.score.textContent = `reconstruction error ${score.toFixed(4)} ${UNITS[run.metric]}`;
      this.showVerdict(detector);
    } else {
      this.score.replaceChildren(`score ${score.toFixed(4)} ${UNITS[run.metric]}; threshold ${t.value.toFixed(4)} `
        + `(${t.percentile}th percentile of ${t.n} training errors): `, verdict(flagged));
    }
    this.node.dataset.score = score;
    this.node.dataset.anomaly = flagged;
    this.last = { code: Array.from(code), recon: Array.from(recon), score, anomaly: flagged, detector };
    return this.last;
  }

  // The calibrated score against its threshold: alpha, p-value and the flag; or why there is none.
  showVerdict(d) {
    const a = this.run.anomaly;
    const about = `(${a.score}, ${a.file}); threshold ${a.threshold.toPrecision(5)} at alpha ${a.alpha} `
      + `(split-conformal on ${a.n} held-out normal samples)`;
    if (!d) {
      this.verdict.textContent = `anomaly score ${about}: not computed for a drawing here: ${a.why_not}. `
        + "Pick a test image for the number `ae score` gave it.";
      return;
    }
    const by = d.source === "page" ? "" : " (by `ae score` when the page was built)";
    this.verdict.replaceChildren(`anomaly score ${d.score.toPrecision(5)}${by} ${about}; p-value `
      + `${d.p_value.toPrecision(3)}: `, verdict(d.anomaly));
  }
}

function verdict(flagged) {
  return el("span", { class: flagged ? "flag" : "ok", text: flagged ? "anomaly" : "normal" });
}
