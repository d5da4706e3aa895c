/* Chart text at one size in CSS pixels: a chart's svg scales with its
 * card, so text sized in viewBox units would grow on wide screens and
 * shrink on phones. --chart-k is the viewBox units per CSS pixel of each
 * chart; static/src/app.css sizes the text with it. */
(function () {
  'use strict';
  var seen = new WeakSet();
  var ro = window.ResizeObserver ? new ResizeObserver(function (entries) {
    entries.forEach(function (e) { scale(e.target); });
  }) : null;

  function scale(svg) {
    var w = svg.getBoundingClientRect().width;
    var vb = Number(svg.getAttribute('data-vb-width')) || 480;
    if (w > 0) { svg.style.setProperty('--chart-k', String(vb / w)); }
  }

  function watch(root) {
    var svgs = root.querySelectorAll ? root.querySelectorAll('svg[data-chart]') : [];
    Array.prototype.forEach.call(svgs, function (svg) {
      scale(svg);
      if (ro && !seen.has(svg)) {
        seen.add(svg);
        ro.observe(svg);
      }
    });
  }

  // htmx keeps the page's HTML for the back button, and restoring it would
  // parse the property as an inline style, which the CSP refuses: take it
  // off before the snapshot and put it back once the page has settled.
  document.addEventListener('htmx:beforeHistorySave', function () {
    document.querySelectorAll('svg[data-chart]').forEach(function (svg) {
      svg.style.removeProperty('--chart-k');
      if (svg.getAttribute('style') === '') { svg.removeAttribute('style'); }
    });
  });
  document.addEventListener('htmx:afterSettle', function () { watch(document); });
  document.addEventListener('htmx:historyRestore', function () { watch(document); });
  document.addEventListener('DOMContentLoaded', function () { watch(document); });
  document.addEventListener('htmx:load', function (evt) { watch(evt.detail.elt); });
  window.addEventListener('beforeprint', function () { watch(document); });
})();
