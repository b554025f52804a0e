// Sorts a table of class "sortable" by the column whose header is clicked, highest first;
// a second click sorts it the other way. Cells sort by their data-sort value.
document.querySelectorAll("table.sortable").forEach(function (table) {
  var headers = table.querySelectorAll("thead th");
  headers.forEach(function (th, column) {
    th.style.cursor = "pointer";
    th.setAttribute("title", "sort by this column");
    th.addEventListener("click", function () {
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var descending = th.getAttribute("data-order") !== "descending";
      headers.forEach(function (h) { h.removeAttribute("data-order"); });
      th.setAttribute("data-order", descending ? "descending" : "ascending");
      rows.sort(function (a, b) {
        var x = a.cells[column].getAttribute("data-sort");
        var y = b.cells[column].getAttribute("data-sort");
        var nx = parseFloat(x), ny = parseFloat(y);
        var order = !isNaN(nx) && !isNaN(ny) ? nx - ny : x.localeCompare(y);
        return descending ? -order : order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
