// ---- directions.js: codes larger than 2-D: sliders along the main directions (PCA of test
// codes) around the current input's code, and interpolation between two test images ----
class Directions {
  constructor(run, h, w, strip, baseCode) {
    Object.assign(this, { run, h, w, strip, baseCode, last: null });
    const lat = run.latent;
    this.offsets = lat.std.map(() => 0);
    this.decoded = picture(h, w, `${run.name} decoded code`);
    const rows = lat.std.map((s, i) => {
      const id = `${run.name}-dir-${i}`, out = el("output", { for: id, text: "0.0 sd" });
      const input = el("input", { type: "range", id, min: "-3", max: "3", step: "0.1", value: "0" });
      input.addEventListener("input", () => { this.offsets[i] = Number(input.value); out.textContent = `${Number(input.value).toFixed(1)} sd`; this.follow(); });
      return [el("label", { for: id, text: `direction ${i + 1} (sd ${s.toFixed(2)})` }), input, out];
    });
    this.sliders = rows.map((r) => r[1]);
    const reset = el("button", { type: "button", text: "Reset the sliders" });
    reset.addEventListener("click", () => { this.sliders.forEach((s) => { s.value = "0"; s.dispatchEvent(new Event("input")); }); });
    this.follow = latest(() => this.refresh(), report);
    this.node = el("div", {}, el("h3", { text: "Along the main directions of the test codes" }),
      el("p", { class: "note", text: "The current input's code, moved along the principal components of the test set's codes (in standard deviations)." }),
      el("div", { class: "row" }, el("div", { class: "sliders" }, ...rows.flat()), figure(this.decoded, "decoded")),
      reset, this.interpolation());
  }

  code() {  // the current input's code plus the slider offsets
    const lat = this.run.latent, z = Float32Array.from(this.baseCode());
    lat.components.forEach((c, i) => { for (let j = 0; j < z.length; j++) z[j] += this.offsets[i] * lat.std[i] * c[j]; });
    return z;
  }

  async refresh() {
    const decoded = await infer(this.run.dec, this.code(), 1, this.run.code_shape);
    drawGray(this.decoded, decoded, this.h, this.w);
    this.last = { offsets: [...this.offsets], decoded: Array.from(decoded) };
    await this.interpolate();
  }

  interpolation() {
    const options = () => this.strip.images.map((_, i) => el("option", { value: String(i),
      text: `test image ${i}` + (this.strip.labels ? ` (${this.strip.labels[i]})` : "") }));
    const id = (s) => `${this.run.name}-interp-${s}`;
    this.from = el("select", { id: id("a") }, ...options());
    this.to = el("select", { id: id("b") }, ...options());
    this.to.value = String(Math.min(1, this.strip.images.length - 1));
    this.steps = picture(this.h, this.w * 9, `${this.run.name} interpolation, 9 steps`, "grid-pic");
    for (const s of [this.from, this.to]) s.addEventListener("change", () => this.interpolate());
    return el("div", {}, el("h3", { text: "Interpolation between two test images" }),
      el("div", { class: "controls" }, el("label", { for: id("a"), text: "from" }), this.from,
         el("label", { for: id("b"), text: "to" }), this.to), this.steps);
  }

  async interpolate() {  // 9 codes on the straight line between the two images' codes
    const size = this.h * this.w, a = this.strip.images[Number(this.from.value)], b = this.strip.images[Number(this.to.value)];
    const codes = await infer(this.run.enc, Float32Array.from([...a, ...b]), 2, this.run.input_shape);
    const n = codes.length / 2, line = new Float32Array(9 * n);
    for (let s = 0; s < 9; s++) for (let j = 0; j < n; j++) line[s * n + j] = (1 - s / 8) * codes[j] + (s / 8) * codes[n + j];
    const images = await infer(this.run.dec, line, 9, this.run.code_shape);
    for (let s = 0; s < 9; s++) drawGray(this.steps, images, this.h, this.w, s * size, s * this.w, 0);
    this.line = { codes: Array.from(line), images: Array.from(images) };
  }
}
