// Filters of the case table: show only the cases whose task, verdict and rendering match.
(function () {
  var form = document.getElementById("filters");
  var selects = form.querySelectorAll("select");
  var cases = document.querySelectorAll("tbody.case");
  var count = document.getElementById("shown-count");
  function apply() {
    var shown = 0;
    cases.forEach(function (body) {
      var keep = true;
      selects.forEach(function (select) {
        if (select.value && body.dataset[select.name] !== select.value) keep = false;
      });
      body.hidden = !keep;
      if (keep) shown += 1;
    });
    count.textContent = String(shown);
  }
  selects.forEach(function (select) { select.addEventListener("change", apply); });
  form.hidden = false;
  apply();
})();
