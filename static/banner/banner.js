/* asgi-consent: choices apply in place (without this script the forms post and redirect). */
(() => {
  'use strict';
  const d = document, me = d.currentScript;
  if (!me || window.consent) return;
  // Our URLs resolve against the page's address, never a <base> restored below.
  const here = (url) => new URL(url, location).href;
  const data = me.dataset, endpoint = here(data.endpoint);
  const signals = JSON.parse(data.gcm || '{}');
  let state = JSON.parse(data.state || '{}');
  const byId = (id) => d.getElementById(id);
  const allows = (key) => (state.allowed || []).includes(key);
  // data-consent="analytics marketing": all of them
  const allowsAll = (keys) => keys.split(/[\s,]+/).filter(Boolean).every(allows);
  // Vendors' web storage of categories not granted goes too (EDPB 2/2023).
  const storage = JSON.parse(data.storage || '{}');
  const forget = () => {
    const off = Object.keys(storage).filter((key) => !allows(key)).map((key) => storage[key]);
    const hit = (name) => off.some((p) => p.exact.includes(name) || p.prefix.some((s) => name.startsWith(s)));
    for (const area of ['localStorage', 'sessionStorage']) {
      // web storage may be blocked
      try {
        const store = window[area];
        Object.keys(store).filter(hit).forEach((name) => store.removeItem(name));
      } catch (err) {}
    }
  };
  const prefs = (query) => endpoint + '/preferences?' + query + 'next=' +
    encodeURIComponent(location.pathname + location.search);
  // data-state's fields
  const keep = ({ revision, decided, granted, denied, gpc, allowed }) => ({ revision, decided, granted, denied, gpc, allowed });
  const get = () => structuredClone(state);

  // Our fixed boxes follow the visual viewport (banner.css), unless zoomed in.
  const fit = () => {
    const v = window.visualViewport;
    if (v.scale < 1.01) for (const el of d.querySelectorAll('#consent-banner,#consent-settings')) {
      el.style.cssText = `--_l:${v.offsetLeft}px;--_t:${v.offsetTop}px`;
    }
  };

  // Consent Mode: granted when any granted category carries it.
  const updateGoogle = () => {
    if (typeof window.gtag != 'function') return;
    const update = {};
    for (const key in signals) {
      for (const s of signals[key]) if (update[s] != 'granted') update[s] = allows(key) ? 'granted' : 'denied';
    }
    window.gtag('consent', 'update', update);
  };

  // docs/blocking-contract.md: data-consent-<name> goes back to <name>; srcsets first (one fetch).
  const restore = (el) => {
    for (const a of el.getAttributeNames().sort((a, b) => /set$/.test(b) - /set$/.test(a))) {
      const name = a.slice(13), value = el.getAttribute(a);
      if (!a.startsWith('data-consent-')) continue;
      el.removeAttribute(a);
      if (name == 'xlink-href') el.setAttributeNS('http://www.w3.org/1999/xlink', 'xlink:href', value);
      else el.setAttribute(name, value);
      if (name == 'src') {
        // the placeholder beats src
        el.removeAttribute('srcdoc');
        if (el.localName == 'source' && el.parentNode.load) el.parentNode.load();
      }
    }
    // a lone imagesrcset is preloaded on insertion only
    if (el.localName == 'link' && !el.hasAttribute('href')) el.replaceWith(el);
  };
  const granted = (selector) => [...d.querySelectorAll(selector)].filter((el) => allowsAll(el.dataset.consent));
  // <base> first: every URL restored after it resolves against it.
  const activate = () => {
    for (const sel of ['base', ':not(script)']) granted(sel + '[data-consent]').forEach(restore);
  };

  // In document order, one at a time, as new elements (a parsed inert script never runs).
  const run = async () => {
    for (const old of granted('script[type="text/plain"][data-consent]')) {
      const s = old.cloneNode(true);
      s.removeAttribute('type');
      restore(s);
      s.nonce = old.nonce;
      let loaded;
      if (['src', 'href', 'xlink:href'].some((n) => s.hasAttribute(n)) && !s.hasAttribute('async')) {
        loaded = new Promise((done) => ['load', 'error'].forEach((t) => s.addEventListener(t, done)));
      }
      old.replaceWith(s);
      await loaded;
    }
  };
  let queue = Promise.resolve();

  let opener;
  const close = () => {
    const banner = byId('consent-banner'), link = byId('consent-settings'), back = link || opener;
    const focused = banner?.contains(d.activeElement);
    if (banner) banner.hidden = true;
    if (link) link.hidden = false;
    if (focused && back) back.focus();
  };

  const apply = (fresh) => {
    const before = state.allowed || [];
    state = keep(fresh);
    forget();
    // A script that ran cannot be unloaded: withdrawing reloads. So does a grant where the
    // page's CSP was narrowed (data-reload): the browser would refuse what it allows.
    const reload = before.some((key) => !allows(key)) || 'reload' in data && state.allowed.some((key) => !before.includes(key));
    updateGoogle();
    if (!reload) activate();
    // Listeners find granted elements in place, before their scripts run.
    d.dispatchEvent(new CustomEvent('consent:change', { detail: get() }));
    if (reload) return location.reload();
    close();
    queue = queue.then(run);
  };

  const show = async () => {
    let banner = byId('consent-banner');
    opener = d.activeElement;
    if (!banner) {
      try {
        const res = await fetch(prefs('part=banner&'));
        if (!res.ok) throw new Error(res.status);
        const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
        banner = d.adoptNode(doc.getElementById('consent-banner'));
        d.body.prepend(banner);
      } catch (err) {
        location.href = prefs('');
        return;
      }
    }
    const link = byId('consent-settings');
    if (link) link.hidden = true;
    banner.hidden = false;
    if (window.visualViewport) fit();
    const boxes = banner.querySelectorAll('[type=checkbox][name]');
    if (state.decided) for (const box of boxes) box.checked = allows(box.value);
    const details = banner.querySelector('details');
    if (details) details.open = true;
    (boxes[0] || banner.querySelector('summary, button')).focus();
  };

  d.addEventListener('submit', async (event) => {
    const form = event.target;
    if (!form.closest('#consent-banner')) return;
    event.preventDefault();
    const action = event.submitter?.value || 'save';
    const body = new URLSearchParams(new FormData(form));
    body.set('action', action);
    // not `form.action`: the buttons named "action" clobber it
    const url = here(form.getAttribute('action'));
    let fresh;
    try {
      const res = await fetch(url, { method: 'POST', headers: { Accept: 'application/json' }, body });
      if (!res.ok) throw new Error(res.status);
      fresh = await res.json();
    } catch (err) {
      // the plain post instead
      form.append(Object.assign(d.createElement('input'), { type: 'hidden', name: 'action', value: action }));
      form.setAttribute('action', url);
      form.submit();
      return;
    }
    apply(fresh);
  });

  d.addEventListener('change', (event) => {
    const cat = event.target.closest('.consent-cats > div')?.querySelector('input');
    if (cat && !event.target.checked) cat.checked = false;
    if (event.target == cat) for (const box of cat.parentNode.querySelectorAll('input')) box.checked = cat.checked;
  });

  d.addEventListener('click', (event) => {
    const link = event.target.closest?.('#consent-settings,[data-consent-open]');
    if (!link || event.button || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    show();
  });

  // Escape closes the customise layer (never a choice), then a reopened banner.
  d.addEventListener('keydown', (event) => {
    const banner = byId('consent-banner');
    if (event.key != 'Escape' || !banner || banner.hidden || !banner.contains(d.activeElement)) return;
    const details = banner.querySelector('details[open]');
    if (details) {
      details.open = false;
      details.querySelector('summary').focus();
    } else if (state.decided) {
      close();
    }
  });

  // what a plain post or an earlier visit declined
  forget();
  if (window.visualViewport) {
    for (const type of ['resize', 'scroll']) visualViewport.addEventListener(type, fit);
    fit();
  }
  window.consent = { get, allows, show };
})();
