// The review page: loads the next item, answers by button or key, reveals a thumbnail on demand.
(function () {
  "use strict";
  const body = document.body;
  const STORE_KEY = "census-review-reviewer";

  function show(id, text) {
    const el = document.getElementById(id);
    if (!el) return;
    el.textContent = text || "";
    el.hidden = !text;
  }

  if (body.dataset.page === "index") {
    const input = document.getElementById("reviewer");
    if (input && !input.value && window.localStorage.getItem(STORE_KEY)) {
      input.value = window.localStorage.getItem(STORE_KEY);
    }
    document.getElementById("who").addEventListener("submit", function () {
      window.localStorage.setItem(STORE_KEY, input.value.trim());
    });
    document.getElementById("refresh").addEventListener("click", async function () {
      const response = await fetch("/api/refresh", {method: "POST", headers: {"Content-Type": "application/json"}, body: "{}"});
      const data = await response.json();
      if (data.notice) show("notice", data.notice); else window.location.reload();
    });
    return;
  }
  if (body.dataset.page !== "review") return;

  const question = body.dataset.question;
  const reviewer = body.dataset.reviewer;
  window.localStorage.setItem(STORE_KEY, reviewer);
  const img = document.getElementById("thumb");
  const note = document.getElementById("note");
  const keys = {};
  document.querySelectorAll("button.answer").forEach(function (button) {
    keys[button.dataset.key] = button.dataset.answer;
    button.addEventListener("click", function () { answer(button.dataset.answer); });
  });
  let current = null;
  let revealed = false;
  let busy = false;

  function fmt(value, digits) {
    return value === null || value === undefined ? null : Number(value).toFixed(digits);
  }

  function setProgress(p) {
    const pct = p.total ? Math.round(100 * p.mine / p.total) : 100;
    document.getElementById("bar-fill").style.width = pct + "%";
    document.getElementById("progress-text").textContent =
      "answered by you: " + p.mine + " of " + p.total + " · items with 2+ answers: " + p.complete;
  }

  function setFacts(item) {
    const facts = document.getElementById("facts");
    facts.replaceChildren();
    // only what bears on the question: the NSFW score for nsfw_category, the age for apparent_minor
    const rows = [["image", item.rel_path], ["class", (item.class_name || item.wnid) + ", " + item.split], ["why", item.reason],
      ["NSFW score", question === "nsfw_category" ? fmt(item.nsfw_score, 3) : null],
      ["face", item.annotator ? item.annotator + " #" + item.face_idx : null],
      ["det_score", fmt(item.det_score, 3)], ["apparent age", question === "apparent_minor" ? fmt(item.age, 1) : null],
      ["answers so far", String(item.n_labels)]];
    rows.forEach(function (row) {
      if (row[1] === null || row[1] === undefined || row[1] === "") return;
      const dt = document.createElement("dt");
      dt.textContent = row[0];
      const dd = document.createElement("dd");
      dd.textContent = row[1];
      facts.append(dt, dd);
    });
  }

  function setThumb() {
    if (!current) return;
    img.src = current.thumb + (revealed ? "&reveal=1" : "");
    img.alt = (revealed ? "thumbnail of " : "blurred thumbnail of ") + current.rel_path;
    img.dataset.revealed = revealed ? "1" : "0";
    document.getElementById("blur-state").textContent = revealed ? "revealed" : "blurred";
  }

  async function loadNext() {
    const url = "/api/next?question=" + encodeURIComponent(question) + "&reviewer=" + encodeURIComponent(reviewer);
    const response = await fetch(url);
    const data = await response.json();
    if (!response.ok) { show("message", data.error); return; }
    if (data.notice) show("notice", data.notice);
    setProgress(data.progress);
    if (data.done) {
      current = null;
      img.hidden = true;
      img.removeAttribute("src");
      document.getElementById("facts").replaceChildren();
      document.getElementById("blur-state").hidden = true;
      show("done", "You have answered every item of this queue. Thank you.");
      body.dataset.state = "done";
      return;
    }
    current = data.item;
    revealed = false;
    note.value = "";
    setFacts(current);
    setThumb();
    img.hidden = false;
    body.dataset.item = current.key;
    body.dataset.state = "ready";
  }

  async function answer(value) {
    if (!current || busy) return;
    busy = true;
    body.dataset.state = "saving";
    try {
      const response = await fetch("/api/answer", {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify({reviewer: reviewer, item: current.key, answer: value, note: note.value}),
      });
      const data = await response.json();
      show("message", response.ok ? "saved: " + value : data.error);
      if (response.ok || response.status === 409) await loadNext();
      else body.dataset.state = "ready";
    } finally {
      busy = false;
    }
  }

  document.getElementById("reveal").addEventListener("click", function () { revealed = !revealed; setThumb(); });
  document.addEventListener("keydown", function (event) {
    if (event.target === note) {
      if (event.key === "Escape") note.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key.toLowerCase();
    if (keys[key] !== undefined) { event.preventDefault(); answer(keys[key]); }
    else if (key === "r") { event.preventDefault(); revealed = !revealed; setThumb(); }
    else if (key === "t") { event.preventDefault(); note.focus(); }
  });
  loadNext();
})();
