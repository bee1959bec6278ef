// ---- latent.js: the 2-D latent (scatter, live decoding, manifold) and larger codes (sliders,
// interpolation) ----
class Scatter2D {
  constructor(run, h, w) {
    Object.assign(this, { run, h, w, z: [0, 0], last: null, shows: 0 });
    const lat = run.latent, all = lat.points.concat(lat.grid);
    const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
    const pad = (lo, hi) => [lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo)];
    this.xr = pad(Math.min(...xs), Math.max(...xs));
    this.yr = pad(Math.min(...ys), Math.max(...ys));
    this.canvas = el("canvas", { width: 360, height: 360, class: "scatter", tabindex: "0", role: "application",
      "aria-label": `${run.name} latent plane: move the pointer, drag, or use the arrow keys to move the marker; its code is decoded live` });
    this.decoded = picture(h, w, `${run.name} decoded marker`);
    this.readout = el("output", { "aria-live": "off" });
    this.background = this.drawPoints();
    this.gridPic = picture(lat.grid_n * h, lat.grid_n * w, `${run.name} manifold grid`, "grid-pic");
    this.gridPic.hidden = true;
    const button = el("button", { type: "button", "aria-expanded": "false", text: "Show the manifold grid" });
    button.addEventListener("click", () => this.toggleGrid(button));
    this.follow = latest((z) => this.show(z), report);
    this.bind();
    this.node = el("div", {}, el("div", { class: "row" }, this.canvas,
      el("div", {}, figure(this.decoded, "decoded at the marker"), this.readout)),
      this.legend(), el("p", { class: "note", text: run.variational
        ? "Dots: posterior means of test images. The grid spans the prior's 5%..95% quantiles."
        : "Dots: codes of test images. The grid spans their 5th..95th percentiles." }),
      button, this.gridPic);
  }

  toPixel([x, y]) {
    const W = this.canvas.width, H = this.canvas.height;
    return [(x - this.xr[0]) / (this.xr[1] - this.xr[0]) * W, (this.yr[1] - y) / (this.yr[1] - this.yr[0]) * H];
  }

  toCode(e) {
    const rect = this.canvas.getBoundingClientRect();
    const fx = (e.clientX - rect.left) / rect.width, fy = (e.clientY - rect.top) / rect.height;
    return [this.xr[0] + fx * (this.xr[1] - this.xr[0]), this.yr[1] - fy * (this.yr[1] - this.yr[0])];
  }

  drawPoints() {
    const off = el("canvas", { width: this.canvas.width, height: this.canvas.height }), ctx = off.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, off.width, off.height);
    const labels = this.run.latent.labels;
    this.run.latent.points.forEach((p, i) => {
      const [x, y] = this.toPixel(p);
      ctx.fillStyle = labels ? PALETTE[labels[i] % 10] : "#1f77b4";
      ctx.fillRect(x - 1.5, y - 1.5, 3, 3);
    });
    return off;
  }

  legend() {
    if (!this.run.latent.labels) return el("div");
    const classes = [...new Set(this.run.latent.labels)].sort((a, b) => a - b);
    return el("div", { class: "legend", "aria-label": "colours of the digits" },
      ...classes.map((c) => el("span", { style: `--c:${PALETTE[c % 10]}`, text: String(c) })));
  }

  bind() {
    const c = this.canvas;
    c.addEventListener("pointermove", (e) => this.follow(this.toCode(e)));
    c.addEventListener("pointerdown", (e) => { c.setPointerCapture(e.pointerId); this.follow(this.toCode(e)); });
    c.addEventListener("keydown", (e) => {
      const step = [(this.xr[1] - this.xr[0]) / 50, (this.yr[1] - this.yr[0]) / 50];
      const moves = { ArrowLeft: [-step[0], 0], ArrowRight: [step[0], 0], ArrowUp: [0, step[1]], ArrowDown: [0, -step[1]] };
      if (!moves[e.key]) return;
      e.preventDefault();
      this.follow([this.z[0] + moves[e.key][0], this.z[1] + moves[e.key][1]]);
    });
  }

  // Decode z (a 2-vector), draw it and the marker. Returns the decoded H*W values.
  async show(z) {
    this.z = z;
    const decoded = await infer(this.run.dec, Float32Array.from(z), 1, this.run.code_shape);
    drawGray(this.decoded, decoded, this.h, this.w);
    const ctx = this.canvas.getContext("2d"), [x, y] = this.toPixel(z);
    ctx.drawImage(this.background, 0, 0);
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.arc(x, y, 7, 0, 2 * Math.PI);
    ctx.stroke();
    this.readout.textContent = `z = (${z[0].toFixed(2)}, ${z[1].toFixed(2)})`;
    this.last = { z, decoded: Array.from(decoded) };
    this.shows += 1;
    return this.last.decoded;
  }

  async toggleGrid(button) {
    const showing = this.gridPic.hidden;
    if (showing) await this.manifold();
    this.gridPic.hidden = !showing;
    button.setAttribute("aria-expanded", String(showing));
    button.textContent = showing ? "Hide the manifold grid" : "Show the manifold grid";
  }

  async manifold() {  // one batch of n*n codes through the decoder, tiled row-major
    const n = this.run.latent.grid_n, size = this.h * this.w;
    const images = await infer(this.run.dec, Float32Array.from(this.run.latent.grid.flat()), n * n, this.run.code_shape);
    for (let i = 0; i < n * n; i++) drawGray(this.gridPic, images, this.h, this.w, i * size, (i % n) * this.w, Math.floor(i / n) * this.h);
    return Array.from(images);
  }

  refresh() { return this.last ? null : this.show([0, 0]); }
}
