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

  // Menus drawn as <details data-menu> (the header's "Manage") close when
  // the user clicks elsewhere or presses Escape, as menus do.
  function closeMenus(except) {
    document.querySelectorAll('details[data-menu][open]').forEach(function (d) {
      if (d !== except) {
        d.removeAttribute('open');
      }
    });
  }
  document.addEventListener('click', function (evt) {
    closeMenus(evt.target.closest ? evt.target.closest('details[data-menu]') : null);
  });
  document.addEventListener('keydown', function (evt) {
    if (evt.key === 'Escape') {
      var open = document.querySelector('details[data-menu][open]');
      closeMenus(null);
      if (open) {
        open.querySelector('summary').focus();
      }
    }
  });

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

  // A button with data-copy="ID" copies the text of element ID (the xAPI
  // credential's secret and snippet) and says so.
  document.addEventListener('click', function (evt) {
    var btn = evt.target && evt.target.closest ? evt.target.closest('button[data-copy]') : null;
    var src = btn && document.getElementById(btn.getAttribute('data-copy'));
    if (!src || !navigator.clipboard) {
      return;
    }
    navigator.clipboard.writeText(src.textContent.trim()).then(function () {
      btn.textContent = 'Copied';
    });
  });

  // A colour picker with data-mirror="ID" writes its colour into the text
  // field ID (the field the form sends), and the field back into it.
  document.addEventListener('input', function (evt) {
    var el = evt.target;
    var other = el && el.getAttribute && document.getElementById(el.getAttribute('data-mirror') || '');
    if (other) {
      other.value = el.value;
      return;
    }
    var picker = el && el.id && document.querySelector('input[data-mirror="' + el.id + '"]');
    if (picker && /^#[0-9a-fA-F]{6}$/.test(el.value)) {
      picker.value = el.value.toLowerCase();
    }
  });

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


  // Live dashboards (handlers/live.go). A page marked data-live-page opens
  // a WebSocket to /ws through htmx's ws extension, which reconnects with
  // backoff. Once open, the page says what it shows; the server answers
  // with out-of-band swaps of the sections whose numbers changed, marked
  // data-live-changed, which flash briefly.
  // tables and nodes map the element a table page or an opened team node
  // was swapped into to the fragment address it came from.
  var live = { elt: null, socket: null, lastMessage: 0, opened: false, tables: {}, nodes: {}, updates: 0 };
  var LIVE_MAX_NODES = 32; // handlers/live.go: liveMaxNodes

  // The extension closes a page's socket when the page is swapped away,
  // even while it is still connecting, and the browser then reports an
  // error that htmx logs to the console. Errors of a socket the page
  // itself closed are not reported; others (a server that is down) are.
  if (window.htmx) {
    window.htmx.createWebSocket = function (url) {
      var ws = new WebSocket(url, []);
      ws.binaryType = window.htmx.config.wsBinaryType;
      var closedByPage = false;
      var close = ws.close;
      ws.close = function () {
        closedByPage = true;
        ws.closedByPage = true;
        return close.apply(ws, arguments);
      };
      Object.defineProperty(ws, 'onerror', {
        configurable: true,
        set: function (fn) {
          ws.addEventListener('error', function (e) {
            if (!closedByPage) {
              fn(e);
            }
          });
        }
      });
      return ws;
    };
  }
  var LIVE_QUIET_MS = 65000; // two missed heartbeats: the connection is dead
  var liveLabels = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', offline: 'Offline' };

  function liveStatus(state, reason) {
    var el = document.querySelector('[data-testid="live-status"]');
    if (!el) {
      return;
    }
    el.setAttribute('data-state', state);
    el.setAttribute('data-updates', String(live.updates));
    el.textContent = liveLabels[state] + (reason ? ': ' + reason : '');
    el.title = reason || '';
  }

  // onPage lists the addresses of parts whose element is still on the page.
  function onPage(parts) {
    return Object.keys(parts).filter(function (id) {
      return !!document.getElementById(id);
    }).map(function (id) { return parts[id]; });
  }

  function liveSubscription() {
    var asOf = document.querySelector('[data-live="as-of"]');
    return JSON.stringify({
      page: location.pathname + location.search,
      tables: onPage(live.tables),
      // The latest opened nodes, when there are more than the server takes.
      nodes: onPage(live.nodes).slice(-LIVE_MAX_NODES),
      version: asOf ? Number(asOf.getAttribute('data-version')) || 0 : 0
    });
  }

  function liveSubscribe() {
    if (live.socket && live.elt && document.body.contains(live.elt)) {
      live.socket.send(liveSubscription());
    }
  }

  document.addEventListener('htmx:wsConnecting', function () {
    liveStatus(live.opened ? 'reconnecting' : 'connecting');
  });
  document.addEventListener('htmx:wsOpen', function (evt) {
    if (live.elt !== evt.detail.elt) {
      // another page: its tables start on their first page, its tree closed
      live.tables = {};
      live.nodes = {};
    }
    live.elt = evt.detail.elt;
    live.socket = evt.detail.socketWrapper;
    live.opened = true;
    live.lastMessage = Date.now();
    liveStatus('live');
    liveSubscribe();
  });
  document.addEventListener('htmx:wsClose', function (evt) {
    var e = evt.detail.event || {};
    // A socket the page closed itself (a reconnect after coming back
    // online replaces an open one) may finish closing after its successor
    // opened: its close says nothing about the connection now.
    if (e.target && e.target.closedByPage) {
      return;
    }
    // The extension reconnects after these codes (lost connection, server
    // restart, a limit reached); after others live updates stop.
    var retry = [1006, 1011, 1012, 1013].indexOf(e.code) >= 0;
    liveStatus(retry ? 'reconnecting' : 'offline', e.reason || '');
  });
  document.addEventListener('htmx:wsAfterMessage', function (evt) {
    live.lastMessage = Date.now();
    if (evt.detail.message.trim() !== '') {
      live.updates++;
      liveStatus('live');
    }
    document.querySelectorAll('[data-live-changed]').forEach(function (el) {
      el.removeAttribute('data-live-changed');
      el.classList.add('live-flash');
      setTimeout(function () { el.classList.remove('live-flash'); }, 2000);
    });
  });
  // A filter change or drill-down moves the page to another address: its
  // new body starts with every table on its first page and the tree
  // closed, so the table pages and nodes seen so far are forgotten. A
  // table moved to another page, sort or search, or a team node opened,
  // adds its fragment: the subscription follows.
  document.addEventListener('htmx:pushedIntoHistory', function () {
    live.tables = {};
    live.nodes = {};
    liveSubscribe();
  });
  document.addEventListener('htmx:afterSwap', function (evt) {
    var target = evt.detail.target;
    var xhr = evt.detail.xhr;
    if (!target || !xhr || !xhr.responseURL) {
      return;
    }
    var u = new URL(xhr.responseURL);
    if (/^tbl-/.test(target.id)) {
      live.tables[target.id] = u.pathname + u.search;
      liveSubscribe();
    } else if (/^children-/.test(target.id)) {
      live.nodes[target.id] = u.pathname + u.search;
      liveSubscribe();
    }
  });
  // Back from the background or from offline (a closed lid, a PWA resumed):
  // a dead connection is replaced, a live one resyncs.
  function liveResume() {
    if (!live.socket || !live.elt || !document.body.contains(live.elt)) {
      return;
    }
    if (Date.now() - live.lastMessage > LIVE_QUIET_MS) {
      live.socket.reconnect();
    } else {
      liveSubscribe();
    }
  }
  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'visible') {
      liveResume();
    }
  });
  window.addEventListener('online', function () {
    live.lastMessage = 0;
    liveResume();
  });
  window.addEventListener('offline', function () { liveStatus('offline'); });
  setInterval(function () {
    if (live.socket && live.elt && document.body.contains(live.elt) && Date.now() - live.lastMessage > LIVE_QUIET_MS) {
      live.lastMessage = Date.now();
      live.socket.reconnect();
    }
  }, 15000);

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
