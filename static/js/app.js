/* LearnLens page glue. Plain ES2017, no build step. Load after htmx.min.js
 * and htmx-ext-ws.js. Prints nothing to the console on a normal page load. */
(function () {
  'use strict';

  // Offline support: register the service worker once the page has loaded.
  if ('serviceWorker' in navigator) {
    window.addEventListener('load', function () {
      navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(function (err) {
        console.warn('LearnLens: service worker registration failed', err);
      });
    });
  }

  // The token is read on every request, so a swapped-in <meta> (for example
  // after login) is picked up without a full page reload.
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute('content') : '';
  }

  // Every htmx request carries the CSRF token as a header.
  document.addEventListener('htmx:configRequest', function (evt) {
    var token = csrfToken();
    if (token) {
      evt.detail.headers['X-CSRF-Token'] = token;
    }
  });

  // Messages sent with ws-send include the token in their HEADERS object.
  document.addEventListener('htmx:wsConfigSend', function (evt) {
    var token = csrfToken();
    if (token && evt.detail.headers) {
      evt.detail.headers['X-CSRF-Token'] = token;
    }
  });

  // The sign-in hand-over page posts its one-time ticket to the
  // organisation's address at once (the button is there without script).
  var handover = document.querySelector('form[data-autosubmit]');
  if (handover) {
    handover.submit();
  }

  // Editing a dashboard's dates makes its period a custom one. Captured
  // before the form's own change handler sends the request.
  document.addEventListener('change', function (evt) {
    var el = evt.target;
    if (el && el.form && (el.name === 'from' || el.name === 'to')) {
      var range = el.form.querySelector('select[name="range"]');
      if (range) {
        range.value = 'custom';
      }
    }
  }, true);

  if (window.htmx) {
    // First matching rule wins. Error responses are swapped because the
    // server sends a renderable error fragment (and HX-Retarget/HX-Reswap
    // headers when it belongs elsewhere on the page).
    window.htmx.config.responseHandling = [
      { code: '204', swap: false },
      { code: '[23]..', swap: true },
      // 4xx answers are expected outcomes (a wrong password, a form to
      // correct, a page not yours) that carry a message for the user.
      { code: '4..', swap: true, error: false },
      { code: '5..', swap: true, error: true },
      { code: '...', swap: false }
    ];
  }
})();
