// Stand-in for a self-hosted analytics script (category "analytics").
// It only runs once the visitor grants analytics; it then sets its cookie from JavaScript.
window.demoAnalytics = (window.demoAnalytics || 0) + 1;
document.cookie = "_pk_id.1.demo=visitor; path=/; max-age=2592000; samesite=lax";
