// DOM and formatting helpers shared by the pages.
//
// Everything the API returns goes into the page as text (text nodes,
// textContent, attribute values), never as markup. No inline styles: the CSP
// allows only the stylesheet, so looks are classes.
(function () {
  'use strict';
  const S = (window.Scepter = window.Scepter || {});
  const SVG_NS = 'http://www.w3.org/2000/svg';

  function append(parent, children) {
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) append(parent, child);
      else if (child instanceof Node) parent.appendChild(child);
      else parent.appendChild(document.createTextNode(String(child)));
    }
  }

  function setAttributes(el, attrs) {
    if (!attrs) return;
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') el.setAttribute('class', value);
      else if (key === 'testid') el.setAttribute('data-testid', value);
      else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
      else if (value === true) el.setAttribute(key, '');
      else el.setAttribute(key, String(value));
    }
  }

  /** Creates an HTML element: h('td', {class: 'num', testid: 'x'}, 'text', node, [more]). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    setAttributes(el, attrs);
    append(el, children);
    return el;
  }

  /** Creates an SVG element; attributes are presentation attributes, which the CSP allows. */
  function svg(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    setAttributes(el, attrs);
    append(el, children);
    return el;
  }

  /** Replaces the children of an element. */
  function fill(el, ...children) {
    el.replaceChildren();
    append(el, children);
    return el;
  }

  const $ = (selector, root) => (root || document).querySelector(selector);

  // ---- Times -------------------------------------------------------------

  /** "2026-11-30T11:09:47Z" -> "2026-11-30 11:09:47 UTC"; anything else as it is. */
  function formatTime(iso) {
    if (!iso) return '\u2014';
    const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?Z$/.exec(iso);
    if (m) return `${m[1]} ${m[2]} UTC`;
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? String(iso) : formatTime(toISO(d));
  }

  /** A <time> element showing UTC, with the browser's local time as its tooltip. */
  function timeEl(iso) {
    if (!iso) return muted('\u2014');
    const d = new Date(iso);
    const title = Number.isNaN(d.getTime()) ? null : 'Local time: ' + d.toLocaleString();
    return h('time', { datetime: iso, title }, formatTime(iso));
  }

  /** ISO 8601 UTC to the second, as the API writes times. */
  function toISO(date) {
    return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  /**
   * The value of a datetime-local input (the browser's local time) as ISO 8601 UTC.
   * Returns '' for an empty input; throws an Error naming the field when it does not parse.
   */
  function localInputToISO(input, fieldName) {
    const value = (input.value || '').trim();
    if (!value) {
      if (input.validity && input.validity.badInput) throw new Error(`${fieldName}: the date is incomplete.`);
      return '';
    }
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) throw new Error(`${fieldName}: \u201c${value}\u201d is not a date and time.`);
    return toISO(d);
  }

  /** "3 min ago", "in 2 h": the distance from `now` (ms) to an ISO time. */
  function ago(iso, now) {
    const t = new Date(iso).getTime();
    if (Number.isNaN(t)) return '';
    const seconds = Math.round(((now === undefined ? Date.now() : now) - t) / 1000);
    const abs = Math.abs(seconds);
    let text;
    if (abs < 60) text = `${abs} s`;
    else if (abs < 3600) text = `${Math.round(abs / 60)} min`;
    else if (abs < 86400 * 2) text = `${Math.round(abs / 3600)} h`;
    else text = `${Math.round(abs / 86400)} days`;
    return seconds >= 0 ? `${text} ago` : `in ${text}`;
  }

  function plural(n, one, many) {
    return `${n} ${n === 1 ? one : many}`;
  }

  // ---- Pieces ------------------------------------------------------------

  /** A status badge: colour from `kind`, meaning always in the text. */
  function badge(text, kind, attrs) {
    return h('span', Object.assign({ class: `badge badge-${kind}` }, attrs || {}), text);
  }

  const STATE_KIND = { active: 'green', expired: 'grey', revoked: 'red', superseded: 'amber' };
  function stateBadge(state, attrs) {
    return badge(state || 'unknown', STATE_KIND[state] || 'grey', attrs);
  }

  /** An outcome label with its meaning as tooltip; `success`/`pending` in neutral colours, refusals in red. */
  function outcomeBadge(label) {
    const info = S.labels.outcome(label);
    const kind = label === 'success' ? 'green' : label === 'pending' ? 'grey' : 'red';
    return badge(label || '\u2014', kind, { title: info.meaning });
  }

  /**
   * A table in a horizontally scrollable, keyboard-focusable region.
   * columns: [{title, class}]; rows: <tr> elements; empty: text shown when there are no rows.
   */
  function table({ caption, columns, rows, empty, testid, className }) {
    if (!rows.length && empty) return h('p', { class: 'empty' }, empty);
    const t = h('table', { class: className || null, testid: testid || null },
      caption ? h('caption', null, caption) : null,
      h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col', class: c.class || null }, c.title)))),
      h('tbody', null, rows));
    return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption || columns.map((c) => c.title).join(', ') }, t);
  }

  /** A definition list from [term, value] pairs; pairs with an undefined value are left out. */
  function dl(pairs, className) {
    const list = h('dl', { class: className || 'fields' });
    for (const [term, value, attrs] of pairs) {
      if (value === undefined) continue;
      list.appendChild(h('div', attrs || null, h('dt', null, term), h('dd', null, value === null || value === '' ? muted('\u2014') : value)));
    }
    return list;
  }

  /**
   * A table row's **More**: [term, value] pairs folded into a compact list, for the fields a
   * row has no column for. Pairs without a value are left out; with none left, null (no More).
   * attrs: the <details>' own (a data-key keeps it open across a redraw, intune.js).
   */
  function more(pairs, attrs) {
    const shown = pairs.filter(([, v]) => v !== undefined && v !== null && v !== '');
    if (!shown.length) return null;
    return h('details', Object.assign({ class: 'more' }, attrs || {}),
      h('summary', null, 'More'),
      h('dl', { class: 'fields compact' }, shown.map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, v)))));
  }

  /**
   * A CSR's SANs as the audit record holds them (`DNS:a.example,UPN:b@c.example,URI:…`), one name
   * a line. Parted only before a known type: a URI, such as Intune's SID URI, may hold a comma.
   */
  function sanList(summary) {
    const names = String(summary).split(/,(?=(?:DNS|email|UPN|URI|IP):)/);
    return h('ul', { class: 'plain' }, names.map((name) => h('li', null, name)));
  }

  function code(text, attrs) {
    return h('code', attrs || null, text);
  }

  /** Fingerprint shortened for tables, full value in the tooltip. */
  function shortFingerprint(fp) {
    const s = String(fp || '');
    return h('code', { class: 'fingerprint', title: s }, s.length > 20 ? `${s.slice(0, 12)}\u2026${s.slice(-6)}` : s);
  }

  // ---- Page status and the error banner ---------------------------------

  function setStatus(el, text, kind) {
    el.textContent = text || '';
    el.classList.toggle('status-error', kind === 'error');
    el.classList.toggle('status-ok', kind === 'ok');
  }

  /**
   * The status line of a page whose figures are refreshed (overview, Intune). After a failed
   * refresh the figures shown stay, marked out of date: the content element gets the class
   * stale (dashed and greyed, console.css) and the line gives the failed refresh's time and the
   * time the figures are from. Takes selectors: the elements are looked up on each call.
   */
  function freshness(statusSelector, contentSelector) {
    let asOf = ''; // when the figures shown are from (ISO), '' while none are shown
    const mark = (stale) => $(contentSelector).classList.toggle('stale', stale);
    return {
      /** Whether figures are shown. */
      get shown() { return asOf !== ''; },
      /** A refresh started; `first` is the line while no figures are shown. */
      refreshing(first) {
        setStatus($(statusSelector), asOf ? `Refreshing\u2026 The figures below are as of ${formatTime(asOf)}.` : first);
      },
      /** The figures from `iso` are shown, with `line` as the status line. */
      current(iso, line) {
        asOf = iso;
        mark(false);
        setStatus($(statusSelector), line);
      },
      /** A refresh failed; `first` is the line when no figures are shown. */
      failed(first) {
        if (!asOf) {
          setStatus($(statusSelector), first, 'error');
          return;
        }
        // An operator must not take old figures for current ones: they stay, marked with their time.
        mark(true);
        setStatus($(statusSelector), `Out of date: the refresh at ${formatTime(toISO(new Date()))} failed. `
          + `The figures below are as of ${formatTime(asOf)}.`, 'error');
      },
      /** No figures shown (after sign-out). */
      clear() {
        asOf = '';
        mark(false);
        setStatus($(statusSelector), '');
      },
    };
  }

  /** Shows an API error in the banner: `context` says what failed, the message comes from the server. */
  function showError(error, context) {
    const message = error instanceof Error ? error.message : String(error);
    $('#error-text').textContent = context ? `${context}: ${message}` : message;
    $('#error').hidden = false;
  }

  function clearError() {
    $('#error').hidden = true;
    $('#error-text').textContent = '';
  }

  /** A one-line error inside a dialog or panel. */
  function errorLine(error, context) {
    const message = error instanceof Error ? error.message : String(error);
    return h('p', { class: 'form-error', role: 'alert' }, context ? `${context}: ${message}` : message);
  }

  /** Saves a Blob under a file name through a temporary object URL (no token in any URL). */
  function download(blob, filename) {
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: filename, class: 'visually-hidden' }, filename);
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  /** Opens a <dialog> modally and focuses `focusTarget`; on close, focus returns to `opener` if still in the page. */
  function openDialog(dialog, focusTarget, opener) {
    if (!dialog.open) dialog.showModal();
    if (focusTarget) focusTarget.focus();
    dialog.addEventListener('close', () => {
      if (opener && opener.isConnected) opener.focus();
      else {
        const heading = document.querySelector('.page:not([hidden]) h1');
        if (heading) heading.focus();
      }
    }, { once: true });
  }

  /**
   * After a pager button: shows the new page of a list from its top, as following a link would.
   * `head` (the status line above the table) comes to the top of the window when it is out of
   * sight; focus goes to the table's region, since the button pressed may now be hidden.
   */
  function showListTop(head, results) {
    const top = head.getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight) head.scrollIntoView({ block: 'start' });
    const region = results.querySelector('.table-wrap');
    if (region) region.focus({ preventScroll: true });
  }

  /** Text shown greyed: a value that is absent, a default. */
  const muted = (text) => h('span', { class: 'muted' }, text);

  /**
   * A page that loads one answer and draws it (the overview, the profiles): its Refresh button
   * (#<id>-refresh), its freshness line (#<id>-status) over #<id>-content, and answers that
   * arrive after the page was left or loaded again dropped. `fetch` gets the answer, `render`
   * draws it, `what` names it in the failure line, `label` in the error banner.
   */
  function loadedPage(id, { fetch, render, what, label }) {
    let generation = 0;
    const status = freshness(`#${id}-status`, `#${id}-content`);
    async function load() {
      const mine = ++generation;
      status.refreshing('Loading\u2026');
      try {
        const answer = await fetch();
        if (mine !== generation) return;
        render(answer);
        const asOf = toISO(new Date());
        status.current(asOf, `As of ${formatTime(asOf)}.`);
      } catch (error) {
        if (mine !== generation) return;
        status.failed(`The ${what} could not be loaded.`);
        showError(error, label);
      }
    }
    return {
      init() {
        $(`#${id}-refresh`).addEventListener('click', () => { clearError(); load(); });
      },
      show() { load(); },
      hide() { generation++; },
      reset() {
        generation++;
        status.clear();
        fill($(`#${id}-content`));
      },
    };
  }

  /** A copy of the single element a <template> holds. */
  function cloneTemplate(id) {
    return document.getElementById(id).content.firstElementChild.cloneNode(true);
  }

  /** A profile's or issuer's variable prefix, as the configuration names it (Settings.variableName): SCEPTER_<KIND>_<NAME>_. */
  const variablePrefix = (kind, name) => `SCEPTER_${kind}_${String(name).toUpperCase().replace(/-/g, '_')}_`;

  S.ui = {
    variablePrefix, h, svg, fill, $, formatTime, timeEl, toISO, localInputToISO, ago, plural,
    badge, stateBadge, outcomeBadge, table, dl, more, sanList, code, shortFingerprint,
    setStatus, freshness, loadedPage, muted, showError, clearError, errorLine, download, openDialog, showListTop, cloneTemplate,
  };
})();
