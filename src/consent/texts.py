"""Shipped texts: every string of the banner, the preferences page and iframe placeholders.

Operators override any text per locale through ``banner.texts`` (``{locale: {text_id:
text}}``); these are the defaults. Text ids are part of the public contract: renaming
one breaks operators' overrides, so ids are only ever added.

UI text ids (`UI_TEXT_IDS`):

- ``banner.title``: heading of the banner.
- ``banner.body``: the short first-layer explanation.
- ``banner.privacy_link``: text of the privacy policy link.
- ``banner.accept_all`` / ``banner.reject_all`` / ``banner.customise``: the three
  first-layer controls (equal weight).
- ``banner.save``: submits the ticked categories (customise layer, preferences page).
- ``banner.categories``: legend of the group of category toggles.
- ``banner.always_on``: shown next to the necessary category.
- ``banner.gpc_notice``: why sale/sharing categories stay off under Global Privacy Control.
- ``banner.exempt_notice``: the banner's line saying which categories run before a choice
  where the law exempts them; ``{categories}`` is replaced by their labels.
- ``notice.title`` / ``notice.body_opt_out`` / ``notice.body``: the opt-out notice shown
  instead of the banner where the policy is ``opt_out`` (or ``notice``).
- ``notice.ok``: dismisses that notice (nothing granted or denied).
- ``notice.privacy_choices``: the "Your Privacy Choices" link (notice, settings control).
- ``notice.gpc_honored``: says a Global Privacy Control signal was honoured as an opt-out.
- ``settings.button``: the "Cookie settings" control shown after a decision.
- ``preferences.title``: title and heading of the preferences page.
- ``declaration.title``: title and heading of the cookie declaration (``/_consent/cookies``).
- ``declaration.intro``: first paragraph of the cookie declaration page.
- ``declaration.optional``: shown under an optional category there (the required one shows
  ``banner.always_on``).
- ``declaration.builtin``: the one sentence saying that further well-known cookie names are
  recognised (the built-in table is not listed).
- ``declaration.cookie`` / ``declaration.service`` / ``declaration.provider`` /
  ``declaration.purpose`` / ``declaration.lifetime``: the declaration's column headings.
- ``declaration.session``: the lifetime of a cookie deleted when the browser closes.
- ``declaration.not_stated``: the lifetime of a cookie whose lifetime is not known.
- ``declaration.no_cookies``: a service (or category) that declares no cookie.
- ``declaration.this_site``: the provider of the site's own cookies.
- ``declaration.consent_cookie``: the purpose of the consent cookie.
- ``declaration.kind.video``, ``declaration.kind.map``, ``declaration.kind.audio``,
  ``declaration.kind.social``, ``declaration.kind.analytics``,
  ``declaration.kind.advertising``, ``declaration.kind.tag-manager``,
  ``declaration.kind.chat``, ``declaration.kind.payment``, ``declaration.kind.security``:
  the purpose of a service's cookies, by the service's kind (kind ``other``: the label of
  its category).
- ``preferences.intro``: first paragraph of the preferences page.
- ``preferences.saved``: confirmation after a choice was saved there.
- ``banner.services``: names the group of services listed under each category.
- ``banner.provider``: label before a service's provider.
- ``banner.service_policy``: text of the link to a service provider's privacy policy.
- ``preferences.consent_id``: label before the visitor's consent id.
- ``preferences.no_consent_id``: shown instead when the visitor has not chosen yet.
- ``preferences.back``: link back to the page the visitor came from.
- ``placeholder.title``: ``<title>`` of a blocked iframe's placeholder document.
- ``placeholder.text``: placeholder text; ``{category}`` is replaced by the category label.
- ``placeholder.text_source``: the same when the embed's host is known; also ``{source}``.
- ``placeholder.link``: the placeholder's link to the preferences page.
- ``placeholder.text_service``: a service's placeholder: loading it connects to ``{provider}``.
- ``placeholder.text_policy``: its link to the provider's privacy policy; ``{provider}``.
- ``placeholder.once``: *Load this once*.
- ``placeholder.text_always``: *Always allow <service>*; ``{service}``.

Category texts are not UI texts: each `consent.Category` carries its own label and
description; `DEFAULT_CATEGORY_TEXTS` only seeds the default categories.
"""

# Typographic quotes and apostrophes are correct in these languages, not look-alikes.
# ruff: noqa: RUF001

from __future__ import annotations

__all__ = ["DEFAULT_CATEGORY_TEXTS", "SHIPPED_LOCALES", "UI_TEXTS", "UI_TEXT_IDS"]

#: ``{locale: {text_id: text}}`` for the banner, preferences page and placeholders.
UI_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "banner.title": "Cookies on this site",
        "banner.body": "We use cookies that the site needs to work. With your consent, we "
        "also use optional cookies, for example to remember settings, measure visits or "
        "show ads. You can change your choice at any time.",
        "banner.privacy_link": "Privacy policy",
        "banner.accept_all": "Accept all",
        "banner.reject_all": "Reject all",
        "banner.customise": "Customise",
        "banner.save": "Save choices",
        "banner.categories": "Cookie categories",
        "banner.always_on": "Always on",
        "banner.gpc_notice": "Your browser sends a Global Privacy Control signal, so "
        "categories that sell or share your data stay off unless you switch them on yourself.",
        "notice.title": "Your privacy",
        "notice.body_opt_out": "We use cookies to run this site, measure visits and show ads, "
        "which may count as selling or sharing your personal information. You can opt out at any "
        "time.",
        "notice.body": "We use cookies to run this site, remember your settings and measure "
        "visits. You can switch optional cookies off at any time.",
        "notice.ok": "OK",
        "notice.privacy_choices": "Your Privacy Choices",
        "notice.gpc_honored": "Opt-out request honored",
        "banner.exempt_notice": "Some of them run without asking first, as the law here allows "
        "({categories}); you can switch them off in the settings.",
        "settings.button": "Cookie settings",
        "preferences.title": "Cookie settings",
        "declaration.title": "Cookie declaration",
        "declaration.intro": "The cookies this site may set, by category, and the services that "
        "set them. Each provider’s name links to its privacy policy. Optional cookies are only "
        "set with your consent.",
        "declaration.optional": "Only with your consent",
        "declaration.builtin": "Other well-known cookies not listed here are also recognised by "
        "their names and handled like the category they belong to.",
        "declaration.cookie": "Cookie",
        "declaration.service": "Service",
        "declaration.provider": "Provider",
        "declaration.purpose": "Purpose",
        "declaration.lifetime": "Lifetime",
        "declaration.session": "Until the browser is closed",
        "declaration.not_stated": "Not stated",
        "declaration.no_cookies": "None declared",
        "declaration.this_site": "This site",
        "declaration.consent_cookie": "Remembers your cookie choice",
        "declaration.kind.video": "Embedded videos",
        "declaration.kind.map": "Embedded maps",
        "declaration.kind.audio": "Embedded audio",
        "declaration.kind.social": "Social media content",
        "declaration.kind.analytics": "Visit statistics",
        "declaration.kind.advertising": "Advertising and measuring campaigns",
        "declaration.kind.tag-manager": "Loading tags of other services",
        "declaration.kind.chat": "Chat and support",
        "declaration.kind.payment": "Payments and fraud prevention",
        "declaration.kind.security": "Protection against spam and abuse",
        "preferences.intro": "Choose which cookies this site may use. Necessary cookies are "
        "always on. You can change your choice at any time.",
        "preferences.saved": "Your choices have been saved.",
        "banner.services": "Services",
        "banner.provider": "Provider:",
        "banner.service_policy": "Privacy policy",
        "preferences.consent_id": "Your consent ID:",
        "preferences.no_consent_id": "You have not made a choice yet.",
        "preferences.back": "Back to the site",
        "placeholder.title": "Blocked content",
        "placeholder.text": "This content is blocked until you allow “{category}”.",
        "placeholder.text_source": "This content from {source} is blocked until you allow "
        "“{category}”.",
        "placeholder.link": "Change cookie settings",
        "placeholder.text_service": "Loading this content connects you to {provider}, which may "
        "set cookies and learn that you visited this page.",
        "placeholder.text_policy": "Privacy policy of {provider}",
        "placeholder.once": "Load this once",
        "placeholder.text_always": "Always allow {service}",
    },
    "de": {
        "banner.title": "Cookies auf dieser Website",
        "banner.body": "Wir verwenden Cookies, die für den Betrieb der Website nötig sind. "
        "Mit Ihrer Einwilligung nutzen wir auch optionale Cookies, etwa um Einstellungen zu "
        "speichern, Besuche zu messen oder Werbung zu zeigen. Sie können Ihre Auswahl "
        "jederzeit ändern.",
        "banner.privacy_link": "Datenschutzerklärung",
        "banner.accept_all": "Alle akzeptieren",
        "banner.reject_all": "Alle ablehnen",
        "banner.customise": "Anpassen",
        "banner.save": "Auswahl speichern",
        "banner.categories": "Cookie-Kategorien",
        "banner.always_on": "Immer aktiv",
        "banner.gpc_notice": "Ihr Browser sendet ein Global-Privacy-Control-Signal. "
        "Kategorien, die Ihre Daten verkaufen oder weitergeben, bleiben deshalb aus, solange "
        "Sie sie nicht selbst einschalten.",
        "notice.title": "Ihre Privatsphäre",
        "notice.body_opt_out": "Wir verwenden Cookies, um diese Website zu betreiben, Besuche zu "
        "messen und Werbung zu zeigen. Das kann als Verkauf oder Weitergabe Ihrer "
        "personenbezogenen Daten gelten. Sie können jederzeit widersprechen.",
        "notice.body": "Wir verwenden Cookies, um diese Website zu betreiben, Ihre Einstellungen "
        "zu speichern und Besuche zu messen. Optionale Cookies können Sie jederzeit abschalten.",
        "notice.ok": "OK",
        "notice.privacy_choices": "Ihre Datenschutzoptionen",
        "notice.gpc_honored": "Opt-out-Anfrage berücksichtigt",
        "banner.exempt_notice": "Manche davon laufen ohne vorherige Frage, wie es das Recht hier "
        "erlaubt ({categories}); Sie können sie in den Einstellungen abschalten.",
        "settings.button": "Cookie-Einstellungen",
        "preferences.title": "Cookie-Einstellungen",
        "declaration.title": "Cookie-Erklärung",
        "declaration.intro": "Die Cookies, die diese Website setzen kann, nach Kategorien, und "
        "die Dienste, die sie setzen. Der Name jedes Anbieters führt zu seiner "
        "Datenschutzerklärung. Optionale Cookies werden nur mit Ihrer Einwilligung gesetzt.",
        "declaration.optional": "Nur mit Ihrer Einwilligung",
        "declaration.builtin": "Weitere bekannte Cookies, die hier nicht aufgeführt sind, werden "
        "ebenfalls an ihrem Namen erkannt und wie die Kategorie behandelt, zu der sie gehören.",
        "declaration.cookie": "Cookie",
        "declaration.service": "Dienst",
        "declaration.provider": "Anbieter",
        "declaration.purpose": "Zweck",
        "declaration.lifetime": "Speicherdauer",
        "declaration.session": "Bis der Browser geschlossen wird",
        "declaration.not_stated": "Nicht angegeben",
        "declaration.no_cookies": "Keine angegeben",
        "declaration.this_site": "Diese Website",
        "declaration.consent_cookie": "Speichert Ihre Cookie-Auswahl",
        "declaration.kind.video": "Eingebettete Videos",
        "declaration.kind.map": "Eingebettete Karten",
        "declaration.kind.audio": "Eingebettete Audioinhalte",
        "declaration.kind.social": "Inhalte sozialer Netzwerke",
        "declaration.kind.analytics": "Besuchsstatistik",
        "declaration.kind.advertising": "Werbung und Kampagnenmessung",
        "declaration.kind.tag-manager": "Laden von Tags anderer Dienste",
        "declaration.kind.chat": "Chat und Support",
        "declaration.kind.payment": "Zahlungen und Betrugsprävention",
        "declaration.kind.security": "Schutz vor Spam und Missbrauch",
        "preferences.intro": "Wählen Sie, welche Cookies diese Website verwenden darf. "
        "Notwendige Cookies sind immer aktiv. Sie können Ihre Auswahl jederzeit ändern.",
        "preferences.saved": "Ihre Auswahl wurde gespeichert.",
        "banner.services": "Dienste",
        "banner.provider": "Anbieter:",
        "banner.service_policy": "Datenschutzerklärung",
        "preferences.consent_id": "Ihre Einwilligungs-ID:",
        "preferences.no_consent_id": "Sie haben noch keine Auswahl getroffen.",
        "preferences.back": "Zurück zur Website",
        "placeholder.title": "Blockierter Inhalt",
        "placeholder.text": "Dieser Inhalt ist blockiert, bis Sie „{category}“ erlauben.",
        "placeholder.text_source": "Dieser Inhalt von {source} ist blockiert, bis Sie "
        "„{category}“ erlauben.",
        "placeholder.link": "Cookie-Einstellungen ändern",
        "placeholder.text_service": "Beim Laden dieses Inhalts wird eine Verbindung zu {provider} "
        "hergestellt. {provider} kann dabei Cookies setzen und erfahren, dass Sie diese Seite "
        "besucht haben.",
        "placeholder.text_policy": "Datenschutzerklärung von {provider}",
        "placeholder.once": "Einmal laden",
        "placeholder.text_always": "{service} immer erlauben",
    },
    "fr": {
        "banner.title": "Cookies sur ce site",
        "banner.body": "Nous utilisons des cookies nécessaires au fonctionnement du site. "
        "Avec votre accord, nous utilisons aussi des cookies facultatifs, par exemple pour "
        "mémoriser vos réglages, mesurer l’audience ou afficher des publicités. Vous pouvez "
        "modifier votre choix à tout moment.",
        "banner.privacy_link": "Politique de confidentialité",
        "banner.accept_all": "Tout accepter",
        "banner.reject_all": "Tout refuser",
        "banner.customise": "Personnaliser",
        "banner.save": "Enregistrer mes choix",
        "banner.categories": "Catégories de cookies",
        "banner.always_on": "Toujours actifs",
        "banner.gpc_notice": "Votre navigateur envoie un signal Global Privacy Control\u00a0: "
        "les catégories qui vendent ou partagent vos données restent donc désactivées, sauf "
        "si vous les activez vous-même.",
        "notice.title": "Votre vie privée",
        "notice.body_opt_out": "Nous utilisons des cookies pour faire fonctionner ce site, "
        "mesurer les visites et afficher des publicités, ce qui peut constituer une vente ou un "
        "partage de vos données personnelles. Vous pouvez vous y opposer à tout moment.",
        "notice.body": "Nous utilisons des cookies pour faire fonctionner ce site, mémoriser vos "
        "réglages et mesurer les visites. Vous pouvez désactiver les cookies facultatifs à tout "
        "moment.",
        "notice.ok": "OK",
        "notice.privacy_choices": "Vos choix de confidentialité",
        "notice.gpc_honored": "Demande d’opposition respectée",
        "banner.exempt_notice": "Certains fonctionnent sans accord préalable, comme la loi le "
        "permet ici ({categories}) ; vous pouvez les désactiver dans les réglages.",
        "settings.button": "Paramètres des cookies",
        "preferences.title": "Paramètres des cookies",
        "declaration.title": "Déclaration des cookies",
        "declaration.intro": "Les cookies que ce site peut déposer, par catégorie, et les "
        "services qui les déposent. Le nom de chaque fournisseur mène à sa politique de "
        "confidentialité. Les cookies facultatifs ne sont déposés qu’avec votre accord.",
        "declaration.optional": "Uniquement avec votre accord",
        "declaration.builtin": "D’autres cookies connus, non listés ici, sont également reconnus "
        "à leur nom et traités comme la catégorie à laquelle ils appartiennent.",
        "declaration.cookie": "Cookie",
        "declaration.service": "Service",
        "declaration.provider": "Fournisseur",
        "declaration.purpose": "Finalité",
        "declaration.lifetime": "Durée de conservation",
        "declaration.session": "Jusqu’à la fermeture du navigateur",
        "declaration.not_stated": "Non précisée",
        "declaration.no_cookies": "Aucun déclaré",
        "declaration.this_site": "Ce site",
        "declaration.consent_cookie": "Mémorise votre choix concernant les cookies",
        "declaration.kind.video": "Vidéos intégrées",
        "declaration.kind.map": "Cartes intégrées",
        "declaration.kind.audio": "Contenus audio intégrés",
        "declaration.kind.social": "Contenus de réseaux sociaux",
        "declaration.kind.analytics": "Statistiques de visite",
        "declaration.kind.advertising": "Publicité et mesure des campagnes",
        "declaration.kind.tag-manager": "Chargement des balises d’autres services",
        "declaration.kind.chat": "Chat et assistance",
        "declaration.kind.payment": "Paiements et prévention de la fraude",
        "declaration.kind.security": "Protection contre le spam et les abus",
        "preferences.intro": "Choisissez les cookies que ce site peut utiliser. Les cookies "
        "nécessaires sont toujours actifs. Vous pouvez modifier votre choix à tout moment.",
        "preferences.saved": "Vos choix ont été enregistrés.",
        "banner.services": "Services",
        "banner.provider": "Fournisseur\u00a0:",
        "banner.service_policy": "Politique de confidentialité",
        "preferences.consent_id": "Votre identifiant de consentement\u00a0:",
        "preferences.no_consent_id": "Vous n’avez encore fait aucun choix.",
        "preferences.back": "Retour au site",
        "placeholder.title": "Contenu bloqué",
        "placeholder.text": "Ce contenu est bloqué tant que vous n’autorisez pas "
        "«\u00a0{category}\u00a0».",
        "placeholder.text_source": "Ce contenu de {source} est bloqué tant que vous "
        "n’autorisez pas «\u00a0{category}\u00a0».",
        "placeholder.link": "Modifier les paramètres des cookies",
        "placeholder.text_service": "Charger ce contenu établit une connexion avec {provider}, qui "
        "peut déposer des cookies et savoir que vous avez consulté cette page.",
        "placeholder.text_policy": "Politique de confidentialité de {provider}",
        "placeholder.once": "Charger une fois",
        "placeholder.text_always": "Toujours autoriser {service}",
    },
    "es": {
        "banner.title": "Cookies en este sitio",
        "banner.body": "Usamos cookies necesarias para que el sitio funcione. Con tu "
        "consentimiento, también usamos cookies opcionales, por ejemplo para recordar tus "
        "ajustes, medir las visitas o mostrar anuncios. Puedes cambiar tu elección en "
        "cualquier momento.",
        "banner.privacy_link": "Política de privacidad",
        "banner.accept_all": "Aceptar todo",
        "banner.reject_all": "Rechazar todo",
        "banner.customise": "Personalizar",
        "banner.save": "Guardar selección",
        "banner.categories": "Categorías de cookies",
        "banner.always_on": "Siempre activas",
        "banner.gpc_notice": "Tu navegador envía una señal de Global Privacy Control, así "
        "que las categorías que venden o comparten tus datos seguirán desactivadas salvo "
        "que tú las actives.",
        "notice.title": "Tu privacidad",
        "notice.body_opt_out": "Usamos cookies para que este sitio funcione, medir las visitas y "
        "mostrar anuncios, lo que puede considerarse una venta o un intercambio de tu información "
        "personal. Puedes excluirte en cualquier momento.",
        "notice.body": "Usamos cookies para que este sitio funcione, recordar tus ajustes y medir "
        "las visitas. Puedes desactivar las cookies opcionales en cualquier momento.",
        "notice.ok": "Entendido",
        "notice.privacy_choices": "Tus opciones de privacidad",
        "notice.gpc_honored": "Solicitud de exclusión respetada",
        "banner.exempt_notice": "Algunas funcionan sin pedir permiso antes, como permite la ley "
        "aquí ({categories}); puedes desactivarlas en los ajustes.",
        "settings.button": "Configuración de cookies",
        "preferences.title": "Configuración de cookies",
        "declaration.title": "Declaración de cookies",
        "declaration.intro": "Las cookies que este sitio puede instalar, por categoría, y los "
        "servicios que las instalan. El nombre de cada proveedor enlaza a su política de "
        "privacidad. Las cookies opcionales solo se instalan con tu consentimiento.",
        "declaration.optional": "Solo con tu consentimiento",
        "declaration.builtin": "Otras cookies conocidas que no aparecen aquí también se reconocen "
        "por su nombre y se tratan como la categoría a la que pertenecen.",
        "declaration.cookie": "Cookie",
        "declaration.service": "Servicio",
        "declaration.provider": "Proveedor",
        "declaration.purpose": "Finalidad",
        "declaration.lifetime": "Duración",
        "declaration.session": "Hasta que se cierra el navegador",
        "declaration.not_stated": "No indicada",
        "declaration.no_cookies": "Ninguna declarada",
        "declaration.this_site": "Este sitio",
        "declaration.consent_cookie": "Recuerda tu elección sobre las cookies",
        "declaration.kind.video": "Vídeos integrados",
        "declaration.kind.map": "Mapas integrados",
        "declaration.kind.audio": "Audio integrado",
        "declaration.kind.social": "Contenido de redes sociales",
        "declaration.kind.analytics": "Estadísticas de visitas",
        "declaration.kind.advertising": "Publicidad y medición de campañas",
        "declaration.kind.tag-manager": "Carga de etiquetas de otros servicios",
        "declaration.kind.chat": "Chat y asistencia",
        "declaration.kind.payment": "Pagos y prevención del fraude",
        "declaration.kind.security": "Protección contra spam y abusos",
        "preferences.intro": "Elige qué cookies puede usar este sitio. Las cookies "
        "necesarias están siempre activas. Puedes cambiar tu elección en cualquier momento.",
        "preferences.saved": "Se ha guardado tu selección.",
        "banner.services": "Servicios",
        "banner.provider": "Proveedor:",
        "banner.service_policy": "Política de privacidad",
        "preferences.consent_id": "Tu ID de consentimiento:",
        "preferences.no_consent_id": "Aún no has hecho ninguna elección.",
        "preferences.back": "Volver al sitio",
        "placeholder.title": "Contenido bloqueado",
        "placeholder.text": "Este contenido está bloqueado hasta que permitas «{category}».",
        "placeholder.text_source": "Este contenido de {source} está bloqueado hasta que "
        "permitas «{category}».",
        "placeholder.link": "Cambiar la configuración de cookies",
        "placeholder.text_service": "Cargar este contenido te conecta con {provider}, que puede "
        "instalar cookies y saber que has visitado esta página.",
        "placeholder.text_policy": "Política de privacidad de {provider}",
        "placeholder.once": "Cargar una vez",
        "placeholder.text_always": "Permitir siempre {service}",
    },
    "it": {
        "banner.title": "Cookie su questo sito",
        "banner.body": "Usiamo i cookie necessari al funzionamento del sito. Con il tuo "
        "consenso usiamo anche cookie facoltativi, per esempio per ricordare le impostazioni, "
        "misurare le visite o mostrare annunci. Puoi cambiare la tua scelta in qualsiasi "
        "momento.",
        "banner.privacy_link": "Informativa sulla privacy",
        "banner.accept_all": "Accetta tutto",
        "banner.reject_all": "Rifiuta tutto",
        "banner.customise": "Personalizza",
        "banner.save": "Salva le scelte",
        "banner.categories": "Categorie di cookie",
        "banner.always_on": "Sempre attivi",
        "banner.gpc_notice": "Il tuo browser invia un segnale Global Privacy Control: le "
        "categorie che vendono o condividono i tuoi dati restano quindi disattivate, a meno "
        "che non sia tu ad attivarle.",
        "notice.title": "La tua privacy",
        "notice.body_opt_out": "Usiamo i cookie per far funzionare questo sito, misurare le "
        "visite e mostrare annunci, il che può costituire una vendita o condivisione dei tuoi "
        "dati personali. Puoi opporti in qualsiasi momento.",
        "notice.body": "Usiamo i cookie per far funzionare questo sito, ricordare le tue "
        "impostazioni e misurare le visite. Puoi disattivare i cookie facoltativi in qualsiasi "
        "momento.",
        "notice.ok": "OK",
        "notice.privacy_choices": "Le tue scelte sulla privacy",
        "notice.gpc_honored": "Richiesta di opposizione rispettata",
        "banner.exempt_notice": "Alcuni funzionano senza chiedere prima, come consente la legge "
        "qui ({categories}); puoi disattivarli nelle impostazioni.",
        "settings.button": "Impostazioni cookie",
        "preferences.title": "Impostazioni cookie",
        "declaration.title": "Dichiarazione sui cookie",
        "declaration.intro": "I cookie che questo sito può impostare, per categoria, e i servizi "
        "che li impostano. Il nome di ogni fornitore rimanda alla sua informativa sulla privacy. "
        "I cookie facoltativi vengono impostati solo con il tuo consenso.",
        "declaration.optional": "Solo con il tuo consenso",
        "declaration.builtin": "Altri cookie noti non elencati qui vengono riconosciuti anch’essi "
        "dal nome e trattati come la categoria a cui appartengono.",
        "declaration.cookie": "Cookie",
        "declaration.service": "Servizio",
        "declaration.provider": "Fornitore",
        "declaration.purpose": "Finalità",
        "declaration.lifetime": "Durata",
        "declaration.session": "Fino alla chiusura del browser",
        "declaration.not_stated": "Non indicata",
        "declaration.no_cookies": "Nessuno dichiarato",
        "declaration.this_site": "Questo sito",
        "declaration.consent_cookie": "Ricorda la tua scelta sui cookie",
        "declaration.kind.video": "Video incorporati",
        "declaration.kind.map": "Mappe incorporate",
        "declaration.kind.audio": "Audio incorporato",
        "declaration.kind.social": "Contenuti dei social network",
        "declaration.kind.analytics": "Statistiche sulle visite",
        "declaration.kind.advertising": "Pubblicità e misurazione delle campagne",
        "declaration.kind.tag-manager": "Caricamento dei tag di altri servizi",
        "declaration.kind.chat": "Chat e assistenza",
        "declaration.kind.payment": "Pagamenti e prevenzione delle frodi",
        "declaration.kind.security": "Protezione da spam e abusi",
        "preferences.intro": "Scegli quali cookie può usare questo sito. I cookie necessari "
        "sono sempre attivi. Puoi cambiare la tua scelta in qualsiasi momento.",
        "preferences.saved": "Le tue scelte sono state salvate.",
        "banner.services": "Servizi",
        "banner.provider": "Fornitore:",
        "banner.service_policy": "Informativa sulla privacy",
        "preferences.consent_id": "Il tuo ID di consenso:",
        "preferences.no_consent_id": "Non hai ancora fatto una scelta.",
        "preferences.back": "Torna al sito",
        "placeholder.title": "Contenuto bloccato",
        "placeholder.text": "Questo contenuto è bloccato finché non consenti «{category}».",
        "placeholder.text_source": "Questo contenuto di {source} è bloccato finché non "
        "consenti «{category}».",
        "placeholder.link": "Modifica le impostazioni dei cookie",
        "placeholder.text_service": "Caricare questo contenuto ti collega a {provider}, che può "
        "impostare cookie e sapere che hai visitato questa pagina.",
        "placeholder.text_policy": "Informativa sulla privacy di {provider}",
        "placeholder.once": "Carica una volta",
        "placeholder.text_always": "Consenti sempre {service}",
    },
    "nl": {
        "banner.title": "Cookies op deze website",
        "banner.body": "We gebruiken cookies die nodig zijn om de website te laten werken. "
        "Met je toestemming gebruiken we ook optionele cookies, bijvoorbeeld om instellingen "
        "te onthouden, bezoeken te meten of advertenties te tonen. Je kunt je keuze altijd "
        "wijzigen.",
        "banner.privacy_link": "Privacybeleid",
        "banner.accept_all": "Alles accepteren",
        "banner.reject_all": "Alles weigeren",
        "banner.customise": "Aanpassen",
        "banner.save": "Keuze opslaan",
        "banner.categories": "Cookiecategorieën",
        "banner.always_on": "Altijd aan",
        "banner.gpc_notice": "Je browser stuurt een Global Privacy Control-signaal. "
        "Categorieën die je gegevens verkopen of delen blijven daarom uit, tenzij je ze zelf "
        "aanzet.",
        "notice.title": "Je privacy",
        "notice.body_opt_out": "We gebruiken cookies om deze site te laten werken, bezoeken te "
        "meten en advertenties te tonen. Dat kan gelden als verkoop of delen van je "
        "persoonsgegevens. Je kunt je op elk moment afmelden.",
        "notice.body": "We gebruiken cookies om deze site te laten werken, je instellingen te "
        "onthouden en bezoeken te meten. Je kunt optionele cookies op elk moment uitzetten.",
        "notice.ok": "OK",
        "notice.privacy_choices": "Jouw privacykeuzes",
        "notice.gpc_honored": "Afmeldverzoek gehonoreerd",
        "banner.exempt_notice": "Sommige werken zonder eerst te vragen, zoals de wet hier "
        "toestaat ({categories}); je kunt ze uitzetten in de instellingen.",
        "settings.button": "Cookie-instellingen",
        "preferences.title": "Cookie-instellingen",
        "declaration.title": "Cookieverklaring",
        "declaration.intro": "De cookies die deze website kan plaatsen, per categorie, en de "
        "diensten die ze plaatsen. De naam van elke aanbieder linkt naar zijn privacybeleid. "
        "Optionele cookies worden alleen met je toestemming geplaatst.",
        "declaration.optional": "Alleen met je toestemming",
        "declaration.builtin": "Andere bekende cookies die hier niet staan, worden ook aan hun "
        "naam herkend en behandeld zoals de categorie waartoe ze behoren.",
        "declaration.cookie": "Cookie",
        "declaration.service": "Dienst",
        "declaration.provider": "Aanbieder",
        "declaration.purpose": "Doel",
        "declaration.lifetime": "Bewaartermijn",
        "declaration.session": "Tot de browser wordt gesloten",
        "declaration.not_stated": "Niet vermeld",
        "declaration.no_cookies": "Geen opgegeven",
        "declaration.this_site": "Deze website",
        "declaration.consent_cookie": "Onthoudt je cookiekeuze",
        "declaration.kind.video": "Ingesloten video’s",
        "declaration.kind.map": "Ingesloten kaarten",
        "declaration.kind.audio": "Ingesloten audio",
        "declaration.kind.social": "Inhoud van sociale media",
        "declaration.kind.analytics": "Bezoekstatistieken",
        "declaration.kind.advertising": "Advertenties en campagnemeting",
        "declaration.kind.tag-manager": "Laden van tags van andere diensten",
        "declaration.kind.chat": "Chat en ondersteuning",
        "declaration.kind.payment": "Betalingen en fraudepreventie",
        "declaration.kind.security": "Bescherming tegen spam en misbruik",
        "preferences.intro": "Kies welke cookies deze website mag gebruiken. Noodzakelijke "
        "cookies staan altijd aan. Je kunt je keuze altijd wijzigen.",
        "preferences.saved": "Je keuze is opgeslagen.",
        "banner.services": "Diensten",
        "banner.provider": "Aanbieder:",
        "banner.service_policy": "Privacybeleid",
        "preferences.consent_id": "Je toestemmings-ID:",
        "preferences.no_consent_id": "Je hebt nog geen keuze gemaakt.",
        "preferences.back": "Terug naar de website",
        "placeholder.title": "Geblokkeerde inhoud",
        "placeholder.text": "Deze inhoud is geblokkeerd totdat je ‘{category}’ toestaat.",
        "placeholder.text_source": "Deze inhoud van {source} is geblokkeerd totdat je "
        "‘{category}’ toestaat.",
        "placeholder.link": "Cookie-instellingen wijzigen",
        "placeholder.text_service": "Als je deze inhoud laadt, maak je verbinding met {provider}, "
        "dat cookies kan plaatsen en kan zien dat je deze pagina hebt bezocht.",
        "placeholder.text_policy": "Privacybeleid van {provider}",
        "placeholder.once": "Eén keer laden",
        "placeholder.text_always": "{service} altijd toestaan",
    },
    "pl": {
        "banner.title": "Pliki cookie na tej stronie",
        "banner.body": "Używamy plików cookie niezbędnych do działania strony. Za Twoją zgodą "
        "używamy też opcjonalnych plików cookie, np. do zapamiętywania ustawień, mierzenia "
        "odwiedzin lub wyświetlania reklam. Swój wybór możesz zmienić w każdej chwili.",
        "banner.privacy_link": "Polityka prywatności",
        "banner.accept_all": "Akceptuj wszystkie",
        "banner.reject_all": "Odrzuć wszystkie",
        "banner.customise": "Dostosuj",
        "banner.save": "Zapisz wybór",
        "banner.categories": "Kategorie plików cookie",
        "banner.always_on": "Zawsze włączone",
        "banner.gpc_notice": "Twoja przeglądarka wysyła sygnał Global Privacy Control, "
        "dlatego kategorie, które sprzedają lub udostępniają Twoje dane, pozostają wyłączone, "
        "chyba że włączysz je samodzielnie.",
        "notice.title": "Twoja prywatność",
        "notice.body_opt_out": "Używamy plików cookie, aby ta strona działała, aby mierzyć "
        "odwiedziny i wyświetlać reklamy, co może stanowić sprzedaż lub udostępnianie Twoich "
        "danych osobowych. Możesz w każdej chwili zgłosić sprzeciw.",
        "notice.body": "Używamy plików cookie, aby ta strona działała, aby zapamiętać Twoje "
        "ustawienia i mierzyć odwiedziny. Opcjonalne pliki cookie możesz w każdej chwili "
        "wyłączyć.",
        "notice.ok": "OK",
        "notice.privacy_choices": "Twoje wybory dotyczące prywatności",
        "notice.gpc_honored": "Żądanie rezygnacji uwzględnione",
        "banner.exempt_notice": "Niektóre działają bez pytania, na co pozwala tutejsze prawo "
        "({categories}); możesz je wyłączyć w ustawieniach.",
        "settings.button": "Ustawienia plików cookie",
        "preferences.title": "Ustawienia plików cookie",
        "declaration.title": "Deklaracja plików cookie",
        "declaration.intro": "Pliki cookie, które ta strona może zapisywać, według kategorii, "
        "oraz usługi, które je zapisują. Nazwa każdego dostawcy prowadzi do jego polityki "
        "prywatności. Opcjonalne pliki cookie są zapisywane tylko za Twoją zgodą.",
        "declaration.optional": "Tylko za Twoją zgodą",
        "declaration.builtin": "Inne znane pliki cookie, których tu nie wymieniono, również są "
        "rozpoznawane po nazwie i traktowane tak jak kategoria, do której należą.",
        "declaration.cookie": "Plik cookie",
        "declaration.service": "Usługa",
        "declaration.provider": "Dostawca",
        "declaration.purpose": "Cel",
        "declaration.lifetime": "Okres przechowywania",
        "declaration.session": "Do zamknięcia przeglądarki",
        "declaration.not_stated": "Nie podano",
        "declaration.no_cookies": "Nie zadeklarowano",
        "declaration.this_site": "Ta strona",
        "declaration.consent_cookie": "Zapamiętuje Twój wybór dotyczący plików cookie",
        "declaration.kind.video": "Osadzone filmy",
        "declaration.kind.map": "Osadzone mapy",
        "declaration.kind.audio": "Osadzone nagrania audio",
        "declaration.kind.social": "Treści z mediów społecznościowych",
        "declaration.kind.analytics": "Statystyki odwiedzin",
        "declaration.kind.advertising": "Reklama i pomiar kampanii",
        "declaration.kind.tag-manager": "Wczytywanie tagów innych usług",
        "declaration.kind.chat": "Czat i pomoc",
        "declaration.kind.payment": "Płatności i zapobieganie oszustwom",
        "declaration.kind.security": "Ochrona przed spamem i nadużyciami",
        "preferences.intro": "Wybierz, których plików cookie może używać ta strona. Niezbędne "
        "pliki cookie są zawsze włączone. Swój wybór możesz zmienić w każdej chwili.",
        "preferences.saved": "Twój wybór został zapisany.",
        "banner.services": "Usługi",
        "banner.provider": "Dostawca:",
        "banner.service_policy": "Polityka prywatności",
        "preferences.consent_id": "Twój identyfikator zgody:",
        "preferences.no_consent_id": "Nie dokonano jeszcze wyboru.",
        "preferences.back": "Wróć do strony",
        "placeholder.title": "Zablokowana treść",
        "placeholder.text": "Ta treść jest zablokowana, dopóki nie zezwolisz na „{category}”.",
        "placeholder.text_source": "Ta treść z {source} jest zablokowana, dopóki nie "
        "zezwolisz na „{category}”.",
        "placeholder.link": "Zmień ustawienia plików cookie",
        "placeholder.text_service": "Wczytanie tej treści łączy Cię z firmą {provider}, która może "
        "zapisywać pliki cookie i dowiedzieć się, że odwiedzasz tę stronę.",
        "placeholder.text_policy": "Polityka prywatności firmy {provider}",
        "placeholder.once": "Wczytaj jednorazowo",
        "placeholder.text_always": "Zawsze zezwalaj na {service}",
    },
    "pt": {
        "banner.title": "Cookies neste site",
        "banner.body": "Utilizamos cookies necessários para o funcionamento do site. Com o "
        "seu consentimento, utilizamos também cookies opcionais, por exemplo para guardar "
        "definições, medir visitas ou mostrar anúncios. Pode alterar a sua escolha a "
        "qualquer momento.",
        "banner.privacy_link": "Política de privacidade",
        "banner.accept_all": "Aceitar tudo",
        "banner.reject_all": "Rejeitar tudo",
        "banner.customise": "Personalizar",
        "banner.save": "Guardar escolhas",
        "banner.categories": "Categorias de cookies",
        "banner.always_on": "Sempre ativos",
        "banner.gpc_notice": "O seu navegador envia um sinal Global Privacy Control, por "
        "isso as categorias que vendem ou partilham os seus dados ficam desativadas, a menos "
        "que as ative.",
        "notice.title": "A sua privacidade",
        "notice.body_opt_out": "Usamos cookies para o funcionamento deste site, para medir "
        "visitas e mostrar anúncios, o que pode constituir venda ou partilha dos seus dados "
        "pessoais. Pode opor-se a qualquer momento.",
        "notice.body": "Usamos cookies para o funcionamento deste site, para guardar as suas "
        "definições e medir visitas. Pode desativar os cookies opcionais a qualquer momento.",
        "notice.ok": "OK",
        "notice.privacy_choices": "As suas escolhas de privacidade",
        "notice.gpc_honored": "Pedido de oposição respeitado",
        "banner.exempt_notice": "Alguns funcionam sem pedir antes, como a lei aqui permite "
        "({categories}); pode desativá-los nas definições.",
        "settings.button": "Definições de cookies",
        "preferences.title": "Definições de cookies",
        "declaration.title": "Declaração de cookies",
        "declaration.intro": "Os cookies que este site pode guardar, por categoria, e os serviços "
        "que os guardam. O nome de cada fornecedor leva à respetiva política de privacidade. Os "
        "cookies opcionais só são guardados com o seu consentimento.",
        "declaration.optional": "Só com o seu consentimento",
        "declaration.builtin": "Outros cookies conhecidos que não constam aqui também são "
        "reconhecidos pelo nome e tratados como a categoria a que pertencem.",
        "declaration.cookie": "Cookie",
        "declaration.service": "Serviço",
        "declaration.provider": "Fornecedor",
        "declaration.purpose": "Finalidade",
        "declaration.lifetime": "Duração",
        "declaration.session": "Até o navegador ser fechado",
        "declaration.not_stated": "Não indicada",
        "declaration.no_cookies": "Nenhum declarado",
        "declaration.this_site": "Este site",
        "declaration.consent_cookie": "Guarda a sua escolha sobre cookies",
        "declaration.kind.video": "Vídeos incorporados",
        "declaration.kind.map": "Mapas incorporados",
        "declaration.kind.audio": "Áudio incorporado",
        "declaration.kind.social": "Conteúdos de redes sociais",
        "declaration.kind.analytics": "Estatísticas de visitas",
        "declaration.kind.advertising": "Publicidade e medição de campanhas",
        "declaration.kind.tag-manager": "Carregamento de etiquetas de outros serviços",
        "declaration.kind.chat": "Chat e apoio",
        "declaration.kind.payment": "Pagamentos e prevenção de fraude",
        "declaration.kind.security": "Proteção contra spam e abusos",
        "preferences.intro": "Escolha que cookies este site pode utilizar. Os cookies "
        "necessários estão sempre ativos. Pode alterar a sua escolha a qualquer momento.",
        "preferences.saved": "As suas escolhas foram guardadas.",
        "banner.services": "Serviços",
        "banner.provider": "Fornecedor:",
        "banner.service_policy": "Política de privacidade",
        "preferences.consent_id": "O seu ID de consentimento:",
        "preferences.no_consent_id": "Ainda não fez nenhuma escolha.",
        "preferences.back": "Voltar ao site",
        "placeholder.title": "Conteúdo bloqueado",
        "placeholder.text": "Este conteúdo está bloqueado até que permita “{category}”.",
        "placeholder.text_source": "Este conteúdo de {source} está bloqueado até que "
        "permita “{category}”.",
        "placeholder.link": "Alterar definições de cookies",
        "placeholder.text_service": "Ao carregar este conteúdo, estabelece uma ligação a "
        "{provider}, que pode definir cookies e saber que visitou esta página.",
        "placeholder.text_policy": "Política de privacidade de {provider}",
        "placeholder.once": "Carregar uma vez",
        "placeholder.text_always": "Permitir sempre {service}",
    },
}

#: The languages shipped with the package (operators may add more through overrides).
SHIPPED_LOCALES: tuple[str, ...] = tuple(UI_TEXTS)

#: Every UI text id, in the order of the English table.
UI_TEXT_IDS: tuple[str, ...] = tuple(UI_TEXTS["en"])

#: ``{category key: {locale: {"label": ..., "description": ...}}}``
DEFAULT_CATEGORY_TEXTS: dict[str, dict[str, dict[str, str]]] = {
    "necessary": {
        "en": {
            "label": "Necessary",
            "description": "Needed for the site to work, for security and to remember "
            "this choice. Always on.",
        },
        "de": {
            "label": "Notwendig",
            "description": "Nötig für den Betrieb und die Sicherheit der Website und um "
            "diese Auswahl zu speichern. Immer aktiv.",
        },
        "fr": {
            "label": "Nécessaires",
            "description": "Indispensables au fonctionnement et à la sécurité du site, et "
            "pour mémoriser ce choix. Toujours actifs.",
        },
        "es": {
            "label": "Necesarias",
            "description": "Imprescindibles para que el sitio funcione, para la seguridad y "
            "para recordar esta elección. Siempre activas.",
        },
        "it": {
            "label": "Necessari",
            "description": "Indispensabili per il funzionamento e la sicurezza del sito e per "
            "ricordare questa scelta. Sempre attivi.",
        },
        "nl": {
            "label": "Noodzakelijk",
            "description": "Nodig om de website te laten werken, voor de beveiliging en om "
            "deze keuze te onthouden. Altijd aan.",
        },
        "pl": {
            "label": "Niezbędne",
            "description": "Potrzebne do działania i bezpieczeństwa strony oraz do "
            "zapamiętania tego wyboru. Zawsze włączone.",
        },
        "pt": {
            "label": "Necessários",
            "description": "Indispensáveis para o funcionamento e a segurança do site e para "
            "guardar esta escolha. Sempre ativos.",
        },
    },
    "preferences": {
        "en": {
            "label": "Preferences",
            "description": "Remember settings such as language or region, and show "
            "embedded content from other sites such as videos and maps.",
        },
        "de": {
            "label": "Präferenzen",
            "description": "Speichern Einstellungen wie Sprache oder Region und zeigen "
            "eingebettete Inhalte anderer Websites wie Videos und Karten.",
        },
        "fr": {
            "label": "Préférences",
            "description": "Mémorisent des réglages comme la langue ou la région et "
            "affichent des contenus intégrés d’autres sites, comme des vidéos et des cartes.",
        },
        "es": {
            "label": "Preferencias",
            "description": "Recuerdan ajustes como el idioma o la región y muestran "
            "contenido integrado de otros sitios, como vídeos y mapas.",
        },
        "it": {
            "label": "Preferenze",
            "description": "Ricordano impostazioni come la lingua o la regione e mostrano "
            "contenuti incorporati di altri siti, come video e mappe.",
        },
        "nl": {
            "label": "Voorkeuren",
            "description": "Onthouden instellingen zoals taal of regio en tonen ingesloten "
            "inhoud van andere websites, zoals video’s en kaarten.",
        },
        "pl": {
            "label": "Preferencje",
            "description": "Zapamiętują ustawienia, takie jak język czy region, i wyświetlają "
            "osadzone treści z innych stron, np. filmy i mapy.",
        },
        "pt": {
            "label": "Preferências",
            "description": "Guardam definições como o idioma ou a região e mostram conteúdos "
            "incorporados de outros sites, como vídeos e mapas.",
        },
    },
    "analytics": {
        "en": {
            "label": "Analytics",
            "description": "Help us understand how the site is used by counting visits "
            "and measuring performance.",
        },
        "de": {
            "label": "Statistik",
            "description": "Helfen uns zu verstehen, wie die Website genutzt wird, indem sie "
            "Besuche zählen und die Leistung messen.",
        },
        "fr": {
            "label": "Statistiques",
            "description": "Nous aident à comprendre l’utilisation du site en comptant les "
            "visites et en mesurant les performances.",
        },
        "es": {
            "label": "Analíticas",
            "description": "Nos ayudan a entender cómo se usa el sitio contando las visitas "
            "y midiendo el rendimiento.",
        },
        "it": {
            "label": "Statistiche",
            "description": "Ci aiutano a capire come viene usato il sito contando le visite "
            "e misurando le prestazioni.",
        },
        "nl": {
            "label": "Statistieken",
            "description": "Helpen ons te begrijpen hoe de website wordt gebruikt, door "
            "bezoeken te tellen en prestaties te meten.",
        },
        "pl": {
            "label": "Analityczne",
            "description": "Pomagają nam zrozumieć, jak strona jest używana, przez liczenie "
            "odwiedzin i mierzenie wydajności.",
        },
        "pt": {
            "label": "Estatísticas",
            "description": "Ajudam-nos a perceber como o site é utilizado, contando visitas "
            "e medindo o desempenho.",
        },
    },
    "marketing": {
        "en": {
            "label": "Marketing",
            "description": "Used by advertising partners to show relevant ads and "
            "measure campaigns across sites.",
        },
        "de": {
            "label": "Marketing",
            "description": "Werden von Werbepartnern genutzt, um passende Werbung zu zeigen "
            "und Kampagnen websiteübergreifend zu messen.",
        },
        "fr": {
            "label": "Marketing",
            "description": "Utilisés par nos partenaires publicitaires pour afficher des "
            "publicités pertinentes et mesurer les campagnes sur plusieurs sites.",
        },
        "es": {
            "label": "Marketing",
            "description": "Los usan socios publicitarios para mostrar anuncios relevantes "
            "y medir campañas en distintos sitios.",
        },
        "it": {
            "label": "Marketing",
            "description": "Usati dai partner pubblicitari per mostrare annunci pertinenti e "
            "misurare le campagne su più siti.",
        },
        "nl": {
            "label": "Marketing",
            "description": "Worden door advertentiepartners gebruikt om relevante "
            "advertenties te tonen en campagnes op verschillende websites te meten.",
        },
        "pl": {
            "label": "Marketingowe",
            "description": "Używane przez partnerów reklamowych do wyświetlania dopasowanych "
            "reklam i mierzenia kampanii na różnych stronach.",
        },
        "pt": {
            "label": "Marketing",
            "description": "Utilizados por parceiros de publicidade para mostrar anúncios "
            "relevantes e medir campanhas em vários sites.",
        },
    },
}
