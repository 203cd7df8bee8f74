/* asgi-consent: a blocked embed's placeholder, run inside it (its iframe's srcdoc document,
   which has the page's origin). Without this script its link and form work as they are. */
(() => {
  'use strict';
  let frame;
  try {
    frame = window.frameElement; // null in a sandboxed (opaque) frame: plain links and form
  } catch (err) {}
  if (!frame) return;
  const d = document, root = d.documentElement, page = frame.ownerDocument;
  // The page's CSP was narrowed for this visitor: what the link and form allow needs a new
  // response, so they work as they do without this script (banner.js: data-reload).
  const narrowed = page.getElementById('consent-js')?.hasAttribute('data-reload');

  // Theme: the page's --consent-* properties (custom properties stop at the iframe) and its
  // dark/light class.
  const style = getComputedStyle(frame);
  const names = 'bg fg accent accent-fg border'.split(' ');
  for (const name of [...names, ...names.map((n) => 'dark-' + n), 'radius', 'font', 'font-size']) {
    const value = style.getPropertyValue('--consent-' + name);
    if (value) root.style.setProperty('--consent-' + name, value);
  }
  for (const mode of ['dark', 'light']) {
    if (page.documentElement.classList.contains(mode)) root.classList.add(mode);
  }

  // docs/blocking-contract.md, as banner.js restores: data-consent-<name> goes back to <name>,
  // srcsets first; an iframe's src replaces this very document.
  const restore = (el) => {
    for (const a of el.getAttributeNames().sort((a, b) => /set$/.test(b) - /set$/.test(a))) {
      if (!a.startsWith('data-consent-')) continue;
      const name = a.slice(13), value = el.getAttribute(a);
      el.removeAttribute(a);
      if (name == 'xlink-href') el.setAttributeNS('http://www.w3.org/1999/xlink', 'xlink:href', value);
      else el.setAttribute(name, value);
      if (name == 'src') {
        el.removeAttribute('srcdoc');
        if (el.localName == 'source' && el.parentNode.load) el.parentNode.load();
      }
    }
  };

  // "Load this once": this embed, now, in place; nothing is posted, stored or recorded.
  d.addEventListener('click', (event) => {
    const link = event.target.closest('a[data-once]');
    if (!link || narrowed || event.button || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    restore(frame);
  });

  // "Always allow <service>": the decision posted as banner.js posts one, then everything it
  // allows now comes back in place (this frame too); the plain post if that fails.
  d.addEventListener('submit', async (event) => {
    const form = event.target, field = (name) => form.elements[name].value;
    if (narrowed) return;
    event.preventDefault();
    let fresh;
    try {
      // not `form.action`: the field named "action" clobbers it
      const res = await fetch(form.getAttribute('action'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ action: field('action'), service: field('service'), next: field('next') }),
      });
      if (!res.ok) throw new Error(res.status);
      fresh = await res.json();
    } catch (err) {
      form.submit();
      return;
    }
    const allowed = fresh.allowed || [];
    const allows = (el) => el.dataset.consent.split(/[\s,]+/).filter(Boolean).every((k) => allowed.includes(k));
    const all = (selector) => [...page.querySelectorAll(selector)].filter(allows);
    for (const sel of ['base', ':not(script)']) all(sel + '[data-consent]').forEach(restore);
    const { revision, decided, granted, denied, gpc } = fresh;
    page.dispatchEvent(new CustomEvent('consent:change', { detail: { revision, decided, granted, denied, gpc, allowed } }));
    // Scripts run in document order (async = false keeps the order of external ones).
    for (const old of all('script[type="text/plain"][data-consent]')) {
      const s = old.cloneNode(true);
      s.removeAttribute('type');
      restore(s);
      s.nonce = old.nonce;
      s.async = old.hasAttribute('async');
      old.replaceWith(s);
    }
  });
})();
