/* Actions that need the server say so when there is no connection: a
 * search typed, a filter changed, a node opened or a page asked for while
 * offline is not sent (nothing would answer), and the page says why in
 * #flash instead of failing silently. A request that fails on the way
 * (the network dropped, the server unreachable) says so too. */
(function () {
  'use strict';

  function what(elt) {
    if (elt && elt.matches) {
      if (elt.matches('input[type="search"], [data-testid="table-search"]') || (elt.querySelector && elt.querySelector('input[type="search"]'))) {
        return 'Searching';
      }
      if (elt.matches('form')) { return 'Changing the filters'; }
    }
    return 'This';
  }

  function notice(text) {
    var flash = document.getElementById('flash');
    if (!flash) { return; }
    var p = flash.querySelector('[data-testid="offline-notice"]');
    if (!p) {
      p = document.createElement('p');
      p.className = 'alert alert-info mt-4';
      p.setAttribute('role', 'status');
      p.setAttribute('data-testid', 'offline-notice');
      flash.appendChild(p);
    }
    p.textContent = text;
  }

  function clear() {
    var p = document.querySelector('#flash [data-testid="offline-notice"]');
    if (p) { p.remove(); }
  }

  document.addEventListener('htmx:beforeRequest', function (evt) {
    if (navigator.onLine === false) {
      evt.preventDefault();
      notice('You are offline. ' + what(evt.detail.elt) + ' needs a connection: try again once you are back online.');
    }
  });
  document.addEventListener('htmx:sendError', function (evt) {
    notice('LearnLens could not be reached. ' + what(evt.detail.elt) + ' needs a connection: check yours and try again.');
  });
  document.addEventListener('htmx:afterRequest', function (evt) {
    if (evt.detail.successful) { clear(); }
  });
  window.addEventListener('online', clear);
})();
