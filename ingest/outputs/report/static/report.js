(function () {
  var charts = document.querySelectorAll('div.chart');
  var pending = charts.length;
  window.reportCharts = {total: charts.length, rendered: 0, failed: 0};
  function done() { if (--pending <= 0) document.body.setAttribute('data-charts', 'done'); }
  if (!pending) { document.body.setAttribute('data-charts', 'done'); return; }
  charts.forEach(function (el) {
    var spec = JSON.parse(document.getElementById(el.getAttribute('data-spec')).textContent);
    vegaEmbed(el.querySelector('.vis'), spec, {renderer: 'svg', actions: {export: true, source: false,
      compiled: false, editor: false}}).then(function () {
      el.setAttribute('data-rendered', 'ok'); window.reportCharts.rendered++; done();
    }).catch(function (err) {
      el.setAttribute('data-rendered', 'error'); window.reportCharts.failed++;
      console.error('chart ' + el.id + ' failed: ' + err); done();
    });
  });
})();
