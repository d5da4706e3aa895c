/* The team view's org tree (views/pages/dash/team.templ): opening and
 * closing nodes, keyboard use as a WAI-ARIA tree (one tab stop; arrows
 * move, open and close; Home and End; Enter opens the person) and the
 * colour the viewer chose (completion or compliance, remembered). */
(function () {
  'use strict';
  var COLOR_KEY = 'learnlens.treeColor';

  function row(li) { return li.querySelector(':scope > .tree-row'); }
  function toggle(li) { var r = row(li); return r && r.querySelector('.tree-toggle'); }
  function kids(li) { return li.querySelector(':scope > .tree-children'); }
  function isOpen(li) { return li.getAttribute('aria-expanded') === 'true'; }
  function visible(li) { return li.getClientRects().length > 0; }
  function items(tree) {
    return Array.prototype.filter.call(tree.querySelectorAll('[role="treeitem"]'), visible);
  }

  // setOpen opens or closes li; opening a node whose reports have not
  // loaded clicks its button, which htmx loads once.
  function setOpen(li, open) {
    var t = toggle(li), k = kids(li);
    if (!t || !k) { return; }
    li.setAttribute('aria-expanded', open ? 'true' : 'false');
    t.setAttribute('aria-expanded', open ? 'true' : 'false');
    k.hidden = !open;
  }

  function focusItem(tree, li) {
    tree.querySelectorAll('[role="treeitem"][tabindex="0"]').forEach(function (el) { el.setAttribute('tabindex', '-1'); });
    li.setAttribute('tabindex', '0');
    li.focus();
  }

  // prepare gives a tree (or a level loaded into it) one tab stop and
  // levels, and takes the links and buttons inside out of the tab order:
  // the keyboard reaches them through the tree's keys.
  function prepare(root) {
    var trees = root.matches && root.matches('[data-tree]') ? [root] : root.querySelectorAll('[data-tree]');
    Array.prototype.forEach.call(trees, function (wrap) {
      var saved = null;
      try { saved = localStorage.getItem(COLOR_KEY); } catch (e) { /* private mode */ }
      if (saved === 'completion' || saved === 'compliance') {
        wrap.setAttribute('data-color', saved);
        var r = wrap.querySelector('input[name="tree-color"][value="' + saved + '"]');
        if (r) { r.checked = true; }
      }
    });
    var tree = root.closest ? root.closest('[role="tree"]') : null;
    var lists = tree ? [tree] : root.querySelectorAll('[role="tree"]');
    Array.prototype.forEach.call(lists, function (t) {
      t.querySelectorAll('[role="treeitem"]').forEach(function (li) {
        // A live push replaces a node's numbers (their dl carries the
        // bands): the node takes the new bands.
        var dl = li.querySelector(':scope > .tree-row [data-testid="node-numbers"]');
        if (dl) {
          li.setAttribute('data-completion-band', dl.getAttribute('data-completion-band'));
          li.setAttribute('data-compliance-band', dl.getAttribute('data-compliance-band'));
        }
        var level = 1, p = li.parentElement;
        while (p && p !== t) {
          if (p.getAttribute('role') === 'treeitem') { level++; }
          p = p.parentElement;
        }
        li.setAttribute('aria-level', String(level));
        li.querySelectorAll(':scope > .tree-row a, :scope > .tree-row button').forEach(function (el) { el.setAttribute('tabindex', '-1'); });
        var tg = toggle(li);
        if (tg) { tg.setAttribute('aria-expanded', isOpen(li) ? 'true' : 'false'); }
      });
      if (!t.querySelector('[role="treeitem"][tabindex="0"]')) {
        var first = t.querySelector('[role="treeitem"]');
        if (first) { first.setAttribute('tabindex', '0'); }
      }
    });
  }

  document.addEventListener('click', function (evt) {
    var t = evt.target.closest && evt.target.closest('.tree-toggle');
    if (!t) { return; }
    var li = t.closest('[role="treeitem"]');
    // The first click loads the reports (htmx) and opens; later ones
    // close and open again.
    setOpen(li, !isOpen(li));
  });

  document.addEventListener('change', function (evt) {
    if (evt.target.name !== 'tree-color') { return; }
    var wrap = evt.target.closest('[data-tree]');
    if (wrap) { wrap.setAttribute('data-color', evt.target.value); }
    try { localStorage.setItem(COLOR_KEY, evt.target.value); } catch (e) { /* private mode */ }
  });

  document.addEventListener('keydown', function (evt) {
    var li = evt.target;
    if (!li.getAttribute || li.getAttribute('role') !== 'treeitem' || evt.altKey || evt.ctrlKey || evt.metaKey) { return; }
    var tree = li.closest('[role="tree"]');
    var all = items(tree), i = all.indexOf(li), parent = li.parentElement.closest('[role="treeitem"]');
    switch (evt.key) {
    case 'ArrowDown':
      if (i + 1 < all.length) { focusItem(tree, all[i + 1]); }
      break;
    case 'ArrowUp':
      if (i > 0) { focusItem(tree, all[i - 1]); }
      break;
    case 'Home':
      focusItem(tree, all[0]);
      break;
    case 'End':
      focusItem(tree, all[all.length - 1]);
      break;
    case 'ArrowRight':
      if (toggle(li) && !isOpen(li)) {
        toggle(li).click();
      } else if (isOpen(li)) {
        var child = kids(li).querySelector('[role="treeitem"]');
        if (child) { focusItem(tree, child); }
      }
      break;
    case 'ArrowLeft':
      if (isOpen(li)) {
        toggle(li).click();
      } else if (parent) {
        focusItem(tree, parent);
      }
      break;
    case 'Enter':
      var a = row(li).querySelector('a');
      if (a) { a.click(); }
      break;
    default:
      return;
    }
    evt.preventDefault();
  });

  document.addEventListener('DOMContentLoaded', function () { prepare(document); });
  document.addEventListener('htmx:load', function (evt) { prepare(evt.detail.elt); });
})();
