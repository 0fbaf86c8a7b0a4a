// Interface language: Chinese by default, English on request. The choice persists in
// localStorage so a department head who switched once keeps English on the next visit.

const STORAGE_KEY = 'onemap.lang';
const listeners = new Set();

function stored() {
  try {
    return localStorage.getItem(STORAGE_KEY) === 'en' ? 'en' : 'zh';
  } catch {
    return 'zh'; // storage disabled (private mode, file://): stay with the default
  }
}

let lang = stored();

/** The current language, 'zh' or 'en'. */
export const currentLang = () => lang;

/** Picks the text of the current language; falls back to the other one when it is missing. */
export const tr = (zh, en) => (lang === 'en' ? (en || zh) : (zh || en)) ?? '';

/** The other language's text, for tooltips (so both are always one hover away). */
export const other = (zh, en) => (lang === 'en' ? zh : en) ?? '';

/** Switches language, stores it and notifies listeners (which re-render their texts). */
export function setLang(next) {
  lang = next === 'en' ? 'en' : 'zh';
  try { localStorage.setItem(STORAGE_KEY, lang); } catch { /* not persisted; still switched */ }
  applyStaticTexts();
  for (const fn of listeners) fn(lang);
}

/** Calls `fn(lang)` after every switch. */
export const onLangChange = (fn) => listeners.add(fn);

/**
 * Static page texts carry both languages as data-zh / data-en (and data-zh-label /
 * data-en-label for aria-label); this swaps them in place.
 */
export function applyStaticTexts(root = document) {
  document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
  for (const node of root.querySelectorAll('[data-en]')) {
    if (node.dataset.zh === undefined) node.dataset.zh = node.textContent;
    node.textContent = tr(node.dataset.zh, node.dataset.en);
  }
  for (const node of root.querySelectorAll('[data-en-label]')) {
    node.setAttribute('aria-label', tr(node.dataset.zhLabel, node.dataset.enLabel));
  }
  for (const node of root.querySelectorAll('[data-en-placeholder]')) {
    node.placeholder = tr(node.dataset.zhPlaceholder, node.dataset.enPlaceholder);
  }
}
