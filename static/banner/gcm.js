/* asgi-consent: Google Consent Mode v2 defaults. Static and cacheable: the visitor's
   state comes from this script tag's data attributes. Loaded synchronously, before any
   Google tag, so nothing Google runs on an undecided visitor's grants. */
(function () {
  'use strict';
  var w = window, tag = document.currentScript, data = (tag && tag.dataset) || {};
  var signals = ['ad_storage', 'ad_user_data', 'ad_personalization', 'analytics_storage',
    'functionality_storage', 'personalization_storage', 'security_storage'];
  var granted = (data.granted || '').split(' ');
  var defaults = { wait_for_update: 500 }, update = {};
  w.dataLayer = w.dataLayer || [];
  // gtag must push the arguments object itself: that is what Google's tags read.
  if (typeof w.gtag != 'function') w.gtag = function () { w.dataLayer.push(arguments); };
  signals.forEach(function (s) {
    defaults[s] = s == 'security_storage' ? 'granted' : 'denied';
    update[s] = granted.indexOf(s) >= 0 || s == 'security_storage' ? 'granted' : 'denied';
  });
  w.gtag('consent', 'default', defaults);
  if (data.decided == '1') w.gtag('consent', 'update', update);
})();
