// Threshold form: show the chosen indicator's unit and range beside the levels, and hide
// the levels for a rule on detected shifts. The form works without it.
document.addEventListener("DOMContentLoaded", () => {
  const indicator = document.getElementById("indicator");
  const kind = document.getElementById("kind");
  if (!indicator) return;
  const update = () => {
    const option = indicator.selectedOptions[0];
    document.querySelectorAll(".unit").forEach((el) => { el.textContent = option ? option.dataset.unit : ""; });
    const range = document.getElementById("range");
    if (range && option) range.textContent = option.dataset.range;
    const levels = document.getElementById("levels");
    if (levels && kind) levels.hidden = kind.value === "shift";
  };
  indicator.addEventListener("change", update);
  if (kind) kind.addEventListener("change", update);
  update();
});
