// trajtok studio: the page's behaviour. Plain JS, no build step; every figure comes from the server's API
// (trajtok/studio/app.py). Ink arrives already smoothed (the curve the pictures draw), in handwriting units:
// x-height ~ 1, y up, the phrase starting at the origin on its baseline.
"use strict";

const $ = (id) => document.getElementById(id);
const PX_PER_UNIT = 40;  // canvas pixels per x-height before the phrase is shrunk to fit
const MARGIN_PX = 24;

// -- errors: every refusal of the server is {"error": "..."}; show it, readable, at the top ------------------
function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
}
function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}
async function api(path, options = {}) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}
function postJson(path, value, method = "POST") {
  return api(path, { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(value) });
}

// -- Write ---------------------------------------------------------------------------------------------------
const ink = { strokes: [], dirty: false, steps: 0 };
let writing = null;  // {controller, queue, shownSteps, started, id}

function drawInk() {
  const canvas = $("write-canvas"), ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const all = ink.strokes.flatMap((s) => s.final.concat(s.tail));
  if (!all.length) return;
  const minX = Math.min(...all.map((p) => p[0])), maxX = Math.max(...all.map((p) => p[0]));
  const minY = Math.min(...all.map((p) => p[1])), maxY = Math.max(...all.map((p) => p[1]));
  const scale = Math.min(PX_PER_UNIT, (canvas.width - 2 * MARGIN_PX) / Math.max(maxX - minX, 1e-3),
    (canvas.height - 2 * MARGIN_PX) / Math.max(maxY - minY, 1e-3));
  const x0 = MARGIN_PX - minX * scale, y0 = canvas.height / 2 + ((maxY + minY) / 2) * scale;  // centred
  ctx.strokeStyle = "#111";
  ctx.fillStyle = "#111";
  ctx.lineWidth = 2.5;
  ctx.lineCap = ctx.lineJoin = "round";
  for (const stroke of ink.strokes) {
    const points = stroke.final.concat(stroke.tail);
    if (!points.length) continue;
    ctx.beginPath();
    ctx.moveTo(x0 + points[0][0] * scale, y0 - points[0][1] * scale);
    if (points.length === 1) ctx.arc(x0 + points[0][0] * scale, y0 - points[0][1] * scale, 1.5, 0, 2 * Math.PI);
    for (const [x, y] of points.slice(1)) ctx.lineTo(x0 + x * scale, y0 - y * scale);
    ctx.stroke();
  }
}

function applyInk(event) {
  for (const update of event.updates) {
    const stroke = (ink.strokes[update.stroke] ||= { final: [], tail: [] });
    stroke.final.push(...update.final);
    stroke.tail = update.tail;
  }
  ink.steps = event.steps;
  ink.dirty = true;
}

function animate() {  // show queued ink at the chosen speed (0 = as it comes)
  if (writing) {
    const speed = Number($("speed").value);
    const due = speed > 0 ? ((performance.now() - writing.started) / 1000) * speed : Infinity;
    while (writing.queue.length && writing.queue[0].steps <= due) applyInk(writing.queue.shift());
    if (writing.ended && !writing.queue.length) finishWrite();
  }
  if (ink.dirty) {
    drawInk();
    ink.dirty = false;
    $("write-canvas").dataset.steps = ink.steps;
    if (writing) $("write-status").textContent = `writing… ${ink.steps} steps`;
  }
  requestAnimationFrame(animate);
}

function writeSettings() {
  const seed = $("seed").value.trim();
  const style = $("style").value;
  return {
    text: $("text").value,
    temperature: Number($("temperature").value),
    seed: seed === "" ? null : Number(seed),
    style,
    writer: style === "mine" ? $("writer").value.trim() : "",
  };
}

async function startWrite(event) {
  event.preventDefault();
  clearError();
  if (writing) writing.controller.abort();
  ink.strokes = [];
  ink.steps = 0;
  ink.dirty = true;
  $("downloads").hidden = true;
  $("attention-figure").hidden = true;
  $("write-canvas").dataset.state = "writing";
  const controller = new AbortController();
  const run = (writing = { controller, queue: [], started: performance.now(), ended: false, end: null });
  $("stop").disabled = false;
  $("write-status").textContent = "writing…";
  try {
    const response = await fetch("/api/write", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(writeSettings()),
      signal: controller.signal,
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
      throw new Error(body.error);
    }
    await readEvents(response, run);
  } catch (error) {
    if (error.name === "AbortError") return;
    if (writing === run) writing = null;
    $("write-canvas").dataset.state = "error";
    $("write-status").textContent = "";
    $("stop").disabled = true;
    showError(`Write: ${error.message}`);
  }
}

async function readEvents(response, run) {
  const reader = response.body.getReader(), decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const name = /^event: (.*)$/m.exec(block)[1], data = JSON.parse(/^data: (.*)$/m.exec(block)[1]);
      if (name === "start") [run.lines, run.layout, run.seed] = [data.lines.length, data.layout, data.seed];
      else if (name === "ink") run.queue.push(data);
      else if (name === "error") throw new Error(data.error);
      else if (name === "end") run.end = data;
    }
  }
  if (!run.end) throw new Error("the stream stopped before the phrase ended");
  run.ended = true;
}

function finishWrite() {
  const end = writing.end, lines = writing.lines > 1 ? `${writing.lines} lines, ` : "";
  const layout = writing.layout === "words" ? "word by word, " : "", seed = writing.seed;
  writing = null;
  $("stop").disabled = true;
  $("write-canvas").dataset.state = "done";
  $("write-status").textContent =
    `${lines}${layout}${end.steps} steps in ${end.seconds.toFixed(2)} s, ${end.ended ? "ended" : "cut at the step limit"}, seed ${seed}`;
  for (const fmt of ["png", "svg", "npz"]) $(`download-${fmt}`).href = `/api/results/${end.id}.${fmt}`;
  $("downloads").hidden = false;
  $("robot").dataset.id = end.id;
  if ($("show-attention").checked) showAttention(end.id);
}

function stopWrite() {
  if (!writing) return;
  writing.controller.abort();
  writing = null;
  $("stop").disabled = true;
  $("write-canvas").dataset.state = "stopped";
  $("write-status").textContent = `stopped after ${ink.steps} steps`;
}

function colour(v) {  // 0..1 -> dark blue .. green .. yellow, like viridis
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const x = Math.min(Math.max(v, 0), 1) * (stops.length - 1), i = Math.min(Math.floor(x), stops.length - 2);
  const f = x - i, c = stops[i].map((a, k) => Math.round(a + f * (stops[i + 1][k] - a)));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

async function showAttention(id) {
  try {
    const { text, matrix } = await api(`/api/results/${id}/attention`);
    const canvas = $("attention-canvas"), ctx = canvas.getContext("2d");
    const rows = text.length, cell = Math.max(8, Math.min(16, 360 / Math.max(rows, 1)));
    canvas.height = rows * cell + 4;
    const left = 24, width = (canvas.width - left) / matrix.length;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const peak = Math.max(1e-6, ...matrix.flat());
    matrix.forEach((row, t) => row.slice(0, rows).forEach((v, c) => {
      ctx.fillStyle = colour(v / peak);
      ctx.fillRect(left + t * width, c * cell, Math.ceil(width), cell);
    }));
    ctx.fillStyle = "#222";
    ctx.font = `${Math.min(cell, 13)}px monospace`;
    [...text].forEach((ch, c) => ctx.fillText(ch === " " ? "␣" : ch, 4, c * cell + cell - 2));
    $("attention-figure").hidden = false;
  } catch (error) {
    showError(`Attention: ${error.message}`);
  }
}

// -- Robot ---------------------------------------------------------------------------------------------------
const ROBOT_METRICS = [ // what the simulator measured: [key, what it is, how to show it]
  ["tracking_rmse_mm", "pen-tip tracking error (RMSE)", (v) => `${v.toFixed(3)} mm`],
  ["inked_fraction", "pen-down path inked", (v) => `${(100 * v).toFixed(1)} %`],
  ["spurious_ink_fraction", "ink off the path", (v) => `${(100 * v).toFixed(2)} %`],
  ["realtime_factor", "simulated", (v) => `${v.toFixed(1)}x faster than real time`],
  ["ocr_text", "Tesseract reads the board as", (v) => JSON.stringify(v)],
  ["ocr_cer", "its character error rate", (v) => v.toFixed(3)],
];

async function sendToRobot() {
  clearError();
  $("robot-panel").hidden = false;
  $("board").hidden = true;
  $("robot-metrics").replaceChildren();
  $("robot-progress").value = 0;
  try {
    let job = await postJson("/api/robot", { id: $("robot").dataset.id });
    $("robot").disabled = true;
    while (job.state === "running") {
      $("robot-progress").value = job.progress;
      $("robot-status").textContent = `the Panda is writing… ${(100 * job.progress).toFixed(0)} %`;
      await new Promise((r) => setTimeout(r, 400));
      job = await api(`/api/robot/${job.id}`);
    }
    if (job.state === "failed") throw new Error(job.error);
    $("robot-progress").value = 1;
    $("robot-status").textContent = "done";
    $("board").src = job.board;
    $("board").hidden = false;
    for (const [key, label, format] of ROBOT_METRICS.filter(([k]) => k in job.metrics)) {
      const row = $("robot-metrics").insertRow();
      row.insertCell().textContent = label;
      row.insertCell().textContent = format(job.metrics[key]);
      row.title = key; // the name in board.json and bench/sim.py
    }
    $("robot-panel").dataset.state = "done";
  } catch (error) {
    $("robot-status").textContent = "failed";
    $("robot-panel").dataset.state = "failed";
    showError(`Robot: ${error.message}`);
  } finally {
    $("robot").disabled = false;
  }
}

// -- Draw and read -------------------------------------------------------------------------------------------
const pad = { strokes: [], current: null, t0: 0, labelEdited: false, reads: 0 };

function padPoint(event) {
  const canvas = $("pad"), box = canvas.getBoundingClientRect();
  const x = ((event.clientX - box.left) * canvas.width) / box.width;
  const y = ((event.clientY - box.top) * canvas.height) / box.height;
  // pressure: what the device gives; a mouse with its button down reports 0.5 (Pointer Events)
  return [x, y, event.timeStamp - pad.t0, event.pressure || 0.5];
}

function drawPad() {
  const canvas = $("pad"), ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = "#1a237e";
  ctx.lineWidth = 3;
  ctx.lineCap = ctx.lineJoin = "round";
  for (const stroke of pad.strokes) {
    ctx.beginPath();
    ctx.moveTo(stroke[0][0], stroke[0][1]);
    for (const p of stroke.slice(1)) ctx.lineTo(p[0], p[1]);
    if (stroke.length === 1) ctx.lineTo(stroke[0][0] + 0.1, stroke[0][1]);
    ctx.stroke();
  }
}

function drawing() {
  return { width: $("pad").width, height: $("pad").height, strokes: pad.strokes };
}

async function readPad() {
  const lifted = performance.now();
  const reads = ++pad.reads;
  try {
    const reading = await postJson("/api/recognize", drawing());
    if (reads !== pad.reads) return;  // a later pen lift has been sent since
    const ms = performance.now() - lifted;
    $("reading").textContent = reading.text || "(nothing)";
    $("reading").dataset.ms = ms.toFixed(1);
    $("reading-time").textContent = `confidence ${reading.confidence.toFixed(2)}, shown ${ms.toFixed(0)} ms after the pen lifted`;
    if (!pad.labelEdited) $("label").value = reading.text;
  } catch (error) {
    showError(`Read: ${error.message}`);
  }
}

function setUpPad() {
  const canvas = $("pad");
  canvas.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    if (!pad.strokes.length) pad.t0 = event.timeStamp;
    pad.current = [padPoint(event)];
    pad.strokes.push(pad.current);
    drawPad();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!pad.current) return;
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const e of events.length ? events : [event]) pad.current.push(padPoint(e));
    drawPad();
  });
  const lift = () => {
    if (!pad.current) return;
    pad.current = null;
    readPad();
  };
  canvas.addEventListener("pointerup", lift);
  canvas.addEventListener("pointercancel", lift);
  $("clear").addEventListener("click", clearPad);
  $("label").addEventListener("input", () => (pad.labelEdited = true));
}

function clearPad() {
  pad.strokes = [];
  pad.current = null;
  pad.labelEdited = false;
  pad.reads++;
  $("label").value = "";
  $("reading").textContent = "…";
  $("reading").dataset.ms = "";
  $("reading-time").textContent = "";
  drawPad();
}

async function save(event) {
  event.preventDefault();
  clearError();
  if (!pad.strokes.length) return showError("Save: draw something first");
  const writer = $("writer").value.trim(), label = $("label").value;
  try {
    const saved = await postJson(`/api/dataset/${encodeURIComponent(writer)}`, { label, drawing: drawing() });
    $("save-status").textContent = `saved "${saved.label}" as writer ${saved.writer} in ${saved.file}`;
    clearPad();
    await refreshDataset();
  } catch (error) {
    showError(`Save: ${error.message}`);
  }
}

// -- Dataset -------------------------------------------------------------------------------------------------
const SVG_NS = "http://www.w3.org/2000/svg";
const THUMBNAIL_PX = 36; // the height of a saved sample's picture; its ink is one unit high

function thumbnailSvg({ width, strokes }) {
  const pad = 0.08;
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("class", "thumbnail");
  svg.setAttribute("viewBox", `${-pad} ${-pad} ${width + 2 * pad} ${1 + 2 * pad}`);
  svg.setAttribute("height", THUMBNAIL_PX);
  svg.setAttribute("width", Math.round(THUMBNAIL_PX * (width + 2 * pad) / (1 + 2 * pad)));
  for (const stroke of strokes) {
    const line = document.createElementNS(SVG_NS, "polyline");
    line.setAttribute("points", stroke.map(([x, y]) => `${x},${y}`).join(" "));
    svg.append(line);
  }
  return svg;
}

async function refreshDataset() {
  const { dir, writers } = await api("/api/dataset");
  $("data-dir").textContent = dir;
  const box = $("samples");
  box.replaceChildren();
  if (!writers.length) box.textContent = "No samples yet: draw a word above and save it.";
  for (const writer of writers) {
    const heading = document.createElement("h3");
    const count = writer.samples.length;
    heading.textContent = `${writer.name} (${count} sample${count === 1 ? "" : "s"})`;
    const list = document.createElement("ul");
    for (const sample of writer.samples) {
      const item = document.createElement("li");
      if (sample.thumbnail) item.append(thumbnailSvg(sample.thumbnail));
      item.append(`"${sample.label}", ${sample.points} points, ${sample.saved_at}`);
      item.dataset.id = sample.id;
      const remove = document.createElement("button");
      remove.textContent = "delete";
      remove.addEventListener("click", async () => {
        try {
          await api(`/api/dataset/${encodeURIComponent(writer.name)}/${sample.id}`, { method: "DELETE" });
          await refreshDataset();
        } catch (error) {
          showError(`Delete: ${error.message}`);
        }
      });
      item.append(remove);
      list.append(item);
    }
    box.append(heading, list);
  }
}

// -- start ---------------------------------------------------------------------------------------------------
async function start() {
  $("write-form").addEventListener("submit", startWrite);
  $("stop").addEventListener("click", stopWrite);
  $("robot").addEventListener("click", sendToRobot);
  $("save-form").addEventListener("submit", save);
  const showTemperature = () => ($("temperature-value").textContent = Number($("temperature").value).toFixed(2));
  $("temperature").addEventListener("input", showTemperature);
  setUpPad();
  requestAnimationFrame(animate);
  try {
    const info = await api("/api/info");
    for (const name of info.styles) $("style").append(new Option(`corpus writer: ${name}`, name));
    $("style").append(new Option("mine (the writer named under Draw)", "mine"));
    $("text").title = `at most ${info.max_text} characters`;
    $("temperature").value = info.temperature; // the server's default (trajtok.sampling), not a copy of it
    showTemperature();
    await refreshDataset();
    document.body.dataset.ready = "1";
  } catch (error) {
    showError(`Start: ${error.message}`);
  }
}
start();
