// ofa-web's page: choose an image, ask ofad through /api, show the answer and where the model looked.
// Plain JavaScript, no libraries, nothing fetched from elsewhere.
"use strict";

const $ = (id) => document.getElementById(id);
const LABELS = { yes: "entailment", maybe: "neutral", no: "contradiction" };

const page = {
  config: { max_upload_bytes: 16 * 1024 * 1024, max_text_length: 65536 },
  status: null,
  image: null,          // { base64, name, type }
  question: null,       // { image, hypothesis, premise } of the answer on screen
  view: "overlay",
  busy: false,          // a question is running (the Ask button stays disabled)
  abort: null,
  renders: new Map(),   // cache: render options (without the image) → result
  renderSeq: 0,
  renderUnavailable: false,
  pendingRender: false, // a control changed while a question ran
};

// ---- talking to ofa-web -------------------------------------------------------------------------------------

async function api(path, body, signal) {
  let response;
  try {
    response = await fetch(path, body === undefined ? { signal } : {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), signal,
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    return { ok: false, status: 0, data: { error: { kind: "network", message: "Cannot reach ofa-web (is it still running?)." } } };
  }
  let data = null;
  try { data = await response.json(); } catch (_) { /* not JSON */ }
  if (!response.ok && !(data && data.error)) {
    data = { error: { kind: "http", message: `ofa-web answered HTTP ${response.status}.` } };
  }
  return { ok: response.ok, status: response.status, data };
}

function showMessage(text, kind) {
  const box = $("message");
  box.textContent = text || "";
  box.className = "message" + (kind === "info" ? " info" : "");
  box.hidden = !text;
}

function explain(error) {
  const hints = {
    daemon_down: "", loading: " The status in the corner turns green when it is ready.",
    upload_too_large: " Choose a smaller image.", image_rejected: "", text_too_long: " Shorten the text.",
  };
  return (error.message || "Something went wrong.") + (hints[error.kind] || "");
}

// ---- daemon status in the corner ----------------------------------------------------------------------------

async function refreshStatus() {
  const result = await api("/api/status");
  const status = result.ok ? result.data : { daemon: "down", state: "down", message: "ofa-web is not answering." };
  page.status = status;
  const box = $("daemon-status");
  box.dataset.state = status.state;
  const parts = [];
  if (status.daemon === "up") {
    if (status.model) parts.push(status.model);
    if (status.device) parts.push(status.device);
    parts.push(status.state);
  } else {
    parts.push("ofad is down");
  }
  $("daemon-text").textContent = parts.join(" · ");
  box.title = status.architecture || status.detail || status.message || "";
  updateLayerRange();
  updateHeadChoices();
  setTimeout(refreshStatus, status.state === "ready" ? 10000 : 2000);
}

async function loadConfig() {
  const result = await api("/api/config");
  if (result.ok) page.config = result.data;
}

// ---- choosing an image --------------------------------------------------------------------------------------

function chooseFile(file) {
  if (!file) return;
  if (!/^image\/(png|jpeg)$/.test(file.type)) {
    showMessage(`“${file.name}” is not a PNG or JPEG image.`);
    return;
  }
  const encoded = Math.ceil(file.size / 3) * 4;
  if (encoded + 2 * page.config.max_text_length * 4 + 1024 > page.config.max_upload_bytes) {
    const mib = (n) => (n / 1048576).toFixed(1) + " MiB";
    showMessage(`“${file.name}” is too large: ${mib(file.size)} (uploads are limited to about ${mib(page.config.max_upload_bytes * 3 / 4)}).`);
    return;
  }
  const reader = new FileReader();
  reader.onload = () => {
    const url = reader.result;
    page.image = { base64: url.slice(url.indexOf(",") + 1), name: file.name, type: file.type };
    const preview = $("preview");
    preview.src = url;
    preview.hidden = false;
    $("drop-hint").textContent = `${file.name} — drop or tap to change`;
    showMessage("");
  };
  reader.onerror = () => showMessage(`Cannot read “${file.name}”.`);
  reader.readAsDataURL(file);
}

function setUpImageInput() {
  const zone = $("drop-zone");
  $("image-input").addEventListener("change", (event) => chooseFile(event.target.files[0]));
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    chooseFile(event.dataTransfer.files[0]);
  });
}

// ---- asking -------------------------------------------------------------------------------------------------

function setBusy(busy, text) {
  page.busy = busy;
  $("submit").disabled = busy;
  $("cancel").hidden = !busy;
  $("progress").hidden = !busy;
  if (busy) {
    const started = performance.now();
    const tick = () => {
      if (!page.busy) return;
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      $("progress-text").textContent = `${text} ${seconds} s`;
      setTimeout(tick, 100);
    };
    tick();
  }
}

async function ask(event) {
  event.preventDefault();
  if (page.busy) return;                       // no double submissions
  const hypothesis = $("hypothesis").value.trim();
  const premise = $("premise").value.trim();
  if (!page.image) return showMessage("Choose an image first.");
  if (!hypothesis) return showMessage("Type a hypothesis: a sentence about the image.");
  const limit = page.config.max_text_length;
  if (hypothesis.length > limit) return showMessage(`The hypothesis is too long: ${hypothesis.length} characters (the limit is ${limit}).`);
  if (premise.length > limit) return showMessage(`The premise is too long: ${premise.length} characters (the limit is ${limit}).`);
  showMessage("");
  const question = { image: page.image.base64, hypothesis };
  if (premise) question.premise = premise;

  page.abort = new AbortController();
  page.renderSeq++;                            // a map still coming for the previous question is dropped
  setBusy(true, "Running the model…");
  try {
    page.question = question;
    page.renders.clear();
    page.view = "overlay";
    selectTab("overlay");
    const layer = defaultLayer();
    $("layer").value = layer;
    $("layer-value").textContent = layer;
    let result = page.renderUnavailable ? null : await api("/api/render", renderRequest("overlay"), page.abort.signal);
    if (result && !result.ok && result.data.error.kind === "not_supported") {
      page.renderUnavailable = true;
      result = null;
    }
    if (result === null) {
      result = await api("/api/predict", question, page.abort.signal);
      if (!result.ok) return failed(result.data.error);
      showPrediction(result.data.predictions[0], result.data.timings);
      $("maps").hidden = false;
      await drawFallback(page.abort.signal);
      return;
    }
    if (!result.ok) return failed(result.data.error);
    page.renders.set(renderKey("overlay"), result.data);
    showPrediction(result.data.prediction, result.data.timings);
    $("maps").hidden = false;
    showRender("overlay", result.data);
  } catch (error) {
    if (error.name === "AbortError") showMessage("Stopped waiting; the question was withdrawn from ofad.", "info");
    else showMessage(String(error));
  } finally {
    setBusy(false);
    page.abort = null;
    if (page.pendingRender) { page.pendingRender = false; renderView(); }
  }
}

function failed(error) {
  showMessage(explain(error));
  if (error.kind === "daemon_down" || error.kind === "loading") refreshStatus();
}

function showPrediction(prediction, timings) {
  if (prediction && prediction.predictions) prediction = prediction.predictions[0];
  const label = prediction.label || LABELS[prediction.answer];
  const answer = $("answer");
  answer.textContent = `${label} (${prediction.answer})`;
  answer.dataset.label = label;
  answer.dataset.answer = prediction.answer;
  for (const bar of document.querySelectorAll("#bars .bar")) {
    const value = prediction.probabilities[bar.dataset.answer] || 0;
    bar.dataset.value = String(value);
    bar.querySelector(".fill").style.width = (value * 100).toFixed(2) + "%";
    bar.querySelector(".value").textContent = (value * 100).toFixed(1) + "%";
    bar.classList.toggle("chosen", bar.dataset.answer === prediction.answer);
  }
  $("timings").textContent = timings
    ? `ofad: ${Math.round(timings.total_ms)} ms (image ${Math.round(timings.image_ms)} ms${timings.image_cached ? ", cached" : ""}, model ${Math.round(timings.model_ms)} ms)`
    : "";
  $("result").hidden = false;
}

// ---- maps ---------------------------------------------------------------------------------------------------

function layerCount(source) {
  const layers = page.status && page.status.layers;
  if (!layers) return 0;
  return source === "encoder" ? layers.encoder : layers.decoder;   // cross and rollout end in decoder layers
}

function defaultLayer() { return Math.max(0, layerCount($("source").value) - 1); }

function updateLayerRange() {
  const count = layerCount($("source").value);
  const slider = $("layer");
  slider.max = Math.max(0, count - 1);
  if (Number(slider.value) > Number(slider.max)) slider.value = slider.max;
  $("layer-value").textContent = slider.value;
}

function updateHeadChoices() {
  const heads = page.status && page.status.heads;
  if (!heads) return;
  const count = $("source").value === "encoder" ? heads.encoder : heads.decoder;
  const select = $("heads");
  const current = select.value;
  if (select.options.length === 3 + count) return;
  while (select.options.length > 3) select.remove(3);
  for (let h = 0; h < count; h++) select.add(new Option(`head ${h}`, String(h)));
  select.value = [...select.options].some((o) => o.value === current) ? current : "mean";
}

// relevance and occlusion are one map of the whole model: no layers or heads, but a target.
function isAnswerMap(source) { return source === "relevance" || source === "occlusion"; }

// The render params of docs/protocol.md for what is on screen.
function renderOptions(output) {
  const heads = $("heads").value;
  const source = $("source").value;
  const options = {
    output, source,
    colormap: $("colormap").value,
    alpha: Number($("alpha").value), smoothing: Number($("smoothing").value),
  };
  if (!isAnswerMap(source)) options.heads = /^\d+$/.test(heads) ? Number(heads) : heads;
  if (isAnswerMap(source) || $("faithfulness").checked) options.target = $("target").value;
  if ($("faithfulness").checked) options.faithfulness = "fast";
  // Rollout fuses each encoder layer's heads too: with the same choice when it is mean, max or min.
  if (source === "rollout") options.fusion = /^\d+$/.test(heads) ? "mean" : heads;
  if (output === "overlay") {
    if (!isAnswerMap(source)) options.layers = [Number($("layer").value)];
    options.colorbar = true; options.max_side = 720;
  } else if (!isAnswerMap(source)) options.layers = "all";
  if (output === "grid") options.max_side = 240;
  if (output === "animation") { options.max_side = 640; options.frame_delay_ms = 600; options.loop = 0; }
  return options;
}

function renderKey(output) { return JSON.stringify(renderOptions(output)); }

function renderRequest(output) { return Object.assign({}, page.question, renderOptions(output)); }

function imageElement(output) { return { overlay: $("heatmap"), grid: $("grid"), animation: $("animation") }[output]; }

function showRender(output, result) {
  const element = imageElement(output);
  const type = result.format === "gif" ? "image/gif" : "image/png";
  element.src = `data:${type};base64,${result.data}`;
  element.hidden = false;
  element.dataset.width = result.width;
  element.dataset.height = result.height;
  if (output === "overlay") $("heatmap-canvas").hidden = true;
  if (result.statistics) showStatistics(result.statistics, result.method && (result.method.text || result.method));
  showTokens(result.tokens);
  showFaithfulness(result.faithfulness);
}

// The hypothesis's tokens shaded by their relevance to the answer (source: relevance).
function showTokens(tokens) {
  $("tokens-panel").hidden = !tokens;
  if (!tokens) return;
  const own = tokens.filter((t) => t.hypothesis);
  const shown = own.length ? own : tokens;
  const high = Math.max(...shown.map((t) => t.relevance), 1e-12);
  const box = $("tokens");
  box.textContent = "";
  for (const token of shown) {
    const span = document.createElement("span");
    span.className = "token";
    span.textContent = token.text;
    const share = Math.max(0, token.relevance) / high;
    span.style.backgroundColor = `rgba(255, 140, 0, ${share.toFixed(3)})`;
    span.title = `relevance ${token.relevance.toPrecision(3)}`;
    box.appendChild(span);
  }
}

// The two perturbation curves: most relevant patches removed first (should fall) and least relevant first (should hold).
function showFaithfulness(report) {
  $("faithfulness-panel").hidden = !report;
  if (!report) return;
  const canvas = $("faithfulness-plot");
  const context = canvas.getContext("2d");
  const [w, h, pad] = [canvas.width, canvas.height, 28];
  context.clearRect(0, 0, w, h);
  context.strokeStyle = "#888"; context.strokeRect(pad, 8, w - pad - 8, h - pad - 8);
  context.fillStyle = "#888"; context.font = "11px sans-serif";
  context.fillText("0%", pad, h - 10); context.fillText("patches removed", w / 2 - 40, h - 10); context.fillText("100%", w - 36, h - 10);
  context.fillText("1", 12, 16); context.fillText("0", 12, h - pad);
  const x = (f) => pad + f * (w - pad - 8);
  const y = (p) => 8 + (1 - p) * (h - pad - 16);
  for (const [curve, colour] of [[report.positive, "#d62728"], [report.negative, "#1f77b4"]]) {
    context.strokeStyle = colour; context.lineWidth = 2; context.beginPath();
    curve.fractions.forEach((f, i) => (i ? context.lineTo(x(f), y(curve.probabilities[i])) : context.moveTo(x(f), y(curve.probabilities[i]))));
    context.stroke();
  }
  $("faithfulness-text").textContent =
    `p(${report.target}) as patches are removed — red: most relevant first (area ${report.positive.area.toFixed(3)}, ` +
    `lower is more faithful); blue: least relevant first (area ${report.negative.area.toFixed(3)}, higher is more faithful).`;
}

async function fetchRender(output, signal) {
  const key = renderKey(output);
  if (page.renders.has(key)) return page.renders.get(key);
  const result = await api("/api/render", renderRequest(output), signal);
  if (!result.ok) throw Object.assign(new Error(result.data.error.message), { page: result.data.error });
  page.renders.set(key, result.data);
  return result.data;
}

// Re-renders the view on screen after a control changed; only the latest request counts.
let rerenderTimer = null;
function scheduleRender() {
  clearTimeout(rerenderTimer);
  rerenderTimer = setTimeout(renderView, 200);
}

async function renderView() {
  if (page.busy) { page.pendingRender = true; return; }
  if (!page.question) return;
  const seq = ++page.renderSeq;
  const output = page.view;
  if (page.renderUnavailable) {
    $("map-note").hidden = output === "overlay";
    $("map-note").textContent = "This view needs an ofad with the render method.";
    if (output === "overlay") await drawFallback();
    return;
  }
  $("map-progress").hidden = false;
  try {
    const result = await fetchRender(output);
    if (seq === page.renderSeq) showRender(output, result);
  } catch (error) {
    if (seq === page.renderSeq) showMessage(error.page ? explain(error.page) : String(error));
  } finally {
    if (seq === page.renderSeq) $("map-progress").hidden = true;
  }
}

function selectTab(view) {
  page.view = view;
  for (const tab of document.querySelectorAll(".tabs button")) {
    tab.setAttribute("aria-selected", String(tab.dataset.view === view));
  }
  for (const name of ["overlay", "grid", "animation"]) $("view-" + name).hidden = name !== view;
  $("map-note").hidden = true;
}

// One layer: a row per statistic. Several: a row per layer with the main statistics.
function showStatistics(statistics, method) {
  if (Array.isArray(statistics) && statistics.length > 1) return showLayerStatistics(statistics, method);
  if (Array.isArray(statistics)) statistics = statistics[0] || {};
  $("statistics").classList.remove("layers");
  const body = $("statistics").querySelector("tbody");
  body.textContent = "";
  const number = (v) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : String(v));
  const text = (value) => {
    if (Array.isArray(value)) return value.map(text).join("; ");
    if (value && typeof value === "object") return Object.entries(value).map(([k, v]) => `${k} ${text(v)}`).join(", ");
    return number(value);
  };
  const order = ["layer", "mean", "max", "min", "std", "entropy", "normalized_entropy", "focus_area", "center_of_mass", "top_k"];
  const rank = (key) => (order.includes(key) ? order.indexOf(key) : order.length);
  const rows = Object.entries(statistics).sort((a, b) => rank(a[0]) - rank(b[0])).map(([key, value]) => {
    if (key === "center_of_mass" && Array.isArray(value)) return [key, `x ${number(value[0])}, y ${number(value[1])} px`];
    if (key === "top_k" && Array.isArray(value)) {
      return [key, value.map((p) => `(row ${p.row}, col ${p.col}) ${number(p.value)}`).join("; ")];
    }
    return [key, value];
  });
  if (method) rows.unshift(["method", method]);
  for (const [key, value] of rows) {
    const row = body.insertRow();
    const head = document.createElement("th");
    head.textContent = key.replace(/_/g, " ");
    row.appendChild(head);
    row.insertCell().textContent = text(value);
  }
}

const fmt = (v) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : String(v));

function showLayerStatistics(rows, method) {
  $("statistics").classList.add("layers");
  const body = $("statistics").querySelector("tbody");
  body.textContent = "";
  const keys = ["layer", "mean", "max", "entropy", "normalized_entropy", "focus_area", "center_of_mass"]
    .filter((k) => k in rows[0]);
  const head = body.insertRow();
  for (const key of keys) {
    const cell = document.createElement("th");
    cell.textContent = key.replace(/_/g, " ");
    head.appendChild(cell);
  }
  for (const stats of rows) {
    const row = body.insertRow();
    for (const key of keys) {
      const v = stats[key];
      row.insertCell().textContent = Array.isArray(v) ? v.map(fmt).join(", ") : fmt(v);
    }
  }
  if (method) {
    const row = body.insertRow();
    const cell = row.insertCell();
    cell.colSpan = keys.length;
    cell.className = "muted";
    cell.textContent = method;
  }
}

// ---- downloads ----------------------------------------------------------------------------------------------

function download(base64, type, name) {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

async function downloadOutput(output, type, extension) {
  if (!page.question) return showMessage("Ask a question first.");
  if (page.renderUnavailable) return showMessage("Downloads need an ofad with the render method.");
  const stem = (page.image.name || "image").replace(/\.[^.]*$/, "");
  try {
    $("map-progress").hidden = false;
    const result = await fetchRender(output);
    download(result.data, type, `${stem}-${$("source").value}-${output}.${extension}`);
  } catch (error) {
    showMessage(error.page ? explain(error.page) : String(error));
  } finally {
    $("map-progress").hidden = true;
  }
}

// ---- without render: the map drawn here from the attention arrays -------------------------------------------

const JET = [[0, 0, 0.5], [0, 0, 1], [0, 0.5, 1], [0, 1, 1], [0.5, 1, 0.5], [1, 1, 0], [1, 0.5, 0], [1, 0, 0], [0.5, 0, 0]];
function jet(t) {
  const x = Math.min(1, Math.max(0, t)) * (JET.length - 1);
  const i = Math.min(JET.length - 2, Math.floor(x));
  const f = x - i;
  return JET[i].map((c, k) => Math.round(255 * (c + (JET[i + 1][k] - c) * f)));
}

async function drawFallback(signal) {
  const source = $("source").value === "encoder" ? "encoder" : "cross";
  const attention = { kinds: [source], layers: [Number($("layer").value)], head_mean: true, query_position: -1 };
  const result = await api("/api/attention", Object.assign({}, page.question, { attention }), signal);
  if (!result.ok) return failed(result.data.error);
  const map = result.data.maps[0];
  const raw = Uint8Array.from(atob(map.values.data), (c) => c.charCodeAt(0));
  const values = new Float32Array(raw.buffer);
  const { rows, cols } = map.patch_grid;
  const patches = new Float32Array(rows * cols);
  map.key_tokens.forEach((token, key) => {
    const match = /^<img_(\d+)>$/.exec(token);
    if (match && Number(match[1]) < patches.length) patches[Number(match[1])] = values[key];
  });
  let low = Infinity, high = -Infinity;
  for (const v of patches) { low = Math.min(low, v); high = Math.max(high, v); }
  const small = document.createElement("canvas");
  small.width = cols; small.height = rows;
  const cells = small.getContext("2d").createImageData(cols, rows);
  patches.forEach((v, i) => {
    const [r, g, b] = jet(high > low ? (v - low) / (high - low) : 0);
    cells.data.set([r, g, b, 255], i * 4);
  });
  small.getContext("2d").putImageData(cells, 0, 0);
  const preview = $("preview");
  const canvas = $("heatmap-canvas");
  canvas.width = preview.naturalWidth; canvas.height = preview.naturalHeight;
  const context = canvas.getContext("2d");
  context.drawImage(preview, 0, 0);
  context.globalAlpha = Number($("alpha").value);
  context.imageSmoothingEnabled = Number($("smoothing").value) > 0;
  context.drawImage(small, 0, 0, canvas.width, canvas.height);
  context.globalAlpha = 1;
  canvas.hidden = false;
  $("heatmap").hidden = true;
  showStatistics({ note: "drawn in the page from the attention arrays (ofad has no render method)",
    layer: map.layer, maximum: high, minimum: low }, `${source}, head mean`);
}

// ---- wiring -------------------------------------------------------------------------------------------------

function init() {
  setUpImageInput();
  $("query").addEventListener("submit", ask);
  $("cancel").addEventListener("click", () => page.abort && page.abort.abort());
  for (const tab of document.querySelectorAll(".tabs button")) {
    tab.addEventListener("click", () => { selectTab(tab.dataset.view); renderView(); });
  }
  $("layer").addEventListener("input", () => { $("layer-value").textContent = $("layer").value; scheduleRender(); });
  $("alpha").addEventListener("input", () => { $("alpha-value").textContent = $("alpha").value; scheduleRender(); });
  $("smoothing").addEventListener("input", () => { $("smoothing-value").textContent = $("smoothing").value; scheduleRender(); });
  $("source").addEventListener("change", () => {
    const answerMap = isAnswerMap($("source").value);
    $("target-field").hidden = !answerMap && !$("faithfulness").checked;
    $("layer").disabled = answerMap; $("heads").disabled = answerMap;
    updateLayerRange(); updateHeadChoices();
    $("layer").value = defaultLayer(); $("layer-value").textContent = $("layer").value;
    scheduleRender();
  });
  for (const id of ["heads", "colormap", "target"]) $(id).addEventListener("change", scheduleRender);
  $("faithfulness").addEventListener("change", () => {
    $("target-field").hidden = !isAnswerMap($("source").value) && !$("faithfulness").checked;
    scheduleRender();
  });
  $("download-png").addEventListener("click", () => downloadOutput(page.view === "grid" ? "grid" : "overlay", "image/png", "png"));
  $("download-gif").addEventListener("click", () => downloadOutput("animation", "image/gif", "gif"));
  $("download-npy").addEventListener("click", () => downloadOutput("npy", "application/octet-stream", "npy"));
  loadConfig();
  refreshStatus();
}

document.addEventListener("DOMContentLoaded", init);
