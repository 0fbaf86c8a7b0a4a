// Land-class legend for land-use layers: first-level GB/T 21010 classes with their colours,
// each expandable to its second-level classes, so the legend stays compact.
import { tr, other } from './i18n.js';

function swatch(color) {
  const s = document.createElement('span');
  s.className = 'swatch';
  s.style.background = color;
  s.ariaHidden = 'true';
  return s;
}

function classLine(cls) {
  const span = document.createElement('span');
  span.className = 'legend-class';
  span.title = other(cls.name_zh, cls.name_en);
  span.append(swatch(cls.color), `${cls.code} ${tr(cls.name_zh, cls.name_en)}`);
  return span;
}

/**
 * Renders the legend into `container`. Second-level classes are nested under their parent;
 * classes whose parent is not a first-level class (e.g. working codes) go in their own group so
 * none is silently left out.
 */
export function renderLegend(container, landClasses) {
  container.replaceChildren();
  const firstLevel = landClasses.filter((c) => c.level === 1);
  const firstCodes = new Set(firstLevel.map((c) => c.code));
  const children = new Map();
  const orphans = [];
  for (const cls of landClasses) {
    if (cls.level === 1) continue;
    if (cls.parent && firstCodes.has(cls.parent)) {
      if (!children.has(cls.parent)) children.set(cls.parent, []);
      children.get(cls.parent).push(cls);
    } else {
      orphans.push(cls);
    }
  }

  const list = document.createElement('ul');
  list.className = 'legend-list';
  const addGroup = (head, subs) => {
    const li = document.createElement('li');
    if (subs.length === 0) {
      li.append(head);
    } else {
      const details = document.createElement('details');
      const summary = document.createElement('summary');
      summary.append(head);
      const sub = document.createElement('ul');
      for (const cls of subs) {
        const item = document.createElement('li');
        item.append(classLine(cls));
        sub.append(item);
      }
      details.append(summary, sub);
      li.append(details);
    }
    list.append(li);
  };
  for (const cls of firstLevel) addGroup(classLine(cls), children.get(cls.code) ?? []);
  if (orphans.length > 0) {
    const head = document.createElement('span');
    head.className = 'legend-class';
    head.title = other('其他工作分类', 'Working classes of the land-use survey');
    head.textContent = tr('其他工作分类', 'Working classes of the land-use survey');
    addGroup(head, orphans);
  }
  container.append(list);
}
