/* asgi-consent banner: progressive enhancement of the server-rendered consent form.
   Without it the forms post and redirect; with it choices apply in place. */
(() => {
  'use strict';
  const d = document, me = d.currentScript;
  if (!me || window.consent) return;
  const data = me.dataset, endpoint = data.endpoint;
  const signals = JSON.parse(data.gcm || '{}');
  let state = JSON.parse(data.state || '{}');
  const byId = (id) => d.getElementById(id);
  const allows = (key) => (state.granted || []).indexOf(key) >= 0;
  // data-consent may name several categories ("analytics marketing"): all must be granted.
  const allowsAll = (keys) => keys.split(/[\s,]+/).filter(Boolean).every(allows);
  const prefsUrl = () => {
    const link = byId('consent-settings');
    return link ? link.href : endpoint + '/preferences?next=' +
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

  // Newly granted embeds and scripts come alive without a reload. Scripts run one after
  // the other in document order, as the parser would have run them.
  const activate = async () => {
    for (const el of d.querySelectorAll('[data-consent][data-consent-src],[data-consent][data-consent-srcset]')) {
      if (!allowsAll(el.dataset.consent)) continue;
      el.removeAttribute('srcdoc');
      for (const name of ['srcset', 'src']) {
        const value = el.getAttribute('data-consent-' + name);
        if (value != null) {
          el.removeAttribute('data-consent-' + name);
          el.setAttribute(name, value);
        }
      }
    }
    for (const old of d.querySelectorAll('script[type="text/plain"][data-consent]')) {
      if (!allowsAll(old.dataset.consent)) continue;
      // A new element: an inert script that was parsed once never runs, even with a new type.
      const s = d.createElement('script');
      for (const a of old.attributes) s.setAttribute(a.name, a.value);
      if (old.dataset.consentType) s.type = old.dataset.consentType;
      else s.removeAttribute('type');
      s.nonce = old.nonce;
      s.text = old.text;
      let loaded;
      if (s.src && !old.hasAttribute('async')) {
        s.async = false;
        loaded = new Promise((done) => { s.onload = s.onerror = done; });
      }
      old.replaceWith(s);
      await loaded;
    }
  };

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
    updateGoogle();
    d.dispatchEvent(new CustomEvent('consent:change', { detail: state }));
    // A script that already ran cannot be unloaded: only a reload withdraws it.
    if (before.some((key) => !allows(key))) return location.reload();
    close();
    activate();
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
    let fresh;
    try {
      // getAttribute: `form.action` is clobbered by the buttons named "action".
      const res = await fetch(form.getAttribute('action'), {
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

  window.consent = { get: () => state, allows, show };
})();
