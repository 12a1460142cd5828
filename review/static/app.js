// The review at the keyboard (the keys are listed in each page, #keys), and "select all"
// for bulk decisions. Every action is a plain form or link: the site works without it.
document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", () => {
      document.querySelectorAll('input[name="shift_ids"]').forEach((box) => {
        box.checked = all.checked;
      });
    });
  }
  const reason = document.getElementById("reason");
  const say = (text) => {
    let live = document.getElementById("key-status");
    if (!live) {
      live = document.createElement("p");
      live.id = "key-status";
      live.className = "flash";
      live.setAttribute("role", "status");
      document.getElementById("keys").after(live);
    }
    live.textContent = text;
  };
  const needReason = () => {
    if (reason && reason.value) return false;
    say("Choisissez d'abord un motif (flèches haut et bas), puis Échap et x.");
    if (reason) reason.focus();
    return true;
  };

  const rows = Array.from(document.querySelectorAll("tr.shift"));
  let current = -1;
  const focusRow = (i) => {
    if (!rows.length) return;
    current = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach((row, j) => row.classList.toggle("current", j === current));
    rows[current].tabIndex = -1;
    rows[current].focus();
    rows[current].scrollIntoView({ block: "nearest" });
  };
  if (rows.length) {
    const target = location.hash && document.getElementById(location.hash.slice(1));
    focusRow(target ? rows.indexOf(target) : 0);
    rows.forEach((row, j) => row.addEventListener("focusin", () => {
      current = j;
      rows.forEach((r, k) => r.classList.toggle("current", k === j));
    }));
  }

  const form = document.getElementById("decision-form");
  const submitDecision = (value) => {
    form.querySelector(`input[name=decision][value=${value}]`).checked = true;
    form.requestSubmit();
  };
  const follow = (id) => {
    const link = document.getElementById(id);
    if (link) location.href = link.href;
  };

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const inControl = event.target.closest("input, select, textarea, button");
    if (inControl) {
      if (event.key === "Escape") {
        event.target.blur();
        if (rows.length) focusRow(current);
      }
      if (!(event.target.matches("input[type=checkbox]") && event.key !== " ")) return;
    }
    const row = rows[current];
    const key = event.key;
    let done = true;
    if (rows.length && row) {  // the queue
      if (key === "j" || key === "ArrowDown") focusRow(current + 1);
      else if (key === "k" || key === "ArrowUp") focusRow(current - 1);
      else if (key === "o" || key === "Enter") row.querySelector("a.open").click();
      else if (key === "c") row.querySelector("button.row-confirm").click();
      else if (key === "x") { if (!needReason()) row.querySelector("button.row-dismiss").click(); }
      else if (key === " ") { const box = row.querySelector("input[type=checkbox]"); box.checked = !box.checked; }
      else if (key === "m" && reason) reason.focus();
      else done = false;
    } else if (form) {  // a shift page
      if (key === "c") submitDecision("confirmed");
      else if (key === "x") { if (!needReason()) submitDecision("dismissed"); }
      else if (key === "j") follow("next");
      else if (key === "k") follow("previous");
      else if (key === "u") follow("to-queue");
      else if (key === "m" && reason) reason.focus();
      else done = false;
    } else done = false;
    if (done) event.preventDefault();
  });
});
