// Review queue: "select all" for bulk decisions. The site works without it.
document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("select-all");
  if (!all) return;
  all.addEventListener("change", () => {
    document.querySelectorAll('input[name="shift_ids"]').forEach((box) => {
      box.checked = all.checked;
    });
  });
});
