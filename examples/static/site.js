// First-party site script: always allowed (necessary), marks that it ran.
window.siteScriptRan = true;
document.documentElement.classList.add("js");
