/* LearnLens filter bar: the manager picker (a combobox over GET
 * /people/search), the phone layout's "Filters" button and removable
 * chips, and From/To edits switching the period to Custom. Plain ES2017,
 * no build step; the filter form itself is htmx (views/pages/dash/frame.templ). */
(function () {
  'use strict';

  function filterForm() {
    return document.getElementById('filters');
  }

  // A change of a form field bubbles to the form, whose hx-trigger sends it.
  function changed(field) {
    field.dispatchEvent(new Event('change', { bubbles: true }));
  }

  // ----- From/To: editing a date makes the period Custom -----
  // Capture phase: runs before htmx reads the form on the bubbling change.
  document.addEventListener('change', function (evt) {
    var t = evt.target;
    if (!t.matches || !t.matches('[data-filter-date]')) {
      return;
    }
    var range = t.form && t.form.querySelector('select[name="range"]');
    if (range) {
      range.value = 'custom';
    }
  }, true);

  // ----- Phones: the "Filters" button and the chips -----
  document.addEventListener('click', function (evt) {
    var toggle = evt.target.closest && evt.target.closest('[data-filters-toggle]');
    if (toggle) {
      var form = filterForm();
      if (form) {
        var open = form.classList.toggle('hidden') === false;
        toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
      }
      return;
    }
    var clear = evt.target.closest && evt.target.closest('[data-clear-filter]');
    if (clear) {
      clearFilter(clear.getAttribute('data-clear-filter'));
    }
  });

  // clearFilter resets one filter of the form and sends it.
  function clearFilter(param) {
    var form = filterForm();
    if (!form) {
      return;
    }
    var field = form.querySelector('[name="' + param + '"]');
    if (!field) {
      return;
    }
    if (param === 'range') {
      field.value = form.getAttribute('data-default-range') || '';
    } else {
      field.value = '';
    }
    if (param === 'manager') {
      var slot = form.querySelector('[data-picker-chip]');
      if (slot) {
        slot.textContent = '';
      }
      var input = form.querySelector('[data-picker-input]');
      if (input) {
        input.focus();
      }
    }
    changed(field);
  }

  // ----- The manager picker -----
  var timer = null;
  var seq = 0;

  function picker(el) {
    return el.closest && el.closest('[data-people-picker]');
  }

  function parts(p) {
    return {
      input: p.querySelector('[data-picker-input]'),
      list: p.querySelector('[data-picker-list]'),
      value: p.querySelector('[data-picker-value]'),
      slot: p.querySelector('[data-picker-chip]')
    };
  }

  function options(x) {
    return Array.prototype.slice.call(x.list.querySelectorAll('[role="option"]'));
  }

  function openList(x, open) {
    x.list.classList.toggle('hidden', !open);
    x.input.setAttribute('aria-expanded', open ? 'true' : 'false');
    if (!open) {
      x.input.removeAttribute('aria-activedescendant');
    }
  }

  function activate(x, i) {
    var opts = options(x);
    opts.forEach(function (o, j) {
      o.setAttribute('aria-selected', j === i ? 'true' : 'false');
    });
    if (opts[i]) {
      x.input.setAttribute('aria-activedescendant', opts[i].id);
      opts[i].scrollIntoView({ block: 'nearest' });
    }
  }

  function search(x) {
    var mine = ++seq;
    var q = x.input.value.trim();
    fetch('/people/search?q=' + encodeURIComponent(q), {
      credentials: 'same-origin',
      headers: { 'HX-Request': 'true' }
    }).then(function (res) {
      if (!res.ok) {
        throw new Error('search failed: ' + res.status);
      }
      return res.text();
    }).then(function (html) {
      if (mine !== seq) {
        return; // a later search answers instead
      }
      x.list.innerHTML = html;
      openList(x, true);
    }).catch(function () {
      if (mine !== seq) {
        return;
      }
      x.list.innerHTML = '';
      var li = document.createElement('li');
      li.className = 'px-3 py-2 text-gray-600';
      li.setAttribute('data-testid', 'picker-empty');
      li.textContent = navigator.onLine === false
        ? 'Searching people needs a connection'
        : 'The search did not answer; try again';
      x.list.appendChild(li);
      openList(x, true);
    });
  }

  // choose makes option o the manager filter: a chip, and the form sent.
  function choose(x, o) {
    x.value.value = o.getAttribute('data-id');
    x.slot.textContent = '';
    var chip = document.createElement('span');
    chip.className = 'inline-flex max-w-full items-center gap-1 rounded-full bg-gray-100 py-1 pl-3 pr-1 text-sm text-gray-800';
    chip.setAttribute('data-testid', 'manager-chip');
    chip.setAttribute('data-param', 'manager');
    var label = document.createElement('span');
    label.className = 'truncate';
    label.textContent = o.getAttribute('data-name') + "'s people";
    var remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'rounded-full px-2 text-gray-600 hover:bg-gray-200 hover:text-gray-900';
    remove.setAttribute('aria-label', 'Remove filter: ' + label.textContent);
    remove.setAttribute('data-clear-filter', 'manager');
    remove.textContent = '×';
    chip.appendChild(label);
    chip.appendChild(remove);
    x.slot.appendChild(chip);
    x.input.value = '';
    openList(x, false);
    changed(x.value);
  }

  document.addEventListener('input', function (evt) {
    var p = picker(evt.target);
    if (!p || !evt.target.matches('[data-picker-input]')) {
      return;
    }
    var x = parts(p);
    clearTimeout(timer);
    timer = setTimeout(function () { search(x); }, 150);
  });

  document.addEventListener('focusin', function (evt) {
    var p = picker(evt.target);
    if (p && evt.target.matches('[data-picker-input]') && !options(parts(p)).length) {
      search(parts(p));
    }
  });

  document.addEventListener('focusout', function (evt) {
    var p = picker(evt.target);
    if (!p || !evt.target.matches('[data-picker-input]')) {
      return;
    }
    // Let a click on an option land first.
    setTimeout(function () {
      if (!p.contains(document.activeElement)) {
        openList(parts(p), false);
      }
    }, 150);
  });

  document.addEventListener('keydown', function (evt) {
    var p = picker(evt.target);
    if (!p || !evt.target.matches('[data-picker-input]')) {
      return;
    }
    var x = parts(p);
    var opts = options(x);
    var i = opts.findIndex(function (o) { return o.getAttribute('aria-selected') === 'true'; });
    switch (evt.key) {
      case 'ArrowDown':
        evt.preventDefault();
        if (x.list.classList.contains('hidden')) {
          search(x);
          return;
        }
        activate(x, Math.min(i + 1, opts.length - 1));
        break;
      case 'ArrowUp':
        evt.preventDefault();
        activate(x, Math.max(i - 1, 0));
        break;
      case 'Enter':
        // Never submits the filter form with a half-typed name.
        evt.preventDefault();
        if (i >= 0) {
          choose(x, opts[i]);
        } else if (opts.length === 1) {
          choose(x, opts[0]);
        }
        break;
      case 'Escape':
        openList(x, false);
        break;
    }
  });

  document.addEventListener('mousedown', function (evt) {
    var o = evt.target.closest && evt.target.closest('[data-picker-list] [role="option"]');
    if (!o) {
      return;
    }
    evt.preventDefault(); // keeps focus in the input
    choose(parts(picker(o)), o);
  });
})();
