// ---- denoise.js: a denoising run: a noise-level slider over the current input -> noisy input
// and denoised output side by side ----
class Denoise {
  constructor(run, h, w, input) {
    Object.assign(this, { run, h, w, input, seed: 1, last: null });
    const id = `${run.name}-noise`, kind = run.noise.kind;
    this.level = el("input", { type: "range", id, min: "0", max: "1", step: "0.05", value: String(Math.min(1, run.noise.level)) });
    this.out = el("output", { for: id });
    this.noisy = picture(h, w, `${run.name} noisy input`);
    this.denoised = picture(h, w, `${run.name} denoised output`);
    this.follow = latest(() => this.refresh(), report);
    this.level.addEventListener("input", () => this.follow());
    const again = el("button", { type: "button", text: "New noise" });
    again.addEventListener("click", () => { this.seed += 1; this.follow(); });
    const unit = kind === "gaussian" ? "standard deviation" : "probability per pixel";
    this.node = el("div", {}, el("div", { class: "controls" },
      el("label", { for: id, text: `${kind} noise (${unit}; trained at ${run.noise.level})` }), this.level, this.out, again),
      el("div", { class: "row" }, figure(this.noisy, "noisy input"), figure(this.denoised, "denoised")));
  }

  // The current input corrupted at `level` with this.seed's pattern (the same pattern at every level).
  corrupt(x, level) {
    const draw = rng(this.seed), out = new Float32Array(x.length), kind = this.run.noise.kind;
    for (let i = 0; i < x.length; i++) {
      const n = normal(draw), u = draw(), v = draw();
      const value = kind === "gaussian" ? x[i] + level * n : u < level ? (kind === "masking" ? 0 : v < 0.5 ? 0 : 1) : x[i];
      out[i] = Math.min(1, Math.max(0, value));
    }
    return out;
  }

  async refresh() {
    const level = Number(this.level.value), noisy = this.corrupt(this.input(), level);
    this.out.textContent = level.toFixed(2);
    const code = await infer(this.run.enc, noisy, 1, this.run.input_shape);
    const denoised = await infer(this.run.dec, code, 1, this.run.code_shape);
    drawGray(this.noisy, noisy, this.h, this.w);
    drawGray(this.denoised, denoised, this.h, this.w);
    this.last = { level, noisy: Array.from(noisy), denoised: Array.from(denoised) };
    return this.last;
  }
}
