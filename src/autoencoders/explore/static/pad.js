// ---- pad.js: the drawing pad, H x W values in [0, 1] (white ink on black, as MNIST) ----
class Pad {
  constructor(canvas, h, w, onchange) {
    Object.assign(this, { canvas, h, w, onchange, values: new Float32Array(h * w), last: null });
    this.cursor = [w >> 1, h >> 1];
    this.small = el("canvas", { width: w, height: h });
    canvas.addEventListener("pointerdown", (e) => this.down(e));
    canvas.addEventListener("pointermove", (e) => this.move(e));
    for (const type of ["pointerup", "pointercancel"]) canvas.addEventListener(type, () => { this.last = null; });
    canvas.addEventListener("keydown", (e) => this.key(e));
    canvas.addEventListener("focus", () => this.draw());
    canvas.addEventListener("blur", () => this.draw());
    this.draw();
  }

  get radius() { return Number($("pen-width").value) / 2; }
  get erasing() { return $("eraser").checked; }

  set(values) { this.values.set(values); this.draw(); }
  clear() { this.values.fill(0); this.draw(); this.onchange(); }

  // Ink (or erase) a soft disc centred at (x, y), in pixel units of the H x W grid.
  stamp(x, y) {
    const r = this.radius, v = this.values;
    for (let py = Math.max(0, Math.floor(y - r - 1)); py <= Math.min(this.h - 1, y + r + 1); py++) {
      for (let px = Math.max(0, Math.floor(x - r - 1)); px <= Math.min(this.w - 1, x + r + 1); px++) {
        const a = Math.min(1, Math.max(0, r + 0.5 - Math.hypot(px + 0.5 - x, py + 0.5 - y)));
        const i = py * this.w + px;
        v[i] = this.erasing ? Math.min(v[i], 1 - a) : Math.max(v[i], a);
      }
    }
  }

  line([x0, y0], [x1, y1]) {
    const steps = Math.max(1, Math.ceil(4 * Math.hypot(x1 - x0, y1 - y0)));
    for (let s = 1; s <= steps; s++) this.stamp(x0 + (x1 - x0) * s / steps, y0 + (y1 - y0) * s / steps);
  }

  at(e) {
    const rect = this.canvas.getBoundingClientRect();
    return [(e.clientX - rect.left) / rect.width * this.w, (e.clientY - rect.top) / rect.height * this.h];
  }

  down(e) {
    this.canvas.setPointerCapture(e.pointerId);
    this.last = this.at(e);
    this.stamp(...this.last);
    this.changed();
  }

  move(e) {
    if (!this.last) return;
    const p = this.at(e);
    this.line(this.last, p);
    this.last = p;
    this.changed();
  }

  key(e) {
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    const [cx, cy] = this.cursor;
    if (moves[e.key]) {
      const [dx, dy] = moves[e.key];
      this.cursor = [Math.min(this.w - 1, Math.max(0, cx + dx)), Math.min(this.h - 1, Math.max(0, cy + dy))];
      if (e.shiftKey) { this.line([cx + 0.5, cy + 0.5], [this.cursor[0] + 0.5, this.cursor[1] + 0.5]); this.changed(); }
      else this.draw();
    } else if (e.key === " ") { this.stamp(cx + 0.5, cy + 0.5); this.changed(); }
    else if (e.key === "e" || e.key === "E") { $("eraser").checked = !$("eraser").checked; }
    else if (e.key === "c" || e.key === "C") { this.clear(); }
    else return;
    e.preventDefault();
  }

  changed() { this.draw(); this.onchange(); }

  draw() {
    drawGray(this.small, this.values, this.h, this.w);
    const ctx = this.canvas.getContext("2d"), size = this.canvas.width;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.small, 0, 0, size, size);
    if (document.activeElement === this.canvas) {  // the keyboard cursor
      const cell = size / this.w;
      ctx.strokeStyle = "#1a73e8";
      ctx.lineWidth = 2;
      ctx.strokeRect(this.cursor[0] * cell + 1, this.cursor[1] * (size / this.h) + 1, cell - 2, size / this.h - 2);
    }
  }
}
