// The page of `handwrite serve`: it talks only to the HTTP API of docs/serve.md.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG_NS = "http://www.w3.org/2000/svg";
const STORE = "handwrite.primer";          // localStorage: {lines: [{text, points: [[x, y, eos], ...]}]}
const HAND = "handwrite.hand";             // localStorage: the learned hand of those lines (a hand file, base64)
const state = { style: null, result: null, controller: null, lines: new Map(), box: null, total: 0 };

// ---- settings ------------------------------------------------------------------------------
for (const [input, out, fmt] of [["bias", "bias-out", (v) => (+v).toFixed(2)], ["width", "width-out", String],
                                 ["spacing", "spacing-out", (v) => (+v).toFixed(1)], ["pen", "pen-out", String]]) {
  const show = () => { $(out).textContent = fmt($(input).value); };
  $(input).addEventListener("input", show);
  show();
}
$("ink").addEventListener("input", paintInk);
$("pen").addEventListener("input", paintInk);

function paintInk() {
  const ink = $("ink").value, pen = $("pen").value;
  $("ink-live").setAttribute("stroke", ink);
  $("ink-live").setAttribute("stroke-width", pen);
  for (const g of $("final").querySelectorAll("g[stroke]")) {
    g.setAttribute("stroke", ink);
    g.setAttribute("stroke-width", pen);
  }
}
paintInk();

function requestBody() {
  const body = {
    text: $("text").value,
    bias: +$("bias").value,
    width: +$("width").value,
    align: $("align").value,
    line_spacing: +$("spacing").value,
  };
  if ($("seed").value !== "") body.seed = Math.max(0, Math.floor(+$("seed").value));
  const hand = localStorage.getItem(HAND);
  if (state.style === "mine" && hand) body.hand = hand;
  else if (state.style === "mine") body.primer = { lines: storedLines() };
  else if (state.style !== null) body.style = state.style;
  return body;
}

// ---- errors, next to the text box ----------------------------------------------------------
function showError(err) {
  const box = $("error");
  if (!err) { box.textContent = ""; box.classList.remove("shown"); return; }
  let message = err.error || String(err);
  if (err.unsupported && err.unsupported.length) {
    const named = err.unsupported.slice(0, 5).map((u) => `"${u.char}" at position ${u.position}`);
    message = `Cannot write ${named.join(", ")}${err.unsupported.length > 5 ? ` and ${err.unsupported.length - 5} more` : ""}.`;
    const first = err.unsupported[0].position;
    $("text").focus();
    $("text").setSelectionRange(first, first + 1);
  }
  box.textContent = message;
  box.classList.add("shown");
}

function setStatus(text) { $("status").textContent = text; }

// ---- the gallery of hands -------------------------------------------------------------------
async function loadStyles() {
  const gallery = $("gallery");
  let presets = [];
  try {
    const answer = await fetch("/api/styles");
    presets = await answer.json();
  } catch (e) {
    showError({ error: "could not load the preset hands: " + e });
  }
  const add = (value, label, svg) => {
    const b = document.createElement("button");
    b.className = "hand";
    b.setAttribute("role", "radio");
    b.dataset.style = value === null ? "" : String(value);
    b.innerHTML = svg || '<svg viewBox="0 0 10 10"></svg>';
    const caption = document.createElement("span");
    caption.textContent = label;
    b.appendChild(caption);
    b.addEventListener("click", () => choose(value));
    gallery.appendChild(b);
    return b;
  };
  for (const p of presets) add(p.index, `${p.index} ${p.name}`, p.svg);
  add("free", "free (the model's own)", null);
  const mine = add("mine", "my hand", null);
  mine.id = "hand-mine";
  state.defaultStyle = (presets.find((p) => p.default) || presets[0] || { index: "free" }).index;
  choose(state.defaultStyle);
  refreshMine();
}

function choose(value) {
  state.style = value;
  for (const b of $("gallery").querySelectorAll(".hand")) {
    b.setAttribute("aria-checked", String(b.dataset.style === String(value)));
  }
}

// ---- writing, live -----------------------------------------------------------------------------
function clearLive() {
  $("ink-live").replaceChildren();
  $("final").replaceChildren();
  $("final").hidden = true;
  $("live").style.display = "";
  state.lines = new Map();
  state.box = null;
  state.total = 0;
  $("paper").dataset.points = "0";
}

function lineOf(index) {
  if (!state.lines.has(index)) {
    const g = document.createElementNS(SVG_NS, "g");
    $("ink-live").appendChild(g);
    state.lines.set(index, { g, path: null, d: "", penUp: true });
  }
  return state.lines.get(index);
}

function drawPoints(event) {
  const line = lineOf(event.line);
  if (event.restart) {
    line.g.replaceChildren();
    line.path = null;
    line.penUp = true;
  }
  let last = null;
  for (const [x, y, eos] of event.points) {
    if (line.penUp || !line.path) {
      line.path = document.createElementNS(SVG_NS, "path");
      line.g.appendChild(line.path);
      line.d = `M${x},${y}`;
    } else {
      line.d += ` L${x},${y}`;
    }
    line.path.setAttribute("d", line.d);
    line.penUp = eos > 0.5;
    grow(x, y);
    last = [x, y];
  }
  state.total += event.points.length;
  $("paper").dataset.points = String(state.total);
  if (last) {
    $("pen-tip").setAttribute("cx", last[0]);
    $("pen-tip").setAttribute("cy", last[1]);
  }
}

function grow(x, y) {
  const b = state.box || (state.box = { x0: x, y0: y, x1: x, y1: y });
  b.x0 = Math.min(b.x0, x); b.y0 = Math.min(b.y0, y);
  b.x1 = Math.max(b.x1, x); b.y1 = Math.max(b.y1, y);
  const m = 20, w = Math.max(b.x1 - b.x0 + 2 * m, 400), h = Math.max(b.y1 - b.y0 + 2 * m, 80);
  $("live").setAttribute("viewBox", `${b.x0 - m} ${b.y0 - m} ${w} ${h}`);
}

function showResult(result) {
  state.result = result;
  $("final").innerHTML = result.svg;            // drawn by the server's renderer (smooth curves)
  const svg = $("final").querySelector("svg");
  if (svg) { svg.removeAttribute("width"); svg.removeAttribute("height"); svg.id = "result-svg"; }
  $("final").hidden = false;
  $("live").style.display = "none";
  paintInk();
  for (const b of document.querySelectorAll(".downloads button")) b.disabled = false;
  const s = result.settings;
  setStatus(`written: seed ${s.seed}, bias ${s.bias}` +
            (result.info.failed_lines ? `; ${result.info.failed_lines} line(s) may look wrong` : "") +
            ((result.info.misread_words || []).length
              ? `; may not read as typed: ${result.info.misread_words.join(", ")} (try another seed)` : ""));
  $("paper").dataset.state = "done";
}

async function write() {
  if (state.controller) state.controller.abort();       // a new request stops the one before
  const controller = (state.controller = new AbortController());
  showError(null);
  clearLive();
  $("paper").dataset.state = "writing";
  setStatus("writing...");
  let answer;
  try {
    answer = await fetch("/api/write/stream", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(requestBody()), signal: controller.signal,
    });
  } catch (e) {
    if (controller.signal.aborted) return;
    return failed({ error: "the server cannot be reached: " + e });
  }
  if (!answer.ok) {
    let err;
    try { err = await answer.json(); } catch (e) { err = { error: `HTTP ${answer.status}` }; }
    if (answer.status === 503) err.error += ` (retry in ${answer.headers.get("Retry-After") || "a few"} s)`;
    return failed(err);
  }
  const reader = answer.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
        if (!data) continue;
        const event = JSON.parse(data);
        if (event.event === "points") drawPoints(event);
        else if (event.event === "done") showResult(event);
        else if (event.event === "error") return failed(event);
      }
    }
  } catch (e) {
    if (!controller.signal.aborted) failed({ error: "the connection was lost: " + e });
  }
}

function failed(err) {
  showError(err);
  setStatus("");
  $("paper").dataset.state = "error";
}

$("write").addEventListener("click", write);
$("text").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) write(); });
$("text").addEventListener("input", () => showError(null));

// ---- downloads: rendered by the server from the strokes of the last result ------------------
for (const b of document.querySelectorAll(".downloads button")) {
  b.addEventListener("click", async () => {
    if (!state.result) return;
    const fmt = b.dataset.format;
    const answer = await fetch(`/api/render/${fmt}`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: state.result.text, lines: state.result.lines,
                             color: $("ink").value, stroke_width: +$("pen").value }),
    });
    if (!answer.ok) return showError(await answer.json());
    const blob = await answer.blob();
    const name = (answer.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/);
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name ? name[1] : `handwriting.${fmt}`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  });
}

// ---- write in my hand: record lines with pointer events ------------------------------------------
const pad = $("pad");
const ctx = pad.getContext("2d");
let strokes = [];          // the line being recorded: [[x, y], ...] per stroke, canvas pixels, y down
let current = null;

function padPosition(e) {
  const r = pad.getBoundingClientRect();
  return [Math.round((e.clientX - r.left) * pad.width / r.width * 10) / 10,
          Math.round((e.clientY - r.top) * pad.height / r.height * 10) / 10];
}

function drawPad() {
  ctx.clearRect(0, 0, pad.width, pad.height);
  ctx.strokeStyle = "#cde";
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(0, pad.height * 0.7);
  ctx.lineTo(pad.width, pad.height * 0.7);
  ctx.stroke();
  ctx.strokeStyle = "#000";
  ctx.lineWidth = 2.5;
  ctx.lineCap = ctx.lineJoin = "round";
  for (const s of strokes) {
    ctx.beginPath();
    s.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    if (s.length === 1) ctx.lineTo(s[0][0] + 0.1, s[0][1]);
    ctx.stroke();
  }
}

pad.addEventListener("pointerdown", (e) => {
  pad.setPointerCapture(e.pointerId);
  current = [padPosition(e)];
  strokes.push(current);
  drawPad();
});
pad.addEventListener("pointermove", (e) => {
  if (!current) return;
  const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
  for (const c of (events.length ? events : [e])) current.push(padPosition(c));
  drawPad();
});
for (const type of ["pointerup", "pointercancel"]) pad.addEventListener(type, () => { current = null; readSoon(); });
$("pad-undo").addEventListener("click", () => { strokes.pop(); drawPad(); readSoon(); });
$("pad-clear").addEventListener("click", () => { strokes = []; drawPad(); readSoon(); });

// The reader reads the line while it is being written and fills in "What you wrote" for the
// writer to correct; a text typed by hand is never overwritten.
let readTimer = null, autoText = "", confirmedText = null;
function padPoints() {
  const points = [];
  for (const s of strokes) s.forEach(([x, y], i) => points.push([x, y, i === s.length - 1 ? 1 : 0]));
  return points;
}
async function readLine(text) {
  const body = { points: padPoints() };
  if (text !== undefined) body.text = text;
  const r = await fetch("/api/read", { method: "POST", headers: { "Content-Type": "application/json" },
                                       body: JSON.stringify(body) });
  return r.ok ? r.json() : null;
}
function readSoon() {
  clearTimeout(readTimer);
  readTimer = setTimeout(async () => {
    if (padPoints().length < 20) return;
    const field = $("pad-text");
    if (field.value.trim() && field.value !== autoText) return;
    const read = await readLine().catch(() => null);
    if (read && (!field.value.trim() || field.value === autoText)) {
      field.value = autoText = read.text;
      padStatus("Read by the reader: correct it if it is not what you wrote.");
    }
  }, 700);
}

function storedLines() {
  try {
    const doc = JSON.parse(localStorage.getItem(STORE) || "{}");
    return Array.isArray(doc.lines) ? doc.lines : [];
  } catch (e) { return []; }
}

function storeLines(lines) {
  localStorage.setItem(STORE, JSON.stringify({ lines }));
  localStorage.removeItem(HAND);           // a hand learned from other lines no longer fits
  refreshMine();
}

$("pad-keep").addEventListener("click", async () => {
  const text = $("pad-text").value.trim();
  const points = padPoints();
  if (points.length < 20) return padStatus("Write a few words first.");
  if (text.length < 2) return padStatus("Type what you wrote.");
  if (confirmedText !== text) {
    // a primer whose text is not what its strokes say makes garbage: say so once
    const read = await readLine(text).catch(() => null);
    if (read && read.agrees === false) {
      confirmedText = text;
      return padStatus(`The strokes read as "${read.text}", not "${text}". Correct the text, or keep it anyway.`);
    }
  }
  confirmedText = null;
  autoText = "";
  const lines = storedLines();
  if (lines.length >= 8) return padStatus("At most 8 lines: forget some first.");
  lines.push({ text, points });
  storeLines(lines);
  strokes = [];
  $("pad-text").value = "";
  drawPad();
  padStatus(`Kept line ${lines.length}. Keep another, or use your hand.`);
});
$("mine-use").addEventListener("click", () => { choose("mine"); write(); });
$("mine-learn").addEventListener("click", learnHand);

async function learnHand() {
  // progress arrives as server-sent events; the hand file comes back and stays in this browser
  $("mine-learn").disabled = true;
  padStatus("Learning your hand...");
  try {
    const answer = await fetch("/api/learn/stream", { method: "POST", headers: { "Content-Type": "application/json" },
                                                      body: JSON.stringify({ primer: { lines: storedLines() } }) });
    if (!answer.ok) return padStatus((await answer.json().catch(() => ({}))).error || `HTTP ${answer.status}`);
    const text = await readEvents(answer, (event) => {
      if (event.event === "progress") padStatus(`Learning your hand: step ${event.done} of ${event.total}`);
    });
    const done = text.find((e) => e.event === "done");
    const error = text.find((e) => e.event === "error");
    if (error || !done) return padStatus(error ? error.error : "the learning stopped");
    localStorage.setItem(HAND, done.hand);
    padStatus(`Learned in ${Math.round(done.learned.seconds)} s: "Use my hand" now writes with it.`);
  } catch (e) {
    padStatus("the server cannot be reached: " + e);
  } finally {
    $("mine-learn").disabled = !storedLines().length;
  }
}

async function readEvents(answer, onEvent) {
  const reader = answer.body.getReader(), decoder = new TextDecoder(), seen = [];
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return seen;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const data = buffer.slice(0, cut).split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
      buffer = buffer.slice(cut + 2);
      if (data) { const event = JSON.parse(data); seen.push(event); onEvent(event); }
    }
  }
}
$("mine-forget").addEventListener("click", () => { storeLines([]); if (state.style === "mine") choose(state.defaultStyle); });

function padStatus(text) { $("pad-status").textContent = text; }

function strokesSvg(points) {
  // a preview of one recorded line: its strokes as paths in an SVG scaled to fit
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const [x, y] of points) { x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y); }
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", `${x0 - 5} ${y0 - 5} ${x1 - x0 + 10} ${y1 - y0 + 10}`);
  let d = "", up = true;
  for (const [x, y, eos] of points) { d += `${up ? "M" : "L"}${x},${y} `; up = eos > 0.5; }
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", d);
  path.setAttribute("fill", "none");
  path.setAttribute("stroke", "#222");
  path.setAttribute("stroke-width", "2.5");
  path.setAttribute("stroke-linecap", "round");
  svg.appendChild(path);
  return svg;
}

function refreshMine() {
  const lines = storedLines();
  const list = $("mine-lines");
  list.replaceChildren();
  lines.forEach((line, i) => {
    const row = document.createElement("div");
    row.className = "mine-line";
    row.appendChild(strokesSvg(line.points));
    const label = document.createElement("span");
    label.textContent = line.text;
    row.appendChild(label);
    const remove = document.createElement("button");
    remove.textContent = "Remove";
    remove.addEventListener("click", () => { const all = storedLines(); all.splice(i, 1); storeLines(all); });
    row.appendChild(remove);
    list.appendChild(row);
  });
  $("mine-use").disabled = $("mine-forget").disabled = $("mine-learn").disabled = !lines.length;
  const mine = $("hand-mine");
  if (mine) {
    mine.disabled = !lines.length;
    const preview = mine.querySelector("svg");
    if (preview && lines.length) preview.replaceWith(strokesSvg(lines[0].points));
  }
}

drawPad();
loadStyles();
