// ---- util.js: inlined bytes, the runtime's sessions, and drawing on canvases ----
const $ = (id) => document.getElementById(id);
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];  // matplotlib's tab10

function fromBase64(text) {
  const bin = atob(text.trim());
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

async function gunzip(bytes) {
  // DecompressionStream: the browser's own gzip; nothing is fetched (Response only wraps a stream)
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// One session run at a time: onnxruntime-web's wasm sessions must not run concurrently.
let queue = Promise.resolve();
function serial(task) {
  const result = queue.then(task);
  queue = result.catch(() => {});
  return result;
}

// Run a one-input, one-output session on n samples; dims: per-sample shape. Returns the output's data.
async function infer(session, data, n, dims) {
  const tensor = new ort.Tensor("float32", data, [n, ...dims]);
  const out = await serial(() => session.run({ [session.inputNames[0]]: tensor }));
  return out[session.outputNames[0]].data;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

function picture(h, w, label, cls = "pic") {
  return el("canvas", { width: w, height: h, class: cls, role: "img", "aria-label": label });
}

function figure(canvas, caption) {
  return el("figure", {}, canvas, el("figcaption", { text: caption }));
}

// values (h*w, [0, 1]) -> grey pixels; offset: where this picture starts in values.
function drawGray(canvas, values, h, w, offset = 0, x = 0, y = 0) {
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    const v = Math.round(255 * Math.min(1, Math.max(0, values[offset + i])));
    img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = v;
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, x, y);
}

// values >= 0 -> a black-red-yellow-white heat map, scaled so that vmax is white.
function drawHeat(canvas, values, h, w, vmax) {
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    const t = Math.min(1, values[i] / (vmax || 1)) * 3;
    img.data[4 * i] = 255 * Math.min(1, t);
    img.data[4 * i + 1] = 255 * Math.min(1, Math.max(0, t - 1));
    img.data[4 * i + 2] = 255 * Math.min(1, Math.max(0, t - 2));
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

// A seeded generator (mulberry32) so that a noise pattern is the same at every level.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(draw) {  // Box-Muller
  return Math.sqrt(-2 * Math.log(1 - draw())) * Math.cos(2 * Math.PI * draw());
}

// "Latest wins": while one call is busy only the newest request waits; the returned promise
// settles when the work, including that newest request, is done.
function latest(work, onerror) {
  let chain = null, pending = null;
  async function loop(args) {
    while (args) {
      try { await work(...args); } catch (e) { onerror(e); }
      args = pending;
      pending = null;
    }
    chain = null;
  }
  return (...args) => {
    if (chain) { pending = args; return chain; }
    chain = loop(args);
    return chain;
  };
}
