/* asgi-consent runtime guard (docs/guard.md): what scripts add later meets the server's
   rules before it can fetch, and takes the inert form of docs/blocking-contract.md. */
(() => {
  'use strict';
  const d = document, me = d.currentScript, E = Element.prototype, set = E.setAttribute;
  const setNS = E.setAttributeNS, rm = E.removeAttribute, T = d.getElementById('consent-hosts')?.hosts || {};
  if (!me || set.g) return;
  const data = me.dataset, F = {}, cache = new Map(), held = new Set(), done = new WeakSet();
  let ok, back;
  const grant = (keys) => (ok = new Set([...keys, ...(T.r || [])]));
  grant((data.allowed || '').split(' '));
  for (const e of 'script:src,href,xlink:href img:src,srcset,href,xlink:href image:src,srcset,href,xlink:href use:href,xlink:href feimage:href,xlink:href source:src,srcset iframe:src frame:src input:src embed:src audio:src track:src video:src,poster object:data link:href,imagesrcset base:href'.split(' ')) {
    const [tag, a] = e.split(':');
    F[tag] = a.split(',');
  }
  const SEL = Object.keys(F) + ',feImage';
  const tables = (T.t || []).map(([hosts, globs]) => [hosts, globs.map(([re, p, k]) => [RegExp(`^(?:${re})$`), p, k])]);
  // The key a URL needs ('' none), as BlockingRules decides: the operator's table first,
  // then the most specific host, the longest path, then the '*' patterns
  const keyOf = (url) => {
    let k = cache.get(url), found;
    if (k == null) {
      k = '';
      try {
        const u = new URL(url, d.baseURI), host = u.hostname.replace(/\.$/, ''), path = u.pathname;
        for (const [hosts, globs] of /^https?:$/.test(u.protocol) ? tables : []) {
          for (let h = host; !found; h = h.slice(h.indexOf('.') + 1)) {
            found = Object.hasOwn(hosts, h) && hosts[h].find(([p]) => path.startsWith(p));
            if (!h.includes('.')) break;
          }
          found = found || globs.find(([re, p]) => re.test(host) && path.startsWith(p))?.slice(1);
          if (found) break;
        }
        k = found ? found[1] : '';
        // a Google tag loaded for an Ads or Floodlight id is marketing
        if (k && T.a && /id=(AW|DC)-/.test(u.search) && T.a[1].some((s) => ('.' + host).endsWith('.' + s))) k = T.a[0];
      } catch (err) {}
      if (cache.size > 999) cache.clear();
      cache.set(url, k);
    }
    return k;
  };
  const allowed = (k) => ok.has(k) || ok.has(T.n?.[k.toLowerCase().replace(/[\s-]+/g, '_')]);
  const label = (el) => {
    if (/^\s*ignore\s*$/i.test(el.getAttribute('data-cookieconsent'))) return [];
    for (const a of ['data-consent', 'data-cookieconsent', 'data-category']) {
      const v = el.getAttribute(a)?.trim();
      if (v) return v.split(/[\s,;]+/);
    }
  };
  const saved = (a) => 'data-consent-' + a.replace(':', '-');
  // Blocks el if it lacks a key: its label's, else its URLs'. A script goes text/plain (its
  // src is harmless then); true when the URLs in pairs must go to data-consent-<name>.
  const block = (el, pairs) => {
    const tag = el.localName.toLowerCase(), script = tag == 'script', type = el.getAttribute('type');
    if (done.has(el) || (script && !/^\s*$|module|script/i.test(type || ''))) return;
    let keys = label(el) || pairs.flatMap(([a, v]) => (/set$/.test(a) ? v.split(',') : [v]).map((u) => keyOf(u.trim().split(/\s/)[0])));
    keys = [...new Set(keys)].filter((k) => k && !allowed(k));
    if (!keys.length) return;
    if (!el.hasAttribute('data-consent')) set.call(el, 'data-consent', keys.join(' '));
    if (tag == 'iframe' && !el.hasAttribute('srcdoc')) {
      // a stand-in linking the preferences page (the full placeholder needs the language)
      const esc = (s) => s.replace(/[&"<]/g, (c) => `&#${c.charCodeAt()};`), [css, prefs] = data.placeholder.split(' ');
      set.call(el, 'srcdoc', `<!doctype html><link rel="stylesheet" href="${esc(css)}"><body class="consent-ph"><p><a target="_top" href="${esc(prefs + '?next=' + encodeURIComponent(location.pathname + location.search))}">${esc(keys.join(', '))}</a>`);
    }
    if (!script) return 1;
    if (type != null && !el.hasAttribute(saved('type'))) set.call(el, saved('type'), type);
    set.call(el, 'type', 'text/plain');
    return pairs.some(([a]) => a != 'src');
  };
  // An element about to be added (or seen by the observer)
  const check = (el) => {
    const script = el.localName == 'script', pairs = (F[el.localName.toLowerCase()] || []).map((a) => [a, el.getAttribute(a)]).filter(([, v]) => v?.trim());
    if ((pairs.length || script) && block(el, pairs)) for (const [a, v] of pairs) if (!script || a != 'src') {
      if (!el.hasAttribute(saved(a))) set.call(el, saved(a), v);
      rm.call(el, a);
    }
  };
  // what the hooks judged, the observer leaves alone
  const seen = new WeakSet();
  const scan = (node) => {
    if (node?.nodeType == 1) seen.add(node), check(node);
    if (node?.firstElementChild) node.querySelectorAll(SEL).forEach(check);
  };
  // A URL about to be set: kept in data-consent-<name> instead unless allowed. banner.js and
  // placeholder.js restore by taking data-consent-<name> off, then setting <name> to its
  // value: that one goes through, and the element is left alone from then on.
  const guarded = (el, a, v) => {
    a = a.toLowerCase();
    if (back?.[0] == el && back[1] == saved(a) && back[2] == v) return done.add(el), (back = 0);
    if (!F[el.localName.toLowerCase()]?.includes(a) || !block(el, [[a, String(v)]])) return;
    set.call(el, saved(a), v);
    // new Image().src: goes out once allowed
    if (!el.isConnected && held.size < 99) held.add(el);
    return 1;
  };
  E.removeAttribute = function (a) {
    const name = String(a).toLowerCase();
    if (name.startsWith('data-consent-')) back = [this, name, this.getAttribute(name)];
    return rm.call(this, a);
  };
  E.setAttribute = function (a, v) {
    if (!guarded(this, String(a), v)) set.call(this, a, v);
  };
  E.setAttributeNS = function (ns, a, v) {
    if (!guarded(this, String(a), v)) setNS.call(this, ns, a, v);
  };
  E.setAttribute.g = 1;
  const hook = (proto, p, wrap) => {
    const desc = Object.getOwnPropertyDescriptor(proto || {}, p);
    if (desc?.set) Object.defineProperty(proto, p, { ...desc, set: wrap(desc.set) });
  };
  for (const e of 'Script:src Image:src,srcset IFrame:src Frame:src Source:src,srcset Input:src Embed:src Media:src Track:src Video:poster Object:data Link:href,imageSrcset Base:href'.split(' ')) {
    const [name, props] = e.split(':');
    for (const p of props.split(',')) hook(window[`HTML${name}Element`]?.prototype, p, (f) => function (v) {
      if (!guarded(this, p, v)) f.call(this, v);
    });
  }
  // Every way of adding a node: what it holds is judged before it is added
  const wrap = (proto, i, methods) => {
    for (const m of methods.split(' ')) {
      const f = proto[m];
      if (f) proto[m] = function (...args) {
        (i < 0 ? args : [args[i]]).forEach(scan);
        return f.apply(this, args);
      };
    }
  };
  wrap(Node.prototype, 0, 'appendChild insertBefore replaceChild');
  wrap(E, -1, 'append prepend before after replaceWith replaceChildren');
  wrap(CharacterData.prototype, -1, 'before after replaceWith');
  wrap(E, 1, 'insertAdjacentElement');
  // Markup is parsed first where nothing fetches (a template), judged, then added
  const inner = Object.getOwnPropertyDescriptor(E, 'innerHTML');
  const clean = (el, html) => {
    html = String(html);
    if (el?.namespaceURI != 'http://www.w3.org/1999/xhtml' || /^(script|style|template|textarea|title|xmp|no\w+|plaintext|iframe)$/.test(el.localName) || !/[/\\]{2}|data-c|&/i.test(html)) return html;
    const tpl = d.createElement('template'), count = () => tpl.content.querySelectorAll('[data-consent]').length;
    inner.set.call(tpl, html);
    const before = count();
    scan(tpl.content);
    return count() > before ? inner.get.call(tpl) : html;
  };
  for (const p of ['innerHTML', 'outerHTML']) hook(E, p, (f) => function (html) {
    f.call(this, clean(p[0] == 'i' ? this : this.parentElement, html));
  });
  const adjacent = E.insertAdjacentHTML;
  E.insertAdjacentHTML = function (where, html) {
    adjacent.call(this, where, clean(/^(before|after)/i.test(where) ? this.parentElement : this, html));
  };
  // New grants (banner.js, a placeholder's "Always allow"): what was held back goes out
  d.addEventListener('consent:change', (event) => {
    grant(event.detail?.allowed || []);
    for (const el of held) if (label(el).every(allowed)) {
      held.delete(el);
      for (const a of el.getAttributeNames().sort((a, b) => /set$/.test(b) - /set$/.test(a))) if (a.startsWith('data-consent-')) {
        const v = el.getAttribute(a);
        rm.call(el, a);
        if (a.endsWith('xlink-href')) setNS.call(el, 'http://www.w3.org/1999/xlink', 'xlink:href', v);
        else set.call(el, a.slice(13), v);
      }
    }
  });
  // The backstop, once the server's markup is in: what got past the hooks (another realm's
  // methods, document.write) is stopped when seen
  const watch = () => new MutationObserver((records) => records.forEach((r) => r.addedNodes.forEach((node) => seen.has(node) || scan(node)))).observe(d, { childList: true, subtree: true });
  if (d.readyState == 'loading') d.addEventListener('DOMContentLoaded', watch);
  else watch();
})();
