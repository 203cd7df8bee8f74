/* asgi-consent banner: progressive enhancement of the server-rendered consent form.
   Without it the forms post and redirect; with it choices apply in place. */
(() => {
  'use strict';
  const d = document, me = d.currentScript;
  if (!me || window.consent) return;
  // Our own URLs resolve against the page's address, never a <base> restored below.
  const here = (url) => new URL(url, location).href;
  const data = me.dataset, endpoint = here(data.endpoint);
  const signals = JSON.parse(data.gcm || '{}');
  let state = JSON.parse(data.state || '{}');
  const byId = (id) => d.getElementById(id);
  const allows = (key) => (state.granted || []).indexOf(key) >= 0;
  // data-consent may name several categories ("analytics marketing"): all must be granted.
  const allowsAll = (keys) => keys.split(/[\s,]+/).filter(Boolean).every(allows);
  // Vendors' web storage goes with the cookies of categories not granted (EDPB 2/2023).
  const storage = JSON.parse(data.storage || '{}');
  const forget = () => {
    const off = Object.keys(storage).filter((key) => !allows(key)).map((key) => storage[key]);
    const hit = (name) => off.some((p) => p.exact.includes(name) || p.prefix.some((s) => name.startsWith(s)));
    for (const area of ['localStorage', 'sessionStorage']) {
      try {
        const store = window[area];
        Object.keys(store).filter(hit).forEach((name) => store.removeItem(name));
      } catch (err) {} // storage blocked: nothing to remove
    }
  };
  const prefsUrl = () => {
    const link = byId('consent-settings');
    return link ? here(link.getAttribute('href')) : endpoint + '/preferences?next=' +
      encodeURIComponent(location.pathname + location.search);
  };

  // Consent Mode: a signal is granted when any granted category carries it.
  const updateGoogle = () => {
    if (typeof window.gtag != 'function') return;
    const update = {};
    for (const key in signals) {
      for (const s of signals[key]) if (update[s] != 'granted') update[s] = allows(key) ? 'granted' : 'denied';
    }
    window.gtag('consent', 'update', update);
  };

  // Newly granted elements come alive in place (docs/blocking-contract.md): data-consent-<name>
  // goes back to <name>, replacing any stand-in; srcsets first, so an image is fetched once.
  const restore = (el) => {
    for (const a of el.getAttributeNames().sort((a, b) => /set$/.test(b) - /set$/.test(a))) {
      const name = a.slice(13), value = el.getAttribute(a);
      if (!a.startsWith('data-consent-')) continue;
      el.removeAttribute(a);
      if (name == 'xlink-href') el.setAttributeNS('http://www.w3.org/1999/xlink', 'xlink:href', value);
      else el.setAttribute(name, value);
      if (name == 'src') {
        el.removeAttribute('srcdoc'); // the placeholder, which would win over src
        if (el.localName == 'source' && el.parentNode.load) el.parentNode.load();
      }
    }
    // An imagesrcset alone is only preloaded when the link is inserted.
    if (el.localName == 'link' && !el.hasAttribute('href')) el.replaceWith(el);
  };
  const granted = (selector) => [...d.querySelectorAll(selector)].filter((el) => allowsAll(el.dataset.consent));
  // <base> first: every URL restored after it resolves against it.
  const activate = () => {
    for (const sel of ['base', ':not(script)']) granted(sel + '[data-consent]').forEach(restore);
  };

  // Scripts run one after the other in document order, as the parser would have run them.
  // A new element: an inert script that was parsed once never runs, even with a new type.
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

  const close = () => {
    const banner = byId('consent-banner'), link = byId('consent-settings');
    const focused = banner && banner.contains(d.activeElement);
    if (banner) banner.hidden = true;
    if (link) {
      link.hidden = false;
      if (focused) link.focus();
    }
  };

  const apply = (fresh) => {
    const before = state.granted || [];
    state = fresh;
    forget();
    // A script that already ran cannot be unloaded: only a reload withdraws it.
    const withdrawn = before.some((key) => !allows(key));
    updateGoogle();
    if (!withdrawn) activate();
    // Listeners see granted elements in place (a lazy loader can look again), scripts not yet run.
    d.dispatchEvent(new CustomEvent('consent:change', { detail: state }));
    if (withdrawn) return location.reload();
    close();
    queue = queue.then(run);
  };

  const show = async () => {
    let banner = byId('consent-banner');
    if (!banner) {
      const url = endpoint + '/preferences?part=banner&next=' +
        encodeURIComponent(location.pathname + location.search);
      try {
        const res = await fetch(url, { credentials: 'same-origin' });
        if (!res.ok) throw new Error(res.status);
        const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
        banner = d.adoptNode(doc.getElementById('consent-banner'));
        d.body.prepend(banner);
      } catch (err) {
        location.href = prefsUrl();
        return;
      }
    }
    const link = byId('consent-settings');
    if (link) link.hidden = true;
    banner.hidden = false;
    const boxes = banner.querySelectorAll('input[name="categories"]');
    if (state.decided) for (const box of boxes) box.checked = allows(box.value);
    const details = banner.querySelector('details');
    if (details) details.open = true;
    (boxes[0] || banner.querySelector('summary, button')).focus();
  };

  d.addEventListener('submit', async (event) => {
    const form = event.target;
    if (!form.closest('#consent-banner')) return;
    event.preventDefault();
    const action = (event.submitter && event.submitter.value) || 'save';
    const body = { action };
    if (form.elements.next) body.next = form.elements.next.value;
    if (action == 'save') {
      body.categories = [...form.querySelectorAll('input[name="categories"]:checked')].map((i) => i.value);
    }
    // getAttribute: `form.action` is clobbered by the buttons named "action".
    const url = here(form.getAttribute('action'));
    let fresh;
    try {
      const res = await fetch(url, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw new Error(res.status);
      fresh = await res.json();
    } catch (err) {
      // The plain form post works wherever fetch does not.
      const field = d.createElement('input');
      field.type = 'hidden';
      field.name = 'action';
      field.value = action;
      form.append(field);
      form.setAttribute('action', url);
      form.submit();
      return;
    }
    apply(fresh);
  });

  d.addEventListener('click', (event) => {
    const link = event.target.closest && event.target.closest('#consent-settings');
    if (!link || event.button || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    show();
  });

  // Escape closes the customise layer (never a choice); for a visitor who has decided
  // it then closes the reopened banner.
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

  forget(); // also what an earlier visit or a plain form post declined
  window.consent = { get: () => state, allows, show };
})();
