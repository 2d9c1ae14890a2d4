// Case list: "select all on this page" for the bulk actions. Served from our origin (CSP).
document.querySelectorAll("[data-select-all]").forEach((box) => {
  const form = box.closest("form");
  const picks = () => form.querySelectorAll('input[type="checkbox"][name="case"]');
  box.addEventListener("change", () => {
    picks().forEach((pick) => { pick.checked = box.checked; });
  });
  form.addEventListener("change", (event) => {
    if (event.target.name !== "case") return;
    const all = Array.from(picks());
    box.checked = all.every((pick) => pick.checked);
    box.indeterminate = !box.checked && all.some((pick) => pick.checked);
  });
});
