// ---- explorer.js: start the runtime, build the page, and expose window.explorer ----
const payload = JSON.parse($("payload").textContent);
const [H, W] = payload.size;
const errors = [];
let pad, cards = [], latentSwitch = null, denoiseSwitch = null, picked = null;  // picked: the strip image on the pad

function report(e) {
  errors.push(String((e && e.stack) || e));
  const status = $("status");
  status.textContent = `Error: ${(e && e.message) || e}`;
  status.className = "error";
}

async function loadSessions(runs) {
  ort.env.wasm.numThreads = 1;  // no workers, no SharedArrayBuffer: works from file://
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmBinary = await gunzip(fromBase64($("ort-wasm").textContent));
  for (const run of runs) {
    const model = async (text) => ort.InferenceSession.create(await gunzip(fromBase64(text)), { executionProviders: ["wasm"] });
    run.enc = await model(run.encoder);
    run.dec = await model(run.decoder);
    delete run.encoder;
    delete run.decoder;
  }
}

// A section with a run selector showing one view at a time (views: objects with run, node, refresh()).
function switcher(section, views) {
  if (!views.length) return null;
  $(section).hidden = false;
  const select = $(`${section}-run`), body = $(`${section}-body`);
  select.append(...views.map((v) => el("option", { value: v.run.name, text: `${v.run.name} (${v.run.model})` })));
  const state = {
    active: views[0],
    async choose(name) {
      const view = views.find((v) => v.run.name === name);
      if (!view) throw new Error(`no run named ${name} in the ${section} section`);
      select.value = name;
      if (view !== state.active || !body.firstChild) body.replaceChildren(view.node);
      state.active = view;
      return view.refresh();
    },
  };
  select.addEventListener("change", () => state.choose(select.value).catch(report));
  body.replaceChildren(state.active.node);
  return state;
}

const update = latest(async () => {
  const x = pad.values.slice();
  for (const card of cards) await card.update(x, picked);
  for (const s of [latentSwitch, denoiseSwitch]) if (s) await s.active.refresh();
}, report);

function unpick() {
  picked = null;
  for (const b of $("strip").children) b.setAttribute("aria-pressed", "false");
}

function pick(i) {
  pad.set(payload.strip.images[i]);
  picked = i;
  for (const [j, b] of [...$("strip").children].entries()) b.setAttribute("aria-pressed", String(i === j));
  return update();
}

function buildStrip() {
  payload.strip.images.forEach((image, i) => {
    const label = payload.strip.labels ? ` (digit ${payload.strip.labels[i]})` : "";
    const pic = el("canvas", { width: W, height: H, class: "pic small", "aria-hidden": "true" });  // the button is labelled
    drawGray(pic, image, H, W);
    $("strip").append(el("button", { type: "button", "aria-pressed": "false", "aria-label": `test image ${i}${label}`,
      title: `test image ${i}${label}`, onclick: () => pick(i) }, pic));
  });
}

function buildViews() {
  const byName = Object.fromEntries(cards.map((c) => [c.run.name, c]));
  const latentViews = payload.runs.map((run) => run.latent.kind === "2d" ? new Scatter2D(run, H, W)
    : new Directions(run, H, W, payload.strip, () => byName[run.name].last.code));
  latentViews.sort((a, b) => (b.run.latent.kind === "2d") - (a.run.latent.kind === "2d"));
  latentSwitch = switcher("latent", latentViews);
  denoiseSwitch = switcher("denoise", payload.runs.filter((r) => r.noise).map((r) => new Denoise(r, H, W, () => pad.values)));
  if (payload.skipped.length) {
    $("skipped").hidden = false;
    $("skipped-list").append(...payload.skipped.map((s) => el("li", { text: `${s.name}: ${s.reason}` })));
  }
  const rt = payload.runtime;
  $("about").textContent = `The models run in this page with ${rt.name} ${rt.version} (WebAssembly, one thread; `
    + `sha256 of its wasm ${rt.sha256["ort-wasm-simd-threaded.wasm.gz"].slice(0, 12)}…); nothing is fetched. `
    + `Built by \`ae explore\` from the toolkit's ONNX exports.`;
}

async function start() {
  await loadSessions(payload.runs);
  cards = payload.runs.map((run) => new RunCard(run, H, W));
  $("cards").append(...cards.map((c) => c.node));
  pad = new Pad($("pad"), H, W, () => {
    unpick();
    update();
  });
  $("pen-width").addEventListener("input", () => { $("pen-width-value").textContent = `${$("pen-width").value} px`; });
  $("clear").addEventListener("click", () => pad.clear());
  buildStrip();
  buildViews();
  await pick(0);
  const readyMs = performance.now();
  $("status").textContent = `Ready in ${(readyMs / 1000).toFixed(1)} s: ${payload.runs.length} run(s). Draw on the pad or pick a test image.`;
  document.body.dataset.ready = "true";
  return { readyMs };
}

window.explorer = {
  ready: start().catch((e) => { report(e); throw e; }),
  errors,
  input: () => Array.from(pad.values),
  outputs: () => Object.fromEntries(cards.map((c) => [c.run.name, c.last])),
  async pick(i) { await pick(i); return this.outputs(); },
  async draw(values) { pad.set(values); unpick(); await update(); return this.outputs(); },
  async settled() { await update(); return this.outputs(); },  // after drawing with a real pointer
  async latent(name, z) { await latentSwitch.choose(name); return latentSwitch.active.show(z); },
  async manifold(name) { await latentSwitch.choose(name); return latentSwitch.active.manifold(); },
  async directions(name, offsets) {
    await latentSwitch.choose(name);
    const view = latentSwitch.active;
    offsets.forEach((v, i) => { view.offsets[i] = v; view.sliders[i].value = String(v); });
    await view.refresh();
    return { code: Array.from(view.code()), decoded: view.last.decoded, interpolation: view.line };
  },
  async noise(name, level) {
    await denoiseSwitch.choose(name);
    denoiseSwitch.active.level.value = String(level);
    return denoiseSwitch.active.refresh();
  },
  // Decodes (and draws) along a circle for `ms` through the same path as the pointer: updates per second.
  async decodeRate(name, ms = 1000) {
    await latentSwitch.choose(name);
    const view = latentSwitch.active, t0 = performance.now();
    let n = 0;
    for (; performance.now() - t0 < ms; n++) await view.show([Math.cos(n / 10), Math.sin(n / 10)]);
    return n / ((performance.now() - t0) / 1000);
  },
  // Sends pointer moves over the latent plane at `hz` for `ms` (the marker circles) and counts the
  // decoded, drawn updates that the page's own handler made of them: {events, updates} per second.
  async pointerRate(name, ms = 1000, hz = 60) {
    await latentSwitch.choose(name);
    const view = latentSwitch.active, rect = view.canvas.getBoundingClientRect(), start = view.shows, t0 = performance.now();
    let k = 0;
    for (; performance.now() - t0 < ms; k++) {
      const a = k / 10, clientX = rect.left + rect.width * (0.5 + 0.3 * Math.cos(a)), clientY = rect.top + rect.height * (0.5 + 0.3 * Math.sin(a));
      view.canvas.dispatchEvent(new PointerEvent("pointermove", { clientX, clientY, bubbles: true }));
      await new Promise((resolve) => setTimeout(resolve, 1000 / hz));
    }
    const seconds = (performance.now() - t0) / 1000;
    return { events: k / seconds, updates: (view.shows - start) / seconds };
  },
};
